"""``/inject`` over a real TLS socket with a real HTTP client: answers, error cases, Istio's HTTP behaviour."""

from __future__ import annotations

import base64
import gzip
import json
import ssl
import warnings
from pathlib import Path
from typing import Any

import httpx
import jsonpatch
import pytest

from meshinject.webhook.server import RunningServer

from .conftest import Pki, fixture_body, fixture_paths, is_admission_review, pod_review, simple_pod

JSON = {"Content-Type": "application/json"}


def apply(request_review: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    ops = json.loads(base64.b64decode(answer["response"]["patch"]))
    patched: dict[str, Any] = jsonpatch.apply_patch(request_review["request"]["object"], ops)
    return patched


def container_names(pod: dict[str, Any]) -> list[str]:
    spec = pod["spec"]
    return [c["name"] for c in [*(spec.get("initContainers") or []), *spec["containers"]]]


@pytest.mark.skipif(not fixture_paths(), reason="shared fixtures not found")
@pytest.mark.parametrize("path", fixture_paths(), ids=lambda p: p.stem)
def test_real_apiserver_requests_are_answered_with_an_injecting_patch(
    path: Path, server: RunningServer, client: httpx.Client
) -> None:
    review = fixture_body(path)
    # The apiserver's own path carries ?timeout=; the webhook is registered at /inject.
    reply = client.post(server.url + "/inject?timeout=5s", content=json.dumps(review), headers=JSON)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    answer = reply.json()
    assert is_admission_review(answer)
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    response = answer["response"]
    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    pod = apply(review, answer)
    assert "istio-proxy" in container_names(pod)
    assert "istio-init" in container_names(pod)
    assert "sidecar.istio.io/status" in pod["metadata"]["annotations"]
    # The apiserver sent no namespace in the pod: the patch must not add one.
    assert pod["metadata"].get("namespace") == review["request"]["object"]["metadata"].get("namespace")


def test_v1beta1_review_is_answered_in_v1beta1(server: RunningServer, client: httpx.Client) -> None:
    review = pod_review(simple_pod(), uid="beta-uid")
    review["apiVersion"] = "admission.k8s.io/v1beta1"
    answer = client.post(server.url + "/inject", json=review).json()
    assert answer["apiVersion"] == "admission.k8s.io/v1beta1"
    assert answer["kind"] == "AdmissionReview"
    assert answer["response"]["uid"] == "beta-uid"
    assert answer["response"]["allowed"] is True
    assert "istio-proxy" in container_names(apply(review, answer))


def proxy_env(pod: dict[str, Any]) -> dict[str, str]:
    spec = pod["spec"]
    for c in [*(spec.get("initContainers") or []), *spec["containers"]]:
        if c["name"] == "istio-proxy":
            return {e["name"]: e.get("value", "") for e in c.get("env") or []}
    raise AssertionError("no istio-proxy container")


def test_path_parameters_become_proxy_environment(server: RunningServer, client: httpx.Client) -> None:
    review = pod_review(simple_pod())
    reply = client.post(server.url + "/inject/cluster/east/net/net--slash--1/custom_key/v", json=review)
    env = proxy_env(apply(review, reply.json()))
    assert env["ISTIO_META_CLUSTER_ID"] == "east"
    assert env["ISTIO_META_NETWORK"] == "net/1"
    assert env["CUSTOM_KEY"] == "v"


def test_pod_that_opts_out_is_allowed_without_patch(server: RunningServer, client: httpx.Client) -> None:
    pod = simple_pod(labels={"sidecar.istio.io/inject": "false"})
    answer = client.post(server.url + "/inject", json=pod_review(pod, uid="skip-me")).json()
    assert answer["response"] == {"uid": "skip-me", "allowed": True}


def test_injection_error_is_a_denial_with_a_message(server: RunningServer, client: httpx.Client) -> None:
    pod = simple_pod(annotations={"traffic.sidecar.istio.io/excludeOutboundIPRanges": "*"})
    answer = client.post(server.url + "/inject", json=pod_review(pod, uid="bad-anno")).json()
    assert is_admission_review(answer)
    assert answer["response"]["uid"] == "bad-anno"
    assert answer["response"]["allowed"] is False
    assert "excludeOutboundIPRanges" in answer["response"]["status"]["message"]
    assert "patch" not in answer["response"]


def test_dry_run_request_gets_the_same_answer(server: RunningServer, client: httpx.Client) -> None:
    normal = pod_review(simple_pod(), uid="u")
    dry = pod_review(simple_pod(), uid="u", dryRun=True)
    a = client.post(server.url + "/inject", json=normal).json()
    b = client.post(server.url + "/inject", json=dry).json()
    assert a == b


def test_non_pod_object_is_denied_with_the_request_uid(server: RunningServer, client: httpx.Client) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {}}
    answer = client.post(server.url + "/inject", json=pod_review(deployment, uid="dep")).json()
    assert is_admission_review(answer)
    assert answer["response"]["uid"] == "dep"
    assert answer["response"]["allowed"] is False
    assert "Deployment" in answer["response"]["status"]["message"]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r.pop("request"), "no request"),
        (lambda r: r["request"].pop("object"), "request.object"),
        (lambda r: r["request"]["object"].__setitem__("metadata", "x"), "metadata"),
        (lambda r: r["request"]["object"].pop("spec"), "spec"),
    ],
    ids=["no-request", "no-object", "metadata-not-object", "no-spec"],
)
def test_missing_fields_are_denied_not_crashed(
    mutate: Any, needle: str, server: RunningServer, client: httpx.Client
) -> None:
    review = pod_review(simple_pod(), uid="m")
    mutate(review)
    reply = client.post(server.url + "/inject", json=review)
    assert reply.status_code == 200
    answer = reply.json()
    assert is_admission_review(answer)
    assert answer["response"]["allowed"] is False
    assert needle in answer["response"]["status"]["message"]


def test_wrong_content_type_is_415(server: RunningServer, client: httpx.Client) -> None:
    body = json.dumps(pod_review(simple_pod()))
    reply = client.post(server.url + "/inject", content=body, headers={"Content-Type": "text/plain"})
    assert reply.status_code == 415
    assert reply.text == "invalid Content-Type, want `application/json`\n"
    assert client.post(server.url + "/inject", content=body).status_code == 415


def test_json_content_type_with_charset_is_accepted(server: RunningServer, client: httpx.Client) -> None:
    body = json.dumps(pod_review(simple_pod()))
    reply = client.post(
        server.url + "/inject", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert reply.status_code == 200


def test_empty_body_is_400_no_body_found(server: RunningServer, client: httpx.Client) -> None:
    # istiod checks the body before the Content-Type: an empty body is 400 whatever the type.
    for headers in (JSON, {"Content-Type": "text/plain"}):
        reply = client.post(server.url + "/inject", content=b"", headers=headers)
        assert reply.status_code == 400
        assert reply.text == "no body found\n"


def test_body_over_6_mib_is_400(server: RunningServer, client: httpx.Client) -> None:
    big = b"{" + b" " * (6 * 1024 * 1024) + b"}"
    reply = client.post(server.url + "/inject", content=big, headers=JSON)
    assert reply.status_code == 400
    assert reply.text == "Request entity too large: limit is 6291456\n"

    def chunks() -> Any:  # no Content-Length: the cap applies while reading
        for _ in range(7):
            yield b" " * (1024 * 1024)

    reply = client.post(server.url + "/inject", content=chunks(), headers=JSON)
    assert reply.status_code == 400
    assert reply.text.startswith("Request entity too large")


def test_gzip_request_body_is_decompressed(server: RunningServer, client: httpx.Client) -> None:
    review = pod_review(simple_pod(), uid="gz")
    body = gzip.compress(json.dumps(review).encode())
    reply = client.post(server.url + "/inject", content=body, headers={**JSON, "Content-Encoding": "gzip"})
    answer = reply.json()
    assert answer["response"]["uid"] == "gz"
    assert "istio-proxy" in container_names(apply(review, answer))


def test_bad_or_oversized_gzip_is_400(server: RunningServer, client: httpx.Client) -> None:
    headers = {**JSON, "Content-Encoding": "gzip"}
    reply = client.post(server.url + "/inject", content=b"not gzip at all", headers=headers)
    assert reply.status_code == 400
    assert "gzip" in reply.text
    bomb = gzip.compress(b"{" + b" " * (7 * 1024 * 1024) + b"}")
    reply = client.post(server.url + "/inject", content=bomb, headers=headers)
    assert reply.status_code == 400
    assert reply.text.startswith("Request entity too large")
    reply = client.post(server.url + "/inject", content=b"x", headers={**JSON, "Content-Encoding": "br"})
    assert reply.status_code == 415


@pytest.mark.parametrize(
    "body",
    [b"{", b"not json", b"[1, 2]", b'"text"', b"{}", b'{"apiVersion": "v1", "kind": "Pod"}', b'{"kind": 3}'],
    ids=["truncated", "garbage", "array", "string", "empty-object", "not-a-review", "kind-number"],
)
def test_undecodable_body_gets_istios_decode_error_review(
    body: bytes, server: RunningServer, client: httpx.Client
) -> None:
    reply = client.post(server.url + "/inject", content=body, headers=JSON)
    assert reply.status_code == 200
    answer = reply.json()
    # istiod writes the response with no TypeMeta and an empty uid when it could not decode the review.
    assert set(answer) == {"response"}
    assert answer["response"]["uid"] == ""
    assert answer["response"]["allowed"] is False
    assert answer["response"]["status"]["message"]


def test_typed_fields_of_the_wrong_type_are_decode_errors(server: RunningServer, client: httpx.Client) -> None:
    review = pod_review(simple_pod())
    review["request"]["uid"] = 12
    answer = client.post(server.url + "/inject", json=review).json()
    assert answer["response"]["allowed"] is False
    assert "uid" in answer["response"]["status"]["message"]


def test_only_post_is_served_on_inject(server: RunningServer, client: httpx.Client) -> None:
    assert client.get(server.url + "/inject").status_code == 405


def test_health_readiness_and_metrics(server: RunningServer, client: httpx.Client) -> None:
    assert client.get(server.url + "/healthz").status_code == 200
    assert client.get(server.url + "/readyz").status_code == 200
    client.post(server.url + "/inject", json=pod_review(simple_pod(labels={"sidecar.istio.io/inject": "false"})))
    text = client.get(server.url + "/metrics").text
    for name in (
        "sidecar_injection_requests_total",
        "sidecar_injection_success_total",
        "sidecar_injection_failure_total",
        "sidecar_injection_skip_total",
        "sidecar_injection_time_seconds_bucket",
        "meshinject_webhook_request_duration_seconds_bucket",
        "meshinject_webhook_config_reloads_total",
    ):
        assert name in text
    skips = [line for line in text.splitlines() if line.startswith("sidecar_injection_skip_total")]
    assert float(skips[0].split()[1]) >= 1
    assert "_created" not in text


def test_plain_http_is_refused_on_the_tls_port(server: RunningServer) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.post(server.url.replace("https", "http") + "/inject", json={}, timeout=5)


def test_tls_below_1_2_is_refused(server: RunningServer, pki: Pki) -> None:
    context = pki.client_context()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # asking for TLS 1.1 is the point here
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
        with pytest.raises((httpx.ConnectError, ssl.SSLError)):
            httpx.get(server.url + "/healthz", verify=context, timeout=5)


def test_trivial_route_allows_without_patch(server: RunningServer, client: httpx.Client) -> None:
    answer = client.post(server.url + "/allow", json=pod_review(simple_pod(), uid="t")).json()
    assert answer["response"] == {"uid": "t", "allowed": True}


def test_insecure_http_mode_serves_plain_http(pki: Pki) -> None:
    from meshinject.webhook.server import start_in_thread

    from .conftest import settings_for

    with start_in_thread(settings_for(pki, insecure_http=True, tls_cert=None, tls_key=None)) as plain:
        assert plain.url.startswith("http://")
        answer = httpx.post(plain.url + "/inject", json=pod_review(simple_pod(), uid="plain"), timeout=20).json()
        assert answer["response"]["uid"] == "plain"
