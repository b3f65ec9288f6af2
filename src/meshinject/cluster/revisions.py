"""The control-plane revisions of a cluster, their tags, and who uses them.

A revision exists when anything of it is installed: istiod pods labelled ``istio.io/rev`` (``app=istiod`` in the
Istio namespace), an injector ConfigMap ``istio-sidecar-injector[-REV]``, or a MutatingWebhookConfiguration
labelled ``istio.io/rev``. A tag is a webhook configuration labelled ``istio.io/tag`` that serves another
revision's injector under a second name.

Which namespaces use a revision is computed from the webhooks' selectors (what the API server will do when a
pod is created there), never from the label values alone: a namespace labelled both ``istio-injection=enabled``
and ``istio.io/rev=canary`` is injected by the default revision, and a label naming nothing is injected by
nothing. :func:`collect` reads the cluster; :func:`build_model` is the pure part.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import yaml
from lightkube import Client

from .client import api_call
from .webhooks import (
    DEFAULT_REVISION,
    INJECTION_LABEL,
    REV_LABEL,
    InjectionWebhook,
    matching_webhooks,
    parse_webhook_configurations,
)

__all__ = [
    "DEFAULT_ISTIO_NAMESPACE",
    "ClusterSnapshot",
    "ControlPlanePod",
    "Revision",
    "RevisionModel",
    "Tag",
    "build_model",
    "collect",
    "configmap_revision",
    "describe_targets",
    "image_version",
    "namespace_selection_labels",
    "pod_injected_revision",
    "serving_webhooks",
]

DEFAULT_ISTIO_NAMESPACE: Final = "istio-system"
INJECTOR_CONFIGMAP: Final = "istio-sidecar-injector"
STATUS_ANNOTATION: Final = "sidecar.istio.io/status"


@dataclass(frozen=True, slots=True)
class ControlPlanePod:
    name: str
    revision: str
    ready: bool
    phase: str
    images: tuple[str, ...]


@dataclass(slots=True)
class Revision:
    """One control-plane revision and everything that points at it."""

    name: str
    tags: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    #: from the istiod image tags, else the injector ConfigMap's ``global.tag``
    version: str | None = None
    pods: list[ControlPlanePod] = field(default_factory=list)
    #: the revision's own webhook configurations (tags' configurations are listed on the tags)
    webhook_configurations: list[str] = field(default_factory=list)
    configmaps: list[str] = field(default_factory=list)
    #: namespaces where a pod without injection labels is injected by this revision (directly or via a tag)
    namespaces: list[str] = field(default_factory=list)
    #: ``namespace/name`` of pods whose sidecar this revision injected
    injected_pods: list[str] = field(default_factory=list)
    #: whether some active webhook (own or a tag's) answers to ``istio.io/rev=NAME`` on a namespace
    serving: bool = False

    @property
    def pods_ready(self) -> int:
        return sum(1 for pod in self.pods if pod.ready)

    @property
    def pods_total(self) -> int:
        return len(self.pods)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tags": list(self.tags),
            "version": self.version,
            "images": list(self.images),
            "controlPlanePods": {
                "ready": self.pods_ready,
                "total": self.pods_total,
                "pods": [{"name": p.name, "ready": p.ready, "phase": p.phase} for p in self.pods],
            },
            "webhookConfigurations": list(self.webhook_configurations),
            "configMaps": list(self.configmaps),
            "serving": self.serving,
            "namespaces": list(self.namespaces),
            "injectedPods": len(self.injected_pods),
            "injectedPodNames": list(self.injected_pods),
        }


@dataclass(slots=True)
class Tag:
    """A revision tag: ``istio-revision-tag-NAME`` serving ``revision``'s injector."""

    name: str
    revision: str
    webhook_configurations: list[str] = field(default_factory=list)
    #: namespaces whose pods this tag's webhooks inject (evaluated through the selectors)
    namespaces: list[str] = field(default_factory=list)
    #: ``namespace/name`` of pods whose own ``istio.io/rev`` label names this tag
    labelled_pods: list[str] = field(default_factory=list)
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.name,
            "revision": self.revision,
            "webhookConfigurations": list(self.webhook_configurations),
            "namespaces": list(self.namespaces),
            "labelledPods": list(self.labelled_pods),
            "active": self.active,
        }


@dataclass(slots=True)
class RevisionModel:
    revisions: list[Revision]
    tags: list[Tag]
    webhooks: list[InjectionWebhook]
    #: namespace name -> revisions that would inject an unlabelled pod there (more than one is a conflict)
    namespace_revisions: dict[str, list[str]]
    #: namespace name -> its labels (with ``kubernetes.io/metadata.name``)
    namespace_labels: dict[str, dict[str, str]]

    def revision(self, name: str) -> Revision | None:
        return next((r for r in self.revisions if r.name == name), None)

    def tag(self, name: str) -> Tag | None:
        return next((t for t in self.tags if t.name == name), None)

    def resolve(self, name: str) -> str | None:
        """The revision a ``istio.io/rev`` value means: a revision's own name, or the revision a tag points at."""
        if self.revision(name) is not None:
            return name
        tag = self.tag(name)
        return tag.revision if tag is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "revisions": [r.to_dict() for r in self.revisions],
            "tags": [t.to_dict() for t in self.tags],
        }


@dataclass(slots=True)
class ClusterSnapshot:
    """What :func:`build_model` needs, in Kubernetes JSON form."""

    istio_namespace: str
    webhook_configurations: list[dict[str, Any]]
    istiod_pods: list[dict[str, Any]]
    configmaps: list[dict[str, Any]]
    namespaces: list[dict[str, Any]]
    #: every pod of the cluster, or None when pods were not read
    pods: list[dict[str, Any]] | None = None


# -- pure helpers ---------------------------------------------------------------------------------------------


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (_meta(obj).get("labels") or {}).items()}


def image_version(image: str) -> str | None:
    """The tag of a container image reference (``docker.io/istio/pilot:1.24.2`` -> ``1.24.2``), without digest."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1] or None


def configmap_revision(configmap: Mapping[str, Any]) -> str | None:
    """The revision an injector ConfigMap belongs to, or None when it is not one.

    The ``istio.io/rev`` label decides when present; otherwise the name: ``istio-sidecar-injector`` is the default
    revision and ``istio-sidecar-injector-REV`` revision REV.
    """
    name = str(_meta(configmap).get("name") or "")
    if name != INJECTOR_CONFIGMAP and not name.startswith(INJECTOR_CONFIGMAP + "-"):
        return None
    label = _labels(configmap).get(REV_LABEL)
    if label:
        return label
    return name[len(INJECTOR_CONFIGMAP) + 1 :] or DEFAULT_REVISION


def _configmap_version(configmap: Mapping[str, Any]) -> str | None:
    """``global.tag`` of the injector ConfigMap's ``values`` (JSON in Istio's charts; YAML accepted)."""
    raw = (configmap.get("data") or {}).get("values")
    if not raw:
        return None
    try:
        values = yaml.load(raw, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(values, dict):
        return None
    tag = (values.get("global") or {}).get("tag")
    return str(tag) if tag not in (None, "") else None


def pod_injected_revision(pod: Mapping[str, Any]) -> str | None:
    """The revision that injected a pod's sidecar, or None when the pod was not injected.

    The injector writes ``sidecar.istio.io/status`` on every pod it injects, and the revision into the
    ``istio.io/rev`` annotation and the status's ``revision`` field (absent in old Istio: the default revision).
    """
    annotations = _meta(pod).get("annotations") or {}
    status = annotations.get(STATUS_ANNOTATION)
    if not status:
        return None
    revision = annotations.get(REV_LABEL)
    if not revision:
        try:
            parsed = json.loads(status)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            revision = parsed.get("revision")
    return str(revision) if revision else DEFAULT_REVISION


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _istiod_pod(pod: Mapping[str, Any]) -> ControlPlanePod:
    spec = pod.get("spec") or {}
    images = tuple(str(c.get("image") or "") for c in spec.get("containers") or [] if c.get("image"))
    return ControlPlanePod(
        name=str(_meta(pod).get("name") or ""),
        revision=_labels(pod).get(REV_LABEL) or DEFAULT_REVISION,
        ready=_pod_ready(pod),
        phase=str((pod.get("status") or {}).get("phase") or "Unknown"),
        images=images,
    )


def serving_webhooks(
    webhooks: Iterable[InjectionWebhook], namespace_labels: Mapping[str, str], namespace: str = "meshinject-probe"
) -> list[InjectionWebhook]:
    """The active webhooks that would inject an unlabelled pod in a namespace labelled ``namespace_labels``."""
    return [wh for wh in matching_webhooks(webhooks, namespace, namespace_labels, {}) if not wh.deactivated]


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def build_model(snapshot: ClusterSnapshot) -> RevisionModel:
    """Revisions and tags of a cluster, with their users, from a snapshot (no API calls)."""
    webhooks = parse_webhook_configurations(snapshot.webhook_configurations)
    revisions: dict[str, Revision] = {}

    def rev(name: str) -> Revision:
        if name not in revisions:
            revisions[name] = Revision(name)
        return revisions[name]

    for raw_pod in snapshot.istiod_pods:
        istiod = _istiod_pod(raw_pod)
        entry = rev(istiod.revision)
        entry.pods.append(istiod)
        for image in istiod.images:
            _add(entry.images, image)

    configmap_versions: dict[str, str] = {}
    for cm in snapshot.configmaps:
        name = configmap_revision(cm)
        if name is None:
            continue
        _add(rev(name).configmaps, str(_meta(cm).get("name")))
        version = _configmap_version(cm)
        if version:
            configmap_versions.setdefault(name, version)

    tags: dict[str, Tag] = {}
    for wh in webhooks:
        target = wh.revision or DEFAULT_REVISION
        entry = rev(target)
        if wh.tag is None:
            _add(entry.webhook_configurations, wh.config_name)
            continue
        tag = tags.setdefault(wh.tag, Tag(wh.tag, target))
        _add(tag.webhook_configurations, wh.config_name)
        _add(entry.tags, wh.tag)

    for entry in revisions.values():
        versions = [v for v in (image_version(i) for i in entry.images) if v]
        entry.version = versions[0] if versions else configmap_versions.get(entry.name)

    for tag in tags.values():
        tag_hooks = [wh for wh in webhooks if wh.tag == tag.name]
        tag.active = bool(tag_hooks) and not all(wh.deactivated for wh in tag_hooks)

    # Serving: a namespace labelled istio.io/rev=NAME gets a sidecar from some active webhook of that revision.
    for entry in revisions.values():
        served = serving_webhooks(webhooks, {REV_LABEL: entry.name})
        entry.serving = any((wh.revision or DEFAULT_REVISION) == entry.name for wh in served)

    namespace_revisions: dict[str, list[str]] = {}
    namespace_labels: dict[str, dict[str, str]] = {}
    for ns in sorted(snapshot.namespaces, key=lambda n: str(_meta(n).get("name"))):
        ns_name = str(_meta(ns).get("name") or "")
        labels = _labels(ns)
        labels.setdefault("kubernetes.io/metadata.name", ns_name)
        namespace_labels[ns_name] = labels
        matched = [wh for wh in matching_webhooks(webhooks, ns_name, labels, {}) if not wh.deactivated]
        names: list[str] = []
        for wh in matched:
            target = wh.revision or DEFAULT_REVISION
            _add(names, target)
            _add(rev(target).namespaces, ns_name)
            if wh.tag is not None:
                _add(tags[wh.tag].namespaces, ns_name)
        namespace_revisions[ns_name] = names

    for pod in snapshot.pods or []:
        meta = _meta(pod)
        ref = f"{meta.get('namespace')}/{meta.get('name')}"
        injected = pod_injected_revision(pod)
        if injected is not None:
            # a pod records the revision name, but tolerate a tag there too
            if injected not in revisions and injected in tags:
                injected = tags[injected].revision
            _add(rev(injected).injected_pods, ref)
        # a pod that picks a tag with its own label: counted only when the tag's selectors really catch it
        # (istiod's own pods carry istio.io/rev too, but opt out with sidecar.istio.io/inject=false)
        pod_labels = _labels(pod)
        label = pod_labels.get(REV_LABEL)
        if label is not None and label in tags:
            ns_name = str(meta.get("namespace") or "")
            ns_labels = namespace_labels.get(ns_name, {})
            hooks = matching_webhooks(webhooks, ns_name, ns_labels, pod_labels)
            if any(wh.tag == label and not wh.deactivated for wh in hooks):
                _add(tags[label].labelled_pods, ref)

    ordered = sorted(revisions.values(), key=lambda r: (r.name != DEFAULT_REVISION, r.name))
    for entry in ordered:
        entry.tags.sort()
    return RevisionModel(
        revisions=ordered,
        tags=sorted(tags.values(), key=lambda t: t.name),
        webhooks=webhooks,
        namespace_revisions=namespace_revisions,
        namespace_labels=namespace_labels,
    )


# -- reading the cluster --------------------------------------------------------------------------------------


def collect(client: Client, istio_namespace: str = DEFAULT_ISTIO_NAMESPACE, *, pods: bool = True) -> ClusterSnapshot:
    """Read what :func:`build_model` needs: webhooks, istiod pods, injector ConfigMaps, namespaces, (all) pods."""
    from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod

    from .webhooks import list_webhook_configurations

    configs = list_webhook_configurations(client)
    with api_call("list", "pods", namespace=istio_namespace):
        istiod = [p.to_dict() for p in client.list(Pod, namespace=istio_namespace, labels={"app": "istiod"})]
    with api_call("list", "configmaps", namespace=istio_namespace):
        configmaps = [
            cm.to_dict()
            for cm in client.list(ConfigMap, namespace=istio_namespace)
            if configmap_revision(cm.to_dict()) is not None
        ]
    with api_call("list", "namespaces"):
        namespaces = [ns.to_dict() for ns in client.list(Namespace)]
    all_pods: list[dict[str, Any]] | None = None
    if pods:
        with api_call("list", "pods (all namespaces)"):
            all_pods = [_slim_pod(p.to_dict()) for p in client.list(Pod, namespace="*")]
    return ClusterSnapshot(
        istio_namespace=istio_namespace,
        webhook_configurations=configs,
        istiod_pods=istiod,
        configmaps=configmaps,
        namespaces=namespaces,
        pods=all_pods,
    )


def _slim_pod(pod: Mapping[str, Any]) -> dict[str, Any]:
    """Only the metadata the model reads: a large cluster's pods are otherwise held in memory whole."""
    meta = _meta(pod)
    return {
        "metadata": {
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "labels": meta.get("labels") or {},
            "annotations": {
                k: v for k, v in (meta.get("annotations") or {}).items() if k in (STATUS_ANNOTATION, REV_LABEL)
            },
        }
    }


def namespace_selection_labels(revision_or_tag: str | None) -> dict[str, str]:
    """The labels ``enable`` gives a namespace: ``istio.io/rev=NAME``, or ``istio-injection=enabled`` for None."""
    if revision_or_tag is None:
        return {INJECTION_LABEL: "enabled"}
    return {REV_LABEL: revision_or_tag}


def describe_targets(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "(none)"
