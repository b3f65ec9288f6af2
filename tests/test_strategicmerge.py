"""Strategic merge patch of Pods (meshinject.inject.strategicmerge).

Expected values follow apimachinery's ``StrategicMergePatch`` with the ``v1.Pod`` struct tags; each table case
was also run through apimachinery's own code (built from source against a Pod type carrying the same tags)
and matched.  The ordering rule behind most of them (``normalizeElementOrder``): the patch's items come out in
patch order; a server-only item is placed before the next patch item only when both are in the original list
and the server-only one came first there, so an item that is *new* is placed at once, ahead of the server-only
items that remain.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshinject.inject.strategicmerge import (
    POD_SCHEMA,
    FieldMeta,
    Schema,
    StrategicMergeError,
    merge_pod,
    strategic_merge,
)


def _containers(*names: str) -> list[dict[str, Any]]:
    return [{"name": name} for name in names]


def _pod(**spec: Any) -> dict[str, Any]:
    return {"spec": spec}


# (test id, original, patch, expected)
MERGE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "new_container_lands_before_existing_ones",
        # "c" is not in the original list, so the merge emits it before the server-only a and b.
        _pod(containers=_containers("a", "b")),
        _pod(containers=[{"name": "c", "image": "proxy"}]),
        _pod(containers=[{"name": "c", "image": "proxy"}, *_containers("a", "b")]),
    ),
    (
        "server_item_slots_before_later_patch_item",
        # a (original index 0) precedes patch item b (index 1); c (2) does not precede b, and d is new.
        _pod(containers=_containers("a", "b", "c")),
        _pod(containers=_containers("b", "d")),
        _pod(containers=_containers("a", "b", "d", "c")),
    ),
    (
        "patch_order_beats_original_order",
        # Both patch items exist; their relative order comes from the patch, a still slots before b.
        _pod(containers=_containers("a", "b", "c")),
        _pod(containers=_containers("c", "b")),
        _pod(containers=_containers("a", "c", "b")),
    ),
    (
        "container_fields_merge_and_lists_inside_merge_by_their_keys",
        _pod(
            containers=[
                {
                    "name": "app",
                    "image": "app:1",
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "volumeMounts": [{"mountPath": "/data", "name": "data"}],
                    "args": ["--one", "--two"],
                }
            ]
        ),
        _pod(
            containers=[
                {
                    "name": "app",
                    "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                    "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 15090}],
                    "volumeMounts": [{"mountPath": "/etc/istio", "name": "istio"}],
                    "args": ["--three"],
                }
            ]
        ),
        _pod(
            containers=[
                {
                    "name": "app",
                    "image": "app:1",
                    # env by name: A is server-only and precedes B; C is new and follows B.
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "B", "value": "3"},
                        {"name": "C", "value": "4"},
                    ],
                    # ports by containerPort: 80 merged field by field, 15090 new.
                    "ports": [
                        {"containerPort": 80, "name": "http", "protocol": "TCP"},
                        {"containerPort": 15090},
                    ],
                    # volumeMounts by mountPath: the new mount is placed before the server-only one.
                    "volumeMounts": [
                        {"mountPath": "/etc/istio", "name": "istio"},
                        {"mountPath": "/data", "name": "data"},
                    ],
                    # args has no patch strategy: atomic, replaced.
                    "args": ["--three"],
                }
            ]
        ),
    ),
    (
        "atomic_lists_are_replaced",
        _pod(
            tolerations=[{"key": "a", "operator": "Exists"}],
            readinessGates=[{"conditionType": "x"}],
            containers=[{"name": "c", "command": ["sh"], "envFrom": [{"configMapRef": {"name": "m"}}]}],
        ),
        _pod(
            tolerations=[{"key": "b", "operator": "Exists"}],
            readinessGates=[{"conditionType": "y"}],
            containers=[{"name": "c", "command": ["bash"], "envFrom": [{"secretRef": {"name": "s"}}]}],
        ),
        _pod(
            tolerations=[{"key": "b", "operator": "Exists"}],
            readinessGates=[{"conditionType": "y"}],
            containers=[{"name": "c", "command": ["bash"], "envFrom": [{"secretRef": {"name": "s"}}]}],
        ),
    ),
    (
        "maps_merge_recursively_and_null_deletes",
        {"metadata": {"labels": {"app": "x", "gone": "y"}, "annotations": {"a": "1"}}, "spec": {}},
        {
            "metadata": {"labels": {"gone": None, "new": "z"}, "annotations": {"b": "2"}},
            "spec": {"hostPID": None},
        },
        {"metadata": {"labels": {"app": "x", "new": "z"}, "annotations": {"a": "1", "b": "2"}}, "spec": {}},
    ),
    (
        "other_merge_lists_use_their_keys",
        _pod(
            imagePullSecrets=[{"name": "a"}],
            hostAliases=[{"ip": "10.0.0.1", "hostnames": ["a"]}],
            topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 1}],
            schedulingGates=[{"name": "g1"}],
            resourceClaims=[{"name": "r1", "resourceClaimName": "c1"}],
        ),
        _pod(
            imagePullSecrets=[{"name": "b"}],
            hostAliases=[{"ip": "10.0.0.1", "hostnames": ["b"]}],
            topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 2}],
            schedulingGates=[{"name": "g2"}],
            resourceClaims=[{"name": "r1", "resourceClaimTemplateName": "t1"}],
        ),
        _pod(
            imagePullSecrets=[{"name": "b"}, {"name": "a"}],
            # hostnames has no strategy: atomic inside the merged hostAlias.
            hostAliases=[{"ip": "10.0.0.1", "hostnames": ["b"]}],
            topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 2}],
            schedulingGates=[{"name": "g2"}, {"name": "g1"}],
            resourceClaims=[{"name": "r1", "resourceClaimName": "c1", "resourceClaimTemplateName": "t1"}],
        ),
    ),
    (
        "primitive_merge_list_is_a_set_new_values_first",
        {"metadata": {"finalizers": ["f1", "f2"]}},
        {"metadata": {"finalizers": ["f3", "f1"]}},
        # Patch values in patch order (f3 new so emitted first, f1); server-only f2 comes after f1.
        {"metadata": {"finalizers": ["f3", "f1", "f2"]}},
    ),
    (
        "owner_references_merge_by_uid",
        {"metadata": {"ownerReferences": [{"uid": "1", "kind": "ReplicaSet", "name": "rs"}]}},
        {"metadata": {"ownerReferences": [{"uid": "1", "controller": True}, {"uid": "2", "kind": "Job"}]}},
        {
            "metadata": {
                "ownerReferences": [
                    {"uid": "1", "kind": "ReplicaSet", "name": "rs", "controller": True},
                    {"uid": "2", "kind": "Job"},
                ]
            }
        },
    ),
    (
        "merge_key_values_compare_with_their_json_type",
        # util/json decodes 80 as int64 and 80.0 as float64; Go's == tells them apart, so no merge.
        _pod(containers=[{"name": "c", "ports": [{"containerPort": 80, "name": "a"}]}]),
        _pod(containers=[{"name": "c", "ports": [{"containerPort": 80.0, "name": "b"}]}]),
        _pod(
            containers=[
                {
                    "name": "c",
                    "ports": [{"containerPort": 80.0, "name": "b"}, {"containerPort": 80, "name": "a"}],
                }
            ]
        ),
    ),
    (
        "replace_directive_in_a_map_replaces_it",
        _pod(securityContext={"runAsUser": 1, "fsGroup": 2}),
        _pod(securityContext={"$patch": "replace", "runAsUser": 3}),
        _pod(securityContext={"runAsUser": 3}),
    ),
    (
        "delete_directive_in_a_map_empties_it",
        # handleDirectiveInMergeMap answers an empty map, not a missing key.
        _pod(securityContext={"runAsUser": 1}),
        _pod(securityContext={"$patch": "delete"}),
        _pod(securityContext={}),
    ),
    (
        "delete_directive_in_a_list_removes_by_merge_key",
        _pod(containers=_containers("a", "b", "c")),
        _pod(containers=[{"name": "b", "$patch": "delete"}]),
        _pod(containers=_containers("a", "c")),
    ),
    (
        "replace_directive_in_a_list_replaces_the_list",
        _pod(volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}]),
        _pod(volumes=[{"name": "c", "emptyDir": {}}, {"$patch": "replace"}]),
        _pod(volumes=[{"name": "c", "emptyDir": {}}]),
    ),
    (
        "retain_keys_clears_unlisted_fields",
        # The volume source switches from emptyDir to hostPath; $retainKeys drops the old one.
        _pod(volumes=[{"name": "v", "emptyDir": {}}]),
        _pod(volumes=[{"name": "v", "hostPath": {"path": "/x"}, "$retainKeys": ["hostPath", "name"]}]),
        _pod(volumes=[{"name": "v", "hostPath": {"path": "/x"}}]),
    ),
    (
        "delete_from_primitive_list",
        {"metadata": {"finalizers": ["f1", "f2", "f3"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["f2", "f9"]}},
        {"metadata": {"finalizers": ["f1", "f3"]}},
    ),
    (
        "set_element_order_sets_the_order",
        _pod(containers=_containers("a", "b", "c")),
        _pod(
            **{
                "$setElementOrder/containers": _containers("c", "a", "b"),
                "containers": [{"name": "c", "image": "i"}],
            }
        ),
        _pod(containers=[{"name": "c", "image": "i"}, *_containers("a", "b")]),
    ),
    (
        "set_element_order_places_new_items",
        _pod(containers=_containers("a", "b")),
        _pod(**{"$setElementOrder/containers": _containers("a", "n", "b"), "containers": _containers("n")}),
        _pod(containers=_containers("a", "n", "b")),
    ),
    (
        "set_element_order_for_primitives",
        {"metadata": {"finalizers": ["f1", "f2", "f3"]}},
        {"metadata": {"$setElementOrder/finalizers": ["f3", "f1", "f2"]}},
        {"metadata": {"finalizers": ["f3", "f1", "f2"]}},
    ),
    (
        "set_element_order_with_deletion_sees_go_slice_aliasing",
        # Go deletes "a" by shifting the original slice in place and appends "b" into the same array, so the
        # original order it consults is [d, e, b]: e comes before b.
        _pod(containers=_containers("a", "d", "e")),
        _pod(
            **{
                "$setElementOrder/containers": _containers("d", "a", "b"),
                "containers": [{"name": "a", "$patch": "delete"}, {"name": "b"}],
            }
        ),
        _pod(containers=_containers("d", "e", "b")),
    ),
    (
        "empty_set_element_order_follows_go_stable_sort",
        # The plain merge gives [a, b, x].  An empty order list names nothing, so all three are sorted by the
        # original list [x], where a and b are missing: Go's comparator then answers "less" for any pair
        # involving them, and its insertion sort turns [a, b, x] into [b, a, x], then [x, b, a].
        _pod(containers=_containers("x")),
        _pod(**{"$setElementOrder/containers": [], "containers": _containers("a", "b")}),
        _pod(containers=_containers("x", "b", "a")),
    ),
    (
        "patch_values_are_cleaned_like_the_typed_decode",
        # Nulls and directive keys inside values taken from the patch do not reach the result; a map that
        # carries $patch inside a brand-new value disappears (removeDirectives).
        _pod(containers=_containers("a")),
        _pod(
            containers=[
                {
                    "name": "n",
                    "image": None,
                    "env": [{"name": "E", "value": "v", "valueFrom": None}],
                    "$setElementOrder/env": [{"name": "E"}],
                }
            ],
            securityContext={"runAsUser": 1, "seccompProfile": {"$patch": "delete"}, "fsGroup": None},
        ),
        _pod(
            containers=[{"name": "n", "env": [{"name": "E", "value": "v"}]}, *_containers("a")],
            securityContext={"runAsUser": 1},
        ),
    ),
    (
        "type_change_takes_the_patch_value",
        _pod(nodeSelector={"a": "b"}, hostname="h"),
        _pod(nodeSelector="oops", hostname={"x": None, "y": 1}),
        _pod(nodeSelector="oops", hostname={"y": 1}),
    ),
    (
        "top_level_replace_directive",
        {"metadata": {"name": "a"}, "spec": {"hostname": "h"}},
        {"$patch": "replace", "spec": {"hostname": "k"}},
        {"spec": {"hostname": "k"}},
    ),
]


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [pytest.param(o, p, e, id=name) for name, o, p, e in MERGE_CASES],
)
def test_merge_pod(original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy((original, patch))
    assert merge_pod(original, patch) == expected
    assert (original, patch) == before


ERROR_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "unknown_map_directive",
        _pod(securityContext={}),
        _pod(securityContext={"$patch": "merge"}),
        "unknown patch type",
    ),
    (
        "merge_directive_in_list",
        _pod(containers=_containers("a")),
        _pod(containers=[{"$patch": "merge"}]),
        "merging lists cannot yet be specified",
    ),
    (
        "patch_item_without_merge_key",
        _pod(containers=_containers("a")),
        _pod(containers=[{"image": "x"}]),
        "merge key",
    ),
    (
        "delete_without_merge_key",
        _pod(containers=_containers("a")),
        _pod(containers=[{"$patch": "delete"}]),
        "merge key",
    ),
    (
        "original_item_without_merge_key",
        _pod(containers=[{"image": "x"}]),
        _pod(containers=_containers("a")),
        "merge key",
    ),
    (
        "mixed_element_types",
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"finalizers": [1]}},
        "not identical",
    ),
    (
        "set_element_order_disagrees_with_patch",
        _pod(containers=_containers("a", "b")),
        _pod(**{"$setElementOrder/containers": _containers("b", "a"), "containers": _containers("a", "b")}),
        "doesn't match",
    ),
    (
        "retain_keys_missing_a_patched_field",
        _pod(volumes=[{"name": "v", "emptyDir": {}}]),
        _pod(volumes=[{"name": "v", "hostPath": {"path": "/x"}, "$retainKeys": ["name"]}]),
        "retainKeys",
    ),
    (
        "bad_delete_from_primitive_list_key",
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"$deleteFromPrimitiveList": ["a"]}},
        "primitive list",
    ),
]


@pytest.mark.parametrize(
    ("original", "patch", "message"),
    [pytest.param(o, p, m, id=name) for name, o, p, m in ERROR_CASES],
)
def test_merge_pod_rejects_what_apimachinery_rejects(
    original: dict[str, Any], patch: dict[str, Any], message: str
) -> None:
    with pytest.raises(StrategicMergeError, match=message):
        merge_pod(original, patch)


def test_istio_sidecar_fragment_merges_like_the_goldens() -> None:
    # Same shape as Istio's statefulset golden: the template's volumes come first (all new), the app's own
    # volume after them; the app container keeps its place and the proxy is placed before it (Istio's own
    # reordering moves it afterwards, which is not the merge's business).
    pod = {
        "metadata": {"labels": {"app": "hello"}},
        "spec": {
            "containers": [{"name": "hello", "image": "hello:1", "ports": [{"containerPort": 80, "name": "http"}]}],
            "volumes": [{"name": "data", "hostPath": {"path": "/mnt/disks/ssd0"}}],
        },
    }
    fragment = {
        "metadata": {
            "labels": {"security.istio.io/tlsMode": "istio"},
            "annotations": {"sidecar.istio.io/status": "{}"},
        },
        "spec": {
            "initContainers": [{"name": "istio-init", "image": "proxyv2"}],
            "containers": [{"name": "istio-proxy", "image": "proxyv2", "ports": [{"containerPort": 15090}]}],
            "volumes": [
                {"name": "workload-socket", "emptyDir": {}},
                {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
            ],
        },
    }
    merged = merge_pod(pod, fragment)
    assert merged == {
        "metadata": {
            "labels": {"app": "hello", "security.istio.io/tlsMode": "istio"},
            "annotations": {"sidecar.istio.io/status": "{}"},
        },
        "spec": {
            "containers": [
                {"name": "istio-proxy", "image": "proxyv2", "ports": [{"containerPort": 15090}]},
                {"name": "hello", "image": "hello:1", "ports": [{"containerPort": 80, "name": "http"}]},
            ],
            "volumes": [
                {"name": "workload-socket", "emptyDir": {}},
                {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
                {"name": "data", "hostPath": {"path": "/mnt/disks/ssd0"}},
            ],
            "initContainers": [{"name": "istio-init", "image": "proxyv2"}],
        },
    }


def test_result_shares_no_objects_with_inputs() -> None:
    original = _pod(containers=[{"name": "a", "env": [{"name": "X", "value": "1"}]}])
    patch = _pod(containers=[{"name": "b", "args": ["x"]}])
    merged = merge_pod(original, patch)
    merged["spec"]["containers"][0]["args"].append("y")
    merged["spec"]["containers"][1]["env"][0]["value"] = "2"
    assert original == _pod(containers=[{"name": "a", "env": [{"name": "X", "value": "1"}]}])
    assert patch == _pod(containers=[{"name": "b", "args": ["x"]}])


def test_generic_merge_with_a_custom_schema() -> None:
    item = Schema("Item")
    schema = Schema("Doc", {"items": FieldMeta(item, "merge", "id"), "tags": FieldMeta(Schema("untyped"), "merge")})
    original = {"items": [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], "tags": ["x"], "plain": [1, 2]}
    patch = {"items": [{"id": 2, "v": "B"}], "tags": ["y"], "plain": [3]}
    assert strategic_merge(original, patch, schema) == {
        "items": [{"id": 1, "v": "a"}, {"id": 2, "v": "B"}],
        "tags": ["y", "x"],
        "plain": [3],
    }


def test_pod_schema_knows_the_merge_keys() -> None:
    spec = POD_SCHEMA.lookup("spec").schema
    assert spec.lookup("volumes").merge_key == "name"
    assert spec.lookup("volumes").retain_keys
    assert spec.lookup("containers").schema.lookup("volumeMounts").merge_key == "mountPath"
    assert spec.lookup("containers").schema.lookup("ports").merge_key == "containerPort"
    assert spec.lookup("tolerations").strategy == ""
    # encoding/json's case-insensitive fallback, which the patch metadata lookup shares.
    assert spec.lookup("Containers").merge_key == "name"


# --- properties ------------------------------------------------------------------------------------------

_names = st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=6)
_env = _names.map(lambda names: [{"name": n, "value": n.upper()} for n in names])
_container = st.builds(
    lambda name, env, image: {"name": name, "env": env, **({"image": image} if image else {})},
    st.sampled_from("pqrst"),
    _env,
    st.sampled_from(["", "img:1", "img:2"]),
)


def _unique_containers(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        seen.setdefault(item["name"], item)
    return list(seen.values())


_pods = st.builds(
    lambda containers, labels: {"metadata": {"labels": labels}, "spec": {"containers": containers}},
    st.lists(_container, max_size=5).map(_unique_containers),
    st.dictionaries(st.sampled_from("abc"), st.sampled_from(["1", "2"]), max_size=3),
)


@settings(max_examples=200, derandomize=True)
@given(_pods, _pods)
def test_merge_keeps_every_container_once_and_patch_values_win(original: dict[str, Any], patch: dict[str, Any]) -> None:
    merged = merge_pod(original, patch)
    names = [c["name"] for c in merged["spec"]["containers"]]
    expected_names = {c["name"] for c in original["spec"]["containers"]} | {
        c["name"] for c in patch["spec"]["containers"]
    }
    assert sorted(names) == sorted(expected_names)
    # The patch's own containers keep their relative order.
    patch_names = [c["name"] for c in patch["spec"]["containers"]]
    assert [n for n in names if n in patch_names] == patch_names
    for container in patch["spec"]["containers"]:
        result = next(c for c in merged["spec"]["containers"] if c["name"] == container["name"])
        for env in container["env"]:
            assert env in result["env"]
        if "image" in container:
            assert result["image"] == container["image"]
    assert merged["metadata"]["labels"] == {**original["metadata"]["labels"], **patch["metadata"]["labels"]}


@settings(max_examples=200, derandomize=True)
@given(_pods, _pods)
def test_merging_twice_changes_nothing_more(original: dict[str, Any], patch: dict[str, Any]) -> None:
    once = merge_pod(original, patch)
    assert json.dumps(merge_pod(once, patch)) == json.dumps(once)


@settings(max_examples=100, derandomize=True)
@given(_pods)
def test_merging_a_pod_onto_itself_is_identity(pod: dict[str, Any]) -> None:
    assert json.dumps(merge_pod(pod, pod)) == json.dumps(pod)
