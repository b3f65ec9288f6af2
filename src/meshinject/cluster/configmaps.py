"""The injector configuration of a live cluster: the revision's ConfigMaps, read through the kubeconfig.

A control plane of revision ``REV`` keeps its templates and values in ConfigMap ``istio-sidecar-injector-REV``
and its mesh configuration in ``istio-REV`` (no suffix for the default revision), in the Istio namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from lightkube import ApiError, Client
from lightkube.resources.core_v1 import ConfigMap, Node

from meshinject.inject.config import InjectorConfig, from_configmap_data

from .client import ClusterError, connect

__all__ = [
    "DEFAULT_ISTIO_NAMESPACE",
    "ClusterConfig",
    "ClusterError",
    "configmap_names",
    "kube_client",
    "load_cluster_config",
]

DEFAULT_ISTIO_NAMESPACE = "istio-system"
INJECTOR_CONFIGMAP = "istio-sidecar-injector"
MESH_CONFIGMAP = "istio"


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """What ``--from-cluster`` reads: the injector configuration plus the nodes' kubelet versions."""

    config: InjectorConfig
    #: ``[{"name": ..., "kubeletVersion": ...}]``, or None when the nodes could not be listed
    nodes: list[dict[str, str]] | None
    warnings: list[str] = field(default_factory=list)


def configmap_names(revision: str) -> tuple[str, str]:
    """(injector ConfigMap, mesh ConfigMap) of a revision; the default revision has no suffix."""
    suffix = f"-{revision}" if revision and revision != "default" else ""
    return INJECTOR_CONFIGMAP + suffix, MESH_CONFIGMAP + suffix


def kube_client(kubeconfig: Path | None = None, context: str | None = None) -> Client:
    """A client with kubectl's kubeconfig precedence (see :mod:`meshinject.cluster.client`)."""
    return connect(kubeconfig, context)


def _read_configmap(client: Client, name: str, namespace: str) -> dict[str, str] | None:
    """The ``data`` of a ConfigMap; None when it does not exist."""
    try:
        configmap = client.get(ConfigMap, name, namespace=namespace)
    except ApiError as err:
        code = getattr(err.status, "code", None)
        if code == 404:
            return None
        if code in (401, 403):
            raise ClusterError(
                f"not allowed to read ConfigMap {namespace}/{name}: {err.status.message} "
                "(the kubeconfig's user needs `get` on configmaps in that namespace)"
            ) from None
        raise ClusterError(f"reading ConfigMap {namespace}/{name} failed: {err.status.message}") from None
    except httpx2.HTTPError as err:
        raise ClusterError(
            f"cannot reach the Kubernetes API server: {err or type(err).__name__} "
            "(check the kubeconfig's current context, or run without --from-cluster)"
        ) from None
    data: Mapping[str, Any] = configmap.data or {}
    return {str(k): str(v) for k, v in data.items()}


def _read_nodes(client: Client) -> list[dict[str, str]] | None:
    try:
        nodes = list(client.list(Node))
    except (ApiError, httpx2.HTTPError):
        return None
    out = []
    for node in nodes:
        info = node.status.nodeInfo if node.status is not None else None
        out.append(
            {
                "name": node.metadata.name if node.metadata is not None and node.metadata.name else "",
                "kubeletVersion": info.kubeletVersion if info is not None else "",
            }
        )
    return out


def load_cluster_config(
    revision: str = "",
    *,
    namespace: str = DEFAULT_ISTIO_NAMESPACE,
    kubeconfig: Path | None = None,
    context: str | None = None,
    client: Client | None = None,
) -> ClusterConfig:
    """Build the injector configuration of ``revision`` from the cluster's ConfigMaps.

    Raises :class:`ClusterError` when no cluster is reachable or the injector ConfigMap is missing, and
    :class:`meshinject.inject.config.ConfigError` when its content is not a usable configuration.
    """
    if client is None:
        client = kube_client(kubeconfig, context)
    injector_name, mesh_name = configmap_names(revision)
    injector = _read_configmap(client, injector_name, namespace)
    if injector is None:
        which = f"revision {revision!r}" if revision else "the default revision"
        raise ClusterError(
            f"ConfigMap {namespace}/{injector_name} not found: is Istio installed for {which} in namespace "
            f"{namespace!r}? (see --revision and --istio-namespace)"
        )
    warnings = []
    mesh = _read_configmap(client, mesh_name, namespace)
    if mesh is None:
        warnings.append(f"ConfigMap {namespace}/{mesh_name} not found: using meshinject's built-in mesh configuration")
    config = from_configmap_data(injector, mesh, source=f"ConfigMap {namespace}/{injector_name}")
    if revision:
        config = config.with_flags(revision=revision)
    nodes = _read_nodes(client)
    if nodes is None:
        warnings.append("cannot list the cluster's nodes: native sidecars in `auto` mode stay off")
    return ClusterConfig(config=config, nodes=nodes, warnings=warnings)
