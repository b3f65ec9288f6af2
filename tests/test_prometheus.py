"""Prometheus metrics merge (meshinject.inject.prometheus).

The golden test runs the merge on every injected pod of the conformance suite with its bundle's mesh settings
and compares the Prometheus annotations with the expected output. The goldens never set scrape annotations
of their own (only ``prometheus.io/scrape: "false"`` and an already merged pod), so the
``ISTIO_PROMETHEUS_ANNOTATIONS`` JSON and the error texts are checked against Istio's ``webhook.go`` and
``status.PrometheusScrapeConfiguration``; the exact JSON strings and label-name sanitising results were
printed by Go (``encoding/json`` and Prometheus' ``[^a-zA-Z0-9_]`` replacement).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshinject.inject.prometheus import (
    PrometheusMergeError,
    apply_prometheus_merge,
    apply_secure_prometheus_annotation,
    clear_prometheus_annotations,
    enable_prometheus_merge,
    get_prometheus_port,
    get_prometheus_scrape,
    get_prometheus_scrape_configuration,
    marshal_scrape_configuration,
    parse_scrape_targets,
    sanitize_label_name,
)

ISTIO = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "istio"
needs_cases = pytest.mark.skipif(not (ISTIO / "cases.yaml").is_file(), reason="shared conformance cases absent")

ENV = "ISTIO_PROMETHEUS_ANNOTATIONS"
STATUS = "sidecar.istio.io/status"
MERGED = {
    "prometheus.io/port": "15020",
    "prometheus.io/path": "/stats/prometheus",
    "prometheus.io/scrape": "true",
}


def _pod_templates(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        return []
    kind = doc.get("kind")
    if kind == "List":
        return [p for item in doc.get("items") or [] for p in _pod_templates(item)]
    if kind == "Pod":
        return [doc]
    if kind == "CronJob":
        # kube-inject reads and writes the job template's metadata for a CronJob.
        job = doc["spec"]["jobTemplate"]
        return [{"metadata": job.get("metadata") or {}, "spec": job["spec"]["template"]["spec"]}]
    template = (doc.get("spec") or {}).get("template")
    return [template] if isinstance(template, dict) else []


def _pods(relative: str) -> list[dict[str, Any]]:
    return [p for doc in yaml.safe_load_all((ISTIO / relative).read_text()) for p in _pod_templates(doc)]


def _cases() -> list[dict[str, Any]]:
    if not (ISTIO / "cases.yaml").is_file():
        return []
    return [c for c in yaml.safe_load((ISTIO / "cases.yaml").read_text())["cases"] if c["expected"]]


def _prometheus_annotations(pod: dict[str, Any]) -> dict[str, str]:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return {k: v for k, v in annotations.items() if sanitize_label_name(k).startswith("prometheus_")}


def _env_names(pod: dict[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    return [
        var.get("name")
        for key in ("containers", "initContainers")
        for c in spec.get(key) or []
        for var in c.get("env") or []
    ]


@needs_cases
@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["id"] if isinstance(c, dict) else "")
def test_golden_prometheus_annotations(case: dict[str, Any]) -> None:
    mesh = yaml.safe_load((ISTIO / "bundles" / case["bundle"] / "mesh.yaml").read_text())
    status_port = int(mesh["defaultConfig"]["statusPort"])
    merge = mesh.get("enablePrometheusMerge")
    inputs, expected = _pods(case["input"]), _pods(case["expected"])
    assert len(inputs) == len(expected)
    for pod, want in zip(inputs, expected, strict=True):
        if STATUS not in ((want.get("metadata") or {}).get("annotations") or {}):
            continue  # not injected
        pod = copy.deepcopy(pod)
        # Post-processing sees the merged pod: the template may add annotations (custom-template turns
        # merging off with prometheus.istio.io/merge-metrics).
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {}) or {}
        for key, value in (want["metadata"].get("annotations") or {}).items():
            if key not in annotations and key not in MERGED:
                annotations[key] = value
        pod["metadata"]["annotations"] = annotations
        pod["spec"].setdefault("containers", []).append({"name": "istio-proxy"})
        apply_prometheus_merge(pod, merge if isinstance(merge, bool) else None, status_port)
        assert _prometheus_annotations(pod) == _prometheus_annotations(want)
        assert ENV not in _env_names(pod)


@needs_cases
def test_golden_scrape_false_is_left_alone() -> None:
    (pod,) = _pods("inputs/prometheus-scrape.yaml")
    (want,) = _pods("expected/prometheus-scrape.yaml.injected")
    pod["spec"]["containers"].append({"name": "istio-proxy"})
    apply_prometheus_merge(pod, True, 15020)
    assert _prometheus_annotations(pod) == _prometheus_annotations(want) == {"prometheus.io/scrape": "false"}


# ---------------------------------------------------------------------------------------------------------
# Sanitising and reading the annotations


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("prometheus.io/port", "prometheus_io_port"),
        ("prometheus-io/port", "prometheus_io_port"),
        ("prometheus.io.port", "prometheus_io_port"),
        ("Prometheus.io/Port", "Prometheus_io_Port"),
        ("prometheus.istio.io/scrape-targets", "prometheus_istio_io_scrape_targets"),
        ("prométheus.io/port", "prom_theus_io_port"),
        ("a\U0001f600b", "a_b"),
        ("", ""),
    ],
)
def test_sanitize_label_name_matches_prometheus(key: str, expected: str) -> None:
    assert sanitize_label_name(key) == expected


def _annotated(annotations: dict[str, str], *containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"annotations": dict(annotations)},
        "spec": {"containers": [{"name": "app"}, *containers]},
    }


def test_scrape_and_port_are_read_in_any_spelling() -> None:
    pod = _annotated({"prometheus-io/scrape": "maybe", "prometheus.io.scrape": "F", "prometheus-io/port": "9000"})
    assert get_prometheus_scrape(pod) is False
    assert get_prometheus_scrape(_annotated({"prometheus.io/scrape": "maybe"})) is True
    assert get_prometheus_port(pod) == "9000"
    assert get_prometheus_port(_annotated({})) is None


def test_enable_merge_annotation_then_mesh_then_default() -> None:
    key = "prometheus.istio.io/merge-metrics"
    assert enable_prometheus_merge(False, {key: "true"}) is True
    assert enable_prometheus_merge(True, {key: "0"}) is False
    assert enable_prometheus_merge(False, {key: "nope"}) is False
    assert enable_prometheus_merge(None, {key: "nope"}) is True
    assert enable_prometheus_merge(None, None) is True


def test_clear_removes_every_spelling_but_keeps_others() -> None:
    pod = _annotated(
        {
            "prometheus.io/path": "/a",
            "prometheus-io/port": "1",
            "prometheus.io.scrape": "true",
            "prometheus.istio.io/scrape-targets": "1",
            "prometheus.istio.io/secure-port": "2",
            "other": "x",
        }
    )
    clear_prometheus_annotations(pod)
    assert pod["metadata"]["annotations"] == {"prometheus.istio.io/secure-port": "2", "other": "x"}


def test_parse_scrape_targets_trims_and_defaults_path() -> None:
    assert parse_scrape_targets(" 8080:/m1 , ,9090, 7070: ") == [
        {"port": "8080", "path": "/m1"},
        {"port": "9090", "path": "/metrics"},
        {"port": "7070", "path": "/metrics"},
    ]
    with pytest.raises(ValueError, match='empty port in scrape target ":/x"'):
        parse_scrape_targets("8080, :/x")


def test_scrape_configuration_ignores_bad_targets() -> None:
    pod = _annotated({"prometheus.io/port": "1", "prometheus.istio.io/scrape-targets": ":x"})
    assert get_prometheus_scrape_configuration(pod) == {"scrape": "", "path": "", "port": "1", "targets": []}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"scrape": "true", "path": "/metrics", "port": "8080"},
            '{"scrape":"true","path":"/metrics","port":"8080"}',
        ),
        ({"port": "9090"}, '{"scrape":"","path":"","port":"9090"}'),
        (
            {"scrape": "true", "path": "/a<b>&c", "port": "8080"},
            '{"scrape":"true","path":"/a\\u003cb\\u003e\\u0026c","port":"8080"}',
        ),
        (
            {
                "scrape": "true",
                "path": "/m1",
                "port": "8080",
                "targets": [{"port": "8080", "path": "/m1"}, {"port": "9090", "path": "/metrics"}],
            },
            '{"scrape":"true","path":"/m1","port":"8080",'
            '"targets":[{"port":"8080","path":"/m1"},{"port":"9090","path":"/metrics"}]}',
        ),
    ],
)
def test_scrape_configuration_json_matches_go(config: dict[str, Any], expected: str) -> None:
    assert marshal_scrape_configuration(config) == expected


# ---------------------------------------------------------------------------------------------------------
# applyPrometheusMerge


def _env(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return pod["spec"]["containers"][-1].get("env") or []


def test_merge_moves_user_annotations_into_sidecar_env() -> None:
    pod = _annotated(
        {"prometheus.io/scrape": "true", "prometheus-io/port": "8080", "prometheus.io/path": "/m", "x": "y"},
        {"name": "istio-proxy", "env": [{"name": "A", "value": "1"}]},
    )
    apply_prometheus_merge(pod, None, 15020)
    assert pod["metadata"]["annotations"] == {"x": "y", **MERGED}
    assert _env(pod) == [
        {"name": "A", "value": "1"},
        {"name": ENV, "value": '{"scrape":"true","path":"/m","port":"8080"}'},
    ]


def test_merge_without_user_annotations_adds_no_env() -> None:
    pod = _annotated({}, {"name": "istio-proxy"})
    apply_prometheus_merge(pod, True, 15020)
    assert pod["metadata"]["annotations"] == MERGED
    assert _env(pod) == []


def test_merge_creates_annotations_and_works_without_sidecar() -> None:
    pod: dict[str, Any] = {"spec": {"containers": [{"name": "app"}]}}
    apply_prometheus_merge(pod, None, 15020)
    assert pod["metadata"]["annotations"] == MERGED


def test_merge_finds_native_sidecar_in_init_containers() -> None:
    pod = _annotated({"prometheus.io/port": "9000"})
    pod["spec"]["initContainers"] = [{"name": "istio-proxy"}]
    apply_prometheus_merge(pod, None, 15090)
    assert pod["spec"]["initContainers"][0]["env"] == [{"name": ENV, "value": '{"scrape":"","path":"","port":"9000"}'}]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "15090"


def test_merge_uses_first_scrape_target_for_legacy_port_and_path() -> None:
    pod = _annotated(
        {"prometheus.io/port": "1234", "prometheus.istio.io/scrape-targets": "8080:/m1,9090"},
        {"name": "istio-proxy"},
    )
    apply_prometheus_merge(pod, None, 15020)
    assert _env(pod) == [
        {
            "name": ENV,
            "value": '{"scrape":"","path":"/m1","port":"8080",'
            '"targets":[{"port":"8080","path":"/m1"},{"port":"9090","path":"/metrics"}]}',
        }
    ]
    assert pod["metadata"]["annotations"] == MERGED


@pytest.mark.parametrize(
    ("annotations", "mesh"),
    [
        ({"prometheus.io/scrape": "false", "prometheus.io/port": "8080"}, None),
        ({"prometheus.io/port": "8080"}, False),
        ({"prometheus.io/port": "8080", "prometheus.istio.io/merge-metrics": "false"}, True),
        # Already pointing at the agent (re-injection or user control).
        ({"prometheus-io/port": "15020", "prometheus.io/path": "/custom"}, None),
    ],
)
def test_merge_leaves_pod_alone(annotations: dict[str, str], mesh: bool | None) -> None:
    pod = _annotated(annotations, {"name": "istio-proxy"})
    before = copy.deepcopy(pod)
    apply_prometheus_merge(pod, mesh, 15020)
    assert pod == before


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({"prometheus.io/port": "http"}, 'invalid prometheus scrape configuration: invalid port "http"'),
        ({"prometheus.io/port": "0"}, 'invalid prometheus scrape configuration: invalid port "0"'),
        (
            {"prometheus.io/port": "+15020"},
            "invalid prometheus scrape configuration: port +15020 conflicts with agent port",
        ),
        (
            {"prometheus.io/port": "15090"},
            "invalid prometheus scrape configuration: port 15090 is reserved for Istio "
            "(Envoy Prometheus (already merged)) and cannot be scraped",
        ),
        (
            {"prometheus.istio.io/scrape-targets": "8080,70000:/x"},
            'invalid prometheus scrape targets: invalid target port "70000"',
        ),
        (
            {"prometheus.istio.io/scrape-targets": "015020"},
            "invalid prometheus scrape targets: target port 015020 conflicts with agent port",
        ),
        (
            {"prometheus.istio.io/scrape-targets": "15000:/stats"},
            "invalid prometheus scrape targets: target port 15000 is reserved for Istio (Envoy admin) "
            "and cannot be scraped",
        ),
    ],
)
def test_merge_rejects_ports_istio_refuses(annotations: dict[str, str], message: str) -> None:
    pod = _annotated(annotations, {"name": "istio-proxy"})
    with pytest.raises(PrometheusMergeError) as info:
        apply_prometheus_merge(pod, None, 15020)
    assert str(info.value) == message


def test_reserved_port_check_uses_the_canonical_number() -> None:
    pod = _annotated({"prometheus.io/port": "015021"}, {"name": "istio-proxy"})
    with pytest.raises(PrometheusMergeError, match=r"port 015021 is reserved for Istio \(Envoy health\)"):
        apply_prometheus_merge(pod, None, 15020)


# ---------------------------------------------------------------------------------------------------------
# applySecurePrometheusAnnotation


def test_secure_port_annotation_from_sidecar_env() -> None:
    pod = _annotated(
        {}, {"name": "istio-proxy", "env": [{"name": "ENVOY_SECURE_MERGED_METRICS_PORT", "value": "15091"}]}
    )
    apply_secure_prometheus_annotation(pod)
    assert pod["metadata"]["annotations"] == {"prometheus.istio.io/secure-port": "15091"}


@pytest.mark.parametrize(
    ("annotations", "value"),
    [({}, "0"), ({}, ""), ({"prometheus-istio-io/secure-port": "1"}, "15091")],
)
def test_secure_port_annotation_not_added(annotations: dict[str, str], value: str) -> None:
    pod = _annotated(
        annotations,
        {"name": "istio-proxy", "env": [{"name": "ENVOY_SECURE_MERGED_METRICS_PORT", "value": value}]},
    )
    before = copy.deepcopy(pod)
    apply_secure_prometheus_annotation(pod)
    assert pod == before
