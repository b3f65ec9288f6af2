"""Offline injection of manifests (what ``istioctl kube-inject`` does), document by document.

Workload kinds are located by kind name (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob, DeploymentConfig, List); their pod template is injected and the object is
re-serialised the way Go does (typed JSON, then the go-yaml emitter). Any other document is copied byte for byte.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshinject.gotemplate import goyaml

from . import kubetypes
from .config import InjectorConfig
from .decide import decide
from .injector import InjectionError, InjectionParams, inject_pod
from .resolve import deploy_meta_from_pod, kube_inject_mesh, native_sidecars_enabled

WORKLOAD_KINDS = kubetypes.WORKLOAD_KINDS


class DocumentError(InjectionError):
    """A document could not be injected; names the document index, kind, name and field."""

    def __init__(self, message: str, *, index: int, kind: str = "", name: str = "") -> None:
        where = f"document {index}"
        if kind:
            where += f" ({kind} {name!r})" if name else f" ({kind})"
        super().__init__(f"{where}: {message}")
        self.index = index
        self.kind = kind
        self.name = name


@dataclass(slots=True)
class DocumentResult:
    index: int
    kind: str
    name: str
    #: the document as written out (injected, re-serialised, or the original bytes), without the ``---``
    text: str
    injected: bool = False
    error: DocumentError | None = None
    warnings: list[str] = field(default_factory=list)
    #: decision summary for people: why this workload was (not) injected
    reason: str = ""
    original: Any = None
    result: Any = None


def split_documents(text: str) -> list[str]:
    """Split a YAML stream on lines starting with ``---`` (Kubernetes' YAML reader rules); drop empty ones."""
    docs: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("---"):
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):
                raise ValueError(f"invalid document separator: {line.rstrip()!r}")
            docs.append("".join(current))
            current = []
            continue
        current.append(line)
    docs.append("".join(current))
    return [d for d in docs if d]


@dataclass(slots=True)
class KubeInjectSettings:
    """The settings of the offline path: only the templates of the configuration are used (as istioctl)."""

    config: InjectorConfig
    revision: str = ""
    nodes: Sequence[Mapping[str, str]] | None = None


def _pod_locations(
    obj: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, str]]:
    """(pod metadata, pod spec, type meta, deployment meta) for a workload object; raises KeyError-like errors."""
    kind = obj.get("kind", "")
    meta = obj.get("metadata") or {}
    type_meta = {"kind": kind, "apiVersion": obj.get("apiVersion", "")}
    deploy_meta = {"name": meta.get("name") or "", "namespace": meta.get("namespace") or ""}
    spec = obj.get("spec")
    if kind == "Pod":
        deploy_meta, type_meta = deploy_meta_from_pod(obj)
        return obj.setdefault("metadata", {}), obj.setdefault("spec", {}), type_meta, deploy_meta
    if not isinstance(spec, dict):
        raise ValueError("spec is required")
    if kind == "CronJob":
        job = spec.get("jobTemplate")
        if not isinstance(job, dict) or not isinstance((job.get("spec") or {}).get("template"), dict):
            raise ValueError("spec.jobTemplate.spec.template is required value")
        # Quirk kept from Istio: the pod metadata used and written back is the job template's metadata.
        pod_meta = job.setdefault("metadata", {})
        return pod_meta, job["spec"]["template"].setdefault("spec", {}), type_meta, deploy_meta
    template = spec.get("template")
    if not isinstance(template, dict):
        raise ValueError("spec.template is required value")
    return template.setdefault("metadata", {}), template.setdefault("spec", {}), type_meta, deploy_meta


def inject_object(
    obj: dict[str, Any], settings: KubeInjectSettings, warn: Callable[[str], None]
) -> tuple[dict[str, Any], bool, str]:
    """Inject one decoded workload object in place; returns (object, injected?, reason)."""
    if obj.get("kind") == "List":
        injected_any = False
        reasons = []
        for i, item in enumerate(obj.get("items") or []):
            if isinstance(item, dict) and item.get("kind") in WORKLOAD_KINDS:
                new, injected, reason = inject_object(kubetypes.normalize(item), settings, warn)
                obj["items"][i] = new
                injected_any = injected_any or injected
                reasons.append(f"items[{i}]: {reason}")
        return obj, injected_any, "; ".join(reasons)
    pod_meta, pod_spec, type_meta, deploy_meta = _pod_locations(obj)
    name = pod_meta.get("name") or deploy_meta["name"]
    namespace = pod_meta.get("namespace") or deploy_meta["namespace"]
    full_name = f"{deploy_meta['namespace']}/{name}" if deploy_meta["namespace"] else name
    kind = type_meta.get("kind", "")
    described = f'{kind} "{full_name}"' if kind else f'"{full_name}"'
    if pod_spec.get("hostNetwork"):
        warn(f"===> Skipping injection because {described} has host networking enabled\n")
        return obj, False, "host networking enabled"
    pod = {"metadata": copy.deepcopy(pod_meta), "spec": copy.deepcopy(pod_spec)}
    config = settings.config
    mesh = kube_inject_mesh(config.mesh, pod_meta)
    decision = decide(
        pod,
        namespace=pod_meta.get("namespace") or "",
        policy="enabled",
        ignored_namespaces=config.ignored_namespaces,
    )
    if not decision.inject:
        warn(f"===> Skipping injection because {described} has sidecar injection disabled\n")
        return obj, False, decision.reason
    del namespace
    params = InjectionParams(
        pod=pod,
        config=config,
        revision=settings.revision,
        proxy_config=dict(mesh.get("defaultConfig") or {}),
        mesh=mesh,
        type_meta=type_meta,
        deploy_meta=deploy_meta,
        native_sidecars=native_sidecars_enabled(config.native_sidecars, settings.nodes, pod_spec.get("nodeName", "")),
        default_templates=("sidecar",),
    )
    result = inject_pod(params)
    pod_meta.clear()
    pod_meta.update(result.pod.get("metadata") or {})
    pod_spec.clear()
    pod_spec.update(result.pod.get("spec") or {})
    return obj, True, decision.reason


#: what a stream transformation does to one workload document: (object as typed Go decodes it, its original
#: text, a warning callback) -> (output text, whether it changed, reason, the resulting object)
DocumentTransform = Callable[[dict[str, Any], str, Callable[[str], None]], tuple[str, bool, str, dict[str, Any]]]


def transform_documents(
    text: str,
    transform: DocumentTransform,
    *,
    failures: tuple[type[Exception], ...] = (ValueError,),
    keep_going: bool = True,
) -> list[DocumentResult]:
    """Apply ``transform`` to every workload document of a YAML stream; other documents pass through unchanged.

    A document that is not valid YAML, or whose transformation raises one of ``failures``, keeps its original
    text and carries its error; without ``keep_going`` the stream stops there.
    """
    results: list[DocumentResult] = []
    for index, raw in enumerate(split_documents(text)):
        try:
            obj = goyaml.load_preserving_types(raw)
        except (yaml.YAMLError, goyaml.GoYAMLError) as err:
            results.append(
                DocumentResult(index, "", "", raw, error=DocumentError(f"not valid YAML: {err}", index=index))
            )
            if not keep_going:
                break
            continue
        if obj is None:
            continue
        kind = obj.get("kind", "") if isinstance(obj, dict) else ""
        name = ((obj.get("metadata") or {}).get("name") or "") if isinstance(obj, dict) else ""
        if not isinstance(obj, dict) or kind not in WORKLOAD_KINDS:
            reason = f"kind {kind!r} is not a workload; passed through unchanged" if kind else "not a Kubernetes object"
            results.append(DocumentResult(index, str(kind), str(name), raw, reason=reason))
            continue
        warnings: list[str] = []
        original = copy.deepcopy(obj)
        try:
            out, changed, reason, result = transform(kubetypes.normalize(obj), raw, warnings.append)
        except failures as err:
            error = DocumentError(str(err), index=index, kind=kind, name=name)
            results.append(DocumentResult(index, kind, name, raw, error=error, warnings=warnings, original=original))
            if not keep_going:
                break
            continue
        results.append(
            DocumentResult(
                index,
                kind,
                name,
                out,
                injected=changed,
                warnings=warnings,
                reason=reason,
                original=original,
                result=result,
            )
        )
    return results


def kube_inject(text: str, settings: KubeInjectSettings, *, keep_going: bool = True) -> list[DocumentResult]:
    """Inject every document of a YAML stream. A failing document keeps its original text and carries its error."""

    def inject(typed: dict[str, Any], _raw: str, warn: Callable[[str], None]) -> tuple[str, bool, str, dict[str, Any]]:
        injected_obj, injected, reason = inject_object(typed, settings, warn)
        return goyaml.marshal(kubetypes.normalize(injected_obj)), injected, reason, injected_obj

    return transform_documents(text, inject, failures=(InjectionError, ValueError), keep_going=keep_going)


def join_documents(results: Sequence[DocumentResult]) -> str:
    """The output stream: each document followed by ``---`` (as istioctl writes it)."""
    return "".join(r.text + ("" if r.text.endswith("\n") or not r.text else "\n") + "---\n" for r in results)
