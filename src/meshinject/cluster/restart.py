"""``meshinject restart``: re-create pods so that they get the sidecar their namespace selects now.

A sidecar is injected when a pod is created, so moving a namespace to another revision (or upgrading the control
plane) changes nothing until the pods are re-created. How a pod can be re-created safely depends on what owns it:

* Deployments, StatefulSets and DaemonSets with a rolling update strategy: ``kubectl rollout restart`` (a new
  ``kubectl.kubernetes.io/restartedAt`` annotation in the pod template), then wait for the rollout;
* StatefulSets and DaemonSets with ``updateStrategy: OnDelete``, ReplicaSets without a Deployment,
  ReplicationControllers and controllers of other kinds: delete the pods one at a time, waiting each time until
  the controller's replacement is ready;
* Job pods: a deleted pod kills the work in progress, so they are only reported unless asked for;
* bare pods: nothing re-creates them, so they are only re-created on request, from a saved manifest.

Planning (:func:`plan_restart`) is a pure function over objects listed from the cluster (:class:`Inventory`, in
Kubernetes JSON form), so it can be tested on hand-made objects; :func:`collect_inventory` lists them and
:func:`execute_plan` carries the plan out. :func:`run_restart` is the whole command.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from lightkube import Client
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table

from meshinject.inject.config import DEFAULT_IGNORED_NAMESPACES

from .client import ClusterError, api_call, prepare_decoders
from .status import (
    RevisionInjector,
    expected_injection,
    injector_from_configmaps,
    pod_revision,
    revision_by_labels,
    sidecar_drift,
    sidecar_info,
)
from .webhooks import DEFAULT_REVISION, InjectionWebhook, parse_webhook_configurations, selector_matches_all

__all__ = [
    "Action",
    "Inventory",
    "Outcome",
    "Plan",
    "PlanItem",
    "PlanOptions",
    "PodCheck",
    "RolloutState",
    "check_pod",
    "clean_pod_manifest",
    "collect_inventory",
    "daemonset_rollout",
    "deployment_rollout",
    "execute_plan",
    "parse_duration",
    "plan_restart",
    "prepare_decoders",
    "restarted_at",
    "run_restart",
    "statefulset_rollout",
]

RESTARTED_AT: Final = "kubectl.kubernetes.io/restartedAt"
STATUS_ANNOTATION: Final = "sidecar.istio.io/status"
DEFAULT_TIMEOUT: Final = 300.0


DEPLOYMENT: Final = "Deployment"
STATEFULSET: Final = "StatefulSet"
DAEMONSET: Final = "DaemonSet"
REPLICASET: Final = "ReplicaSet"
REPLICATION_CONTROLLER: Final = "ReplicationController"
JOB: Final = "Job"
CRONJOB: Final = "CronJob"
POD: Final = "Pod"
NODE: Final = "Node"

# Table order: the workloads people think of first, bare pods last.
_KIND_ORDER: Final = (DEPLOYMENT, STATEFULSET, DAEMONSET, REPLICASET, REPLICATION_CONTROLLER, JOB)


class Action:
    """What happens to a workload (the ``action`` column)."""

    ROLLOUT: Final = "rollout-restart"
    DELETE_ONE_BY_ONE: Final = "delete-pods-one-by-one"
    DELETE: Final = "delete-pods"
    RECREATE: Final = "recreate-pod"
    SKIP: Final = "skip"
    #: would need restarting but cannot be (a paused Deployment): counts as a failure
    BLOCKED: Final = "blocked"

    EXECUTABLE: Final = (ROLLOUT, DELETE_ONE_BY_ONE, DELETE, RECREATE)


# -- small helpers ----------------------------------------------------------------------------------------------


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("metadata")
    return value if isinstance(value, Mapping) else {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, Mapping) else {}


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, Mapping) else {}


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (_meta(obj).get("labels") or {}).items()}


def _annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (_meta(obj).get("annotations") or {}).items()}


def _name(obj: Mapping[str, Any]) -> str:
    return str(_meta(obj).get("name") or "")


def _namespace(obj: Mapping[str, Any]) -> str:
    return str(_meta(obj).get("namespace") or "")


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def controller_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The owner reference with ``controller: true``: the object that re-creates this one."""
    for ref in _meta(obj).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller"):
            return ref
    return None


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration as kubectl's flags take it (Go syntax: ``90s``, ``5m``, ``1h30m``); a bare number is
    seconds. Raises ValueError for anything else or a duration that is not positive."""
    value = text.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        seconds = float(value)
    else:
        pos, seconds = 0, 0.0
        for match in _DURATION_PART.finditer(value):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value) or not value:
            raise ValueError(f"invalid duration {text!r} (examples: 90s, 5m, 1h30m)")
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    """``5m``, ``1m30s``, ``2.5s``: short, the way the durations are given."""
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{rest}s" if rest else "")
    return text or "0s"


def restarted_at(now: datetime.datetime | None = None) -> str:
    """The value ``kubectl rollout restart`` writes: the local time in RFC 3339 (Go's ``time.RFC3339``), which
    spells a zero UTC offset ``Z``."""
    moment = now if now is not None and now.tzinfo is not None else (now or datetime.datetime.now()).astimezone()
    offset = moment.utcoffset() or datetime.timedelta(0)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if not offset:
        return base + "Z"
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{base}{sign}{hours:02d}:{minutes:02d}"


# -- is a pod's sidecar what the cluster would inject now ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodCheck:
    """Whether a pod's sidecar is what the cluster would inject now."""

    pod: str
    outdated: bool
    reason: str
    #: the revision the pod's sidecar came from (None: no sidecar, or not recorded)
    revision: str | None = None
    #: the revision the pod's namespace and labels select now (None: none)
    expected: str | None = None


def check_pod(
    pod: Mapping[str, Any],
    namespace: Mapping[str, Any],
    *,
    webhooks: Sequence[InjectionWebhook] | None = None,
    injectors: Mapping[str, RevisionInjector] | None = None,
    template: Mapping[str, Any] | None = None,
    ignored_namespaces: Iterable[str] = DEFAULT_IGNORED_NAMESPACES,
) -> PodCheck:
    """Compare a pod's sidecar with what its namespace and labels select now (``meshinject status``'s verdict).

    Outdated: NOT INJECTED or NEEDS RESTART in ``meshinject status`` (:func:`status.sidecar_drift`), unless the
    sidecar is part of ``template``, the pod template of the pod's controller (``istioctl kube-inject``): then
    it comes back on every restart and is never outdated. ``webhooks=None``: the webhook configurations could
    not be read, and Istio's label conventions stand in for them.
    """
    name = _name(pod)
    sidecar = sidecar_info(pod)
    actual = pod_revision(pod) if sidecar.present else None
    if sidecar.present and template is not None and STATUS_ANNOTATION in _annotations(template):
        return PodCheck(name, False, "the sidecar is part of the workload's pod template (kube-inject)", actual)
    expectation = expected_injection(
        pod,
        _name(namespace) or _namespace(pod),
        _labels(namespace),
        webhooks,
        injectors,
        ignored_namespaces=ignored_namespaces,
    )
    drift = sidecar_drift(pod, expectation, injectors)
    if drift is not None:
        return PodCheck(name, True, drift[1], actual, expectation.selected)
    if not sidecar.present:
        return PodCheck(name, False, f"not injected: {expectation.reason()}", None, expectation.selected)
    return PodCheck(
        name, False, f"sidecar of revision {actual or expectation.revision} is current", actual, expectation.selected
    )


# -- the plan ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Inventory:
    """Everything planning reads, as listed from the cluster (Kubernetes JSON form)."""

    #: name -> Namespace object, for every namespace being restarted
    namespaces: Mapping[str, Mapping[str, Any]]
    pods: Sequence[Mapping[str, Any]]
    #: (kind, namespace, name) -> object, for ReplicaSets, Deployments, StatefulSets, DaemonSets, Jobs, CronJobs,
    #: ReplicationControllers that own the pods
    workloads: Mapping[tuple[str, str, str], Mapping[str, Any]] = field(default_factory=dict)
    #: the cluster's injection webhooks; None when they could not be read (label conventions stand in)
    webhooks: Sequence[InjectionWebhook] | None = None
    #: each revision's injector (policy, selectors, proxy image), as far as its ConfigMaps could be read
    injectors: Mapping[str, RevisionInjector] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    only_outdated: bool = False
    recreate_bare_pods: bool = False
    include_jobs: bool = False


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One workload and what is done to it."""

    namespace: str
    kind: str
    name: str
    action: str
    reason: str
    #: pods the action re-creates, in the order it does so (a rollout: every pod of the workload)
    pods: tuple[str, ...]
    #: the controllers above it, top first: (("CronJob", "nightly"),) for a Job of a CronJob
    owners: tuple[tuple[str, str], ...] = ()
    #: the workload object (None for a controller of a kind that is not listed, or one that is gone)
    obj: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    #: per pod: why it is (or is not) outdated, with --only-outdated
    checks: tuple[PodCheck, ...] = ()

    @property
    def workload(self) -> str:
        return f"{self.kind.lower()}/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.workload} in {self.namespace}"

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "namespace": self.namespace,
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "reason": self.reason,
            "pods": list(self.pods),
        }
        if self.owners:
            result["owners"] = [{"kind": k, "name": n} for k, n in self.owners]
        if self.checks:
            result["podChecks"] = [
                {
                    "pod": c.pod,
                    "outdated": c.outdated,
                    "reason": c.reason,
                    "revision": c.revision,
                    "expected": c.expected,
                }
                for c in self.checks
            ]
        return result


@dataclass(slots=True)
class Plan:
    items: list[PlanItem]
    namespaces: list[str]
    #: workloads left out because every pod is current (with --only-outdated)
    up_to_date: list[str] = field(default_factory=list)

    def executable(self) -> list[PlanItem]:
        return [item for item in self.items if item.action in Action.EXECUTABLE]

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespaces": self.namespaces,
            "workloads": [item.to_dict() for item in self.items],
            "upToDate": self.up_to_date,
        }


@dataclass(slots=True)
class _Group:
    namespace: str
    kind: str
    name: str
    owners: tuple[tuple[str, str], ...]
    obj: Mapping[str, Any] | None
    pods: list[Mapping[str, Any]] = field(default_factory=list)


def _live(pod: Mapping[str, Any]) -> bool:
    """Neither finished nor on its way out: only such pods are restarted."""
    if _meta(pod).get("deletionTimestamp"):
        return False
    return _status(pod).get("phase") not in ("Succeeded", "Failed")


def _template(obj: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if obj is None:
        return None
    spec = _spec(obj)
    if "jobTemplate" in spec:
        spec = _spec(spec["jobTemplate"])
    template = spec.get("template")
    return template if isinstance(template, Mapping) else None


def _group_of(pod: Mapping[str, Any], workloads: Mapping[tuple[str, str, str], Mapping[str, Any]]) -> _Group:
    """The controller that re-creates the pod, and the controllers above it."""
    ns = _namespace(pod)
    ref = controller_ref(pod)
    if ref is None:
        return _Group(ns, POD, _name(pod), (), pod)
    kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
    obj = workloads.get((kind, ns, name))
    if kind == REPLICASET and obj is not None:
        parent = controller_ref(obj)
        if parent is not None and parent.get("kind") == DEPLOYMENT:
            deployment = workloads.get((DEPLOYMENT, ns, str(parent.get("name"))))
            if deployment is not None:
                return _Group(ns, DEPLOYMENT, _name(deployment), (), deployment)
        if parent is not None:
            # A ReplicaSet of another controller (an Argo Rollout, ...): it still re-creates deleted pods.
            return _Group(ns, REPLICASET, name, ((str(parent.get("kind")), str(parent.get("name"))),), obj)
    if kind == JOB and obj is not None:
        parent = controller_ref(obj)
        if parent is not None:
            return _Group(ns, JOB, name, ((str(parent.get("kind")), str(parent.get("name"))),), obj)
    return _Group(ns, kind, name, (), obj)


def _ordinal(pod_name: str) -> int:
    match = re.search(r"-(\d+)$", pod_name)
    return int(match.group(1)) if match else -1


def _strategy(group: _Group) -> str:
    spec = _spec(group.obj or {})
    return str((spec.get("updateStrategy") or {}).get("type") or "RollingUpdate")


def _action(group: _Group, options: PlanOptions) -> tuple[str, str]:
    """(action, why) for a group of pods."""
    kind = group.kind
    if kind == DEPLOYMENT:
        if _spec(group.obj or {}).get("paused"):
            return Action.BLOCKED, "the Deployment is paused: resume it first (kubectl rollout resume)"
        return Action.ROLLOUT, "rolling update of the Deployment"
    if kind in (STATEFULSET, DAEMONSET):
        if group.obj is not None and _strategy(group) == "OnDelete":
            return Action.DELETE_ONE_BY_ONE, f"updateStrategy OnDelete: the {kind} re-creates each deleted pod"
        if group.obj is not None:
            partition = _int(
                ((_spec(group.obj).get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition")
            )
            note = f" (partition {partition}: pods with a lower ordinal keep their sidecar)" if partition else ""
            return Action.ROLLOUT, f"rolling update of the {kind}{note}"
        return Action.DELETE_ONE_BY_ONE, f"the {kind} re-creates each deleted pod"
    if kind == JOB:
        if options.include_jobs:
            return Action.DELETE, "--include-jobs: running Job pods are killed, the Job starts replacements"
        return Action.SKIP, "Job pods are not killed while they run (use --include-jobs)"
    if kind == NODE:
        return Action.SKIP, "static pod: the kubelet of its node runs it from a file, the API cannot re-create it"
    if kind == POD:
        if options.recreate_bare_pods:
            return Action.RECREATE, "bare pod: saved to a file, deleted and created again"
        return Action.SKIP, "bare pod: nothing would re-create it (use --recreate-bare-pods)"
    return Action.DELETE_ONE_BY_ONE, f"the {kind} re-creates each deleted pod"


def plan_restart(inventory: Inventory, options: PlanOptions | None = None) -> Plan:
    """Group the live pods of the namespaces by the controller that re-creates them, and decide what to do.

    Pure: no API calls. With ``only_outdated``, a workload is planned only when some pod of it is outdated
    (:func:`check_pod`); a rollout still replaces every pod, a deletion only the outdated ones.
    """
    options = options or PlanOptions()
    groups: dict[tuple[str, str, str], _Group] = {}
    for pod in inventory.pods:
        if not _live(pod) or _namespace(pod) not in inventory.namespaces:
            continue
        group = _group_of(pod, inventory.workloads)
        key = (group.namespace, group.kind, group.name)
        groups.setdefault(key, group).pods.append(pod)

    items: list[PlanItem] = []
    up_to_date: list[str] = []

    def order(key: tuple[str, str, str]) -> tuple[str, int, str, str]:
        ns, kind, name = key
        rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER) + (kind == POD)
        return ns, rank, kind, name

    for key in sorted(groups, key=order):
        group = groups[key]
        pods = sorted(group.pods, key=_name)
        if group.kind == STATEFULSET:
            # StatefulSets replace from the highest ordinal down; doing the same keeps ordinal 0 (often the
            # primary) for last.
            pods = sorted(pods, key=lambda p: (-_ordinal(_name(p)), _name(p)))
        action, why = _action(group, options)
        checks: tuple[PodCheck, ...] = ()
        chosen = pods
        if options.only_outdated:
            template = _template(group.obj) if group.kind != POD else None
            namespace = inventory.namespaces[group.namespace]
            checks = tuple(
                check_pod(
                    p,
                    namespace,
                    webhooks=inventory.webhooks,
                    injectors=inventory.injectors,
                    template=template,
                )
                for p in pods
            )
            outdated = [p for p, c in zip(pods, checks, strict=True) if c.outdated]
            if not outdated:
                up_to_date.append(f"{group.kind.lower()}/{group.name} in {group.namespace}")
                continue
            first = next(c for c in checks if c.outdated)
            why = f"{len(outdated)}/{len(pods)} pod(s) outdated ({first.reason}); {why}"
            if action != Action.ROLLOUT:
                chosen = outdated
        items.append(
            PlanItem(
                namespace=group.namespace,
                kind=group.kind,
                name=group.name,
                action=action,
                reason=why,
                pods=tuple(_name(p) for p in chosen),
                owners=group.owners,
                obj=group.obj,
                checks=checks,
            )
        )
    return Plan(items=items, namespaces=sorted(inventory.namespaces), up_to_date=up_to_date)


# -- rollout status, as kubectl rollout status reads it -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RolloutState:
    done: bool
    message: str
    #: the rollout cannot finish (a Deployment past its progress deadline)
    failed: bool = False


def deployment_rollout(obj: Mapping[str, Any]) -> RolloutState:
    """kubectl's reading of a Deployment's status, plus the ready count."""
    name, meta, spec, status = _name(obj), _meta(obj), _spec(obj), _status(obj)
    if _int(meta.get("generation")) > _int(status.get("observedGeneration")):
        return RolloutState(False, "waiting for the Deployment controller to see the change")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return RolloutState(False, f"deployment {name!r} exceeded its progress deadline", failed=True)
    replicas = _int(spec.get("replicas"), 1)
    updated = _int(status.get("updatedReplicas"))
    current = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    ready = _int(status.get("readyReplicas"))
    if updated < replicas:
        return RolloutState(False, f"{updated} of {replicas} new replicas updated")
    if current > updated:
        return RolloutState(False, f"{current - updated} old replica(s) pending termination")
    if available < updated or ready < updated:
        return RolloutState(False, f"{min(available, ready)} of {updated} updated replicas available")
    return RolloutState(True, f"{updated} of {replicas} replicas updated and available")


def statefulset_rollout(obj: Mapping[str, Any]) -> RolloutState:
    """kubectl's reading of a StatefulSet's status (RollingUpdate; partitions respected)."""
    meta, spec, status = _meta(obj), _spec(obj), _status(obj)
    observed = _int(status.get("observedGeneration"))
    if observed == 0 or _int(meta.get("generation")) > observed:
        return RolloutState(False, "waiting for the StatefulSet controller to see the change")
    replicas = _int(spec.get("replicas"), 1)
    ready = _int(status.get("readyReplicas"))
    if ready < replicas:
        return RolloutState(False, f"{ready} of {replicas} pods ready")
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
    partition = _int(rolling.get("partition"))
    updated = _int(status.get("updatedReplicas"))
    if partition > 0:
        want = max(replicas - partition, 0)
        if updated < want:
            return RolloutState(False, f"{updated} of {want} pods above the partition updated")
        return RolloutState(True, f"partitioned rollout complete: {updated} pods updated")
    update_revision = status.get("updateRevision")
    if update_revision != status.get("currentRevision"):
        return RolloutState(False, f"{updated} of {replicas} pods at revision {update_revision}")
    return RolloutState(True, f"{replicas} pods at revision {update_revision}, ready")


def daemonset_rollout(obj: Mapping[str, Any]) -> RolloutState:
    """kubectl's reading of a DaemonSet's status, plus the ready count."""
    meta, status = _meta(obj), _status(obj)
    if _int(meta.get("generation")) > _int(status.get("observedGeneration")):
        return RolloutState(False, "waiting for the DaemonSet controller to see the change")
    desired = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    ready = _int(status.get("numberReady"))
    if updated < desired:
        return RolloutState(False, f"{updated} of {desired} new pods scheduled")
    if available < desired or ready < desired:
        return RolloutState(False, f"{min(available, ready)} of {desired} updated pods available")
    return RolloutState(True, f"{desired} of {desired} pods updated and available")


_ROLLOUT_STATE: Final[Mapping[str, Callable[[Mapping[str, Any]], RolloutState]]] = {
    DEPLOYMENT: deployment_rollout,
    STATEFULSET: statefulset_rollout,
    DAEMONSET: daemonset_rollout,
}


# -- pods ----------------------------------------------------------------------------------------------------------


def pod_ready(pod: Mapping[str, Any]) -> bool:
    if _meta(pod).get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _status(pod).get("conditions") or [])


def pod_problem(pod: Mapping[str, Any]) -> str | None:
    """Why a pod is not ready, as briefly as kubectl get pod would show it; None when it is ready."""
    if pod_ready(pod):
        return None
    name, status = _name(pod), _status(pod)
    if _meta(pod).get("deletionTimestamp"):
        return f"pod {name}: terminating"
    if not _spec(pod).get("nodeName"):
        scheduled: Mapping[str, Any] = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {}
        )
        detail = scheduled.get("message") or "not scheduled to a node yet"
        return f"pod {name}: Pending ({detail})"
    waiting = []
    unready = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            if state.get("waiting"):
                waiting.append(f"{cs.get('name')}: {state['waiting'].get('reason') or 'waiting'}")
            elif state.get("terminated") and key == "containerStatuses":
                waiting.append(f"{cs.get('name')}: {state['terminated'].get('reason') or 'terminated'}")
            elif key == "containerStatuses" and not cs.get("ready"):
                unready.append(str(cs.get("name")))
    if waiting:
        return f"pod {name}: {', '.join(waiting)}"
    if unready:
        return f"pod {name}: containers not ready ({', '.join(unready)})"
    return f"pod {name}: {status.get('phase') or 'Pending'}, not ready"


# Metadata the API server owns: a manifest for re-creation must not carry it.
_SERVER_METADATA: Final = (
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "managedFields",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "generateName",
)
_SERVICE_ACCOUNT_VOLUME = re.compile(r"^kube-api-access-[a-z0-9]+$")


def clean_pod_manifest(pod: Mapping[str, Any]) -> dict[str, Any]:
    """A bare pod as a manifest that creates it again: no status, no server-owned metadata, not bound to a node.

    The service account token volume the admission plugin added (``kube-api-access-*``) and its mounts are left
    out so that a fresh one is added; ephemeral containers cannot be set at creation and are dropped.
    """
    from meshinject.inject.podutil import clone_object

    result = clone_object(pod)
    result["apiVersion"] = "v1"
    result["kind"] = "Pod"
    result.pop("status", None)
    meta = result.setdefault("metadata", {})
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    spec = result.setdefault("spec", {})
    spec.pop("nodeName", None)
    spec.pop("ephemeralContainers", None)
    dropped = {
        v.get("name")
        for v in spec.get("volumes") or []
        if _SERVICE_ACCOUNT_VOLUME.match(str(v.get("name") or "")) and "projected" in v
    }
    if dropped:
        spec["volumes"] = [v for v in spec.get("volumes") or [] if v.get("name") not in dropped]
        if not spec["volumes"]:
            del spec["volumes"]
        for key in ("initContainers", "containers"):
            for container in spec.get(key) or []:
                mounts = [m for m in container.get("volumeMounts") or [] if m.get("name") not in dropped]
                if mounts:
                    container["volumeMounts"] = mounts
                else:
                    container.pop("volumeMounts", None)
    return result


# -- reading the cluster ---------------------------------------------------------------------------------------------


def _resources() -> dict[str, Any]:
    from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
    from lightkube.resources.batch_v1 import CronJob, Job
    from lightkube.resources.core_v1 import ReplicationController

    return {
        DEPLOYMENT: Deployment,
        STATEFULSET: StatefulSet,
        DAEMONSET: DaemonSet,
        REPLICASET: ReplicaSet,
        REPLICATION_CONTROLLER: ReplicationController,
        JOB: Job,
        CRONJOB: CronJob,
    }


def _plural(resource: Any) -> str:
    return str(resource._api_info.plural)


def _list(client: Client, resource: Any, namespace: str | None) -> list[dict[str, Any]]:
    where = None if namespace in (None, "*") else namespace
    with api_call("list", _plural(resource), namespace=where):
        return [obj.to_dict() for obj in client.list(resource, namespace=namespace)]


def collect_inventory(
    client: Client,
    namespaces: Sequence[str] | None,
    *,
    only_outdated: bool = False,
    istio_namespace: str = "istio-system",
    warn: Callable[[str], None] = lambda _msg: None,
) -> Inventory:
    """List what :func:`plan_restart` needs. ``namespaces=None`` means every namespace but the system ones.

    Raises ClusterError for an unknown namespace, an unreachable cluster or a forbidden list. The webhook
    configurations and the revisions' ConfigMaps (read only for ``only_outdated``) are optional: when they cannot
    be read, a warning says so and Istio's label conventions are used instead.
    """
    from lightkube.resources.core_v1 import Namespace, Pod

    resources = _resources()
    ns_objects: dict[str, Mapping[str, Any]] = {}
    if namespaces is None:
        for obj in _list(client, Namespace, None):
            # the namespaces the injector never touches: all-namespace runs leave them out
            if _name(obj) not in DEFAULT_IGNORED_NAMESPACES:
                ns_objects[_name(obj)] = obj
        scopes: list[str] = ["*"]
    else:
        for name in dict.fromkeys(namespaces):
            try:
                with api_call("get", "namespaces", name=name):
                    ns_objects[name] = client.get(Namespace, name).to_dict()
            except ClusterError as err:
                if err.not_found:
                    raise ClusterError(f"namespace {name!r} does not exist", code=404) from None
                raise
        scopes = list(ns_objects)

    pods: list[dict[str, Any]] = []
    for scope in scopes:
        pods.extend(p for p in _list(client, Pod, scope) if _namespace(p) in ns_objects)

    workloads: dict[tuple[str, str, str], Mapping[str, Any]] = {}

    def load(kind: str, wanted: set[tuple[str, str]]) -> None:
        """List ``kind`` in the namespaces where (namespace, name) pairs are wanted."""
        if not wanted:
            return
        where = ["*"] if namespaces is None else sorted({ns for ns, _ in wanted})
        for scope in where:
            for obj in _list(client, resources[kind], scope):
                if (_namespace(obj), _name(obj)) in wanted:
                    workloads[(kind, _namespace(obj), _name(obj))] = obj

    def owned(objects: Iterable[Mapping[str, Any]], kind: str) -> set[tuple[str, str]]:
        found = set()
        for obj in objects:
            ref = controller_ref(obj)
            if ref is not None and ref.get("kind") == kind:
                found.add((_namespace(obj), str(ref.get("name"))))
        return found

    live = [p for p in pods if _live(p)]
    for kind in (REPLICASET, STATEFULSET, DAEMONSET, JOB, REPLICATION_CONTROLLER):
        load(kind, owned(live, kind))
    load(DEPLOYMENT, owned([o for (k, _, _), o in workloads.items() if k == REPLICASET], DEPLOYMENT))
    load(CRONJOB, owned([o for (k, _, _), o in workloads.items() if k == JOB], CRONJOB))

    inventory = Inventory(namespaces=ns_objects, pods=pods, workloads=workloads)
    if only_outdated:
        inventory.webhooks = _read_webhooks(client, warn)
        inventory.injectors = _read_injectors(client, inventory, istio_namespace, warn)
    return inventory


def _read_webhooks(client: Client, warn: Callable[[str], None]) -> list[InjectionWebhook] | None:
    from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration

    try:
        configurations = _list(client, MutatingWebhookConfiguration, None)
    except ClusterError as err:
        if not err.forbidden:
            raise
        warn(f"{err}; deciding what is injected from Istio's namespace and pod labels instead")
        return None
    return parse_webhook_configurations(configurations)


def _read_injectors(
    client: Client, inventory: Inventory, istio_namespace: str, warn: Callable[[str], None]
) -> dict[str, RevisionInjector]:
    from .configmaps import configmap_names

    homes: dict[str, str] = {}
    if inventory.webhooks is not None:
        for hook in inventory.webhooks:
            homes.setdefault(hook.revision or DEFAULT_REVISION, hook.client_config.service_namespace or istio_namespace)
    else:
        for ns in inventory.namespaces.values():
            revision, _ = revision_by_labels(_labels(ns), {})
            if revision is not None:
                homes.setdefault(revision, istio_namespace)
        for pod in inventory.pods:
            revision, _ = revision_by_labels({}, _labels(pod))
            if revision is not None:
                homes.setdefault(revision, istio_namespace)

    def read(name: str, namespace: str) -> dict[str, str] | None:
        from lightkube.resources.core_v1 import ConfigMap

        try:
            with api_call("get", "configmaps", namespace=namespace, name=name):
                return {
                    str(k): str(v) for k, v in (client.get(ConfigMap, name, namespace=namespace).data or {}).items()
                }
        except ClusterError as err:
            if err.not_found:
                return None
            if err.forbidden:
                warn(f"{err}; proxy images are not compared")
                return None
            raise

    injectors: dict[str, RevisionInjector] = {}
    for revision, home in sorted(homes.items()):
        injector_name, mesh_name = configmap_names(revision)
        data = read(injector_name, home)
        if data is not None:
            injectors[revision] = injector_from_configmaps(
                revision, data, read(mesh_name, home), source=f"ConfigMap {home}/{injector_name}"
            )
    return injectors


# -- carrying the plan out -----------------------------------------------------------------------------------------


class Reporter(Protocol):
    """Where progress goes (the CLI shows it with rich on standard error)."""

    def started(self, item: PlanItem) -> None: ...
    def progress(self, item: PlanItem, message: str) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...
    def note(self, message: str) -> None: ...


class NullReporter:
    def started(self, item: PlanItem) -> None:
        pass

    def progress(self, item: PlanItem, message: str) -> None:
        pass

    def finished(self, outcome: Outcome) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass(slots=True)
class Outcome:
    item: PlanItem
    #: done, failed, interrupted (stopped waiting after another workload failed), not-started
    status: str
    message: str
    seconds: float = 0.0
    #: files the manifests of re-created bare pods were saved to
    backups: list[str] = field(default_factory=list)
    #: the failure came from the API server (RBAC, unreachable) rather than from the workload
    cluster_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "namespace": self.item.namespace,
            "kind": self.item.kind,
            "name": self.item.name,
            "action": self.item.action,
            "status": self.status,
            "message": self.message,
            "seconds": round(self.seconds, 1),
        }
        if self.backups:
            result["backups"] = self.backups
        return result


@dataclass(frozen=True, slots=True)
class ExecOptions:
    timeout: float = DEFAULT_TIMEOUT
    max_parallel: int = 1
    wait: bool = True
    #: where bare pods' manifests are saved; None: a new directory under the system's temporary directory
    backup_dir: Path | None = None
    #: first and longest pause between two looks at a rollout
    poll_interval: tuple[float, float] = (0.25, 2.0)


class WorkloadFailed(Exception):
    """A workload did not restart; the message says why."""


class _Stopped(Exception):
    pass


@dataclass(slots=True)
class _Run:
    client: Client
    options: ExecOptions
    reporter: Reporter
    stop: threading.Event
    backup_dir: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # polling

    def _poll(self, item: PlanItem, deadline: float, what: str, check: Callable[[], tuple[bool, str]]) -> None:
        """Call ``check`` until it says done; fail with its last message at the deadline."""
        pause, longest = self.options.poll_interval
        while True:
            done, message = check()
            if done:
                return
            self.reporter.progress(item, message)
            if time.monotonic() >= deadline:
                raise WorkloadFailed(
                    f"timed out after {format_duration(self.options.timeout)} waiting for {what}: {message}"
                    + self._pod_problems(item)
                )
            if self.stop.wait(min(pause, max(deadline - time.monotonic(), 0.01))):
                raise _Stopped()
            pause = min(pause * 1.5, longest)

    def _pods_of(self, item: PlanItem) -> list[dict[str, Any]]:
        """The live pods of the workload (by its selector when it has one)."""
        from lightkube.resources.core_v1 import Pod

        selector = _spec(item.obj or {}).get("selector") if item.kind != POD else None
        match_labels = selector.get("matchLabels") if isinstance(selector, Mapping) else None
        with api_call("list", "pods", namespace=item.namespace):
            pods = [
                p.to_dict()
                for p in self.client.list(Pod, namespace=item.namespace, labels=dict(match_labels or {}) or None)
            ]
        if isinstance(selector, Mapping):
            pods = [p for p in pods if selector_matches_all(selector, _labels(p))]
        return pods

    def _pod_problems(self, item: PlanItem) -> str:
        try:
            pods = self._pods_of(item) if item.kind != POD else []
        except ClusterError:
            return ""
        problems = [p for p in (pod_problem(pod) for pod in pods if not _meta(pod).get("deletionTimestamp")) if p]
        if not problems:
            return ""
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return "; not ready: " + "; ".join(problems[:3]) + more

    def _get_pod(self, name: str, namespace: str) -> dict[str, Any] | None:
        from lightkube.resources.core_v1 import Pod

        try:
            with api_call("get", "pods", namespace=namespace, name=name):
                return self.client.get(Pod, name, namespace=namespace).to_dict()
        except ClusterError as err:
            if err.not_found:
                return None
            raise

    def _delete_pod(self, name: str, namespace: str) -> None:
        from lightkube.resources.core_v1 import Pod

        try:
            with api_call("delete", "pods", namespace=namespace, name=name):
                self.client.delete(Pod, name, namespace=namespace)
        except ClusterError as err:
            if not err.not_found:
                raise

    def _gone(self, name: str, namespace: str, uid: str) -> bool:
        pod = self._get_pod(name, namespace)
        return pod is None or _meta(pod).get("uid") != uid

    # actions

    def run(self, item: PlanItem) -> Outcome:
        started = time.monotonic()
        self.reporter.started(item)
        backups: list[str] = []
        try:
            if self.stop.is_set():
                raise _Stopped()
            deadline = started + self.options.timeout
            if item.action == Action.ROLLOUT:
                message = self._rollout(item, deadline)
            elif item.action == Action.DELETE_ONE_BY_ONE:
                message = self._delete_one_by_one(item, deadline)
            elif item.action == Action.DELETE:
                message = self._delete_all(item, deadline)
            elif item.action == Action.RECREATE:
                message = self._recreate(item, deadline, backups)
            else:
                raise WorkloadFailed(f"nothing to do for action {item.action!r}")
            outcome = Outcome(item, "done", message, time.monotonic() - started, backups)
        except WorkloadFailed as err:
            outcome = Outcome(item, "failed", str(err), time.monotonic() - started, backups)
        except ClusterError as err:
            outcome = Outcome(item, "failed", str(err), time.monotonic() - started, backups, cluster_error=True)
        except _Stopped:
            outcome = Outcome(
                item, "interrupted", "stopped waiting: another workload failed", time.monotonic() - started, backups
            )
        self.reporter.finished(outcome)
        return outcome

    def _rollout(self, item: PlanItem, deadline: float) -> str:
        from lightkube.types import PatchType

        resource = _resources()[item.kind]
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at()}}}}}
        with api_call("patch", _plural(resource), namespace=item.namespace, name=item.name):
            self.client.patch(resource, item.name, patch, namespace=item.namespace, patch_type=PatchType.STRATEGIC)
        if not self.options.wait:
            return "restarted (not waiting for the rollout)"
        final: list[str] = []

        def check() -> tuple[bool, str]:
            with api_call("get", _plural(resource), namespace=item.namespace, name=item.name):
                obj = self.client.get(resource, item.name, namespace=item.namespace).to_dict()
            state = _ROLLOUT_STATE[item.kind](obj)
            if state.failed:
                raise WorkloadFailed(state.message + self._pod_problems(item))
            final[:] = [state.message]
            return state.done, state.message

        self._poll(item, deadline, f"the rollout of {item.label}", check)
        return f"rolled out: {final[0]}" if final else "rolled out"

    def _owned_ready(self, item: PlanItem, owner_uid: str) -> int:
        count = 0
        for pod in self._pods_of(item):
            ref = controller_ref(pod)
            if ref is not None and ref.get("uid") == owner_uid and pod_ready(pod):
                count += 1
        return count

    def _delete_one_by_one(self, item: PlanItem, deadline: float) -> str:
        replaced = 0
        for index, name in enumerate(item.pods, 1):
            if self.stop.is_set():
                raise _Stopped()
            pod = self._get_pod(name, item.namespace)
            if pod is None or _meta(pod).get("deletionTimestamp"):
                continue
            uid = str(_meta(pod).get("uid"))
            ref = controller_ref(pod)
            owner_uid = str(ref.get("uid")) if ref is not None else ""
            # The replacement must be ready, also when the deleted pod was not: want one more than the others.
            want_ready = self._owned_ready(item, owner_uid) + (0 if pod_ready(pod) else 1) if self.options.wait else 0
            self.reporter.progress(item, f"deleting pod {name} ({index}/{len(item.pods)})")
            self._delete_pod(name, item.namespace)
            replaced += 1
            if not self.options.wait:
                continue

            def check(
                name: str = name,
                uid: str = uid,
                owner_uid: str = owner_uid,
                want: int = want_ready,
                index: int = index,
            ) -> tuple[bool, str]:
                if not self._gone(name, item.namespace, uid):
                    return False, f"pod {name} terminating ({index}/{len(item.pods)})"
                ready = self._owned_ready(item, owner_uid)
                return ready >= want, f"waiting for the replacement of pod {name}: {ready} of {want} pods ready"

            self._poll(item, deadline, f"the replacement of pod {name} of {item.label}", check)
        if not self.options.wait:
            return f"deleted {replaced} pod(s) (not waiting for replacements)"
        return f"replaced {replaced} pod(s) one at a time"

    def _delete_all(self, item: PlanItem, deadline: float) -> str:
        uids: dict[str, str] = {}
        for name in item.pods:
            pod = self._get_pod(name, item.namespace)
            if pod is None:
                continue
            uids[name] = str(_meta(pod).get("uid"))
            self._delete_pod(name, item.namespace)
        if self.options.wait and uids:

            def check() -> tuple[bool, str]:
                left = [n for n, uid in uids.items() if not self._gone(n, item.namespace, uid)]
                return not left, f"{len(left)} pod(s) terminating"

            self._poll(item, deadline, f"the pods of {item.label} to go", check)
        return f"deleted {len(uids)} pod(s); the {item.kind} starts replacements"

    def _backup_directory(self) -> Path:
        with self.lock:
            if self.backup_dir is None:
                if self.options.backup_dir is not None:
                    self.options.backup_dir.mkdir(parents=True, exist_ok=True)
                    self.backup_dir = self.options.backup_dir
                else:
                    self.backup_dir = Path(tempfile.mkdtemp(prefix="meshinject-restart-"))
            return self.backup_dir

    def _recreate(self, item: PlanItem, deadline: float, backups: list[str]) -> str:
        import yaml
        from lightkube.resources.core_v1 import Pod

        from meshinject.inject.uninject import UninjectError, uninject_pod

        current = self._get_pod(item.name, item.namespace)
        if current is None:
            raise WorkloadFailed(f"pod {item.name} no longer exists")
        manifest = clean_pod_manifest(current)
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        path = self._backup_directory() / f"{item.namespace}.{item.name}.{stamp}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        backups.append(str(path))
        self.reporter.note(f"saved pod {item.name} in {item.namespace} to {path}")
        try:
            # The old sidecar must go, or the injector would see an injected pod and leave it as it is.
            fresh = uninject_pod(manifest)
        except UninjectError as err:
            raise WorkloadFailed(
                f"cannot remove the old sidecar from the manifest: {err} (pod left untouched)"
            ) from None
        old_uid = str(_meta(current).get("uid"))
        self.reporter.progress(item, "deleting the pod")
        self._delete_pod(item.name, item.namespace)

        def gone() -> tuple[bool, str]:
            return self._gone(item.name, item.namespace, old_uid), "waiting for the old pod to terminate"

        try:
            self._poll(item, deadline, f"pod {item.name} to terminate", gone)
        except WorkloadFailed as err:
            raise WorkloadFailed(f"{err}; its manifest is saved in {path}") from None
        self.reporter.progress(item, "creating the pod again")
        try:
            with api_call("create", "pods", namespace=item.namespace, name=item.name):
                body = Pod.from_dict(fresh)
                assert isinstance(body, Pod)
                self.client.create(body, namespace=item.namespace)
        except ClusterError as err:
            raise WorkloadFailed(f"{err}; the pod is deleted, re-create it with: kubectl create -f {path}") from None
        created = self._get_pod(item.name, item.namespace)
        if created is None or _meta(created).get("uid") == old_uid:
            raise WorkloadFailed(f"pod {item.name} was created but cannot be found; its manifest is saved in {path}")
        if not self.options.wait:
            return f"re-created (manifest saved in {path})"

        def ready() -> tuple[bool, str]:
            pod = self._get_pod(item.name, item.namespace)
            if pod is None:
                raise WorkloadFailed(f"pod {item.name} disappeared after it was created; manifest in {path}")
            problem = pod_problem(pod)
            return problem is None, problem or "ready"

        self._poll(item, deadline, f"pod {item.name} to become ready", ready)
        return f"re-created and ready (manifest saved in {path})"


def execute_plan(
    client: Client, plan: Plan, options: ExecOptions | None = None, reporter: Reporter | None = None
) -> list[Outcome]:
    """Restart the plan's workloads, ``max_parallel`` at a time; after the first failure no new workload starts
    and the ones in progress stop being waited for. Returns one outcome per executable item, in plan order."""
    options = options or ExecOptions()
    from lightkube.resources.core_v1 import Pod

    prepare_decoders([Pod, *_resources().values()])
    run = _Run(client, options, reporter or NullReporter(), threading.Event())
    items = plan.executable()
    outcomes: dict[int, Outcome] = {}
    queue: Iterator[tuple[int, PlanItem]] = iter(enumerate(items))
    with ThreadPoolExecutor(max_workers=max(1, options.max_parallel), thread_name_prefix="restart") as pool:
        running: dict[Future[Outcome], int] = {}

        def submit() -> None:
            entry = next(queue, None)
            if entry is not None:
                running[pool.submit(run.run, entry[1])] = entry[0]

        for _ in range(max(1, options.max_parallel)):
            submit()
        try:
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = running.pop(future)
                    outcome = future.result()
                    outcomes[index] = outcome
                    if outcome.status == "failed":
                        run.stop.set()
                    if not run.stop.is_set():
                        submit()
        except BaseException:
            run.stop.set()
            raise
    for index, item in enumerate(items):
        if index not in outcomes:
            outcomes[index] = Outcome(item, "not-started", "not started: an earlier workload failed")
    return [outcomes[i] for i in range(len(items))]


# -- the command -----------------------------------------------------------------------------------------------------


ACTION_STYLES: Final = {
    Action.ROLLOUT: "green",
    Action.DELETE_ONE_BY_ONE: "yellow",
    Action.DELETE: "yellow",
    Action.RECREATE: "magenta",
    Action.SKIP: "dim",
    Action.BLOCKED: "bold red",
}


def plan_table(plan: Plan) -> Table:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAMESPACE", "WORKLOAD", "KIND", "PODS", "ACTION"):
        table.add_column(column, no_wrap=True)
    table.add_column("REASON", overflow="fold")
    for item in plan.items:
        kind = item.kind + "".join(f" ({k} {n})" for k, n in item.owners)
        table.add_row(
            item.namespace,
            item.name,
            kind,
            str(len(item.pods)),
            f"[{ACTION_STYLES.get(item.action, '')}]{item.action}[/]",
            item.reason,
        )
    return table


class RichReporter:
    """A live progress display on standard error: one line per workload in progress, a line per result."""

    def __init__(self, console: Console) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress_display: Progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.tasks: dict[int, TaskID] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> RichReporter:
        # Into a file or a pipe only the result lines go: a live display there is just noise.
        if self.console.is_terminal:
            self.progress_display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.console.is_terminal:
            self.progress_display.stop()

    def started(self, item: PlanItem) -> None:
        with self.lock:
            self.tasks[id(item)] = self.progress_display.add_task(f"{item.label}: {item.action}", total=None)

    def progress(self, item: PlanItem, message: str) -> None:
        with self.lock:
            task = self.tasks.get(id(item))
        if task is not None:
            self.progress_display.update(task, description=f"{item.label}: {message}")

    def finished(self, outcome: Outcome) -> None:
        with self.lock:
            task = self.tasks.pop(id(outcome.item), None)
        if task is not None:
            self.progress_display.remove_task(task)
        mark = {"done": "[green]✓[/]", "failed": "[bold red]✗[/]"}.get(outcome.status, "[yellow]-[/]")
        self.progress_display.console.print(
            f"{mark} {outcome.item.label}: {outcome.message} [dim]({outcome.seconds:.0f}s)[/]", highlight=False
        )

    def note(self, message: str) -> None:
        self.progress_display.console.print(message, highlight=False)


EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_ERROR: Final = 2


def run_restart(
    namespaces: Sequence[str],
    *,
    all_namespaces: bool = False,
    only_outdated: bool = False,
    dry_run: bool = False,
    max_parallel: int = 1,
    timeout: str = "5m",
    wait_for_rollouts: bool = True,
    recreate_bare_pods: bool = False,
    include_jobs: bool = False,
    backup_dir: Path | None = None,
    istio_namespace: str = "istio-system",
    kubeconfig: Path | None = None,
    context: str | None = None,
    output: str = "table",
    stdout: Any = None,
    stderr: Any = None,
) -> int:
    """The ``meshinject restart`` command: plan, print the plan, carry it out. Returns the exit code."""
    from rich.console import Console

    from .client import connect

    out_stream = stdout or sys.stdout
    out = Console(file=out_stream, highlight=False)
    if not out.is_terminal:
        out.width = 160  # a pipe or a file: do not cut workload names at 80 columns
    err = Console(file=stderr or sys.stderr, highlight=False, soft_wrap=True)

    def error(message: str) -> int:
        err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        return EXIT_ERROR

    if all_namespaces and namespaces:
        return error("give namespaces or -A/--all-namespaces, not both")
    if not all_namespaces and not namespaces:
        return error("name at least one namespace, or use -A/--all-namespaces")
    if max_parallel < 1:
        return error("--max-parallel must be at least 1")
    if output not in ("table", "json", "yaml"):
        return error(f"-o {output}: must be table, json or yaml")
    try:
        timeout_seconds = parse_duration(timeout)
    except ValueError as exc:
        return error(f"--timeout: {exc}")

    def warn(message: str) -> None:
        err.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)

    try:
        client = connect(kubeconfig, context)
    except ClusterError as exc:
        return error(str(exc))
    try:
        try:
            inventory = collect_inventory(
                client,
                None if all_namespaces else list(namespaces),
                only_outdated=only_outdated,
                istio_namespace=istio_namespace,
                warn=warn,
            )
        except ClusterError as exc:
            return error(str(exc))
        plan = plan_restart(
            inventory,
            PlanOptions(only_outdated=only_outdated, recreate_bare_pods=recreate_bare_pods, include_jobs=include_jobs),
        )

        def emit(document: dict[str, Any]) -> None:
            if output == "json":
                out_stream.write(json.dumps(document, indent=2) + "\n")
            else:
                import yaml

                out_stream.write(yaml.safe_dump(document, sort_keys=False))

        if output == "table":
            if plan.items:
                out.print(plan_table(plan))
            else:
                err.print("nothing to restart" + (": every pod's sidecar is current" if only_outdated else ""))
            if plan.up_to_date:
                err.print(f"{len(plan.up_to_date)} workload(s) up to date, left alone", highlight=False)

        blocked = [item for item in plan.items if item.action == Action.BLOCKED]
        if dry_run:
            if output != "table":
                emit({"dryRun": True, **plan.to_dict()})
            else:
                err.print(f"dry run: {len(plan.executable())} workload(s) would be restarted; nothing was changed")
            return EXIT_FAILED if blocked else EXIT_OK

        options = ExecOptions(
            timeout=timeout_seconds, max_parallel=max_parallel, wait=wait_for_rollouts, backup_dir=backup_dir
        )
        try:
            with RichReporter(err) as reporter:
                outcomes = execute_plan(client, plan, options, reporter)
        except KeyboardInterrupt:
            err.print("[bold red]interrupted[/]: workloads already restarted keep rolling out in the cluster")
            return 130
        if output != "table":
            emit({"dryRun": False, **plan.to_dict(), "results": [o.to_dict() for o in outcomes]})

        failures = [o for o in outcomes if o.status == "failed"]
        done = sum(1 for o in outcomes if o.status == "done")
        for item in blocked:
            err.print(f"[bold red]not restarted:[/] {item.label}: {item.reason}", highlight=False, soft_wrap=True)
        if failures:
            first = failures[0]
            err.print(f"[bold red]failed:[/] {first.item.label}: {first.message}", highlight=False, soft_wrap=True)
            skipped = sum(1 for o in outcomes if o.status in ("not-started", "interrupted"))
            if skipped:
                err.print(f"{skipped} other workload(s) not finished because of this failure", highlight=False)
            return EXIT_ERROR if first.cluster_error else EXIT_FAILED
        err.print(f"restarted {done} workload(s)", highlight=False)
        return EXIT_FAILED if blocked else EXIT_OK
    finally:
        client.close()
