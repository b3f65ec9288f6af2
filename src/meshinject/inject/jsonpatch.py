"""RFC 6902 JSON patches from an original document to a modified one, built directly and fast.

The admission webhook answers with the patch that turns the pod it received into the injected pod.  Istio
computes it with a generic JSON diff; here the operations are built field by field:

* Objects: ``remove`` for dropped keys, ``add`` for new keys, recursion into changed values.
* Scalars and values whose JSON type changes: one ``replace``.
* Arrays: the common head and tail are skipped, then the rest is aligned in O(n log n) (a longest increasing
  subsequence over matching elements), so a sidecar added to ``containers`` or a few entries changed in a list
  of thousands of ``env`` vars cost a handful of operations and no quadratic work.  Elements are matched by
  their ``name`` when every element is an object with a distinct string ``name`` (containers, volumes, env
  vars, ports with names), otherwise by exact content; matched elements are diffed recursively, unmatched ones
  are added, removed, or diffed in place when they sit at the same spot.  When that takes more operations
  than the new array has elements and more bytes than the array itself, the array is replaced whole.

Equality is JSON equality: ``1``, ``1.0`` and ``true`` are different values (Python's ``==`` would not tell
them apart).  The operations hold references into ``modified`` (no copies); serialise them with
:func:`dumps_patch` before changing ``modified``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Any

import msgspec

__all__ = ["dumps_patch", "json_diff", "pod_patch"]

Operation = dict[str, Any]

_SORTED_ENCODER = msgspec.json.Encoder(order="sorted")
_ENCODER = msgspec.json.Encoder()
# Lists compared block by block at C speed before looking at single elements.
_BLOCK = 64


def pod_patch(original: dict[str, Any], modified: dict[str, Any]) -> list[Operation]:
    """The JSON patch that turns pod ``original`` into pod ``modified``."""
    return json_diff(original, modified)


def json_diff(original: Any, modified: Any) -> list[Operation]:
    """A JSON patch turning ``original`` into ``modified``; both are plain JSON values and are not changed."""
    ops: list[Operation] = []
    _diff(original, modified, "", ops)
    return ops


def dumps_patch(ops: list[Operation]) -> bytes:
    """Serialise operations as compact JSON (the form an AdmissionReview response carries, before base64)."""
    return _ENCODER.encode(ops)


def _escape(key: str) -> str:
    if "~" in key or "/" in key:
        return key.replace("~", "~0").replace("/", "~1")
    return key


def _text(value: Any) -> bytes | None:
    """Canonical JSON text (sorted keys), or None if the value is not encodable."""
    try:
        return _SORTED_ENCODER.encode(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _same(a: Any, b: Any) -> bool:
    """JSON equality: Python equality plus identical JSON types throughout."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict or kind is list:
        if a != b:
            return False
        # Python's == holds; JSON equality needs the same types too. Encoding in the documents' own key order
        # is cheaper than sorting: documents equal except for key order come out "not same" and are then
        # diffed field by field, which finds nothing to change.
        try:
            return _ENCODER.encode(a) == _ENCODER.encode(b)
        except (TypeError, ValueError, OverflowError):
            return False
    return _same_scalar(a, b)


def _same_scalar(a: Any, b: Any) -> bool:
    """Equality of two scalars of one type; -0.0 and 0.0 are written differently, so they differ."""
    if a != b:
        return False
    return type(a) is not float or math.copysign(1.0, a) == math.copysign(1.0, b)


def _diff(a: Any, b: Any, path: str, ops: list[Operation]) -> None:
    if a is b:
        return
    kind = type(a)
    if kind is type(b):
        if kind is dict:
            _diff_object(a, b, path, ops)
            return
        if kind is list:
            _diff_array(a, b, path, ops)
            return
        if _same_scalar(a, b):
            return
    ops.append({"op": "replace", "path": path, "value": b})


def _diff_object(a: dict[str, Any], b: dict[str, Any], path: str, ops: list[Operation]) -> None:
    for key in a:
        if key not in b:
            ops.append({"op": "remove", "path": f"{path}/{_escape(key)}"})
    for key, new in b.items():
        if key not in a:
            ops.append({"op": "add", "path": f"{path}/{_escape(key)}", "value": new})
            continue
        old = a[key]
        if old is new:
            continue
        kind = type(old)
        if kind is type(new):
            if kind is dict or kind is list:
                if not _same(old, new):
                    _diff(old, new, f"{path}/{_escape(key)}", ops)
                continue
            if _same_scalar(old, new):
                continue
        ops.append({"op": "replace", "path": f"{path}/{_escape(key)}", "value": new})


def _common_prefix(a: list[Any], b: list[Any], limit: int) -> int:
    """Length of the longest common head of ``a`` and ``b`` (JSON equality), at most ``limit``."""
    n = 0
    # Whole blocks first: list equality runs in C, and one encoding per block confirms JSON equality.
    while n + _BLOCK <= limit and _same(a[n : n + _BLOCK], b[n : n + _BLOCK]):
        n += _BLOCK
    while n < limit and _same(a[n], b[n]):
        n += 1
    return n


def _common_suffix(a: list[Any], b: list[Any], limit: int) -> int:
    n = 0
    la, lb = len(a), len(b)
    while n + _BLOCK <= limit and _same(a[la - n - _BLOCK : la - n], b[lb - n - _BLOCK : lb - n]):
        n += _BLOCK
    while n < limit and _same(a[la - 1 - n], b[lb - 1 - n]):
        n += 1
    return n


def _names(items: list[Any]) -> list[str] | None:
    """The ``name`` of every element, if all are objects with distinct string names."""
    names: list[str] = []
    for item in items:
        if type(item) is not dict:
            return None
        name = item.get("name")
        if type(name) is not str:
            return None
        names.append(name)
    if len(set(names)) != len(names):
        return None
    return names


def _content_key(item: Any) -> Any:
    kind = type(item)
    if kind is dict or kind is list:
        text = _text(item)
        # An unencodable element matches nothing and is diffed in place instead.
        return text if text is not None else ("unencodable", id(item))
    if kind is str:
        return item
    if kind is float:
        return ("float", item, math.copysign(1.0, item))
    return (kind.__name__, item)


def _diff_array(a: list[Any], b: list[Any], path: str, ops: list[Operation]) -> None:
    local: list[Operation] = []
    _diff_array_items(a, b, path, local)
    # A reshuffled list costs more as element operations than as one replacement; check only when the
    # operations outnumber the elements, so the usual few-changes case never pays for the encoding.
    if len(local) > 1 and len(local) >= len(b):
        replacement: Operation = {"op": "replace", "path": path, "value": b}
        whole, pieces = _text(replacement), _text(local)
        if whole is not None and pieces is not None and len(whole) < len(pieces):
            ops.append(replacement)
            return
    ops.extend(local)


def _diff_array_items(a: list[Any], b: list[Any], path: str, ops: list[Operation]) -> None:
    limit = min(len(a), len(b))
    head = _common_prefix(a, b, limit)
    tail = _common_suffix(a, b, limit - head)
    old = a[head : len(a) - tail]
    new = b[head : len(b) - tail]
    if not old:
        for offset, value in enumerate(new):
            ops.append({"op": "add", "path": f"{path}/{head + offset}", "value": value})
        return
    if not new:
        removal = {"op": "remove", "path": f"{path}/{head}"}
        ops.extend(dict(removal) for _ in old)
        return

    old_names = _names(old)
    new_names = _names(new) if old_names is not None else None
    by_name = old_names is not None and new_names is not None
    if old_names is not None and new_names is not None:
        old_keys: list[Any] = list(old_names)
        new_keys: list[Any] = list(new_names)
    else:
        old_keys = [_content_key(item) for item in old]
        new_keys = [_content_key(item) for item in new]

    matches = _align(old_keys, new_keys)
    index = head
    i = j = 0
    for matched_old, matched_new in [*matches, (len(old), len(new))]:
        removed = matched_old - i
        added = matched_new - j
        paired = min(removed, added)
        for k in range(paired):
            if by_name:
                # Different names: a different element in this slot.
                ops.append({"op": "replace", "path": f"{path}/{index}", "value": new[j + k]})
            else:
                _diff(old[i + k], new[j + k], f"{path}/{index}", ops)
            index += 1
        if removed > paired:
            removal = {"op": "remove", "path": f"{path}/{index}"}
            ops.extend(dict(removal) for _ in range(removed - paired))
        for k in range(paired, added):
            ops.append({"op": "add", "path": f"{path}/{index}", "value": new[j + k]})
            index += 1
        if matched_old < len(old):
            if by_name:
                _diff(old[matched_old], new[matched_new], f"{path}/{index}", ops)
            index += 1
        i, j = matched_old + 1, matched_new + 1


def _align(old_keys: list[Any], new_keys: list[Any]) -> list[tuple[int, int]]:
    """Pairs (old index, new index) of equal keys, increasing in both, as many as possible.

    The k-th occurrence of a key in ``old`` may only pair with its k-th occurrence in ``new``; among those
    candidate pairs a longest increasing subsequence keeps the largest set that needs no moves.
    """
    positions: dict[Any, list[int]] = {}
    for index, key in enumerate(new_keys):
        positions.setdefault(key, []).append(index)
    seen: dict[Any, int] = {}
    candidates: list[tuple[int, int]] = []
    for index, key in enumerate(old_keys):
        slots = positions.get(key)
        if slots is None:
            continue
        occurrence = seen.get(key, 0)
        if occurrence < len(slots):
            candidates.append((index, slots[occurrence]))
            seen[key] = occurrence + 1
    if not candidates:
        return []

    # Patience sorting on the new-side indices: tails[k] is the smallest end of an increasing run of k+1.
    tails: list[int] = []
    tail_at: list[int] = []
    previous: list[int] = [-1] * len(candidates)
    for at, (_, new_index) in enumerate(candidates):
        k = bisect_left(tails, new_index)
        if k == len(tails):
            tails.append(new_index)
            tail_at.append(at)
        else:
            tails[k] = new_index
            tail_at[k] = at
        previous[at] = tail_at[k - 1] if k else -1
    chain: list[tuple[int, int]] = []
    at = tail_at[-1]
    while at != -1:
        chain.append(candidates[at])
        at = previous[at]
    chain.reverse()
    return chain
