"""Istio's injection policy, rule by rule, with the reason the decision reports."""

from __future__ import annotations

from typing import Any

import pytest

from meshinject.inject.decide import decide, selector_matches


def pod(labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"labels": labels or {}, "annotations": annotations or {}}, "spec": spec}


def test_host_network_pods_are_never_injected() -> None:
    d = decide(pod(labels={"sidecar.istio.io/inject": "true"}, hostNetwork=True), namespace="app")
    assert (d.inject, d.rule) == (False, "host-network")


def test_ignored_system_namespaces_are_skipped() -> None:
    d = decide(pod(), namespace="kube-system", ignored_namespaces=["kube-system"])
    assert (d.inject, d.rule) == (False, "ignored-namespace")


@pytest.mark.parametrize("value", ["true", "TRUE", "yes", "y", "on"])
def test_label_true_words_inject_even_when_policy_is_disabled(value: str) -> None:
    d = decide(pod(labels={"sidecar.istio.io/inject": value}), namespace="app", policy="disabled")
    assert (d.inject, d.rule) == (True, "pod-label")


def test_label_wins_over_annotation() -> None:
    d = decide(
        pod(labels={"sidecar.istio.io/inject": "false"}, annotations={"sidecar.istio.io/inject": "true"}),
        namespace="app",
    )
    assert (d.inject, d.rule) == (False, "pod-label")
    assert "sidecar.istio.io/inject=false" in d.reason


def test_annotation_is_used_when_label_is_absent() -> None:
    d = decide(pod(annotations={"sidecar.istio.io/inject": "false"}), namespace="app")
    assert (d.inject, d.rule) == (False, "pod-annotation")


def test_never_selector_beats_always_selector() -> None:
    sel = [{"matchLabels": {"team": "a"}}]
    d = decide(pod(labels={"team": "a"}), namespace="app", never_inject_selector=sel, always_inject_selector=sel)
    assert (d.inject, d.rule) == (False, "never-inject-selector")


def test_always_selector_overrides_disabled_policy() -> None:
    d = decide(
        pod(labels={"tier": "db"}),
        namespace="app",
        policy="disabled",
        always_inject_selector=[{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]}],
    )
    assert (d.inject, d.rule) == (True, "always-inject-selector")


def test_empty_selectors_are_ignored() -> None:
    d = decide(pod(labels={"x": "y"}), namespace="app", never_inject_selector=[{}])
    assert (d.inject, d.rule) == (True, "policy-enabled")


def test_disabled_policy_skips_pods_that_do_not_ask() -> None:
    d = decide(pod(), namespace="app", policy="disabled")
    assert (d.inject, d.rule) == (False, "policy-disabled")


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": ""}, False),
        ({}, {"a": "1"}, None),
    ],
)
def test_label_selectors_follow_kubernetes_semantics(
    selector: dict[str, Any], labels: dict[str, str], expected: bool | None
) -> None:
    assert selector_matches(selector, labels) is expected
