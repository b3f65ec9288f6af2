"""The ASGI application: ``/inject`` and its path-parameter forms, health, readiness and metrics.

The HTTP layer follows istiod's ``serveInject`` where the apiserver can see a difference: a body over 6 MiB or an
unreadable body is ``400`` with a plain-text reason, an empty body is ``400 no body found``, a Content-Type other
than JSON is ``415``, and a body that does not decode as an ``admission.k8s.io/v1`` or ``v1beta1`` AdmissionReview
is answered ``200`` with an AdmissionReview whose response is ``allowed: false`` with the decoding error (no uid
and no apiVersion/kind, as istiod writes it). Everything else is decided by :func:`inject.admission.review`.

Overload: each worker admits at most ``max_inflight`` inject requests at once (reading, queued or running);
one more is answered ``503`` with ``Retry-After: 1`` at once instead of joining a queue it would time out in.
A request that already waited longer than the timeout the apiserver put in its URL (``?timeout=10s``) is also
answered ``503`` without running the engine: the apiserver has given up on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import structlog
import yaml
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from meshinject.inject.admission import SUPPORTED_VERSIONS, ClusterFacts, ReviewOutcome, review
from meshinject.inject.config import ConfigError, InjectorConfig, load_directory

from .configsource import ConfigHolder, Watcher
from .logs import RequestLog
from .metrics import Metrics
from .nodes import NodeWatcher
from .settings import WebhookSettings
from .tls import ReloadingContext

log = structlog.get_logger("meshinject.webhook")

#: bodies up to this size are answered on the event loop even with engine threads: a pod of ordinary size takes
#: the engine well under a millisecond (renders are cached), less than handing it to a thread and back costs
#: (and the hand-off waits on the GIL); a larger pod (thousands of env vars) still goes to an engine thread
INLINE_BODY_BYTES = 32 * 1024
RETRY_AFTER = "1"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def _text(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    # Go's http.Error: the message plus a newline, as plain text, with nosniff.
    return PlainTextResponse(
        message + "\n", status_code=status, headers={"X-Content-Type-Options": "nosniff", **(headers or {})}
    )


def _overloaded(message: str) -> Response:
    return _text(503, message, {"Retry-After": RETRY_AFTER})


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)$")


def parse_timeout(value: str | None) -> float | None:
    """The apiserver's ``?timeout=`` (a Go duration such as ``10s``) in seconds; None if absent or unreadable."""
    if not value:
        return None
    m = _DURATION.match(value)
    if not m:
        return None
    number = float(m.group(1))
    return number / 1000 if m.group(2) == "ms" else number * 60 if m.group(2) == "m" else number


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as err:
        raise _BodyError(400, f"invalid gzip request body: {err}") from None
    if len(out) > limit:
        raise _BodyError(400, f"Request entity too large: limit is {limit}")
    if not inflater.eof:
        raise _BodyError(400, "invalid gzip request body: truncated")
    return out


def decode_error_review(message: str) -> dict[str, Any]:
    """istiod's answer to a body that is not an AdmissionReview: no TypeMeta, no uid, allowed false."""
    return {"response": {"uid": "", "allowed": False, "status": {"metadata": {}, "message": message}}}


_TYPED_STRING_FIELDS = ("uid", "name", "namespace", "operation", "subResource")


def decode_review(body: bytes) -> tuple[dict[str, Any] | None, str]:
    """The AdmissionReview in ``body``, or None and the decoding error (mirroring the apiserver scheme's words)."""
    try:
        try:
            obj = _decoder.decode(body)
        except UnicodeDecodeError:
            # Go's encoding/json turns invalid UTF-8 inside strings into U+FFFD instead of failing.
            obj = _decoder.decode(body.decode("utf-8", errors="replace").encode())
    except (msgspec.DecodeError, ValueError, RecursionError) as err:
        return None, f"couldn't get version/kind; json parse error: {err}"
    if not isinstance(obj, dict):
        return None, f"couldn't get version/kind; json parse error: the body is a JSON {type(obj).__name__}"
    kind = obj.get("kind")
    version = obj.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(version, str):
        return None, "couldn't get version/kind: apiVersion and kind must be strings"
    if not kind:
        return None, "Object 'Kind' is missing in the request body"
    if kind != "AdmissionReview" or version not in SUPPORTED_VERSIONS:
        return None, f'no kind "{kind}" is registered for version "{version}"'
    request = obj.get("request")
    if request is not None:
        if not isinstance(request, dict):
            return None, "AdmissionReview.request must be an object"
        for key in _TYPED_STRING_FIELDS:
            value = request.get(key)
            if value is not None and not isinstance(value, str):
                return None, f"AdmissionReview.request.{key} must be a string"
        dry_run = request.get("dryRun")
        if dry_run is not None and not isinstance(dry_run, bool):
            return None, "AdmissionReview.request.dryRun must be a boolean"
    return obj, ""


class BodyDeadlines:
    """Gives up on request bodies that take too long to arrive: one sweep a second instead of a timer each.

    ``asyncio.timeout`` arms and disarms an event-loop timer for every request; a sweep over the reads in
    progress costs a request a dictionary entry. Inside ``async with deadlines.guard():`` a read past its
    deadline has its task cancelled and leaves the block with :class:`TimeoutError`, exactly as under
    ``asyncio.timeout`` (a cancellation from elsewhere, such as shutdown, stays a cancellation).
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        #: task -> (deadline on the loop's clock, the task's cancellation count when it started reading)
        self._reads: dict[asyncio.Task[Any], tuple[float, int]] = {}
        self._expired: set[asyncio.Task[Any]] = set()

    def guard(self) -> _BodyGuard:
        return _BodyGuard(self)

    def sweep(self, now: float) -> None:
        """Cancel every read whose deadline has passed (once)."""
        for task, (deadline, _) in list(self._reads.items()):
            if now >= deadline and task not in self._expired:
                self._expired.add(task)
                task.cancel()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        interval = min(1.0, self.timeout / 4)
        while True:
            await asyncio.sleep(interval)
            self.sweep(loop.time())


class _BodyGuard:
    __slots__ = ("_owner", "_task")

    def __init__(self, owner: BodyDeadlines) -> None:
        self._owner = owner
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a body deadline needs a running task")
        self._task = task
        self._owner._reads[task] = (asyncio.get_running_loop().time() + self._owner.timeout, task.cancelling())

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        owner, task = self._owner, self._task
        assert task is not None
        _, cancelling = owner._reads.pop(task, (0.0, 0))
        if task in owner._expired:
            owner._expired.discard(task)
            # Undo the sweep's cancellation; if nobody else cancelled the task, the read simply took too long.
            if task.uncancel() <= cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc


@dataclass(slots=True)
class WebhookState:
    settings: WebhookSettings
    holder: ConfigHolder
    metrics: Metrics
    body_deadlines: BodyDeadlines
    tls: ReloadingContext | None = None
    watcher: Watcher | None = None
    nodes: NodeWatcher | None = None
    bundles: dict[str, ConfigHolder] = field(default_factory=dict)
    inflight: int = 0
    executor: ThreadPoolExecutor | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def bundle_holders(root: Path) -> dict[str, ConfigHolder]:
    """One static configuration per conformance bundle, with the nodes and namespaces of its env.yaml."""
    holders: dict[str, ConfigHolder] = {}
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        env_path = directory / "env.yaml"
        env = yaml.load(env_path.read_text(), Loader=yaml.CSafeLoader) or {} if env_path.is_file() else {}
        facts = ClusterFacts(
            nodes=env.get("nodes") or [],
            namespaces={(n.get("metadata") or {}).get("name", ""): n for n in env.get("namespaces") or []},
        )

        def loader(d: Path = directory) -> InjectorConfig:
            return load_directory(d)

        def bundle_facts(f: ClusterFacts = facts) -> ClusterFacts:
            return f

        holder = ConfigHolder(loader, facts=bundle_facts)
        if not holder.load(initial=True):
            raise ConfigError(f"conformance bundle {directory}: {holder.last_error}")
        holders[directory.name] = holder
    return holders


_URL_SPECIAL = re.compile(r"[?#\\]")


def _query_timeout(request: Request) -> str | None:
    """``request.query_params.get("timeout")``, without building the parameters in the usual cases."""
    query: bytes = request.scope.get("query_string", b"")
    if b"%" in query or b"+" in query:
        # Escapes to decode: the general parser.
        return request.query_params.get("timeout")
    if b"timeout" not in query:
        return None
    value = None
    for part in query.decode("latin-1").split("&"):
        name, _, found = part.partition("=")
        if name == "timeout":
            value = found  # the last one wins, as in the parsed parameters
    return value


def _request_path(request: Request) -> str:
    """``request.url.path`` without building the URL, for the paths where the two are the same."""
    path: str = request.scope["path"]
    if path[:1] == "/" and path[1:2] != "/" and path.isprintable() and not _URL_SPECIAL.search(path):
        return path
    return request.url.path


def _drop_managed_fields(decoded: dict[str, Any]) -> None:
    """Remove ``metadata.managedFields`` from the request's object before the engine copies it.

    The engine ignores it (and leaves it out of the patch), but it is often the largest part of the pod; this
    decoded body is ours, and nothing else reads that field.
    """
    request = decoded.get("request")
    obj = request.get("object") if isinstance(request, dict) else None
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(meta, dict):
        meta.pop("managedFields", None)


def _pod_name(obj: Any) -> tuple[str, str]:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict):
        return "", ""
    name = meta.get("name") or ""
    if not name and meta.get("generateName"):
        name = f"{meta['generateName']}***"
    return str(name), str(meta.get("namespace") or "")


class InjectHandler:
    def __init__(self, state: WebhookState) -> None:
        self.state = state
        self.settings = state.settings
        self.metrics = state.metrics
        # The latency histogram's series by outcome, looked up once (labels() takes a lock and checks names).
        self._latency: dict[str, Any] = {}
        self._request_log = RequestLog(state.settings.log_level) if state.settings.log_requests else None

    def _observe_latency(self, outcome: str, elapsed: float) -> None:
        series = self._latency.get(outcome)
        if series is None:
            series = self._latency[outcome] = self.metrics.latency.labels(outcome=outcome)
        series.observe(elapsed)

    async def endpoint(self, request: Request) -> Response:
        arrived = time.perf_counter()
        state = self.state
        metrics = self.metrics
        metrics.requests.inc()
        holder = state.holder
        path = _request_path(request)
        bundle = request.path_params.get("bundle")
        if bundle is not None:
            found = state.bundles.get(bundle)
            if found is None:
                return self._finish(_text(404, f"no conformance bundle {bundle!r}"), arrived, "bad_request")
            holder = found
            path = path[len(f"/bundles/{bundle}") :]
        if state.inflight >= self.settings.max_inflight:
            metrics.overloaded.inc()
            return self._finish(
                _overloaded("too many admission requests in progress; retry"), arrived, "overloaded", failed=False
            )
        state.inflight += 1
        try:
            return await self._handle(request, holder, path, arrived)
        finally:
            state.inflight -= 1

    def _finish(self, response: Response, arrived: float, outcome: str, *, failed: bool = True) -> Response:
        elapsed = time.perf_counter() - arrived
        self.metrics.time.observe(elapsed)
        self._observe_latency(outcome, elapsed)
        if failed:
            self.metrics.failure.inc()
        if self._request_log is not None:
            self._request_log.write(
                "admission request rejected", {"outcome": outcome, "status": response.status_code, "ms": elapsed * 1000}
            )
        return response

    async def _read_body(self, request: Request) -> tuple[bytes, str]:
        """The request body (un-gzipped) and its media type; raises _BodyError, TimeoutError, ClientDisconnect."""
        limit = self.settings.max_body_bytes
        declared = encoding = media_type = ""
        # One pass over the raw headers for the three this handler reads (the first of each counts).
        seen_length = seen_encoding = seen_type = False
        for name, value in request.scope["headers"]:
            if name == b"content-length" and not seen_length:
                declared, seen_length = value.decode("latin-1"), True
            elif name == b"content-encoding" and not seen_encoding:
                encoding, seen_encoding = value.decode("latin-1").strip().lower(), True
            elif name == b"content-type" and not seen_type:
                media_type, seen_type = value.decode("latin-1").split(";", 1)[0].strip().lower(), True
        if declared.isdigit() and int(declared) > limit:
            raise _BodyError(400, f"Request entity too large: limit is {limit}")
        chunks: list[bytes] = []
        size = 0
        receive = request.receive
        async with self.state.body_deadlines.guard():
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "http.disconnect":
                    raise ClientDisconnect()
                if kind != "http.request":
                    continue
                chunk = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise _BodyError(400, f"Request entity too large: limit is {limit}")
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if encoding in ("", "identity"):
            return body, media_type
        if encoding in ("gzip", "x-gzip"):
            return (_gunzip(body, limit) if body else body), media_type
        raise _BodyError(415, f"unsupported Content-Encoding {encoding!r}, want gzip or none")

    async def _handle(self, request: Request, holder: ConfigHolder, path: str, arrived: float) -> Response:
        try:
            body, media_type = await self._read_body(request)
        except _BodyError as err:
            return self._finish(_text(err.status, err.message), arrived, "bad_request")
        except TimeoutError:
            return self._finish(_text(408, "request body not received in time"), arrived, "bad_request")
        except ClientDisconnect:
            # Nobody is left to answer; the response goes nowhere.
            return self._finish(_text(400, "client disconnected"), arrived, "bad_request")
        if not body:
            return self._finish(_text(400, "no body found"), arrived, "bad_request")
        if media_type != "application/json":
            return self._finish(_text(415, "invalid Content-Type, want `application/json`"), arrived, "bad_request")
        config = holder.config()
        if config is None:
            return self._finish(
                _overloaded(f"no injector configuration loaded yet: {holder.last_error}"), arrived, "not_ready"
            )
        facts = holder.facts()
        timeout = parse_timeout(_query_timeout(request))
        executor = self.state.executor
        if executor is None or len(body) <= INLINE_BODY_BYTES:
            payload, outcome, decoded = self._work(body, config, facts, path, arrived, timeout)
        else:
            loop = asyncio.get_running_loop()
            payload, outcome, decoded = await loop.run_in_executor(
                executor, self._work, body, config, facts, path, arrived, timeout
            )
        if payload is None:
            self.metrics.overloaded.inc()
            return self._finish(
                _overloaded("the request waited longer than its timeout; retry"), arrived, "overloaded", failed=False
            )
        return self._answer(payload, outcome, decoded, arrived, path)

    def _work(
        self,
        body: bytes,
        config: InjectorConfig,
        facts: ClusterFacts,
        path: str,
        arrived: float,
        timeout: float | None,
    ) -> tuple[bytes | None, ReviewOutcome | str, dict[str, Any] | None]:
        """Decode, run the engine, encode: the CPU part, on a worker thread or inline."""
        if timeout is not None and time.perf_counter() - arrived > timeout:
            return None, "", None
        try:
            decoded, error = decode_review(body)
        except Exception as err:  # a decoder surprise is still a decoding error, never a dropped connection
            decoded, error = None, f"couldn't decode the body: {type(err).__name__}: {err}"
        if decoded is None:
            return _encoder.encode(decode_error_review(error)), error, None
        _drop_managed_fields(decoded)
        try:
            outcome = review(decoded, config, path=path, facts=facts)
            return _encoder.encode(outcome.response), outcome, decoded
        except Exception as err:  # never leave the apiserver without an AdmissionReview
            log.exception("internal error while answering an admission request")
            message = f"internal error: {type(err).__name__}: {err}"
            request = decoded.get("request") if isinstance(decoded.get("request"), dict) else {}
            response = {
                "apiVersion": decoded["apiVersion"],
                "kind": "AdmissionReview",
                "response": {
                    "uid": str((request or {}).get("uid") or ""),
                    "allowed": False,
                    "status": {"message": message},
                },
            }
            return _encoder.encode(response), message, decoded

    def _answer(
        self,
        payload: bytes,
        outcome: ReviewOutcome | str,
        decoded: dict[str, Any] | None,
        arrived: float,
        path: str,
    ) -> Response:
        metrics = self.metrics
        elapsed = time.perf_counter() - arrived
        if isinstance(outcome, str):
            result, reason, failed = "denied", outcome, True
        else:
            result = {"injected": "injected", "skipped": "skipped"}.get(outcome.result, "denied")
            failed = result == "denied"
            if outcome.result == "skipped":
                metrics.skip.inc()
            if outcome.decision is not None and result != "denied":
                reason = outcome.decision.reason
            else:
                reason = str(((outcome.response.get("response") or {}).get("status") or {}).get("message") or "")
        if failed:
            metrics.failure.inc()
        metrics.success.inc()
        metrics.time.observe(elapsed)
        self._observe_latency(result, elapsed)
        if self._request_log is not None:
            request = (decoded or {}).get("request") or {}
            name, namespace = _pod_name(request.get("object"))
            self._request_log.write(
                "admission request",
                {
                    "uid": request.get("uid", ""),
                    "namespace": namespace or request.get("namespace", ""),
                    "pod": name,
                    "decision": result,
                    "reason": reason,
                    "rule": getattr(getattr(outcome, "decision", None), "rule", None),
                    "dry_run": bool(request.get("dryRun")),
                    "path": path,
                    "ms": round(elapsed * 1000, 3),
                },
            )
        return Response(payload, media_type="application/json")


async def _trivial(request: Request) -> Response:
    """Decode and allow without injecting: the cost of everything around the engine (benchmarks only)."""
    body = await request.body()
    decoded, _ = decode_review(body)
    request_obj = (decoded or {}).get("request") or {}
    answer = {
        "apiVersion": (decoded or {}).get("apiVersion", "admission.k8s.io/v1"),
        "kind": "AdmissionReview",
        "response": {"uid": request_obj.get("uid", ""), "allowed": True},
    }
    return Response(_encoder.encode(answer), media_type="application/json")


def build_app(state: WebhookState) -> Starlette:
    """The Starlette application over ``state`` (background work starts and stops with the app's lifespan)."""
    inject = InjectHandler(state).endpoint
    settings = state.settings

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(_: Request) -> Response:
        if state.holder.ready:
            return PlainTextResponse("ready\n")
        return PlainTextResponse(f"not ready: no injector configuration ({state.holder.last_error})\n", 503)

    async def metrics(_: Request) -> Response:
        return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/inject", inject, methods=["POST"]),
        Route("/inject/{rest:path}", inject, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if state.bundles:
        routes += [
            Route("/bundles/{bundle}/inject", inject, methods=["POST"]),
            Route("/bundles/{bundle}/inject/{rest:path}", inject, methods=["POST"]),
        ]
    if settings.trivial_route:
        routes.append(Route("/allow", _trivial, methods=["POST"]))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if settings.engine_threads > 0:
            state.executor = ThreadPoolExecutor(settings.engine_threads, thread_name_prefix="engine")
        if state.watcher is not None:
            state.tasks.append(asyncio.create_task(state.holder.watch(state.watcher)))
        if state.tls is not None:
            state.tasks.append(asyncio.create_task(_poll_certificates(state.tls, settings.poll_interval)))
        state.tasks.append(asyncio.create_task(state.body_deadlines.run()))
        if state.nodes is not None:
            state.nodes.start()
        try:
            yield
        finally:
            for task in state.tasks:
                task.cancel()
            for task in state.tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            state.tasks.clear()
            if state.nodes is not None:
                state.nodes.stop()
            if state.executor is not None:
                state.executor.shutdown(wait=True)
                state.executor = None

    return Starlette(routes=routes, lifespan=lifespan)


async def _poll_certificates(tls: ReloadingContext, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        tls.check()


def new_state(
    settings: WebhookSettings,
    *,
    watcher_factory: Callable[[Path], Watcher] | None = None,
    node_watcher: NodeWatcher | None = None,
) -> WebhookState:
    """Load the configuration, certificates and optional parts for one worker."""
    from .configsource import PollingWatcher, load_config

    metrics = Metrics()

    def on_config_reload(ok: bool) -> None:
        metrics.config_reloads.labels(result="success" if ok else "failure").inc()

    def on_cert_reload(ok: bool) -> None:
        metrics.cert_reloads.labels(result="success" if ok else "failure").inc()

    nodes: NodeWatcher | None = None
    mode = settings.native_sidecars

    def loader() -> InjectorConfig:
        return load_config(settings.config_dir, revision=settings.revision, native_sidecars=settings.native_sidecars)

    def facts() -> ClusterFacts:
        return ClusterFacts(nodes=nodes.snapshot() if nodes is not None else None)

    holder = ConfigHolder(loader, facts=facts, on_reload=on_config_reload)
    holder.load(initial=True)
    config = holder.config()
    effective_mode = mode or (config.native_sidecars if config is not None else "auto")
    if settings.watch_nodes and effective_mode == "auto":
        nodes = node_watcher or NodeWatcher()
    watcher: Watcher | None = None
    if settings.config_dir is not None:
        factory = watcher_factory or (
            lambda d: PollingWatcher(d, interval=settings.poll_interval, debounce=settings.reload_debounce)
        )
        watcher = factory(settings.config_dir)
    tls: ReloadingContext | None = None
    if not settings.insecure_http:
        if settings.tls_cert is None or settings.tls_key is None:
            raise ValueError("HTTPS needs --tls-cert and --tls-key (or --insecure-http for local tests)")
        tls = ReloadingContext(settings.tls_cert, settings.tls_key, settings.client_ca, on_reload=on_cert_reload)
    bundles = bundle_holders(settings.conformance_bundles) if settings.conformance_bundles else {}
    return WebhookState(
        settings=settings,
        holder=holder,
        metrics=metrics,
        tls=tls,
        watcher=watcher,
        nodes=nodes,
        bundles=bundles,
        body_deadlines=BodyDeadlines(settings.body_timeout),
    )
