"""Istio's Prometheus "metrics merge" (``applyPrometheusMerge`` and friends in Istio's ``webhook.go``).

When merging is on, the pod's ``prometheus.io/*`` scrape annotations are moved into the sidecar's
``ISTIO_PROMETHEUS_ANNOTATIONS`` environment variable (so the agent can scrape the application) and replaced
by annotations pointing Prometheus at the agent's status port.

Annotation keys are compared after Prometheus' label-name sanitising (every character outside
``[a-zA-Z0-9_]`` becomes ``_``), because that is how Prometheus' Kubernetes discovery sees them:
``prometheus.io/port``, ``prometheus-io/port`` and ``prometheus.io.port`` all mean the same thing.

Go walks the annotation map in random order; where several spellings of one annotation are present this
module takes them in the mapping's order, which is one of the orders Go may produce.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from meshinject.inject.podutil import find_sidecar
from meshinject.inject.validate import go_atoi, go_json_string, go_quote, go_trim_space, parse_go_bool

__all__ = [
    "PROMETHEUS_ANNOTATIONS_ENV",
    "PrometheusMergeError",
    "apply_prometheus_merge",
    "apply_secure_prometheus_annotation",
    "clear_prometheus_annotations",
    "enable_prometheus_merge",
    "get_prometheus_port",
    "get_prometheus_scrape",
    "get_prometheus_scrape_configuration",
    "marshal_scrape_configuration",
    "parse_scrape_targets",
    "sanitize_label_name",
]

PROMETHEUS_ANNOTATIONS_ENV: Final = "ISTIO_PROMETHEUS_ANNOTATIONS"
MERGE_METRICS_ANNOTATION: Final = "prometheus.istio.io/merge-metrics"

_SCRAPE: Final = "prometheus_io_scrape"
_PORT: Final = "prometheus_io_port"
_PATH: Final = "prometheus_io_path"
_SCRAPE_TARGETS: Final = "prometheus_istio_io_scrape_targets"
_SECURE_PORT: Final = "prometheus_istio_io_secure_port"
_MERGED: Final = frozenset({_SCRAPE, _PORT, _PATH, _SCRAPE_TARGETS})

# Ports the sidecar owns; scraping them would hit Istio itself rather than the application.
_ISTIO_RESERVED_PORTS: Final = {
    "15000": "Envoy admin",
    "15001": "outbound traffic capture",
    "15004": "pilot debug",
    "15006": "inbound traffic capture",
    "15008": "HBONE tunnel",
    "15020": "pilot-agent status / merged Prometheus",
    "15021": "Envoy health",
    "15053": "DNS proxy",
    "15090": "Envoy Prometheus (already merged)",
}

_INVALID_LABEL_CHAR: Final = re.compile(r"[^a-zA-Z0-9_]")


class PrometheusMergeError(ValueError):
    """The scrape annotations cannot be merged; the message is Istio's, and injection fails with it."""


@functools.lru_cache(maxsize=4096)
def sanitize_label_name(name: str) -> str:
    """Prometheus' ``strutil.SanitizeLabelName``: one ``_`` for every character outside ``[a-zA-Z0-9_]``."""
    return _INVALID_LABEL_CHAR.sub("_", name)


def _annotations(pod: Mapping[str, Any]) -> Mapping[str, str]:
    return (pod.get("metadata") or {}).get("annotations") or {}


def enable_prometheus_merge(mesh_enable: bool | None, annotations: Mapping[str, str] | None) -> bool:
    """The pod's ``prometheus.istio.io/merge-metrics`` if it parses as a Go bool, else the mesh's, else on."""
    if annotations is not None and MERGE_METRICS_ANNOTATION in annotations:
        value = parse_go_bool(annotations[MERGE_METRICS_ANNOTATION])
        if value is not None:
            return value
    return True if mesh_enable is None else mesh_enable


def get_prometheus_scrape(pod: Mapping[str, Any]) -> bool:
    """``getPrometheusScrape``: the first scrape annotation that parses as a Go bool decides; default on."""
    for key, value in _annotations(pod).items():
        if sanitize_label_name(key) == _SCRAPE:
            scrape = parse_go_bool(value)
            if scrape is not None:
                return scrape
    return True


def get_prometheus_port(pod: Mapping[str, Any]) -> str | None:
    """``getPrometheusPort``: the value of the pod's first port annotation, in any spelling, or None."""
    for key, value in _annotations(pod).items():
        if sanitize_label_name(key) == _PORT:
            return value
    return None


def clear_prometheus_annotations(pod: dict[str, Any]) -> None:
    """Removes every spelling of the scrape, port, path and scrape-targets annotations."""
    annotations = (pod.get("metadata") or {}).get("annotations")
    if not annotations:
        return
    for key in [k for k in annotations if sanitize_label_name(k) in _MERGED]:
        del annotations[key]


def parse_scrape_targets(raw: str) -> list[dict[str, str]]:
    """``status.ParseScrapeTargets``: ``port:path`` pairs separated by commas; the path defaults to /metrics.

    Raises ValueError for an entry without a port.
    """
    targets = []
    for part in raw.split(","):
        entry = go_trim_space(part)
        if entry == "":
            continue
        port, sep, path = entry.partition(":")
        port = go_trim_space(port)
        if port == "":
            raise ValueError(f"empty port in scrape target {go_quote(entry)}")
        path = go_trim_space(path) if sep else ""
        targets.append({"port": port, "path": path or "/metrics"})
    return targets


def get_prometheus_scrape_configuration(pod: Mapping[str, Any]) -> dict[str, Any]:
    """``getPrometheusScrapeConfiguration``: ``scrape``, ``path``, ``port`` (strings) and ``targets``."""
    config: dict[str, Any] = {"scrape": "", "path": "", "port": "", "targets": []}
    for key, value in _annotations(pod).items():
        name = sanitize_label_name(key)
        if name == _PORT:
            config["port"] = value
        elif name == _SCRAPE:
            config["scrape"] = value
        elif name == _PATH:
            config["path"] = value
        elif name == _SCRAPE_TARGETS:
            # Istio only logs an unparsable scrape-targets annotation.
            with contextlib.suppress(ValueError):
                config["targets"] = parse_scrape_targets(value)
    return config


def marshal_scrape_configuration(config: Mapping[str, Any]) -> str:
    """Go's JSON of ``status.PrometheusScrapeConfiguration``: scrape, path, port always; targets if any."""
    text = (
        '{"scrape":'
        + go_json_string(config.get("scrape", ""))
        + ',"path":'
        + go_json_string(config.get("path", ""))
        + ',"port":'
        + go_json_string(config.get("port", ""))
    )
    targets = config.get("targets") or []
    if targets:
        text += ',"targets":[' + ",".join(
            '{"port":' + go_json_string(t["port"]) + ',"path":' + go_json_string(t["path"]) + "}" for t in targets
        )
        text += "]"
    return text + "}"


def _check_port(port: str, target_port: str, what: str, subject: str) -> None:
    number, err = go_atoi(port)
    if err is not None or not 1 <= number <= 65535:
        raise PrometheusMergeError(f"invalid prometheus {what}: invalid {subject}port {go_quote(port)}")
    canonical = str(number)
    if canonical == target_port:
        raise PrometheusMergeError(f"invalid prometheus {what}: {subject}port {port} conflicts with agent port")
    reason = _ISTIO_RESERVED_PORTS.get(canonical)
    if reason is not None:
        raise PrometheusMergeError(
            f"invalid prometheus {what}: {subject}port {port} is reserved for Istio ({reason}) and cannot be scraped"
        )


def apply_prometheus_merge(pod: dict[str, Any], mesh_enable: bool | None, status_port: int) -> None:
    """``applyPrometheusMerge``, in place.

    ``mesh_enable`` is MeshConfig ``enablePrometheusMerge`` (None when unset) and ``status_port`` the mesh's
    default status port (the agent's merged-metrics endpoint). Raises :class:`PrometheusMergeError` for
    scrape ports Istio refuses.
    """
    if not (get_prometheus_scrape(pod) and enable_prometheus_merge(mesh_enable, _annotations(pod))):
        return
    target_port = str(status_port)
    if get_prometheus_port(pod) == target_port:
        # Already pointing at the agent: the user controls it, or this is a re-injection.
        return
    config = get_prometheus_scrape_configuration(pod)
    targets = config["targets"]
    if targets:
        # Older agents only know port and path, so they get the first target's.
        config["port"] = targets[0]["port"]
        config["path"] = targets[0]["path"]
        for target in targets:
            _check_port(target["port"], target_port, "scrape targets", "target ")
    elif config["port"] != "":
        _check_port(config["port"], target_port, "scrape configuration", "")
    sidecar = find_sidecar(pod)
    if sidecar is not None and any(config[k] for k in ("scrape", "path", "port", "targets")):
        env = list(sidecar.get("env") or [])
        env.append({"name": PROMETHEUS_ANNOTATIONS_ENV, "value": marshal_scrape_configuration(config)})
        sidecar["env"] = env
    metadata = pod.setdefault("metadata", {})
    if metadata.get("annotations") is None:
        metadata["annotations"] = {}
    clear_prometheus_annotations(pod)
    metadata["annotations"]["prometheus.io/port"] = target_port
    metadata["annotations"]["prometheus.io/path"] = "/stats/prometheus"
    metadata["annotations"]["prometheus.io/scrape"] = "true"


def apply_secure_prometheus_annotation(pod: dict[str, Any]) -> None:
    """``applySecurePrometheusAnnotation``: advertises ``ENVOY_SECURE_MERGED_METRICS_PORT`` of the sidecar as
    ``prometheus.istio.io/secure-port``, unless some spelling of that annotation is already there."""
    if any(sanitize_label_name(k) == _SECURE_PORT for k in _annotations(pod)):
        return
    sidecar = find_sidecar(pod)
    if sidecar is None:
        return
    for var in sidecar.get("env") or []:
        value = var.get("value") or ""
        if var.get("name") == "ENVOY_SECURE_MERGED_METRICS_PORT" and value not in ("", "0"):
            metadata = pod.setdefault("metadata", {})
            if metadata.get("annotations") is None:
                metadata["annotations"] = {}
            metadata["annotations"]["prometheus.istio.io/secure-port"] = value
            return
