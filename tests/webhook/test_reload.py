"""Hot reload of the configuration and of the serving certificate, alone and under load."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from meshinject.webhook.server import start_in_thread

from .conftest import DATA, Pki, is_admission_review, pod_review, settings_for, simple_pod


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def metric(client: httpx.Client, url: str, line_prefix: str) -> float:
    for line in client.get(url + "/metrics").text.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {line_prefix}")


def make_config_dir(directory: Path, *, policy: str = "enabled") -> Path:
    """A directory laid out like a mounted istio-sidecar-injector ConfigMap (`config`, `values`, `mesh`)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (DATA / "config.yaml").read_text().replace("policy: enabled", f"policy: {policy}")
    (directory / "config").write_text(text)
    shutil.copy(DATA / "values.json", directory / "values")
    shutil.copy(DATA / "mesh.yaml", directory / "mesh")
    return directory


def swap_configmap(directory: Path, files: dict[str, str]) -> None:
    """What the kubelet does: write a new timestamped dir, then atomically repoint `..data` at it."""
    stamp = f"..{time.time_ns()}"
    target = directory / stamp
    target.mkdir()
    for name, text in files.items():
        (target / name).write_text(text)
    tmp_link = directory / "..data_tmp"
    os.symlink(stamp, tmp_link)
    os.replace(tmp_link, directory / "..data")
    for name in files:
        link = directory / name
        if not link.is_symlink():
            if link.exists():
                link.unlink()
            os.symlink(f"..data/{name}", link)


def injected(answer: dict[str, Any]) -> bool:
    return bool(answer["response"].get("patch"))


class Load:
    """Requests in a loop on a background thread (new connection each time if asked), recording every failure."""

    def __init__(self, url: str, context: ssl.SSLContext, *, new_connections: bool = False) -> None:
        self.url = url
        self.context = context
        self.new_connections = new_connections
        self.done = 0
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        client = httpx.Client(verify=self.context, timeout=20)
        deadline = time.monotonic() + 30  # bounded whatever happens
        i = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            i += 1
            review = pod_review(simple_pod(f"p{i}"), uid=f"load-{i}")
            try:
                if self.new_connections:
                    client.close()
                    client = httpx.Client(verify=self.context, timeout=20)
                reply = client.post(self.url + "/inject", json=review)
                answer = reply.json()
                if reply.status_code != 200 or not is_admission_review(answer):
                    self.failures.append(f"{reply.status_code}: {reply.text[:200]}")
                elif answer["response"]["uid"] != f"load-{i}":
                    self.failures.append("uid mismatch")
            except Exception as err:
                self.failures.append(f"{type(err).__name__}: {err}")
            self.done += 1
        client.close()

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(40)


def test_configmap_update_is_picked_up_and_a_broken_one_is_rejected(tmp_path: Path, pki: Pki) -> None:
    directory = tmp_path / "cm"
    directory.mkdir()
    good = make_config_dir(tmp_path / "src")
    files = {n: (good / n).read_text() for n in ("config", "values", "mesh")}
    swap_configmap(directory, files)
    with (
        start_in_thread(settings_for(pki, config_dir=directory)) as server,
        httpx.Client(verify=pki.client_context(), timeout=20) as client,
    ):
        review = pod_review(simple_pod())
        assert injected(client.post(server.url + "/inject", json=review).json())
        with Load(server.url, pki.client_context()) as load:
            # 1. policy disabled: pods without an explicit opt-in are skipped.
            disabled = (good / "config").read_text().replace("policy: enabled", "policy: disabled")
            swap_configmap(directory, {**files, "config": disabled})
            wait_for(lambda: not injected(client.post(server.url + "/inject", json=review).json()))
            # 2. a template that does not parse: rejected, the disabled policy keeps serving.
            broken = disabled.replace("{{- $proxy := .Values.global.proxy -}}", "{{- $proxy := ")
            swap_configmap(directory, {**files, "config": broken})
            wait_for(
                lambda: metric(client, server.url, 'meshinject_webhook_config_reloads_total{result="failure"}') >= 1
            )
            assert not injected(client.post(server.url + "/inject", json=review).json())
            assert client.get(server.url + "/readyz").status_code == 200
            # 3. YAML that does not parse: rejected too.
            swap_configmap(directory, {**files, "config": "policy: [unclosed"})
            wait_for(
                lambda: metric(client, server.url, 'meshinject_webhook_config_reloads_total{result="failure"}') >= 2
            )
            # 4. back to a good configuration.
            swap_configmap(directory, files)
            wait_for(lambda: injected(client.post(server.url + "/inject", json=review).json()))
            time.sleep(0.2)
        assert load.done > 5
        assert load.failures == []
        assert metric(client, server.url, 'meshinject_webhook_config_reloads_total{result="success"}') >= 2


def test_plain_directory_edits_are_debounced_into_one_reload(tmp_path: Path, pki: Pki) -> None:
    directory = make_config_dir(tmp_path / "plain")
    with (
        start_in_thread(settings_for(pki, config_dir=directory, reload_debounce=0.4)) as server,
        httpx.Client(verify=pki.client_context(), timeout=20) as client,
    ):
        text = (directory / "config").read_text()
        for _ in range(3):  # three quick writes of one edit
            (directory / "config").write_text(text.replace("policy: enabled", "policy: disabled"))
            time.sleep(0.05)
        wait_for(lambda: metric(client, server.url, 'meshinject_webhook_config_reloads_total{result="success"}') >= 1)
        time.sleep(0.8)
        assert metric(client, server.url, 'meshinject_webhook_config_reloads_total{result="success"}') == 1


def test_broken_config_at_start_is_not_ready_until_fixed(tmp_path: Path, pki: Pki) -> None:
    directory = make_config_dir(tmp_path / "cm")
    good = (directory / "config").read_text()
    (directory / "config").write_text("templates: [this is not a mapping")
    with (
        start_in_thread(settings_for(pki, config_dir=directory)) as server,
        httpx.Client(verify=pki.client_context(), timeout=20) as client,
    ):
        assert client.get(server.url + "/healthz").status_code == 200
        assert client.get(server.url + "/readyz").status_code == 503
        reply = client.post(server.url + "/inject", json=pod_review(simple_pod()))
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "1"
        (directory / "config").write_text(good)
        wait_for(lambda: client.get(server.url + "/readyz").status_code == 200)
        assert injected(client.post(server.url + "/inject", json=pod_review(simple_pod())).json())


def served_serial(url: str, ca_file: Path) -> int:
    """The serial number of the certificate a new connection is served."""
    context = ssl.create_default_context(cafile=str(ca_file))
    host, port = url.removeprefix("https://").split(":")
    import socket

    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    from cryptography import x509

    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def write_pair(ca: trustme.CA, cert_path: Path, key_path: Path) -> int:
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    # Write both through temporary files and renames, as cert-manager's secret mounts do.
    leaf.private_key_pem.write_to_path(str(key_path) + ".tmp")
    leaf.cert_chain_pems[0].write_to_path(str(cert_path) + ".tmp")
    os.replace(str(key_path) + ".tmp", key_path)
    os.replace(str(cert_path) + ".tmp", cert_path)
    from cryptography import x509

    return x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).serial_number


def test_certificate_rotation_under_load_loses_no_request(tmp_path: Path, pki: Pki) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    first = write_pair(pki.ca, cert, key)
    with (
        start_in_thread(settings_for(pki, tls_cert=cert, tls_key=key)) as server,
        httpx.Client(verify=pki.client_context(), timeout=20) as client,
    ):
        assert served_serial(server.url, pki.ca_file) == first
        with Load(server.url, pki.client_context(), new_connections=True) as load:
            serial = first
            for _ in range(3):
                serial = write_pair(pki.ca, cert, key)
                wait_for(lambda s=serial: served_serial(server.url, pki.ca_file) == s)  # type: ignore[misc]
            # A bad pair (this key does not belong to the certificate): the old pair keeps serving.
            other = pki.ca.issue_cert("127.0.0.1")
            other.private_key_pem.write_to_path(str(key))
            wait_for(lambda: metric(client, server.url, 'meshinject_webhook_cert_reloads_total{result="failure"}') >= 1)
            assert served_serial(server.url, pki.ca_file) == serial
            # Garbage in the certificate file: still the old pair.
            cert.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
            wait_for(lambda: metric(client, server.url, 'meshinject_webhook_cert_reloads_total{result="failure"}') >= 2)
            assert served_serial(server.url, pki.ca_file) == serial
            time.sleep(0.3)
        assert load.done > 5
        assert load.failures == []
        assert metric(client, server.url, 'meshinject_webhook_cert_reloads_total{result="success"}') >= 3


def test_client_certificate_is_required_with_client_ca(pki: Pki) -> None:
    with start_in_thread(settings_for(pki, client_ca=pki.ca_file)) as server:
        review = pod_review(simple_pod(), uid="mtls")
        with httpx.Client(verify=pki.client_context(with_client_cert=True), timeout=10) as client:
            answer = client.post(server.url + "/inject", json=review).json()
            assert answer["response"]["uid"] == "mtls"
        with pytest.raises(httpx.HTTPError), httpx.Client(verify=pki.client_context(), timeout=10) as client:
            client.post(server.url + "/inject", json=review)
        stranger = trustme.CA().issue_cert("intruder")
        context = pki.client_context()
        with stranger.cert_chain_pems[0].tempfile() as c, stranger.private_key_pem.tempfile() as k:
            context.load_cert_chain(c, k)
        with pytest.raises(httpx.HTTPError), httpx.Client(verify=context, timeout=10) as client:
            client.post(server.url + "/inject", json=review)


def test_revision_and_native_sidecar_flags_apply(pki: Pki) -> None:
    with (
        start_in_thread(settings_for(pki, revision="canary", native_sidecars="true")) as server,
        httpx.Client(verify=pki.client_context(), timeout=20) as client,
    ):
        review = pod_review(simple_pod())
        answer = client.post(server.url + "/inject", json=review).json()
        import base64

        import jsonpatch

        pod = jsonpatch.apply_patch(
            review["request"]["object"], json.loads(base64.b64decode(answer["response"]["patch"]))
        )
        status = json.loads(pod["metadata"]["annotations"]["sidecar.istio.io/status"])
        assert status["revision"] == "canary"
        proxy = [c for c in pod["spec"]["initContainers"] if c["name"] == "istio-proxy"]
        assert proxy and proxy[0]["restartPolicy"] == "Always"
