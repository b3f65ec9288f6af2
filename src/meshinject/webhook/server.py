"""Running the webhook under uvicorn: one process, several worker processes, or a background thread (tests).

Each worker process builds its own state (configuration, certificates, metrics, watchers) when uvicorn loads it,
so nothing unpicklable crosses the process boundary: the workers receive only :class:`WebhookSettings`. Each
worker listens on its own SO_REUSEPORT socket; the parent restarts a worker that dies and, on SIGTERM, passes
the signal on; each worker then stops accepting, finishes its in-flight requests (up to ``shutdown_grace``
seconds) and exits.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from .app import WebhookState, build_app, new_state
from .configsource import Watcher
from .logs import configure_logging
from .metrics import MULTIPROC_ENV
from .nodes import NodeWatcher
from .settings import WebhookSettings
from .tls import build_context

log = structlog.get_logger("meshinject.webhook.server")


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
            loop=settings.loop,
            http=settings.http,
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
    if not settings.body_timeout > 0:
        return f"--body-timeout must be a positive number of seconds, not {settings.body_timeout}"
    if settings.native_sidecars not in (None, "auto", "true", "false"):
        return f"--native-sidecars must be auto, true or false, not {settings.native_sidecars!r}"
    return None


def serve(settings: WebhookSettings) -> int:
    """Run until SIGTERM or SIGINT (the ``meshinject serve`` command). Returns the exit status."""
    configure_logging(settings.log_level)
    config = WebhookConfig(settings)
    workers = settings.effective_workers()
    if workers <= 1:
        # uvicorn re-raises the signal it shut down for once it has finished; with these no-op handlers in
        # place that ends the process normally (exit 0) after the graceful shutdown instead of by the signal.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
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
        return _supervise(settings, workers)
    finally:
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker_main(settings: WebhookSettings, port: int) -> None:
    """One worker process: its own listening socket on the shared port (SO_REUSEPORT)."""
    sock = _reuse_port_socket(settings.host, port)
    config = WebhookConfig(settings)
    uvicorn.Server(config).run(sockets=[sock])


def _supervise(settings: WebhookSettings, workers: int) -> int:
    """Start ``workers`` processes, each with its own SO_REUSEPORT socket, and keep them running.

    One socket per worker lets the kernel spread new connections over the workers by their address hash; with
    one shared socket, whichever worker wakes first accepts a whole burst of connections (an apiserver opens
    its keep-alive connections in bursts) and the other workers idle.
    """
    # Holding a bound (not listening) socket reserves the port, so port 0 works and a worker restart cannot lose
    # the port to another program.
    anchor = _reuse_port_socket(settings.host, settings.port)
    port = anchor.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def on_signal(sig: int, _: object) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_worker_main, args=(settings, port), name="meshinject-worker")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    log.info("workers started", workers=workers, port=port, pids=[p.pid for p in processes])
    started = time.monotonic()
    try:
        while not stopping.wait(0.5):
            for i, process in enumerate(processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE or time.monotonic() - started < 5:
                    log.error("a worker failed to start; stopping", exitcode=process.exitcode)
                    stopping.set()
                    break
                log.warning("worker died; starting another", pid=process.pid, exitcode=process.exitcode)
                processes[i] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + settings.shutdown_grace + 5
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        anchor.close()
    failed = any(p.exitcode == STARTUP_FAILURE for p in processes)
    return 1 if failed else 0


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
