"""Running the webhook under uvicorn: one process, several worker processes, or a background thread (tests).

Each worker process builds its own state (configuration, certificates, metrics, watchers) when uvicorn loads it,
so nothing unpicklable crosses the process boundary: the workers receive only :class:`WebhookSettings`. The
parent binds the socket, starts the workers (uvicorn's supervisor restarts one that dies) and, on SIGTERM,
passes the signal on; each worker then stops accepting, finishes its in-flight requests (up to
``shutdown_grace`` seconds) and exits.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from .app import WebhookState, build_app, new_state
from .configsource import Watcher
from .logs import configure_logging
from .metrics import MULTIPROC_ENV
from .nodes import NodeWatcher
from .settings import WebhookSettings
from .tls import build_context


async def _not_loaded(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - replaced in load()
    raise RuntimeError("the webhook application is built when the worker loads")


class WebhookConfig(uvicorn.Config):
    """A uvicorn configuration that builds the webhook's app and TLS context inside the process that serves."""

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        watcher_factory: Callable[[Path], Watcher] | None = None,
        node_watcher: NodeWatcher | None = None,
        **kwargs: Any,
    ) -> None:
        self.settings = settings
        self._watcher_factory = watcher_factory
        self._node_watcher = node_watcher
        self.state: WebhookState | None = None
        super().__init__(
            app=_not_loaded,
            host=settings.host,
            port=settings.port,
            workers=settings.effective_workers(),
            access_log=False,
            log_level=settings.log_level,
            timeout_graceful_shutdown=max(1, round(settings.shutdown_grace)),
            # Idle keep-alive connections from the apiserver are reused for the next request.
            timeout_keep_alive=30,
            server_header=False,
            **kwargs,
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # Test seams are objects of the parent process; worker processes build their own.
        state["_watcher_factory"] = None
        state["_node_watcher"] = None
        state["state"] = None
        return state

    def load(self) -> None:
        configure_logging(self.settings.log_level)
        self.state = new_state(self.settings, watcher_factory=self._watcher_factory, node_watcher=self._node_watcher)
        self.app = build_app(self.state)
        super().load()
        if self.state.tls is not None:
            self.ssl = self.state.tls.listening


def check_startup(settings: WebhookSettings) -> str | None:
    """What would stop the server from starting, said plainly (None when it can start)."""
    if settings.config_dir is not None and not settings.config_dir.is_dir():
        return f"--config-dir {settings.config_dir}: not a directory"
    if not settings.insecure_http:
        if settings.tls_cert is None or settings.tls_key is None:
            return "HTTPS needs --tls-cert and --tls-key (use --insecure-http only for local tests)"
        try:
            build_context(settings.tls_cert, settings.tls_key, settings.client_ca)
        except Exception as err:
            return str(err)
    if settings.native_sidecars not in (None, "auto", "true", "false"):
        return f"--native-sidecars must be auto, true or false, not {settings.native_sidecars!r}"
    return None


def serve(settings: WebhookSettings) -> int:
    """Run until SIGTERM or SIGINT (the ``meshinject serve`` command). Returns the exit status."""
    configure_logging(settings.log_level)
    config = WebhookConfig(settings)
    workers = settings.effective_workers()
    if workers <= 1:
        uvicorn.Server(config).run()
        return 0
    own_dir = None
    if not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="meshinject-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir
    else:
        for stale in Path(os.environ[MULTIPROC_ENV]).glob("*.db"):
            stale.unlink(missing_ok=True)
    try:
        sock = config.bind_socket()
        Multiprocess(config, sockets=[sock]).run()
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)
    return 0


@dataclass
class RunningServer:
    """A server on a background thread of this process (tests and the demo)."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int
    scheme: str
    config: WebhookConfig
    errors: list[BaseException] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def state(self) -> WebhookState:
        assert self.config.state is not None
        return self.config.state

    def stop(self, timeout: float = 15.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_in_thread(
    settings: WebhookSettings,
    *,
    watcher_factory: Callable[[Path], Watcher] | None = None,
    node_watcher: NodeWatcher | None = None,
    startup_timeout: float = 30.0,
) -> RunningServer:
    """Start a one-worker server on a background thread; the port may be 0 (the bound port is reported)."""
    config = WebhookConfig(settings, watcher_factory=watcher_factory, node_watcher=node_watcher)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as err:  # SystemExit from a failed startup included
            errors.append(err)

    thread = threading.Thread(target=run, name=f"webhook-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if errors or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"webhook server failed to start: {errors[0] if errors else 'thread ended'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("webhook server did not start in time")
        time.sleep(0.01)
    scheme = "http" if settings.insecure_http else "https"
    return RunningServer(server, thread, settings.host, port, scheme, config, errors)
