"""``meshinject serve`` as a real process: worker processes, aggregated metrics, graceful SIGTERM."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import Pki, pod_review, simple_pod

#: the `meshinject` command, without relying on the console script being on PATH
MESHINJECT = [sys.executable, "-c", "from meshinject.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_ready(
    client: httpx.Client, url: str, proc: subprocess.Popen[bytes], *, timeout: float = 40, log: Path | None = None
) -> None:
    """Poll ``url``/readyz until the server answers 200; fail early if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.get(url + "/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text() if log is not None else "the server exited"
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.1)


def test_bad_flags_exit_2_with_a_clear_message(tmp_path: Path, pki: Pki) -> None:
    cases = [
        (
            ["--config-dir", str(tmp_path / "missing"), "--tls-cert", str(pki.cert), "--tls-key", str(pki.key)],
            "not a directory",
        ),
        ([], "--tls-cert"),
        (["--tls-cert", str(pki.cert), "--tls-key", str(pki.client_key)], "not a usable certificate"),
        (["--tls-cert", str(pki.cert), "--tls-key", str(pki.key), "--body-timeout", "0"], "--body-timeout must be"),
    ]
    for args, needle in cases:
        proc = subprocess.run(
            [*MESHINJECT, "serve", "--port", "0", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert needle in proc.stderr


def test_workers_share_the_port_and_stop_gracefully_on_sigterm(pki: Pki, tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    proc = subprocess.Popen(
        [
            *MESHINJECT, "serve",
            "--tls-cert", str(pki.cert), "--tls-key", str(pki.key),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level", "warning",
            "--shutdown-grace", "10",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    try:
        with httpx.Client(verify=pki.client_context(), timeout=20) as client:
            wait_until_ready(client, url, proc, log=tmp_path / "serve.log")
            # Requests over separate connections land on both workers; /metrics adds them all up.
            for i in range(12):
                with httpx.Client(verify=pki.client_context(), timeout=20) as one:
                    assert one.post(url + "/inject", json=pod_review(simple_pod(), uid=f"m{i}")).status_code == 200
            time.sleep(0.3)
            totals = set()
            for _ in range(4):
                with httpx.Client(verify=pki.client_context(), timeout=20) as one:
                    text = one.get(url + "/metrics").text
                line = next(x for x in text.splitlines() if x.startswith("sidecar_injection_requests_total"))
                totals.add(float(line.split()[1]))
            assert totals == {12.0}

        # SIGTERM while requests are in flight: every one of them is still answered.
        def call(i: int) -> int:
            with httpx.Client(verify=pki.client_context(), timeout=30) as one:
                return one.post(url + "/inject", json=pod_review(simple_pod(), uid=f"t{i}")).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(call, i) for i in range(8)]
            time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            statuses = []
            for f in futures:
                try:
                    statuses.append(f.result())
                except httpx.ConnectError:
                    statuses.append(-1)  # sent after the listener closed: refused, not lost mid-way
        assert all(s in (200, -1) for s in statuses), statuses
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


@pytest.mark.skipif(sys.platform != "linux", reason="signals")
def test_single_worker_exits_zero_on_sigterm(pki: Pki) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            *MESHINJECT, "serve", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with httpx.Client(verify=pki.client_context(), timeout=5) as client:
            wait_until_ready(client, f"https://127.0.0.1:{port}", proc, timeout=30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_every_admission_request_is_logged_as_one_json_line(pki: Pki, tmp_path: Path) -> None:
    port = free_port()
    out_path = tmp_path / "stdout.log"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                *MESHINJECT, "serve", "--tls-cert", str(pki.cert), "--tls-key", str(pki.key),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "info",
            ],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"https://127.0.0.1:{port}"
            with httpx.Client(verify=pki.client_context(), timeout=20) as client:
                wait_until_ready(client, url, proc, timeout=30)
                injected = pod_review(simple_pod(name="", generateName="web-7d4b9c-"), uid="log-1", namespace="shop")
                skipped = pod_review(
                    simple_pod(annotations={"sidecar.istio.io/inject": "false"}), uid="log-2", namespace="shop"
                )
                assert client.post(url + "/inject", json=injected).status_code == 200
                assert client.post(url + "/inject", json=skipped).status_code == 200
                assert (
                    client.post(url + "/inject", content=b"{}", headers={"Content-Type": "text/plain"}).status_code
                    == 415
                )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    lines = [json.loads(line) for line in out_path.read_text().splitlines() if line.strip()]
    by_uid = {line.get("uid"): line for line in lines if line.get("event") == "admission request"}
    first = by_uid["log-1"]
    assert (first["namespace"], first["pod"], first["decision"], first["level"]) == (
        "shop",
        "web-7d4b9c-***",
        "injected",
        "info",
    )
    assert first["reason"] and first["ms"] > 0 and first["timestamp"].endswith("Z")
    second = by_uid["log-2"]
    assert (second["decision"], second["pod"]) == ("skipped", "app")
    assert "sidecar.istio.io/inject" in second["reason"]
    rejected = [line for line in lines if line.get("event") == "admission request rejected"]
    assert [(r["status"], r["outcome"]) for r in rejected] == [(415, "bad_request")]
