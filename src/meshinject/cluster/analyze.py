"""``meshinject analyze``: injection problems of a cluster as findings with Istio's codes, plus meshinject's own.

Istio's codes keep Istio's level and message text (so scripts that grep ``istioctl analyze`` output keep
working); where meshinject knows more, the finding carries a ``detail`` line. meshinject's own codes cover what
Istio does not check:

- MI0001 (Error): a namespace's ``istio.io/rev`` label names no revision or tag, or one no active webhook serves;
  or ``istio-injection=enabled`` while nothing serves the default revision.
- MI0002 (Error): the same for a pod's own ``istio.io/rev`` label.
- MI0003 (Info): a revision no namespace or pod selects: safe to remove, or once the pods still running its proxy
  are restarted (only when every pod of the cluster was read).
- MI0004 (Warning): a pod the webhooks and the injector's policy would inject that has no sidecar (where IST0103
  does not already say so).
- MI0005 (Warning): a pod whose sidecar is of another revision than its labels select now, or an injected pod
  nothing would inject now.

Deliberate differences from istioctl: a native sidecar (an ``istio-proxy`` init container with
``restartPolicy: Always``) counts as a proxy for IST0103 and IST0158; IST0158 compares each pod with the image its
own revision injects now (tags resolved, ``global.variant`` and the mesh's image type applied).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from lightkube import Client

from meshinject.inject.config import DEFAULT_IGNORED_NAMESPACES

from .client import ClusterError, api_call
from .revisions import serving_webhooks
from .status import ClusterView, RevisionInjector, expected_injection, pod_revision, sidecar_info
from .webhooks import DEFAULT_REVISION, INJECTION_LABEL, REV_LABEL, InjectionWebhook, selector_matches_all

__all__ = [
    "CODES",
    "ERROR",
    "INFO",
    "LEVELS",
    "WARNING",
    "AnalysisInput",
    "Finding",
    "analyze",
    "exceeds",
    "input_from_view",
    "load_services",
]

ERROR: Final = "Error"
WARNING: Final = "Warning"
INFO: Final = "Info"
#: most severe first
LEVELS: Final = (ERROR, WARNING, INFO)

INJECT_KEY: Final = "sidecar.istio.io/inject"
STATUS_ANNOTATION: Final = "sidecar.istio.io/status"
PROXY_IMAGE_ANNOTATION: Final = "sidecar.istio.io/proxyImage"
_ISTIO_DOCS: Final = "https://istio.io/latest/docs/reference/config/analysis/{}/"

#: code -> (level, short name)
CODES: Final[Mapping[str, tuple[str, str]]] = {
    "IST0102": (INFO, "NamespaceNotInjected"),
    "IST0103": (WARNING, "PodMissingProxy"),
    "IST0123": (WARNING, "NamespaceMultipleInjectionLabels"),
    "IST0139": (ERROR, "InvalidWebhook"),
    "IST0158": (WARNING, "PodsIstioProxyImageMismatchInNamespace"),
    "MI0001": (ERROR, "NamespaceRevisionUnknown"),
    "MI0002": (ERROR, "PodRevisionUnknown"),
    "MI0003": (INFO, "RevisionUnused"),
    "MI0004": (WARNING, "PodNotInjected"),
    "MI0005": (WARNING, "PodOnOtherRevision"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    kind: str
    name: str
    message: str
    namespace: str | None = None
    detail: str = ""

    @property
    def level(self) -> str:
        return CODES[self.code][0]

    @property
    def origin(self) -> str:
        """``Namespace foo``, ``Pod ns/name``, ``MutatingWebhookConfiguration name``: istioctl's resource names."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def log_line(self) -> str:
        """The line istioctl analyze prints: ``Warning [IST0123] (Namespace foo) The namespace has ...``."""
        return f"{self.level} [{self.code}] ({self.origin}) {self.message}"

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "code": self.code,
            "name": CODES[self.code][1],
            "level": self.level,
            "origin": self.origin,
            "kind": self.kind,
            "resource": self.name,
            "namespace": self.namespace,
            "message": self.message,
        }
        if self.detail:
            result["detail"] = self.detail
        if self.code.startswith("IST"):
            result["documentationUrl"] = _ISTIO_DOCS.format(self.code.lower())
        return result


def exceeds(findings: Iterable[Finding], threshold: str) -> bool:
    """Whether any finding is at least as severe as ``threshold`` (istioctl's ``--failure-threshold``)."""
    limit = LEVELS.index(threshold)
    return any(LEVELS.index(f.level) <= limit for f in findings)


@dataclass(slots=True)
class AnalysisInput:
    """Everything the analyzers read; built from a :class:`ClusterView` or by hand in tests."""

    webhooks: list[InjectionWebhook]
    #: namespace -> its labels, for every namespace of the cluster
    namespace_labels: dict[str, dict[str, str]]
    #: the namespaces to report on
    namespaces: list[str]
    #: the pods of those namespaces
    pods: list[dict[str, Any]]
    injectors: dict[str, RevisionInjector] = field(default_factory=dict)
    #: revision names of the cluster, and tag -> revision
    revisions: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    #: (namespace, name) of services webhooks point at -> exists (None: could not be checked)
    services: dict[tuple[str, str], bool | None] = field(default_factory=dict)
    istio_namespace: str = "istio-system"
    #: the pods are every pod of the cluster, so "unused" can be concluded
    complete: bool = False
    ignored_namespaces: tuple[str, ...] = DEFAULT_IGNORED_NAMESPACES

    def labels_of(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace) or {"kubernetes.io/metadata.name": namespace}

    def resolve(self, name: str) -> str | None:
        if name in self.revisions:
            return name
        return self.tags.get(name)


def input_from_view(view: ClusterView, services: dict[tuple[str, str], bool | None] | None = None) -> AnalysisInput:
    return AnalysisInput(
        webhooks=list(view.webhooks),
        namespace_labels=view.namespace_labels,
        namespaces=list(view.namespaces),
        pods=view.pods,
        injectors=view.injectors,
        revisions=[r.name for r in view.model.revisions],
        tags={t.name: t.revision for t in view.model.tags},
        services=services or {},
        istio_namespace=view.istio_namespace,
        complete=view.all_namespaces,
    )


def load_services(client: Client, webhooks: Iterable[InjectionWebhook]) -> dict[tuple[str, str], bool | None]:
    """Whether each Service the webhooks call exists (None when it could not be checked, e.g. forbidden)."""
    from lightkube.resources.core_v1 import Service

    result: dict[tuple[str, str], bool | None] = {}
    for wh in webhooks:
        cc = wh.client_config
        if not cc.service_name or not cc.service_namespace:
            continue
        key = (cc.service_namespace, cc.service_name)
        if key in result:
            continue
        try:
            with api_call("get", "services", namespace=key[0], name=key[1]):
                client.get(Service, key[1], namespace=key[0])
            result[key] = True
        except ClusterError as err:
            result[key] = False if err.not_found else None
    return result


# -- helpers --------------------------------------------------------------------------------------------------


def _go_list(items: Sequence[str]) -> str:
    """A Go ``%v`` of a ``[]string``: ``[a b c]``."""
    return "[" + " ".join(items) + "]"


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def _is_system(namespace: str, data: AnalysisInput) -> bool:
    return namespace == data.istio_namespace or namespace in data.ignored_namespaces


def _pod_gone(pod: Mapping[str, Any]) -> bool:
    """Completed, failed or being deleted: nothing to restart."""
    phase = (pod.get("status") or {}).get("phase")
    return bool(_meta(pod).get("deletionTimestamp")) or phase in ("Succeeded", "Failed")


def _known(data: AnalysisInput) -> str:
    revisions = ", ".join(data.revisions) or "none"
    tags = ", ".join(sorted(data.tags)) or "none"
    return f"revisions: {revisions}; tags: {tags}"


def _serves(data: AnalysisInput, value: str, *, on_namespace: bool) -> bool:
    """Whether some active webhook injects for ``istio.io/rev=value`` (on a namespace, or on a pod)."""
    if on_namespace:
        return bool(serving_webhooks(data.webhooks, {REV_LABEL: value}))
    pod = {"metadata": {"labels": {REV_LABEL: value}}}
    matched = [
        wh
        for wh in data.webhooks
        if not wh.deactivated
        and selector_matches_all(wh.namespace_selector, {"kubernetes.io/metadata.name": "meshinject-probe"})
        and selector_matches_all(wh.object_selector, pod["metadata"]["labels"])
    ]
    return bool(matched)


# -- analyzers ------------------------------------------------------------------------------------------------


def _namespace_findings(data: AnalysisInput) -> list[Finding]:
    findings: list[Finding] = []
    for ns in data.namespaces:
        if _is_system(ns, data):
            continue
        labels = data.labels_of(ns)
        legacy = labels.get(INJECTION_LABEL)
        rev = labels.get(REV_LABEL)
        if legacy is None and rev is None:
            # Like Istio, except that a namespace some webhook injects anyway (enableNamespacesByDefault-style
            # selectors) is not "not enabled".
            if not serving_webhooks(data.webhooks, labels, ns):
                findings.append(
                    Finding(
                        "IST0102",
                        "Namespace",
                        ns,
                        f"The namespace is not enabled for Istio injection. Run 'kubectl label namespace {ns} "
                        f"istio-injection=enabled' to enable it, or 'kubectl label namespace {ns} "
                        "istio-injection=disabled' to explicitly mark it as not needing injection.",
                        detail=f"with revisions: `meshinject enable {ns} --revision REV`",
                    )
                )
            continue
        if legacy is not None and rev is not None:
            findings.append(
                Finding(
                    "IST0123",
                    "Namespace",
                    ns,
                    f"The namespace has both new and legacy injection labels. Run 'kubectl label namespace {ns} "
                    f"istio.io/rev-' or 'kubectl label namespace {ns} istio-injection-'",
                    detail=_both_labels_detail(data, ns, legacy, rev),
                )
            )
        if rev is not None:
            finding = _unknown_revision(data, rev, kind="Namespace", name=ns, namespace=None)
            if finding is not None:
                findings.append(finding)
        elif legacy == "enabled" and not serving_webhooks(data.webhooks, labels, ns):
            findings.append(
                Finding(
                    "MI0001",
                    "Namespace",
                    ns,
                    f"The namespace's label {INJECTION_LABEL}=enabled is answered by no active injection webhook "
                    "(no default revision, no `default` tag): no webhook injects a sidecar for it.",
                )
            )
    return findings


def _both_labels_detail(data: AnalysisInput, ns: str, legacy: str, rev: str) -> str:
    served = serving_webhooks(data.webhooks, data.labels_of(ns), ns)
    revisions = []
    for wh in served:
        name = wh.revision or DEFAULT_REVISION
        if name not in revisions:
            revisions.append(name)
    if not revisions:
        who = "no webhook injects pods here"
    else:
        who = f"pods get revision {', '.join(revisions)}"
    target = data.resolve(rev)
    ignored = target is not None and target not in revisions
    note = f": auto-injection does not use istio.io/rev={rev}" if ignored else ""
    return (
        f"{INJECTION_LABEL}={legacy} and {REV_LABEL}={rev}: {who}{note}; "
        f"keep one (`meshinject enable {ns} --revision {rev}` removes {INJECTION_LABEL})"
    )


def _unknown_revision(
    data: AnalysisInput, value: str, *, kind: str, name: str, namespace: str | None
) -> Finding | None:
    code = "MI0001" if kind == "Namespace" else "MI0002"
    subject = "namespace's" if kind == "Namespace" else "pod's"
    target = data.resolve(value)
    if target is None:
        return Finding(
            code,
            kind,
            name,
            f"The {subject} label {REV_LABEL}={value} names no revision or tag of this cluster ({_known(data)}): "
            "no webhook injects a sidecar for it.",
            namespace=namespace,
        )
    if not _serves(data, value, on_namespace=kind == "Namespace"):
        via = f"tag {value} of revision {target}" if target != value else f"revision {value}"
        return Finding(
            code,
            kind,
            name,
            f"The {subject} label {REV_LABEL}={value} names {via}, but no active injection webhook answers to it.",
            namespace=namespace,
        )
    return None


def _pod_findings(data: AnalysisInput) -> list[Finding]:
    findings: list[Finding] = []
    stale: dict[str, list[str]] = {}
    for pod in data.pods:
        meta = _meta(pod)
        ns = str(meta.get("namespace") or "")
        name = str(meta.get("name") or "")
        labels = meta.get("labels") or {}
        annotations = meta.get("annotations") or {}
        spec = pod.get("spec") or {}
        sidecar = sidecar_info(pod)
        ns_labels = data.labels_of(ns)

        rev_label = labels.get(REV_LABEL)
        if rev_label is not None and not _is_system(ns, data):
            finding = _unknown_revision(data, str(rev_label), kind="Pod", name=name, namespace=ns)
            if finding is not None:
                findings.append(finding)

        ist0103 = False
        if not _is_system(ns, data) and _istio_injected_namespace(ns_labels):
            inject = str(annotations.get(INJECT_KEY, ""))
            if INJECT_KEY in labels:
                inject = str(labels[INJECT_KEY])
            if inject.lower() != "false" and not spec.get("hostNetwork") and not sidecar.present:
                ist0103 = True
                findings.append(
                    Finding(
                        "IST0103",
                        "Pod",
                        name,
                        f"The pod {ns}/{name} is missing the Istio proxy. This can often be resolved by "
                        "restarting or redeploying the workload.",
                        namespace=ns,
                    )
                )

        if _pod_gone(pod):
            continue
        expectation = expected_injection(
            pod, ns, ns_labels, data.webhooks, data.injectors, ignored_namespaces=data.ignored_namespaces
        )
        if expectation.wants_sidecar and not sidecar.present and not ist0103:
            findings.append(
                Finding(
                    "MI0004",
                    "Pod",
                    name,
                    f"The pod {ns}/{name} has no Istio proxy, but {expectation.reason()}: restart it.",
                    namespace=ns,
                )
            )
        running = pod_revision(pod) if sidecar.present else None
        if sidecar.present and expectation.wants_sidecar and running is not None and running != expectation.revision:
            findings.append(
                Finding(
                    "MI0005",
                    "Pod",
                    name,
                    f"The pod {ns}/{name} runs revision {running}'s proxy, but its namespace and pod labels now "
                    f"select revision {expectation.revision}: restart it to move it.",
                    namespace=ns,
                )
            )
        elif (
            sidecar.present
            and not expectation.wants_sidecar
            and STATUS_ANNOTATION in annotations
            and not _is_system(ns, data)
        ):
            findings.append(
                Finding(
                    "MI0005",
                    "Pod",
                    name,
                    f"The pod {ns}/{name} runs revision {running or 'unknown'}'s proxy, but no injector would give "
                    "it a sidecar now: restart it to remove the proxy (unless the workload's manifest carries it).",
                    namespace=ns,
                    detail=expectation.reason(),
                )
            )
        if sidecar.present and sidecar.image and not annotations.get(PROXY_IMAGE_ANNOTATION):
            own = running or expectation.revision
            injector = data.injectors.get(data.resolve(own) or own) if own else None
            wanted = injector.proxy_image(annotations) if injector is not None else None
            if wanted is not None and wanted != sidecar.image:
                stale.setdefault(ns, []).append(name)
    for ns, names in sorted(stale.items()):
        findings.append(
            Finding(
                "IST0158",
                "Namespace",
                ns,
                "The Istio proxy images of the pods running in the namespace do not match the image defined in the "
                f"injection configuration (pod names: {_go_list(names)}). This often happens after upgrading the "
                "Istio control-plane and can be fixed by redeploying the pods.",
            )
        )
    return findings


def _istio_injected_namespace(labels: Mapping[str, str]) -> bool:
    """Istio's notion for IST0103: ``istio.io/rev`` alone, or ``istio-injection=enabled`` alone."""
    legacy = labels.get(INJECTION_LABEL)
    rev = labels.get(REV_LABEL)
    if rev is not None:
        return legacy is None
    return legacy == "enabled"


def _webhook_findings(data: AnalysisInput) -> list[Finding]:
    findings: list[Finding] = []
    revisions: set[str] = set()
    for wh in data.webhooks:
        if wh.revision:
            revisions.add(wh.revision)
        for selector in (wh.namespace_selector, wh.object_selector):
            if not selector:
                continue
            value = (selector.get("matchLabels") or {}).get(REV_LABEL)
            if value:
                revisions.add(str(value))
            for expr in selector.get("matchExpressions") or []:
                if expr.get("key") == REV_LABEL:
                    revisions.update(str(v) for v in expr.get("values") or [])
    # Istio's probe: namespace and pod label sets an injector must answer at most once.
    ns_bases: list[dict[str, str]] = [{}, {INJECTION_LABEL: "enabled"}, {INJECTION_LABEL: "disabled"}]
    obj_bases: list[dict[str, str]] = [{}, {INJECT_KEY: "true"}, {INJECT_KEY: "false"}]
    ns_sets = list(ns_bases) + [{**base, REV_LABEL: rev} for rev in sorted(revisions) for base in ns_bases]
    obj_sets = list(obj_bases) + [{**base, REV_LABEL: rev} for rev in sorted(revisions) for base in obj_bases]
    overlaps: dict[str, set[str]] = {}
    for ns_labels in ns_sets:
        for obj_labels in obj_sets:
            matches = [
                f"{wh.config_name}/{wh.webhook_name}"
                for wh in data.webhooks
                if selector_matches_all(wh.namespace_selector, ns_labels)
                and selector_matches_all(wh.object_selector, obj_labels)
            ]
            if len(set(matches)) > 1:
                for match in matches:
                    overlaps.setdefault(match, set()).update(m for m in matches if m != match)
    for key in sorted(overlaps):
        config = key.split("/", 1)[0]
        findings.append(
            Finding(
                "IST0139",
                "MutatingWebhookConfiguration",
                config,
                f"Webhook overlaps with others: {_go_list(sorted(overlaps[key]))}. "
                "This may cause injection to occur twice.",
                detail=f"webhook {key}",
            )
        )
    reported: set[tuple[str, str, str]] = set()
    for wh in data.webhooks:
        cc = wh.client_config
        if not cc.service_name or not cc.service_namespace:
            continue
        service = (cc.service_namespace, cc.service_name)
        if data.services.get(service) is False and (wh.config_name, *service) not in reported:
            reported.add((wh.config_name, *service))
            findings.append(
                Finding(
                    "IST0139",
                    "MutatingWebhookConfiguration",
                    wh.config_name,
                    f"Injector refers to a control plane service that does not exist: {service[0]}/{service[1]}.",
                    detail=f"webhook {wh.webhook_name}",
                )
            )
    return findings


def _unused_revision_findings(data: AnalysisInput) -> list[Finding]:
    """MI0003: only when every pod of the cluster was read, else "unused" cannot be concluded."""
    if not data.complete:
        return []
    used: set[str] = set()
    running: dict[str, int] = {}
    for ns in data.namespace_labels:
        for wh in serving_webhooks(data.webhooks, data.labels_of(ns), ns):
            used.add(wh.revision or DEFAULT_REVISION)
    for pod in data.pods:
        meta = _meta(pod)
        ns = str(meta.get("namespace") or "")
        expectation = expected_injection(
            pod, ns, data.labels_of(ns), data.webhooks, data.injectors, ignored_namespaces=data.ignored_namespaces
        )
        for wh in expectation.webhooks:
            used.add(wh.revision or DEFAULT_REVISION)
        if sidecar_info(pod).present and not _pod_gone(pod):
            own = pod_revision(pod)
            if own is not None:
                own = data.resolve(own) or own
                running[own] = running.get(own, 0) + 1
    findings: list[Finding] = []
    for revision in data.revisions:
        if revision in used:
            continue
        tags = sorted(t for t, target in data.tags.items() if target == revision)
        tag_note = f" Its tags {_go_list(tags)} point at it: move or remove them too." if tags else ""
        count = running.get(revision, 0)
        if count:
            message = (
                f"Revision {revision} is not selected by any namespace or pod, but {count} pod(s) still run its "
                "proxy: restart them (`meshinject restart`) before removing it." + tag_note
            )
        else:
            message = (
                f"Revision {revision} is not selected by any namespace or pod and no pod runs its proxy: it is "
                "safe to remove." + tag_note
            )
        findings.append(Finding("MI0003", "Revision", revision, message))
    return findings


def analyze(data: AnalysisInput) -> list[Finding]:
    """Every finding, most severe first, then by code and resource."""
    findings = [
        *_webhook_findings(data),
        *_namespace_findings(data),
        *_pod_findings(data),
        *_unused_revision_findings(data),
    ]
    return sorted(findings, key=lambda f: (LEVELS.index(f.level), f.code, f.origin))
