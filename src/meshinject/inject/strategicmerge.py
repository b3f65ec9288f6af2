"""Kubernetes strategic merge patch on plain JSON data, with the patch metadata of ``v1.Pod``.

This applies a patch the way apimachinery's ``strategicpatch.StrategicMergePatch`` does on the server side:

* Maps merge key by key; a ``null`` patch value deletes the key.
* Lists whose field is tagged ``patchStrategy:"merge"`` merge by their ``patchMergeKey`` (lists of scalars
  merge as sets); every other list is atomic and replaced by the patch.
* Directives: ``$patch: replace|delete`` in a map or as a list item, ``$retainKeys``,
  ``$setElementOrder/<field>`` and ``$deleteFromPrimitiveList/<field>``.
* Merged lists come out in Kubernetes' order: the patch's items in patch order, with items only present on
  the server slotted in front of the first patch item that comes after them in the original list.  A patch
  item that is *new* therefore lands before the remaining server-only items: merging ``[{name: c}]`` into
  ``[{name: a}, {name: b}]`` gives ``c, a, b``; merging ``[{name: b}, {name: c}]`` gives ``a, b, c``.

Deliberate differences from the Go code, none of which changes what the API server would store:

* Values taken from the patch are cleaned as decoding into the typed Pod would clean them: ``null`` map
  entries and directive keys are dropped (Go copies them raw and lets the typed decode drop them).
* A field missing from the schema table is treated as an untyped value (maps merge, lists are atomic)
  instead of failing with "unable to find api field"; the table lists every Pod field that is a merge list
  or leads to one.
* Scalars compare like Go interface values after ``k8s.io/apimachinery/pkg/util/json`` decoding: ``1``,
  ``1.0`` and ``true`` are three different merge keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

__all__ = [
    "POD_SCHEMA",
    "FieldMeta",
    "PatchCopies",
    "Schema",
    "StrategicMergeError",
    "merge_pod",
    "strategic_merge",
]

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList"


class StrategicMergeError(ValueError):
    """The patch cannot be applied (the cases where apimachinery returns an error or panics)."""


@dataclass(frozen=True, slots=True)
class FieldMeta:
    """Patch metadata of one field: the schema of its value (of its elements, for a list) and its tags."""

    schema: Schema
    strategy: str = ""
    merge_key: str = ""
    retain_keys: bool = False


class Schema:
    """The patch-relevant fields of one Go struct type."""

    __slots__ = ("_fields", "_folded", "name")

    def __init__(self, name: str, fields: Mapping[str, FieldMeta] | None = None) -> None:
        self.name = name
        self._fields: dict[str, FieldMeta] = dict(fields or {})
        # encoding/json (and so the patch metadata lookup) falls back to a case-insensitive field match.
        self._folded = {key.lower(): meta for key, meta in reversed(self._fields.items())}

    def lookup(self, key: str) -> FieldMeta:
        meta = self._fields.get(key)
        if meta is None:
            meta = self._folded.get(key.lower(), _UNTYPED_FIELD)
        return meta

    def __repr__(self) -> str:
        return f"Schema({self.name!r})"


UNTYPED: Final = Schema("untyped")
_UNTYPED_FIELD: Final = FieldMeta(UNTYPED)


def _struct(schema: Schema) -> FieldMeta:
    return FieldMeta(schema)


def _merge(element: Schema, key: str = "", *, retain_keys: bool = False) -> FieldMeta:
    return FieldMeta(element, "merge", key, retain_keys)


# Only fields that are merge lists, or structs on the way to one, need an entry: anything else behaves the
# same as an untyped value (maps merge recursively, lists such as tolerations, readinessGates, envFrom,
# command, args, resizePolicy, managedFields, nodeSelectorTerms are atomic).  Tags from k8s.io/api core/v1 and
# apimachinery meta/v1.
_OBJECT_META = Schema(
    "ObjectMeta",
    {
        "ownerReferences": _merge(Schema("OwnerReference"), "uid"),
        "finalizers": _merge(UNTYPED),
    },
)
_VOLUME = Schema(
    "Volume",
    {
        "ephemeral": _struct(
            Schema(
                "EphemeralVolumeSource",
                {
                    "volumeClaimTemplate": _struct(
                        Schema("PersistentVolumeClaimTemplate", {"metadata": _struct(_OBJECT_META)})
                    )
                },
            )
        )
    },
)
_CONTAINER_FIELDS = {
    "ports": _merge(Schema("ContainerPort"), "containerPort"),
    "env": _merge(Schema("EnvVar"), "name"),
    "volumeMounts": _merge(Schema("VolumeMount"), "mountPath"),
    "volumeDevices": _merge(Schema("VolumeDevice"), "devicePath"),
}
_CONTAINER = Schema("Container", _CONTAINER_FIELDS)
_EPHEMERAL_CONTAINER = Schema("EphemeralContainer", _CONTAINER_FIELDS)
_POD_SPEC = Schema(
    "PodSpec",
    {
        "volumes": _merge(_VOLUME, "name", retain_keys=True),
        "initContainers": _merge(_CONTAINER, "name"),
        "containers": _merge(_CONTAINER, "name"),
        "ephemeralContainers": _merge(_EPHEMERAL_CONTAINER, "name"),
        "imagePullSecrets": _merge(Schema("LocalObjectReference"), "name"),
        "hostAliases": _merge(Schema("HostAlias"), "ip"),
        "topologySpreadConstraints": _merge(Schema("TopologySpreadConstraint"), "topologyKey"),
        "schedulingGates": _merge(Schema("PodSchedulingGate"), "name"),
        "resourceClaims": _merge(Schema("PodResourceClaim"), "name", retain_keys=True),
        "evictionResponders": _merge(Schema("EvictionResponder"), "name"),
    },
)
_CONTAINER_STATUS = Schema(
    "ContainerStatus",
    {
        "volumeMounts": _merge(Schema("VolumeMountStatus"), "mountPath"),
        "allocatedResourcesStatus": _merge(Schema("ResourceStatus"), "name"),
    },
)
_POD_STATUS = Schema(
    "PodStatus",
    {
        "conditions": _merge(Schema("PodCondition"), "type"),
        "hostIPs": _merge(Schema("HostIP"), "ip"),
        "podIPs": _merge(Schema("PodIP"), "ip"),
        # Atomic lists: listed only so their element schema is documented.
        "initContainerStatuses": FieldMeta(_CONTAINER_STATUS),
        "containerStatuses": FieldMeta(_CONTAINER_STATUS),
        "ephemeralContainerStatuses": FieldMeta(_CONTAINER_STATUS),
        "resourceClaimStatuses": _merge(Schema("PodResourceClaimStatus"), "name", retain_keys=True),
        "nodeAllocatableResourceClaimStatuses": _merge(
            Schema(
                "NodeAllocatableResourceClaimStatus",
                {
                    "mapping": _merge(Schema("NodeAllocatableMappedResources"), "name"),
                    "overhead": _merge(Schema("NodeAllocatableOverheadResources"), "name"),
                },
            ),
            "resourceClaimName",
        ),
        "volumeHealth": FieldMeta(
            Schema("PodVolumeHealth", {"healthConditions": _merge(Schema("VolumeHealthCondition"), "status")})
        ),
    },
)

POD_SCHEMA: Final = Schema(
    "Pod",
    {"metadata": _struct(_OBJECT_META), "spec": _struct(_POD_SPEC), "status": _struct(_POD_STATUS)},
)


def merge_pod(
    original: dict[str, Any],
    patch: dict[str, Any],
    *,
    owned: bool = False,
    copies: PatchCopies | None = None,
) -> dict[str, Any]:
    """Strategic-merge ``patch`` onto the pod ``original``; neither input is modified (see ``owned``)."""
    return strategic_merge(original, patch, POD_SCHEMA, owned=owned, copies=copies)


def strategic_merge(
    original: dict[str, Any],
    patch: dict[str, Any],
    schema: Schema,
    *,
    owned: bool = False,
    copies: PatchCopies | None = None,
) -> dict[str, Any]:
    """Apply a strategic merge patch to a JSON object described by ``schema``; returns a new object.

    The result shares no dict or list with ``patch``. With ``owned``, the caller hands ``original`` over (a
    fresh document nobody else holds): it is merged in place and returned instead of being copied first.
    ``copies``: the :class:`PatchCopies` of ``patch``, for a patch that is merged again and again.
    """
    if not isinstance(original, dict) or not isinstance(patch, dict):
        raise StrategicMergeError("invalid JSON document")
    if copies is not None and copies.patch is not patch:
        raise ValueError("copies were prepared for another patch")
    return _merge_map(original if owned else _copy(original), patch, schema, copies)


# --- values ----------------------------------------------------------------------------------------------


def _copy(value: Any) -> Any:
    # Scalars are tested inline: a call per scalar leaf would cost more than the copy itself.
    kind = type(value)
    if kind is dict:
        return {k: (_copy(v) if type(v) in _CONTAINERS else v) for k, v in value.items()}
    if kind is list:
        return [(_copy(v) if type(v) in _CONTAINERS else v) for v in value]
    return value


_CONTAINERS: Final = frozenset({dict, list})


class _Dropped:
    """Marks a patch value that vanishes entirely (a map carrying ``$patch``)."""


_DROPPED: Final = _Dropped()


def _is_directive_key(key: str) -> bool:
    return key[:1] == "$" and (
        key in (_DIRECTIVE, _RETAIN_KEYS) or key.startswith((_SET_ORDER + "/", _DELETE_PRIMITIVES + "/"))
    )


def _take_new(value: Any) -> Any:
    """A patch value for a key the original lacks: nulls discarded, maps with ``$patch`` removed."""
    kind = type(value)
    if kind is dict:
        if _DIRECTIVE in value:
            return _DROPPED
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None or (key[:1] == "$" and _is_directive_key(key)):
                continue
            if type(item) in _CONTAINERS:
                taken = _take_new(item)
                if taken is not _DROPPED:
                    out[key] = taken
            else:
                out[key] = item
        return out
    if kind is list:
        return [
            taken
            for item in value
            if (taken := (_take_new(item) if type(item) in _CONTAINERS else item)) is not _DROPPED
        ]
    return value


def _replacement(value: Any) -> Any:
    """A patch value used whole (replace, atomic list, new list item), as the typed decode would see it."""
    kind = type(value)
    if kind is dict:
        return {
            key: (_replacement(item) if type(item) in _CONTAINERS else item)
            for key, item in value.items()
            if item is not None and not (key[:1] == "$" and _is_directive_key(key))
        }
    if kind is list:
        return [(_replacement(item) if type(item) in _CONTAINERS else item) for item in value]
    return value


class PatchCopies:
    """The values a merge takes whole from one patch, prepared once for a patch that is merged many times.

    Every merge rebuilds such values from the patch (nulls and directives dropped, see :func:`_take_new` and
    :func:`_replacement`) so that the result owns them. For a patch that never changes, the rebuilt value is
    serialised as JSON the first time and decoded afterwards, which builds the same fresh objects in C. A value
    that JSON would not carry exactly (other types, non-finite floats, huge integers) is rebuilt as before.
    The patch must not change while this object is in use (values are remembered by identity).
    """

    __slots__ = ("_memo", "patch")

    def __init__(self, patch: dict[str, Any]) -> None:
        self.patch = patch
        self._memo: dict[tuple[int, bool], Any] = {}

    def fresh(self, value: Any, replace: bool) -> Any:
        """``_replacement(value)`` if ``replace`` else ``_take_new(value)``, for a container of the patch."""
        key = (id(value), replace)
        encoded = self._memo.get(key, _UNKNOWN)
        if encoded is _UNKNOWN:
            built = _replacement(value) if replace else _take_new(value)
            self._memo[key] = _DROPPED if built is _DROPPED else _exact_json(built)
            return built
        if encoded is None:
            return _replacement(value) if replace else _take_new(value)
        if encoded is _DROPPED:
            return _DROPPED
        return _JSON_DECODER.decode(encoded)


_UNKNOWN: Final = object()
_JSON_DECODER: Final = msgspec.json.Decoder()
_JSON_SCALARS: Final = frozenset({str, int, bool, type(None)})


def _exact_json(value: Any) -> bytes | None:
    """JSON text that decodes back to exactly ``value`` (same types, same order), or None."""
    if not _json_exact(value):
        return None
    try:
        encoded = msgspec.json.encode(value)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError):
        return None
    return encoded if _JSON_DECODER.decode(encoded) == value else None


def _json_exact(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _json_exact(v) for k, v in value.items())
    if kind is list:
        return all(_json_exact(v) for v in value)
    if kind is float:
        return math.isfinite(value)
    if kind is int:
        return bool(-(2**63) <= value < 2**63)
    return kind in _JSON_SCALARS


def _fresh(value: Any, replace: bool, copies: PatchCopies | None) -> Any:
    if copies is not None and type(value) in _CONTAINERS:
        return copies.fresh(value, replace)
    return _replacement(value) if replace else _take_new(value)


def _go_key(value: Any) -> Any:
    """A hashable stand-in with Go ``interface{} ==`` semantics for decoded JSON scalars."""
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is bool:
        return ("bool", value)
    if kind is int:
        return ("int", value)
    if kind is float:
        return ("float", value)
    raise StrategicMergeError(f"runtime error: comparing uncomparable type {_go_type_name(value)}")


def _go_type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return type(value).__name__


def _no_merge_key(item: Any, merge_key: str) -> StrategicMergeError:
    return StrategicMergeError(f"map: {item!r} does not contain declared merge key: {merge_key}")


def _extract_key(key: str, prefix: str) -> str:
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        if prefix == _DELETE_PRIMITIVES:
            raise StrategicMergeError("invalid patch format of primitive list")
        raise StrategicMergeError("invalid patch format of setElementOrder list")
    return rest


# --- maps ------------------------------------------------------------------------------------------------


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], schema: Schema, copies: PatchCopies | None = None
) -> dict[str, Any]:
    """Merge ``patch`` into ``original`` (which this call owns and may change) and return the result."""
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if directive == "replace":
            result: dict[str, Any] = _fresh(patch, True, copies)
            return result
        if directive == "delete":
            return {}
        raise StrategicMergeError(f"unknown patch type: {directive!r} in map: {patch!r}")

    if _RETAIN_KEYS in patch:
        _apply_retain_keys(original, patch)
    handled = _apply_set_element_orders(original, patch, schema, copies) if _has_set_order(patch) else ()

    for key, patch_value in patch.items():
        if key == _RETAIN_KEYS or key in handled:
            continue
        delete_list = key.startswith(_DELETE_PRIMITIVES)
        if delete_list:
            key = _extract_key(key, _DELETE_PRIMITIVES)
        if patch_value is None:
            original.pop(key, None)
            continue
        if key not in original:
            if not delete_list:
                taken = _fresh(patch_value, False, copies)
                if taken is not _DROPPED:
                    original[key] = taken
            continue

        current = original[key]
        if type(current) is dict and type(patch_value) is dict:
            meta = schema.lookup(key)
            if meta.strategy == "replace":
                original[key] = _fresh(patch_value, True, copies)
            else:
                original[key] = _merge_map(current, patch_value, meta.schema, copies)
        elif type(current) is list and type(patch_value) is list:
            meta = schema.lookup(key)
            if meta.strategy == "merge" or delete_list:
                original[key] = _merge_list(current, patch_value, meta, delete_list, copies)
            else:
                original[key] = _fresh(patch_value, True, copies)
        elif delete_list:
            continue
        else:
            taken = _fresh(patch_value, False, copies)
            if taken is _DROPPED:
                del original[key]
            else:
                original[key] = taken
    return original


def _has_set_order(patch: dict[str, Any]) -> bool:
    return any(key.startswith(_SET_ORDER) for key in patch)


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    retain = patch[_RETAIN_KEYS]
    if type(retain) is not list:
        raise StrategicMergeError("invalid patch format of retainKeys")
    keep = {_go_key(item) for item in retain}
    for key, value in patch.items():
        if value is None or key == _RETAIN_KEYS or key.startswith((_DELETE_PRIMITIVES, _SET_ORDER)):
            continue
        if key not in keep:
            raise StrategicMergeError("invalid patch format of retainKeys")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _apply_set_element_orders(
    original: dict[str, Any], patch: dict[str, Any], schema: Schema, copies: PatchCopies | None
) -> set[str]:
    """Merge each list that has a ``$setElementOrder`` and put it in that order; returns consumed keys."""
    handled: set[str] = set()
    for key, order in patch.items():
        if not key.startswith(_SET_ORDER):
            continue
        handled.add(key)
        if type(order) is not list:
            raise StrategicMergeError(f"expected a []interface {{}}, but received a {_go_type_name(order)}")
        field = _extract_key(key, _SET_ORDER)
        found_original = field in original
        found_patch = field in patch
        original_list = original.get(field)
        patch_list = patch.get(field)
        for found, value in ((found_original, original_list), (found_patch, patch_list)):
            if found and type(value) is not list:
                raise StrategicMergeError(f"expected a []interface {{}}, but received a {_go_type_name(value)}")
        meta = schema.lookup(field)
        _validate_set_order(patch_list or [], order, meta.merge_key)

        if found_original and not found_patch:
            merged: list[Any] = original_list  # type: ignore[assignment]
        elif found_patch and not found_original:
            merged = _fresh(patch_list, False, copies)
        elif found_patch and found_original:
            if meta.strategy == "merge":
                merged = _merge_list(original_list, patch_list, meta, False, copies)  # type: ignore[arg-type]
            else:
                merged = _fresh(patch_list, True, copies)
        else:
            continue

        in_order, server_only = _partition(merged, order, meta.merge_key)
        by_field = _element_kind((original_list or [], patch_list or [])) == "map"
        server_order = original_list or []
        if by_field and found_patch and found_original and meta.strategy == "merge":
            server_order = _aliased_server_order(server_order, patch_list, meta.merge_key)  # type: ignore[arg-type]
        original[field] = _normalize_order(
            in_order, server_only, order, server_order, meta.merge_key if by_field else None
        )
        handled.add(field)
    return handled


def _aliased_server_order(original: list[Any], patch: list[dict[str, Any]], merge_key: str) -> list[Any]:
    """The original list as apimachinery sees it when it orders by ``$setElementOrder`` after merging.

    Go deletes ``$patch: delete`` matches by shifting the slice in place and appends new items into the same
    backing array, so the "original order" it consults afterwards is that rewritten array.  Only positions
    inside the original length matter, and appends fill them before any reallocation, so the slice capacity
    never changes the outcome.
    """
    slots = list(original)
    length = len(slots)
    replaced = False
    for item in patch:
        directive = item.get(_DIRECTIVE)
        if directive == "delete":
            doomed = _go_key(item[merge_key])
            index = 0
            while index < length:
                current = slots[index]
                if merge_key in current and _go_key(current[merge_key]) == doomed:
                    slots[index : length - 1] = slots[index + 1 : length]
                    length -= 1
                else:
                    index += 1
        elif directive == "replace":
            replaced = True
    if not replaced:
        present = {_go_key(item[merge_key]) for item in slots[:length] if merge_key in item}
        for item in patch:
            if _DIRECTIVE in item:
                continue
            key = _go_key(item[merge_key])
            if key in present:
                continue
            present.add(key)
            if length < len(slots):
                slots[length] = item
            length += 1
    return slots


def _validate_set_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """The patch's items must appear in ``$setElementOrder`` in the same relative order."""
    if not order or not patch_list:
        return
    items = patch_list
    if merge_key:
        for item in patch_list:
            if type(item) is not dict:
                raise StrategicMergeError(f"expected a map, but received a {_go_type_name(item)}")
        items = [item for item in patch_list if item.get(_DIRECTIVE) != "delete"]
    p = s = 0
    while p < len(items) and s < len(order):
        item = items[p]
        if type(item) is dict and _DIRECTIVE in item:
            p += 1
            continue
        if _merge_key_equal(item, order[s], merge_key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise StrategicMergeError(
            f"The order in patch list:\n{patch_list!r}\n doesn't match {_SET_ORDER} list:\n{order!r}\n"
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return bool(_go_key(left) == _go_key(right))
    for item in (left, right):
        if type(item) is not dict:
            raise StrategicMergeError(f"expected a map, but received a {_go_type_name(item)}")
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
    return bool(_go_key(left[merge_key]) == _go_key(right[merge_key]))


# --- lists -----------------------------------------------------------------------------------------------


def _element_kind(lists: Iterable[list[Any]]) -> str:
    """``"map"`` or the scalar type shared by every element, as the Go code insists."""
    kind: str | None = None
    for items in lists:
        for item in items:
            if type(item) is list:
                raise StrategicMergeError("lists of lists are not supported")
            if item is None:
                raise StrategicMergeError("list elements must not be null")
            current = "map" if type(item) is dict else type(item).__name__
            if kind is None:
                kind = current
            elif kind != current:
                raise StrategicMergeError("list element types are not identical")
    if kind is None:
        raise StrategicMergeError("no elements in any of the given slices")
    return kind


def _merge_list(
    original: list[Any], patch: list[Any], meta: FieldMeta, delete_list: bool, copies: PatchCopies | None = None
) -> list[Any]:
    if not original and not patch:
        return original
    merge_key = meta.merge_key
    is_map = _element_kind((original, patch)) == "map"
    if not is_map:
        if delete_list:
            doomed = {_go_key(item) for item in patch}
            return [item for item in original if _go_key(item) not in doomed]
        seen: set[Any] = set()
        merged: list[Any] = []
        for item in (*original, *patch):
            key = _go_key(item)
            if key not in seen:
                seen.add(key)
                merged.append(item)
        patch_items = patch
    else:
        if not merge_key:
            raise StrategicMergeError(f"cannot merge lists without merge key for {meta.schema.name}")
        original, patch_items = _apply_list_directives(original, patch, merge_key, copies)
        if not delete_list and len(patch_items) == len(patch) and _only_new_items(original, patch_items, merge_key):
            # What the general path below gives in this (the injector's usual) case: every patch item is new,
            # so they all come first in patch order, then the server's items in their order.
            # No directives, so patch_items holds the patch's items in order: one fresh copy of the whole list.
            taken: list[Any] = _fresh(patch, True, copies)
            return taken + original
        merged = _merge_items(original, patch_items, merge_key, meta.schema, copies)

    in_patch, server_only = _partition(merged, patch_items, merge_key)
    return _normalize_order(in_patch, server_only, patch_items, original, merge_key if is_map else None)


def _only_new_items(original: list[Any], patch: list[Any], merge_key: str) -> bool:
    """Whether every item of both lists is a map with a distinct merge key (patch keys all new)."""
    seen: set[Any] = set()
    try:
        for item in (*original, *patch):
            if type(item) is not dict or merge_key not in item:
                return False
            key = _go_key(item[merge_key])
            if key in seen:
                return False
            seen.add(key)
    except StrategicMergeError:
        return False
    return True


def _apply_list_directives(
    original: list[Any], patch: list[dict[str, Any]], merge_key: str, copies: PatchCopies | None = None
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Handle ``$patch`` items: deletions drop matching originals, ``replace`` discards the original list."""
    plain: list[dict[str, Any]] = []
    replace = False
    doomed: set[Any] = set()
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            doomed.add(_go_key(item[merge_key]))
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise StrategicMergeError("merging lists cannot yet be specified in the patch")
        else:
            raise StrategicMergeError(f"unknown patch type: {directive!r} in map: {item!r}")
    if replace:
        return [_fresh(item, True, copies) for item in plain], []
    if doomed:
        original = [item for item in original if not (merge_key in item and _go_key(item[merge_key]) in doomed)]
    return original, plain


def _merge_items(
    original: list[Any],
    patch: list[dict[str, Any]],
    merge_key: str,
    schema: Schema,
    copies: PatchCopies | None = None,
) -> list[Any]:
    """Merge each patch item into the first original item with its key, or append it."""
    merged = list(original)
    position: dict[Any, int] = {}
    for index, item in enumerate(merged):
        if merge_key in item:
            position.setdefault(_go_key(item[merge_key]), index)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        key = _go_key(item[merge_key])
        found = position.get(key)
        if found is None:
            position[key] = len(merged)
            merged.append(_fresh(item, True, copies))
        else:
            merged[found] = _merge_map(merged[found], item, schema, copies)
    return merged


def _identity(item: Any, merge_key: str | None) -> Any:
    """What order comparisons look at: the merge key's value for maps, the item itself for scalars."""
    if merge_key is None:
        return _go_key(item)
    if type(item) is not dict:
        raise StrategicMergeError(f"expected a map, but received a {_go_type_name(item)}")
    if merge_key not in item:
        raise _no_merge_key(item, merge_key)
    return _go_key(item[merge_key])


def _partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split ``merged`` into the items that ``by`` names and the rest, keeping order."""
    if merge_key:
        names = set()
        for item in by:
            if type(item) is not dict:
                raise StrategicMergeError(f"expected a map, but received a {_go_type_name(item)}")
            if merge_key in item:
                names.add(_go_key(item[merge_key]))
        keys = [_identity(item, merge_key) for item in merged]
    else:
        names = {_go_key(item) for item in by}
        keys = [_go_key(item) for item in merged]
    named = [item for item, key in zip(merged, keys, strict=True) if key in names]
    rest = [item for item, key in zip(merged, keys, strict=True) if key not in names]
    return named, rest


def _first_positions(items: list[Any], merge_key: str | None) -> dict[Any, int]:
    positions: dict[Any, int] = {}
    for index, item in enumerate(items):
        positions.setdefault(_identity(item, merge_key), index)
    return positions


def _sorted_by(items: list[Any], order: list[Any], merge_key: str | None) -> list[Any]:
    """Stable sort of ``items`` by their position in ``order``; ``$patch: delete`` items go last."""
    kept = items
    deletions: list[Any] = []
    if merge_key is not None:
        kept = [item for item in items if not (type(item) is dict and item.get(_DIRECTIVE) == "delete")]
        deletions = [item for item in items if type(item) is dict and item.get(_DIRECTIVE) == "delete"]
    positions = _first_positions(order, merge_key)
    ranks = [positions.get(_identity(item, merge_key)) for item in kept]
    known = [rank for rank in ranks if rank is not None]
    if len(known) == len(kept):
        return [kept[i] for i in sorted(range(len(kept)), key=known.__getitem__)] + deletions
    # An item missing from ``order`` (possible with an empty ``$setElementOrder``) makes Go's comparator
    # answer "less" both ways, so the outcome is whatever Go's stable sort does with it.
    pairs = list(zip(ranks, kept, strict=True))
    _go_stable_sort(pairs, lambda x, y: x[0] is None or y[0] is None or x[0] < y[0])
    return [item for _, item in pairs] + deletions


def _go_stable_sort(items: list[Any], less: Callable[[Any, Any], bool]) -> None:
    """Go's ``sort.Stable`` (insertion-sorted blocks of 20, then SymMerge), in place.

    Only needed where ``less`` is not a consistent order; then the exact algorithm decides the result.
    """
    n = len(items)
    block = 20
    start = 0
    while start + block <= n:
        _insertion_sort(items, start, start + block, less)
        start += block
    _insertion_sort(items, start, n, less)
    while block < n:
        start = 0
        while start + 2 * block <= n:
            _sym_merge(items, start, start + block, start + 2 * block, less)
            start += 2 * block
        if start + block < n:
            _sym_merge(items, start, start + block, n, less)
        block *= 2


def _insertion_sort(items: list[Any], lo: int, hi: int, less: Callable[[Any, Any], bool]) -> None:
    for i in range(lo + 1, hi):
        j = i
        while j > lo and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1


def _sym_merge(items: list[Any], a: int, m: int, b: int, less: Callable[[Any, Any], bool]) -> None:
    """Merge the sorted runs items[a:m] and items[m:b] (Kim & Kutzner's SymMerge, as Go does it)."""
    if m - a == 1:
        # Binary search for the first element of the right run not less than items[a]; move items[a] there.
        lo, hi = m, b
        while lo < hi:
            mid = (lo + hi) // 2
            if less(items[mid], items[a]):
                lo = mid + 1
            else:
                hi = mid
        items.insert(lo - 1, items.pop(a))
        return
    if b - m == 1:
        lo, hi = a, m
        while lo < hi:
            mid = (lo + hi) // 2
            if not less(items[m], items[mid]):
                lo = mid + 1
            else:
                hi = mid
        items.insert(lo, items.pop(m))
        return
    mid = (a + b) // 2
    total = mid + m
    if m > mid:
        start, right = total - b, mid
    else:
        start, right = a, m
    last = total - 1
    while start < right:
        c = (start + right) // 2
        if not less(items[last - c], items[c]):
            start = c + 1
        else:
            right = c
    end = total - start
    if start < m < end:
        items[start:end] = items[m:end] + items[start:m]
    if a < start < mid:
        _sym_merge(items, a, start, mid, less)
    if mid < end < b:
        _sym_merge(items, mid, end, b, less)


def _normalize_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str | None,
) -> list[Any]:
    """Interleave server-only items into the patch-ordered items (apimachinery's ``normalizeElementOrder``).

    A server-only item is emitted before the next patch item only when both appear in the original list and
    the server-only item came first there; a patch item absent from the original list is emitted at once.
    """
    right = _sorted_by(patch_items, patch_order, merge_key)
    left = _sorted_by(server_only, server_order, merge_key)
    if not left or not right:
        return right + left
    positions = _first_positions(server_order, merge_key)
    result: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        left_at = positions.get(_identity(left[i], merge_key))
        right_at = positions.get(_identity(right[j], merge_key))
        if left_at is not None and right_at is not None and left_at < right_at:
            result.append(left[i])
            i += 1
        else:
            result.append(right[j])
            j += 1
    result.extend(left[i:])
    result.extend(right[j:])
    return result
