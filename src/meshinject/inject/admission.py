"""The admission entry point: an AdmissionReview request in, an AdmissionReview response out (no I/O).

This is the webhook path of the injector. The HTTP server only decodes the body and calls :func:`review`, so
everything about decisions and patches is testable here and shared with ``meshinject conformance``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import jsonpatch
from .config import InjectorConfig
from .decide import Decision, decide
from .injector import InjectionError, InjectionParams, inject_pod
from .podutil import PROXY_CONTAINER, clone_object, find_sidecar
from .resolve import deploy_meta_from_pod, native_sidecars_enabled, parse_inject_path, webhook_proxy_config

SUPPORTED_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """What the webhook knows of the cluster, gathered off the request path."""

    #: ``[{"name": ..., "kubeletVersion": ...}]``; ``None`` = unknown (native sidecars ``auto`` is then off)
    nodes: Sequence[Mapping[str, str]] | None = None
    #: Namespace objects by name (used on OpenShift for the proxy UID/GID)
    namespaces: Mapping[str, Mapping[str, Any]] | None = None


@dataclass(slots=True)
class ReviewOutcome:
    """The response plus what the server logs and counts."""

    response: dict[str, Any]
    decision: Decision | None
    #: ``injected``, ``skipped`` or ``error``
    result: str
    patch: list[dict[str, Any]] | None = None


def _response(review: Mapping[str, Any], uid: str, body: dict[str, Any]) -> dict[str, Any]:
    api_version = review.get("apiVersion") or "admission.k8s.io/v1"
    if api_version not in SUPPORTED_VERSIONS:
        api_version = "admission.k8s.io/v1"
    return {"apiVersion": api_version, "kind": "AdmissionReview", "response": {"uid": uid, **body}}


def _deny(review: Mapping[str, Any], uid: str, message: str) -> dict[str, Any]:
    return _response(review, uid, {"allowed": False, "status": {"message": message}})


def review(
    admission_review: Mapping[str, Any],
    config: InjectorConfig,
    *,
    path: str = "",
    facts: ClusterFacts | None = None,
) -> ReviewOutcome:
    """Answer one AdmissionReview. Never raises for bad input: errors become ``allowed: false`` responses."""
    facts = facts or ClusterFacts()
    request = admission_review.get("request")
    if not isinstance(request, Mapping):
        return ReviewOutcome(_deny(admission_review, "", "AdmissionReview has no request"), None, "error")
    uid = str(request.get("uid") or "")
    obj = request.get("object")
    if not isinstance(obj, Mapping):
        return ReviewOutcome(_deny(admission_review, uid, "request.object is missing or not an object"), None, "error")
    kind = obj.get("kind")
    if kind not in (None, "", "Pod"):
        return ReviewOutcome(
            _deny(admission_review, uid, f"request.object is a {kind}; this webhook only injects Pods"),
            None,
            "error",
        )
    # Only the metadata is changed here, so only it is copied: the engine never changes the pod it is given
    # (its first merge works on a copy of its own), and the caller's review stays as it was.
    pod: dict[str, Any] = dict(obj)
    meta = pod.get("metadata", {})
    if not isinstance(meta, dict):
        return ReviewOutcome(_deny(admission_review, uid, "request.object.metadata must be an object"), None, "error")
    meta = pod["metadata"] = dict(meta)
    meta.pop("managedFields", None)  # large and irrelevant to injection: keep it out of the patch work
    namespace = meta.get("namespace") or str(request.get("namespace") or "")
    if not meta.get("namespace") and namespace:
        meta["namespace"] = namespace
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return ReviewOutcome(_deny(admission_review, uid, "request.object.spec must be an object"), None, "error")
    decision = decide(
        pod,
        namespace=namespace,
        policy=config.policy,
        never_inject_selector=config.never_inject_selector,
        always_inject_selector=config.always_inject_selector,
        ignored_namespaces=config.ignored_namespaces,
    )
    if not decision.inject:
        return ReviewOutcome(_response(admission_review, uid, {"allowed": True}), decision, "skipped")
    ns_object = (facts.namespaces or {}).get(namespace) if config.platform == "openshift" else None
    if config.platform == "openshift":
        pod = clone_object(pod)  # the proxy's securityContext may change
        _reset_openshift_proxy_user(pod)
    deploy_meta, type_meta = deploy_meta_from_pod(pod)
    params = InjectionParams(
        pod=pod,
        config=config,
        revision=config.revision,
        proxy_config=webhook_proxy_config(config, pod),
        mesh=config.mesh,
        type_meta=type_meta,
        deploy_meta=deploy_meta,
        native_sidecars=native_sidecars_enabled(config.native_sidecars, facts.nodes, spec.get("nodeName", "")),
        namespace=ns_object,
        proxy_envs=parse_inject_path(path),
        default_templates=config.default_templates,
        aliases=config.aliases,
        injected_annotations=config.injected_annotations,
    )
    try:
        result = inject_pod(params)
    except InjectionError as err:
        return ReviewOutcome(_deny(admission_review, uid, f"injection failed: {err}"), decision, "error")
    except Exception as err:
        return ReviewOutcome(
            _deny(admission_review, uid, f"internal error while injecting: {type(err).__name__}: {err}"),
            decision,
            "error",
        )
    # The patch is relative to the object the apiserver sent (without the namespace we filled in).
    patch = (
        result.patch
        if obj.get("metadata", {}).get("namespace") or not namespace
        else jsonpatch.pod_patch(_with_namespace(obj, namespace), result.pod)
    )
    body = {
        "allowed": True,
        "patchType": "JSONPatch",
        "patch": base64.b64encode(jsonpatch.dumps_patch(patch)).decode("ascii"),
    }
    return ReviewOutcome(_response(admission_review, uid, body), decision, "injected", patch)


def _with_namespace(obj: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    pod = clone_object(obj)
    pod.setdefault("metadata", {})["namespace"] = namespace
    pod["metadata"].pop("managedFields", None)
    return pod


def _reset_openshift_proxy_user(pod: dict[str, Any]) -> None:
    """OpenShift gives every container the same runAsUser; a user-declared proxy must not inherit it."""
    sidecar = find_sidecar(pod)
    if sidecar is None or not sidecar.get("securityContext"):
        return
    spec = pod.get("spec") or {}
    sidecar_user = 0
    app_user = 0
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        user = (c.get("securityContext") or {}).get("runAsUser")
        if c.get("name") == PROXY_CONTAINER:
            if user is not None:
                sidecar_user = user
        elif c.get("name") not in ("istio-validation", "istio-init") and user is not None:
            app_user = user
    if sidecar_user == app_user:
        sidecar["securityContext"].pop("runAsUser", None)
        sidecar["securityContext"].pop("runAsGroup", None)
