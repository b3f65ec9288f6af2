"""The cluster's nodes and their kubelet versions, for native-sidecar ``auto`` mode.

A background thread lists the nodes and then watches them through lightkube; requests only read the last
snapshot, so the cluster is never on the request path. Without cluster access (no kubeconfig, no in-cluster
credentials, nodes not listable), the snapshot stays unknown and ``auto`` means off, as in Istio.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Protocol

import structlog

log = structlog.get_logger("meshinject.webhook.nodes")


class NodeSource(Protocol):
    """The two calls the watcher needs (a lightkube ``Client`` has them; tests pass a fake)."""

    def list(self, res: Any) -> Iterable[Any]: ...

    def watch(
        self, res: Any, *, resource_version: str | None = None, server_timeout: int | None = None
    ) -> Iterator[tuple[str, Any]]: ...


def _name_and_version(node: Any) -> tuple[str, str]:
    meta = getattr(node, "metadata", None)
    status = getattr(node, "status", None)
    info = getattr(status, "nodeInfo", None) if status is not None else None
    return (getattr(meta, "name", None) or "", getattr(info, "kubeletVersion", None) or "")


def default_client() -> NodeSource | None:
    """A lightkube client from the kubeconfig or in-cluster credentials; None when there are none."""
    try:
        import httpx2
        from lightkube import Client, KubeConfig
    except ImportError:  # pragma: no cover - lightkube is a dependency
        return None
    try:
        config = KubeConfig.from_env()
        client: NodeSource = Client(config=config, timeout=httpx2.Timeout(10.0, read=None))
    except Exception as err:
        log.info("no cluster access: native sidecars `auto` stays off", reason=str(err) or type(err).__name__)
        return None
    return client


class NodeWatcher:
    """Keeps ``[{"name", "kubeletVersion"}]`` of every node up to date; ``None`` until the first list."""

    def __init__(self, client_factory: Callable[[], NodeSource | None] = default_client, *, retry: float = 5.0) -> None:
        self._factory = client_factory
        self._retry = retry
        self._nodes: dict[str, str] | None = None
        self._snapshot: list[Mapping[str, str]] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def snapshot(self) -> list[Mapping[str, str]] | None:
        return self._snapshot

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="node-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _publish(self) -> None:
        nodes = self._nodes or {}
        self._snapshot = [{"name": n, "kubeletVersion": v} for n, v in sorted(nodes.items())]

    def _run(self) -> None:
        from lightkube.resources.core_v1 import Node

        client = self._factory()
        if client is None:
            return
        while not self._stop.is_set():
            try:
                listing = client.list(Node)
                nodes = dict(_name_and_version(n) for n in listing)
                self._nodes = nodes
                self._publish()
                log.info("nodes listed", count=len(nodes))
                version = getattr(listing, "resourceVersion", None)
                for op, node in client.watch(Node, resource_version=version, server_timeout=300):
                    if self._stop.is_set():
                        return
                    name, kubelet = _name_and_version(node)
                    if op == "DELETED":
                        nodes.pop(name, None)
                    elif op in ("ADDED", "MODIFIED"):
                        nodes[name] = kubelet
                    self._publish()
            except Exception as err:
                # Keep the last snapshot: a flaky apiserver must not flip native sidecars on and off.
                log.warning("node watch interrupted; retrying", error=str(err) or type(err).__name__)
                self._stop.wait(self._retry)
