"""``meshinject check-inject``: would this pod be injected, by which webhook, and why, selector by selector.

For each injection webhook of the cluster the namespaceSelector is evaluated against the namespace's labels and
the objectSelector against the pod's labels, requirement by requirement, as the API server does when it decides
which mutating webhooks to call. For the revisions whose webhooks would be called, the injector's own decision
follows (:func:`meshinject.inject.decide.decide` with the policy and selectors of the revision's ConfigMap, or
policy ``enabled`` when it cannot be read). Two webhooks called for one pod is an error: the pod would be
injected twice (or by the wrong revision).

The target is a pod, a workload's pod template (``deployment/NAME`` and the like), or a would-be pod given by its
labels (``-l app=web,version=v1``, as ``istioctl x check-inject -l`` reads them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from lightkube import Client

from meshinject.inject.config import DEFAULT_IGNORED_NAMESPACES
from meshinject.inject.decide import Decision, decide

from .client import ClusterError, api_call
from .status import RevisionInjector, SidecarInfo, pod_revision, sidecar_info
from .webhooks import DEFAULT_REVISION, InjectionWebhook, WebhookMatch, effective_namespace_labels, evaluate

__all__ = [
    "WORKLOAD_KINDS",
    "CheckResult",
    "Target",
    "TargetError",
    "check_inject",
    "load_target",
    "parse_label_pairs",
    "parse_reference",
    "target_from_labels",
    "target_from_pod",
    "target_from_workload",
]

STATUS_ANNOTATION: Final = "sidecar.istio.io/status"

#: accepted spellings of ``KIND/NAME`` -> the kind
WORKLOAD_KINDS: Final[Mapping[str, str]] = {
    "pod": "Pod",
    "pods": "Pod",
    "po": "Pod",
    "deployment": "Deployment",
    "deployments": "Deployment",
    "deploy": "Deployment",
    "deployment.apps": "Deployment",
    "statefulset": "StatefulSet",
    "statefulsets": "StatefulSet",
    "sts": "StatefulSet",
    "statefulset.apps": "StatefulSet",
    "daemonset": "DaemonSet",
    "daemonsets": "DaemonSet",
    "ds": "DaemonSet",
    "daemonset.apps": "DaemonSet",
    "replicaset": "ReplicaSet",
    "replicasets": "ReplicaSet",
    "rs": "ReplicaSet",
    "replicaset.apps": "ReplicaSet",
}


class TargetError(ValueError):
    """The command line does not name a usable target (exit 2)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What is checked: a pod as the injector would see it at creation (metadata + spec)."""

    kind: str
    name: str
    namespace: str
    #: ``{"metadata": {...}, "spec": {...}}``
    pod: Mapping[str, Any]
    #: the sidecar a live pod has now (None for templates and label sets)
    sidecar: SidecarInfo | None = None
    revision: str | None = None

    @property
    def labels(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in ((self.pod.get("metadata") or {}).get("labels") or {}).items()}

    @property
    def description(self) -> str:
        if self.kind == "Labels":
            shown = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items())) or "(no labels)"
            return f"a pod labelled {shown} in namespace {self.namespace}"
        return f"{self.kind} {self.namespace}/{self.name}"


def parse_reference(reference: str) -> tuple[str, str]:
    """``NAME`` or ``KIND/NAME`` -> (kind, name); the kind is one of :data:`WORKLOAD_KINDS`' values."""
    if "/" not in reference:
        if not reference:
            raise TargetError("no pod named: pass POD, KIND/NAME (deployment/web) or -l LABELS")
        return "Pod", reference
    kind, _, name = reference.partition("/")
    resolved = WORKLOAD_KINDS.get(kind.lower())
    if resolved is None:
        raise TargetError(
            f"{reference}: kind {kind!r} is not one of pod, deployment, statefulset, daemonset, replicaset"
        )
    if not name or "/" in name:
        raise TargetError(f"{reference}: expected KIND/NAME")
    return resolved, name


def parse_label_pairs(text: str) -> dict[str, str]:
    """``a=b,c=d`` (``==`` accepted) -> labels; anything else is a usage error."""
    labels: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part or "=" not in part:
            raise TargetError(
                f"-l {text!r}: {part!r} is not KEY=VALUE (only equality labels describe a pod; "
                "set-based selectors like `in`, `!=` or `!key` do not)"
            )
        key, _, value = part.partition("==") if "==" in part else part.partition("=")
        key, value = key.strip(), value.strip()
        if not key:
            raise TargetError(f"-l {text!r}: {part!r} has no key")
        labels[key] = value
    return labels


def target_from_pod(pod: Mapping[str, Any]) -> Target:
    meta = pod.get("metadata") or {}
    sidecar = sidecar_info(pod)
    return Target(
        kind="Pod",
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
        pod={"metadata": dict(meta), "spec": dict(pod.get("spec") or {})},
        sidecar=sidecar,
        revision=pod_revision(pod) if sidecar.present else None,
    )


def target_from_workload(workload: Mapping[str, Any], kind: str) -> Target:
    """A workload's pod template, as the pods it creates will look to the webhook (namespace: the workload's)."""
    meta = workload.get("metadata") or {}
    template = (workload.get("spec") or {}).get("template") or {}
    template_meta = dict(template.get("metadata") or {})
    namespace = str(meta.get("namespace") or "")
    template_meta.setdefault("namespace", namespace)
    return Target(
        kind=kind,
        name=str(meta.get("name") or ""),
        namespace=namespace,
        pod={"metadata": template_meta, "spec": dict(template.get("spec") or {})},
    )


def target_from_labels(namespace: str, labels: Mapping[str, str]) -> Target:
    return Target(
        kind="Labels",
        name="",
        namespace=namespace,
        pod={"metadata": {"namespace": namespace, "labels": dict(labels)}, "spec": {}},
    )


@dataclass(frozen=True, slots=True)
class InjectorDecision:
    revision: str
    injector: RevisionInjector
    decision: Decision


@dataclass(frozen=True, slots=True)
class CheckResult:
    target: Target
    namespace_labels: dict[str, str]
    #: every injection webhook, evaluated, in the API server's calling order
    matches: tuple[WebhookMatch, ...]
    #: the injector's decision for each revision whose webhook would be called
    decisions: tuple[InjectorDecision, ...]

    @property
    def called(self) -> list[WebhookMatch]:
        """The webhooks the API server would call for the pod (deactivated ones never match)."""
        return [m for m in self.matches if m.matches and not m.webhook.deactivated]

    @property
    def injecting(self) -> list[WebhookMatch]:
        """Called webhooks whose revision's injector would inject the pod."""
        yes = {d.revision for d in self.decisions if d.decision.inject}
        return [m for m in self.called if (m.webhook.revision or DEFAULT_REVISION) in yes]

    @property
    def conflict(self) -> bool:
        """Two webhooks would be called: the pod is exposed to two injections (or the wrong revision's)."""
        return len(self.called) > 1

    @property
    def revision(self) -> str | None:
        """The revision that injects the pod (the first webhook called, as the API server calls them in order)."""
        injecting = self.injecting
        if not injecting:
            return None
        return injecting[0].webhook.revision or DEFAULT_REVISION

    def summary(self) -> str:
        called = self.called
        if self.conflict:
            names = ", ".join(f"{m.webhook.config_name}/{m.webhook.webhook_name}" for m in called)
            return f"ERROR: {len(called)} webhooks would inject {self.target.description}: {names}"
        if not called:
            return f"{self.target.description} would not be injected: no injection webhook selects it"
        webhook = called[0].webhook
        via = f"{webhook.config_name}/{webhook.webhook_name}"
        decision = self.decisions[0].decision if self.decisions else None
        if decision is not None and not decision.inject:
            return f"{self.target.description} would not be injected: webhook {via} is called, but {decision.reason}"
        tag = f" (through tag {webhook.tag})" if webhook.tag else ""
        return f"{self.target.description} would be injected by revision {self.revision}{tag} (webhook {via})"

    def restart_note(self) -> str | None:
        """For a live pod whose sidecar differs from what it would get now: what a restart changes."""
        sidecar = self.target.sidecar
        if sidecar is None:
            return None
        revision = self.revision
        if not sidecar.present:
            return f"it has no sidecar now: a restart gives it revision {revision}'s" if revision else None
        current = self.target.revision
        injected = STATUS_ANNOTATION in ((self.target.pod.get("metadata") or {}).get("annotations") or {})
        if revision is None:
            return f"it runs revision {current}'s sidecar now: a restart removes it" if injected else None
        if current is not None and current != revision:
            return f"it runs revision {current}'s sidecar now: a restart moves it to revision {revision}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": {
                "kind": self.target.kind,
                "name": self.target.name or None,
                "namespace": self.target.namespace,
                "labels": self.target.labels,
                "sidecar": None if self.target.sidecar is None else self.target.sidecar.present,
                "sidecarMode": None if self.target.sidecar is None else self.target.sidecar.mode,
                "revision": self.target.revision,
            },
            "namespaceLabels": self.namespace_labels,
            "webhooks": [
                {
                    "configuration": m.webhook.config_name,
                    "webhook": m.webhook.webhook_name,
                    "revision": m.webhook.revision,
                    "tag": m.webhook.tag,
                    "deactivated": m.webhook.deactivated,
                    "called": m.matches and not m.webhook.deactivated,
                    "namespaceSelector": {
                        "matches": m.namespace_matches,
                        "requirements": [
                            {"requirement": r.requirement, "satisfied": r.satisfied, "actual": r.actual}
                            for r in m.namespace_requirements
                        ],
                    },
                    "objectSelector": {
                        "matches": m.object_matches,
                        "requirements": [
                            {"requirement": r.requirement, "satisfied": r.satisfied, "actual": r.actual}
                            for r in m.object_requirements
                        ],
                    },
                    "reason": m.reason(),
                    "celUnchecked": m.cel_unchecked,
                }
                for m in self.matches
            ],
            "injector": [
                {
                    "revision": d.revision,
                    "policy": d.injector.policy,
                    "source": d.injector.source,
                    "inject": d.decision.inject,
                    "rule": d.decision.rule,
                    "reason": d.decision.reason,
                }
                for d in self.decisions
            ],
            "inject": self.revision is not None,
            "revision": self.revision,
            "conflict": self.conflict,
            "summary": self.summary(),
            "restartNote": self.restart_note(),
        }


def check_inject(
    target: Target,
    namespace_labels: Mapping[str, str] | None,
    webhooks: Sequence[InjectionWebhook],
    injectors: Mapping[str, RevisionInjector] | None = None,
    *,
    ignored_namespaces: Iterable[str] = DEFAULT_IGNORED_NAMESPACES,
) -> CheckResult:
    """Evaluate every webhook for the target, then the injector of each revision that would be called."""
    labels = effective_namespace_labels(target.namespace, namespace_labels)
    matches = tuple(evaluate(wh, target.namespace, labels, target.labels) for wh in webhooks)
    decisions: list[InjectorDecision] = []
    seen: set[str] = set()
    for match in matches:
        if not match.matches or match.webhook.deactivated:
            continue
        revision = match.webhook.revision or DEFAULT_REVISION
        if revision in seen:
            continue
        seen.add(revision)
        injector = (injectors or {}).get(revision) or RevisionInjector(
            revision, source="injector ConfigMap not read: policy assumed enabled"
        )
        decision = decide(
            target.pod,
            namespace=target.namespace,
            policy=injector.policy,
            never_inject_selector=injector.never_inject_selector,
            always_inject_selector=injector.always_inject_selector,
            ignored_namespaces=ignored_namespaces,
        )
        decisions.append(InjectorDecision(revision, injector, decision))
    return CheckResult(target=target, namespace_labels=labels, matches=matches, decisions=tuple(decisions))


def load_target(client: Client, kind: str, name: str, namespace: str) -> Target:
    """Read the pod or workload named on the command line; ClusterError when it does not exist."""
    from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
    from lightkube.resources.core_v1 import Pod

    resources: dict[str, Any] = {
        "Pod": Pod,
        "Deployment": Deployment,
        "StatefulSet": StatefulSet,
        "DaemonSet": DaemonSet,
        "ReplicaSet": ReplicaSet,
    }
    resource = resources[kind]
    plural = kind.lower() + "s"
    try:
        with api_call("get", plural, namespace=namespace, name=name):
            obj = client.get(resource, name, namespace=namespace)
    except ClusterError as err:
        if err.not_found:
            raise ClusterError(f"{kind.lower()} {name!r} not found in namespace {namespace!r}", code=404) from None
        raise
    data: dict[str, Any] = obj.to_dict()
    return target_from_pod(data) if kind == "Pod" else target_from_workload(data, kind)
