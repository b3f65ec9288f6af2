"""`meshinject manifests`: the objects of a control plane revision, and the webhooks' selector layout pinned.

The expected selectors are Istio's (manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml:
``rev.namespace.`` / ``rev.object.`` for every revision, ``namespace.`` / ``object.`` for the default one), each
namespace selector extended with the ``kubernetes.io/metadata.name NotIn`` exclusion the issue asks for.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshinject.cli import app
from meshinject.cluster.manifests import (
    ControlPlaneOptions,
    InjectorData,
    ManifestError,
    builtin_injector_texts,
    injector_data,
    parse_set,
    read_istio_configmaps,
    render,
    to_yaml,
)
from meshinject.inject.config import load_config_text
from meshinject.inject.decide import selector_matches

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def data_for(revision: str, namespace: str = "istio-system", **kwargs: Any) -> InjectorData:
    config, values, mesh = builtin_injector_texts()
    return injector_data(
        revision=revision, namespace=namespace, base_config=config, base_values=values, base_mesh=mesh, **kwargs
    )


def objects_for(revision: str = "canary", namespace: str = "istio-system", **kwargs: Any) -> list[dict[str, Any]]:
    return render(ControlPlaneOptions(revision=revision, namespace=namespace, **kwargs), data_for(revision, namespace))


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def webhooks(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    [config] = by_kind(objects, "MutatingWebhookConfiguration")
    return {w["name"]: w for w in config["webhooks"]}


def excluded(namespace: str) -> dict[str, Any]:
    return {
        "key": "kubernetes.io/metadata.name",
        "operator": "NotIn",
        "values": ["kube-system", "kube-node-lease", namespace],
    }


NOT_DISABLED = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}


# --- the selector layout, webhook by webhook -------------------------------------------------------------------


def test_revision_webhooks_are_rev_namespace_then_rev_object() -> None:
    hooks = webhooks(objects_for("canary", "mesh-cp"))

    assert list(hooks) == ["rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io"]


def test_rev_namespace_webhook_selects_namespaces_labelled_with_the_revision_and_no_injection_label() -> None:
    hook = webhooks(objects_for("canary", "mesh-cp"))["rev.namespace.sidecar-injector.istio.io"]

    assert hook["namespaceSelector"] == {
        "matchExpressions": [
            {"key": "istio.io/rev", "operator": "In", "values": ["canary"]},
            {"key": "istio-injection", "operator": "DoesNotExist"},
            excluded("mesh-cp"),
        ]
    }
    assert hook["objectSelector"] == {"matchExpressions": [NOT_DISABLED]}


def test_rev_object_webhook_selects_pods_labelled_with_the_revision_in_unlabelled_namespaces() -> None:
    hook = webhooks(objects_for("canary", "mesh-cp"))["rev.object.sidecar-injector.istio.io"]

    assert hook["namespaceSelector"] == {
        "matchExpressions": [
            {"key": "istio.io/rev", "operator": "DoesNotExist"},
            {"key": "istio-injection", "operator": "DoesNotExist"},
            excluded("mesh-cp"),
        ]
    }
    assert hook["objectSelector"] == {
        "matchExpressions": [NOT_DISABLED, {"key": "istio.io/rev", "operator": "In", "values": ["canary"]}]
    }


def test_default_revision_adds_namespace_and_object_webhooks() -> None:
    hooks = webhooks(objects_for("default"))

    assert list(hooks) == [
        "rev.namespace.sidecar-injector.istio.io",
        "rev.object.sidecar-injector.istio.io",
        "namespace.sidecar-injector.istio.io",
        "object.sidecar-injector.istio.io",
    ]
    assert hooks["rev.namespace.sidecar-injector.istio.io"]["namespaceSelector"]["matchExpressions"][0] == {
        "key": "istio.io/rev",
        "operator": "In",
        "values": ["default"],
    }
    assert hooks["namespace.sidecar-injector.istio.io"]["namespaceSelector"] == {
        "matchExpressions": [
            {"key": "istio-injection", "operator": "In", "values": ["enabled"]},
            excluded("istio-system"),
        ]
    }
    assert hooks["namespace.sidecar-injector.istio.io"]["objectSelector"] == {"matchExpressions": [NOT_DISABLED]}
    assert hooks["object.sidecar-injector.istio.io"]["namespaceSelector"] == {
        "matchExpressions": [
            {"key": "istio-injection", "operator": "DoesNotExist"},
            {"key": "istio.io/rev", "operator": "DoesNotExist"},
            excluded("istio-system"),
        ]
    }
    assert hooks["object.sidecar-injector.istio.io"]["objectSelector"] == {
        "matchExpressions": [
            {"key": "sidecar.istio.io/inject", "operator": "In", "values": ["true"]},
            {"key": "istio.io/rev", "operator": "DoesNotExist"},
        ]
    }


def test_every_webhook_fails_closed_without_side_effects_and_with_an_explicit_timeout() -> None:
    for revision in ("canary", "default"):
        for hook in webhooks(objects_for(revision)).values():
            assert hook["failurePolicy"] == "Fail"
            assert hook["sideEffects"] == "None"
            assert hook["admissionReviewVersions"] == ["v1"]
            assert hook["timeoutSeconds"] == 10
            assert hook["reinvocationPolicy"] == "Never"
            assert hook["rules"] == [
                {
                    "operations": ["CREATE"],
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "resources": ["pods"],
                    "scope": "Namespaced",
                }
            ]
            assert hook["clientConfig"] == {
                "service": {
                    "name": "meshinject" if revision == "default" else f"meshinject-{revision}",
                    "namespace": "istio-system",
                    "path": "/inject",
                    "port": 443,
                }
            }


def _selected(hook: dict[str, Any], namespace: str, ns_labels: dict[str, str], pod_labels: dict[str, str]) -> bool:
    ns = {"kubernetes.io/metadata.name": namespace, **ns_labels}
    return selector_matches(hook["namespaceSelector"], ns) is not False and (
        selector_matches(hook["objectSelector"], pod_labels) is not False
    )


@pytest.mark.parametrize(
    ("namespace", "ns_labels", "pod_labels", "expected"),
    [
        ("shop", {"istio.io/rev": "canary"}, {}, ["rev.namespace."]),
        ("shop", {"istio.io/rev": "canary"}, {"sidecar.istio.io/inject": "false"}, []),
        ("shop", {"istio.io/rev": "canary", "istio-injection": "enabled"}, {}, []),
        ("shop", {}, {"istio.io/rev": "canary"}, ["rev.object."]),
        ("shop", {"istio.io/rev": "stable"}, {"istio.io/rev": "canary"}, []),
        ("shop", {}, {}, []),
        ("kube-system", {"istio.io/rev": "canary"}, {}, []),
        ("kube-node-lease", {}, {"istio.io/rev": "canary"}, []),
        ("mesh-cp", {"istio.io/rev": "canary"}, {}, []),
    ],
)
def test_which_revision_webhook_a_pod_meets(
    namespace: str, ns_labels: dict[str, str], pod_labels: dict[str, str], expected: list[str]
) -> None:
    hooks = webhooks(objects_for("canary", "mesh-cp"))

    matched = [name for name, hook in hooks.items() if _selected(hook, namespace, ns_labels, pod_labels)]

    assert matched == [prefix + "sidecar-injector.istio.io" for prefix in expected]


@pytest.mark.parametrize(
    ("ns_labels", "pod_labels", "expected"),
    [
        ({"istio-injection": "enabled"}, {}, ["namespace."]),
        ({"istio-injection": "enabled", "istio.io/rev": "default"}, {}, ["namespace."]),
        ({"istio-injection": "disabled"}, {"sidecar.istio.io/inject": "true"}, []),
        ({}, {"sidecar.istio.io/inject": "true"}, ["object."]),
        ({}, {"istio.io/rev": "default"}, ["rev.object."]),
        ({"istio.io/rev": "default"}, {}, ["rev.namespace."]),
    ],
)
def test_which_default_revision_webhook_a_pod_meets(
    ns_labels: dict[str, str], pod_labels: dict[str, str], expected: list[str]
) -> None:
    hooks = webhooks(objects_for("default"))

    matched = [name for name, hook in hooks.items() if _selected(hook, "shop", ns_labels, pod_labels)]

    assert matched == [prefix + "sidecar-injector.istio.io" for prefix in expected]


def test_webhook_configuration_is_named_and_labelled_like_istios() -> None:
    [canary] = by_kind(objects_for("canary"), "MutatingWebhookConfiguration")
    [default] = by_kind(objects_for("default"), "MutatingWebhookConfiguration")

    assert canary["metadata"]["name"] == "istio-sidecar-injector-canary"
    assert canary["metadata"]["labels"]["istio.io/rev"] == "canary"
    assert default["metadata"]["name"] == "istio-sidecar-injector"
    assert default["metadata"]["labels"]["istio.io/rev"] == "default"


def test_reinvocation_policy_and_timeout_are_configurable() -> None:
    hooks = webhooks(objects_for("canary", reinvocation_policy="IfNeeded", timeout_seconds=5))

    assert {h["reinvocationPolicy"] for h in hooks.values()} == {"IfNeeded"}
    assert {h["timeoutSeconds"] for h in hooks.values()} == {5}


def test_reinvocation_policy_defaults_to_the_values_setting() -> None:
    data = data_for("canary", sets=["sidecarInjectorWebhook.reinvocationPolicy=IfNeeded"])

    objects = render(ControlPlaneOptions(revision="canary"), data)

    assert {h["reinvocationPolicy"] for h in webhooks(objects).values()} == {"IfNeeded"}


# --- the objects ---------------------------------------------------------------------------------------------------


def test_in_cluster_revision_renders_every_object_in_apply_order() -> None:
    objects = objects_for("canary")

    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("ConfigMap", "istio-sidecar-injector-canary"),
        ("ConfigMap", "istio-canary"),
        ("ServiceAccount", "meshinject-canary"),
        ("ClusterRole", "meshinject-canary-istio-system"),
        ("ClusterRoleBinding", "meshinject-canary-istio-system"),
        ("Role", "meshinject-canary"),
        ("RoleBinding", "meshinject-canary"),
        ("Secret", "meshinject-canary-tls"),
        ("Service", "meshinject-canary"),
        ("Deployment", "meshinject-canary"),
        ("PodDisruptionBudget", "meshinject-canary"),
        ("MutatingWebhookConfiguration", "istio-sidecar-injector-canary"),
    ]
    for obj in objects:
        assert obj["metadata"]["labels"]["istio.io/rev"] == "canary"
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshinject"


def test_configmaps_hold_a_configuration_the_injector_loads() -> None:
    [injector, mesh] = by_kind(objects_for("canary", "mesh-cp"), "ConfigMap")

    config = load_config_text(
        injector["data"]["config"], injector["data"]["values"], mesh["data"]["mesh"], source="test"
    )

    values = json.loads(injector["data"]["values"])
    assert values["revision"] == "canary"
    assert values["global"]["istioNamespace"] == "mesh-cp"
    assert "sidecar" in config.templates
    assert config.mesh["defaultConfig"]["proxyAdminPort"] == 15000


def test_default_revision_configmaps_have_no_suffix_and_an_empty_revision_value() -> None:
    [injector, mesh] = by_kind(objects_for("default"), "ConfigMap")

    assert (injector["metadata"]["name"], mesh["metadata"]["name"]) == ("istio-sidecar-injector", "istio")
    assert json.loads(injector["data"]["values"])["revision"] == ""


def test_deployment_is_highly_available_and_locked_down() -> None:
    [deployment] = by_kind(objects_for("canary", replicas=3, image="registry.example/meshinject:9"), "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]

    assert spec["replicas"] == 3
    assert spec["template"]["metadata"]["labels"]["app"] == "istiod"
    assert spec["template"]["metadata"]["labels"]["istio.io/rev"] == "canary"
    assert spec["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert anti["podAffinityTerm"]["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"] + pod["initContainers"]:
        assert container["image"] == "registry.example/meshinject:9"
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert container["resources"]["requests"]
    server = pod["containers"][0]
    assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "scheme": "HTTPS", "port": 15017}
    assert server["livenessProbe"]["httpGet"] == {"path": "/healthz", "scheme": "HTTPS", "port": 15017}
    assert server["args"][server["args"].index("--revision") + 1] == "canary"
    assert [c["name"] for c in pod["initContainers"]] == ["certs-init"]
    assert "--once" in pod["initContainers"][0]["args"]
    assert [c["name"] for c in pod["containers"]] == ["webhook", "certs"]


def test_pod_disruption_budget_and_service_select_the_deployments_pods() -> None:
    objects = objects_for("canary")
    [deployment] = by_kind(objects, "Deployment")
    [pdb] = by_kind(objects, "PodDisruptionBudget")
    [service] = by_kind(objects, "Service")
    selector = deployment["spec"]["selector"]["matchLabels"]

    assert pdb["spec"]["selector"]["matchLabels"] == selector
    assert pdb["spec"]["maxUnavailable"] == 1
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"] == [{"name": "https-webhook", "port": 443, "targetPort": 15017, "protocol": "TCP"}]


def test_rbac_is_limited_to_what_the_pods_call() -> None:
    objects = objects_for("canary")
    [cluster_role] = by_kind(objects, "ClusterRole")
    [role] = by_kind(objects, "Role")

    assert cluster_role["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]},
        {
            "apiGroups": ["admissionregistration.k8s.io"],
            "resources": ["mutatingwebhookconfigurations"],
            "verbs": ["list", "patch"],
        },
    ]
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["meshinject-canary-tls"],
            "verbs": ["get", "update"],
        }
    ]


def test_webhook_url_renders_only_configmaps_and_the_webhook_configuration() -> None:
    objects = objects_for("r1", webhook_url="https://127.0.0.1:9443/inject", ca_bundle=CA_PEM)

    assert [o["kind"] for o in objects] == ["ConfigMap", "ConfigMap", "MutatingWebhookConfiguration"]
    for hook in webhooks(objects).values():
        assert hook["clientConfig"] == {
            "url": "https://127.0.0.1:9443/inject",
            "caBundle": base64.b64encode(CA_PEM).decode(),
        }


def test_cert_manager_replaces_the_certificate_controller() -> None:
    objects = objects_for("canary", cert_manager_issuer="ClusterIssuer/mesh-ca")
    [certificate] = by_kind(objects, "Certificate")
    [deployment] = by_kind(objects, "Deployment")
    [config] = by_kind(objects, "MutatingWebhookConfiguration")
    pod = deployment["spec"]["template"]["spec"]

    assert certificate["spec"]["secretName"] == "meshinject-canary-tls"
    assert certificate["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "mesh-ca"}
    assert "meshinject-canary.istio-system.svc" in certificate["spec"]["dnsNames"]
    assert config["metadata"]["annotations"] == {"cert-manager.io/inject-ca-from": "istio-system/meshinject-canary"}
    assert [c["name"] for c in pod["containers"]] == ["webhook"]
    assert "initContainers" not in pod
    assert {"name": "certs", "secret": {"secretName": "meshinject-canary-tls"}} in pod["volumes"]
    assert not by_kind(objects, "Secret") and not by_kind(objects, "Role")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"revision": "Canary"}, "lower-case"),
        ({"revision": ""}, "must not be empty"),
        ({"revision": "r1", "webhook_url": "https://x/inject"}, "go together"),
        ({"revision": "r1", "webhook_url": "http://x/inject", "ca_bundle": CA_PEM}, "https://"),
        ({"revision": "r1", "webhook_url": "https://x/inject", "ca_bundle": b"junk"}, "no PEM"),
        ({"revision": "r1", "replicas": 0}, "at least 1"),
        ({"revision": "r1", "timeout_seconds": 31}, "between 1 and 30"),
        ({"revision": "r1", "cert_manager_issuer": "Vault/x"}, "Issuer/NAME"),
    ],
)
def test_options_that_cannot_work_are_refused(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ManifestError, match=needle):
        render(ControlPlaneOptions(**kwargs), data_for("r1"))


# --- values ------------------------------------------------------------------------------------------------------


def test_set_follows_helm_typing_and_routes_mesh_config() -> None:
    assert parse_set("global.proxy.logLevel=debug") == ("values", ["global", "proxy", "logLevel"], "debug")
    assert parse_set("values.global.proxy.statusPort=15021") == ("values", ["global", "proxy", "statusPort"], 15021)
    assert parse_set("global.logAsJson=true") == ("values", ["global", "logAsJson"], True)
    assert parse_set("meshConfig.defaultConfig.holdApplicationUntilProxyStarts=false") == (
        "mesh",
        ["defaultConfig", "holdApplicationUntilProxyStarts"],
        False,
    )
    assert parse_set(r"global.podLabels.app\.kubernetes\.io/part-of=mesh") == (
        "values",
        ["global", "podLabels", "app.kubernetes.io/part-of"],
        "mesh",
    )
    assert parse_set("global.imagePullSecrets={a,b}") == ("values", ["global", "imagePullSecrets"], ["a", "b"])
    with pytest.raises(ManifestError, match="KEY=VALUE"):
        parse_set("global.proxy.logLevel")


def test_values_files_then_set_override_the_base() -> None:
    data = data_for(
        "r1",
        values_documents=[
            (
                "a.yaml",
                {"global": {"proxy": {"logLevel": "info", "statusPort": 15030}}, "meshConfig": {"trustDomain": "a"}},
            ),
            ("b.yaml", {"kind": "IstioOperator", "spec": {"values": {"global": {"proxy": {"logLevel": "error"}}}}}),
        ],
        sets=["global.proxy.logLevel=debug", "meshConfig.defaultConfig.proxyAdminPort=15001"],
    )

    proxy = json.loads(data.values)["global"]["proxy"]
    mesh = yaml.safe_load(data.mesh)
    assert (proxy["logLevel"], proxy["statusPort"], proxy["clusterDomain"]) == ("debug", 15030, "cluster.local")
    assert mesh["trustDomain"] == "a"
    assert mesh["defaultConfig"]["proxyAdminPort"] == 15001
    assert mesh["defaultConfig"]["interceptionMode"] == "REDIRECT"


def test_a_value_that_breaks_the_configuration_is_refused_before_anything_is_applied() -> None:
    with pytest.raises(ManifestError, match="cannot set a key below"):
        data_for("r1", sets=["global.hub.x=1"])


def test_istio_configmaps_are_read_from_kubectl_output() -> None:
    config, values, _ = builtin_injector_texts()
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-sidecar-injector-1-24"},
             "data": {"config": config, "values": values}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-1-24"},
             "data": {"mesh": "trustDomain: corp.example\n"}},
        ],
    }  # fmt: skip

    injector, mesh = read_istio_configmaps(yaml.safe_dump(listing), source="test")

    assert injector["config"] == config
    assert mesh == {"mesh": "trustDomain: corp.example\n"}
    with pytest.raises(ManifestError, match=r"no ConfigMap with a data\.config"):
        read_istio_configmaps("kind: ConfigMap\ndata: {mesh: x}\n", source="test")


# --- the command ---------------------------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = app(list(args), result_action="return_value")
    out, err = capsys.readouterr()
    return int(code), out, err


def test_manifests_command_prints_yaml_documents_that_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "manifests", "--revision", "canary", "--set", "global.proxy.logLevel=debug")

    documents = list(yaml.safe_load_all(out))
    assert code == 0
    assert documents == objects_for_with_set()
    assert "&id" not in out  # no YAML anchors for shared selector parts
    assert "config: |" in out  # the templates stay readable


def objects_for_with_set() -> list[dict[str, Any]]:
    return render(ControlPlaneOptions(revision="canary"), data_for("canary", sets=["global.proxy.logLevel=debug"]))


def test_manifests_command_reads_an_istio_configmap_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config, values, _ = builtin_injector_texts()
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"config": config, "values": values}}
    monkeypatch.setattr(sys, "stdin", io.StringIO(yaml.safe_dump(configmap)))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(CA_PEM)

    code, out, _ = run_cli(
        capsys, "manifests", "--revision", "r2", "--from-istio-configmap", "-",
        "--webhook-url", "https://10.0.0.1/inject", "--ca-bundle", str(ca), "-o", "json",
    )  # fmt: skip

    listing = json.loads(out)
    assert code == 0
    assert [o["kind"] for o in listing["items"]] == ["ConfigMap", "ConfigMap", "MutatingWebhookConfiguration"]
    assert listing["items"][0]["data"]["config"] == config


def test_manifests_command_reports_bad_options_with_exit_code_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "manifests", "--revision", "r1", "--webhook-url", "https://x/inject")

    assert code == 2
    assert out == ""
    assert "--webhook-url and --ca-bundle go together" in err


def test_to_yaml_separates_documents() -> None:
    text = to_yaml([{"a": 1}, {"b": "x\ny\n"}])

    assert list(yaml.safe_load_all(text)) == [{"a": 1}, {"b": "x\ny\n"}]
