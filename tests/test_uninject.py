"""Uninjection as a pure function: what injection records is enough to give back the user's pod.

The injected pods here are written by hand in the form Istio documents (the ``sidecar.istio.io/status``
annotation, ``ISTIO_KUBE_APP_PROBERS``, ``ISTIO_PROMETHEUS_ANNOTATIONS``, ``proxy.istio.io/overrides``), so
these tests do not depend on the injection engine; the round trips at the end do.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from meshinject.inject import kubetypes
from meshinject.inject.config import load_directory
from meshinject.inject.kubeinject import KubeInjectSettings, kube_inject
from meshinject.inject.uninject import UninjectError, kube_uninject, uninject_pod

STATUS = json.dumps(
    {
        "initContainers": ["istio-init"],
        "containers": ["istio-proxy"],
        "volumes": ["istio-envoy", "istio-data"],
        "imagePullSecrets": ["istio-pull"],
        "revision": "default",
    }
)


def proxy(*env: tuple[str, str]) -> dict[str, Any]:
    return {
        "name": "istio-proxy",
        "image": "docker.io/istio/proxyv2:1.28.0",
        "args": ["proxy", "sidecar"],
        "env": [{"name": "POD_NAME", "value": "x"}, *({"name": k, "value": v} for k, v in env)],
    }


def injected_pod(
    *,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    app: dict[str, Any] | None = None,
    sidecar: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "metadata": {
            "labels": {
                "app": "shop",
                "security.istio.io/tlsMode": "istio",
                "service.istio.io/canonical-name": "shop",
                "service.istio.io/canonical-revision": "latest",
                **(labels or {}),
            },
            "annotations": {
                "sidecar.istio.io/status": STATUS,
                "istio.io/rev": "default",
                "kubectl.kubernetes.io/default-container": "shop",
                "kubectl.kubernetes.io/default-logs-container": "shop",
                **(annotations or {}),
            },
        },
        "spec": {
            "initContainers": [{"name": "istio-init", "image": "docker.io/istio/proxyv2:1.28.0"}],
            "containers": [app or {"name": "shop", "image": "shop:1"}, sidecar or proxy()],
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
                {"name": "istio-data", "emptyDir": {}},
            ],
            "imagePullSecrets": [{"name": "istio-pull"}],
        },
    }


def test_removes_what_the_status_annotation_names_and_the_injected_metadata() -> None:
    assert uninject_pod(injected_pod()) == {
        "metadata": {"labels": {"app": "shop"}},
        "spec": {
            "containers": [{"name": "shop", "image": "shop:1"}],
            "volumes": [{"name": "cache", "emptyDir": {}}],
        },
    }


def test_a_pod_without_status_annotation_comes_back_unchanged_as_a_copy() -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "istio-proxy", "image": "envoy"}]}}
    result = uninject_pod(pod)
    assert result == pod
    assert result is not pod
    assert result["spec"] is not pod["spec"]


def test_the_input_pod_is_not_modified() -> None:
    pod = injected_pod()
    before = copy.deepcopy(pod)
    uninject_pod(pod)
    assert pod == before


def test_native_sidecar_in_init_containers_is_removed() -> None:
    pod = injected_pod()
    pod["metadata"]["annotations"]["sidecar.istio.io/status"] = json.dumps(
        {"initContainers": ["istio-init", "istio-proxy"], "containers": None, "volumes": None, "revision": "default"}
    )
    native = proxy()
    native["restartPolicy"] = "Always"
    pod["spec"]["initContainers"] = [
        {"name": "istio-init", "image": "i"},
        native,
        {"name": "migrate", "image": "m"},
    ]
    pod["spec"]["containers"] = [{"name": "shop", "image": "shop:1"}]
    result = uninject_pod(pod)
    assert result["spec"]["initContainers"] == [{"name": "migrate", "image": "m"}]
    assert result["spec"]["containers"] == [{"name": "shop", "image": "shop:1"}]


def test_http_probe_is_restored_from_the_recorded_probers() -> None:
    rewritten = {
        "name": "shop",
        "image": "shop:1",
        "readinessProbe": {
            "httpGet": {"path": "/app-health/shop/readyz", "port": 15020, "scheme": "HTTP"},
            "timeoutSeconds": 3,
        },
    }
    probers = {
        "/app-health/shop/readyz": {
            "httpGet": {"path": "/ready", "port": 8443, "scheme": "HTTPS"},
            "timeoutSeconds": 3,
        }
    }
    pod = injected_pod(app=rewritten, sidecar=proxy(("ISTIO_KUBE_APP_PROBERS", json.dumps(probers))))
    app = uninject_pod(pod)["spec"]["containers"][0]
    assert app["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": 8443, "scheme": "HTTPS"},
        "timeoutSeconds": 3,
    }


def test_http_probe_keeps_host_and_headers_and_gets_no_scheme_it_did_not_have() -> None:
    rewritten = {
        "name": "shop",
        "livenessProbe": {
            "httpGet": {
                "path": "/app-health/shop/livez",
                "port": 15020,
                "host": "127.0.0.1",
                "httpHeaders": [{"name": "X-Probe", "value": "1"}],
            },
        },
    }
    probers = {
        "/app-health/shop/livez": {
            "httpGet": {
                "path": "/live",
                "port": 80,
                "host": "127.0.0.1",
                "httpHeaders": [{"name": "X-Probe", "value": "1"}],
            }
        }
    }
    pod = injected_pod(app=rewritten, sidecar=proxy(("ISTIO_KUBE_APP_PROBERS", json.dumps(probers))))
    app = uninject_pod(pod)["spec"]["containers"][0]
    assert app["livenessProbe"] == {
        "httpGet": {
            "path": "/live",
            "port": 80,
            "host": "127.0.0.1",
            "httpHeaders": [{"name": "X-Probe", "value": "1"}],
        }
    }


def test_tcp_and_grpc_probes_and_lifecycle_hooks_are_restored() -> None:
    rewritten = {
        "name": "shop",
        "livenessProbe": {"httpGet": {"path": "/app-health/shop/livez", "port": 15020}, "periodSeconds": 20},
        "startupProbe": {"httpGet": {"path": "/app-health/shop/startupz", "port": 15020}},
        "lifecycle": {"preStop": {"httpGet": {"path": "/app-lifecycle/shop/prestopz", "port": 15020}}},
    }
    probers = {
        "/app-health/shop/livez": {"tcpSocket": {"port": 9080}},
        "/app-health/shop/startupz": {"grpc": {"port": 9090, "service": None}},
        "/app-lifecycle/shop/prestopz": {"httpGet": {"path": "/drain", "port": 9080}},
    }
    pod = injected_pod(app=rewritten, sidecar=proxy(("ISTIO_KUBE_APP_PROBERS", json.dumps(probers))))
    app = uninject_pod(pod)["spec"]["containers"][0]
    assert app["livenessProbe"] == {"tcpSocket": {"port": 9080}, "periodSeconds": 20}
    assert app["startupProbe"] == {"grpc": {"port": 9090}}
    assert app["lifecycle"] == {"preStop": {"httpGet": {"path": "/drain", "port": 9080}}}


def test_grpc_probe_keeps_its_service_name() -> None:
    rewritten = {"name": "shop", "readinessProbe": {"httpGet": {"path": "/app-health/shop/readyz", "port": 15020}}}
    probers = {"/app-health/shop/readyz": {"grpc": {"port": 9090, "service": "shop.Health"}}}
    pod = injected_pod(app=rewritten, sidecar=proxy(("ISTIO_KUBE_APP_PROBERS", json.dumps(probers))))
    assert uninject_pod(pod)["spec"]["containers"][0]["readinessProbe"] == {
        "grpc": {"port": 9090, "service": "shop.Health"}
    }


def test_a_probe_without_a_recorded_prober_is_left_as_it_is() -> None:
    # Istio records no prober for a named port it cannot resolve, yet rewrites the probe: nothing to restore.
    rewritten = {"name": "shop", "readinessProbe": {"httpGet": {"path": "/app-health/shop/readyz", "port": 15020}}}
    pod = injected_pod(app=rewritten, sidecar=proxy(("ISTIO_KUBE_APP_PROBERS", "{}")))
    assert uninject_pod(pod)["spec"]["containers"][0]["readinessProbe"] == rewritten["readinessProbe"]


def test_prometheus_annotations_are_restored_from_the_merge_record() -> None:
    merged = {"prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus"}
    record = {"scrape": "true", "path": "/metrics", "port": "9080"}
    pod = injected_pod(annotations=merged, sidecar=proxy(("ISTIO_PROMETHEUS_ANNOTATIONS", json.dumps(record))))
    assert uninject_pod(pod)["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/path": "/metrics",
        "prometheus.io/port": "9080",
    }


def test_merged_prometheus_annotations_without_a_record_are_removed() -> None:
    merged = {"prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus"}
    assert "annotations" not in uninject_pod(injected_pod(annotations=merged))["metadata"]


def test_prometheus_annotations_the_merge_did_not_write_are_kept() -> None:
    own = {"prometheus.io/scrape": "false", "prometheus.io/port": "9080"}
    assert uninject_pod(injected_pod(annotations=own))["metadata"]["annotations"] == own


def test_prometheus_scrape_targets_are_restored() -> None:
    merged = {"prometheus.io/scrape": "true", "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus"}
    record = {
        "scrape": "true",
        "path": "/metrics",
        "port": "9080",
        "targets": [{"port": "9080", "path": "/metrics"}, {"port": "9100", "path": "/node"}],
    }
    pod = injected_pod(annotations=merged, sidecar=proxy(("ISTIO_PROMETHEUS_ANNOTATIONS", json.dumps(record))))
    assert uninject_pod(pod)["metadata"]["annotations"] == {
        "prometheus.istio.io/scrape-targets": "9080:/metrics,9100:/node",
        "prometheus.io/scrape": "true",
    }


def test_user_container_with_an_injected_name_comes_back_from_the_overrides() -> None:
    overrides = {"containers": [{"name": "istio-proxy", "resources": {"limits": {"memory": "512Mi"}}}]}
    pod = injected_pod(annotations={"proxy.istio.io/overrides": json.dumps(overrides)})
    result = uninject_pod(pod)
    assert result["spec"]["containers"] == [
        {"name": "shop", "image": "shop:1"},
        # The injector records `image: auto` as no image at all.
        {"name": "istio-proxy", "resources": {"limits": {"memory": "512Mi"}}, "image": "auto"},
    ]
    assert "proxy.istio.io/overrides" not in result["metadata"].get("annotations", {})


def test_overridden_container_goes_back_where_the_injected_one_stood() -> None:
    overrides = {"containers": [{"name": "istio-proxy", "image": "my-envoy:1"}]}
    pod = injected_pod(annotations={"proxy.istio.io/overrides": json.dumps(overrides)})
    pod["spec"]["containers"] = [pod["spec"]["containers"][1], pod["spec"]["containers"][0]]
    assert [c["name"] for c in uninject_pod(pod)["spec"]["containers"]] == ["istio-proxy", "shop"]
    assert uninject_pod(pod)["spec"]["containers"][0]["image"] == "my-envoy:1"


def test_labels_and_annotations_the_user_chose_are_kept() -> None:
    pod = injected_pod(
        labels={
            "security.istio.io/tlsMode": "disabled",
            "service.istio.io/canonical-name": "storefront",
            "version": "v2",
            "service.istio.io/canonical-revision": "v2",
        },
        annotations={"istio.io/rev": "canary", "kubectl.kubernetes.io/default-container": "debug"},
    )
    meta = uninject_pod(pod)["metadata"]
    assert meta["labels"] == {
        "app": "shop",
        "security.istio.io/tlsMode": "disabled",
        "service.istio.io/canonical-name": "storefront",
        "version": "v2",
    }
    assert meta["annotations"] == {"istio.io/rev": "canary", "kubectl.kubernetes.io/default-container": "debug"}


def test_canonical_name_derived_from_a_long_app_label_is_removed() -> None:
    long_name = "a" * 62 + "-b"
    pod = injected_pod(labels={"app": long_name, "service.istio.io/canonical-name": "a" * 62})
    assert uninject_pod(pod)["metadata"]["labels"] == {"app": long_name}


def test_invalid_status_annotation_is_an_error() -> None:
    pod = injected_pod(annotations={"sidecar.istio.io/status": "{not json"})
    with pytest.raises(UninjectError, match=r"sidecar\.istio\.io/status is not valid JSON"):
        uninject_pod(pod)


def test_invalid_overrides_annotation_is_an_error() -> None:
    pod = injected_pod(annotations={"proxy.istio.io/overrides": "[1]"})
    with pytest.raises(UninjectError, match=r"proxy\.istio\.io/overrides must be a JSON object"):
        uninject_pod(pod)


# -- documents ----------------------------------------------------------------------------------------------


def test_kube_uninject_leaves_documents_without_injection_byte_for_byte() -> None:
    text = "# a comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n---\nkind: Pod\nmetadata: {name: p}\n"
    results = kube_uninject(text)
    assert [r.text for r in results] == [
        "# a comment\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\n",
        "kind: Pod\nmetadata: {name: p}\n",
    ]
    assert [r.injected for r in results] == [False, False]


def test_kube_uninject_reports_a_bad_status_with_the_document() -> None:
    text = "kind: Pod\nmetadata:\n  name: p\n  annotations:\n    sidecar.istio.io/status: 'nope'\nspec: {}\n"
    (result,) = kube_uninject(text)
    assert result.error is not None
    assert str(result.error).startswith("document 0 (Pod 'p'): annotation sidecar.istio.io/status is not valid JSON")
    assert result.text == text


# -- round trips through the engine ----------------------------------------------------------------------------

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "istio"

# Inputs whose original cannot be told from what injection records, each with the reason.
NOT_RECOVERABLE = {
    # A probe on a named port is recorded with the resolved number.
    "hello-probes.yaml": "named probe port",
    "hello-probes-localhost.yaml": "named probe port",
    "hello-probes-proxyHoldApplication-ProxyConfig.yaml": "named probe port",
    "hello-probes-with-flag-set-in-annotation.yaml": "named probe port",
    "named_port.yaml": "named probe port",
    "one_container.yaml": "named probe port",
    "ready_live.yaml": "named probe port",
    "startup_live.yaml": "named probe port",
    "tcp-probes.yaml": "named probe port",
    # The templates set pod fields the status annotation does not record.
    "gateway.yaml": "gateway template adds a pod securityContext sysctl",
    "gateway-with-default-container.yaml": "gateway template adds a pod securityContext sysctl",
    "grpc-agent.yaml": "template adds sidecar.istio.io/rewriteAppHTTPProbers",
    "grpc-simple.yaml": "template adds sidecar.istio.io/rewriteAppHTTPProbers",
    # The input is an injected pod already: uninjection goes further back than the input.
    "merge-probers.yaml": "input already injected",
}


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared conformance folder is not beside the checkout")
def test_istio_inputs_round_trip_through_inject_and_uninject() -> None:
    config = load_directory(SHARED / "bundles" / "default")
    checked = 0
    mismatches = []
    for path in sorted((SHARED / "inputs").glob("*.yaml")):
        if path.name in NOT_RECOVERABLE:
            continue
        for result in kube_inject(path.read_text(), KubeInjectSettings(config)):
            if result.error is not None or not result.injected:
                continue
            (back,) = kube_uninject(result.text)
            assert back.error is None, f"{path.name}: {back.error}"
            checked += 1
            if kubetypes.normalize(back.result) != kubetypes.normalize(result.original):
                mismatches.append(f"{path.name} document {result.index}")
    assert mismatches == []
    assert checked >= 50
