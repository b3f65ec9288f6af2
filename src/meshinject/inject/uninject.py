"""Removing a sidecar injection: the inverse of :func:`meshinject.inject.injector.inject_pod`, as pure functions.

The ``sidecar.istio.io/status`` annotation written at injection time names the containers, init containers,
volumes and image pull secrets the templates added; those are removed. What injection changed in place is
restored from what the injector recorded for that purpose:

* ``proxy.istio.io/overrides``: the user's own containers that carried an injected name (``istio-proxy``,
  ``istio-init``); they are put back where the injected container stood;
* ``ISTIO_KUBE_APP_PROBERS`` (an env var of the sidecar): the application probes and lifecycle hooks before they
  were aimed at the agent;
* ``ISTIO_PROMETHEUS_ANNOTATIONS`` (an env var of the sidecar): the ``prometheus.io/*`` scrape annotations that
  the Prometheus merge replaced.

Annotations and labels the templates add (``istio.io/rev``, the ``kubectl.kubernetes.io/default-*container``
annotations, ``security.istio.io/tlsMode`` and the canonical name/revision labels) are removed when their value
is the one injection derives, so a value the user chose survives. Some information is not recorded anywhere and
cannot come back: a named probe port comes back as its number, the original spelling of a Prometheus annotation
(``prometheus-io/port``) comes back as ``prometheus.io/port``, and a user volume or pull secret that had the
same name as an injected one is removed with it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from meshinject.gotemplate import goyaml
from meshinject.inject.podutil import PROXY_CONTAINER, find_sidecar

from . import kubetypes
from .kubeinject import WORKLOAD_KINDS, DocumentResult, transform_documents

__all__ = ["UninjectError", "kube_uninject", "uninject_object", "uninject_pod"]

STATUS_ANNOTATION: Final = "sidecar.istio.io/status"
OVERRIDES_ANNOTATION: Final = "proxy.istio.io/overrides"
REVISION_ANNOTATION: Final = "istio.io/rev"
DEFAULT_CONTAINER_ANNOTATIONS: Final = (
    "kubectl.kubernetes.io/default-container",
    "kubectl.kubernetes.io/default-logs-container",
)
SECURE_PORT_ANNOTATION: Final = "prometheus.istio.io/secure-port"
SCRAPE_TARGETS_ANNOTATION: Final = "prometheus.istio.io/scrape-targets"
TLS_MODE_LABEL: Final = "security.istio.io/tlsMode"
CANONICAL_NAME_LABEL: Final = "service.istio.io/canonical-name"
CANONICAL_REVISION_LABEL: Final = "service.istio.io/canonical-revision"

PROBERS_ENV: Final = "ISTIO_KUBE_APP_PROBERS"
PROMETHEUS_ENV: Final = "ISTIO_PROMETHEUS_ANNOTATIONS"
SECURE_PORT_ENV: Final = "ENVOY_SECURE_MERGED_METRICS_PORT"

# What the Prometheus merge writes: these three values together are its signature.
MERGED_PATH: Final = "/stats/prometheus"

_PROBES: Final = (("readinessProbe", "readyz"), ("livenessProbe", "livez"), ("startupProbe", "startupz"))
_HOOKS: Final = (("preStop", "prestopz"), ("postStart", "poststartz"))


class UninjectError(ValueError):
    """The pod says it was injected, but what injection recorded cannot be read."""


# -- helpers ------------------------------------------------------------------------------------------------


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise UninjectError(f"{what} is not valid JSON: {err}") from None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _names(status: Mapping[str, Any], key: str) -> set[str]:
    value = status.get(key)
    if value is None:
        return set()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UninjectError(f"annotation {STATUS_ANNOTATION}: {key} must be a list of names")
    return set(value)


def _env_value(container: Mapping[str, Any] | None, name: str) -> str | None:
    for var in _dicts((container or {}).get("env")):
        if var.get("name") == name and isinstance(var.get("value"), str):
            return str(var["value"])
    return None


def _find_sidecar(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    return find_sidecar({"spec": spec})


def _truncated(value: str) -> str:
    """What the templates' ``trunc 63 | trimSuffix "-"`` makes of a label value."""
    value = value[:63]
    return value.removesuffix("-")


# -- containers, volumes, pull secrets ---------------------------------------------------------------------


def _remove_named(spec: dict[str, Any], key: str, names: set[str]) -> dict[str, int]:
    """Drop the named entries of ``spec[key]``; returns the index each removed name had."""
    items = spec.get(key)
    if not isinstance(items, list) or not names:
        return {}
    positions = {
        str(item.get("name")): i for i, item in enumerate(items) if isinstance(item, dict) and item.get("name") in names
    }
    kept = [item for item in items if not (isinstance(item, dict) and item.get("name") in names)]
    if kept or key == "containers":
        spec[key] = kept
    else:
        del spec[key]
    return positions


def _restore_overrides(spec: dict[str, Any], raw: str, positions: Mapping[str, Mapping[str, int]]) -> None:
    overrides = _load_json(raw, f"annotation {OVERRIDES_ANNOTATION}")
    if not isinstance(overrides, dict):
        raise UninjectError(f"annotation {OVERRIDES_ANNOTATION} must be a JSON object")
    for key in ("containers", "initContainers"):
        for container in _dicts(overrides.get(key)):
            container = copy.deepcopy(container)
            if not container.get("image"):
                # The injector records `image: auto` as no image (it means "the injected proxy image").
                container["image"] = "auto"
            items = spec.get(key)
            if not isinstance(items, list):
                items = spec[key] = []
            if any(isinstance(c, dict) and c.get("name") == container.get("name") for c in items):
                continue
            index = positions.get(key, {}).get(str(container.get("name")), len(items))
            items.insert(min(index, len(items)), container)


# -- probes -------------------------------------------------------------------------------------------------


def _restored_handler(handler: Mapping[str, Any], prober: Mapping[str, Any]) -> dict[str, Any]:
    """The probe or hook as it was before the rewrite, from its ``ISTIO_KUBE_APP_PROBERS`` entry."""
    restored = {k: copy.deepcopy(v) for k, v in handler.items() if k != "httpGet"}
    if isinstance(prober.get("httpGet"), dict):
        original = prober["httpGet"]
        action: dict[str, Any] = {}
        for field in ("path", "port", "host", "scheme", "httpHeaders"):
            if original.get(field) not in (None, "", []):
                action[field] = copy.deepcopy(original[field])
        action.setdefault("port", 0)
        restored["httpGet"] = action
    elif isinstance(prober.get("tcpSocket"), dict):
        original = prober["tcpSocket"]
        restored["tcpSocket"] = {"port": original.get("port", 0)}
        if original.get("host"):
            restored["tcpSocket"]["host"] = original["host"]
    elif isinstance(prober.get("grpc"), dict):
        original = prober["grpc"]
        restored["grpc"] = {"port": original.get("port", 0)}
        if original.get("service") is not None:
            restored["grpc"]["service"] = original["service"]
    else:
        return dict(handler)
    return restored


def _rewritten_to(handler: Any, path: str) -> bool:
    return (
        isinstance(handler, dict)
        and isinstance(handler.get("httpGet"), dict)
        and (handler["httpGet"].get("path") == path)
    )


def _restore_probes(spec: dict[str, Any], probers: Mapping[str, Any]) -> None:
    for key in ("containers", "initContainers"):
        for container in _dicts(spec.get(key)):
            name = str(container.get("name") or "")
            for field, kind in _PROBES:
                path = f"/app-health/{name}/{kind}"
                prober = probers.get(path)
                if isinstance(prober, dict) and _rewritten_to(container.get(field), path):
                    container[field] = _restored_handler(container[field], prober)
            lifecycle = container.get("lifecycle")
            if not isinstance(lifecycle, dict):
                continue
            for field, kind in _HOOKS:
                path = f"/app-lifecycle/{name}/{kind}"
                prober = probers.get(path)
                if isinstance(prober, dict) and _rewritten_to(lifecycle.get(field), path):
                    lifecycle[field] = _restored_handler(lifecycle[field], prober)


# -- annotations and labels ---------------------------------------------------------------------------------


def _restore_prometheus(annotations: dict[str, str], recorded: str | None) -> None:
    merged = (
        annotations.get("prometheus.io/scrape") == "true"
        and annotations.get("prometheus.io/path") == MERGED_PATH
        and "prometheus.io/port" in annotations
    )
    if not merged:
        return
    for key in ("prometheus.io/scrape", "prometheus.io/path", "prometheus.io/port"):
        del annotations[key]
    if recorded is None:
        return
    config = _load_json(recorded, f"{PROMETHEUS_ENV} of the sidecar")
    if not isinstance(config, dict):
        raise UninjectError(f"{PROMETHEUS_ENV} of the sidecar must be a JSON object")
    targets = _dicts(config.get("targets"))
    if targets:
        # With scrape targets the merge overwrote port and path with the first target's: only the targets
        # themselves (and scrape) are known.
        annotations[SCRAPE_TARGETS_ANNOTATION] = ",".join(f"{t.get('port', '')}:{t.get('path', '')}" for t in targets)
        fields: tuple[str, ...] = ("scrape",)
    else:
        fields = ("scrape", "path", "port")
    for field in fields:
        value = config.get(field)
        if isinstance(value, str) and value:
            annotations[f"prometheus.io/{field}"] = value


def _strip_labels(labels: dict[str, str]) -> None:
    if labels.get(TLS_MODE_LABEL) == "istio":
        del labels[TLS_MODE_LABEL]
    derived = {
        CANONICAL_NAME_LABEL: labels.get("app.kubernetes.io/name") or labels.get("app"),
        CANONICAL_REVISION_LABEL: labels.get("app.kubernetes.io/version") or labels.get("version") or "latest",
    }
    for label, source in derived.items():
        if label not in labels:
            continue
        # Without a source label the name came from the workload's name, which a pod does not carry.
        if source is None or labels[label] == _truncated(source):
            del labels[label]


def _strip_annotations(
    annotations: dict[str, str], status: Mapping[str, Any], spec: Mapping[str, Any], sidecar: Any
) -> None:
    annotations.pop(STATUS_ANNOTATION, None)
    annotations.pop(OVERRIDES_ANNOTATION, None)
    revision = status.get("revision")
    if isinstance(revision, str) and annotations.get(REVISION_ANNOTATION) == revision:
        del annotations[REVISION_ANNOTATION]
    # The templates name the first container that is not the proxy, and kubectl picks the first container when
    # the annotation is absent: removing that value keeps kubectl's choice. Any other value is the user's.
    first = next((c.get("name") for c in _dicts(spec.get("containers")) if c.get("name") != PROXY_CONTAINER), None)
    for key in DEFAULT_CONTAINER_ANNOTATIONS:
        if first is not None and annotations.get(key) == first:
            del annotations[key]
    secure = _env_value(sidecar, SECURE_PORT_ENV)
    if secure is not None and annotations.get(SECURE_PORT_ANNOTATION) == secure:
        del annotations[SECURE_PORT_ANNOTATION]


# -- the pod ------------------------------------------------------------------------------------------------


def injection_status(pod: Mapping[str, Any]) -> dict[str, Any] | None:
    """The parsed ``sidecar.istio.io/status`` annotation, or None when the pod carries none."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(STATUS_ANNOTATION)
    if raw is None:
        return None
    status = _load_json(str(raw), f"annotation {STATUS_ANNOTATION}")
    if not isinstance(status, dict):
        raise UninjectError(f"annotation {STATUS_ANNOTATION} must be a JSON object")
    return status


def uninject_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The pod (``{metadata, spec}`` in Kubernetes JSON form) without its sidecar injection; a new object.

    A pod without the ``sidecar.istio.io/status`` annotation is returned unchanged (as a copy). Raises
    :class:`UninjectError` when that annotation, ``proxy.istio.io/overrides`` or the recorded Prometheus
    annotations cannot be parsed.
    """
    result: dict[str, Any] = copy.deepcopy(dict(pod))
    status = injection_status(result)
    if status is None:
        return result
    meta = result.get("metadata")
    if not isinstance(meta, dict):
        meta = result["metadata"] = {}
    spec = result.get("spec")
    if not isinstance(spec, dict):
        spec = result["spec"] = {}
    annotations: dict[str, str] = meta.get("annotations") or {}
    labels: dict[str, str] = meta.get("labels") or {}

    sidecar = copy.deepcopy(_find_sidecar(spec))
    positions = {
        "containers": _remove_named(spec, "containers", _names(status, "containers")),
        "initContainers": _remove_named(spec, "initContainers", _names(status, "initContainers")),
    }
    _remove_named(spec, "volumes", _names(status, "volumes"))
    _remove_named(spec, "imagePullSecrets", _names(status, "imagePullSecrets"))
    if OVERRIDES_ANNOTATION in annotations:
        _restore_overrides(spec, annotations[OVERRIDES_ANNOTATION], positions)

    probers_text = _env_value(sidecar, PROBERS_ENV)
    if probers_text:
        probers = _load_json(probers_text, f"{PROBERS_ENV} of the sidecar")
        if isinstance(probers, dict):
            _restore_probes(spec, probers)

    _restore_prometheus(annotations, _env_value(sidecar, PROMETHEUS_ENV))
    _strip_annotations(annotations, status, spec, sidecar)
    _strip_labels(labels)
    for key, value in (("annotations", annotations), ("labels", labels)):
        if value:
            meta[key] = value
        else:
            meta.pop(key, None)
    return result


# -- documents ----------------------------------------------------------------------------------------------


def _pod_parts(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(metadata, spec) holding the pod of a workload object, or None when it has no pod template."""
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.setdefault("metadata", {}), obj.setdefault("spec", {})
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    if kind == "CronJob":
        job = spec.get("jobTemplate")
        template = (job.get("spec") or {}).get("template") if isinstance(job, dict) else None
        if not isinstance(template, dict):
            return None
        assert isinstance(job, dict)
        job_meta = job.setdefault("metadata", {})
        # kube-inject writes the pod's metadata onto the job template (an Istio quirk); the webhook writes it
        # on the pod itself. Undo whichever one carries the status.
        if STATUS_ANNOTATION in (job_meta.get("annotations") or {}):
            return job_meta, template.setdefault("spec", {})
        return template.setdefault("metadata", {}), template.setdefault("spec", {})
    template = spec.get("template")
    if not isinstance(template, dict):
        return None
    return template.setdefault("metadata", {}), template.setdefault("spec", {})


def uninject_object(obj: dict[str, Any], warn: Callable[[str], None]) -> bool:
    """Uninject one decoded workload object in place (each workload item of a List); True if it changed."""
    if obj.get("kind") == "List":
        changed = False
        items = obj.get("items")
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and item.get("kind") in WORKLOAD_KINDS:
                item_warnings: list[str] = []
                changed = uninject_object(item, item_warnings.append) or changed
                for message in item_warnings:
                    warn(f"items[{i}]: {message}")
        return changed
    parts = _pod_parts(obj)
    if parts is None:
        warn("no pod template; left unchanged")
        return False
    meta, spec = parts
    pod = {"metadata": meta, "spec": spec}
    if STATUS_ANNOTATION not in (meta.get("annotations") or {}):
        if _find_sidecar(spec) is not None:
            warn(f"has an {PROXY_CONTAINER} container but no {STATUS_ANNOTATION} annotation; left unchanged")
        return False
    result = uninject_pod(pod)
    meta.clear()
    meta.update(result["metadata"])
    spec.clear()
    spec.update(result["spec"])
    return True


def kube_uninject(text: str, *, keep_going: bool = True) -> list[DocumentResult]:
    """Uninject every document of a YAML stream (the counterpart of ``kube_inject``).

    A document that was not injected keeps its original text; one that was is re-serialised the way
    ``kube_inject`` writes documents. ``DocumentResult.injected`` tells whether something was removed. A failing
    document keeps its original text and carries its error.
    """

    def uninject(typed: dict[str, Any], raw: str, warn: Callable[[str], None]) -> tuple[str, bool, str, dict[str, Any]]:
        changed = uninject_object(typed, warn)
        out = goyaml.marshal(kubetypes.normalize(typed)) if changed else raw
        return out, changed, "sidecar removed" if changed else "not injected; left unchanged", typed

    return transform_documents(text, uninject, keep_going=keep_going)
