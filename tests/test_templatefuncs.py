"""Tests of Istio's injection template functions (meshinject.inject.templatefuncs).

Expected values follow Istio's functions (istio/istio ``pkg/kube/inject/template.go``) and Go's library
behaviour they rely on (``fmt.Sprint``, ``encoding/json``, ``strings``, ``path``); the ``protoToJSON`` and
``appendMultusNetwork`` outputs marked "golden" are the values Istio's own injection goldens contain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshinject.gotemplate import ExecError, Template
from meshinject.gotemplate.datamodel import TypedMap
from meshinject.inject import model
from meshinject.inject import templatefuncs as tf

SHARED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "istio"

OTEL_MESH: dict[str, Any] = {
    "extensionProviders": [
        {"name": "prometheus", "prometheus": {}},
        {
            "name": "otel",
            "opentelemetry": {
                "service": "otel.ns",
                "port": 4317,
                "serviceAttributeEnrichment": "OTEL_SEMANTIC_CONVENTIONS",
            },
        },
    ]
}


def _render(template: str, **data: Any) -> str:
    return Template("inject", funcs=tf.MESH_FUNCS).parse(template).execute(model.sidecar_template_data(**data))


# -- isset / annotation / valueOrDefault ---------------------------------------------------------------------


def test_isset_is_true_for_a_present_key_even_when_empty() -> None:
    assert tf.isset({"a": ""}, "a") is True
    assert tf.isset({"a": ""}, "b") is False
    assert tf.isset(TypedMap((), "map[string]string", "", is_nil=True), "a") is False
    assert tf.isset(None, "a") is False


def test_annotation_prefers_the_pod_annotation() -> None:
    meta = model.OBJECT_META.new({"annotations": {"sidecar.istio.io/interceptionMode": "TPROXY"}})
    assert tf.annotation(meta, "sidecar.istio.io/interceptionMode", "REDIRECT") == "TPROXY"


@pytest.mark.parametrize(
    ("default", "expected"),
    [(15020.0, "15020"), (True, "true"), (None, "<nil>"), ("*", "*"), (0.5, "0.5")],
)
def test_annotation_prints_the_default_with_fmt_sprint(default: Any, expected: str) -> None:
    assert tf.annotation(model.OBJECT_META.new({}), "missing", default) == expected


def test_annotation_default_enum_prints_its_name_in_a_template() -> None:
    out = _render(
        '{{ annotation .ObjectMeta "sidecar.istio.io/interceptionMode" .ProxyConfig.InterceptionMode }}',
        proxy_config={"interceptionMode": "TPROXY"},
    )
    assert out == "TPROXY"


def test_annotation_default_from_a_missing_value_prints_nil() -> None:
    out = _render(
        '{{ annotation .ObjectMeta "sidecar.istio.io/capNetBindService" .Values.global.proxy.capNetBindService }}',
        values={"global": {"proxy": {}}},
    )
    assert out == "<nil>"


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [("", "d", "d"), (None, "d", "d"), ("x", "d", "x"), (0, "d", 0), (False, "d", False), ({}, "d", {})],
)
def test_value_or_default_only_replaces_nil_and_empty_string(value: Any, default: Any, expected: Any) -> None:
    assert tf.value_or_default(value, default) == expected


# -- ports ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("port", "excluded", "expected"),
    [
        (15020.0, "", "15020"),
        ("15020", "15020", "15020"),
        (15020, "1, 2", "1,2,15020"),
        ("0", "4,5", "4,5"),
        ("", "4,5", "4,5"),
        (" 15021 ", "", "15021"),
        # Istio compares each entry before trimming it, so a padded duplicate is added again.
        (15020, " 15020,3", "15020,3,15020"),
        (15020, "3,,4", "3,4,15020"),
    ],
)
def test_exclude_inbound_port(port: Any, excluded: str, expected: str) -> None:
    assert tf.exclude_inbound_port(port, excluded) == expected


CONTAINERS: list[dict[str, Any]] = [
    {
        "name": "app",
        "ports": [
            {"containerPort": 80},
            {"containerPort": 53, "protocol": "UDP"},
            {"containerPort": 90, "protocol": "TCP"},
            {"containerPort": 91, "protocol": "SCTP"},
        ],
    },
    {"name": "istio-proxy", "ports": [{"containerPort": 15090}]},
    {"name": "sidecar"},
]


def test_include_inbound_ports_lists_tcp_ports_of_every_container() -> None:
    spec = model.POD_SPEC.new({"containers": CONTAINERS})
    assert tf.include_inbound_ports(spec.go_field("Containers")) == "80,90,15090"
    assert tf.include_inbound_ports(CONTAINERS) == "80,90,15090"


def test_application_ports_skip_the_proxy() -> None:
    assert tf.application_ports(CONTAINERS) == "80,90"
    assert tf.application_ports([]) == ""


def test_struct_to_json_writes_a_container_port_in_go_field_order() -> None:
    out = _render(
        "{{ range .Spec.Containers }}{{ range .Ports }}{{ structToJSON . }};{{ end }}{{ end }}",
        spec={"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]},
    )
    assert out == '{"name":"http","containerPort":80};'


def test_struct_to_json_of_nil_is_empty_object() -> None:
    assert tf.struct_to_json(None) == "{}"


def test_interface_functions_return_their_argument() -> None:
    assert tf.kubevirt_interfaces("net1,net2") == "net1,net2"
    assert tf.exclude_interfaces("eth1") == "eth1"


# -- JSON / YAML ---------------------------------------------------------------------------------------------


def test_to_json_sorts_keys_and_escapes_html() -> None:
    assert tf.to_json({"b": "<x>", "a": "é"}) == '{"a":"é","b":"\\u003cx\\u003e"}'
    assert tf.to_json(None) == "{}"
    assert tf.to_json(TypedMap((), "map[string]string", "", is_nil=True)) == "{}"


def test_from_json_decodes_numbers_as_float64() -> None:
    assert tf.from_json('{"a": 1, "b": [true, null]}') == {"a": 1.0, "b": [True, None]}


def test_from_json_returns_the_string_braces_on_error() -> None:
    assert tf.from_json("{not json") == "{}"


def test_to_yaml_keeps_the_trailing_newline() -> None:
    assert tf.to_yaml({"limits": {"cpu": "2", "memory": 1.0}}) == 'limits:\n  cpu: "2"\n  memory: 1\n'
    assert tf.to_yaml(None) == "null\n"


def test_indent_pads_every_line_but_the_first() -> None:
    assert tf.indent(4, "a\nb\n") == "a\n    b\n    "
    assert tf.indent(0, "a\nb") == "a\nb"
    # The width is a fmt width: a negative one pads as much, left-justified.
    assert tf.indent(-2, "a\nb") == "a\n  b"


def test_to_yaml_and_indent_in_a_template() -> None:
    out = _render(
        "x:\n  {{ toYaml .Values.r | indent 2 }}",
        values={"r": {"requests": {"cpu": "100m"}}},
    )
    assert out == "x:\n  requests:\n    cpu: 100m\n  "


# -- protoToJSON ---------------------------------------------------------------------------------------------


def _bundle_proxy_config() -> dict[str, Any]:
    path = SHARED / "bundles" / "default" / "mesh.yaml"
    if not path.exists():
        pytest.skip("shared conformance data not available")
    mesh = yaml.safe_load(path.read_text())
    return dict(mesh["defaultConfig"])


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # golden: the PROXY_CONFIG values of Istio's injection test outputs
        ({}, "{}"),
        ({"interceptionMode": "TPROXY"}, '{"interceptionMode":"TPROXY"}'),
        ({"drainDuration": "23s"}, '{"drainDuration":"23s"}'),
        ({"tracing": {}}, '{"tracing":{}}'),
        ({"holdApplicationUntilProxyStarts": True}, '{"holdApplicationUntilProxyStarts":true}'),
        ({"holdApplicationUntilProxyStarts": False}, '{"holdApplicationUntilProxyStarts":false}'),
        (
            {
                "discoveryAddress": "foo:123",
                "concurrency": 0,
                "proxyMetadata": {
                    "ISTIO_META_TLS_CLIENT_KEY": "/etc/identity2/client/keys/client-key.pem",
                    "FOO": "bar",
                },
            },
            '{"discoveryAddress":"foo:123","concurrency":0,"proxyMetadata":{"FOO":"bar",'
            '"ISTIO_META_TLS_CLIENT_KEY":"/etc/identity2/client/keys/client-key.pem"}}',
        ),
        # not golden: fields outside Istio's list are kept even when equal to a default
        ({"serviceCluster": "other", "meshId": "m"}, '{"serviceCluster":"other","meshId":"m"}'),
        ({"tracingServiceName": "CANONICAL_NAME_ONLY"}, '{"tracingServiceName":"CANONICAL_NAME_ONLY"}'),
        ({"proxyMetadata": {}}, "{}"),
    ],
)
def test_proto_to_json_drops_proxy_config_defaults(changes: dict[str, Any], expected: str) -> None:
    pc = _bundle_proxy_config()
    if "tracingServiceName" in changes:
        del pc["serviceCluster"]
    pc.update(changes)
    assert tf.proto_to_json(model.PROXY_CONFIG.new(pc)) == expected


def test_proto_to_json_keeps_every_field_of_other_messages() -> None:
    msg = model.MESH_CONFIG.new({"defaultConfig": {"configPath": "./etc/istio/proxy"}, "trustDomain": "td"})
    # declaration order: defaultConfig comes before trustDomain in MeshConfig
    assert tf.proto_to_json(msg) == '{"defaultConfig":{"configPath":"./etc/istio/proxy"},"trustDomain":"td"}'


def test_proto_to_json_of_nil_is_empty_object() -> None:
    assert tf.proto_to_json(model.PROXY_CONFIG.new(None)) == "{}"
    assert tf.proto_to_json(None) == "{}"


def test_proto_to_json_in_a_template() -> None:
    out = _render("{{ protoToJSON .ProxyConfig }}", proxy_config={"statusPort": 15020, "statNameLength": 100})
    assert out == '{"statNameLength":100}'


# -- strings and paths ---------------------------------------------------------------------------------------


def test_directory_keeps_the_trailing_slash() -> None:
    assert tf.directory("/etc/certs/ca.pem") == "/etc/certs/"
    assert tf.directory("ca.pem") == ""


def test_contains_takes_the_needle_first() -> None:
    assert tf.flipped_contains("/", "docker.io/proxyv2") is True
    assert tf.flipped_contains("/", "proxyv2") is False


def test_to_lower_maps_runes_like_go() -> None:
    assert tf.to_lower("Deployment") == "deployment"
    assert tf.to_lower("İSTANBUL ÀÉ ǅ") == "istanbul àé ǆ"


# -- Multus --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "network", "expected"),
    [
        ("", "default/istio-cni", "default/istio-cni"),
        # golden: hello-existing-cncf-networks
        ("alt_cni", "default/istio-cni", "alt_cni, default/istio-cni"),
        ("alt_cni, default/istio-cni", "default/istio-cni", "alt_cni, default/istio-cni"),
        (
            '[{"name": "alt_cni"}]',
            "default/istio-cni",
            '[{"name": "alt_cni"}, {"name": "istio-cni", "namespace": "default"}]',
        ),
        ('[{"name": "alt_cni"}]', "istio-cni", '[{"name": "alt_cni"}, {"name": "istio-cni"}]'),
        (
            '[{"name": "istio-cni", "namespace": "default"}]',
            "default/istio-cni",
            '[{"name": "istio-cni", "namespace": "default"}]',
        ),
        ('[{"name": "istio-cni"}]', "istio-cni", '[{"name": "istio-cni"}]'),
        (
            '[{"name": "istio-cni"}]',
            "default/istio-cni",
            '[{"name": "istio-cni"}, {"name": "istio-cni", "namespace": "default"}]',
        ),
        ("[not json]", "default/istio-cni", "[not json]"),
        ("[1]", "default/istio-cni", "[1]"),
        ('{"a": [1]}', "default/istio-cni", '{"a": [1]}'),
        ('[{"name": "a", "namespace": 1}]', "a", '[{"name": "a", "namespace": 1}, {"name": "a"}]'),
        ("[null]", "istio-cni", '[null, {"name": "istio-cni"}]'),
    ],
)
def test_append_multus_network(existing: str, network: str, expected: str) -> None:
    assert tf.append_multus_network(existing, network) == expected


# -- env, maps -----------------------------------------------------------------------------------------------


def test_env_falls_back_when_unset_or_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHINJECT_TEST_SET", "v")
    monkeypatch.setenv("MESHINJECT_TEST_EMPTY", "")
    monkeypatch.delenv("MESHINJECT_TEST_UNSET", raising=False)
    assert tf.env("MESHINJECT_TEST_SET", "d") == "v"
    assert tf.env("MESHINJECT_TEST_EMPTY", "d") == "d"
    assert tf.env("MESHINJECT_TEST_UNSET", "d") == "d"


def test_omit_copies_without_the_keys() -> None:
    src = {"a": "1", "b": "2", "c": "3"}
    assert tf.omit(src, "a", "c") == {"b": "2"}
    assert src == {"a": "1", "b": "2", "c": "3"}


def test_strdict_pairs_strings_and_pads_an_odd_key() -> None:
    d = tf.strdict("a", "1", "b")
    assert d == {"a": "1", "b": ""}
    assert d.go_type == "map[string]string"


def test_merge_maps_later_wins_and_none_is_nil() -> None:
    assert tf.merge_maps({"a": "1", "b": "1"}, {"a": "2"}) == {"a": "2", "b": "1"}
    assert tf.merge_maps().is_nil


def test_to_json_map_merges_then_marshals() -> None:
    assert tf.to_json_map({"b": "1"}, {"a": "2", "b": "3"}) == '{"a":"2","b":"3"}'
    assert tf.to_json_map() == "null"


def test_omit_nil_drops_nils_and_what_becomes_empty() -> None:
    resources = {"limits": {"cpu": None, "memory": "1Gi"}, "requests": {"cpu": None}}
    assert tf.omit_nil(resources) == {"limits": {"memory": "1Gi"}}
    assert tf.omit_nil([None, 1, {"a": None}, 2]) == [1, 2]
    assert tf.omit_nil({"a": None}) is None
    assert tf.omit_nil(None) is None


def test_omit_nil_returns_the_same_value_when_nothing_is_nil() -> None:
    value = {"limits": {"cpu": "2"}, "empty": {}}
    assert tf.omit_nil(value) is value


def test_omit_nil_keeps_empty_maps_that_had_no_nils() -> None:
    assert tf.omit_nil({"a": None, "b": {}}) == {"b": {}}


def test_omit_nil_in_a_template() -> None:
    out = _render(
        "{{ toYaml (omitNil .Values.r) }}",
        values={"r": {"limits": {"cpu": None, "memory": "1Gi"}, "requests": {"cpu": "100m"}}},
    )
    assert out == "limits:\n  memory: 1Gi\nrequests:\n  cpu: 100m\n"


# -- OpenTelemetry -------------------------------------------------------------------------------------------


def test_otel_attributes_are_empty_without_a_semconv_provider() -> None:
    mesh = model.MESH_CONFIG.new({"extensionProviders": [{"name": "o", "opentelemetry": {"service": "s"}}]})
    assert tf.otel_resource_attributes(mesh, {}, {}, "ns", []) == ""
    assert tf.otel_resource_attributes(model.MESH_CONFIG.new(None), {}, {}, "ns", []) == ""


@pytest.mark.parametrize(
    ("annotations", "labels", "namespace", "images", "expected"),
    [
        (
            {},
            {},
            "ns",
            ["nginx:1.21@sha256:abc"],
            "service.namespace=ns,service.version=1.21@sha256:abc,service.instance.id=ns.$(POD_NAME).c0",
        ),
        (
            {},
            {},
            "ns",
            ["nginx@sha256:abc"],
            "service.namespace=ns,service.version=sha256:abc,service.instance.id=ns.$(POD_NAME).c0",
        ),
        ({}, {}, "ns", ["registry:5000/nginx"], "service.namespace=ns,service.instance.id=ns.$(POD_NAME).c0"),
        ({}, {}, "", ["registry:5000/nginx:2"], "service.version=2,service.instance.id=.$(POD_NAME).c0"),
        (
            {},
            {"app.kubernetes.io/version": "v3"},
            "ns",
            ["a:1", "b:2"],
            "service.namespace=ns,service.version=v3,service.instance.id=ns.$(POD_NAME).c0",
        ),
        ({}, {}, "ns", ["a:1", "b:2"], "service.namespace=ns,service.instance.id=ns.$(POD_NAME).c0"),
        ({}, {}, "ns", [], "service.namespace=ns"),
        (
            {
                "resource.opentelemetry.io/service.namespace": "n2",
                "resource.opentelemetry.io/service.version": "v9",
                "resource.opentelemetry.io/service.instance.id": "i1",
            },
            {"app.kubernetes.io/version": "v3"},
            "ns",
            ["a:1"],
            "service.namespace=n2,service.version=v9,service.instance.id=i1",
        ),
        (
            {"resource.opentelemetry.io/service.namespace": ""},
            {},
            "ns",
            [],
            "service.namespace=ns",
        ),
    ],
)
def test_otel_attributes_follow_the_semantic_conventions(
    annotations: dict[str, str], labels: dict[str, str], namespace: str, images: list[str], expected: str
) -> None:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    mesh = model.MESH_CONFIG.new(OTEL_MESH)
    assert tf.otel_resource_attributes(mesh, annotations, labels, namespace, containers) == expected


def test_otel_attributes_in_a_template() -> None:
    out = _render(
        "{{ otelResourceAttributes .MeshConfig .ObjectMeta.Annotations .ObjectMeta.Labels "
        ".DeploymentMeta.Namespace .Spec.Containers }}",
        mesh_config=OTEL_MESH,
        deploy_meta=("prod", "hello"),
        spec={"containers": [{"name": "hello", "image": "docker.io/hello:1.0"}]},
    )
    assert out == "service.namespace=prod,service.version=1.0,service.instance.id=prod.$(POD_NAME).hello"


# -- durations, the func map ---------------------------------------------------------------------------------


def test_format_duration_prints_go_durations() -> None:
    pc = model.PROXY_CONFIG.new({"drainDuration": "90.5s"})
    assert tf.format_duration(pc.go_field("DrainDuration")) == "1m30.5s"
    assert tf.format_duration(pc.go_field("TerminationDrainDuration")) == "0s"
    assert tf.format_duration(None) == "0s"


def test_format_duration_rejects_other_types() -> None:
    with pytest.raises(ExecError, match="formatDuration"):
        _render("{{ formatDuration .ProxyConfig }}", proxy_config={})


def test_injection_funcs_overlay_sprig_with_istio_functions() -> None:
    try:
        funcs = tf.injection_funcs()
    except ImportError:
        pytest.skip("Sprig functions not available yet")
    for name, fn in tf.MESH_FUNCS.items():
        assert funcs[name] is fn
    assert "default" in funcs and "quote" in funcs and "trunc" in funcs


# -- the default bundle's sidecar template -------------------------------------------------------------------


def _container(pod: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in pod["spec"][section] if c["name"] == name)
    return found


def test_default_sidecar_template_renders_what_the_golden_injects() -> None:
    """Render the default bundle's ``sidecar`` template for inputs/hello.yaml (kube-inject settings) and check
    it against expected/hello.yaml.injected, which is this output merged into the pod (quantities are
    canonicalised afterwards, so resources are not compared)."""
    bundle = SHARED / "bundles" / "default"
    if not bundle.exists():
        pytest.skip("shared conformance data not available")
    config = yaml.safe_load((bundle / "config.yaml").read_text())
    mesh = yaml.safe_load((bundle / "mesh.yaml").read_text())
    values = yaml.safe_load((bundle / "values.json").read_text())
    deployment = yaml.safe_load((SHARED / "inputs" / "hello.yaml").read_text())
    expected = next(yaml.safe_load_all((SHARED / "expected" / "hello.yaml.injected").read_text()))
    template = Template("inject", funcs=tf.injection_funcs()).parse(config["templates"]["sidecar"])
    data = model.sidecar_template_data(
        pod=deployment["spec"]["template"],
        type_meta={"kind": "Deployment", "apiVersion": "apps/v1"},
        deploy_meta={"namespace": "", "name": "hello"},
        proxy_config=mesh["defaultConfig"],
        mesh_config=mesh,
        values=values,
        native_sidecars=True,
    )
    rendered = yaml.safe_load(template.execute(data))
    want = expected["spec"]["template"]

    for key, value in rendered["metadata"]["labels"].items():
        assert want["metadata"]["labels"][key] == value
    for key, value in rendered["metadata"]["annotations"].items():
        assert want["metadata"]["annotations"][key] == value
    for name in ("istio-init", "istio-proxy"):
        got, exp = _container(rendered, "initContainers", name), _container(want, "initContainers", name)
        for probe in ("readinessProbe", "startupProbe"):
            # The typed round trip after the merge drops the omitempty zero.
            if got.get(probe, {}).get("initialDelaySeconds") == 0:
                del got[probe]["initialDelaySeconds"]
        for key in (
            "args",
            "env",
            "image",
            "ports",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
            "volumeMounts",
        ):
            if key in exp:
                assert got[key] == exp[key], (name, key)
        assert got["securityContext"] == exp["securityContext"]
    assert [v["name"] for v in rendered["spec"]["volumes"]] == [v["name"] for v in want["spec"]["volumes"]]
