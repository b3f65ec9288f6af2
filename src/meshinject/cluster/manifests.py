"""Everything one revision of meshinject's control plane consists of, rendered as Kubernetes objects (dicts).

``render(options, injector)`` is pure: the same inputs give the same objects, so ``meshinject manifests`` (GitOps)
and ``meshinject install`` (server-side apply) ship exactly the same thing. The objects and why each is there are
described in docs/install.md; the selector layout of the webhooks follows Istio's, so namespaces and pods
labelled for istiod are served the same way (``rev.namespace.`` / ``rev.object.``, and for the default revision
also ``namespace.`` / ``object.``), plus a ``kubernetes.io/metadata.name`` exclusion that keeps the injector
from ever blocking pod creation in the system namespaces or in its own.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import yaml

from meshinject import __version__
from meshinject.inject.config import ConfigError, load_config_text

from .configmaps import configmap_names
from .webhooks import (
    DEFAULT_REVISION,
    INJECT_LABEL,
    INJECTOR_WEBHOOK_SUFFIX,
    NAMESPACE_NAME_LABEL,
    REV_LABEL,
    istio_selectors,
)

DEFAULT_NAMESPACE: Final = "istio-system"
DEFAULT_IMAGE: Final = f"meshinject:{__version__}"
SERVER_PORT: Final = 15017
SERVICE_PORT: Final = 443
INJECT_PATH: Final = "/inject"
#: runs the processes of the image; any non-root UID works, this one is the conventional "nonroot"
RUN_AS: Final = 65532

MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "meshinject"}
#: namespaces whose pods the injection webhooks never see (the control plane's own is added per revision)
EXCLUDED_NAMESPACES: Final = ("kube-system", "kube-node-lease")
REINVOCATION_POLICIES: Final = ("Never", "IfNeeded")
CERT_MANAGER_INJECT: Final = "cert-manager.io/inject-ca-from"

CONFIG_DIR: Final = "/etc/meshinject/config"
CERT_DIR: Final = "/var/run/meshinject/certs"


class ManifestError(ValueError):
    """The options cannot produce a working control plane; the message names the option and the fix."""


# --- names -----------------------------------------------------------------------------------------------------


def _suffix(revision: str) -> str:
    return "" if revision == DEFAULT_REVISION else f"-{revision}"


@dataclass(frozen=True, slots=True)
class Names:
    """The names of a revision's objects (the default revision has no suffix, as in Istio)."""

    revision: str
    namespace: str

    @property
    def webhook_configuration(self) -> str:
        return "istio-sidecar-injector" + _suffix(self.revision)

    @property
    def injector_configmap(self) -> str:
        return configmap_names(self.revision)[0]

    @property
    def mesh_configmap(self) -> str:
        return configmap_names(self.revision)[1]

    @property
    def workload(self) -> str:
        """Deployment, Service, ServiceAccount, Role, RoleBinding, PodDisruptionBudget, Certificate."""
        return "meshinject" + _suffix(self.revision)

    @property
    def secret(self) -> str:
        return self.workload + "-tls"

    @property
    def cluster_role(self) -> str:
        # Cluster-scoped: two control planes of the same revision name in two namespaces must not collide.
        return f"{self.workload}-{self.namespace}"

    def service_hosts(self) -> tuple[str, ...]:
        """DNS names the serving certificate must carry (the apiserver dials ``<service>.<namespace>.svc``)."""
        svc, ns = self.workload, self.namespace
        return (svc, f"{svc}.{ns}", f"{svc}.{ns}.svc", f"{svc}.{ns}.svc.cluster.local")


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_revision(revision: str) -> str:
    """A revision is a label value and part of object names: a DNS label of at most 40 characters."""
    if not revision:
        raise ManifestError("--revision must not be empty (use `default` for the default revision)")
    if not _DNS_LABEL.match(revision) or len(revision) > 40:
        raise ManifestError(
            f"--revision {revision!r}: use lower-case letters, digits and '-' (at most 40 characters), "
            "as the revision becomes part of object names and the istio.io/rev label"
        )
    return revision


# --- the injector configuration ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InjectorData:
    """The text of the two ConfigMaps: ``config`` and ``values`` of the injector one, ``mesh`` of the mesh one."""

    config: str
    values: str
    mesh: str


def _parse_scalar(text: str) -> Any:
    """Helm's ``--set`` typing: true/false, null and integers are typed; everything else is a string."""
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?(0|[1-9][0-9]*)", text):
        return int(text)
    return text


def _split_key(key: str) -> list[str]:
    r"""``a.b\.c`` → ``["a", "b.c"]`` (a backslash keeps a dot inside a key, as in Helm)."""
    parts: list[str] = []
    current = ""
    escaped = False
    for ch in key:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    if any(p == "" for p in parts):
        raise ManifestError(f"--set {key!r}: empty path element")
    return parts


def parse_set(assignment: str) -> tuple[str, list[str], Any]:
    """``--set KEY=VALUE`` → (target, path, value); target is ``values`` or ``mesh`` (keys under ``meshConfig.``).

    As with istioctl, ``values.`` may prefix a values key; ``{a,b}`` is a list of strings.
    """
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ManifestError(f"--set {assignment!r}: expected KEY=VALUE, e.g. global.proxy.logLevel=debug")
    path = _split_key(key)
    target = "values"
    if path[0] == "meshConfig":
        target, path = "mesh", path[1:]
    elif path[0] == "values":
        path = path[1:]
    if not path:
        raise ManifestError(f"--set {assignment!r}: name a key below {key!r}")
    value: Any
    if raw.startswith("{") and raw.endswith("}"):
        value = [_parse_scalar(v) for v in raw[1:-1].split(",") if v != ""]
    else:
        value = _parse_scalar(raw)
    return target, path, value


def _assign(tree: dict[str, Any], path: Sequence[str], value: Any, *, what: str) -> None:
    node = tree
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ManifestError(f"{what}: {'.'.join(path[: i + 1])} is not a mapping, cannot set a key below it")
        node = child
    node[path[-1]] = value


def deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's values merge: mappings merge key by key, anything else (lists too) replaces."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def values_overlay(document: Any, *, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ``--values`` document → (values overlay, mesh overlay).

    Helm values (a top-level ``meshConfig`` goes to the mesh ConfigMap) or an IstioOperator (its ``spec.values``
    and ``spec.meshConfig``).
    """
    if document is None:
        return {}, {}
    if not isinstance(document, dict):
        raise ManifestError(f"{source}: a values file must hold a YAML mapping")
    if document.get("kind") == "IstioOperator":
        spec = document.get("spec") or {}
        values, mesh = spec.get("values") or {}, spec.get("meshConfig") or {}
    else:
        values = {k: v for k, v in document.items() if k != "meshConfig"}
        mesh = document.get("meshConfig") or {}
    if not isinstance(values, dict) or not isinstance(mesh, dict):
        raise ManifestError(f"{source}: values and meshConfig must be mappings")
    return values, mesh


def _flatten(documents: Iterable[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for doc in documents:
        if isinstance(doc, dict) and doc.get("kind") == "List":
            out.extend(_flatten(doc.get("items") or []))
        elif isinstance(doc, dict):
            out.append(doc)
    return out


def read_istio_configmaps(text: str, *, source: str) -> tuple[dict[str, str], dict[str, str] | None]:
    """The ``data`` of an ``istio-sidecar-injector`` ConfigMap (and of the ``istio`` mesh one, when present) from
    ``kubectl get configmap ... -o yaml`` output: one document, several, or a ``List``."""
    try:
        documents = _flatten(yaml.safe_load_all(text))
    except yaml.YAMLError as err:
        raise ManifestError(f"{source}: not valid YAML: {err}") from None
    injector: dict[str, str] | None = None
    mesh: dict[str, str] | None = None
    for doc in documents:
        if doc.get("kind") != "ConfigMap":
            continue
        data = doc.get("data") or {}
        if "config" in data and injector is None:
            injector = {str(k): str(v) for k, v in data.items()}
        elif "mesh" in data and mesh is None:
            mesh = {str(k): str(v) for k, v in data.items()}
    if injector is None:
        raise ManifestError(
            f"{source}: no ConfigMap with a data.config key (expected `kubectl -n istio-system get configmap "
            "istio-sidecar-injector[-REV] -o yaml`, optionally followed by the istio[-REV] mesh ConfigMap)"
        )
    return injector, mesh


def builtin_injector_texts() -> tuple[str, str, str]:
    """(config, values, mesh) of meshinject's built-in configuration, as shipped in ``meshinject.data``."""
    data = resources.files("meshinject.data")
    config, values, mesh = (
        data.joinpath(n).read_text(encoding="utf-8") for n in ("config.yaml", "values.json", "mesh.yaml")
    )
    return config, values, mesh


def injector_data(
    *,
    revision: str,
    namespace: str,
    base_config: str,
    base_values: str,
    base_mesh: str,
    sets: Sequence[str] = (),
    values_documents: Sequence[tuple[str, Any]] = (),
) -> InjectorData:
    """The ConfigMap texts for a revision: the base configuration, then ``--values`` files in order, then
    ``--set``; ``revision`` and ``global.istioNamespace`` always name this control plane.

    The result is loaded once as the injector would load it, so a configuration that would not serve is
    refused here rather than by the running server.
    """
    try:
        values: Any = json.loads(base_values) if base_values.strip() else {}
    except ValueError:
        values = yaml.safe_load(base_values) or {}
    if not isinstance(values, dict):
        raise ManifestError("the base values are not a JSON object")
    mesh_changes: dict[str, Any] = {}
    for source, document in values_documents:
        values_part, mesh_part = values_overlay(document, source=source)
        values = deep_merge(values, values_part)
        mesh_changes = deep_merge(mesh_changes, mesh_part)
    for assignment in sets:
        target, path, value = parse_set(assignment)
        _assign(values if target == "values" else mesh_changes, path, value, what=f"--set {assignment}")
    values["revision"] = "" if revision == DEFAULT_REVISION else revision
    global_values = values.setdefault("global", {})
    if not isinstance(global_values, dict):
        raise ManifestError("values: `global` must be a mapping")
    global_values["istioNamespace"] = namespace
    mesh_text = base_mesh
    if mesh_changes:
        mesh = yaml.safe_load(base_mesh) or {} if base_mesh.strip() else {}
        if not isinstance(mesh, dict):
            raise ManifestError("the base mesh configuration is not a YAML mapping")
        mesh_text = yaml.safe_dump(deep_merge(mesh, mesh_changes), sort_keys=False)
    values_text = json.dumps(values, indent=2) + "\n"
    try:
        load_config_text(base_config, values_text, mesh_text, source="the rendered injector configuration")
    except ConfigError as err:
        raise ManifestError(str(err)) from None
    return InjectorData(config=base_config, values=values_text, mesh=mesh_text)


# --- options -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlPlaneOptions:
    revision: str
    namespace: str = DEFAULT_NAMESPACE
    image: str = DEFAULT_IMAGE
    replicas: int = 2
    #: remote/external server: ``clientConfig.url`` with ``ca_bundle``; only ConfigMaps and the webhook configuration
    webhook_url: str | None = None
    ca_bundle: bytes | None = None
    #: None: from the values (``sidecarInjectorWebhook.reinvocationPolicy``), else Never
    reinvocation_policy: str | None = None
    timeout_seconds: int = 10
    #: ``Issuer/NAME``, ``ClusterIssuer/NAME`` or a bare Issuer name: cert-manager issues the serving certificate
    cert_manager_issuer: str | None = None

    @property
    def names(self) -> Names:
        return Names(self.revision, self.namespace)

    @property
    def external(self) -> bool:
        return self.webhook_url is not None


def check_options(options: ControlPlaneOptions) -> None:
    check_revision(options.revision)
    if not _DNS_LABEL.match(options.namespace):
        raise ManifestError(f"--namespace {options.namespace!r} is not a valid namespace name")
    if (options.webhook_url is None) != (options.ca_bundle is None):
        raise ManifestError("--webhook-url and --ca-bundle go together: the apiserver must be able to verify the URL")
    if options.webhook_url is not None:
        url = urllib.parse.urlsplit(options.webhook_url)
        if url.scheme != "https" or not url.hostname:
            raise ManifestError(f"--webhook-url {options.webhook_url!r}: the apiserver only calls https:// URLs")
        if url.query or url.fragment or url.username:
            raise ManifestError(f"--webhook-url {options.webhook_url!r}: no query, fragment or user info allowed")
        if options.cert_manager_issuer:
            raise ManifestError("--cert-manager applies to the in-cluster Deployment, not to --webhook-url")
    if options.ca_bundle is not None and b"-----BEGIN CERTIFICATE-----" not in options.ca_bundle:
        raise ManifestError("--ca-bundle: no PEM certificate in the file")
    if options.replicas < 1:
        raise ManifestError("--replicas must be at least 1 (2 or more keep injection up during node drains)")
    if not 1 <= options.timeout_seconds <= 30:
        raise ManifestError("--webhook-timeout must be between 1 and 30 seconds (the apiserver's limits)")
    if options.reinvocation_policy is not None and options.reinvocation_policy not in REINVOCATION_POLICIES:
        raise ManifestError(f"--reinvocation-policy must be Never or IfNeeded, not {options.reinvocation_policy!r}")


def _issuer_ref(spec: str) -> dict[str, str]:
    kind, sep, name = spec.partition("/")
    if not sep:
        kind, name = "Issuer", spec
    if kind not in ("Issuer", "ClusterIssuer") or not name:
        raise ManifestError(f"--cert-manager {spec!r}: expected NAME, Issuer/NAME or ClusterIssuer/NAME")
    return {"group": "cert-manager.io", "kind": kind, "name": name}


# --- the webhook configuration -------------------------------------------------------------------------------------


def webhook_selectors(revision: str, namespace: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(webhook name, namespaceSelector, objectSelector) for each webhook of the revision: Istio's layout
    (:func:`meshinject.cluster.webhooks.istio_selectors`) with every namespace selector also excluding
    kube-system, kube-node-lease and the control plane's own namespace by name, so that the injector can never
    block the pods that would bring it back."""
    excluded = {
        "key": NAMESPACE_NAME_LABEL,
        "operator": "NotIn",
        "values": list(dict.fromkeys([*EXCLUDED_NAMESPACES, namespace])),
    }
    selectors = []
    for prefix, namespace_selector, object_selector in istio_selectors(revision, default=revision == DEFAULT_REVISION):
        namespace_selector.setdefault("matchExpressions", []).append(copy.deepcopy(excluded))
        selectors.append((prefix + INJECTOR_WEBHOOK_SUFFIX, namespace_selector, object_selector))
    return selectors


def _labels(options: ControlPlaneOptions, **more: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "meshinject",
        "app.kubernetes.io/version": __version__,
        **MANAGED_BY,
        REV_LABEL: options.revision,
        **more,
    }


def _selector(options: ControlPlaneOptions) -> dict[str, str]:
    """The webhook pods of this revision (not istiod's, should both carry ``app=istiod``)."""
    return {"app.kubernetes.io/name": "meshinject", REV_LABEL: options.revision}


def webhook_configuration(options: ControlPlaneOptions, reinvocation_policy: str) -> dict[str, Any]:
    names = options.names
    client_config: dict[str, Any]
    if options.webhook_url is not None:
        assert options.ca_bundle is not None
        client_config = {"url": options.webhook_url, "caBundle": base64.b64encode(options.ca_bundle).decode()}
    else:
        # No caBundle here: `meshinject certs` (or cert-manager's cainjector) owns that field, so a re-apply of
        # these manifests never resets it.
        client_config = {
            "service": {
                "name": names.workload,
                "namespace": options.namespace,
                "path": INJECT_PATH,
                "port": SERVICE_PORT,
            }
        }
    webhooks = []
    for name, namespace_selector, object_selector in webhook_selectors(options.revision, options.namespace):
        webhooks.append(
            {
                "name": name,
                "clientConfig": copy.deepcopy(client_config),
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                        "scope": "Namespaced",
                    }
                ],
                "failurePolicy": "Fail",
                "matchPolicy": "Equivalent",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": options.timeout_seconds,
                "reinvocationPolicy": reinvocation_policy,
                "namespaceSelector": namespace_selector,
                "objectSelector": object_selector,
            }
        )
    metadata: dict[str, Any] = {
        "name": names.webhook_configuration,
        "labels": _labels(options, app="sidecar-injector"),
    }
    if options.cert_manager_issuer:
        metadata["annotations"] = {CERT_MANAGER_INJECT: f"{options.namespace}/{names.workload}"}
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": metadata,
        "webhooks": webhooks,
    }


# --- the in-cluster server -------------------------------------------------------------------------------------------


def _restricted() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _certs_container(options: ControlPlaneOptions, name: str, *, once: bool) -> dict[str, Any]:
    args = ["certs", "--revision", options.revision, "--namespace", options.namespace, "--write-dir", CERT_DIR]
    if once:
        args.append("--once")
    return {
        "name": name,
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["meshinject"],
        "args": args,
        "resources": {"requests": {"cpu": "10m", "memory": "48Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": _restricted(),
        "volumeMounts": [{"name": "certs", "mountPath": CERT_DIR}],
    }


def deployment(options: ControlPlaneOptions) -> dict[str, Any]:
    names = options.names
    selector = _selector(options)
    # app=istiod + istio.io/rev: where `kubectl -n istio-system get pods -l app=istiod` and the revision tooling
    # look for a revision's control plane. The inject label keeps other injectors (a real istiod) off these pods.
    pod_labels = {**_labels(options), "app": "istiod", INJECT_LABEL: "false"}
    probe = {"scheme": "HTTPS", "port": SERVER_PORT}
    server = {
        "name": "webhook",
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--config-dir",
            CONFIG_DIR,
            "--tls-cert",
            f"{CERT_DIR}/tls.crt",
            "--tls-key",
            f"{CERT_DIR}/tls.key",
            "--port",
            str(SERVER_PORT),
            "--revision",
            options.revision,
            # One worker process per pod (each loads its own configuration and watchers): scale with replicas.
            "--workers",
            "1",
            "--shutdown-grace",
            "20",
        ],
        "ports": [{"name": "https-webhook", "containerPort": SERVER_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", **probe}, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", **probe},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": _restricted(),
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "certs", "mountPath": CERT_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    volumes: list[dict[str, Any]] = [
        {
            "name": "config",
            "projected": {
                "sources": [
                    {
                        "configMap": {
                            "name": names.injector_configmap,
                            "items": [{"key": "config", "path": "config"}, {"key": "values", "path": "values"}],
                        }
                    },
                    {"configMap": {"name": names.mesh_configmap, "items": [{"key": "mesh", "path": "mesh"}]}},
                ]
            },
        },
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
    ]
    init_containers: list[dict[str, Any]] = []
    containers = [server]
    if options.cert_manager_issuer:
        volumes.append({"name": "certs", "secret": {"secretName": names.secret}})
    else:
        # `meshinject certs` keeps the serving pair in the Secret and writes it here; the server reloads it.
        volumes.append({"name": "certs", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}})
        init_containers.append(_certs_container(options, "certs-init", once=True))
        containers.append(_certs_container(options, "certs", once=False))
    pod_spec: dict[str, Any] = {
        "serviceAccountName": names.workload,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 30,
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": selector},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            }
        },
        "containers": containers,
        "volumes": volumes,
    }
    if init_containers:
        pod_spec["initContainers"] = init_containers
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": names.workload, "namespace": options.namespace, "labels": _labels(options)},
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": selector},
            # A new pod is ready before an old one goes: the webhook keeps its capacity during upgrades.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        },
    }


def _rbac(options: ControlPlaneOptions) -> list[dict[str, Any]]:
    names = options.names
    subject = [{"kind": "ServiceAccount", "name": names.workload, "namespace": options.namespace}]
    # Each rule is explained in docs/install.md ("RBAC").
    cluster_rules: list[dict[str, Any]] = [
        # --native-sidecars auto: the server watches the nodes' kubelet versions.
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]},
    ]
    objects: list[dict[str, Any]] = []
    if not options.cert_manager_issuer:
        # `meshinject certs`: find the revision's webhook configurations (its own and its tags', whose names are
        # not known in advance) and apply their caBundle.
        cluster_rules.append(
            {
                "apiGroups": ["admissionregistration.k8s.io"],
                "resources": ["mutatingwebhookconfigurations"],
                "verbs": ["list", "patch"],
            }
        )
        objects += [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": names.workload, "namespace": options.namespace, "labels": _labels(options)},
                # Only the one Secret, by name; no `create`, which would let the pod mint tokens of any
                # ServiceAccount of the namespace through a service-account-token Secret.
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["secrets"],
                        "resourceNames": [names.secret],
                        "verbs": ["get", "update"],
                    }
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": names.workload, "namespace": options.namespace, "labels": _labels(options)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": names.workload},
                "subjects": subject,
            },
        ]
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": names.cluster_role, "labels": _labels(options)},
            "rules": cluster_rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": names.cluster_role, "labels": _labels(options)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": names.cluster_role},
            "subjects": subject,
        },
        *objects,
    ]


def _server_objects(options: ControlPlaneOptions) -> list[dict[str, Any]]:
    names = options.names
    ns = options.namespace
    selector = _selector(options)
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": names.workload, "namespace": ns, "labels": _labels(options)},
        },
        *_rbac(options),
    ]
    if options.cert_manager_issuer:
        objects.append(
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "Certificate",
                "metadata": {"name": names.workload, "namespace": ns, "labels": _labels(options)},
                "spec": {
                    "secretName": names.secret,
                    "dnsNames": list(names.service_hosts()),
                    "issuerRef": _issuer_ref(options.cert_manager_issuer),
                    "duration": "2160h",
                    "renewBefore": "720h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                },
            }
        )
    else:
        # Created empty (no `data`, so a re-apply never touches what `meshinject certs` keeps in it): the
        # controller needs no `create` permission on Secrets.
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": names.secret, "namespace": ns, "labels": _labels(options)},
                "type": "Opaque",
            }
        )
    objects += [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": names.workload, "namespace": ns, "labels": _labels(options)},
            "spec": {
                "selector": selector,
                "ports": [
                    {"name": "https-webhook", "port": SERVICE_PORT, "targetPort": SERVER_PORT, "protocol": "TCP"}
                ],
            },
        },
        deployment(options),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": names.workload, "namespace": ns, "labels": _labels(options)},
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": selector},
                # A crash-looping replica must not block node drains.
                "unhealthyPodEvictionPolicy": "AlwaysAllow",
            },
        },
    ]
    return objects


def reinvocation_policy(options: ControlPlaneOptions, injector: InjectorData) -> str:
    if options.reinvocation_policy is not None:
        return options.reinvocation_policy
    values = json.loads(injector.values)
    policy = ((values.get("sidecarInjectorWebhook") or {}).get("reinvocationPolicy")) or "Never"
    if policy not in REINVOCATION_POLICIES:
        raise ManifestError(f"values: sidecarInjectorWebhook.reinvocationPolicy {policy!r} is not Never or IfNeeded")
    return str(policy)


def render(options: ControlPlaneOptions, injector: InjectorData) -> list[dict[str, Any]]:
    """Every object of the revision, in an order a plain ``kubectl apply`` can follow (the webhook last)."""
    check_options(options)
    names = options.names
    ns = options.namespace
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": names.injector_configmap, "namespace": ns, "labels": _labels(options)},
            "data": {"config": injector.config, "values": injector.values},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": names.mesh_configmap, "namespace": ns, "labels": _labels(options)},
            "data": {"mesh": injector.mesh},
        },
    ]
    if not options.external:
        objects += _server_objects(options)
    objects.append(webhook_configuration(options, reinvocation_policy(options, injector)))
    return objects


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the templates) as literal blocks, so the output stays readable and diffable."""

    def ignore_aliases(self, data: Any) -> bool:
        # Objects shared between webhooks are written out in full: anchors confuse people and some tools.
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_BlockDumper.add_representer(str, _str_presenter)


def to_yaml(objects: Sequence[Mapping[str, Any]]) -> str:
    return "---\n".join(yaml.dump(dict(o), Dumper=_BlockDumper, sort_keys=False, width=1 << 16) for o in objects)
