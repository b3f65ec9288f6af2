"""Resolving the inputs of one injection: owner workload, ProxyConfig, native sidecars, URL path, proxy IDs.

Pure functions shared by the webhook path, the offline path and the operator commands.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .config import InjectorConfig

PROXY_CONFIG_ANNOTATION = "proxy.istio.io/config"

# Kubelet minor version from which native sidecars (restartPolicy: Always init containers) are stable.
NATIVE_SIDECAR_MIN_MINOR = 33

URL_PARAMETER_TO_ENV = {"cluster": "ISTIO_META_CLUSTER_ID", "net": "ISTIO_META_NETWORK"}


class ProxyConfigError(ValueError):
    """The ``proxy.istio.io/config`` annotation does not hold a ProxyConfig."""


_CRONJOB_JOB_SUFFIX = re.compile(r"-\d{8,10}$")


def deploy_meta_from_pod(pod: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The workload that owns a pod (name, namespace) and its type, as Istio's GetDeployMetaFromPod derives it."""
    meta = pod.get("metadata") or {}
    name = meta.get("name") or ""
    namespace = meta.get("namespace") or ""
    type_meta = {"kind": "Pod", "apiVersion": "v1"}
    deploy = {"name": name, "namespace": namespace}
    labels = meta.get("labels") or {}
    if meta.get("generateName"):
        controller = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        if controller is not None:
            type_meta = {"kind": controller.get("kind", ""), "apiVersion": controller.get("apiVersion", "")}
            owner = controller.get("name", "")
            kind = type_meta["kind"]
            pod_hash = labels.get("pod-template-hash", "")
            rollout_hash = labels.get("rollouts-pod-template-hash", "")
            if kind == "ReplicaSet" and pod_hash and owner.endswith(pod_hash):
                owner = owner[: -len(pod_hash) - 1]
                type_meta = {"kind": "Deployment", "apiVersion": type_meta["apiVersion"]}
            elif kind == "ReplicaSet" and rollout_hash and owner.endswith(rollout_hash):
                owner = owner[: -len(rollout_hash) - 1]
                type_meta = {"kind": "Rollout", "apiVersion": "v1alpha1"}
            elif kind == "ReplicationController" and labels.get("deploymentconfig"):
                owner = labels["deploymentconfig"]
                type_meta = {"kind": "DeploymentConfig", "apiVersion": type_meta["apiVersion"]}
            elif kind == "Job" and _CRONJOB_JOB_SUFFIX.search(owner):
                owner = _CRONJOB_JOB_SUFFIX.sub("", owner)
                type_meta = {"kind": "CronJob", "apiVersion": "batch/v1"}
            deploy["name"] = owner or name
    return deploy, type_meta


def parse_proxy_config_annotation(text: str) -> dict[str, Any]:
    """Parse ``proxy.istio.io/config`` (YAML or JSON ProxyConfig)."""
    try:
        value = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as err:
        raise ProxyConfigError(f"annotation {PROXY_CONFIG_ANNOTATION} is not valid YAML or JSON: {err}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProxyConfigError(f"annotation {PROXY_CONFIG_ANNOTATION} must hold a ProxyConfig object")
    return value


def _is_proto3_set(value: Any) -> bool:
    return value not in (None, "", 0, False, [], {}) or isinstance(value, dict)


def overlay_proxy_config(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Overlay the set fields of ``overlay`` onto ``base`` (proto merge: proxyMetadata merged key by key)."""
    result = dict(base)
    for key, value in overlay.items():
        if key == "proxyMetadata" and isinstance(value, dict):
            merged = dict(result.get("proxyMetadata") or {})
            merged.update(value)
            result[key] = merged
        elif _is_proto3_set(value) or key in _WRAPPER_FIELDS:
            result[key] = value
    return result


# Wrapper-typed ProxyConfig fields: a present value counts as set even when it is 0 or false.
_WRAPPER_FIELDS = frozenset({"concurrency", "holdApplicationUntilProxyStarts", "readinessProbe"})


def _proxy_config_base(config: InjectorConfig) -> dict[str, Any]:
    return overlay_proxy_config(config.default_proxy_config, config.mesh.get("defaultConfig") or {})


def webhook_proxy_config(config: InjectorConfig, pod: Mapping[str, Any]) -> dict[str, Any]:
    """Istio's GetProxyConfigOrDefault without ProxyConfig resources: defaults, mesh, then the pod annotation."""
    result = dict(config.derived("proxy_config_base", _proxy_config_base))
    annotation = ((pod.get("metadata") or {}).get("annotations") or {}).get(PROXY_CONFIG_ANNOTATION)
    if annotation is not None:
        # A malformed annotation is ignored here, as Istio does; annotation validation rejects the pod later.
        with contextlib.suppress(ProxyConfigError):
            result = overlay_proxy_config(result, parse_proxy_config_annotation(annotation))
    return result


def kube_inject_mesh(mesh: Mapping[str, Any], pod_meta: Mapping[str, Any]) -> dict[str, Any]:
    """kube-inject applies ``proxy.istio.io/config`` onto the mesh's defaultConfig (replace if present)."""
    result = dict(mesh)
    annotation = (pod_meta.get("annotations") or {}).get(PROXY_CONFIG_ANNOTATION)
    if annotation is None:
        return result
    overlay = parse_proxy_config_annotation(annotation)
    default = dict(result.get("defaultConfig") or {})
    for key, value in overlay.items():
        if key == "proxyMetadata" and isinstance(value, dict):
            merged = dict(default.get("proxyMetadata") or {})
            merged.update(value)
            default[key] = merged
        else:
            default[key] = value
    result["defaultConfig"] = default
    return result


def native_sidecars_enabled(mode: str, nodes: Sequence[Mapping[str, str]] | None, node_name: str = "") -> bool:
    """``ENABLE_NATIVE_SIDECARS``: true/false, or auto = every known node's kubelet is 1.33 or newer."""
    if mode == "true":
        return True
    if mode != "auto" or nodes is None:
        return False
    if node_name:
        for node in nodes:
            if node.get("name") == node_name:
                return _kubelet_minor(node.get("kubeletVersion", "")) >= NATIVE_SIDECAR_MIN_MINOR
    if not nodes:
        return False
    return all(_kubelet_minor(n.get("kubeletVersion", "")) >= NATIVE_SIDECAR_MIN_MINOR for n in nodes)


def _kubelet_minor(version: str) -> int:
    m = re.match(r"v?(\d+)\.(\d+)", version)
    return int(m.group(2)) if m else -1


def parse_inject_path(path: str) -> dict[str, str]:
    """Proxy env overrides from the webhook URL path: ``/inject/cluster/c1/net/n1`` (``--slash--`` is ``/``)."""
    parts = path.rstrip("/").split("/", 2)
    if len(parts) < 3:
        return {}
    rest = parts[2]
    items: list[str] = []
    if rest.startswith(":ENV:"):
        for pair in rest.split(":ENV:")[1:]:
            key, sep, value = pair.partition("=")
            if key and sep:
                items += [key, value]
    else:
        items = rest.split("/")
        items = [v.replace("--slash--", "/") if i % 2 else v for i, v in enumerate(items)]
    envs: dict[str, str] = {}
    for i in range(0, len(items) - 1, 2):
        key = items[i]
        envs[URL_PARAMETER_TO_ENV.get(key, key.upper())] = items[i + 1]
    return envs


def openshift_proxy_ids(namespace: Mapping[str, Any] | None) -> tuple[int, int]:
    """Proxy UID/GID: 1337, or on OpenShift the top of the namespace's pre-allocated ranges."""
    uid = gid = 1337
    if namespace is None:
        return uid, gid
    annotations = (namespace.get("metadata") or {}).get("annotations") or {}
    uid_range = _range_max(annotations.get("openshift.io/sa.scc.uid-range", ""))
    if uid_range is not None:
        uid = uid_range
    groups = annotations.get("openshift.io/sa.scc.supplemental-groups", "") or annotations.get(
        "openshift.io/sa.scc.uid-range", ""
    )
    gid_range = _range_max(groups.split(",")[0]) if groups else None
    if gid_range is not None:
        gid = gid_range
    return uid, gid


def _range_max(text: str) -> int | None:
    text = text.strip()
    if "/" in text:
        start, _, size = text.partition("/")
        if start.isdigit() and size.isdigit() and int(size) > 0:
            return int(start) + int(size) - 1
    elif "-" in text:
        start, _, end = text.partition("-")
        if start.isdigit() and end.isdigit():
            return int(end)
    return None
