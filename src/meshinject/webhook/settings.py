"""Everything a webhook server process needs to know, in one picklable value (worker processes get a copy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Istio's limit on an AdmissionReview body (pkg/kube MaxRequestBodyBytes): 6 MiB
MAX_BODY_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Flags of ``meshinject serve``; the defaults are the production ones."""

    #: directory of the mounted ConfigMap files; None = the built-in configuration
    config_dir: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: CA bundle that the apiserver's client certificate must chain to (None = no client certificates asked)
    client_ca: Path | None = None
    #: plain HTTP, for local tests only
    insecure_http: bool = False
    host: str = "0.0.0.0"
    port: int = 15017
    #: None = keep what the configuration says
    revision: str | None = None
    native_sidecars: str | None = None
    #: worker processes; 0 = one per core
    workers: int = 1
    #: per worker: /inject requests admitted at once (queued or running); more get HTTP 503 + Retry-After
    max_inflight: int = 200
    #: per worker: threads running the engine; 0 = run it on the event loop
    engine_threads: int = 1
    #: seconds the server waits for in-flight requests on SIGTERM
    shutdown_grace: float = 25.0
    #: seconds between two looks at the configuration and certificate files
    poll_interval: float = 1.0
    #: seconds the files must stay unchanged before a new configuration is loaded
    reload_debounce: float = 0.5
    #: watch the cluster's nodes for native-sidecar ``auto`` mode (only used when that mode is auto)
    watch_nodes: bool = True
    #: serve ``/bundles/<name>/inject...`` from the bundles of an Istio-layout conformance suite (test harness)
    conformance_bundles: Path | None = None
    #: also serve ``POST /allow``: decode and allow without injecting (the transport's limit, for benchmarks)
    trivial_route: bool = False
    log_level: str = "info"
    #: log one JSON line per admission request
    log_requests: bool = True
    max_body_bytes: int = MAX_BODY_BYTES
    #: seconds a client gets to send a request's whole body (a slow client must not hold a request slot for ever)
    body_timeout: float = 10.0
    #: uvicorn's event loop and HTTP parser ("auto" = uvloop and httptools when installed)
    loop: str = "auto"
    http: str = "auto"

    def effective_workers(self) -> int:
        import os

        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)
