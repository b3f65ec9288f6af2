"""The injection webhooks of a cluster, and which of them the API server would call for a pod.

Istio (and meshinject's own control plane, which uses the same layout) installs one
MutatingWebhookConfiguration per revision, ``istio-sidecar-injector[-REV]`` labelled ``istio.io/rev=REV``, and
one per revision tag, ``istio-revision-tag-TAG`` labelled ``istio.io/rev=REV`` and ``istio.io/tag=TAG``. Each
holds several webhooks (``rev.namespace.``, ``rev.object.``, and for the default revision ``namespace.``,
``object.``, ``auto.`` + ``sidecar-injector.istio.io``) that differ only in their selectors. Which revision
injects a pod is therefore decided by the API server evaluating those selectors, and this module reproduces that
evaluation exactly instead of guessing from label names.

Listing (:func:`list_injection_webhooks`) is kept apart from the pure functions (:func:`parse_webhook_configuration`,
:func:`evaluate`, :func:`matching_webhooks`), so the latter can be tested on hand-made objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from lightkube import Client

from meshinject.inject.decide import selector_matches

from .client import api_call

__all__ = [
    "DEACTIVATED_SELECTOR",
    "DEFAULT_REVISION",
    "INJECTION_LABEL",
    "NAMESPACE_NAME_LABEL",
    "REV_LABEL",
    "TAG_CONFIG_PREFIX",
    "TAG_LABEL",
    "ClientConfig",
    "InjectionWebhook",
    "RequirementResult",
    "WebhookMatch",
    "build_tag_configuration",
    "canonical_client_config",
    "deactivate_configuration",
    "effective_namespace_labels",
    "evaluate",
    "explain_selector",
    "injecting_revisions",
    "injecting_targets",
    "is_injection_webhook",
    "istio_selectors",
    "list_injection_webhooks",
    "list_webhook_configurations",
    "matching_webhooks",
    "parse_webhook_configuration",
    "parse_webhook_configurations",
    "selector_matches_all",
    "tag_configuration_name",
]

REV_LABEL: Final = "istio.io/rev"
TAG_LABEL: Final = "istio.io/tag"
INJECTION_LABEL: Final = "istio-injection"
INJECT_LABEL: Final = "sidecar.istio.io/inject"
#: set on every namespace by the API server (since Kubernetes 1.21), so selectors may name namespaces
NAMESPACE_NAME_LABEL: Final = "kubernetes.io/metadata.name"
DEFAULT_REVISION: Final = "default"
INJECTOR_WEBHOOK_SUFFIX: Final = "sidecar-injector.istio.io"
INJECTOR_CONFIG_PREFIXES: Final = ("istio-sidecar-injector", "istio-revision-tag-", "meshinject-sidecar-injector")
#: what istioctl puts in both selectors of a webhook it switches off without deleting it (``tag set default``)
DEACTIVATED_SELECTOR: Final[Mapping[str, Any]] = {"matchLabels": {"istio.io/deactivated": "never-match"}}


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Where the API server sends the AdmissionReview: a ``url`` or an in-cluster ``service``."""

    url: str | None = None
    service_name: str | None = None
    service_namespace: str | None = None
    service_path: str | None = None
    service_port: int | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ClientConfig:
        data = data or {}
        service = data.get("service") or {}
        port = service.get("port")
        return cls(
            url=data.get("url"),
            service_name=service.get("name"),
            service_namespace=service.get("namespace"),
            service_path=service.get("path"),
            # the API server defaults the port to 443; an object read back from it always carries one
            service_port=int(port) if port is not None else (443 if service else None),
            ca_bundle=data.get("caBundle"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``clientConfig`` in Kubernetes JSON form."""
        result: dict[str, Any] = {}
        if self.url is not None:
            result["url"] = self.url
        if self.service_name is not None:
            service: dict[str, Any] = {"name": self.service_name, "namespace": self.service_namespace}
            if self.service_path is not None:
                service["path"] = self.service_path
            if self.service_port is not None:
                service["port"] = self.service_port
            result["service"] = service
        if self.ca_bundle:
            result["caBundle"] = self.ca_bundle
        return result

    def describe(self) -> str:
        """``url`` or ``service NS/NAME:PORT/PATH`` for tables and messages."""
        if self.url:
            return self.url
        if self.service_name:
            port = f":{self.service_port}" if self.service_port is not None else ""
            return f"service {self.service_namespace}/{self.service_name}{port}{self.service_path or ''}"
        return "(no client config)"


@dataclass(frozen=True, slots=True)
class InjectionWebhook:
    """One webhook of a MutatingWebhookConfiguration that injects sidecars into pods."""

    config_name: str
    webhook_name: str
    #: ``istio.io/rev`` of the configuration (the revision serving it; a tag's target), None when unlabelled
    revision: str | None
    #: ``istio.io/tag`` of the configuration; None for a revision's own configuration
    tag: str | None
    namespace_selector: Mapping[str, Any] | None
    object_selector: Mapping[str, Any] | None
    client_config: ClientConfig
    failure_policy: str = "Fail"
    reinvocation_policy: str | None = None
    rules: Sequence[Mapping[str, Any]] = ()
    #: CEL expressions the API server also evaluates; not evaluated here (see :class:`WebhookMatch`)
    match_conditions: Sequence[Mapping[str, Any]] = ()
    config_labels: Mapping[str, str] = field(default_factory=dict)
    config_annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def name_prefix(self) -> str:
        """``rev.namespace.``, ``rev.object.``, ``namespace.``, ``object.``, ``auto.`` or ``""``."""
        if self.webhook_name.endswith(INJECTOR_WEBHOOK_SUFFIX):
            return self.webhook_name[: -len(INJECTOR_WEBHOOK_SUFFIX)]
        return ""

    @property
    def deactivated(self) -> bool:
        """Switched off by istioctl's trick of a never-matching selector (kept so one can switch back)."""
        return _is_deactivated(self.namespace_selector) or _is_deactivated(self.object_selector)

    @property
    def intercepts_pod_creation(self) -> bool:
        """Whether its rules let the API server call it when a pod is created (hand-made ones without rules do)."""
        return not self.rules or any(_rule_covers_pod_create(rule) for rule in self.rules)

    @property
    def is_tag(self) -> bool:
        return self.tag is not None

    @property
    def selects_as(self) -> str | None:
        """The value of ``istio.io/rev`` on a namespace or pod that this webhook's configuration answers to."""
        return self.tag if self.tag is not None else self.revision

    def to_dict(self) -> dict[str, Any]:
        return {
            "configuration": self.config_name,
            "webhook": self.webhook_name,
            "revision": self.revision,
            "tag": self.tag,
            "namespaceSelector": dict(self.namespace_selector) if self.namespace_selector is not None else None,
            "objectSelector": dict(self.object_selector) if self.object_selector is not None else None,
            "clientConfig": self.client_config.to_dict(),
            "failurePolicy": self.failure_policy,
            "deactivated": self.deactivated,
        }


def _is_deactivated(selector: Mapping[str, Any] | None) -> bool:
    if not selector:
        return False
    labels = selector.get("matchLabels") or {}
    return any(key == "istio.io/deactivated" for key in labels)


# -- recognising injectors ------------------------------------------------------------------------------------


def _rule_covers_pod_create(rule: Mapping[str, Any]) -> bool:
    """A RuleWithOperations that matches ``CREATE`` of core/v1 ``pods`` (the object itself, not a subresource)."""
    operations = rule.get("operations") or []
    groups = rule.get("apiGroups") or []
    versions = rule.get("apiVersions") or []
    resources = rule.get("resources") or []
    return (
        any(op in ("CREATE", "*") for op in operations)
        and any(g in ("", "*") for g in groups)
        and any(v in ("v1", "*") for v in versions)
        and any(r in ("pods", "*", "*/*") for r in resources)
        and rule.get("scope", "*") in ("*", "Namespaced")
    )


def is_injection_webhook(config: Mapping[str, Any], webhook: Mapping[str, Any]) -> bool:
    """Whether ``webhook`` of configuration ``config`` is a sidecar injector (Istio's or meshinject's).

    Recognised by the webhook name Istio gives all its injectors, or by a configuration named or labelled like
    an injector whose rules intercept pod creation. A configuration only labelled ``istio.io/rev`` is not enough
    on its own: other Istio components label their webhooks that way too.
    """
    name = str(webhook.get("name") or "")
    if name == INJECTOR_WEBHOOK_SUFFIX or name.endswith("." + INJECTOR_WEBHOOK_SUFFIX):
        return True
    meta = config.get("metadata") or {}
    labels = meta.get("labels") or {}
    config_name = str(meta.get("name") or "")
    looks_like_injector = (
        config_name.startswith(INJECTOR_CONFIG_PREFIXES)
        or labels.get("app") == "sidecar-injector"
        or TAG_LABEL in labels
    )
    return looks_like_injector and any(_rule_covers_pod_create(rule) for rule in webhook.get("rules") or [])


def parse_webhook_configuration(config: Mapping[str, Any]) -> list[InjectionWebhook]:
    """The injection webhooks of one MutatingWebhookConfiguration in Kubernetes JSON form (others are skipped)."""
    meta = config.get("metadata") or {}
    labels: dict[str, str] = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    annotations: dict[str, str] = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    result = []
    for webhook in config.get("webhooks") or []:
        if not is_injection_webhook(config, webhook):
            continue
        result.append(
            InjectionWebhook(
                config_name=str(meta.get("name") or ""),
                webhook_name=str(webhook.get("name") or ""),
                revision=labels.get(REV_LABEL),
                tag=labels.get(TAG_LABEL),
                namespace_selector=webhook.get("namespaceSelector"),
                object_selector=webhook.get("objectSelector"),
                client_config=ClientConfig.from_dict(webhook.get("clientConfig")),
                # "Fail" is the API server's default for admissionregistration/v1
                failure_policy=str(webhook.get("failurePolicy") or "Fail"),
                reinvocation_policy=webhook.get("reinvocationPolicy"),
                rules=list(webhook.get("rules") or []),
                match_conditions=list(webhook.get("matchConditions") or []),
                config_labels=labels,
                config_annotations=annotations,
            )
        )
    return result


def parse_webhook_configurations(configs: Iterable[Mapping[str, Any]]) -> list[InjectionWebhook]:
    """All injection webhooks of several configurations, sorted by configuration then webhook name."""
    webhooks = [wh for config in configs for wh in parse_webhook_configuration(config)]
    # the API server calls mutating webhooks ordered by configuration name, then in listed order
    return sorted(webhooks, key=lambda wh: wh.config_name)


def list_webhook_configurations(client: Client) -> list[dict[str, Any]]:
    """Every MutatingWebhookConfiguration of the cluster in Kubernetes JSON form."""
    from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration

    with api_call("list", "mutatingwebhookconfigurations"):
        return [obj.to_dict() for obj in client.list(MutatingWebhookConfiguration)]


def list_injection_webhooks(client: Client) -> list[InjectionWebhook]:
    """The injection webhooks of the cluster (:func:`parse_webhook_configurations` of the live objects)."""
    return parse_webhook_configurations(list_webhook_configurations(client))


# -- selector evaluation --------------------------------------------------------------------------------------


def effective_namespace_labels(name: str, labels: Mapping[str, str] | None) -> dict[str, str]:
    """A namespace's labels as a namespaceSelector sees them: including ``kubernetes.io/metadata.name``.

    The API server sets that label on every namespace; it is added here too so hand-made or old objects behave
    like live ones.
    """
    result = {str(k): str(v) for k, v in (labels or {}).items()}
    result.setdefault(NAMESPACE_NAME_LABEL, name)
    return result


def selector_matches_all(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics as admission webhooks use them: an absent or empty selector matches all."""
    if selector is None:
        return True
    try:
        return selector_matches(selector, labels) is not False
    except ValueError:
        # the API server refuses to store such a selector, so it can only come from a hand-made object
        return False


@dataclass(frozen=True, slots=True)
class RequirementResult:
    """One requirement of a selector (a matchLabels entry or a matchExpression) and whether the labels meet it."""

    requirement: str
    satisfied: bool
    #: what the labels hold for the key, or None when the key is absent
    actual: str | None


def explain_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> list[RequirementResult]:
    """Each requirement of ``selector`` evaluated on its own; empty for a selector that matches everything."""
    if not selector:
        return []
    results = []
    for key, value in (selector.get("matchLabels") or {}).items():
        actual = labels.get(key)
        results.append(RequirementResult(f"{key}={value}", actual == value, actual))
    for expr in selector.get("matchExpressions") or []:
        key = str(expr.get("key", ""))
        op = str(expr.get("operator", ""))
        values = [str(v) for v in expr.get("values") or []]
        actual = labels.get(key)
        if op == "In":
            ok = actual is not None and actual in values
            text = f"{key} in ({','.join(values)})"
        elif op == "NotIn":
            ok = actual is None or actual not in values
            text = f"{key} notin ({','.join(values)})"
        elif op == "Exists":
            ok = actual is not None
            text = key
        elif op == "DoesNotExist":
            ok = actual is None
            text = f"!{key}"
        else:
            ok = False
            text = f"{key} {op}?"
        results.append(RequirementResult(text, ok, actual))
    return results


@dataclass(frozen=True, slots=True)
class WebhookMatch:
    """Whether the API server would call ``webhook`` for a pod, selector by selector."""

    webhook: InjectionWebhook
    namespace_matches: bool
    object_matches: bool
    namespace_requirements: list[RequirementResult]
    object_requirements: list[RequirementResult]

    @property
    def matches(self) -> bool:
        return self.namespace_matches and self.object_matches

    @property
    def cel_unchecked(self) -> bool:
        """The webhook has matchConditions (CEL), which are not evaluated: a match may still be filtered out."""
        return bool(self.webhook.match_conditions)

    def reason(self) -> str:
        """One line: why the webhook would or would not be called."""
        if self.matches:
            return "namespaceSelector and objectSelector match"
        parts = []
        for label, ok, reqs in (
            ("namespaceSelector", self.namespace_matches, self.namespace_requirements),
            ("objectSelector", self.object_matches, self.object_requirements),
        ):
            if not ok:
                failed = [r.requirement for r in reqs if not r.satisfied] or ["(invalid selector)"]
                parts.append(f"{label} fails {', '.join(failed)}")
        return "; ".join(parts)


def evaluate(
    webhook: InjectionWebhook,
    namespace: str,
    namespace_labels: Mapping[str, str] | None,
    pod_labels: Mapping[str, str] | None,
) -> WebhookMatch:
    """Would the API server call ``webhook`` when a pod with ``pod_labels`` is created in ``namespace``?"""
    ns_labels = effective_namespace_labels(namespace, namespace_labels)
    labels = {str(k): str(v) for k, v in (pod_labels or {}).items()}
    return WebhookMatch(
        webhook=webhook,
        namespace_matches=selector_matches_all(webhook.namespace_selector, ns_labels),
        object_matches=selector_matches_all(webhook.object_selector, labels),
        namespace_requirements=explain_selector(webhook.namespace_selector, ns_labels),
        object_requirements=explain_selector(webhook.object_selector, labels),
    )


def matching_webhooks(
    webhooks: Iterable[InjectionWebhook],
    namespace: str,
    namespace_labels: Mapping[str, str] | None,
    pod_labels: Mapping[str, str] | None = None,
) -> list[InjectionWebhook]:
    """The injection webhooks the API server would call, in its calling order."""
    return [wh for wh in webhooks if evaluate(wh, namespace, namespace_labels, pod_labels).matches]


def injecting_targets(webhooks: Iterable[InjectionWebhook]) -> list[tuple[str | None, str | None]]:
    """Distinct (revision, tag) pairs among ``webhooks``, in order: more than one means conflicting injectors."""
    seen: list[tuple[str | None, str | None]] = []
    for wh in webhooks:
        pair = (wh.revision, wh.tag)
        if pair not in seen:
            seen.append(pair)
    return seen


def injecting_revisions(webhooks: Iterable[InjectionWebhook]) -> list[str]:
    """Distinct revisions served by ``webhooks`` (a tag counts as the revision it points at), in order."""
    seen: list[str] = []
    for wh in webhooks:
        rev = wh.revision or "(unlabelled)"
        if rev not in seen:
            seen.append(rev)
    return seen


# -- revision tags --------------------------------------------------------------------------------------------

TAG_CONFIG_PREFIX: Final = "istio-revision-tag-"
_POD_CREATE_RULE: Final[Mapping[str, Any]] = {
    "operations": ["CREATE"],
    "apiGroups": [""],
    "apiVersions": ["v1"],
    "resources": ["pods"],
}


def tag_configuration_name(tag: str, istio_namespace: str = "istio-system") -> str:
    """``istio-revision-tag-TAG``; Istio appends ``-NAMESPACE`` when the control plane is not in istio-system."""
    suffix = "" if istio_namespace == "istio-system" else f"-{istio_namespace}"
    return f"{TAG_CONFIG_PREFIX}{tag}{suffix}"


def istio_selectors(name: str, *, default: bool) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(webhook name prefix, namespaceSelector, objectSelector) of Istio's injector for ``istio.io/rev=NAME``.

    The layout of Istio's charts: ``rev.namespace.`` for namespaces labelled ``istio.io/rev=NAME`` (unless they
    also carry ``istio-injection``, which takes precedence), ``rev.object.`` for pods labelled so in unlabelled
    namespaces; with ``default`` also ``namespace.`` (``istio-injection=enabled``) and ``object.``
    (``sidecar.istio.io/inject=true`` on a pod without ``istio.io/rev`` in an unlabelled namespace). A pod
    labelled ``sidecar.istio.io/inject=false`` is never selected.
    """
    not_disabled = {"key": INJECT_LABEL, "operator": "NotIn", "values": ["false"]}
    no_rev = {"key": REV_LABEL, "operator": "DoesNotExist"}
    no_injection = {"key": INJECTION_LABEL, "operator": "DoesNotExist"}
    rev_is = {"key": REV_LABEL, "operator": "In", "values": [name]}
    result: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("rev.namespace.", {"matchExpressions": [rev_is, no_injection]}, {"matchExpressions": [not_disabled]}),
        (
            "rev.object.",
            {"matchExpressions": [no_rev, no_injection]},
            {"matchExpressions": [not_disabled, rev_is]},
        ),
    ]
    if default:
        result += [
            (
                "namespace.",
                {"matchExpressions": [{"key": INJECTION_LABEL, "operator": "In", "values": ["enabled"]}]},
                {"matchExpressions": [not_disabled]},
            ),
            (
                "object.",
                {"matchExpressions": [no_injection, no_rev]},
                {"matchExpressions": [{"key": INJECT_LABEL, "operator": "In", "values": ["true"]}, no_rev]},
            ),
        ]
    return [(prefix, _copy(ns), _copy(obj)) for prefix, ns, obj in result]


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data (selectors are shared between webhooks otherwise)."""
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def canonical_client_config(config: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The clientConfig (and reinvocationPolicy) of a revision's injector, as a tag copies it.

    Taken from the first webhook named like Istio's injector, else the first injection webhook; raises
    ValueError when the configuration has none.
    """
    hooks = [wh for wh in config.get("webhooks") or [] if is_injection_webhook(config, wh)]
    named = [wh for wh in hooks if str(wh.get("name", "")).endswith(INJECTOR_WEBHOOK_SUFFIX)]
    chosen = (named or hooks or [None])[0]
    if chosen is None:
        name = (config.get("metadata") or {}).get("name")
        raise ValueError(f"MutatingWebhookConfiguration {name!r} has no sidecar-injector webhook to copy")
    client = ClientConfig.from_dict(chosen.get("clientConfig")).to_dict()
    return client, chosen.get("reinvocationPolicy")


def build_tag_configuration(
    tag: str, revision: str, revision_config: Mapping[str, Any], istio_namespace: str = "istio-system"
) -> dict[str, Any]:
    """The MutatingWebhookConfiguration of revision tag ``tag`` pointing at ``revision``.

    It serves ``istio.io/rev=TAG`` with the revision's own endpoint (url or service, path, CA bundle) and Istio's
    selectors; the ``default`` tag also serves ``istio-injection=enabled`` and ``sidecar.istio.io/inject=true``.
    Labels are the revision configuration's (except ``app``) plus ``istio.io/rev``, ``istio.io/tag`` and
    ``app=sidecar-injector``, as istioctl does, so that istiod's CA-bundle patcher keeps the tag up to date too.
    """
    client, reinvocation = canonical_client_config(revision_config)
    meta = revision_config.get("metadata") or {}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items() if k != "app"}
    labels.update({"app": "sidecar-injector", REV_LABEL: revision, TAG_LABEL: tag})
    metadata: dict[str, Any] = {"name": tag_configuration_name(tag, istio_namespace), "labels": labels}
    if meta.get("annotations"):
        metadata["annotations"] = dict(meta["annotations"])
    webhooks = []
    for prefix, ns_selector, obj_selector in istio_selectors(tag, default=tag == DEFAULT_REVISION):
        webhooks.append(
            {
                "name": prefix + INJECTOR_WEBHOOK_SUFFIX,
                "clientConfig": _copy(client),
                "rules": [_copy(_POD_CREATE_RULE)],
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "reinvocationPolicy": reinvocation or "Never",
                "admissionReviewVersions": ["v1"],
                "namespaceSelector": ns_selector,
                "objectSelector": obj_selector,
            }
        )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": metadata,
        "webhooks": webhooks,
    }


def deactivate_configuration(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` whose webhooks never match (istioctl's way to retire the old default injector).

    Kept rather than deleted so the old default revision can be made the default again later.
    """
    result: dict[str, Any] = _copy(config)
    for webhook in result.get("webhooks") or []:
        webhook["namespaceSelector"] = _copy(DEACTIVATED_SELECTOR)
        webhook["objectSelector"] = _copy(DEACTIVATED_SELECTOR)
    return result
