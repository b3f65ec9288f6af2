"""Node watching for native-sidecar `auto`, the conformance runner's --via-server, and the demo server."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jsonpatch
import pytest
import yaml

from meshinject.cli._conformance import conformance
from meshinject.cli._demo_server import run_demo_server
from meshinject.webhook.nodes import NodeWatcher
from meshinject.webhook.server import start_in_thread

from .conftest import BUNDLES, SHARED, Pki, pod_review, settings_for, simple_pod

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def node(name: str, version: str) -> Any:
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name), status=SimpleNamespace(nodeInfo=SimpleNamespace(kubeletVersion=version))
    )


class FakeNodes:
    """A lightkube-shaped source: a list, then a watch that delivers queued events until told to end."""

    def __init__(self, nodes: list[Any]) -> None:
        self.nodes = nodes
        self.events: list[tuple[str, Any]] = []
        self.more = threading.Event()
        self.closed = threading.Event()

    def list(self, res: Any) -> Iterable[Any]:
        return list(self.nodes)

    def watch(
        self, res: Any, *, resource_version: str | None = None, server_timeout: int | None = None
    ) -> Iterator[tuple[str, Any]]:
        deadline = time.monotonic() + 20
        while not self.closed.is_set() and time.monotonic() < deadline:
            if self.more.wait(0.05):
                self.more.clear()
                while self.events:
                    yield self.events.pop(0)


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_node_watcher_follows_added_modified_and_deleted_nodes() -> None:
    fake = FakeNodes([node("a", "v1.34.1"), node("b", "v1.33.0")])
    watcher = NodeWatcher(lambda: fake)
    assert watcher.snapshot() is None  # unknown until listed
    watcher.start()
    try:
        wait_for(lambda: watcher.snapshot() is not None)
        assert watcher.snapshot() == [
            {"name": "a", "kubeletVersion": "v1.34.1"},
            {"name": "b", "kubeletVersion": "v1.33.0"},
        ]
        fake.events += [("ADDED", node("c", "v1.30.2")), ("MODIFIED", node("a", "v1.35.0")), ("DELETED", node("b", ""))]
        fake.more.set()
        wait_for(lambda: watcher.snapshot() == [
            {"name": "a", "kubeletVersion": "v1.35.0"}, {"name": "c", "kubeletVersion": "v1.30.2"}
        ])  # fmt: skip
    finally:
        watcher.stop()
        fake.closed.set()


def test_without_cluster_access_the_snapshot_stays_unknown() -> None:
    watcher = NodeWatcher(lambda: None)
    watcher.start()
    time.sleep(0.1)
    assert watcher.snapshot() is None


def native_proxy(answer: dict[str, Any], review: dict[str, Any]) -> bool:
    ops = json.loads(base64.b64decode(answer["response"]["patch"]))
    pod = jsonpatch.apply_patch(review["request"]["object"], ops)
    return any(c["name"] == "istio-proxy" for c in pod["spec"].get("initContainers") or [])


def test_native_sidecars_auto_follows_the_watched_nodes(pki: Pki) -> None:
    fake = FakeNodes([node("new", "v1.34.0")])
    with (
        start_in_thread(
            settings_for(pki, watch_nodes=True, native_sidecars="auto"), node_watcher=NodeWatcher(lambda: fake)
        ) as server,
        httpx.Client(verify=pki.client_context(), timeout=20) as client,
    ):
        review = pod_review(simple_pod())
        wait_for(lambda: native_proxy(client.post(server.url + "/inject", json=review).json(), review))
        fake.events.append(("ADDED", node("old", "v1.29.3")))  # one old kubelet turns `auto` off
        fake.more.set()
        wait_for(lambda: not native_proxy(client.post(server.url + "/inject", json=review).json(), review))
        fake.closed.set()


@pytest.mark.skipif(not BUNDLES.is_dir(), reason="shared conformance suite not found")
def test_conformance_via_server_passes_the_same_cases_as_in_process(tmp_path: Path, pki: Pki) -> None:
    # A suite of two bundles (symlinked) keeps the server's start short.
    suite = tmp_path / "suite"
    (suite / "bundles").mkdir(parents=True)
    for name in ("default", "native-sidecars-disabled"):
        (suite / "bundles" / name).symlink_to(BUNDLES / name)
    for name in ("inputs", "expected"):
        (suite / name).symlink_to(BUNDLES.parent / name)
    cases = yaml.safe_load((BUNDLES.parent / "cases.yaml").read_text())["cases"]
    chosen = [c for c in cases if c["bundle"] in ("default", "native-sidecars-disabled") and c["paths"].get("webhook")]
    (suite / "cases.yaml").write_text(yaml.safe_dump({"cases": chosen[:20]}))
    with start_in_thread(settings_for(pki, conformance_bundles=suite / "bundles")) as server:
        results = {}
        for via in (None, server.url):
            out = io.StringIO()
            conformance(suite, out=out, via_server=via, server_ca=pki.ca_file)
            results[via] = out.getvalue().strip().splitlines()[-1]
        in_process, over_https = results[None], results[server.url]
        assert in_process == over_https
        passed = int(over_https.split()[0])
        assert passed == min(20, len(chosen)) and over_https.endswith(" 0 failed")
        text = httpx.get(server.url + "/metrics", verify=pki.client_context()).text
        requests = next(x for x in text.splitlines() if x.startswith("sidecar_injection_requests_total"))
        assert float(requests.split()[1]) >= passed  # the webhook path really went over HTTPS


@pytest.mark.skipif(not (SHARED / "fixtures").is_dir(), reason="shared fixtures not found")
def test_demo_server_sends_fixtures_and_examples_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    before = threading.active_count()
    assert run_demo_server(SHARED, EXAMPLES) == 0
    out = capsys.readouterr().out
    assert "admissionreview-v1-pod-create-kubectl-apply" in out or "fixture" in out
    assert "injected" in out
    assert "0 without a well-formed answer; server stopped" in out
    time.sleep(0.2)
    assert threading.active_count() <= before + 1
