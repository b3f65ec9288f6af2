"""Installing and removing a revision of meshinject's control plane in a live cluster.

``install``: server-side apply of :func:`meshinject.cluster.manifests.render`'s objects (field manager
``meshinject``), wait until the webhook answers, then prove injection works with a server-side dry-run pod
create in a namespace labelled for the revision: the apiserver calls the webhook exactly as for a real pod, and
the pod it returns must carry the sidecar. Only then is the install reported successful.

``uninstall``: refuse while namespaces, tags or pods still use the revision (from the same model as
``meshinject revisions``), then delete everything labelled as installed by meshinject for that revision.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx2
from lightkube import Client
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.core_v1 import Container, PodSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount
from lightkube.resources.policy_v1 import PodDisruptionBudget
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding, Role, RoleBinding
from lightkube.types import PatchType

from meshinject.inject.podutil import find_sidecar
from meshinject.inject.uninject import REVISION_ANNOTATION

from .client import FIELD_MANAGER, ClusterError, api_call
from .manifests import EXCLUDED_NAMESPACES, MANAGED_BY, ControlPlaneOptions
from .revisions import build_model, collect
from .webhooks import INJECTION_LABEL, REV_LABEL, TAG_LABEL

Certificate = create_namespaced_resource("cert-manager.io", "v1", "Certificate", "certificates")

#: marks the throw-away namespace of the dry-run check, so a leftover one is easy to find
VERIFY_LABEL: Final = "meshinject.io/verify"
VERIFY_IMAGE: Final = "registry.k8s.io/pause:3.10"

Progress = Callable[[str], None]


class NotReady(ClusterError):
    """The webhook did not become ready in time (a failed install, not a usage or connection error)."""


def _quiet(_: str) -> None:
    return None


# --- apply ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObjectRef:
    kind: str
    name: str
    namespace: str | None

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def _ref(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(str(obj.get("kind")), str(meta.get("name")), meta.get("namespace"))


def _resource(obj: Mapping[str, Any]) -> Any:
    return resource_registry.load(str(obj["apiVersion"]), str(obj["kind"]))


def ensure_namespace(client: Client, name: str) -> bool:
    """Create the control plane's namespace when missing (True when created)."""
    try:
        with api_call("get", "namespaces", name=name):
            client.get(Namespace, name)
        return False
    except ClusterError as err:
        if not err.not_found:
            raise
    with api_call("create", "namespaces", name=name):
        client.create(Namespace(metadata=ObjectMeta(name=name)))
    return True


def apply_objects(
    client: Client,
    objects: Sequence[Mapping[str, Any]],
    *,
    force_conflicts: bool,
    dry_run: bool = False,
    progress: Progress = _quiet,
) -> list[ObjectRef]:
    """Server-side apply every object with field manager ``meshinject``.

    ``force_conflicts`` is passed on as is: without it a field another manager owns (a ``kubectl edit``, an
    existing Istio object of the same name) stops the install with the apiserver's conflict message instead of
    being taken over silently.
    """
    applied = []
    for obj in objects:
        ref = _ref(obj)
        resource = _resource(obj)
        # Server-side apply is authorized as `patch` (and `create` for a new object).
        with api_call("patch", resource._api_info.plural, namespace=ref.namespace, name=ref.name):
            client.patch(
                resource,
                ref.name,
                dict(obj),
                namespace=ref.namespace,
                patch_type=PatchType.APPLY,
                field_manager=FIELD_MANAGER,
                force=force_conflicts,
                dry_run=dry_run,
            )
        progress(f"applied {ref}{' (dry run)' if dry_run else ''}")
        applied.append(ref)
    return applied


# --- readiness ------------------------------------------------------------------------------------------------------


def deployment_problem(deployment: Mapping[str, Any]) -> str | None:
    """Why a Deployment's rollout is not complete (kubectl rollout status's rules), or None once it is."""
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    want = int(spec.get("replicas", 1))
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return "the controller has not seen the latest spec yet"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return f"rollout stuck: {cond.get('message')}"
    updated = int(status.get("updatedReplicas") or 0)
    if updated < want:
        return f"{updated} of {want} replicas updated"
    if int(status.get("replicas") or 0) > updated:
        return f"{int(status.get('replicas') or 0) - updated} old replicas still running"
    available = int(status.get("availableReplicas") or 0)
    if available < updated:
        return f"{available} of {updated} updated replicas available"
    return None


def wait_for_deployment(
    client: Client, name: str, namespace: str, *, timeout: float, progress: Progress = _quiet
) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        with api_call("get", "deployments", namespace=namespace, name=name):
            problem = deployment_problem(client.get(Deployment, name, namespace=namespace).to_dict())
        if problem is None:
            progress(f"Deployment {namespace}/{name} is available")
            return
        if problem != last:
            progress(f"waiting for Deployment {namespace}/{name}: {problem}")
            last = problem
        if time.monotonic() > deadline:
            raise NotReady(
                f"Deployment {namespace}/{name} not available after {timeout:.0f}s: {problem} "
                f"(see `kubectl -n {namespace} describe deployment {name}` and the pods' events)"
            )
        time.sleep(1.0)


def readyz_problem(url: str, ca_bundle: bytes, *, timeout: float = 5.0) -> str | None:
    """GET /readyz on the webhook URL's server over TLS, verified with the bundle the apiserver will use."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    context = ssl.create_default_context(cadata=ca_bundle.decode())
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.settimeout(timeout)
            tls.sendall(f"GET /readyz HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
            answer = b""
            while chunk := tls.recv(4096):
                answer += chunk
    except ssl.SSLCertVerificationError as err:
        return f"the server's certificate does not verify with --ca-bundle for {host}: {err.verify_message}"
    except (OSError, ssl.SSLError) as err:
        return f"cannot reach {host}:{port}: {err}"
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " not in status_line + " ":
        return f"GET /readyz answered {status_line!r}"
    return None


def wait_for_url(url: str, ca_bundle: bytes, *, timeout: float, progress: Progress = _quiet) -> None:
    deadline = time.monotonic() + timeout
    while (problem := readyz_problem(url, ca_bundle)) is not None:
        if time.monotonic() > deadline:
            raise NotReady(f"the webhook at {url} is not ready after {timeout:.0f}s: {problem}")
        time.sleep(0.5)
    progress(f"{url}: /readyz answers 200 over TLS verified with the CA bundle")


# --- verification ---------------------------------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    namespace: str
    temporary_namespace: bool
    message: str
    containers: list[str] = field(default_factory=list)
    init_containers: list[str] = field(default_factory=list)
    revision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "namespace": self.namespace,
            "temporaryNamespace": self.temporary_namespace,
            "message": self.message,
            "containers": self.containers,
            "initContainers": self.init_containers,
            "injectedRevision": self.revision,
        }


def _labelled_namespace(client: Client, revision: str, excluded: Sequence[str]) -> str | None:
    """A live namespace that selects the revision through ``rev.namespace.`` (no ``istio-injection`` label)."""
    with api_call("list", "namespaces"):
        namespaces = list(client.list(Namespace, labels={REV_LABEL: revision}))
    for ns in namespaces:
        meta = ns.metadata
        if meta is None or not meta.name or meta.deletionTimestamp is not None or meta.name in excluded:
            continue
        if INJECTION_LABEL in (meta.labels or {}) or (ns.status and ns.status.phase == "Terminating"):
            continue
        return meta.name
    return None


@contextlib.contextmanager
def _verification_namespace(client: Client, revision: str, excluded: Sequence[str]) -> Iterator[tuple[str, bool]]:
    existing = _labelled_namespace(client, revision, excluded)
    if existing is not None:
        yield existing, False
        return
    name = f"meshinject-verify-{secrets.token_hex(3)}"
    # Pod Security admission would judge the injected pod (istio-init adds NET_ADMIN), not the injection: a
    # cluster-wide `baseline` default must not fail the check in a namespace that only ever sees dry runs.
    labels = {
        REV_LABEL: revision,
        VERIFY_LABEL: "true",
        "pod-security.kubernetes.io/enforce": "privileged",
        **MANAGED_BY,
    }
    with api_call("create", "namespaces", name=name):
        client.create(Namespace(metadata=ObjectMeta(name=name, labels=labels)))
    try:
        yield name, True
    finally:
        # The label goes first: a namespace stays around while it terminates, and it must not count as a user
        # of the revision meanwhile (uninstall would refuse).
        with contextlib.suppress(ClusterError), api_call("patch", "namespaces", name=name):
            client.patch(Namespace, name, {"metadata": {"labels": {REV_LABEL: None}}}, patch_type=PatchType.MERGE)
        with contextlib.suppress(ClusterError), api_call("delete", "namespaces", name=name):
            client.delete(Namespace, name)


def _transient(err: ClusterError) -> bool:
    """Failures that go away by themselves right after an install: a fresh namespace has no default
    ServiceAccount for a moment, and the caBundle, the Service's endpoints or the apiserver's view of the new
    webhook configuration may still be propagating."""
    text = str(err).lower()
    return (
        "failed calling webhook" in text
        or "serviceaccount" in text
        or "service account" in text
        or (err.code is not None and (err.code >= 500 or err.code == 429))
    )


def _verification_pod() -> Pod:
    return Pod(
        metadata=ObjectMeta(name="meshinject-verify", labels={"app": "meshinject-verify"}),
        spec=PodSpec(containers=[Container(name="app", image=VERIFY_IMAGE)]),
    )


def verify_injection(
    client: Client, revision: str, *, excluded: Sequence[str], timeout: float, progress: Progress = _quiet
) -> Verification:
    """Create a pod with ``dryRun=All`` in a namespace labelled for the revision: admission runs in full (the
    webhook is called), nothing is stored. The returned pod must carry the sidecar, injected by this revision."""
    with _verification_namespace(client, revision, excluded) as (namespace, temporary):
        progress(f"dry-run pod create in namespace {namespace}{' (temporary)' if temporary else ''}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                with api_call("create", "pods", namespace=namespace):
                    pod = client.create(_verification_pod(), namespace=namespace, dry_run=True).to_dict()
                break
            except ClusterError as err:
                if not _transient(err) or time.monotonic() > deadline:
                    return Verification(False, namespace, temporary, f"the dry-run pod create failed: {err}")
                progress(f"retrying the dry-run pod create: {err}")
                time.sleep(1.0)
    spec = pod.get("spec") or {}
    containers = [str(c.get("name")) for c in spec.get("containers") or []]
    init_containers = [str(c.get("name")) for c in spec.get("initContainers") or []]
    injected_by = ((pod.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    result = Verification(True, namespace, temporary, "", containers, init_containers, injected_by)
    if find_sidecar(pod) is None:
        result.ok = False
        result.message = (
            "the webhook admitted the pod without a sidecar: check the injector configuration's policy and "
            "the webhook's selectors (meshinject check-inject)"
        )
    elif injected_by is not None and injected_by != revision:
        result.ok = False
        result.message = f"the sidecar was injected by revision {injected_by!r}, not {revision!r}: check --webhook-url"
    else:
        result.message = f"injection works: the dry-run pod got {', '.join(containers + init_containers)}"
    return result


# --- install --------------------------------------------------------------------------------------------------------


@dataclass
class InstallResult:
    revision: str
    namespace: str
    applied: list[ObjectRef]
    namespace_created: bool
    verification: Verification

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "namespace": self.namespace,
            "namespaceCreated": self.namespace_created,
            "applied": [{"kind": r.kind, "name": r.name, "namespace": r.namespace} for r in self.applied],
            "verification": self.verification.to_dict(),
            "ok": self.verification.ok,
        }


def install(
    client: Client,
    options: ControlPlaneOptions,
    objects: Sequence[Mapping[str, Any]],
    *,
    force_conflicts: bool = False,
    timeout: float = 300.0,
    progress: Progress = _quiet,
) -> InstallResult:
    names = options.names
    created = ensure_namespace(client, options.namespace)
    if created:
        progress(f"created namespace {options.namespace}")
    applied = apply_objects(client, objects, force_conflicts=force_conflicts, progress=progress)
    started = time.monotonic()
    if options.webhook_url is not None:
        assert options.ca_bundle is not None
        wait_for_url(options.webhook_url, options.ca_bundle, timeout=timeout, progress=progress)
    else:
        wait_for_deployment(client, names.workload, options.namespace, timeout=timeout, progress=progress)
    remaining = max(timeout - (time.monotonic() - started), 15.0)
    excluded = [*EXCLUDED_NAMESPACES, options.namespace]
    verification = verify_injection(client, options.revision, excluded=excluded, timeout=remaining, progress=progress)
    return InstallResult(options.revision, options.namespace, applied, created, verification)


# --- uninstall ------------------------------------------------------------------------------------------------------


@dataclass
class Usage:
    namespaces: list[str]
    tags: list[str]
    pods: list[str]

    @property
    def in_use(self) -> bool:
        return bool(self.namespaces or self.tags or self.pods)

    def to_dict(self) -> dict[str, Any]:
        return {"namespaces": self.namespaces, "tags": self.tags, "pods": self.pods}


def revision_usage(client: Client, revision: str, namespace: str) -> Usage:
    """Namespaces whose pods the revision (or one of its tags) injects, its tags, and the pods it injected."""
    model = build_model(collect(client, namespace))
    entry = model.revision(revision)
    if entry is None:
        return Usage([], [], [])
    return Usage(list(entry.namespaces), list(entry.tags), list(entry.injected_pods))


#: what install creates, deleted webhook configuration first (no new admission reaches a server being removed)
_CLUSTER_KINDS: Final[tuple[Any, ...]] = (MutatingWebhookConfiguration, ClusterRoleBinding, ClusterRole)
_NAMESPACED_KINDS: Final[tuple[Any, ...]] = (
    Deployment,
    PodDisruptionBudget,
    Service,
    RoleBinding,
    Role,
    ServiceAccount,
    Secret,
    ConfigMap,
    Certificate,
)


@dataclass
class UninstallResult:
    revision: str
    namespace: str
    usage: Usage
    refused: bool
    deleted: list[ObjectRef]
    tags_deleted: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "namespace": self.namespace,
            "refused": self.refused,
            "usage": self.usage.to_dict(),
            "deleted": [{"kind": r.kind, "name": r.name, "namespace": r.namespace} for r in self.deleted],
            "tagsDeleted": self.tags_deleted,
        }


def _installed(client: Client, revision: str, namespace: str) -> list[tuple[Any, ObjectRef]]:
    labels: dict[str, Any] = {REV_LABEL: revision, **MANAGED_BY}
    found: list[tuple[Any, ObjectRef]] = []
    for kind in (*_CLUSTER_KINDS, *_NAMESPACED_KINDS):
        scoped = kind in _NAMESPACED_KINDS
        with api_call("list", kind._api_info.plural, namespace=namespace if scoped else None):
            try:
                items = list(client.list(kind, namespace=namespace if scoped else None, labels=labels))
            except httpx2.HTTPStatusError as err:
                # The API of a CRD that is not installed answers 404 without a Status body, which lightkube does
                # not turn into an ApiError: cert-manager is absent, so there are no Certificates to remove.
                if kind is not Certificate or err.response.status_code != 404:
                    raise
                items = []
        for item in items:
            meta = item.metadata
            if meta is not None and meta.name and TAG_LABEL not in (meta.labels or {}):
                found.append((kind, ObjectRef(kind.__name__, meta.name, meta.namespace)))
    return found


def uninstall(
    client: Client, revision: str, namespace: str, *, force: bool = False, progress: Progress = _quiet
) -> UninstallResult:
    """Delete the revision's objects; refuse (``refused``) while it is in use, unless ``force``.

    With ``force``, the revision's tags go too: a tag's webhook configuration pointing at a removed server would
    make every pod creation in its namespaces fail (failurePolicy Fail).
    """
    installed = _installed(client, revision, namespace)
    if not installed:
        raise ClusterError(
            f"revision {revision!r} is not installed by meshinject in namespace {namespace!r} "
            "(see `meshinject revisions`; -n names the control plane's namespace)",
            code=404,
        )
    usage = revision_usage(client, revision, namespace)
    if usage.in_use and not force:
        return UninstallResult(revision, namespace, usage, True, [], [])
    tags_deleted: list[str] = []
    if force and usage.tags:
        with api_call("list", "mutatingwebhookconfigurations"):
            configs = list(client.list(MutatingWebhookConfiguration, labels={REV_LABEL: revision}))
        for config in configs:
            meta = config.metadata
            if meta is not None and meta.name and TAG_LABEL in (meta.labels or {}):
                with api_call("delete", "mutatingwebhookconfigurations", name=meta.name):
                    client.delete(MutatingWebhookConfiguration, meta.name)
                progress(f"deleted tag webhook configuration {meta.name}")
                tags_deleted.append(meta.name)
    deleted = []
    for kind, ref in installed:
        try:
            with api_call("delete", kind._api_info.plural, namespace=ref.namespace, name=ref.name):
                if ref.namespace:
                    client.delete(kind, ref.name, namespace=ref.namespace)
                else:
                    client.delete(kind, ref.name)
        except ClusterError as err:
            if not err.not_found:
                raise
        progress(f"deleted {ref}")
        deleted.append(ref)
    return UninstallResult(revision, namespace, usage, False, deleted, tags_deleted)
