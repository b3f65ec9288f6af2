"""status, analyze and check-inject on hand-made objects: kubectl's columns, verdicts, findings, reasoning.

The webhook configurations below have the layout of Istio's charts (``rev.namespace.``/``rev.object.`` per
revision, plus ``namespace.``/``object.`` for the default revision) and of ``istioctl tag`` (the same webhooks
answering to the tag's name). Expected kubectl cells follow Kubernetes' pod table printer (the real API server's
answers are compared in tests/test_status_cluster.py); human durations were printed by apimachinery's
``HumanDuration`` compiled with Go 1.26.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

import pytest

from meshinject.cluster.analyze import AnalysisInput, Finding, analyze, exceeds
from meshinject.cluster.checkinject import (
    TargetError,
    check_inject,
    parse_label_pairs,
    parse_reference,
    target_from_labels,
    target_from_pod,
    target_from_workload,
)
from meshinject.cluster.status import (
    NEEDS_RESTART,
    NOT_INJECTED,
    NOT_READY,
    OK,
    RevisionInjector,
    expected_injection,
    human_duration,
    injector_from_configmaps,
    kubectl_columns,
    pod_revision,
    pod_status,
    sidecar_info,
)
from meshinject.cluster.webhooks import InjectionWebhook, parse_webhook_configurations

NOW = datetime.datetime(2025, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
CREATED = "2025-06-01T11:00:00Z"  # one hour before NOW
SUFFIX = "sidecar-injector.istio.io"


# -- Istio-layout webhook configurations ----------------------------------------------------------------------


def _hook(name: str, ns_sel: dict[str, Any], obj_sel: dict[str, Any], service: str) -> dict[str, Any]:
    return {
        "name": name,
        "clientConfig": {"service": {"name": service, "namespace": "istio-system", "path": "/inject", "port": 443}},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "failurePolicy": "Fail",
        "namespaceSelector": ns_sel,
        "objectSelector": obj_sel,
    }


def _expr(key: str, op: str, *values: str) -> dict[str, Any]:
    result: dict[str, Any] = {"key": key, "operator": op}
    if values:
        result["values"] = list(values)
    return result


def injector_config(revision: str, *, answers_to: str | None = None, tag: str | None = None) -> dict[str, Any]:
    """A revision's (or a tag's) MutatingWebhookConfiguration as Istio's chart and istioctl tag lay it out."""
    name = answers_to or revision
    not_false = {"matchExpressions": [_expr("sidecar.istio.io/inject", "NotIn", "false")]}
    service = "istiod" if revision == "default" else f"istiod-{revision}"
    hooks = [
        _hook(
            f"rev.namespace.{SUFFIX}",
            {"matchExpressions": [_expr("istio.io/rev", "In", name), _expr("istio-injection", "DoesNotExist")]},
            not_false,
            service,
        ),
        _hook(
            f"rev.object.{SUFFIX}",
            {"matchExpressions": [_expr("istio.io/rev", "DoesNotExist"), _expr("istio-injection", "DoesNotExist")]},
            {
                "matchExpressions": [
                    _expr("sidecar.istio.io/inject", "NotIn", "false"),
                    _expr("istio.io/rev", "In", name),
                ]
            },
            service,
        ),
    ]
    if name == "default":
        hooks += [
            _hook(
                f"namespace.{SUFFIX}",
                {"matchExpressions": [_expr("istio-injection", "In", "enabled")]},
                not_false,
                service,
            ),
            _hook(
                f"object.{SUFFIX}",
                {"matchExpressions": [_expr("istio-injection", "DoesNotExist"), _expr("istio.io/rev", "DoesNotExist")]},
                {
                    "matchExpressions": [
                        _expr("sidecar.istio.io/inject", "In", "true"),
                        _expr("istio.io/rev", "DoesNotExist"),
                    ]
                },
                service,
            ),
        ]
    labels = {"istio.io/rev": revision, "app": "sidecar-injector"}
    if tag is not None:
        labels["istio.io/tag"] = tag
        config_name = f"istio-revision-tag-{tag}"
    else:
        config_name = "istio-sidecar-injector" + ("" if revision == "default" else f"-{revision}")
    return {"metadata": {"name": config_name, "labels": labels}, "webhooks": hooks}


def webhooks(*configs: dict[str, Any]) -> list[InjectionWebhook]:
    return parse_webhook_configurations(configs)


#: default and canary revisions, tag prod -> canary
CLUSTER = webhooks(
    injector_config("default"),
    injector_config("canary"),
    injector_config("canary", answers_to="prod", tag="prod"),
)


def values(tag: str, **glob: Any) -> dict[str, Any]:
    return {"global": {"hub": "docker.io/istio", "tag": tag, "proxy": {"image": "proxyv2"}, **glob}}


def injector(revision: str, tag: str, *, policy: str = "enabled") -> RevisionInjector:
    return injector_from_configmaps(
        revision,
        {"config": f"policy: {policy}\ntemplates: {{}}\n", "values": json.dumps(values(tag))},
        source=f"ConfigMap istio-system/istio-sidecar-injector-{revision}",
    )


INJECTOR_TAGS = {"default": "1.24.0", "canary": "1.25.1"}
INJECTORS = {name: injector(name, tag) for name, tag in INJECTOR_TAGS.items()}


def image(tag: str) -> str:
    return f"docker.io/istio/proxyv2:{tag}"


# -- pods -----------------------------------------------------------------------------------------------------


def running(name: str, *, ready: bool = True, restarts: int = 0, image: str = "app:1") -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "ready": ready,
        "started": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": CREATED}},
    }


def completed_init(name: str, restarts: int = 0) -> dict[str, Any]:
    return {
        "name": name,
        "image": "proxy",
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": CREATED}},
    }


def make_pod(
    name: str = "web-1",
    namespace: str = "shop",
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    sidecar: str | None = None,
    sidecar_image: str | None = None,
    native: bool = False,
    ready: bool = True,
    phase: str = "Running",
) -> dict[str, Any]:
    """A pod (app container, optionally injected by revision ``sidecar``) reported as a kubelet would."""
    annotations = dict(annotations or {})
    containers: list[dict[str, Any]] = [{"name": "app", "image": "app:1"}]
    init: list[dict[str, Any]] = []
    statuses = [running("app", ready=ready)]
    init_statuses: list[dict[str, Any]] = []
    if sidecar is not None:
        proxy = {"name": "istio-proxy", "image": sidecar_image or image(INJECTOR_TAGS[sidecar])}
        init.append({"name": "istio-init", "image": proxy["image"]})
        init_statuses.append(completed_init("istio-init"))
        if native:
            init.append({**proxy, "restartPolicy": "Always"})
            init_statuses.append(running("istio-proxy", ready=ready, image=proxy["image"]))
        else:
            containers.append(proxy)
            statuses.append(running("istio-proxy", ready=ready, image=proxy["image"]))
        annotations.setdefault("istio.io/rev", sidecar)
        annotations.setdefault(
            "sidecar.istio.io/status",
            json.dumps({"initContainers": ["istio-init"], "containers": ["istio-proxy"], "revision": sidecar}),
        )
    ready_cond = "True" if ready else "False"
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {"app": "web"},
            "annotations": annotations,
            "creationTimestamp": CREATED,
        },
        "spec": {"containers": containers, "initContainers": init},
        "status": {
            "phase": phase,
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": ready_cond},
                {"type": "ContainersReady", "status": ready_cond},
                {"type": "PodScheduled", "status": "True"},
            ],
            "containerStatuses": statuses,
            "initContainerStatuses": init_statuses,
        },
    }


def ns_labels(name: str, **labels: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": name, **{k.replace("_", "-"): v for k, v in labels.items()}}


ENABLED = {"istio-injection": "enabled"}


# -- kubectl's READY, STATUS, RESTARTS, AGE --------------------------------------------------------------------


def test_ready_counts_ready_running_containers_of_the_pod() -> None:
    columns = kubectl_columns(make_pod(sidecar="default"), NOW)
    assert (columns.ready_text, columns.status, columns.restarts_text, columns.age) == ("2/2", "Running", "0", "60m")


def test_classic_sidecar_not_ready_counts_one_of_two() -> None:
    pod = make_pod(sidecar="default")
    pod["status"]["containerStatuses"][1]["ready"] = False
    columns = kubectl_columns(pod, NOW)
    assert (columns.ready_text, columns.status) == ("1/2", "Running")


def test_native_sidecar_counts_in_ready_and_total_but_completed_init_containers_do_not() -> None:
    columns = kubectl_columns(make_pod(sidecar="default", native=True), NOW)
    assert columns.ready_text == "2/2"
    assert columns.status == "Running"


def test_native_sidecar_started_but_not_ready_is_in_the_total_only() -> None:
    pod = make_pod(sidecar="default", native=True)
    pod["status"]["initContainerStatuses"][1]["ready"] = False
    assert kubectl_columns(pod, NOW).ready_text == "1/2"


def test_native_sidecar_not_started_yet_shows_init_progress() -> None:
    pod = make_pod(sidecar="default", native=True, ready=False)
    proxy = pod["status"]["initContainerStatuses"][1]
    proxy["started"] = False
    pod["status"]["conditions"][0]["status"] = "False"
    pod["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "PodInitializing"}}
    pod["status"]["phase"] = "Pending"
    columns = kubectl_columns(pod, NOW)
    # the second of two init containers is at work; the app container is not counted while initializing
    assert (columns.ready_text, columns.status) == ("0/2", "Init:1/2")


def test_failing_init_container_shows_its_waiting_reason() -> None:
    pod = make_pod(sidecar="default", ready=False, phase="Pending")
    pod["status"]["initContainerStatuses"][0] = {
        "name": "istio-init",
        "ready": False,
        "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2025-06-01T11:58:00Z"}},
    }
    pod["status"]["conditions"][0]["status"] = "False"
    columns = kubectl_columns(pod, NOW)
    assert (columns.status, columns.restarts_text) == ("Init:CrashLoopBackOff", "4 (2m ago)")


def test_crashing_container_gives_its_reason_and_restarts_with_the_last_restart_age() -> None:
    pod = make_pod(sidecar="default", ready=False)
    pod["status"]["containerStatuses"][0] = {
        "name": "app",
        "ready": False,
        "restartCount": 7,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
        "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": "2025-06-01T11:54:57Z"}},
    }
    columns = kubectl_columns(pod, NOW)
    assert (columns.ready_text, columns.status, columns.restarts_text) == ("0/2", "CrashLoopBackOff", "7 (5m3s ago)")


def test_restarts_of_completed_init_containers_drop_out_once_initialized_but_native_sidecars_stay() -> None:
    pod = make_pod(sidecar="default", native=True)
    pod["status"]["initContainerStatuses"][0]["restartCount"] = 2  # istio-init, completed
    pod["status"]["initContainerStatuses"][1]["restartCount"] = 1  # the native proxy
    pod["status"]["containerStatuses"][0]["restartCount"] = 3
    assert kubectl_columns(pod, NOW).restarts == 4


def test_completed_job_pod_shows_completed() -> None:
    pod = make_pod(phase="Succeeded", ready=False)
    pod["status"]["containerStatuses"][0] = {
        "name": "app",
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": CREATED}},
    }
    columns = kubectl_columns(pod, NOW)
    assert (columns.ready_text, columns.status) == ("0/1", "Completed")


def test_completed_container_beside_a_running_ready_one_shows_running() -> None:
    pod = make_pod(sidecar="default")
    pod["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    pod["status"]["containerStatuses"][0]["ready"] = False
    assert (kubectl_columns(pod, NOW).status, kubectl_columns(pod, NOW).ready_text) == ("Running", "1/2")


def test_pod_being_deleted_is_terminating_and_on_a_lost_node_unknown() -> None:
    pod = make_pod()
    pod["metadata"]["deletionTimestamp"] = "2025-06-01T11:59:00Z"
    assert kubectl_columns(pod, NOW).status == "Terminating"
    pod["status"]["reason"] = "NodeLost"
    assert kubectl_columns(pod, NOW).status == "Unknown"


def test_pending_pod_without_statuses_and_gated_pod() -> None:
    pod: dict[str, Any] = {"metadata": {"name": "p", "creationTimestamp": CREATED}, "spec": {"containers": [{}]}}
    pod["spec"]["containers"][0]["name"] = "a"
    pod["status"] = {"phase": "Pending"}
    assert (kubectl_columns(pod, NOW).ready_text, kubectl_columns(pod, NOW).status) == ("0/1", "Pending")
    pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    assert kubectl_columns(pod, NOW).status == "SchedulingGated"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (303, "5m3s"),
        (600, "10m"),
        (10799, "179m"),
        (10800, "3h"),
        (12000, "3h20m"),
        (28800, "8h"),
        (169200, "47h"),
        (172800, "2d"),
        (687600, "7d23h"),
        (691200, "8d"),
        (62985600, "729d"),
        (63072000, "2y"),
        (63331200, "2y3d"),
        (252288000, "8y"),
    ],
)
def test_age_is_apimachinery_human_duration(seconds: float, text: str) -> None:
    assert human_duration(datetime.timedelta(seconds=seconds)) == text


# -- sidecar, revision, image ---------------------------------------------------------------------------------


def test_sidecar_kind_and_revision() -> None:
    assert sidecar_info(make_pod(sidecar="canary")).text == "yes (classic)"
    assert sidecar_info(make_pod(sidecar="canary", native=True)).text == "yes (native)"
    assert sidecar_info(make_pod()).text == "no"
    pod = make_pod()
    pod["spec"]["initContainers"] = [{"name": "istio-proxy", "image": "x"}]  # an init container, not a sidecar
    assert not sidecar_info(pod).present
    assert pod_revision(make_pod(sidecar="canary")) == "canary"


def test_revision_comes_from_the_status_annotation_when_the_rev_annotation_is_absent() -> None:
    pod = make_pod(annotations={"sidecar.istio.io/status": json.dumps({"revision": "1-24"})})
    assert pod_revision(pod) == "1-24"
    pod = make_pod(annotations={"sidecar.istio.io/status": json.dumps({"containers": ["istio-proxy"]})})
    assert pod_revision(pod) == "default"  # Istio before revisions
    assert pod_revision(make_pod()) is None


def test_injected_image_follows_hub_tag_variant_and_full_references() -> None:
    assert injector("canary", "1.25.1").proxy_image() == "docker.io/istio/proxyv2:1.25.1"
    distroless = injector_from_configmaps("x", {"values": json.dumps(values("1.25.1", variant="distroless"))})
    assert distroless.proxy_image() == "docker.io/istio/proxyv2:1.25.1-distroless"
    full = injector_from_configmaps("x", {"values": json.dumps({"global": {"proxy": {"image": "reg.io/p:7"}}})})
    assert full.proxy_image() == "reg.io/p:7"
    # a pod that chose its own image has no "current" image to be stale against
    assert injector("canary", "1").proxy_image({"sidecar.istio.io/proxyImage": "mine:1"}) is None
    assert RevisionInjector("unread").proxy_image() is None
    assert injector_from_configmaps("x", {"values": "{}"}).proxy_image() is None


def test_injector_policy_and_selectors_are_read_without_parsing_templates() -> None:
    read = injector_from_configmaps(
        "r",
        {"config": "policy: disabled\nneverInjectSelector:\n- matchLabels: {batch: 'yes'}\ntemplates: {x: '{{'}\n"},
    )
    assert (read.policy, read.never_inject_selector, read.readable) == (
        "disabled",
        ({"matchLabels": {"batch": "yes"}},),
        True,
    )


# -- expected injection and verdicts --------------------------------------------------------------------------


def status(pod: dict[str, Any], labels: dict[str, str], hooks: list[InjectionWebhook] = CLUSTER) -> Any:
    return pod_status(pod, labels, hooks, INJECTORS, now=NOW)


def test_pod_with_the_selected_revision_and_current_image_is_ok() -> None:
    row = status(make_pod(sidecar="canary"), ns_labels("shop", **{"istio.io/rev": "canary"}))
    assert (row.verdict, row.revision, row.expectation.text, row.reasons) == (OK, "canary", "canary", ())


def test_pod_without_sidecar_in_an_enabled_namespace_is_not_injected() -> None:
    row = status(make_pod(), ns_labels("shop", **ENABLED))
    assert row.verdict == NOT_INJECTED
    assert row.expectation.revision == "default"
    assert "istio-sidecar-injector/namespace.sidecar-injector.istio.io" in row.reasons[0]


def test_pod_on_the_old_revision_after_the_namespace_moved_needs_restart() -> None:
    row = status(make_pod(sidecar="default"), ns_labels("shop", **{"istio.io/rev": "canary"}))
    assert row.verdict == NEEDS_RESTART
    assert row.reasons == ("runs revision default's proxy, but its labels now select revision canary",)


def test_tag_resolves_to_its_revision() -> None:
    row = status(make_pod(sidecar="canary"), ns_labels("shop", **{"istio.io/rev": "prod"}))
    assert (row.verdict, row.expectation.revision, row.expectation.tag) == (OK, "canary", "prod")


def test_stale_proxy_image_of_the_right_revision_needs_restart() -> None:
    row = status(
        make_pod(sidecar="canary", sidecar_image=image("1.25.0")), ns_labels("shop", **{"istio.io/rev": "canary"})
    )
    assert row.verdict == NEEDS_RESTART
    assert row.expected_image == image("1.25.1")
    assert "proxy image docker.io/istio/proxyv2:1.25.0 is not the image revision canary injects now" in row.reasons[0]


def test_unready_pod_with_the_right_sidecar_is_not_ready_and_a_completed_pod_is_ok() -> None:
    row = status(make_pod(sidecar="canary", ready=False), ns_labels("shop", **{"istio.io/rev": "canary"}))
    assert (row.verdict, row.reasons) == (NOT_READY, ("0/2 containers ready (Running)",))
    done = make_pod(phase="Succeeded", ready=False)
    assert status(done, ns_labels("jobs")).verdict == OK


def test_injection_problem_wins_over_readiness() -> None:
    row = status(make_pod(ready=False), ns_labels("shop", **ENABLED))
    assert row.verdict == NOT_INJECTED
    assert len(row.reasons) == 2


def test_pod_opting_out_by_label_or_annotation_expects_nothing() -> None:
    by_label = status(make_pod(labels={"sidecar.istio.io/inject": "false"}), ns_labels("shop", **ENABLED))
    assert (by_label.verdict, by_label.expectation.webhooks) == (OK, ())
    by_annotation = status(make_pod(annotations={"sidecar.istio.io/inject": "false"}), ns_labels("shop", **ENABLED))
    # the webhook is called, the injector declines
    assert by_annotation.verdict == OK
    assert by_annotation.expectation.webhooks and by_annotation.expectation.revision is None
    assert "pod annotation sidecar.istio.io/inject=false disables injection" in by_annotation.expectation.reason()


def test_disabled_policy_injects_only_pods_that_ask() -> None:
    injectors = {"canary": injector("canary", "1.25.1", policy="disabled")}
    labels = ns_labels("shop", **{"istio.io/rev": "canary"})
    plain = expected_injection(make_pod(), "shop", labels, CLUSTER, injectors)
    asking = expected_injection(
        make_pod(annotations={"sidecar.istio.io/inject": "true"}), "shop", labels, CLUSTER, injectors
    )
    assert (plain.revision, asking.revision) == (None, "canary")


def test_both_labels_mean_the_default_revision() -> None:
    labels = ns_labels("shop", **ENABLED, **{"istio.io/rev": "canary"})
    assert expected_injection(make_pod(), "shop", labels, CLUSTER, INJECTORS).revision == "default"


def test_injected_pod_no_longer_selected_needs_restart_but_a_manifest_proxy_does_not() -> None:
    row = status(make_pod(sidecar="default"), ns_labels("shop"))
    assert row.verdict == NEEDS_RESTART
    assert "none would be injected now" in row.reasons[0]
    gateway = make_pod(sidecar="default")
    del gateway["metadata"]["annotations"]["sidecar.istio.io/status"]
    del gateway["metadata"]["annotations"]["istio.io/rev"]
    assert status(gateway, ns_labels("shop")).verdict == OK


def test_system_namespaces_are_never_expected_to_be_injected() -> None:
    hooks = webhooks({**injector_config("default"), "webhooks": [_hook("all." + SUFFIX, {}, {}, "istiod")]})
    assert expected_injection(make_pod(namespace="kube-system"), "kube-system", {}, hooks, INJECTORS).revision is None
    assert expected_injection(make_pod(), "shop", {}, hooks, INJECTORS).revision == "default"


def test_two_matching_webhooks_are_a_conflict() -> None:
    hooks = webhooks(injector_config("default"), injector_config("canary", answers_to="default", tag="default"))
    row = status(make_pod(sidecar="default"), ns_labels("shop", **ENABLED), hooks)
    assert row.expectation.conflict
    # the API server calls webhooks ordered by configuration name: the tag's comes first
    assert row.expectation.text == "canary+default"
    assert any("several injection webhooks select it" in r for r in row.reasons)


# -- analyze --------------------------------------------------------------------------------------------------


def analysis(
    namespaces: dict[str, dict[str, str]],
    pods: Sequence[dict[str, Any]] = (),
    *,
    hooks: list[InjectionWebhook] = CLUSTER,
    revisions: list[str] | None = None,
    services: dict[tuple[str, str], bool | None] | None = None,
    complete: bool = False,
) -> list[Finding]:
    return analyze(
        AnalysisInput(
            webhooks=hooks,
            namespace_labels={name: ns_labels(name, **labels) for name, labels in namespaces.items()},
            namespaces=list(namespaces),
            pods=list(pods),
            injectors=INJECTORS,
            revisions=revisions if revisions is not None else ["default", "canary"],
            tags={"prod": "canary"},
            services=services or {},
            complete=complete,
        )
    )


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.code, f.origin) for f in findings]


def test_unlabelled_namespace_is_ist0102_with_istios_text() -> None:
    findings = analysis({"shop": {}, "kube-system": {}, "istio-system": {}})
    assert codes(findings) == [("IST0102", "Namespace shop")]
    assert findings[0].log_line() == (
        "Info [IST0102] (Namespace shop) The namespace is not enabled for Istio injection. Run 'kubectl label "
        "namespace shop istio-injection=enabled' to enable it, or 'kubectl label namespace shop "
        "istio-injection=disabled' to explicitly mark it as not needing injection."
    )


def test_namespace_injected_by_default_selectors_is_not_ist0102() -> None:
    by_default = {"name": "auto." + SUFFIX}
    hook = _hook(
        by_default["name"], {"matchExpressions": [_expr("istio-injection", "NotIn", "disabled")]}, {}, "istiod"
    )
    hooks = webhooks({**injector_config("default"), "webhooks": [hook]})
    assert analysis({"shop": {}}, hooks=hooks) == []


def test_namespace_with_both_labels_is_ist0123_and_says_the_revision_is_not_used() -> None:
    [finding] = analysis({"shop": {**ENABLED, "istio.io/rev": "canary"}})
    assert finding.log_line() == (
        "Warning [IST0123] (Namespace shop) The namespace has both new and legacy injection labels. Run 'kubectl "
        "label namespace shop istio.io/rev-' or 'kubectl label namespace shop istio-injection-'"
    )
    assert "pods get revision default: auto-injection does not use istio.io/rev=canary" in finding.detail


def test_pod_without_proxy_in_injected_namespace_is_ist0103_unless_it_opts_out() -> None:
    pods = [
        make_pod("bare"),
        make_pod("optout", labels={"sidecar.istio.io/inject": "false"}),
        make_pod("native", sidecar="default", native=True),
        {**make_pod("host"), "spec": {"hostNetwork": True, "containers": [{"name": "app"}]}},
    ]
    findings = analysis({"shop": ENABLED}, pods)
    assert codes(findings) == [("IST0103", "Pod shop/bare")]
    assert findings[0].message == (
        "The pod shop/bare is missing the Istio proxy. This can often be resolved by restarting or redeploying the "
        "workload."
    )


def test_pod_selected_by_its_own_label_but_not_injected_is_mi0004() -> None:
    pod = make_pod("web", labels={"istio.io/rev": "canary"})
    findings = analysis({"shop": {"istio-injection": "disabled"}}, [pod])
    assert codes(findings) == []  # a disabled namespace excludes the pod webhook too
    findings = analysis({"shop": {}}, [pod])
    # Istio's IST0102 looks at the namespace label only; the pod's own label selects the canary webhook
    assert codes(findings) == [("MI0004", "Pod shop/web"), ("IST0102", "Namespace shop")]
    mi = next(f for f in findings if f.code == "MI0004")
    assert "istio-sidecar-injector-canary/rev.object.sidecar-injector.istio.io injects it" in mi.message


def test_unknown_revision_on_namespace_and_pod_is_an_error() -> None:
    pod = make_pod("web", namespace="shop", labels={"istio.io/rev": "nope"})
    findings = analysis({"shop": {"istio.io/rev": "gone"}}, [pod])
    assert [(f.code, f.level, f.origin) for f in findings][:2] == [
        ("MI0001", "Error", "Namespace shop"),
        ("MI0002", "Error", "Pod shop/web"),
    ]
    assert findings[0].message == (
        "The namespace's label istio.io/rev=gone names no revision or tag of this cluster (revisions: default, "
        "canary; tags: prod): no webhook injects a sidecar for it."
    )
    assert exceeds(findings, "Error")


def test_revision_without_a_serving_webhook_is_mi0001() -> None:
    findings = analysis({"shop": {"istio.io/rev": "old"}}, revisions=["default", "canary", "old"])
    assert codes(findings) == [("MI0001", "Namespace shop")]
    assert "names revision old, but no active injection webhook answers to it" in findings[0].message


def test_enabled_namespace_without_a_default_injector_is_mi0001() -> None:
    hooks = webhooks(injector_config("canary"))
    findings = analysis({"shop": ENABLED}, hooks=hooks, revisions=["canary"])
    assert codes(findings) == [("MI0001", "Namespace shop")]


def test_pod_on_another_revision_than_selected_is_mi0005() -> None:
    findings = analysis({"shop": {"istio.io/rev": "prod"}}, [make_pod("web", sidecar="default")])
    assert codes(findings) == [("MI0005", "Pod shop/web")]
    assert "runs revision default's proxy, but its namespace and pod labels now select revision canary" in (
        findings[0].message
    )
    assert not exceeds(findings, "Error") and exceeds(findings, "Warning")


def test_stale_images_are_reported_per_namespace_as_ist0158() -> None:
    pods = [
        make_pod("a", sidecar="canary", sidecar_image=image("1.25.0")),
        make_pod("b", sidecar="canary"),
        make_pod("c", sidecar="canary", sidecar_image=image("1.24.9")),
    ]
    [finding] = analysis({"shop": {"istio.io/rev": "canary"}}, pods)
    assert finding.log_line() == (
        "Warning [IST0158] (Namespace shop) The Istio proxy images of the pods running in the namespace do not match "
        "the image defined in the injection configuration (pod names: [a c]). This often happens after upgrading the "
        "Istio control-plane and can be fixed by redeploying the pods."
    )


def test_unused_revision_is_reported_only_when_every_pod_was_read() -> None:
    namespaces = {"shop": {"istio.io/rev": "canary"}}
    assert analysis(namespaces, revisions=["default", "canary", "old"], complete=False) == []
    findings = analysis(namespaces, revisions=["default", "canary", "old"], complete=True)
    assert [(f.code, f.origin) for f in findings] == [("MI0003", "Revision default"), ("MI0003", "Revision old")]
    assert findings[1].message == (
        "Revision old is not selected by any namespace or pod and no pod runs its proxy: it is safe to remove."
    )
    still = analysis(
        {"shop": {"istio.io/rev": "canary"}, "legacy": {"istio-injection": "disabled"}},
        [make_pod("w", namespace="legacy", sidecar="default")],
        complete=True,
    )
    [default] = [f for f in still if f.code == "MI0003"]
    assert "but 1 pod(s) still run its proxy" in default.message


def test_istio_layout_has_no_overlapping_webhooks() -> None:
    assert [f for f in analysis({}) if f.code == "IST0139"] == []


def test_two_active_default_injectors_overlap_as_ist0139() -> None:
    hooks = webhooks(injector_config("default"), injector_config("canary", answers_to="default", tag="default"))
    findings = [f for f in analysis({}, hooks=hooks, revisions=["default", "canary"]) if f.code == "IST0139"]
    lines = {f.log_line() for f in findings}
    assert (
        "Error [IST0139] (MutatingWebhookConfiguration istio-sidecar-injector) Webhook overlaps with others: "
        "[istio-revision-tag-default/namespace.sidecar-injector.istio.io]. This may cause injection to occur twice."
    ) in lines
    assert len(findings) == 8  # each of the four webhooks of both configurations


def test_webhook_calling_a_missing_service_is_ist0139() -> None:
    findings = analysis({}, services={("istio-system", "istiod-canary"): False, ("istio-system", "istiod"): True})
    assert [f.log_line() for f in findings] == [
        "Error [IST0139] (MutatingWebhookConfiguration istio-revision-tag-prod) Injector refers to a control plane "
        "service that does not exist: istio-system/istiod-canary.",
        "Error [IST0139] (MutatingWebhookConfiguration istio-sidecar-injector-canary) Injector refers to a control "
        "plane service that does not exist: istio-system/istiod-canary.",
    ]


def test_findings_json_names_istio_documentation() -> None:
    [finding] = analysis({"shop": {}})
    data = finding.to_dict()
    assert data["documentationUrl"] == "https://istio.io/latest/docs/reference/config/analysis/ist0102/"
    assert (data["level"], data["name"], data["origin"]) == ("Info", "NamespaceNotInjected", "Namespace shop")


# -- check-inject ---------------------------------------------------------------------------------------------


def test_check_inject_explains_each_webhook_selector_by_selector() -> None:
    target = target_from_pod(make_pod())
    result = check_inject(target, ns_labels("shop", **ENABLED), CLUSTER, INJECTORS)
    called = [(m.webhook.config_name, m.webhook.webhook_name) for m in result.called]
    assert called == [("istio-sidecar-injector", "namespace.sidecar-injector.istio.io")]
    canary_ns = next(
        m
        for m in result.matches
        if m.webhook.config_name.endswith("-canary") and m.webhook.name_prefix == "rev.namespace."
    )
    assert [(r.requirement, r.satisfied, r.actual) for r in canary_ns.namespace_requirements] == [
        ("istio.io/rev in (canary)", False, None),
        ("!istio-injection", False, "enabled"),
    ]
    assert [d.decision.rule for d in result.decisions] == ["policy-enabled"]
    assert result.summary() == (
        "Pod shop/web-1 would be injected by revision default (webhook "
        "istio-sidecar-injector/namespace.sidecar-injector.istio.io)"
    )
    assert not result.conflict


def test_check_inject_of_a_deployment_uses_its_template_and_the_injector_decides() -> None:
    deployment = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": {"containers": [{"name": "app"}]},
            }
        },
    }
    result = check_inject(
        target_from_workload(deployment, "Deployment"),
        ns_labels("shop", **{"istio.io/rev": "prod"}),
        CLUSTER,
        INJECTORS,
    )
    assert [m.webhook.config_name for m in result.called] == ["istio-revision-tag-prod"]
    assert result.revision is None
    assert result.summary() == (
        "Deployment shop/web would not be injected: webhook istio-revision-tag-prod/rev.namespace.sidecar-injector."
        "istio.io is called, but pod annotation sidecar.istio.io/inject=false disables injection"
    )


def test_check_inject_of_labels_and_two_injecting_webhooks_is_an_error() -> None:
    hooks = webhooks(injector_config("default"), injector_config("canary", answers_to="default", tag="default"))
    result = check_inject(target_from_labels("shop", {"app": "web"}), ns_labels("shop", **ENABLED), hooks, INJECTORS)
    assert result.conflict
    assert result.summary().startswith("ERROR: 2 webhooks would inject a pod labelled app=web in namespace shop")
    assert result.to_dict()["conflict"] is True


def test_check_inject_nothing_selects() -> None:
    result = check_inject(target_from_labels("shop", {}), ns_labels("shop"), CLUSTER, INJECTORS)
    assert (result.called, result.revision) == ([], None)
    assert (
        result.summary()
        == "a pod labelled (no labels) in namespace shop would not be injected: no injection webhook selects it"
    )


def test_references_and_label_pairs() -> None:
    assert parse_reference("web-1") == ("Pod", "web-1")
    assert parse_reference("deployment/web") == ("Deployment", "web")
    assert parse_reference("deploy/web") == ("Deployment", "web")
    assert parse_reference("sts/db") == ("StatefulSet", "db")
    with pytest.raises(TargetError, match="kind 'svc' is not one of"):
        parse_reference("svc/web")
    assert parse_label_pairs("app=web, version==v2") == {"app": "web", "version": "v2"}
    with pytest.raises(TargetError, match="not KEY=VALUE"):
        parse_label_pairs("app!=web")
    with pytest.raises(TargetError, match="not KEY=VALUE"):
        parse_label_pairs("app")


def test_check_inject_says_what_a_restart_changes_for_a_live_pod() -> None:
    labels = ns_labels("shop", **{"istio.io/rev": "prod"})
    bare = check_inject(target_from_pod(make_pod()), labels, CLUSTER, INJECTORS)
    assert bare.restart_note() == "it has no sidecar now: a restart gives it revision canary's"
    old = check_inject(target_from_pod(make_pod(sidecar="default")), labels, CLUSTER, INJECTORS)
    assert old.restart_note() == "it runs revision default's sidecar now: a restart moves it to revision canary"
    current = check_inject(target_from_pod(make_pod(sidecar="canary")), labels, CLUSTER, INJECTORS)
    assert current.restart_note() is None
    left = check_inject(target_from_pod(make_pod(sidecar="canary")), ns_labels("shop"), CLUSTER, INJECTORS)
    assert left.restart_note() == "it runs revision canary's sidecar now: a restart removes it"


# -- command line usage (refused before any cluster is contacted) ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "shop", "-n", "other"], "namespace given twice"),
        (["analyze", "shop", "-A"], "give a namespace or -A/--all-namespaces, not both"),
        (["check-inject"], "give a POD (or KIND/NAME) or -l LABELS, exactly one of them"),
        (["check-inject", "web", "-l", "app=web"], "exactly one of them"),
        (["check-inject", "svc/web"], "kind 'svc' is not one of"),
        (["check-inject", "-l", "app in (a,b)"], "is not KEY=VALUE"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    import meshinject.cli  # noqa: F401  (importing it registers the commands)
    from meshinject.cli._app import app

    code = app(args, result_action="return_value")
    _, err = capsys.readouterr()
    assert code == 2
    assert message in err
