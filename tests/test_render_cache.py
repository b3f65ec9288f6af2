"""The caches of the injection path: renders keyed by what a template reads, and prepared template output.

Replicas share a render, and anything a template reads keeps its own: each test counts real template
executions (a miss executes the template; a hit does not) and checks that what the cache returns is exactly
what a fresh render of the same input gives. The parsed output of a render is prepared once for merging; the
last tests check that merging it that way gives exactly the plain strategic merge followed by the typed decode.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshinject.gotemplate import Template
from meshinject.gotemplate.datamodel import GoStruct, ReadLog, ReadTree, traced
from meshinject.inject import injector, strategicmerge
from meshinject.inject.admission import review
from meshinject.inject.config import InjectorConfig, builtin_config, load_config_text, load_directory
from meshinject.inject.injector import InjectionParams, inject_pod
from meshinject.inject.model import sidecar_template_data
from meshinject.inject.templatefuncs import injection_funcs

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = SHARED / "fixtures" / "admission-review"
BUNDLE = SHARED / "conformance" / "istio" / "bundles" / "default"


class Renders:
    """Counts template executions; each test starts with an empty cache."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[Renders]:
    counter = Renders()
    real = injector._execute

    def counting(name: str, template: Template, data: Any) -> str:
        counter.count += 1
        return real(name, template, data)

    monkeypatch.setattr(injector, "_renders", injector._Renders())
    monkeypatch.setattr(injector, "_execute", counting)
    yield counter


def config_with(template: str, values: str = "{}") -> InjectorConfig:
    text = "templates:\n  sidecar: |\n" + "".join(f"    {line}\n" for line in template.splitlines())
    return load_config_text(text, values, "defaultConfig: {statusPort: 15020}", source="test")


def replica(suffix: str) -> dict[str, Any]:
    """A pod as the ReplicaSet controller creates it: only the generated names differ between replicas."""
    token = f"kube-api-access-{suffix}"
    return {
        "metadata": {"generateName": "web-7cff665ddd-", "labels": {"app": "web", "pod-template-hash": "7cff665ddd"}},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.invalid/app:1",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "volumeMounts": [{"name": token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                }
            ],
            "volumes": [{"name": token, "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}],
        },
    }


def inject(config: InjectorConfig, pod: dict[str, Any]) -> dict[str, Any]:
    params = InjectionParams(
        pod=copy.deepcopy(pod),
        config=config,
        revision="",
        proxy_config={},
        mesh=config.mesh,
        type_meta={"kind": "Deployment", "apiVersion": "apps/v1"},
        deploy_meta={"name": "web", "namespace": "ns"},
    )
    return inject_pod(params).pod


def annotation(pod: dict[str, Any], key: str = "seen") -> Any:
    return pod["metadata"]["annotations"][key]


# -- what a template reads decides what shares a render -------------------------------------------------------

CONTAINER_NAMES = (
    "metadata:\n  annotations:\n"
    '    seen: "{{ range $i, $c := .Spec.Containers }}{{ if $i }},{{ end }}{{ $c.Name }}{{ end }}"'
)


def test_replicas_that_differ_only_in_unread_fields_share_one_render(renders: Renders) -> None:
    config = config_with(CONTAINER_NAMES)
    first = inject(config, replica("g57bz"))
    second = inject(config, replica("jw8vj"))
    assert renders.count == 1
    assert annotation(first) == annotation(second) == "app"
    # The unread fields still come from each pod: the cache holds the template's output, not the pod.
    assert second["spec"]["volumes"][0]["name"] == "kube-api-access-jw8vj"


def test_a_change_in_a_field_the_template_reads_renders_again(renders: Renders) -> None:
    config = config_with(CONTAINER_NAMES)
    pod = replica("g57bz")
    renamed = replica("g57bz")
    renamed["spec"]["containers"][0]["name"] = "server"
    assert annotation(inject(config, pod)) == "app"
    assert annotation(inject(config, renamed)) == "server"
    assert annotation(inject(config, pod)) == "app"
    assert renders.count == 2


def test_a_container_more_renders_again_even_when_names_are_read_one_by_one(renders: Renders) -> None:
    config = config_with(CONTAINER_NAMES)
    pod = replica("a")
    two = replica("a")
    two["spec"]["containers"].append({"name": "helper", "image": "h"})
    assert annotation(inject(config, pod)) == "app"
    assert annotation(inject(config, two)) == "app,helper"
    assert renders.count == 2


def test_a_template_that_serialises_the_whole_spec_renders_again_on_any_change(renders: Renders) -> None:
    config = config_with("metadata:\n  annotations:\n    seen: {{ structToJSON .Spec | quote }}")
    first = inject(config, replica("g57bz"))
    second = inject(config, replica("jw8vj"))
    assert renders.count == 2
    assert "kube-api-access-g57bz" in annotation(first)
    assert "kube-api-access-jw8vj" in annotation(second)
    inject(config, replica("jw8vj"))
    assert renders.count == 2


def test_printing_a_struct_reads_all_of_it(renders: Renders) -> None:
    config = config_with('metadata:\n  annotations:\n    seen: "{{ printf "%v" (index .Spec.Containers 0) }}"')
    first = inject(config, replica("g57bz"))
    second = inject(config, replica("jw8vj"))
    assert renders.count == 2
    assert annotation(first) != annotation(second)


def test_serialising_one_element_reads_only_that_element(renders: Renders) -> None:
    config = config_with(
        "metadata:\n  annotations:\n"
        "    seen: '{{ range .Spec.Containers }}{{ range .Ports }}{{ structToJSON . }}{{ end }}{{ end }}'"
    )
    inject(config, replica("g57bz"))
    inject(config, replica("jw8vj"))
    assert renders.count == 1
    other_port = replica("g57bz")
    other_port["spec"]["containers"][0]["ports"][0]["containerPort"] = 9090
    assert '"containerPort":9090' in annotation(inject(config, other_port))
    assert renders.count == 2


def test_a_map_read_by_key_is_read_whole(renders: Renders) -> None:
    config = config_with('metadata:\n  annotations:\n    seen: "{{ index .ObjectMeta.Labels "app" }}"')
    pod = replica("a")
    relabelled = replica("a")
    relabelled["metadata"]["labels"]["tier"] = "front"
    assert annotation(inject(config, pod)) == "web"
    assert annotation(inject(config, relabelled)) == "web"
    assert renders.count == 2


def test_nil_and_empty_differ_where_the_template_can_tell(renders: Renders) -> None:
    config = config_with(
        'metadata:\n  annotations:\n    seen: "{{ if .Spec.SecurityContext }}set{{ else }}nil{{ end }}"'
    )
    pod = replica("a")
    with_context = replica("a")
    with_context["spec"]["securityContext"] = {}
    assert annotation(inject(config, pod)) == "nil"
    assert annotation(inject(config, with_context)) == "set"
    assert renders.count == 2


def test_a_serialised_proxy_config_is_read_whole(renders: Renders) -> None:
    config = config_with("metadata:\n  annotations:\n    seen: {{ protoToJSON .ProxyConfig | quote }}")

    def with_proxy_config(proxy_config: dict[str, Any]) -> dict[str, Any]:
        params = InjectionParams(
            pod=replica("a"),
            config=config,
            revision="",
            proxy_config=proxy_config,
            mesh=config.mesh,
            type_meta={"kind": "Deployment", "apiVersion": "apps/v1"},
            deploy_meta={"name": "web", "namespace": "ns"},
        )
        return inject_pod(params).pod

    first = annotation(with_proxy_config({"proxyMetadata": {"A": "1"}}))
    second = annotation(with_proxy_config({"proxyMetadata": {"A": "2"}}))
    assert renders.count == 2
    assert (first, second) == ('{"proxyMetadata":{"A":"1"}}', '{"proxyMetadata":{"A":"2"}}')
    assert annotation(with_proxy_config({"proxyMetadata": {"A": "1"}})) == first
    assert renders.count == 2


def test_values_and_configuration_changes_get_their_own_renders(renders: Renders) -> None:
    template = 'metadata:\n  annotations:\n    seen: "{{ .Values.global.hub }}"'
    first = config_with(template, '{"global": {"hub": "one"}}')
    second = config_with(template, '{"global": {"hub": "two"}}')
    assert annotation(inject(first, replica("a"))) == "one"
    assert annotation(inject(second, replica("a"))) == "two"
    assert annotation(inject(first, replica("b"))) == "one"
    assert renders.count == 2


def test_templates_with_random_functions_are_never_cached(renders: Renders) -> None:
    config = config_with("metadata:\n  annotations:\n    seen: {{ randAlphaNum 24 | quote }}")
    first = annotation(inject(config, replica("a")))
    second = annotation(inject(config, replica("a")))
    assert first != second
    assert renders.count == 2


def test_templates_that_change_maps_in_place_are_never_cached(renders: Renders) -> None:
    config = config_with(
        'metadata:\n  annotations:\n    seen: "{{ $m := dict "a" "1" }}{{ $_ := set $m "b" "2" }}{{ len $m }}"'
    )
    assert annotation(inject(config, replica("a"))) == "2"
    assert annotation(inject(config, replica("a"))) == "2"
    assert renders.count == 2


def test_a_template_that_fails_is_not_cached(renders: Renders) -> None:
    config = config_with('metadata:\n  annotations:\n    seen: "{{ index .Spec.Containers 3 }}"')
    for _ in range(2):
        with pytest.raises(injector.InjectionError, match="failed to render template"):
            inject(config, replica("a"))
    assert renders.count == 2


# -- real requests and Istio's own template --------------------------------------------------------------------


def load_review(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return data.get("body", data)  # type: ignore[no-any-return]


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not found")
@pytest.mark.parametrize("which", ["builtin", "istio-default-bundle"])
def test_the_second_real_replica_is_served_from_the_first_replicas_render(renders: Renders, which: str) -> None:
    if which == "builtin":
        config = builtin_config()
    else:
        if not BUNDLE.is_dir():
            pytest.skip("shared bundle not found")
        config = load_directory(BUNDLE)
    first = load_review(FIXTURES / "admissionreview-v1-pod-create-by-replicaset-controller.json")
    second = load_review(FIXTURES / "admissionreview-v1-pod-create-second-replica.json")
    # The two replicas really differ (generated service-account volume name), just not where templates look.
    assert first["request"]["object"]["spec"]["volumes"] != second["request"]["object"]["spec"]["volumes"]
    cached_first = review(first, config)
    cached_second = review(second, config)
    assert renders.count == 1
    injector._renders = injector._Renders()
    fresh_second = review(second, config)
    assert renders.count == 2
    assert cached_second.response == fresh_second.response
    assert cached_first.result == cached_second.result == "injected"


# -- the read log and tree themselves -------------------------------------------------------------------------


def template_data(pod: dict[str, Any]) -> GoStruct:
    return sidecar_template_data(
        pod=pod,
        type_meta={"kind": "Pod", "apiVersion": "v1"},
        deploy_meta={"name": "web", "namespace": "ns"},
        proxy_config={"proxyMetadata": {"A": "1"}},
        mesh_config={},
        values={"global": {"hub": "h", "tag": "1"}},
    )


def parse(text: str) -> Template:
    return Template("t", funcs=injection_funcs()).parse(text)


def test_the_read_log_names_each_read_once_in_order() -> None:
    template = parse(
        "{{ .ObjectMeta.GenerateName }}{{ .ObjectMeta.GenerateName }}"
        "{{ range .Spec.Containers }}{{ .Name }}{{ end }}{{ .Values.global.hub }}"
    )
    log = ReadLog(constant=("Values",))
    out = template.execute(traced(template_data(replica("a")), log))
    assert out == "web-7cff665ddd-web-7cff665ddd-apph"
    assert [(repr(path), how) for path, how, _ in log.reads] == [
        (".ObjectMeta", 0),
        (".ObjectMeta.generateName", 2),
        (".Spec", 0),
        (".Spec.containers", 1),
        (".Spec.containers[0].name", 2),
    ]


def test_a_value_that_is_not_plain_data_makes_the_render_uncacheable() -> None:
    template = parse("{{ .ObjectMeta.Labels }}")
    pod = replica("a")
    pod["metadata"]["labels"] = {"when": object()}
    log = ReadLog()
    template.execute(traced(template_data(pod), log))
    assert log.poisoned
    assert not ReadTree().insert(log, "anything")


def test_the_tree_answers_only_inputs_that_read_the_same() -> None:
    template = parse('{{ if eq (index .Spec.Containers 0).Name "app" }}{{ .ObjectMeta.GenerateName }}{{ end }}')
    tree = ReadTree()
    for pod in (replica("a"), replica("b")):
        data = template_data(pod)
        if tree.lookup(data.data) is None:
            log = ReadLog()
            tree.insert(log, template.execute(traced(data, log)))
    other = replica("a")
    other["spec"]["containers"][0]["name"] = "server"
    assert tree.lookup(template_data(replica("zzz")).data) == "web-7cff665ddd-"
    assert tree.lookup(template_data(other).data) is None


def test_the_tree_keeps_the_most_recently_used_renders() -> None:
    template = parse("{{ .ObjectMeta.GenerateName }}")
    tree = ReadTree(max_leaves=2)

    def data(name: str) -> GoStruct:
        pod = replica("x")
        pod["metadata"]["generateName"] = name
        return template_data(pod)

    def render(name: str) -> None:
        log = ReadLog()
        assert tree.insert(log, template.execute(traced(data(name), log)))

    render("a-")
    render("b-")
    assert tree.lookup(data("a-").data) == "a-"  # now the most recently used
    render("c-")
    assert len(tree) == 2
    assert tree.lookup(data("b-").data) is None
    assert tree.lookup(data("a-").data) == "a-"
    assert tree.lookup(data("c-").data) == "c-"


# -- a cached render is always the render the input would get --------------------------------------------------

ISTIO_LIKE = """\
metadata:
  annotations:
    names: "{{ range $i, $c := .Spec.Containers }}{{ if $i }},{{ end }}{{ $c.Name }}{{ end }}"
    ports: '[{{ range .Spec.Containers }}{{ range .Ports }}{{ structToJSON . }},{{ end }}{{ end }}]'
    inject: "{{ index .ObjectMeta.Annotations "sidecar.istio.io/inject" }}"
    mode: {{ annotation .ObjectMeta "sidecar.istio.io/interceptionMode" .ProxyConfig.InterceptionMode | quote }}
    context: "{{ if .Spec.SecurityContext }}{{ .Spec.SecurityContext.RunAsUser }}{{ end }}"
    account: "{{ .Spec.ServiceAccountName }}"
    meta: {{ toJSON .ProxyConfig.ProxyMetadata | quote }}
"""

pods = st.fixed_dictionaries(
    {
        "names": st.lists(st.sampled_from(["app", "web", "istio-proxy"]), min_size=0, max_size=3),
        "port": st.sampled_from([None, 80, 8080]),
        "volume": st.sampled_from(["g57bz", "jw8vj"]),
        "inject": st.sampled_from([None, "true", "false"]),
        "mode": st.sampled_from([None, "TPROXY"]),
        "context": st.sampled_from([None, {}, {"runAsUser": 1000}, {"runAsUser": 0}]),
        "account": st.sampled_from([None, "default", "web"]),
    }
)


def build(spec: dict[str, Any]) -> dict[str, Any]:
    pod = replica(spec["volume"])
    containers = []
    for name in spec["names"]:
        c: dict[str, Any] = {"name": name, "image": "i"}
        if spec["port"] is not None:
            c["ports"] = [{"containerPort": spec["port"], "protocol": "TCP"}]
        containers.append(c)
    pod["spec"]["containers"] = containers or [{"name": "only", "image": "i"}]
    annotations: dict[str, str] = {}
    if spec["inject"] is not None:
        annotations["sidecar.istio.io/inject"] = spec["inject"]
    if spec["mode"] is not None:
        annotations["sidecar.istio.io/interceptionMode"] = spec["mode"]
    if annotations:
        pod["metadata"]["annotations"] = annotations
    if spec["context"] is not None:
        pod["spec"]["securityContext"] = spec["context"]
    if spec["account"] is not None:
        pod["spec"]["serviceAccountName"] = spec["account"]
    return pod


_ISTIO_LIKE_TEMPLATE = parse(ISTIO_LIKE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(pods, min_size=1, max_size=16))
def test_whatever_the_cache_answers_equals_a_fresh_render(specs: list[dict[str, Any]]) -> None:
    tree = ReadTree()
    for spec in specs:
        data = template_data(build(spec))
        fresh = _ISTIO_LIKE_TEMPLATE.execute(template_data(build(spec)))
        cached = tree.lookup(data.data)
        if cached is None:
            log = ReadLog(constant=("Values",))
            rendered = _ISTIO_LIKE_TEMPLATE.execute(traced(data, log))
            assert rendered == fresh
            assert tree.insert(log, rendered)
        else:
            assert cached == fresh


# -- the parsed fragment cache: merging a prepared fragment is the plain merge typed afterwards ----------------

quantities = st.sampled_from(["100m", "0.1", "2000m", "1Gi", "1024Mi", " 1 ", 1, 0.5, 2.0, None, "bad", True])
resource_lists = st.none() | st.dictionaries(st.sampled_from(["cpu", "memory"]), quantities, max_size=2)
resources = st.none() | st.fixed_dictionaries({}, optional={"limits": resource_lists, "requests": resource_lists})
scalars = st.sampled_from([None, "x", "", 1, 0, True, 1.5])
containers = st.fixed_dictionaries(
    {"name": st.sampled_from(["app", "istio-proxy", "istio-init"])},
    optional={
        "image": scalars,
        "resources": resources,
        "env": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["A", "B"]), "value": scalars}), max_size=2),
        "$patch": st.sampled_from(["delete", "replace"]),
    },
)
metas = st.fixed_dictionaries(
    {},
    optional={
        "labels": st.none() | st.dictionaries(st.sampled_from(["a", "b"]), scalars, max_size=2),
        "annotations": st.none() | st.dictionaries(st.sampled_from(["a", "b"]), scalars, max_size=2),
        "creationTimestamp": st.none(),
    },
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "metadata": metas,
        "spec": st.fixed_dictionaries(
            {},
            optional={
                "containers": st.lists(containers, max_size=2),
                "initContainers": st.lists(containers, max_size=2),
                "resources": resources,
                "nodeSelector": st.none() | st.dictionaries(st.sampled_from(["k"]), scalars, max_size=1),
            },
        ),
    },
)


def outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except injector.InjectionError as err:
        return ("error", str(err))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pod=documents, fragment=documents)
def test_merging_a_prepared_fragment_equals_merging_and_then_typing(
    pod: dict[str, Any], fragment: dict[str, Any]
) -> None:
    original = copy.deepcopy(pod)
    prepared = injector._Fragment(copy.deepcopy(fragment))
    fast = outcome(lambda: injector._merge_fragment(pod, prepared, "t", owned_typed=False))
    slow = outcome(lambda: injector._merge(pod, fragment, "t"))
    assert fast == slow
    assert pod == original
    assert prepared.value == fragment
    if fast[0] == "ok":
        # The result is typed, so the next template may merge onto it without a typed copy.
        again = outcome(lambda: injector._merge_fragment(copy.deepcopy(fast[1]), prepared, "t", owned_typed=True))
        assert again == outcome(lambda: injector._merge(fast[1], fragment, "t"))


def test_a_pod_that_is_not_typed_yet_is_merged_and_typed_as_before() -> None:
    pod = {
        "metadata": {"labels": {"a": None}},
        "spec": {"containers": [{"name": "app", "resources": {"limits": {"cpu": 1}}}]},
    }
    prepared = injector._Fragment(
        {"spec": {"containers": [{"name": "istio-proxy", "resources": {"limits": {"cpu": "2000m"}}}]}}
    )
    merged = injector._merge_fragment(pod, prepared, "t", owned_typed=False)
    assert merged["metadata"]["labels"] == {"a": ""}
    assert [c["resources"]["limits"]["cpu"] for c in merged["spec"]["containers"]] == ["2", "1"]


def test_merging_never_changes_the_pod_even_with_containers_inside_labels() -> None:
    pod = {"metadata": {"labels": {"odd": {"x": "1"}}}, "spec": {"containers": [{"name": "app"}]}}
    original = copy.deepcopy(pod)
    prepared = injector._Fragment({"metadata": {"labels": {"odd": {"y": "2"}}}})
    merged = injector._merge_fragment(pod, prepared, "t", owned_typed=False)
    assert pod == original
    assert merged == injector._merge(pod, prepared.value, "t")


named_items = st.lists(
    st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "c", "d"])}, optional={"v": st.sampled_from([1, None])}),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(original=named_items, patch=named_items)
def test_the_shortcut_for_new_list_items_orders_them_as_kubernetes_does(
    original: list[dict[str, Any]], patch: list[dict[str, Any]]
) -> None:
    meta = strategicmerge.FieldMeta(strategicmerge.UNTYPED, "merge", "name")

    def general() -> list[Any]:
        base, items = strategicmerge._apply_list_directives(copy.deepcopy(original), patch, "name")
        merged = strategicmerge._merge_items(base, items, "name", meta.schema)
        in_patch, server_only = strategicmerge._partition(merged, items, "name")
        return strategicmerge._normalize_order(in_patch, server_only, items, base, "name")

    def attempt(fn: Any) -> Any:
        try:
            return ("ok", fn())
        except strategicmerge.StrategicMergeError as err:
            return ("error", str(err))

    expected = attempt(general) if original or patch else ("ok", [])
    assert attempt(lambda: strategicmerge._merge_list(copy.deepcopy(original), patch, meta, False)) == expected
