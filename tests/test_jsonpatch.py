"""JSON patches from original to modified pod (meshinject.inject.jsonpatch).

The oracle is the ``jsonpatch`` package (an independent RFC 6902 implementation): applying our operations
to the original must give exactly the modified document, JSON types included (``1``, ``1.0`` and ``true``
differ).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshinject.inject.jsonpatch import dumps_patch, json_diff, pod_patch


def _text(value: Any) -> str:
    # json.dumps keeps 1 / 1.0 / true and -0.0 / 0.0 apart; sort_keys ignores object key order.
    return json.dumps(value, sort_keys=True)


def _check(original: Any, modified: Any) -> list[dict[str, Any]]:
    before = _text(original), _text(modified)
    ops = json_diff(original, modified)
    assert (_text(original), _text(modified)) == before, "inputs must not change"
    patched = jsonpatch.apply_patch(copy.deepcopy(original), ops)
    assert _text(patched) == _text(modified)
    return ops


def test_object_changes_become_add_replace_remove() -> None:
    ops = _check({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 20, "d": 4})
    assert ops == [
        {"op": "remove", "path": "/c"},
        {"op": "replace", "path": "/b", "value": 20},
        {"op": "add", "path": "/d", "value": 4},
    ]


def test_keys_with_tilde_and_slash_are_escaped() -> None:
    ops = _check({"a/b": 1, "m~n": {"x": 1}, "": 0}, {"a/b": 2, "m~n": {"x": 2}, "": 1, "~/": 3})
    assert [op["path"] for op in ops] == ["/a~1b", "/m~0n/x", "/", "/~0~1"]


@pytest.mark.parametrize(
    ("old", "new"),
    [(1, True), (1, 1.0), (0, False), (0.0, -0.0), ("1", 1), (None, 0), ({}, []), ([1], {"0": 1})],
)
def test_values_that_python_finds_equal_or_of_another_type_are_replaced(old: Any, new: Any) -> None:
    ops = _check({"v": old}, {"v": new})
    assert ops == [{"op": "replace", "path": "/v", "value": new}]


def test_type_confusion_deep_inside_equal_looking_lists_is_found() -> None:
    env: list[dict[str, Any]] = [{"name": f"V{i}", "value": "x"} for i in range(200)]
    modified = copy.deepcopy(env)
    modified[150]["value"] = "x"
    modified[170]["flag"] = True
    original = copy.deepcopy(env)
    original[170]["flag"] = 1
    ops = _check({"env": original}, {"env": modified})
    assert ops == [{"op": "replace", "path": "/env/170/flag", "value": True}]


def test_root_of_another_type_is_replaced() -> None:
    assert _check({"a": 1}, [1]) == [{"op": "replace", "path": "", "value": [1]}]


def test_appending_to_a_list_is_one_add_per_element() -> None:
    ops = _check({"l": [1, 2, 3]}, {"l": [1, 2, 3, 4, 5]})
    assert ops == [{"op": "add", "path": "/l/3", "value": 4}, {"op": "add", "path": "/l/4", "value": 5}]


def test_removing_from_a_list_repeats_the_index() -> None:
    original = list(range(20))
    ops = _check({"l": original}, {"l": [0, *original[4:]]})
    assert ops == [{"op": "remove", "path": "/l/1"}] * 3


def test_insertion_in_the_middle_of_a_long_list_is_one_add() -> None:
    env = [{"name": f"V{i}", "value": str(i)} for i in range(3000)]
    modified = [*env[:1234], {"name": "NEW", "value": "n"}, *env[1234:]]
    assert _check(env, modified) == [{"op": "add", "path": "/1234", "value": {"name": "NEW", "value": "n"}}]


def test_named_elements_are_matched_by_name() -> None:
    # The proxy is placed first (holdApplicationUntilProxyStarts); the app keeps its identity and gets a
    # nested change instead of being rewritten into the proxy.
    env = [{"name": f"V{i}", "value": str(i)} for i in range(30)]
    app = {"name": "app", "image": "app:1", "env": env, "readinessProbe": {"httpGet": {"port": 8080}}}
    app2 = {**copy.deepcopy(app), "readinessProbe": {"httpGet": {"port": 15020}}}
    proxy = {"name": "istio-proxy", "image": "proxyv2"}
    ops = _check({"containers": [app]}, {"containers": [proxy, app2]})
    assert ops == [
        {"op": "add", "path": "/containers/0", "value": proxy},
        {"op": "replace", "path": "/containers/1/readinessProbe/httpGet/port", "value": 15020},
    ]


def test_unnamed_elements_changed_in_place_get_nested_operations() -> None:
    ops = _check({"l": [{"a": 1, "b": 2}, "x"]}, {"l": [{"a": 1, "b": 3}, "x"]})
    assert ops == [{"op": "replace", "path": "/l/0/b", "value": 3}]


def test_small_lists_with_many_changes_are_replaced_whole() -> None:
    # Two element operations would take more bytes than the two-element list itself.
    assert _check({"l": [1, 2, 3, 4, 5]}, {"l": [1, 5]}) == [{"op": "replace", "path": "/l", "value": [1, 5]}]


def test_a_reshuffled_list_is_replaced_whole() -> None:
    original = list(range(50))
    modified = list(reversed(original))
    assert _check({"l": original}, {"l": modified}) == [{"op": "replace", "path": "/l", "value": modified}]


def test_unencodable_values_still_diff_correctly() -> None:
    # Integers beyond 64 bits cannot be encoded by msgspec; equality then falls back to element by element.
    big = 2**70
    _check({"l": [big, 1, {"x": big}]}, {"l": [big, True, {"x": big}]})


def test_dumps_patch_is_compact_json() -> None:
    ops: list[dict[str, Any]] = [
        {"op": "add", "path": "/a~1b", "value": {"x": [1, True, None]}},
        {"op": "remove", "path": "/c"},
    ]
    assert dumps_patch(ops) == b'[{"op":"add","path":"/a~1b","value":{"x":[1,true,null]}},{"op":"remove","path":"/c"}]'


def _big_pod(env_count: int) -> tuple[dict[str, Any], dict[str, Any]]:
    env = [{"name": f"VAR_{i}", "value": f"value-{i}"} for i in range(env_count)]
    original: dict[str, Any] = {
        "metadata": {"name": "big", "labels": {"app": "big"}, "annotations": {"a": "1", "b": "2", "c": "3"}},
        "spec": {
            "containers": [{"name": "app", "image": "app:1", "env": env, "ports": [{"containerPort": 8080}]}],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
    }
    # The injected pod is a fresh object tree, as strategic merge returns it.
    modified = copy.deepcopy(original)
    modified["metadata"]["annotations"].update({"b": "changed", "sidecar.istio.io/status": '{"initContainers":[]}'})
    del modified["metadata"]["annotations"]["c"]
    modified["metadata"]["labels"]["security.istio.io/tlsMode"] = "istio"
    sidecar_env = [{"name": f"ISTIO_META_{i}", "value": f"v{i}"} for i in range(20)]
    modified["spec"]["containers"].append({"name": "istio-proxy", "image": "proxyv2", "env": sidecar_env})
    modified["spec"]["volumes"].insert(0, {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}})
    return original, modified


def test_sidecar_injection_patch_is_small() -> None:
    original, modified = _big_pod(2000)
    ops = pod_patch(original, modified)
    assert [(op["op"], op["path"]) for op in ops] == [
        ("add", "/metadata/labels/security.istio.io~1tlsMode"),
        ("remove", "/metadata/annotations/c"),
        ("replace", "/metadata/annotations/b"),
        ("add", "/metadata/annotations/sidecar.istio.io~1status"),
        ("add", "/spec/containers/1"),
        ("add", "/spec/volumes/0"),
    ]
    assert jsonpatch.apply_patch(original, msgspec.json.decode(dumps_patch(ops))) == modified


def test_patch_for_a_pod_with_2000_env_vars_is_a_handful_of_operations() -> None:
    # Speed is measured by bench/inject.py; here: the patch stays compact and correct for a huge env list.
    original, modified = _big_pod(2000)
    ops = pod_patch(original, modified)
    assert len(ops) < 20
    assert jsonpatch.apply_patch(original, msgspec.json.decode(dumps_patch(ops))) == modified


# --- properties ------------------------------------------------------------------------------------------

_keys = st.text(alphabet="ab~/0", max_size=3)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, -0.0, 1.0, 2.5])
    | st.text(alphabet="xy", max_size=2)
)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=40,
)


@settings(max_examples=250, derandomize=True)
@given(_json, _json)
def test_patch_between_unrelated_documents_is_exact(original: Any, modified: Any) -> None:
    _check(original, modified)


def _mutated(data: st.DataObject, value: Any, depth: int = 0) -> Any:
    """A modified copy of ``value``: edits in place, insertions, deletions, moves, type changes."""
    if depth > 4 or data.draw(st.integers(0, 9), label="keep") == 0:
        return copy.deepcopy(value)
    if data.draw(st.integers(0, 9), label="swap") == 0:
        return data.draw(_json, label="new")
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            action = data.draw(st.integers(0, 5), label="key action")
            if action == 0:
                continue
            out[key] = _mutated(data, item, depth + 1) if action == 1 else copy.deepcopy(item)
        for key in data.draw(st.lists(_keys, max_size=2), label="new keys"):
            out[key] = data.draw(_json, label="new value")
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            action = data.draw(st.integers(0, 7), label="item action")
            if action == 0:
                continue
            items.append(_mutated(data, item, depth + 1) if action == 1 else copy.deepcopy(item))
            if action == 2:
                items.append(data.draw(_json, label="inserted"))
        if items and data.draw(st.integers(0, 9), label="move") == 0:
            items.insert(data.draw(st.integers(0, len(items) - 1)), items.pop())
        return items
    return copy.deepcopy(value)


@settings(max_examples=250, derandomize=True)
@given(_json, st.data())
def test_patch_between_related_documents_is_exact(original: Any, data: st.DataObject) -> None:
    _check(original, _mutated(data, original))


_names = st.sampled_from(["app", "istio-proxy", "istio-init", "sidecar", "db"])
_env_vars = st.lists(
    st.builds(
        lambda name, value: {"name": name, "value": value},
        st.sampled_from([f"V{i}" for i in range(30)]),
        st.sampled_from(["1", "2", "true"]),
    ),
    max_size=40,
    unique_by=lambda e: e["name"],
)
_containers = st.lists(
    st.builds(
        lambda name, env, port: {
            "name": name,
            "image": f"{name}:1",
            "env": env,
            "ports": [{"containerPort": port}],
        },
        _names,
        _env_vars,
        st.sampled_from([80, 8080, 15090]),
    ),
    max_size=4,
    unique_by=lambda c: c["name"],
)
_pods = st.builds(
    lambda containers, init, annotations, volumes: {
        "metadata": {"name": "p", "annotations": annotations},
        "spec": {"containers": containers, "initContainers": init, "volumes": volumes},
    },
    _containers,
    _containers,
    st.dictionaries(
        st.sampled_from(["sidecar.istio.io/status", "a/b", "x~y", "prometheus.io/port"]), st.text(max_size=3)
    ),
    st.lists(
        st.builds(lambda n: {"name": n, "emptyDir": {}}, st.sampled_from(["data", "istio-envoy", "istio-data"])),
        unique_by=lambda v: v["name"],
        max_size=3,
    ),
)


@settings(max_examples=300, derandomize=True)
@given(_pods, _pods)
def test_patch_between_pods_is_exact(original: dict[str, Any], modified: dict[str, Any]) -> None:
    _check(original, modified)


@settings(max_examples=300, derandomize=True)
@given(_pods, st.data())
def test_patch_between_a_pod_and_its_edit_is_exact(original: dict[str, Any], data: st.DataObject) -> None:
    _check(original, _mutated(data, original))
