"""`meshinject restart` planning, rollout status and manifest cleaning, on hand-made Kubernetes objects."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

import pytest

from meshinject.cluster.restart import (
    Action,
    Inventory,
    PlanOptions,
    check_pod,
    clean_pod_manifest,
    daemonset_rollout,
    deployment_rollout,
    parse_duration,
    plan_restart,
    pod_problem,
    restarted_at,
    statefulset_rollout,
)
from meshinject.cluster.status import RevisionInjector, injector_from_configmaps, revision_by_labels
from meshinject.cluster.webhooks import parse_webhook_configurations

NS = "shop"


def namespace(name: str = NS, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}}


def owner(kind: str, name: str, uid: str = "") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "name": name, "uid": uid or f"uid-{name}", "controller": True}


def pod(
    name: str,
    *,
    owned_by: tuple[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    sidecar: str | None = None,
    phase: str = "Running",
    ns: str = NS,
    **meta: Any,
) -> dict[str, Any]:
    containers: list[dict[str, Any]] = [{"name": "app", "image": "registry.example/app:1"}]
    if sidecar is not None:
        containers.append({"name": "istio-proxy", "image": sidecar})
    metadata: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{name}", **meta}
    if owned_by:
        metadata["ownerReferences"] = [owner(*owned_by)]
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"metadata": metadata, "spec": {"containers": containers}, "status": {"phase": phase}}


def injected(revision: str) -> dict[str, str]:
    """The annotations Istio's injection leaves on a pod."""
    status = {"initContainers": ["istio-init"], "containers": ["istio-proxy"], "volumes": None, "revision": revision}
    return {"sidecar.istio.io/status": json.dumps(status), "istio.io/rev": revision}


def workload(
    kind: str,
    name: str,
    *,
    spec: Mapping[str, Any] | None = None,
    owned_by: tuple[str, str] | None = None,
    ns: str = NS,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{name}"}
    if owned_by:
        metadata["ownerReferences"] = [owner(*owned_by)]
    return {"kind": kind, "metadata": metadata, "spec": dict(spec or {})}


def inventory(
    pods: list[dict[str, Any]], *objects: dict[str, Any], namespaces: list[dict[str, Any]] | None = None, **extra: Any
) -> Inventory:
    workloads = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects}
    ns_objects = {n["metadata"]["name"]: n for n in namespaces or [namespace()]}
    return Inventory(namespaces=ns_objects, pods=pods, workloads=workloads, **extra)


def rows(plan: Any) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return [(item.kind, item.name, item.action, item.pods) for item in plan.items]


# -- controller chains and actions ----------------------------------------------------------------------------------


def test_deployment_pods_of_every_replicaset_are_one_rollout_restart() -> None:
    inv = inventory(
        [
            pod("web-new-1", owned_by=("ReplicaSet", "web-new")),
            pod("web-old-1", owned_by=("ReplicaSet", "web-old")),
        ],
        workload("ReplicaSet", "web-new", owned_by=("Deployment", "web")),
        workload("ReplicaSet", "web-old", owned_by=("Deployment", "web")),
        workload("Deployment", "web"),
    )

    plan = plan_restart(inv)

    assert rows(plan) == [("Deployment", "web", Action.ROLLOUT, ("web-new-1", "web-old-1"))]
    assert plan.items[0].workload == "deployment/web"


def test_statefulset_rolling_update_is_a_rollout_and_on_delete_deletes_highest_ordinal_first() -> None:
    inv = inventory(
        [pod(f"db-{i}", owned_by=("StatefulSet", "db")) for i in (0, 2, 10, 1)]
        + [pod("cache-0", owned_by=("StatefulSet", "cache"))],
        workload("StatefulSet", "db", spec={"updateStrategy": {"type": "OnDelete"}}),
        workload("StatefulSet", "cache", spec={"updateStrategy": {"type": "RollingUpdate"}}),
    )

    plan = plan_restart(inv)

    assert rows(plan) == [
        ("StatefulSet", "cache", Action.ROLLOUT, ("cache-0",)),
        ("StatefulSet", "db", Action.DELETE_ONE_BY_ONE, ("db-10", "db-2", "db-1", "db-0")),
    ]
    assert "OnDelete" in plan.items[1].reason


def test_statefulset_partition_is_named_in_the_reason() -> None:
    inv = inventory(
        [pod("db-0", owned_by=("StatefulSet", "db"))],
        workload("StatefulSet", "db", spec={"updateStrategy": {"rollingUpdate": {"partition": 2}}}),
    )

    [item] = plan_restart(inv).items

    assert item.action == Action.ROLLOUT
    assert "partition 2" in item.reason


def test_daemonset_with_on_delete_strategy_deletes_pods_one_by_one() -> None:
    inv = inventory(
        [pod("agent-x", owned_by=("DaemonSet", "agent")), pod("logs-x", owned_by=("DaemonSet", "logs"))],
        workload("DaemonSet", "agent"),
        workload("DaemonSet", "logs", spec={"updateStrategy": {"type": "OnDelete"}}),
    )

    assert rows(plan_restart(inv)) == [
        ("DaemonSet", "agent", Action.ROLLOUT, ("agent-x",)),
        ("DaemonSet", "logs", Action.DELETE_ONE_BY_ONE, ("logs-x",)),
    ]


def test_pods_of_other_controllers_are_deleted_one_by_one() -> None:
    inv = inventory(
        [
            pod("lone-1", owned_by=("ReplicaSet", "lone")),
            pod("legacy-1", owned_by=("ReplicationController", "legacy")),
            pod("canary-1", owned_by=("ReplicaSet", "canary-rs")),
            pod("custom-1", owned_by=("Widget", "w")),
        ],
        workload("ReplicaSet", "lone"),
        workload("ReplicationController", "legacy"),
        workload("ReplicaSet", "canary-rs", owned_by=("Rollout", "canary")),
    )

    plan = plan_restart(inv)

    assert rows(plan) == [
        ("ReplicaSet", "canary-rs", Action.DELETE_ONE_BY_ONE, ("canary-1",)),
        ("ReplicaSet", "lone", Action.DELETE_ONE_BY_ONE, ("lone-1",)),
        ("ReplicationController", "legacy", Action.DELETE_ONE_BY_ONE, ("legacy-1",)),
        ("Widget", "w", Action.DELETE_ONE_BY_ONE, ("custom-1",)),
    ]
    assert plan.items[0].owners == (("Rollout", "canary"),)


def test_job_pods_are_reported_unless_jobs_are_included() -> None:
    inv = inventory(
        [pod("nightly-123-abc", owned_by=("Job", "nightly-123"))],
        workload("Job", "nightly-123", owned_by=("CronJob", "nightly")),
    )

    [reported] = plan_restart(inv).items
    [included] = plan_restart(inv, PlanOptions(include_jobs=True)).items

    assert (reported.kind, reported.name, reported.action) == ("Job", "nightly-123", Action.SKIP)
    assert "--include-jobs" in reported.reason
    assert reported.owners == (("CronJob", "nightly"),)
    assert (included.action, included.pods) == (Action.DELETE, ("nightly-123-abc",))


def test_bare_pod_is_never_planned_for_deletion_without_the_flag() -> None:
    inv = inventory([pod("debug")])

    [skipped] = plan_restart(inv).items
    [recreated] = plan_restart(inv, PlanOptions(recreate_bare_pods=True)).items

    assert (skipped.kind, skipped.action) == ("Pod", Action.SKIP)
    assert "--recreate-bare-pods" in skipped.reason
    assert (recreated.kind, recreated.name, recreated.action, recreated.pods) == (
        "Pod",
        "debug",
        Action.RECREATE,
        ("debug",),
    )


def test_static_pod_mirrored_from_a_node_is_skipped() -> None:
    inv = inventory([pod("etcd-node1", owned_by=("Node", "node1"))])

    [item] = plan_restart(inv, PlanOptions(recreate_bare_pods=True)).items

    assert (item.kind, item.action) == ("Node", Action.SKIP)
    assert "static pod" in item.reason


def test_paused_deployment_is_blocked() -> None:
    inv = inventory(
        [pod("web-1", owned_by=("ReplicaSet", "web-rs"))],
        workload("ReplicaSet", "web-rs", owned_by=("Deployment", "web")),
        workload("Deployment", "web", spec={"paused": True}),
    )

    [item] = plan_restart(inv).items

    assert item.action == Action.BLOCKED
    assert "rollout resume" in item.reason
    assert plan_restart(inv).executable() == []


def test_finished_and_terminating_pods_and_other_namespaces_are_left_out() -> None:
    inv = inventory(
        [
            pod("done", phase="Succeeded"),
            pod("crashed", phase="Failed"),
            pod("leaving", deletionTimestamp="2026-01-01T00:00:00Z"),
            pod("elsewhere", ns="other"),
            pod("here"),
        ]
    )

    assert [item.name for item in plan_restart(inv).items] == ["here"]


def test_plan_orders_by_namespace_then_workload_kind_with_bare_pods_last() -> None:
    inv = inventory(
        [
            pod("z-bare", ns="a"),
            pod("db-0", owned_by=("StatefulSet", "db"), ns="a"),
            pod("web-1", owned_by=("ReplicaSet", "web-rs"), ns="b"),
            pod("api-1", owned_by=("ReplicaSet", "api-rs"), ns="a"),
        ],
        workload("StatefulSet", "db", ns="a"),
        workload("ReplicaSet", "web-rs", owned_by=("Deployment", "web"), ns="b"),
        workload("Deployment", "web", ns="b"),
        workload("ReplicaSet", "api-rs", owned_by=("Deployment", "api"), ns="a"),
        workload("Deployment", "api", ns="a"),
        namespaces=[namespace("a"), namespace("b")],
    )

    plan = plan_restart(inv)

    assert [(i.namespace, i.kind, i.name) for i in plan.items] == [
        ("a", "Deployment", "api"),
        ("a", "StatefulSet", "db"),
        ("a", "Pod", "z-bare"),
        ("b", "Deployment", "web"),
    ]
    assert plan.to_dict()["workloads"][0] == {
        "namespace": "a",
        "kind": "Deployment",
        "name": "api",
        "action": "rollout-restart",
        "reason": "rolling update of the Deployment",
        "pods": ["api-1"],
    }


# -- what the namespace selects now ---------------------------------------------------------------------------------


def test_label_conventions_stand_in_when_webhooks_cannot_be_read() -> None:
    def revision(namespace_labels: dict[str, str], pod_labels: dict[str, str]) -> str | None:
        return revision_by_labels(namespace_labels, pod_labels)[0]

    assert revision({"istio-injection": "enabled"}, {}) == "default"
    assert revision({"istio.io/rev": "canary"}, {}) == "canary"
    # istio-injection wins over istio.io/rev (what Istio's IST0123 warns about)
    assert revision({"istio-injection": "enabled", "istio.io/rev": "canary"}, {}) == "default"
    assert revision({"istio-injection": "disabled", "istio.io/rev": "canary"}, {}) is None
    assert revision({}, {"istio.io/rev": "canary"}) == "canary"
    assert revision({}, {"sidecar.istio.io/inject": "true"}) == "default"
    assert revision({"istio.io/rev": "canary"}, {"sidecar.istio.io/inject": "false"}) is None
    assert revision({}, {}) is None


def _istio_webhooks(revision: str, *, default: bool, tag: str | None = None) -> dict[str, Any]:
    """A MutatingWebhookConfiguration laid out as Istio installs it (revision, or revision tag)."""
    value = tag or revision
    rules = [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]
    not_false = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    hooks = [
        {
            "name": "rev.namespace.sidecar-injector.istio.io",
            "rules": rules,
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "istio.io/rev", "operator": "In", "values": [value]},
                    {"key": "istio-injection", "operator": "DoesNotExist"},
                ]
            },
            "objectSelector": {"matchExpressions": [not_false]},
            "clientConfig": {"service": {"name": f"istiod-{revision}", "namespace": "mesh-system"}},
        },
        {
            "name": "rev.object.sidecar-injector.istio.io",
            "rules": rules,
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    {"key": "istio-injection", "operator": "DoesNotExist"},
                ]
            },
            "objectSelector": {
                "matchExpressions": [not_false, {"key": "istio.io/rev", "operator": "In", "values": [value]}]
            },
        },
    ]
    if default:
        hooks += [
            {
                "name": "namespace.sidecar-injector.istio.io",
                "rules": rules,
                "namespaceSelector": {
                    "matchExpressions": [{"key": "istio-injection", "operator": "In", "values": ["enabled"]}]
                },
                "objectSelector": {"matchExpressions": [not_false]},
            },
            {
                "name": "object.sidecar-injector.istio.io",
                "rules": rules,
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "istio-injection", "operator": "DoesNotExist"},
                        {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    ]
                },
                "objectSelector": {
                    "matchExpressions": [
                        {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
                        {"key": "istio.io/rev", "operator": "DoesNotExist"},
                    ]
                },
            },
        ]
    name = f"istio-revision-tag-{tag}" if tag else f"istio-sidecar-injector-{revision}"
    labels = {"istio.io/rev": revision, **({"istio.io/tag": tag} if tag else {})}
    return {"metadata": {"name": name, "labels": labels}, "webhooks": hooks}


def test_webhooks_of_istio_configurations_are_found_and_others_ignored() -> None:
    unrelated = {
        "metadata": {"name": "cert-manager-webhook"},
        "webhooks": [{"name": "webhook.cert-manager.io", "rules": [{"operations": ["CREATE"], "resources": ["*"]}]}],
    }
    not_pods = _istio_webhooks("1-21", default=False)
    not_pods["metadata"]["name"] = "istio-sidecar-injector-1-21-services"
    for hook in not_pods["webhooks"]:
        hook["rules"] = [{"operations": ["CREATE"], "resources": ["services"]}]

    hooks = parse_webhook_configurations([_istio_webhooks("1-20", default=True), unrelated, not_pods])
    calling = [h for h in hooks if h.intercepts_pod_creation]

    assert [(h.config_name, h.webhook_name, h.revision) for h in calling] == [
        ("istio-sidecar-injector-1-20", "rev.namespace.sidecar-injector.istio.io", "1-20"),
        ("istio-sidecar-injector-1-20", "rev.object.sidecar-injector.istio.io", "1-20"),
        ("istio-sidecar-injector-1-20", "namespace.sidecar-injector.istio.io", "1-20"),
        ("istio-sidecar-injector-1-20", "object.sidecar-injector.istio.io", "1-20"),
    ]
    assert calling[0].client_config.service_namespace == "mesh-system"
    # The services-only configuration is recognised, but never called for a pod: nothing selects through it.
    check = check_pod(pod("web-1"), namespace(**{"istio.io/rev": "1-21"}), webhooks=hooks)
    assert not check.outdated and check.expected is None


def test_webhooks_resolve_a_revision_tag_to_its_revision() -> None:
    hooks = parse_webhook_configurations(
        [_istio_webhooks("1-20", default=False), _istio_webhooks("1-21", default=False, tag="prod")]
    )

    by_tag = check_pod(pod("a"), namespace(**{"istio.io/rev": "prod"}), webhooks=hooks)
    by_pod_label = check_pod(pod("b", labels={"istio.io/rev": "1-20"}), namespace(), webhooks=hooks)
    nothing = check_pod(pod("c"), namespace(**{"istio-injection": "enabled"}), webhooks=hooks)  # no default revision

    assert (by_tag.outdated, by_tag.expected) == (True, "1-21")
    assert "istio-revision-tag-prod/rev.namespace.sidecar-injector.istio.io" in by_tag.reason
    assert (by_pod_label.outdated, by_pod_label.expected) == (True, "1-20")
    assert (nothing.outdated, nothing.expected) == (False, None)


def test_an_empty_webhook_list_means_nothing_injects_unlike_an_unreadable_one() -> None:
    ns = namespace(**{"istio-injection": "enabled"})

    assert not check_pod(pod("web-1"), ns, webhooks=[]).outdated
    assert check_pod(pod("web-1"), ns, webhooks=None).outdated


# -- is a pod outdated ----------------------------------------------------------------------------------------------


def test_pod_without_sidecar_in_an_injected_namespace_is_outdated() -> None:
    check = check_pod(pod("web-1"), namespace(**{"istio-injection": "enabled"}))

    assert check.outdated
    assert check.reason == (
        "namespace label istio-injection=enabled selects revision default, but the pod has no istio-proxy: restart it"
    )


def test_pod_opting_out_by_annotation_is_not_outdated() -> None:
    opted_out = pod("web-1", annotations={"sidecar.istio.io/inject": "false"})
    host_network = pod("net-1")
    host_network["spec"]["hostNetwork"] = True

    for p in (opted_out, host_network):
        check = check_pod(p, namespace(**{"istio.io/rev": "canary"}))
        assert not check.outdated
        assert check.reason.startswith(
            "not injected: namespace label istio.io/rev=canary selects revision canary, but its injector skips the pod:"
        )


def test_never_inject_selector_of_the_revision_is_honoured() -> None:
    config = RevisionInjector("default", never_inject_selector=({"matchLabels": {"tier": "batch"}},))

    check = check_pod(
        pod("batch-1", labels={"tier": "batch"}),
        namespace(**{"istio-injection": "enabled"}),
        injectors={"default": config},
    )

    assert not check.outdated
    assert "neverInjectSelector" in check.reason


def test_sidecar_of_another_revision_is_outdated() -> None:
    check = check_pod(
        pod("web-1", annotations=injected("stable"), sidecar="hub/proxyv2:1.20.0"),
        namespace(**{"istio.io/rev": "canary"}),
    )

    assert check.outdated
    assert (check.revision, check.expected) == ("stable", "canary")
    assert check.reason == (
        "runs revision stable's proxy, but namespace label istio.io/rev=canary selects revision canary now"
    )


def test_sidecar_revision_falls_back_to_the_istio_rev_annotation() -> None:
    p = pod("web-1", annotations={"istio.io/rev": "stable"}, sidecar="hub/proxyv2:1.20.0")

    check = check_pod(p, namespace(**{"istio.io/rev": "stable"}))

    assert not check.outdated
    assert check.revision == "stable"


def test_stale_proxy_image_is_outdated_and_the_current_one_is_not() -> None:
    config = injector_from_configmaps(
        "canary", {"values": json.dumps({"global": {"hub": "gcr.io/istio-release", "tag": "1.21.2"}})}
    )
    ns = namespace(**{"istio.io/rev": "canary"})

    stale = check_pod(
        pod("a", annotations=injected("canary"), sidecar="gcr.io/istio-release/proxyv2:1.21.1"),
        ns,
        injectors={"canary": config},
    )
    current = check_pod(
        pod("b", annotations=injected("canary"), sidecar="gcr.io/istio-release/proxyv2:1.21.2"),
        ns,
        injectors={"canary": config},
    )

    assert stale.outdated
    assert stale.reason == (
        "proxy image gcr.io/istio-release/proxyv2:1.21.1 is not the image revision canary injects now "
        "(gcr.io/istio-release/proxyv2:1.21.2)"
    )
    assert not current.outdated
    assert current.reason == "sidecar of revision canary is current"


def test_sidecar_nothing_selects_any_more_is_outdated() -> None:
    check = check_pod(pod("web-1", annotations=injected("stable"), sidecar="hub/proxyv2:1"), namespace())

    assert check.outdated
    assert check.reason.startswith("has an injected sidecar, but none would be injected now")


def test_sidecar_written_into_the_pod_template_is_never_outdated() -> None:
    template = {"metadata": {"annotations": injected("stable")}}

    check = check_pod(
        pod("web-1", annotations=injected("stable"), sidecar="hub/proxyv2:1"), namespace(), template=template
    )

    assert not check.outdated
    assert "kube-inject" in check.reason


def test_only_outdated_keeps_workloads_with_an_outdated_pod() -> None:
    ns = namespace(**{"istio.io/rev": "canary"})
    inv = inventory(
        [
            pod("web-1", owned_by=("ReplicaSet", "web-rs"), annotations=injected("canary"), sidecar="h/proxyv2:1"),
            pod("web-2", owned_by=("ReplicaSet", "web-rs")),
            pod("api-1", owned_by=("ReplicaSet", "api-rs"), annotations=injected("canary"), sidecar="h/proxyv2:1"),
            pod("db-0", owned_by=("StatefulSet", "db"), annotations=injected("canary"), sidecar="h/proxyv2:1"),
            pod("db-1", owned_by=("StatefulSet", "db"), annotations=injected("stable"), sidecar="h/proxyv2:1"),
        ],
        workload("ReplicaSet", "web-rs", owned_by=("Deployment", "web")),
        workload("Deployment", "web"),
        workload("ReplicaSet", "api-rs", owned_by=("Deployment", "api")),
        workload("Deployment", "api"),
        workload("StatefulSet", "db", spec={"updateStrategy": {"type": "OnDelete"}}),
        namespaces=[ns],
    )

    plan = plan_restart(inv, PlanOptions(only_outdated=True))

    # A rollout replaces every pod; a deletion only the outdated ones.
    assert rows(plan) == [
        ("Deployment", "web", Action.ROLLOUT, ("web-1", "web-2")),
        ("StatefulSet", "db", Action.DELETE_ONE_BY_ONE, ("db-1",)),
    ]
    assert plan.items[0].reason.startswith("1/2 pod(s) outdated (namespace label istio.io/rev=canary selects")
    assert plan.up_to_date == ["deployment/api in shop"]
    checks = plan.to_dict()["workloads"][1]["podChecks"]
    assert [(c["pod"], c["outdated"], c["revision"], c["expected"]) for c in checks] == [
        ("db-1", True, "stable", "canary"),
        ("db-0", False, "canary", "canary"),
    ]


# -- proxy images -----------------------------------------------------------------------------------------------------


def _values(**glob: Any) -> dict[str, str]:
    return {"values": json.dumps({"global": glob})}


def test_proxy_image_is_hub_proxyv2_and_tag() -> None:
    injector = injector_from_configmaps("x", _values(hub="docker.io/istio", tag="1.22.0"))

    assert injector.proxy_image({}) == "docker.io/istio/proxyv2:1.22.0"


def test_proxy_image_name_variant_and_full_reference() -> None:
    named = injector_from_configmaps("x", _values(hub="h.example/istio", tag="1.22.0", proxy={"image": "proxy-fips"}))
    distroless = injector_from_configmaps("x", _values(hub="h.example/istio", tag="1.22.0", variant="distroless"))
    full = injector_from_configmaps("x", _values(proxy={"image": "mirror.example/istio/proxyv2:1.22.0"}))
    mesh_type = injector_from_configmaps(
        "x", _values(hub="h.example/istio", tag="1.22.0"), {"mesh": "defaultConfig:\n  image:\n    imageType: debug\n"}
    )

    assert named.proxy_image({}) == "h.example/istio/proxy-fips:1.22.0"
    assert distroless.proxy_image({}) == "h.example/istio/proxyv2:1.22.0-distroless"
    assert full.proxy_image({}) == "mirror.example/istio/proxyv2:1.22.0"
    assert mesh_type.proxy_image({}) == "h.example/istio/proxyv2:1.22.0-debug"


def test_pod_annotation_overrides_the_proxy_image() -> None:
    injector = injector_from_configmaps("x", _values(hub="h.example/istio", tag="1.22.0"))

    # A full reference is what Istio's template injects; a bare name is the pod's own choice: never "stale".
    assert injector.proxy_image({"sidecar.istio.io/proxyImage": "my.example/proxy:custom"}) == "my.example/proxy:custom"
    assert injector.proxy_image({"sidecar.istio.io/proxyImage": "proxy-custom"}) is None
    pinned = pod("p", annotations={**injected("x"), "sidecar.istio.io/proxyImage": "my.example/proxy:custom"})
    pinned["spec"]["containers"][1:] = [{"name": "istio-proxy", "image": "my.example/proxy:custom"}]
    assert not check_pod(pinned, namespace(**{"istio.io/rev": "x"}), injectors={"x": injector}).outdated


def test_unknown_proxy_image_is_not_compared() -> None:
    injector = injector_from_configmaps("x", {"config": "policy: enabled\n"})

    assert injector.proxy_image({}) is None
    check = check_pod(
        pod("p", annotations=injected("x"), sidecar="anything:1"),
        namespace(**{"istio.io/rev": "x"}),
        injectors={"x": injector},
    )
    assert not check.outdated


def test_injector_configmaps_give_policy_and_selectors() -> None:
    injector = injector_from_configmaps(
        "x",
        {
            "config": "policy: disabled\nneverInjectSelector:\n- matchLabels: {a: b}\nalwaysInjectSelector: []\n",
            "values": "global:\n  hub: h\n  tag: t\n",  # YAML values, as hand-written ConfigMaps have them
        },
    )

    assert injector.policy == "disabled"
    assert injector.never_inject_selector == ({"matchLabels": {"a": "b"}},)
    assert injector.proxy_image({}) == "h/proxyv2:t"
    # policy: disabled means only pods that ask for it are injected: an unasking pod without sidecar is current.
    check = check_pod(pod("p"), namespace(**{"istio.io/rev": "x"}), injectors={"x": injector})
    assert not check.outdated and "policy" in check.reason


# -- rollout status -------------------------------------------------------------------------------------------------


def _deployment(generation: int, observed: int, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": observed, **status},
    }


def test_deployment_rollout_steps_as_kubectl_reads_them() -> None:
    assert not deployment_rollout(_deployment(3, 2)).done
    assert deployment_rollout(_deployment(3, 3, updatedReplicas=1, replicas=3)).message == (
        "1 of 2 new replicas updated"
    )
    assert deployment_rollout(_deployment(3, 3, updatedReplicas=2, replicas=3)).message == (
        "1 old replica(s) pending termination"
    )
    waiting = deployment_rollout(_deployment(3, 3, updatedReplicas=2, replicas=2, availableReplicas=1, readyReplicas=2))
    assert (waiting.done, waiting.message) == (False, "1 of 2 updated replicas available")
    done = deployment_rollout(_deployment(3, 3, updatedReplicas=2, replicas=2, availableReplicas=2, readyReplicas=2))
    assert done.done


def test_deployment_past_its_progress_deadline_fails() -> None:
    state = deployment_rollout(
        _deployment(2, 2, conditions=[{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}])
    )

    assert state.failed and not state.done
    assert state.message == "deployment 'web' exceeded its progress deadline"


def test_statefulset_rollout_waits_for_the_update_revision() -> None:
    def sts(**status: Any) -> dict[str, Any]:
        return {"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 2, **status}}

    assert statefulset_rollout(sts(readyReplicas=1)).message == "1 of 2 pods ready"
    rolling = statefulset_rollout(sts(readyReplicas=2, updatedReplicas=1, currentRevision="a", updateRevision="b"))
    assert (rolling.done, rolling.message) == (False, "1 of 2 pods at revision b")
    assert statefulset_rollout(sts(readyReplicas=2, updatedReplicas=2, currentRevision="b", updateRevision="b")).done
    assert not statefulset_rollout({"metadata": {"generation": 1}, "spec": {}, "status": {}}).done


def test_daemonset_rollout_counts_scheduled_and_available_pods() -> None:
    def ds(**status: Any) -> dict[str, Any]:
        return {
            "metadata": {"generation": 4},
            "status": {"observedGeneration": 4, "desiredNumberScheduled": 3, **status},
        }

    assert ds_msg(ds(updatedNumberScheduled=2)) == (False, "2 of 3 new pods scheduled")
    assert ds_msg(ds(updatedNumberScheduled=3, numberAvailable=3, numberReady=2)) == (
        False,
        "2 of 3 updated pods available",
    )
    assert ds_msg(ds(updatedNumberScheduled=3, numberAvailable=3, numberReady=3))[0]


def ds_msg(obj: dict[str, Any]) -> tuple[bool, str]:
    state = daemonset_rollout(obj)
    return state.done, state.message


# -- small pieces ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("1.5s", 1.5), ("500ms", 0.5), ("2m30s", 150.0), ("10", 10.0)],
)
def test_durations_are_read_like_kubectl_flags(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5q", "", "m5", "0s", "5m 3s", "-1s"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_restarted_at_is_rfc3339_with_z_for_utc_and_an_offset_otherwise() -> None:
    utc = datetime.datetime(2026, 3, 1, 9, 5, 7, 123456, tzinfo=datetime.UTC)
    cest = datetime.datetime(2026, 7, 1, 9, 5, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    india = datetime.datetime(2026, 7, 1, 9, 5, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)))
    west = datetime.datetime(2026, 7, 1, 9, 5, 7, tzinfo=datetime.timezone(-datetime.timedelta(hours=7)))

    assert restarted_at(utc) == "2026-03-01T09:05:07Z"
    assert restarted_at(cest) == "2026-07-01T09:05:07+02:00"
    assert restarted_at(india) == "2026-07-01T09:05:07+05:30"
    assert restarted_at(west) == "2026-07-01T09:05:07-07:00"


def test_bare_pod_manifest_loses_server_fields_and_the_token_volume() -> None:
    live = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "debug",
            "namespace": NS,
            "uid": "u1",
            "resourceVersion": "42",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl"}],
            "labels": {"app": "debug"},
        },
        "spec": {
            "nodeName": "node-1",
            "serviceAccountName": "default",
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/data"},
                        {"name": "kube-api-access-x7k2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
                    ],
                }
            ],
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "kube-api-access-x7k2p", "projected": {"sources": []}},
            ],
            "ephemeralContainers": [{"name": "debugger", "image": "busybox"}],
        },
        "status": {"phase": "Running", "podIP": "10.0.0.1"},
    }

    manifest = clean_pod_manifest(live)

    assert manifest == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "debug", "namespace": NS, "labels": {"app": "debug"}},
        "spec": {
            "serviceAccountName": "default",
            "containers": [
                {"name": "app", "image": "busybox", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
    }
    assert live["status"] == {"phase": "Running", "podIP": "10.0.0.1"}  # the input is not changed


def test_pod_problem_says_why_a_pod_is_not_ready() -> None:
    ready = {
        "metadata": {"name": "a"},
        "spec": {"nodeName": "n"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    crashing = {
        "metadata": {"name": "b"},
        "spec": {"nodeName": "n"},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "app", "ready": True, "state": {"running": {}}},
                {"name": "istio-proxy", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            ],
        },
    }
    unready = {
        "metadata": {"name": "c"},
        "spec": {"nodeName": "n"},
        "status": {"containerStatuses": [{"name": "app", "ready": False, "state": {"running": {}}}]},
    }
    pending = {"metadata": {"name": "d"}, "spec": {}, "status": {"phase": "Pending"}}

    assert pod_problem(ready) is None
    assert pod_problem(crashing) == "pod b: istio-proxy: CrashLoopBackOff"
    assert pod_problem(unready) == "pod c: containers not ready (app)"
    assert pod_problem(pending) == "pod d: Pending (not scheduled to a node yet)"
