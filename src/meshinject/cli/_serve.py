"""``meshinject serve``: the admission webhook server."""

from __future__ import annotations

import sys
from pathlib import Path

from meshinject.webhook.server import check_startup, serve
from meshinject.webhook.settings import WebhookSettings


def run_serve(
    *,
    config_dir: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    port: int,
    host: str,
    revision: str | None,
    workers: int,
    native_sidecars: str | None,
    client_ca: Path | None,
    insecure_http: bool,
    max_inflight: int,
    engine_threads: int,
    shutdown_grace: float,
    body_timeout: float,
    conformance_bundles: Path | None,
    log_level: str,
) -> int:
    settings = WebhookSettings(
        config_dir=config_dir,
        tls_cert=tls_cert,
        tls_key=tls_key,
        client_ca=client_ca,
        insecure_http=insecure_http,
        host=host,
        port=port,
        revision=revision,
        native_sidecars=native_sidecars,
        workers=workers,
        max_inflight=max_inflight,
        engine_threads=engine_threads,
        shutdown_grace=shutdown_grace,
        body_timeout=body_timeout,
        conformance_bundles=conformance_bundles,
        log_level=log_level,
    )
    problem = check_startup(settings)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if insecure_http:
        print("warning: serving plain HTTP (--insecure-http): for local tests only", file=sys.stderr)
    return serve(settings)
