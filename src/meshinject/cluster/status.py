"""``meshinject status``: every pod with its sidecar, its revision, what it should have now, and a verdict.

The kubectl columns (READY, STATUS, RESTARTS, AGE) are computed exactly as the API server's pod table printer
computes them for ``kubectl get pod`` (Kubernetes 1.29+: native sidecars, i.e. init containers with
``restartPolicy: Always``, count in READY). What a pod *should* have is decided the way the cluster would decide
it if the pod were created now: the injection webhooks' selectors against the namespace's and the pod's labels
(:mod:`meshinject.cluster.webhooks`), then the injector's own policy (:func:`meshinject.inject.decide.decide`)
with the revision's ConfigMap.

The pure part (:func:`kubectl_columns`, :func:`sidecar_info`, :func:`expected_injection`, :func:`pod_status`)
works on pods in Kubernetes JSON form; :func:`load_view` reads the cluster once for status, analyze and
check-inject.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from lightkube import Client

from meshinject.inject.config import DEFAULT_IGNORED_NAMESPACES
from meshinject.inject.decide import INJECT_KEY, Decision, decide
from meshinject.inject.model import proxy_image_for
from meshinject.inject.podutil import PROXY_CONTAINER, find_container

from .client import ClusterError, api_call
from .revisions import ClusterSnapshot, RevisionModel, build_model, collect, configmap_revision
from .webhooks import (
    DEFAULT_REVISION,
    INJECTION_LABEL,
    REV_LABEL,
    InjectionWebhook,
    effective_namespace_labels,
    evaluate,
)

__all__ = [
    "NEEDS_RESTART",
    "NOT_INJECTED",
    "NOT_READY",
    "OK",
    "VERDICTS",
    "ClusterView",
    "Expectation",
    "KubectlColumns",
    "PodStatus",
    "RevisionInjector",
    "SidecarInfo",
    "expected_injection",
    "human_duration",
    "injector_from_configmaps",
    "kubectl_columns",
    "load_view",
    "pod_revision",
    "pod_status",
    "revision_by_labels",
    "sidecar_drift",
    "sidecar_info",
]

OK: Final = "OK"
NOT_INJECTED: Final = "NOT INJECTED"
NEEDS_RESTART: Final = "NEEDS RESTART"
NOT_READY: Final = "NOT READY"
#: most urgent first: a pod's verdict is the first that applies
VERDICTS: Final = (NOT_INJECTED, NEEDS_RESTART, NOT_READY, OK)

STATUS_ANNOTATION: Final = "sidecar.istio.io/status"
PROXY_IMAGE_ANNOTATION: Final = "sidecar.istio.io/proxyImage"
MESH_CONFIGMAP: Final = "istio"
#: the reason the node lifecycle controller gives pods of an unreachable node (kubectl shows them "Unknown")
NODE_LOST_REASON: Final = "NodeLost"


# -- kubectl's columns ----------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime.datetime | None:
    """An RFC 3339 timestamp of the API (``2024-01-02T03:04:05Z``), or None when absent or unreadable."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def human_duration(delta: datetime.timedelta) -> str:
    """apimachinery's ``duration.HumanDuration``: what kubectl prints in AGE (``45s``, ``5m3s``, ``3h20m``, ``12d``)."""
    total = delta.total_seconds()
    seconds = math.trunc(total)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"


def _since(value: Any, now: datetime.datetime) -> str:
    when = parse_time(value)
    return "<unknown>" if when is None else human_duration(now - when)


@dataclass(frozen=True, slots=True)
class KubectlColumns:
    """The READY, STATUS, RESTARTS and AGE cells of ``kubectl get pod``."""

    ready: int
    total: int
    status: str
    restarts: int
    #: ``3`` or ``3 (5m ago)``, as kubectl prints it
    restarts_text: str
    age: str

    @property
    def ready_text(self) -> str:
        return f"{self.ready}/{self.total}"


def _is_restartable(container: Mapping[str, Any] | None) -> bool:
    return container is not None and container.get("restartPolicy") == "Always"


def _terminated_finished(status: Mapping[str, Any]) -> datetime.datetime | None:
    last = (status.get("lastState") or {}).get("terminated")
    return parse_time(last.get("finishedAt")) if isinstance(last, dict) else None


def _later(a: datetime.datetime | None, b: datetime.datetime | None) -> datetime.datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _condition_true(conditions: Iterable[Mapping[str, Any]], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def kubectl_columns(pod: Mapping[str, Any], now: datetime.datetime | None = None) -> KubectlColumns:
    """READY, STATUS, RESTARTS and AGE of a pod, computed as Kubernetes' pod table printer does.

    READY counts the regular containers plus the native sidecars (init containers with ``restartPolicy:
    Always``); a container counts as ready when it is ready and running (a native sidecar: ready and started).
    STATUS is the phase, refined by the first init container still at work, then by the containers' waiting or
    terminated reasons, and ``Terminating`` for a pod being deleted.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    conditions: list[Mapping[str, Any]] = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    containers = spec.get("containers") or []
    init_specs = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]

    total = len(containers)
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime.datetime | None = None
    last_sidecar_restart: datetime.datetime | None = None
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or "") or phase
    for cond in conditions:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    by_name: dict[str, Mapping[str, Any]] = {}
    for init in init_specs:
        by_name[str(init.get("name"))] = init
        if _is_restartable(init):
            total += 1

    initializing = False
    for index, cstatus in enumerate(status.get("initContainerStatuses") or []):
        count = int(cstatus.get("restartCount") or 0)
        restarts += count
        last_restart = _later(last_restart, _terminated_finished(cstatus))
        restartable = _is_restartable(by_name.get(str(cstatus.get("name"))))
        if restartable:
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, _terminated_finished(cstatus))
        state = cstatus.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(terminated, dict) and int(terminated.get("exitCode") or 0) == 0:
            continue
        if restartable and cstatus.get("started") is True:
            if cstatus.get("ready"):
                ready += 1
            continue
        if isinstance(terminated, dict):
            if terminated.get("reason"):
                reason = "Init:" + str(terminated["reason"])
            elif terminated.get("signal"):
                reason = f"Init:Signal:{terminated['signal']}"
            else:
                reason = f"Init:ExitCode:{terminated.get('exitCode') or 0}"
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        error_reason = ""
        for cstatus in reversed(status.get("containerStatuses") or []):
            restarts += int(cstatus.get("restartCount") or 0)
            last_restart = _later(last_restart, _terminated_finished(cstatus))
            state = cstatus.get("state") or {}
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif isinstance(terminated, dict):
                if terminated.get("reason"):
                    reason = str(terminated["reason"])
                elif terminated.get("signal"):
                    reason = f"Signal:{terminated['signal']}"
                else:
                    reason = f"ExitCode:{terminated.get('exitCode') or 0}"
                if int(terminated.get("exitCode") or 0) != 0:
                    error_reason = reason
            elif cstatus.get("ready") and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed":
            if has_running and _condition_true(conditions, "Ready"):
                reason = "Running"
            elif error_reason:
                reason = error_reason
            elif has_running:
                reason = "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == NODE_LOST_REASON:
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"
    return KubectlColumns(
        ready=ready,
        total=total,
        status=reason,
        restarts=restarts,
        restarts_text=restarts_text,
        age=_since(meta.get("creationTimestamp"), now),
    )


# -- the sidecar a pod has --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SidecarInfo:
    present: bool
    #: True for a native sidecar (an ``istio-proxy`` init container with ``restartPolicy: Always``)
    native: bool = False
    image: str | None = None

    @property
    def text(self) -> str:
        if not self.present:
            return "no"
        return "yes (native)" if self.native else "yes (classic)"

    @property
    def mode(self) -> str | None:
        if not self.present:
            return None
        return "native" if self.native else "classic"


def sidecar_info(pod: Mapping[str, Any]) -> SidecarInfo:
    """Whether the pod runs an ``istio-proxy`` container, and as which kind of sidecar."""
    spec = pod.get("spec") or {}
    classic = find_container(PROXY_CONTAINER, spec.get("containers"))
    if classic is not None:
        return SidecarInfo(True, False, str(classic.get("image") or "") or None)
    native = find_container(PROXY_CONTAINER, spec.get("initContainers"))
    if native is not None and native.get("restartPolicy") == "Always":
        return SidecarInfo(True, True, str(native.get("image") or "") or None)
    return SidecarInfo(False)


def pod_revision(pod: Mapping[str, Any]) -> str | None:
    """The revision whose injector gave the pod its sidecar: annotation ``istio.io/rev``, else the status's.

    A status annotation without a ``revision`` field comes from an Istio older than revisions: the default one.
    """
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(REV_LABEL)
    if value:
        return str(value)
    raw = annotations.get(STATUS_ANNOTATION)
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return DEFAULT_REVISION
    if isinstance(parsed, dict) and parsed.get("revision"):
        return str(parsed["revision"])
    return DEFAULT_REVISION


# -- what the revision's injector does --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RevisionInjector:
    """The parts of a revision's injector configuration that decide whether and with what it injects."""

    revision: str
    policy: str = "enabled"
    never_inject_selector: tuple[Mapping[str, Any], ...] = ()
    always_inject_selector: tuple[Mapping[str, Any], ...] = ()
    #: ``.Values`` of the injector ConfigMap; None when it could not be read
    values: Mapping[str, Any] | None = None
    #: ``defaultConfig.image.imageType`` of the revision's mesh config
    image_type: str = ""
    #: where the configuration was read from, or why it was not
    source: str = ""
    readable: bool = False

    def proxy_image(self, annotations: Mapping[str, Any] | None = None) -> str | None:
        """The ``istio-proxy`` image this revision injects now into a pod with these annotations.

        A full image reference in the pod's ``sidecar.istio.io/proxyImage`` is that image. None when unknown:
        the ConfigMap is unreadable or does not say, or the annotation holds a bare name (then no image is
        "stale").
        """
        annotations = annotations or {}
        chosen = str(annotations.get(PROXY_IMAGE_ANNOTATION) or "")
        if "/" in chosen:
            return chosen  # a full reference, which Istio's template uses as it is
        if self.values is None or chosen:
            # A bare name in the annotation: Istio's template ignores it, meshinject's uses it; either way the
            # pod chose, so no image counts as stale.
            return None
        glob = self.values.get("global")
        if not isinstance(glob, dict):
            return None
        proxy = glob.get("proxy")
        configured = str(proxy.get("image") or "") if isinstance(proxy, dict) else ""
        # Istio's template uses global.proxy.image as a full reference when it contains a slash.
        if "/" in configured:
            return configured
        if not glob.get("hub") or glob.get("tag") in (None, ""):
            return None  # values that do not say which image: unknown, rather than "stale" for every pod
        return proxy_image_for(self.values, self.image_type, annotations)


def _load_text(text: str) -> Any:
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None


def _selector_list(value: Any) -> tuple[Mapping[str, Any], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, dict))


def injector_from_configmaps(
    revision: str,
    injector_data: Mapping[str, str] | None,
    mesh_data: Mapping[str, str] | None = None,
    *,
    source: str = "",
) -> RevisionInjector:
    """The injector of ``revision`` from the ``data`` of its ConfigMaps; the defaults when they are missing.

    Only policy, selectors and image are read (no template is parsed): a ConfigMap whose templates do not parse
    still says what its policy is.
    """
    if injector_data is None:
        return RevisionInjector(revision, source=source or "injector ConfigMap not readable: policy assumed enabled")
    config = _load_text(injector_data.get("config") or "") or {}
    if not isinstance(config, dict):
        config = {}
    values = _load_text(injector_data.get("values") or "") or {}
    if not isinstance(values, dict):
        values = {}
    image_type = ""
    mesh = _load_text((mesh_data or {}).get("mesh") or "") or {}
    if isinstance(mesh, dict):
        image = ((mesh.get("defaultConfig") or {}).get("image") or {}) if isinstance(mesh, dict) else {}
        if isinstance(image, dict):
            image_type = str(image.get("imageType") or "")
    policy = str(config.get("policy") or "enabled")
    return RevisionInjector(
        revision=revision,
        policy=policy,
        never_inject_selector=_selector_list(config.get("neverInjectSelector")),
        always_inject_selector=_selector_list(config.get("alwaysInjectSelector")),
        values=values,
        image_type=image_type,
        source=source,
        readable=True,
    )


# -- what a pod should have -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the cluster would do with the pod if it were created now."""

    #: the webhooks the API server would call (their selectors match), in calling order
    webhooks: tuple[InjectionWebhook, ...]
    #: the injector's own decision, for the first matching webhook's revision; None when no webhook matches
    decision: Decision | None
    #: the revision that would inject the pod, None when nothing would
    revision: str | None
    #: the tag through which that revision is reached, if any
    tag: str | None = None
    #: the revision the webhooks (or labels) send the pod to, whether or not its injector then injects it
    selected: str | None = None
    #: set when the webhook configurations could not be read: the namespace or pod label the guess rests on
    by_labels: str | None = None

    @property
    def wants_sidecar(self) -> bool:
        return self.revision is not None

    @property
    def conflict(self) -> bool:
        """More than one webhook would be called: the pod may be injected twice (Istio's IST0139)."""
        return len(self.webhooks) > 1

    @property
    def revisions(self) -> list[str]:
        names: list[str] = []
        for wh in self.webhooks:
            name = wh.revision or DEFAULT_REVISION
            if name not in names:
                names.append(name)
        return names

    @property
    def text(self) -> str:
        if self.conflict and len(self.revisions) > 1:
            return "+".join(self.revisions)
        return self.revision or "-"

    def reason(self) -> str:
        if self.by_labels is not None:
            if self.decision is not None and not self.decision.inject:
                return f"{self.by_labels} selects revision {self.selected}, but its injector skips the pod: " + (
                    self.decision.reason
                )
            return self.by_labels + (f" selects revision {self.revision}" if self.revision else "")
        if not self.webhooks:
            return "no injection webhook selects the pod's namespace and labels"
        first = self.webhooks[0]
        via = f"{first.config_name}/{first.webhook_name}"
        if self.decision is not None and not self.decision.inject:
            return f"webhook {via} is called, but the injector skips the pod: {self.decision.reason}"
        return f"webhook {via} injects it (revision {self.revision})"


def expected_injection(
    pod: Mapping[str, Any],
    namespace: str,
    namespace_labels: Mapping[str, str] | None,
    webhooks: Sequence[InjectionWebhook] | None,
    injectors: Mapping[str, RevisionInjector] | None = None,
    *,
    ignored_namespaces: Iterable[str] = DEFAULT_IGNORED_NAMESPACES,
) -> Expectation:
    """Which webhook would be called for the pod, and whether its revision's injector would inject it.

    ``webhooks=None`` means the webhook configurations could not be read: Istio's label conventions stand in
    for them (see :func:`revision_by_labels`).
    """
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if webhooks is None:
        selected, basis = revision_by_labels(effective_namespace_labels(namespace, namespace_labels), labels)
        matched: tuple[InjectionWebhook, ...] = ()
        tag = None
    else:
        matched = tuple(
            wh
            for wh in webhooks
            if not wh.deactivated
            and wh.intercepts_pod_creation
            and evaluate(wh, namespace, namespace_labels, labels).matches
        )
        selected = (matched[0].revision or DEFAULT_REVISION) if matched else None
        tag = matched[0].tag if matched else None
        basis = None
    if selected is None:
        return Expectation(webhooks=(), decision=None, revision=None, by_labels=basis)
    injector = (injectors or {}).get(selected) or RevisionInjector(selected)
    decision = decide(
        pod,
        namespace=namespace,
        policy=injector.policy,
        never_inject_selector=injector.never_inject_selector,
        always_inject_selector=injector.always_inject_selector,
        ignored_namespaces=ignored_namespaces,
    )
    return Expectation(
        webhooks=matched,
        decision=decision,
        revision=selected if decision.inject else None,
        tag=tag if decision.inject else None,
        selected=selected,
        by_labels=basis,
    )


def revision_by_labels(namespace_labels: Mapping[str, str], pod_labels: Mapping[str, str]) -> tuple[str | None, str]:
    """The revision Istio's standard webhooks would send a pod to, from labels alone, and the label that decides.

    What stands in for the webhook configurations when they cannot be read: ``istio-injection`` on the namespace
    (``enabled`` = the default revision, anything else = none) wins over ``istio.io/rev`` on the namespace, which
    wins over ``istio.io/rev`` or ``sidecar.istio.io/inject=true`` on the pod; ``sidecar.istio.io/inject=false``
    on the pod opts out.
    """
    opt_out = pod_labels.get(INJECT_KEY) == "false"
    if INJECTION_LABEL in namespace_labels:
        value = namespace_labels[INJECTION_LABEL]
        if value != "enabled":
            return None, f"namespace label {INJECTION_LABEL}={value}"
        if opt_out:
            return None, f"pod label {INJECT_KEY}=false"
        return DEFAULT_REVISION, f"namespace label {INJECTION_LABEL}=enabled"
    if REV_LABEL in namespace_labels:
        if opt_out:
            return None, f"pod label {INJECT_KEY}=false"
        return namespace_labels[REV_LABEL], f"namespace label {REV_LABEL}={namespace_labels[REV_LABEL]}"
    if REV_LABEL in pod_labels and not opt_out:
        return pod_labels[REV_LABEL], f"pod label {REV_LABEL}={pod_labels[REV_LABEL]}"
    if pod_labels.get(INJECT_KEY) == "true":
        return DEFAULT_REVISION, f"pod label {INJECT_KEY}=true"
    return None, "neither the namespace nor the pod labels select injection"


def sidecar_drift(
    pod: Mapping[str, Any],
    expectation: Expectation,
    injectors: Mapping[str, RevisionInjector] | None = None,
) -> tuple[str, str] | None:
    """(NOT_INJECTED or NEEDS_RESTART, why) when re-creating the pod now would change its sidecar; else None.

    NOT INJECTED: injection is expected but the pod has no ``istio-proxy``. NEEDS RESTART: it has an injected
    sidecar although none would be injected now, or one of another revision than is selected now, or a proxy
    image other than the one its revision injects now. A proxy container without the injector's status
    annotation is part of the workload's own manifest and stays on a restart.
    """
    sidecar = sidecar_info(pod)
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if expectation.wants_sidecar and not sidecar.present:
        return NOT_INJECTED, f"{expectation.reason()}, but the pod has no {PROXY_CONTAINER}: restart it"
    if not sidecar.present:
        return None
    revision = pod_revision(pod)
    if not expectation.wants_sidecar:
        if STATUS_ANNOTATION not in annotations:
            return None
        return NEEDS_RESTART, (
            f"has an injected sidecar, but none would be injected now ({expectation.reason()}): a restart "
            "removes it, unless the workload's own manifest carries it (kube-inject)"
        )
    if revision is not None and revision != expectation.revision:
        return NEEDS_RESTART, (
            f"runs revision {revision}'s proxy, but {expectation.reason()} now"
            if expectation.by_labels is not None
            else f"runs revision {revision}'s proxy, but its labels now select revision {expectation.revision}"
        )
    expected_image = expected_proxy_image(pod, expectation, injectors)
    if expected_image is not None and sidecar.image and sidecar.image != expected_image:
        return NEEDS_RESTART, (
            f"proxy image {sidecar.image} is not the image revision {expectation.revision or revision} injects "
            f"now ({expected_image})"
        )
    return None


def expected_proxy_image(
    pod: Mapping[str, Any], expectation: Expectation, injectors: Mapping[str, RevisionInjector] | None
) -> str | None:
    """The image the revision that would inject the pod now (else the one that did) injects; None if unknown."""
    revision = expectation.revision or (pod_revision(pod) if sidecar_info(pod).present else None)
    injector = (injectors or {}).get(revision) if revision else None
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    return injector.proxy_image(annotations) if injector is not None else None


# -- one row of the status table ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodStatus:
    namespace: str
    name: str
    columns: KubectlColumns
    sidecar: SidecarInfo
    revision: str | None
    expectation: Expectation
    #: the image the pod's revision injects now, when known
    expected_image: str | None
    verdict: str
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    def to_dict(self) -> dict[str, Any]:
        exp = self.expectation
        return {
            "namespace": self.namespace,
            "name": self.name,
            "ready": self.columns.ready_text,
            "readyContainers": self.columns.ready,
            "totalContainers": self.columns.total,
            "status": self.columns.status,
            "restarts": self.columns.restarts,
            "age": self.columns.age,
            "sidecar": self.sidecar.present,
            "sidecarMode": self.sidecar.mode,
            "proxyImage": self.sidecar.image,
            "revision": self.revision,
            "expected": {
                "revision": exp.revision,
                "tag": exp.tag,
                "webhooks": [f"{wh.config_name}/{wh.webhook_name}" for wh in exp.webhooks],
                "conflict": exp.conflict,
                "reason": exp.reason(),
                "proxyImage": self.expected_image,
            },
            "verdict": self.verdict,
            "reasons": list(self.reasons),
        }


def _needs_ready(columns: KubectlColumns, pod: Mapping[str, Any]) -> str | None:
    """Why the pod counts as not ready, or None. A completed pod (phase Succeeded) has nothing left to be ready."""
    phase = str((pod.get("status") or {}).get("phase") or "")
    if phase == "Succeeded":
        return None
    if phase != "Running":
        return f"pod is {columns.status or phase or 'Unknown'}"
    if columns.ready < columns.total:
        return f"{columns.ready}/{columns.total} containers ready ({columns.status})"
    return None


def pod_status(
    pod: Mapping[str, Any],
    namespace_labels: Mapping[str, str] | None,
    webhooks: Sequence[InjectionWebhook],
    injectors: Mapping[str, RevisionInjector] | None = None,
    *,
    now: datetime.datetime | None = None,
    ignored_namespaces: Iterable[str] = DEFAULT_IGNORED_NAMESPACES,
) -> PodStatus:
    """The status row of one pod and its verdict.

    NOT INJECTED: a webhook would inject it now and its injector would, but it has no ``istio-proxy``.
    NEEDS RESTART: it has a sidecar, but of another revision than its labels select now, or none would be
    injected now, or its proxy image is not the image its revision injects now.
    NOT READY: not every container is ready (or the pod is not running; completed pods are fine).
    """
    meta = pod.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    columns = kubectl_columns(pod, now)
    sidecar = sidecar_info(pod)
    revision = pod_revision(pod) if sidecar.present else None
    expectation = expected_injection(
        pod, namespace, namespace_labels, webhooks, injectors, ignored_namespaces=ignored_namespaces
    )
    expected_image = expected_proxy_image(pod, expectation, injectors)

    verdicts: list[str] = []
    reasons: list[str] = []
    drift = sidecar_drift(pod, expectation, injectors)
    if drift is not None:
        verdicts.append(drift[0])
        reasons.append(drift[1])
    if expectation.conflict:
        names = ", ".join(f"{wh.config_name}/{wh.webhook_name}" for wh in expectation.webhooks)
        reasons.append(f"several injection webhooks select it ({names}): see `meshinject check-inject`")
    unready = _needs_ready(columns, pod)
    if unready is not None:
        verdicts.append(NOT_READY)
        reasons.append(unready)
    verdict = next((v for v in VERDICTS if v in verdicts), OK)
    return PodStatus(
        namespace=namespace,
        name=str(meta.get("name") or ""),
        columns=columns,
        sidecar=sidecar,
        revision=revision,
        expectation=expectation,
        expected_image=expected_image,
        verdict=verdict,
        reasons=tuple(reasons),
    )


# -- reading the cluster --------------------------------------------------------------------------------------


@dataclass(slots=True)
class ClusterView:
    """One read of everything status, analyze and check-inject look at."""

    istio_namespace: str
    snapshot: ClusterSnapshot
    model: RevisionModel
    #: namespace name -> labels as a namespaceSelector sees them
    namespace_labels: dict[str, dict[str, str]]
    #: the namespaces in scope (one, or all)
    namespaces: list[str]
    #: the pods of the namespaces in scope, in Kubernetes JSON form
    pods: list[dict[str, Any]]
    injectors: dict[str, RevisionInjector]
    all_namespaces: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def webhooks(self) -> list[InjectionWebhook]:
        return self.model.webhooks

    def labels_of(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace) or effective_namespace_labels(namespace, {})


def _configmap_data(client: Client, name: str, namespace: str) -> tuple[dict[str, str] | None, str | None]:
    """(data, None), or (None, why not): a missing or forbidden ConfigMap degrades the answer, never aborts it."""
    from lightkube.resources.core_v1 import ConfigMap

    try:
        with api_call("get", "configmaps", namespace=namespace, name=name):
            configmap = client.get(ConfigMap, name, namespace=namespace)
    except ClusterError as err:
        return None, "not found" if err.not_found else str(err)
    return {str(k): str(v) for k, v in (configmap.data or {}).items()}, None


def load_injectors(
    client: Client | None, snapshot: ClusterSnapshot, revisions: Iterable[str]
) -> dict[str, RevisionInjector]:
    """Each revision's injector from the snapshot's injector ConfigMaps (and the mesh ConfigMaps, when allowed)."""
    by_revision: dict[str, Mapping[str, Any]] = {}
    for configmap in snapshot.configmaps:
        name = configmap_revision(configmap)
        if name is not None:
            by_revision.setdefault(name, configmap)
    result: dict[str, RevisionInjector] = {}
    for revision in revisions:
        cm = by_revision.get(revision)
        if cm is None:
            result[revision] = RevisionInjector(
                revision,
                source=f"no injector ConfigMap for revision {revision} in {snapshot.istio_namespace}: "
                "policy assumed enabled, image unknown",
            )
            continue
        cm_name = str((cm.get("metadata") or {}).get("name") or "")
        mesh_name = MESH_CONFIGMAP + cm_name[len("istio-sidecar-injector") :]
        mesh: dict[str, str] | None = None
        if client is not None:
            mesh, _ = _configmap_data(client, mesh_name, snapshot.istio_namespace)
        data = {str(k): str(v) for k, v in (cm.get("data") or {}).items()}
        result[revision] = injector_from_configmaps(
            revision, data, mesh, source=f"ConfigMap {snapshot.istio_namespace}/{cm_name}"
        )
    return result


def resolve_namespace(client: Client, namespace: str | None, all_namespaces: bool) -> str | None:
    """The namespace in scope: the one given, None for all, else the kubeconfig context's (like kubectl)."""
    if all_namespaces:
        return None
    if namespace:
        return namespace
    return str(getattr(client, "namespace", None) or "default")


def load_view(
    client: Client,
    namespace: str | None,
    *,
    istio_namespace: str = "istio-system",
    with_pods: bool = True,
) -> ClusterView:
    """Read webhooks, revisions, namespaces and the pods of ``namespace`` (None: of every namespace).

    Raises :class:`ClusterError` when the cluster cannot be read or the namespace does not exist.
    """
    from lightkube.resources.core_v1 import Pod

    snapshot = collect(client, istio_namespace, pods=False)
    model = build_model(snapshot)
    labels = {name: dict(value) for name, value in model.namespace_labels.items()}
    if namespace is not None and namespace not in labels:
        raise ClusterError(f"namespace {namespace!r} not found (see `kubectl get namespaces`)", code=404)
    in_scope = sorted(labels) if namespace is None else [namespace]
    pods: list[dict[str, Any]] = []
    if with_pods:
        with api_call("list", "pods", namespace=namespace):
            pods = [p.to_dict() for p in client.list(Pod, namespace=namespace or "*")]
        pods.sort(key=lambda p: (str(p["metadata"].get("namespace")), str(p["metadata"].get("name"))))
    revisions = [r.name for r in model.revisions]
    warnings: list[str] = []
    injectors = load_injectors(client, snapshot, revisions)
    for injector in injectors.values():
        if not injector.readable:
            warnings.append(f"revision {injector.revision}: {injector.source}")
    return ClusterView(
        istio_namespace=istio_namespace,
        snapshot=snapshot,
        model=model,
        namespace_labels=labels,
        namespaces=in_scope,
        pods=pods,
        injectors=injectors,
        all_namespaces=namespace is None,
        warnings=warnings,
    )


def status_rows(view: ClusterView, *, now: datetime.datetime | None = None) -> list[PodStatus]:
    """The status of every pod of the view."""
    now = now or datetime.datetime.now(datetime.UTC)
    return [
        pod_status(
            pod,
            view.labels_of(str(pod["metadata"].get("namespace"))),
            view.webhooks,
            view.injectors,
            now=now,
        )
        for pod in view.pods
    ]
