"""The webhook half of ``make demo``: a real server on localhost, real AdmissionReviews over HTTPS."""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonpatch
import yaml
from rich.console import Console
from rich.table import Table

from meshinject.conformance.istio import WEBHOOK_KINDS, object_to_pod
from meshinject.webhook.certs import write_self_signed
from meshinject.webhook.server import start_in_thread
from meshinject.webhook.settings import WebhookSettings


def _workloads(obj: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(obj, dict):
        return
    if obj.get("kind") in WEBHOOK_KINDS:
        yield obj
    elif obj.get("kind") == "List":
        for item in obj.get("items") or []:
            yield from _workloads(item)


def example_reviews(examples: Path) -> list[tuple[str, dict[str, Any]]]:
    """An AdmissionReview for the pod of every workload in ``examples/*.yaml`` (as a controller would create it)."""
    reviews = []
    for path in sorted(examples.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for workload in _workloads(doc):
                pod = object_to_pod(workload)
                name = (workload.get("metadata") or {}).get("name", "")
                namespace = (workload.get("metadata") or {}).get("namespace") or "default"
                review = {
                    "apiVersion": "admission.k8s.io/v1",
                    "kind": "AdmissionReview",
                    "request": {
                        "uid": str(uuid.uuid4()),
                        "kind": {"group": "", "version": "v1", "kind": "Pod"},
                        "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "namespace": namespace,
                        "operation": "CREATE",
                        "object": pod,
                    },
                }
                reviews.append((f"{path.name}: {workload['kind']} {name}", review))
    return reviews


def fixture_reviews(shared: Path) -> list[tuple[str, dict[str, Any]]]:
    directory = shared / "fixtures" / "admission-review"
    out = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        out.append((f"fixture {path.stem}", data.get("body", data)))
    return out


def _describe(review: dict[str, Any], answer: dict[str, Any]) -> tuple[str, str]:
    response = answer.get("response") or {}
    if not response.get("allowed"):
        return "[red]denied[/red]", str((response.get("status") or {}).get("message", ""))[:80]
    if not response.get("patch"):
        return "[yellow]skipped[/yellow]", "allowed, no patch"
    ops = json.loads(base64.b64decode(response["patch"]))
    before = review["request"]["object"]
    after = jsonpatch.apply_patch(before, ops)

    def names(pod: dict[str, Any]) -> list[str]:
        spec = pod.get("spec") or {}
        return [str(c.get("name")) for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]]

    added = [n for n in names(after) if n not in names(before)]
    return "[green]injected[/green]", f"{len(ops)} patch ops; adds {', '.join(added) or 'no container'}"


def run_demo_server(shared: Path, examples: Path) -> int:
    """Start the webhook on localhost (self-signed certificate, built-in configuration), send it the shared
    fixture AdmissionReviews and the examples' pods, print the decisions, stop it. Returns 0 when every request
    got a well-formed answer with the request's uid."""
    console = Console()
    with tempfile.TemporaryDirectory(prefix="meshinject-demo-") as tmp:
        cert, key = write_self_signed(Path(tmp))
        settings = WebhookSettings(
            tls_cert=cert,
            tls_key=key,
            host="127.0.0.1",
            port=0,
            log_requests=False,
            watch_nodes=False,
            log_level="warning",
        )
        requests = fixture_reviews(shared) + example_reviews(examples)
        table = Table(title="meshinject serve: decisions over HTTPS (built-in configuration)")
        for column in ("request", "HTTP", "decision", "detail"):
            table.add_column(column)
        failures = 0
        server = start_in_thread(settings)
        try:
            console.print(f"webhook listening on {server.url} (self-signed certificate, TLS 1.2+)")
            context = ssl.create_default_context(cafile=str(cert))
            conn = http.client.HTTPSConnection(server.host, server.port, context=context, timeout=30)
            for label, review in requests:
                conn.request(
                    "POST", "/inject?timeout=10s", body=json.dumps(review), headers={"Content-Type": "application/json"}
                )
                reply = conn.getresponse()
                data = reply.read()
                try:
                    answer = json.loads(data)
                    uid_ok = (answer.get("response") or {}).get("uid") == review["request"]["uid"]
                except ValueError:
                    answer, uid_ok = {}, False
                decision, detail = _describe(review, answer) if reply.status == 200 else ("[red]error[/red]", "")
                if reply.status != 200 or not uid_ok:
                    failures += 1
                    detail = f"HTTP {reply.status}, uid matches: {uid_ok}; {data[:80]!r}"
                table.add_row(label, str(reply.status), decision, detail)
            conn.close()
        finally:
            server.stop()
        console.print(table)
        console.print(f"{len(requests)} requests, {failures} without a well-formed answer; server stopped")
    return 1 if failures else 0
