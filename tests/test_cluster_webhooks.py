"""Which injection webhooks the API server would call, and the revision model, on hand-made objects.

The webhook configurations below are written out by hand in the layout of Istio's charts
(istio-discovery/templates/mutatingwebhook.yaml and revision-tags-mwc.yaml), so the expectations follow from
Kubernetes' LabelSelector semantics and Istio's documented selection rules, not from our own generator.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshinject.cluster.revisions import (
    ClusterSnapshot,
    build_model,
    configmap_revision,
    image_version,
    pod_injected_revision,
    serving_webhooks,
)
from meshinject.cluster.webhooks import (
    build_tag_configuration,
    deactivate_configuration,
    evaluate,
    explain_selector,
    injecting_revisions,
    matching_webhooks,
    parse_webhook_configuration,
    parse_webhook_configurations,
    selector_matches_all,
    tag_configuration_name,
)

OPT_OUT = {"sidecar.istio.io/inject": "false"}
NOT_DISABLED = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}


def hook(
    name: str, ns: dict[str, Any], obj: dict[str, Any], *, url: str = "https://127.0.0.1:1/inject"
) -> dict[str, Any]:
    return {
        "name": name,
        "clientConfig": {"url": url},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "failurePolicy": "Fail",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "namespaceSelector": ns,
        "objectSelector": obj,
    }


def istio_config(revision: str, *, tag: str | None = None, name: str | None = None) -> dict[str, Any]:
    """A MutatingWebhookConfiguration as Istio's charts render it for a revision (or a tag of it)."""
    selects = tag or revision
    rev_in = {"key": "istio.io/rev", "operator": "In", "values": [selects]}
    hooks = [
        hook(
            "rev.namespace.sidecar-injector.istio.io",
            {"matchExpressions": [rev_in, {"key": "istio-injection", "operator": "DoesNotExist"}]},
            {"matchExpressions": [NOT_DISABLED]},
        ),
        hook(
            "rev.object.sidecar-injector.istio.io",
            {
                "matchExpressions": [
                    {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    {"key": "istio-injection", "operator": "DoesNotExist"},
                ]
            },
            {"matchExpressions": [NOT_DISABLED, rev_in]},
        ),
    ]
    if selects == "default":
        hooks += [
            hook(
                "namespace.sidecar-injector.istio.io",
                {"matchExpressions": [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}]},
                {"matchExpressions": [NOT_DISABLED]},
            ),
            hook(
                "object.sidecar-injector.istio.io",
                {
                    "matchExpressions": [
                        {"key": "istio-injection", "operator": "DoesNotExist"},
                        {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    ]
                },
                {
                    "matchExpressions": [
                        {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
                        {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    ]
                },
            ),
        ]
    labels = {"app": "sidecar-injector", "istio.io/rev": revision}
    if tag:
        labels["istio.io/tag"] = tag
    if name is None:
        name = (
            f"istio-revision-tag-{tag}"
            if tag
            else ("istio-sidecar-injector" + ("" if revision == "default" else f"-{revision}"))
        )
    return {"metadata": {"name": name, "labels": labels}, "webhooks": hooks}


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}}


DEFAULT = istio_config("default")
CANARY = istio_config("canary")
PROD_TAG = istio_config("canary", tag="prod")
WEBHOOKS = parse_webhook_configurations([DEFAULT, CANARY, PROD_TAG])


def injectors(ns_labels: dict[str, str], pod_labels: dict[str, str] | None = None) -> list[str]:
    hooks = matching_webhooks(WEBHOOKS, "ns", ns_labels, pod_labels or {})
    return [f"{wh.config_name}/{wh.webhook_name.split('sidecar-injector')[0]}" for wh in hooks]


# -- LabelSelector semantics --------------------------------------------------------------------------------


def test_absent_or_empty_selector_matches_every_object() -> None:
    assert selector_matches_all(None, {})
    assert selector_matches_all({}, {"a": "b"})
    assert selector_matches_all({"matchLabels": {}, "matchExpressions": []}, {})


def test_match_labels_and_expressions_must_all_hold() -> None:
    selector = {
        "matchLabels": {"team": "a"},
        "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}],
    }
    assert selector_matches_all(selector, {"team": "a", "env": "prod"})
    assert not selector_matches_all(selector, {"team": "a", "env": "dev"})
    assert not selector_matches_all(selector, {"env": "prod"})


def test_notin_and_doesnotexist_hold_for_an_absent_key_but_in_and_exists_do_not() -> None:
    assert selector_matches_all({"matchExpressions": [{"key": "k", "operator": "NotIn", "values": ["x"]}]}, {})
    assert selector_matches_all({"matchExpressions": [{"key": "k", "operator": "DoesNotExist"}]}, {})
    assert not selector_matches_all({"matchExpressions": [{"key": "k", "operator": "In", "values": ["x"]}]}, {})
    assert not selector_matches_all({"matchExpressions": [{"key": "k", "operator": "Exists"}]}, {})


def test_unknown_operator_matches_nothing() -> None:
    assert not selector_matches_all({"matchExpressions": [{"key": "k", "operator": "Gt", "values": ["1"]}]}, {"k": "2"})


def test_namespace_selector_sees_the_metadata_name_label_even_when_the_object_lacks_it() -> None:
    auto = hook(
        "auto.sidecar-injector.istio.io",
        {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "kube-public"]}
            ]
        },
        {},
    )
    [wh] = parse_webhook_configuration({"metadata": {"name": "istio-sidecar-injector"}, "webhooks": [auto]})
    assert not evaluate(wh, "kube-system", {}, {}).matches
    assert evaluate(wh, "shop", {}, {}).matches


def test_explanation_names_each_failed_requirement_with_the_actual_value() -> None:
    [wh] = [w for w in parse_webhook_configuration(CANARY) if w.webhook_name.startswith("rev.namespace.")]
    result = evaluate(wh, "shop", {"istio.io/rev": "stable", "istio-injection": "enabled"}, {})
    assert not result.matches
    failed = [(r.requirement, r.actual) for r in result.namespace_requirements if not r.satisfied]
    assert failed == [("istio.io/rev in (canary)", "stable"), ("!istio-injection", "enabled")]
    assert result.reason() == "namespaceSelector fails istio.io/rev in (canary), !istio-injection"


def test_explain_lists_match_labels_as_equalities() -> None:
    [req] = explain_selector({"matchLabels": {"a": "1"}}, {"a": "2"})
    assert (req.requirement, req.satisfied, req.actual) == ("a=1", False, "2")


# -- Istio's selection rules through the selectors ----------------------------------------------------------


def test_istio_injection_enabled_namespace_is_injected_by_the_default_revision_only() -> None:
    assert injectors({"istio-injection": "enabled"}) == ["istio-sidecar-injector/namespace."]


def test_revision_label_selects_that_revision() -> None:
    assert injectors({"istio.io/rev": "canary"}) == ["istio-sidecar-injector-canary/rev.namespace."]


def test_tag_label_selects_the_tag_webhook_which_serves_its_revision() -> None:
    hooks = matching_webhooks(WEBHOOKS, "ns", {"istio.io/rev": "prod"}, {})
    assert [(wh.config_name, wh.revision, wh.tag) for wh in hooks] == [("istio-revision-tag-prod", "canary", "prod")]
    assert injecting_revisions(hooks) == ["canary"]


def test_both_namespace_labels_mean_the_default_revision_wins_ist0123() -> None:
    assert injectors({"istio-injection": "enabled", "istio.io/rev": "canary"}) == ["istio-sidecar-injector/namespace."]


def test_pod_label_selects_a_revision_in_an_unlabelled_namespace() -> None:
    assert injectors({}, {"istio.io/rev": "canary"}) == ["istio-sidecar-injector-canary/rev.object."]


def test_pod_inject_true_uses_the_default_revision_in_an_unlabelled_namespace() -> None:
    assert injectors({}, {"sidecar.istio.io/inject": "true"}) == ["istio-sidecar-injector/object."]


def test_pod_inject_false_opts_out_of_a_labelled_namespace() -> None:
    assert injectors({"istio.io/rev": "canary"}, {"sidecar.istio.io/inject": "false"}) == []


def test_unlabelled_namespace_and_pod_get_no_injector() -> None:
    assert injectors({}) == []


def test_revision_label_naming_nothing_is_injected_by_nothing() -> None:
    assert injectors({"istio.io/rev": "gone"}) == []


# -- recognising injectors ----------------------------------------------------------------------------------


def test_revision_and_tag_come_from_the_configuration_labels() -> None:
    hooks = parse_webhook_configuration(PROD_TAG)
    assert {(wh.revision, wh.tag) for wh in hooks} == {("canary", "prod")}
    assert hooks[0].client_config.describe() == "https://127.0.0.1:1/inject"


def test_other_mutating_webhooks_are_not_injectors() -> None:
    other = {
        "metadata": {"name": "cert-manager-webhook", "labels": {"app": "webhook"}},
        "webhooks": [
            {
                "name": "webhook.cert-manager.io",
                "clientConfig": {"service": {"name": "cm", "namespace": "cert-manager"}},
                "rules": [{"operations": ["CREATE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"]}],
            }
        ],
    }
    assert parse_webhook_configuration(other) == []


def test_injector_named_configuration_with_custom_webhook_name_is_recognised_by_its_pod_rule() -> None:
    config = istio_config("blue", name="istio-sidecar-injector-blue")
    config["webhooks"][0]["name"] = "inject.example.com"
    hooks = parse_webhook_configuration(config)
    assert [wh.webhook_name for wh in hooks] == ["inject.example.com", "rev.object.sidecar-injector.istio.io"]


def test_service_client_config_defaults_port_443() -> None:
    config = istio_config("blue")
    config["webhooks"][0]["clientConfig"] = {
        "service": {"name": "istiod-blue", "namespace": "istio-system", "path": "/inject"}
    }
    wh = parse_webhook_configuration(config)[0]
    assert wh.client_config.describe() == "service istio-system/istiod-blue:443/inject"


def test_deactivated_webhooks_match_nothing() -> None:
    [wh, *_] = parse_webhook_configuration(deactivate_configuration(DEFAULT))
    assert wh.deactivated
    assert not evaluate(wh, "ns", {"istio-injection": "enabled"}, {}).matches


# -- tags -----------------------------------------------------------------------------------------------------


def test_tag_configuration_copies_the_revision_endpoint_and_uses_istio_selectors() -> None:
    source = istio_config("canary")
    client = {"service": {"name": "istiod-canary", "namespace": "istio-system", "path": "/inject", "port": 443}}
    for wh in source["webhooks"]:
        wh["clientConfig"] = {**client, "caBundle": "Q0E="}
        wh["reinvocationPolicy"] = "IfNeeded"
    source["metadata"]["labels"]["install.operator.istio.io/owning-resource"] = "installed-state"

    config = build_tag_configuration("prod", "canary", source)

    expected = istio_config("canary", tag="prod")
    assert config["metadata"]["name"] == "istio-revision-tag-prod"
    assert config["metadata"]["labels"] == {
        "app": "sidecar-injector",
        "istio.io/rev": "canary",
        "istio.io/tag": "prod",
        "install.operator.istio.io/owning-resource": "installed-state",
    }
    assert [
        (w["name"], w["namespaceSelector"], w["objectSelector"], w["reinvocationPolicy"]) for w in config["webhooks"]
    ] == [(w["name"], w["namespaceSelector"], w["objectSelector"], "IfNeeded") for w in expected["webhooks"]]
    assert all(w["clientConfig"] == {**client, "caBundle": "Q0E="} for w in config["webhooks"])


def test_default_tag_also_serves_istio_injection_enabled_and_inject_true() -> None:
    config = build_tag_configuration("default", "canary", istio_config("canary"))
    names = [w["name"] for w in config["webhooks"]]
    assert names == [w["name"] for w in istio_config("canary", tag="default")["webhooks"]]
    hooks = parse_webhook_configuration(config)
    assert [wh.webhook_name for wh in matching_webhooks(hooks, "x", {"istio-injection": "enabled"}, {})] == [
        "namespace.sidecar-injector.istio.io"
    ]


def test_tag_configuration_name_carries_a_non_default_control_plane_namespace() -> None:
    assert tag_configuration_name("prod") == "istio-revision-tag-prod"
    assert tag_configuration_name("prod", "asm-system") == "istio-revision-tag-prod-asm-system"


def test_tag_of_a_configuration_without_injector_is_refused() -> None:
    with pytest.raises(ValueError, match="no sidecar-injector webhook"):
        build_tag_configuration("prod", "x", {"metadata": {"name": "x"}, "webhooks": []})


# -- the revision model -----------------------------------------------------------------------------------------


def istiod(name: str, revision: str, image: str, ready: bool) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "istio-system", "labels": {"app": "istiod", "istio.io/rev": revision}},
        "spec": {"containers": [{"name": "discovery", "image": image}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def injected(ns: str, name: str, status_revision: str | None, annotation: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"containers": ["istio-proxy"], "initContainers": ["istio-init"]}
    if status_revision is not None:
        status["revision"] = status_revision
    annotations = {"sidecar.istio.io/status": json.dumps(status)}
    if annotation is not None:
        annotations["istio.io/rev"] = annotation
    return {"metadata": {"name": name, "namespace": ns, "annotations": annotations}}


@pytest.fixture
def model() -> Any:
    snapshot = ClusterSnapshot(
        istio_namespace="istio-system",
        webhook_configurations=[DEFAULT, CANARY, PROD_TAG],
        istiod_pods=[
            istiod("istiod-7d4", "default", "docker.io/istio/pilot:1.23.4", True),
            istiod("istiod-canary-1", "canary", "gcr.io/gke-release/asm/pilot:1.24.2-asm.1", True),
            istiod("istiod-canary-2", "canary", "gcr.io/gke-release/asm/pilot:1.24.2-asm.1", False),
        ],
        configmaps=[
            {"metadata": {"name": "istio-sidecar-injector"}, "data": {"values": '{"global": {"tag": "1.23.4"}}'}},
            {"metadata": {"name": "istio-sidecar-injector-old"}, "data": {"values": '{"global": {"tag": "1.22.0"}}'}},
        ],
        namespaces=[
            namespace("legacy", **{"istio-injection": "enabled"}),
            namespace("shop", **{"istio.io/rev": "prod"}),
            namespace("both", **{"istio-injection": "enabled", "istio.io/rev": "canary"}),
            namespace("plain"),
        ],
        pods=[
            injected("legacy", "a", None),
            injected("shop", "b", "canary", "canary"),
            injected("shop", "c", "canary"),
            {"metadata": {"name": "d", "namespace": "plain", "labels": {"istio.io/rev": "prod"}}},
            {"metadata": {"name": "e", "namespace": "plain", "labels": {"istio.io/rev": "prod", **OPT_OUT}}},
        ],
    )
    return build_model(snapshot)


def test_revisions_are_the_union_of_pods_configmaps_and_webhooks(model: Any) -> None:
    assert [r.name for r in model.revisions] == ["default", "canary", "old"]
    old = model.revision("old")
    assert (old.configmaps, old.pods_total, old.webhook_configurations, old.serving) == (
        ["istio-sidecar-injector-old"],
        0,
        [],
        False,
    )
    assert old.version == "1.22.0"  # no istiod pod: the ConfigMap's global.tag


def test_revision_reports_tags_version_ready_pods_and_webhooks(model: Any) -> None:
    canary = model.revision("canary")
    assert canary.tags == ["prod"]
    assert canary.version == "1.24.2-asm.1"
    assert (canary.pods_ready, canary.pods_total) == (1, 2)
    assert canary.webhook_configurations == ["istio-sidecar-injector-canary"]
    assert canary.serving


def test_namespaces_are_assigned_through_the_selectors(model: Any) -> None:
    assert model.revision("default").namespaces == ["both", "legacy"]
    assert model.revision("canary").namespaces == ["shop"]
    assert model.namespace_revisions["plain"] == []
    assert model.tag("prod").namespaces == ["shop"]


def test_injected_pods_are_counted_per_revision(model: Any) -> None:
    assert model.revision("default").injected_pods == ["legacy/a"]
    assert model.revision("canary").injected_pods == ["shop/b", "shop/c"]
    assert model.tag("prod").labelled_pods == ["plain/d"]  # e opts out, so the tag's selectors skip it


def test_tag_resolves_to_its_revision(model: Any) -> None:
    assert model.resolve("prod") == "canary"
    assert model.resolve("canary") == "canary"
    assert model.resolve("nope") is None


def test_serving_webhooks_for_a_tag_and_for_nothing(model: Any) -> None:
    assert [wh.config_name for wh in serving_webhooks(model.webhooks, {"istio.io/rev": "prod"})] == [
        "istio-revision-tag-prod"
    ]
    assert serving_webhooks(model.webhooks, {"istio.io/rev": "old"}) == []


def test_image_version_handles_registry_ports_and_digests() -> None:
    assert image_version("registry:5000/istio/pilot:1.24.2@sha256:abc") == "1.24.2"
    assert image_version("registry:5000/istio/pilot") is None
    assert image_version("pilot@sha256:abc") is None


def test_configmap_revision_from_label_or_name() -> None:
    assert configmap_revision({"metadata": {"name": "istio-sidecar-injector"}}) == "default"
    assert configmap_revision({"metadata": {"name": "istio-sidecar-injector-1-24"}}) == "1-24"
    assert configmap_revision({"metadata": {"name": "x", "labels": {"istio.io/rev": "a"}}}) is None
    labelled = {"metadata": {"name": "istio-sidecar-injector-x", "labels": {"istio.io/rev": "asm-1"}}}
    assert configmap_revision(labelled) == "asm-1"


def test_pod_injected_revision_prefers_the_annotation_then_the_status() -> None:
    assert pod_injected_revision(injected("n", "p", "canary", "blue")) == "blue"
    assert pod_injected_revision(injected("n", "p", "canary")) == "canary"
    assert pod_injected_revision(injected("n", "p", None)) == "default"
    assert pod_injected_revision({"metadata": {"name": "p"}}) is None
