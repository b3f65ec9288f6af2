"""The injection pipeline's own guarantees: render caching never mixes pods, impure templates are not cached."""

from __future__ import annotations

import copy
from typing import Any

from meshinject.inject.config import InjectorConfig, load_config_text
from meshinject.inject.injector import InjectionParams, inject_pod


def config_with(template: str) -> InjectorConfig:
    text = "templates:\n  sidecar: |\n" + "".join(f"    {line}\n" for line in template.splitlines())
    return load_config_text(text, "{}", "defaultConfig: {statusPort: 15020}", source="test")


def params(config: InjectorConfig, pod: dict[str, Any]) -> InjectionParams:
    return InjectionParams(
        pod=copy.deepcopy(pod),
        config=config,
        revision="",
        proxy_config={},
        mesh=config.mesh,
        type_meta={"kind": "Pod", "apiVersion": "v1"},
        deploy_meta={"name": "p", "namespace": "ns"},
    )


POD = {"metadata": {"name": "a", "labels": {"app": "one"}}, "spec": {"containers": [{"name": "app", "image": "i"}]}}


def test_pods_that_differ_in_what_the_template_reads_get_their_own_render() -> None:
    config = config_with("metadata:\n  annotations:\n    seen: {{ .ObjectMeta.Labels.app | quote }}")
    other = copy.deepcopy(POD)
    other["metadata"]["labels"]["app"] = "two"
    first = inject_pod(params(config, POD)).pod
    second = inject_pod(params(config, other)).pod
    assert first["metadata"]["annotations"]["seen"] == "one"
    assert second["metadata"]["annotations"]["seen"] == "two"


def test_templates_with_random_functions_are_rendered_every_time() -> None:
    config = config_with("metadata:\n  annotations:\n    nonce: {{ randAlphaNum 24 | quote }}")
    first = inject_pod(params(config, POD)).pod["metadata"]["annotations"]["nonce"]
    second = inject_pod(params(config, POD)).pod["metadata"]["annotations"]["nonce"]
    assert first != second


def test_identical_replicas_get_identical_patches() -> None:
    config = config_with('spec:\n  containers:\n  - name: istio-proxy\n    image: "proxy:1"')
    first = inject_pod(params(config, POD))
    second = inject_pod(params(config, POD))
    assert first.patch == second.patch
    assert [c["name"] for c in first.pod["spec"]["containers"]] == ["app", "istio-proxy"]
