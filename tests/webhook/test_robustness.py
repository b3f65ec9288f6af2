"""The server under abuse: it never crashes, never answers a malformed AdmissionReview, and loses no request."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from meshinject.webhook.server import RunningServer, start_in_thread

from .conftest import Pki, is_admission_review, pod_review, settings_for, simple_pod


def tls_socket(server: RunningServer, pki: Pki) -> ssl.SSLSocket:
    raw = socket.create_connection((server.host, server.port), timeout=10)
    return pki.client_context().wrap_socket(raw, server_hostname=server.host)


def raw_request(body: bytes, *, length: int | None = None, path: str = "/inject") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    )
    return head.encode() + body


def read_response(sock: ssl.SSLSocket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length]


def assert_alive(server: RunningServer, pki: Pki) -> None:
    with httpx.Client(verify=pki.client_context(), timeout=20) as client:
        answer = client.post(server.url + "/inject", json=pod_review(simple_pod(), uid="alive")).json()
    assert answer["response"]["uid"] == "alive"
    assert answer["response"]["allowed"] is True


@pytest.fixture(scope="module")
def limited(pki: Pki) -> Iterator[RunningServer]:
    """A server that admits only 2 inject requests at once."""
    with start_in_thread(settings_for(pki, max_inflight=2)) as running:
        yield running


def test_random_and_mutated_bodies_always_get_a_well_formed_answer(server: RunningServer, pki: Pki) -> None:
    rng = random.Random(1234)
    base = json.dumps(pod_review(simple_pod(), uid="fuzz")).encode()
    bodies = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) for _ in range(40)]
    for _ in range(60):  # flip, drop or insert bytes in a real review
        b = bytearray(base)
        for _ in range(rng.randrange(1, 6)):
            i = rng.randrange(len(b))
            op = rng.randrange(3)
            if op == 0:
                b[i] = rng.randrange(256)
            elif op == 1:
                del b[i]
            else:
                b.insert(i, rng.choice(b'{}[]":,0a\\'))
        bodies.append(bytes(b))
    with httpx.Client(verify=pki.client_context(), timeout=20) as client:
        for body in bodies:
            reply = client.post(server.url + "/inject", content=body, headers={"Content-Type": "application/json"})
            assert reply.status_code == 200, reply.text
            answer = reply.json()
            response = answer["response"]
            assert isinstance(response["allowed"], bool)
            assert isinstance(response["uid"], str)
            if set(answer) != {"response"}:  # decoded: a full review
                assert is_admission_review(answer)
    assert_alive(server, pki)


def test_wrongly_typed_pod_fields_are_answered(server: RunningServer, client: httpx.Client) -> None:
    weird_pods: list[dict[str, Any]] = [
        {"metadata": {"name": "a"}, "spec": {"containers": "not a list"}},
        {"metadata": {"name": "a", "labels": ["x"]}, "spec": {"containers": []}},
        {"metadata": {"name": "a", "annotations": {"sidecar.istio.io/inject": 5}}, "spec": {"containers": [{}]}},
        {"metadata": {"name": 7}, "spec": {"containers": [{"name": "c", "env": "x"}]}},
        {"metadata": {}, "spec": {"containers": [None]}},
        {"metadata": {}, "spec": {}},
        {"metadata": None, "spec": None},
    ]
    for i, pod in enumerate(weird_pods):
        reply = client.post(server.url + "/inject", json=pod_review(pod, uid=f"w{i}"))
        assert reply.status_code == 200
        answer = reply.json()
        assert is_admission_review(answer), answer
        assert answer["response"]["uid"] == f"w{i}"


def test_enormous_env_list_is_injected(server: RunningServer, client: httpx.Client) -> None:
    pod = simple_pod()
    pod["spec"]["containers"][0]["env"] = [{"name": f"VAR_{i}", "value": "x" * 20} for i in range(20000)]
    review = pod_review(pod, uid="big")
    assert len(json.dumps(review)) > 600_000
    answer = client.post(server.url + "/inject", json=review).json()
    assert answer["response"]["uid"] == "big"
    assert answer["response"]["allowed"] is True
    assert answer["response"]["patch"]


def test_truncated_bodies_do_not_hurt_the_server(server: RunningServer, pki: Pki) -> None:
    body = json.dumps(pod_review(simple_pod())).encode()
    for cut in (1, len(body) // 2, len(body) - 1):
        sock = tls_socket(server, pki)
        sock.sendall(raw_request(body[:cut], length=len(body)))
        sock.close()  # the rest never comes
    # A body shorter than announced on a connection that stays open: the server waits, then gives up (408)
    # or the client gives up first; either way the server answers the next client normally.
    assert_alive(server, pki)


def test_a_body_that_stops_arriving_is_answered_408_after_the_body_timeout(pki: Pki) -> None:
    running = start_in_thread(settings_for(pki, body_timeout=0.5))
    try:
        body = json.dumps(pod_review(simple_pod())).encode()
        sock = tls_socket(running, pki)
        started = time.perf_counter()
        sock.sendall(raw_request(body[: len(body) // 2], length=len(body)))  # the rest never comes
        status, payload = read_response(sock)
        waited = time.perf_counter() - started
        sock.close()
        assert (status, payload) == (408, b"request body not received in time\n")
        assert 0.4 <= waited < 5
        # A body that arrives slowly but within the limit is answered normally, and so is the next client.
        sock = tls_socket(running, pki)
        request = raw_request(json.dumps(pod_review(simple_pod(), uid="steady")).encode())
        sock.sendall(request[:100])
        time.sleep(0.2)
        sock.sendall(request[100:])
        status, payload = read_response(sock)
        sock.close()
        assert status == 200 and json.loads(payload)["response"]["uid"] == "steady"
        assert_alive(running, pki)
    finally:
        running.stop()


def test_slow_client_does_not_block_others(server: RunningServer, pki: Pki) -> None:
    body = json.dumps(pod_review(simple_pod(), uid="slow")).encode()
    request = raw_request(body)
    result: dict[str, tuple[int, bytes]] = {}

    def dribble() -> None:
        sock = tls_socket(server, pki)
        for i in range(0, len(request), max(1, len(request) // 20)):
            sock.sendall(request[i : i + max(1, len(request) // 20)])
            time.sleep(0.05)
        result["reply"] = read_response(sock)
        sock.close()

    slow = threading.Thread(target=dribble)
    slow.start()
    with httpx.Client(verify=pki.client_context(), timeout=20) as client:
        started = time.perf_counter()
        for i in range(5):
            answer = client.post(server.url + "/inject", json=pod_review(simple_pod(), uid=f"fast{i}")).json()
            assert answer["response"]["uid"] == f"fast{i}"
        fast_time = time.perf_counter() - started
    slow.join(20)
    status, payload = result["reply"]
    assert status == 200
    assert json.loads(payload)["response"]["uid"] == "slow"
    assert fast_time < 1.0  # the dribbling client takes ~1 s; the others did not wait for it


def test_many_concurrent_connections_all_get_answers(server: RunningServer, pki: Pki) -> None:
    async def main() -> list[tuple[int, dict[str, object]]]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(verify=pki.client_context(), timeout=60, limits=limits) as client:

            async def one(i: int) -> tuple[int, dict[str, object]]:
                reply = await client.post(server.url + "/inject", json=pod_review(simple_pod(), uid=f"c{i}"))
                return reply.status_code, reply.json()

            return await asyncio.gather(*(one(i) for i in range(150)))

    results = asyncio.run(main())
    assert [status for status, _ in results] == [200] * 150
    assert [answer["response"]["uid"] for _, answer in results] == [f"c{i}" for i in range(150)]  # type: ignore[index]


def test_over_the_inflight_limit_is_503_with_retry_after(limited: RunningServer, pki: Pki) -> None:
    body = json.dumps(pod_review(simple_pod())).encode()
    holders = []
    for _ in range(2):  # two requests whose bodies never finish hold both slots
        sock = tls_socket(limited, pki)
        sock.sendall(raw_request(body[:10], length=len(body)))
        holders.append(sock)
    time.sleep(0.2)
    with httpx.Client(verify=pki.client_context(), timeout=20) as client:
        reply = client.post(limited.url + "/inject", json=pod_review(simple_pod()))
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "1"
        assert "too many" in reply.text
        for sock in holders:
            sock.sendall(body[10:])
            status, _ = read_response(sock)
            assert status == 200
            sock.close()
        # Slots free again.
        assert client.post(limited.url + "/inject", json=pod_review(simple_pod())).status_code == 200
        text = client.get(limited.url + "/metrics").text
        assert "meshinject_webhook_overload_rejections_total 1.0" in text


def test_request_that_outwaited_its_timeout_is_shed(server: RunningServer, client: httpx.Client) -> None:
    reply = client.post(server.url + "/inject?timeout=0s", json=pod_review(simple_pod()))
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "1"


def test_engine_on_the_event_loop_answers_the_same(pki: Pki) -> None:
    with (
        start_in_thread(settings_for(pki, engine_threads=0)) as inline,
        httpx.Client(verify=pki.client_context(), timeout=20) as client,
    ):
        review = pod_review(simple_pod(), uid="inline")
        answer = client.post(inline.url + "/inject", json=review).json()
        assert answer["response"]["uid"] == "inline"
        assert answer["response"]["patch"]
