"""App probe rewriting (meshinject.inject.probes).

The golden tests take each conformance input, put an ``istio-proxy`` container where the expected output has
one, run the rewrite with the case's bundle settings and compare with the expected output: the
``ISTIO_KUBE_APP_PROBERS`` value byte for byte, and every app container's probes and lifecycle hooks.
The unit tests follow Istio's ``app_probe_test.go`` and ``app_probe.go``; exact JSON strings were printed by
Go's ``encoding/json`` for the same structs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshinject.inject.probes import (
    apply_rewrite,
    dump_app_probers,
    find_sidecar,
    merge_or_append_probers,
    rewrite_probes,
    should_rewrite,
)

ISTIO = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "istio"
needs_cases = pytest.mark.skipif(not (ISTIO / "cases.yaml").is_file(), reason="shared conformance cases absent")

ENV = "ISTIO_KUBE_APP_PROBERS"
STATUS = "sidecar.istio.io/status"
PROBE_FIELDS = ("readinessProbe", "livenessProbe", "startupProbe", "lifecycle")


def _pod_templates(doc: Any) -> list[dict[str, Any]]:
    """The pod (metadata + spec) of every workload in a document, in document order."""
    if not isinstance(doc, dict):
        return []
    kind = doc.get("kind")
    if kind == "List":
        return [p for item in doc.get("items") or [] for p in _pod_templates(item)]
    if kind == "Pod":
        return [doc]
    if kind == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]]
    template = (doc.get("spec") or {}).get("template")
    return [template] if isinstance(template, dict) else []


def _pods(relative: str) -> list[dict[str, Any]]:
    return [p for doc in yaml.safe_load_all((ISTIO / relative).read_text()) for p in _pod_templates(doc)]


def _probe_cases() -> list[dict[str, Any]]:
    if not (ISTIO / "cases.yaml").is_file():
        return []
    out = []
    for case in yaml.safe_load((ISTIO / "cases.yaml").read_text())["cases"]:
        if not case["expected"]:
            continue
        text = (ISTIO / case["input"]).read_text()
        if "Probe:" in text or "lifecycle:" in text:
            out.append(case)
    return out


def _sidecar_location(pod: dict[str, Any]) -> str | None:
    for key in ("containers", "initContainers"):
        if any(c.get("name") == "istio-proxy" for c in pod["spec"].get(key) or []):
            return key
    return None


def _env_value(container: dict[str, Any] | None, name: str) -> str | None:
    for var in (container or {}).get("env") or []:
        if var.get("name") == name:
            return str(var.get("value"))
    return None


def _bundle_settings(bundle: str) -> tuple[bool, int]:
    values = json.loads((ISTIO / "bundles" / bundle / "values.json").read_text())
    mesh = yaml.safe_load((ISTIO / "bundles" / bundle / "mesh.yaml").read_text())
    rewrite = bool((values.get("sidecarInjectorWebhook") or {}).get("rewriteAppHTTPProbe"))
    return rewrite, int(mesh["defaultConfig"]["statusPort"])


@needs_cases
@pytest.mark.parametrize("case", _probe_cases(), ids=lambda c: c["id"] if isinstance(c, dict) else "")
def test_golden_probe_rewrite(case: dict[str, Any]) -> None:
    rewrite_default, status_port = _bundle_settings(case["bundle"])
    inputs, expected = _pods(case["input"]), _pods(case["expected"])
    assert len(inputs) == len(expected)
    for pod, want in zip(inputs, expected, strict=True):
        pod = copy.deepcopy(pod)
        # Post-processing sees the merged pod's annotations: templates may add some (grpc-agent turns the
        # rewrite off). The status annotation is only there when the input had it (re-injection).
        annotations = dict((want.get("metadata") or {}).get("annotations") or {})
        if STATUS not in ((pod.get("metadata") or {}).get("annotations") or {}):
            annotations.pop(STATUS, None)
        pod.setdefault("metadata", {})["annotations"] = annotations
        where = _sidecar_location(want)
        if where is not None and find_sidecar(pod) is None:
            pod["spec"].setdefault(where, []).append({"name": "istio-proxy", "env": []})
        apply_rewrite(pod, rewrite_default, status_port)
        assert _env_value(find_sidecar(pod), ENV) == _env_value(find_sidecar(want), ENV)
        for key in ("containers", "initContainers"):
            wanted = {c["name"]: c for c in want["spec"].get(key) or []}
            for c in pod["spec"].get(key) or []:
                if c["name"] == "istio-proxy" or c["name"] not in wanted:
                    continue
                for field in PROBE_FIELDS:
                    assert c.get(field) == wanted[c["name"]].get(field), (c["name"], field)


@needs_cases
def test_golden_merge_probers_keeps_existing_entries_and_adds_new_container() -> None:
    (pod,) = _pods("inputs/merge-probers.yaml")
    (want,) = _pods("expected/merge-probers.yaml.injected")
    # The hello/world probes already point at 15020, so only the new container is dumped.
    probers = dump_app_probers(pod, 15020)
    assert probers == '{"/app-health/new/livez":{"httpGet":{"path":"/testLive","port":8008}}}'
    sidecar = find_sidecar(pod)
    assert sidecar is not None
    env = merge_or_append_probers(True, sidecar["env"], probers)
    merged = _env_value({"env": env}, ENV)
    assert merged == _env_value(find_sidecar(want), ENV)
    assert merged == (
        '{"/app-health/hello/livez":{"httpGet":{"port":80}},"/app-health/hello/readyz":{"httpGet":{"port":3333}},'
        '"/app-health/new/livez":{"httpGet":{"path":"/testLive","port":8008}},'
        '"/app-health/world/livez":{"httpGet":{"port":90}}}'
    )


# ---------------------------------------------------------------------------------------------------------
# ShouldRewriteAppHTTPProbers (table of app_probe_test.go)

ANNOTATION = "sidecar.istio.io/rewriteAppHTTPProbers"


@pytest.mark.parametrize(
    ("annotations", "default", "expected"),
    [
        (None, False, False),
        (None, True, True),
        ({}, False, False),
        ({}, True, True),
        ({ANNOTATION: "true"}, False, True),
        ({ANNOTATION: "true"}, True, True),
        ({ANNOTATION: "false"}, False, False),
        ({ANNOTATION: "false"}, True, False),
        # Anything strconv.ParseBool accepts counts; anything else falls back to the default.
        ({ANNOTATION: "T"}, False, True),
        ({ANNOTATION: "0"}, True, False),
        ({ANNOTATION: "yes"}, False, False),
        ({ANNOTATION: "yes"}, True, True),
    ],
)
def test_should_rewrite_follows_annotation_then_default(
    annotations: dict[str, str] | None, default: bool, expected: bool
) -> None:
    assert should_rewrite(annotations, default) is expected


# ---------------------------------------------------------------------------------------------------------
# DumpAppProbers


def _pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    return {"metadata": {}, "spec": spec}


def test_dump_grpc_probe_writes_null_service() -> None:
    pod = _pod({"name": "foo", "livenessProbe": {"grpc": {"port": 1234}}})
    assert dump_app_probers(pod, 15020) == '{"/app-health/foo/livez":{"grpc":{"port":1234,"service":null}}}'


def test_dump_grpc_readiness_probe_with_service() -> None:
    pod = _pod({"name": "bar", "readinessProbe": {"grpc": {"port": 1234, "service": "foo"}}})
    assert dump_app_probers(pod, 15020) == '{"/app-health/bar/readyz":{"grpc":{"port":1234,"service":"foo"}}}'


def test_dump_startup_grpc_with_timeout_and_http_prestop_hook() -> None:
    pod = _pod(
        {
            "name": "foo",
            "startupProbe": {"grpc": {"port": 1234, "service": "foo"}, "timeoutSeconds": 10},
            "lifecycle": {"preStop": {"httpGet": {"path": "/foo", "port": 1234, "host": "foo", "scheme": "HTTP"}}},
        }
    )
    assert dump_app_probers(pod, 15020) == (
        '{"/app-health/foo/startupz":{"grpc":{"port":1234,"service":"foo"},"timeoutSeconds":10},'
        '"/app-lifecycle/foo/prestopz":{"httpGet":{"path":"/foo","port":1234,"host":"foo","scheme":"HTTP"}}}'
    )


def test_dump_escapes_html_characters_and_keeps_headers_in_struct_order() -> None:
    pod = _pod(
        {
            "name": "a",
            "ports": [{"name": "http", "containerPort": 8080}],
            "readinessProbe": {
                "timeoutSeconds": 3,
                "periodSeconds": 5,
                "httpGet": {
                    "httpHeaders": [{"value": "v", "name": "X-A"}],
                    "port": "http",
                    "path": "/q?a=1&b=<2>",
                },
            },
        }
    )
    assert dump_app_probers(pod, 15020) == (
        '{"/app-health/a/readyz":{"httpGet":{"path":"/q?a=1\\u0026b=\\u003c2\\u003e","port":8080,'
        '"httpHeaders":[{"name":"X-A","value":"v"}]},"timeoutSeconds":3}}'
    )


def test_dump_resolves_named_ports_per_container_and_drops_unknown_names() -> None:
    pod = _pod(
        {
            "name": "a",
            "ports": [{"name": "http", "containerPort": 80}],
            "livenessProbe": {"httpGet": {"port": "http"}},
        },
        {
            "name": "b",
            "ports": [{"name": "web", "containerPort": 90}],
            "livenessProbe": {"httpGet": {"port": "http"}},
        },
        {"name": "c", "readinessProbe": {"tcpSocket": {"port": "db"}}},
    )
    assert dump_app_probers(pod, 15020) == '{"/app-health/a/livez":{"httpGet":{"port":80}}}'


def test_dump_skips_probes_already_aimed_at_the_agent_except_grpc() -> None:
    pod = _pod(
        {
            "name": "a",
            "livenessProbe": {"httpGet": {"port": 15020, "path": "/app-health/a/livez"}},
            "readinessProbe": {"grpc": {"port": 15020}},
        }
    )
    assert dump_app_probers(pod, 15020) == '{"/app-health/a/readyz":{"grpc":{"port":15020,"service":null}}}'


def test_dump_ignores_exec_probes_exec_hooks_and_the_proxy() -> None:
    pod = _pod(
        {
            "name": "a",
            "livenessProbe": {"exec": {"command": ["true"]}},
            "lifecycle": {"preStop": {"exec": {}}},
        },
        {"name": "istio-proxy", "readinessProbe": {"httpGet": {"port": 15021, "path": "/healthz/ready"}}},
    )
    assert dump_app_probers(pod, 15020) == ""


def test_dump_includes_init_containers_and_tcp_hooks() -> None:
    pod = _pod(
        {"name": "app", "lifecycle": {"postStart": {"tcpSocket": {"port": 93, "host": "localhost"}}}},
        init=({"name": "sidecar", "startupProbe": {"tcpSocket": {"port": 7000}, "timeoutSeconds": 0}},),
    )
    assert dump_app_probers(pod, 15020) == (
        '{"/app-health/sidecar/startupz":{"tcpSocket":{"port":7000}},'
        '"/app-lifecycle/app/poststartz":{"tcpSocket":{"port":93,"host":"localhost"}}}'
    )


def test_dump_does_not_modify_the_pod() -> None:
    pod = _pod(
        {
            "name": "a",
            "ports": [{"name": "http", "containerPort": 80}],
            "livenessProbe": {"httpGet": {"port": "http"}},
        }
    )
    before = copy.deepcopy(pod)
    dump_app_probers(pod, 15020)
    assert pod == before


# ---------------------------------------------------------------------------------------------------------
# patchRewriteProbe


def test_rewrite_grpc_probes_become_http_keeping_timing_fields() -> None:
    pod = _pod(
        {
            "name": "foo",
            "livenessProbe": {"grpc": {"port": 1234, "service": "foo"}},
            "readinessProbe": {"grpc": {"port": 1235}, "timeoutSeconds": 10},
        },
        {"name": "bar", "startupProbe": {"grpc": {"port": 1236}, "timeoutSeconds": 20, "periodSeconds": 10}},
    )
    rewrite_probes(pod, {}, 15020)
    foo, bar = pod["spec"]["containers"]
    assert foo["livenessProbe"] == {"httpGet": {"path": "/app-health/foo/livez", "port": 15020}}
    assert foo["readinessProbe"] == {
        "timeoutSeconds": 10,
        "httpGet": {"path": "/app-health/foo/readyz", "port": 15020},
    }
    assert bar["startupProbe"] == {
        "timeoutSeconds": 20,
        "periodSeconds": 10,
        "httpGet": {"path": "/app-health/bar/startupz", "port": 15020},
    }


def test_rewrite_http_probe_keeps_host_and_headers_and_downgrades_https() -> None:
    probe = {
        "httpGet": {
            "path": "/ready",
            "port": 8443,
            "scheme": "HTTPS",
            "host": "h",
            "httpHeaders": [{"name": "A"}],
        }
    }
    pod = _pod({"name": "a", "readinessProbe": probe})
    rewrite_probes(pod, None, 15020)
    assert pod["spec"]["containers"][0]["readinessProbe"] == {
        "httpGet": {
            "path": "/app-health/a/readyz",
            "port": 15020,
            "scheme": "HTTP",
            "host": "h",
            "httpHeaders": [{"name": "A"}],
        }
    }
    assert probe["httpGet"]["port"] == 8443  # the original object is not shared with the result


def test_rewrite_tcp_probe_and_hooks_but_not_exec() -> None:
    pod = _pod(
        {
            "name": "a",
            "livenessProbe": {"tcpSocket": {"port": 80, "host": "x"}, "initialDelaySeconds": 3},
            "readinessProbe": {"exec": {"command": ["true"]}},
            "lifecycle": {"preStop": {"tcpSocket": {"port": 91}}, "postStart": {"exec": {"command": ["x"]}}},
        }
    )
    rewrite_probes(pod, {}, 15020)
    c = pod["spec"]["containers"][0]
    assert c["livenessProbe"] == {
        "initialDelaySeconds": 3,
        "httpGet": {"path": "/app-health/a/livez", "port": 15020},
    }
    assert c["readinessProbe"] == {"exec": {"command": ["true"]}}
    assert c["lifecycle"] == {
        "preStop": {"httpGet": {"path": "/app-lifecycle/a/prestopz", "port": 15020}},
        "postStart": {"exec": {"command": ["x"]}},
    }


def test_rewrite_uses_status_port_annotation_and_skips_proxy() -> None:
    proxy = {"name": "istio-proxy", "readinessProbe": {"httpGet": {"port": 15021, "path": "/healthz/ready"}}}
    pod = _pod({"name": "a", "livenessProbe": {"httpGet": {"port": 80}}}, init=(copy.deepcopy(proxy),))
    rewrite_probes(pod, {"status.sidecar.istio.io/port": "123"}, 15020)
    assert pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] == 123
    assert pod["spec"]["initContainers"][0] == proxy


def test_rewrite_with_unparsable_status_port_annotation_uses_port_zero() -> None:
    # strconv.Atoi fails and Istio keeps its zero result (validation normally rejects such a pod first).
    pod = _pod({"name": "a", "livenessProbe": {"httpGet": {"port": 80}}})
    rewrite_probes(pod, {"status.sidecar.istio.io/port": " 15021"}, 15020)
    assert pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] == 0


# ---------------------------------------------------------------------------------------------------------
# mergeOrAppendProbers


def test_merge_appends_when_not_previously_injected() -> None:
    env = [{"name": ENV, "value": '{"a":{"httpGet":{"port":1}}}'}]
    assert merge_or_append_probers(False, env, "NEW") == [*env, {"name": ENV, "value": "NEW"}]


def test_merge_appends_when_no_existing_variable() -> None:
    env = [{"name": "OTHER", "value": "x"}]
    assert merge_or_append_probers(True, env, "NEW") == [*env, {"name": ENV, "value": "NEW"}]


def test_merge_existing_entries_win_and_output_is_go_normalised() -> None:
    existing = '{"/app-health/x/livez":{"HTTPGET":{"PORT":80,"junk":1},"TimeoutSeconds":2,"extra":[1]},"/z":null}'
    new = '{"/app-health/x/livez":{"tcpSocket":{"port":9}},"/app-health/y/readyz":{"httpGet":{"port":8}}}'
    env: list[dict[str, Any]] = [
        {"name": "A", "value": "1"},
        {"name": ENV, "valueFrom": {"fieldRef": {}}, "value": existing},
    ]
    out = merge_or_append_probers(True, env, new)
    assert out[0] == {"name": "A", "value": "1"}
    assert out[1] == {
        "name": ENV,
        "value": '{"/app-health/x/livez":{"httpGet":{"port":80},"timeoutSeconds":2},'
        '"/app-health/y/readyz":{"httpGet":{"port":8}},"/z":null}',
    }


@pytest.mark.parametrize(
    "existing",
    ["not json", "", '{"x":{"httpGet":{"port":1.5}}}', '{"x":{"timeoutSeconds":"3"}}', "[]"],
)
def test_merge_leaves_env_alone_when_existing_value_does_not_decode(existing: str) -> None:
    env = [{"name": ENV, "value": existing}]
    assert merge_or_append_probers(True, env, '{"y":{"httpGet":{"port":8}}}') == env


def test_merge_decodes_repeated_keys_like_go() -> None:
    # A repeated map key keeps its last value; a repeated struct field decodes into the same action.
    existing = (
        '{"k":{"httpGet":{"port":80}},"k":{"tcpSocket":{"port":81}},'
        '"m":{"httpGet":{"port":80},"httpGet":{"path":"/p"}}}'
    )
    out = merge_or_append_probers(True, [{"name": ENV, "value": existing}], "{}")
    assert out[0]["value"] == '{"k":{"tcpSocket":{"port":81}},"m":{"httpGet":{"path":"/p","port":80}}}'


# ---------------------------------------------------------------------------------------------------------
# applyRewrite


def test_apply_rewrite_needs_a_sidecar() -> None:
    pod = _pod({"name": "a", "livenessProbe": {"httpGet": {"port": 80}}})
    before = copy.deepcopy(pod)
    apply_rewrite(pod, True, 15020)
    assert pod == before


def test_apply_rewrite_prefers_sidecar_in_containers_over_init_containers() -> None:
    pod = _pod(
        {"name": "a", "livenessProbe": {"httpGet": {"port": 80}}},
        {"name": "istio-proxy"},
        init=({"name": "istio-proxy"},),
    )
    apply_rewrite(pod, True, 15020)
    assert pod["spec"]["containers"][1]["env"] == [
        {"name": ENV, "value": '{"/app-health/a/livez":{"httpGet":{"port":80}}}'}
    ]
    assert "env" not in pod["spec"]["initContainers"][0]


def test_apply_rewrite_disabled_by_annotation() -> None:
    pod = _pod({"name": "a", "livenessProbe": {"httpGet": {"port": 80}}}, {"name": "istio-proxy"})
    pod["metadata"]["annotations"] = {ANNOTATION: "false"}
    before = copy.deepcopy(pod)
    apply_rewrite(pod, True, 15020)
    assert pod == before
