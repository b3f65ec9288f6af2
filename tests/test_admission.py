"""The admission entry point on the real AdmissionReviews a kube-apiserver v1.36 sent (shared fixtures)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import jsonpatch
import pytest

from meshinject.inject.admission import ClusterFacts, review
from meshinject.inject.config import InjectorConfig, builtin_config, load_directory

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures" / "admission-review"
BUNDLE = SHARED / "conformance" / "istio" / "bundles" / "default"

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not found")


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json")) if FIXTURES.is_dir() else []


def load_review(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return data.get("body", data)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def config() -> InjectorConfig:
    return load_directory(BUNDLE)


def apply(review_in: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    ops = json.loads(base64.b64decode(response["patch"]))
    return jsonpatch.apply_patch(review_in["request"]["object"], ops)  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_real_apiserver_requests_get_an_injecting_patch(path: Path, config: InjectorConfig) -> None:
    request = load_review(path)
    outcome = review(request, config, facts=ClusterFacts(nodes=[{"name": "n", "kubeletVersion": "v1.36.2"}]))
    response = outcome.response["response"]
    assert outcome.response["apiVersion"] == request["apiVersion"]
    assert response["uid"] == request["request"]["uid"]
    assert response["allowed"] is True
    assert response["patchType"] == "JSONPatch"
    pod = apply(request, response)
    names = [c["name"] for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]]
    assert "istio-proxy" in names
    assert "sidecar.istio.io/status" in pod["metadata"]["annotations"]
    # The patch never adds the namespace the apiserver left out.
    assert pod["metadata"].get("namespace") == request["request"]["object"]["metadata"].get("namespace")


def test_v1beta1_reviews_are_answered_in_v1beta1(config: InjectorConfig) -> None:
    request = load_review(fixtures()[0])
    request["apiVersion"] = "admission.k8s.io/v1beta1"
    assert review(request, config).response["apiVersion"] == "admission.k8s.io/v1beta1"


def test_opted_out_pod_is_allowed_without_patch(config: InjectorConfig) -> None:
    request = load_review(fixtures()[0])
    request["request"]["object"]["metadata"].setdefault("labels", {})["sidecar.istio.io/inject"] = "false"
    outcome = review(request, config)
    assert outcome.result == "skipped"
    assert outcome.response["response"] == {"uid": request["request"]["uid"], "allowed": True}


def test_invalid_annotation_denies_the_pod_with_a_clear_message(config: InjectorConfig) -> None:
    request = load_review(fixtures()[0])
    annotations = request["request"]["object"]["metadata"].setdefault("annotations", {})
    annotations["traffic.sidecar.istio.io/excludeOutboundIPRanges"] = "*"
    response = review(request, config).response["response"]
    assert response["allowed"] is False
    assert "excludeOutboundIPRanges" in response["status"]["message"]


def test_unknown_template_denies_the_pod(config: InjectorConfig) -> None:
    request = load_review(fixtures()[0])
    request["request"]["object"]["metadata"].setdefault("annotations", {})["inject.istio.io/templates"] = "nope"
    response = review(request, config).response["response"]
    assert response["allowed"] is False
    assert "requested template 'nope' not found" in response["status"]["message"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda r: r.pop("request"),
        lambda r: r["request"].pop("object"),
        lambda r: r["request"].__setitem__("object", {"kind": "Service", "metadata": {}, "spec": {}}),
        lambda r: r["request"]["object"].__setitem__("spec", "oops"),
        lambda r: r["request"]["object"].__setitem__("metadata", []),
    ],
    ids=["no-request", "no-object", "not-a-pod", "spec-not-object", "metadata-not-object"],
)
def test_malformed_requests_are_denied_never_raised(mutate: Any, config: InjectorConfig) -> None:
    request = load_review(fixtures()[0])
    mutate(request)
    response = review(request, config).response["response"]
    assert response["allowed"] is False
    assert response["status"]["message"]


def test_reinjecting_an_injected_pod_does_not_double_the_sidecar(config: InjectorConfig) -> None:
    request = load_review(fixtures()[0])
    first = apply(request, review(request, config).response["response"])
    again = copy.deepcopy(request)
    again["request"]["object"] = first
    second = apply(again, review(again, config).response["response"])
    all_names = [c["name"] for c in second["spec"].get("initContainers", []) + second["spec"]["containers"]]
    assert all_names.count("istio-proxy") == 1
    assert all_names.count("istio-init") <= 1
    assert second["spec"] == first["spec"]


def test_builtin_configuration_injects_proxy_and_init() -> None:
    request = load_review(fixtures()[0])
    response = review(request, builtin_config()).response["response"]
    pod = apply(request, response)
    init_names = [c["name"] for c in pod["spec"].get("initContainers", [])]
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert "istio-init" in init_names
    assert names[-1] == "istio-proxy"
    proxy = pod["spec"]["containers"][-1]
    assert proxy["image"].startswith("docker.io/istio/proxyv2:")
    assert any(e["name"] == "ISTIO_META_APP_CONTAINERS" for e in proxy["env"])


ISTIO_SUITE = SHARED / "conformance" / "istio"


@pytest.mark.skipif(not ISTIO_SUITE.is_dir(), reason="shared Istio suite not found")
def test_review_never_changes_the_request_it_is_given() -> None:
    # The server decodes each body once and hands it to review(); the conformance runner applies the patch to
    # the very object it sent. Both rely on the request coming back untouched, whatever the pod looks like:
    # every input of Istio's suite (re-injections, overrides, native sidecars, OpenShift, missing namespace).
    from meshinject.conformance.istio import _parts, load_suite, object_to_pod

    suite = load_suite(ISTIO_SUITE)
    checked = 0
    for case in suite.cases:
        config, env = suite.bundle(case["bundle"])
        facts = ClusterFacts(
            nodes=env.get("nodes") or [],
            namespaces={(n.get("metadata") or {}).get("name", ""): n for n in env.get("namespaces") or []},
        )
        for part in _parts((suite.root / case["input"]).read_text()):
            request = {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {"uid": "u", "namespace": "ns-from-request", "object": object_to_pod(part)},
            }
            before = copy.deepcopy(request)
            review(request, config, path=str(env.get("injectionPath") or ""), facts=facts)
            assert request == before, case["id"]
            checked += 1
    assert checked >= 100
