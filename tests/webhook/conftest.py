"""Shared pieces of the webhook tests: certificates (trustme), servers on 127.0.0.1, fixture requests."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from meshinject.webhook.server import RunningServer, start_in_thread
from meshinject.webhook.settings import WebhookSettings

SHARED = Path(__file__).resolve().parents[3] / "shared"
FIXTURES = SHARED / "fixtures" / "admission-review"
BUNDLES = SHARED / "conformance" / "istio" / "bundles"
DATA = Path(__file__).resolve().parents[2] / "src" / "meshinject" / "data"


@dataclass
class Pki:
    ca: trustme.CA
    directory: Path
    cert: Path
    key: Path
    ca_file: Path
    client_cert: Path
    client_key: Path

    def client_context(self, *, with_client_cert: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if with_client_cert:
            context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_pem.write_to_path(str(directory / "key.pem"))
    server.cert_chain_pems[0].write_to_path(str(directory / "cert.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    client = ca.issue_cert("kube-apiserver")
    client.private_key_pem.write_to_path(str(directory / "client-key.pem"))
    client.cert_chain_pems[0].write_to_path(str(directory / "client-cert.pem"))
    return Pki(
        ca,
        directory,
        directory / "cert.pem",
        directory / "key.pem",
        directory / "ca.pem",
        directory / "client-cert.pem",
        directory / "client-key.pem",
    )


def settings_for(pki: Pki, **changes: Any) -> WebhookSettings:
    base: dict[str, Any] = {
        "tls_cert": pki.cert,
        "tls_key": pki.key,
        "host": "127.0.0.1",
        "port": 0,
        "watch_nodes": False,
        "log_requests": False,
        "log_level": "warning",
        "poll_interval": 0.1,
        "reload_debounce": 0.1,
    }
    base.update(changes)
    return WebhookSettings(**base)


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[RunningServer]:
    """One server with the built-in configuration, shared by a module's tests."""
    running = start_in_thread(settings_for(pki, trivial_route=True))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(pki: Pki) -> Iterator[httpx.Client]:
    with httpx.Client(verify=pki.client_context(), timeout=30) as c:
        yield c


def fixture_paths() -> list[Path]:
    return sorted(FIXTURES.glob("*.json")) if FIXTURES.is_dir() else []


def fixture_body(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    body: dict[str, Any] = data.get("body", data)
    return body


def pod_review(
    pod: dict[str, Any], *, uid: str = "uid-1", namespace: str = "default", **request: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": pod,
            **request,
        },
    }


def simple_pod(name: str = "app", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **meta},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }


def is_admission_review(answer: Any) -> bool:
    """A well-formed answer: apiVersion/kind of a supported review, a response with a string uid and a bool."""
    if not isinstance(answer, dict):
        return False
    response = answer.get("response")
    return (
        answer.get("kind") == "AdmissionReview"
        and answer.get("apiVersion") in ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
        and isinstance(response, dict)
        and isinstance(response.get("uid"), str)
        and isinstance(response.get("allowed"), bool)
    )
