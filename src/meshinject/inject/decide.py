"""Whether a pod gets a sidecar, and why: Istio's injection policy as a pure function.

The order of the rules is Istio's: host networking, ignored system namespaces, the ``sidecar.istio.io/inject``
label (or, when the label is absent, the annotation of the same name), ``neverInjectSelector``,
``alwaysInjectSelector``, then the configured policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

INJECT_KEY = "sidecar.istio.io/inject"

# Istio reads the inject label/annotation as a YAML 1.1 boolean.
_TRUE_WORDS = frozenset({"y", "yes", "true", "on"})


@dataclass(frozen=True, slots=True)
class Decision:
    """The injection decision and a reason a person can act on (logged by the webhook, shown by check-inject)."""

    inject: bool
    reason: str
    #: short machine-readable cause: host-network, ignored-namespace, pod-label, pod-annotation,
    #: never-inject-selector, always-inject-selector, policy-enabled, policy-disabled
    rule: str


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool | None:
    """Evaluate a Kubernetes LabelSelector; ``None`` for an empty selector (which Istio ignores)."""
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return None
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    for expr in expressions:
        key = expr.get("key", "")
        op = expr.get("operator", "")
        values = expr.get("values") or []
        present = key in labels
        if op == "In":
            if not present or labels[key] not in values:
                return False
        elif op == "NotIn":
            if present and labels[key] in values:
                return False
        elif op == "Exists":
            if not present:
                return False
        elif op == "DoesNotExist":
            if present:
                return False
        else:
            raise ValueError(f"label selector operator {op!r} is not one of In, NotIn, Exists, DoesNotExist")
    return True


def _first_match(selectors: Iterable[Mapping[str, Any]], labels: Mapping[str, str]) -> int | None:
    for i, sel in enumerate(selectors):
        try:
            if selector_matches(sel, labels):
                return i
        except ValueError:
            continue  # Istio logs an invalid selector and ignores it.
    return None


def decide(
    pod: Mapping[str, Any],
    *,
    namespace: str,
    policy: str = "enabled",
    never_inject_selector: Iterable[Mapping[str, Any]] = (),
    always_inject_selector: Iterable[Mapping[str, Any]] = (),
    ignored_namespaces: Iterable[str] = (),
) -> Decision:
    """Istio's ``injectRequired`` for a pod in its JSON form, with the reason for the outcome."""
    spec = pod.get("spec") or {}
    meta = pod.get("metadata") or {}
    if spec.get("hostNetwork"):
        return Decision(False, "pod uses host networking (spec.hostNetwork: true)", "host-network")
    if namespace in set(ignored_namespaces):
        return Decision(
            False, f"namespace {namespace!r} is a system namespace the injector ignores", "ignored-namespace"
        )
    labels: Mapping[str, str] = meta.get("labels") or {}
    annotations: Mapping[str, str] = meta.get("annotations") or {}
    source = ""
    value = annotations.get(INJECT_KEY, "")
    if value != "" or INJECT_KEY in annotations:
        source = "annotation"
    if INJECT_KEY in labels:
        value = labels[INJECT_KEY]  # The label is the newer API and wins over the annotation.
        source = "label"
    word = str(value).lower()
    if word != "":
        inject = word in _TRUE_WORDS
        verb = "requests" if inject else "disables"
        return Decision(inject, f"pod {source} {INJECT_KEY}={value!s} {verb} injection", f"pod-{source}")
    never = _first_match(never_inject_selector, labels)
    if never is not None:
        return Decision(False, f"pod labels match neverInjectSelector[{never}]", "never-inject-selector")
    always = _first_match(always_inject_selector, labels)
    if always is not None:
        return Decision(True, f"pod labels match alwaysInjectSelector[{always}]", "always-inject-selector")
    if policy == "enabled":
        return Decision(True, "injection policy is enabled and nothing on the pod opts out", "policy-enabled")
    if policy == "disabled":
        return Decision(
            False,
            f"injection policy is disabled and the pod does not set {INJECT_KEY}=true",
            "policy-disabled",
        )
    return Decision(False, f"injection policy {policy!r} is invalid (must be enabled or disabled)", "policy-invalid")
