"""Sprig's list, dict, default and reflection functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from meshinject.gotemplate._sprig_base import (
    NIL_DEREF,
    FuncError,
    GoObject,
    GoSlice,
    TypedList,
    TypedMap,
    deep_equal,
    go_kind,
    go_type_of,
    is_empty,
    is_slice,
    slice_items,
    strval,
    type_assert_map,
)
from meshinject.gotemplate._sprig_cast import to_int64
from meshinject.gotemplate.funcs import go_func

# --- lists --------------------------------------------------------------------------------------------------


def _list_items(value: Any, what: str) -> list[Any]:
    """The elements of a slice argument; Sprig panics on nil and errors on other kinds."""
    if value is None:
        raise FuncError(NIL_DEREF)
    if not is_slice(value):
        raise FuncError(what.format(kind=go_kind(value)))
    return slice_items(value)


def _nil_slice() -> GoSlice:
    return GoSlice((), nil=True)


@go_func(variadic="any")
def list_(*values: Any) -> list[Any]:
    return list(values)


@go_func("any", "any")
def push(lst: Any, v: Any) -> list[Any]:
    return [*_list_items(lst, "Cannot push on type {kind}"), v]


@go_func("any", "any")
def prepend(lst: Any, v: Any) -> list[Any]:
    return [v, *_list_items(lst, "Cannot prepend on type {kind}")]


@go_func("int", "any")
def chunk(size: int, lst: Any) -> list[Any]:
    items = _list_items(lst, "Cannot chunk type {kind}")
    n = len(items)
    if size <= 0:  # Go computes a negative or NaN chunk count (or length) and make() panics
        raise FuncError("runtime error: makeslice: len out of range")
    count = (n - 1) // size + 1
    out = GoSlice((), "[][]interface {}")
    for i in range(count):
        clen = size
        if i == count - 1:
            clen = n % size or size
        out.append(items[i * size : i * size + clen])
    return out


def _first(lst: Any) -> Any:
    items = _list_items(lst, "Cannot find first on type {kind}")
    return items[0] if items else None


def _last(lst: Any) -> Any:
    items = _list_items(lst, "Cannot find last on type {kind}")
    return items[-1] if items else None


def _rest(lst: Any) -> list[Any]:
    items = _list_items(lst, "Cannot find rest on type {kind}")
    return items[1:] if items else _nil_slice()


def _initial(lst: Any) -> list[Any]:
    items = _list_items(lst, "Cannot find initial on type {kind}")
    return items[:-1] if items else _nil_slice()


def _reverse(lst: Any) -> list[Any]:
    return _list_items(lst, "Cannot find reverse on type {kind}")[::-1]


def _compact(lst: Any) -> list[Any]:
    return [x for x in _list_items(lst, "Cannot compact on type {kind}") if not is_empty(x)]


def _in_list(haystack: list[Any], needle: Any) -> bool:
    return any(deep_equal(needle, h) for h in haystack)


def _uniq(lst: Any) -> list[Any]:
    out: list[Any] = []
    for x in _list_items(lst, "Cannot find uniq on type {kind}"):
        if not _in_list(out, x):
            out.append(x)
    return out


def _without(lst: Any, *omit: Any) -> list[Any]:
    omitted = list(omit)
    return [x for x in _list_items(lst, "Cannot find without on type {kind}") if not _in_list(omitted, x)]


def _has(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    return _in_list(_list_items(haystack, "Cannot find has on type {kind}"), needle)


def _slice(lst: Any, *indices: Any) -> Any:
    items = _list_items(lst, "list should be type of slice or array but {kind}")
    n = len(items)
    if n == 0:
        return None
    start = to_int64(indices[0]) if indices else 0
    end = to_int64(indices[1]) if len(indices) >= 2 else n
    if start < 0 or end < start or end > n:
        raise FuncError("reflect.Value.Slice: slice index out of bounds")
    part = items[start:end]
    if isinstance(lst, GoSlice):
        return GoSlice(part, lst.go_type)
    return part


@go_func(variadic="any")
def concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for lst in lists:
        if lst is None:
            raise FuncError(NIL_DEREF)
        if not is_slice(lst):
            raise FuncError(f"Cannot concat type {go_kind(lst)} as list")
        out.extend(slice_items(lst))
    return out if out else _nil_slice()


def _pair(fn: Callable[..., Any], sig: tuple[str, ...], variadic: str | None = None) -> Callable[..., Any]:
    return go_func(*sig, variadic=variadic)(fn)


first = _pair(_first, ("any",))
last = _pair(_last, ("any",))
rest = _pair(_rest, ("any",))
initial = _pair(_initial, ("any",))
reverse = _pair(_reverse, ("any",))
compact = _pair(_compact, ("any",))
uniq = _pair(_uniq, ("any",))
without = _pair(_without, ("any",), "any")
has = _pair(_has, ("any", "any"))
slice_ = _pair(_slice, ("any",), "any")


# --- dicts --------------------------------------------------------------------------------------------------


@go_func("map[string]interface {}", "string")
def get(d: dict[str, Any] | None, key: str) -> Any:
    if d is not None and key in d:
        return d[key]
    return ""


@go_func("map[string]interface {}", "string", "any")
def set_(d: dict[str, Any] | None, key: str, value: Any) -> dict[str, Any]:
    if d is None:
        raise FuncError("assignment to entry in nil map")
    d[key] = value
    return d


@go_func("map[string]interface {}", "string")
def unset(d: dict[str, Any] | None, key: str) -> dict[str, Any]:
    if d is None:  # Go hands back the nil map, which prints as map[]
        return TypedMap({}, "map[string]interface {}", None, is_nil=True)
    d.pop(key, None)
    return d


@go_func("map[string]interface {}", "string")
def has_key(d: dict[str, Any] | None, key: str) -> bool:
    return d is not None and key in d


@go_func("string", variadic="map[string]interface {}")
def pluck(key: str, *dicts: dict[str, Any] | None) -> list[Any]:
    return [d[key] for d in dicts if d is not None and key in d]


@go_func(variadic="map[string]interface {}")
def keys(*dicts: dict[str, Any] | None) -> GoSlice:
    return GoSlice([k for d in dicts if d is not None for k in d], "[]string")


@go_func("map[string]interface {}", variadic="string")
def pick(d: dict[str, Any] | None, *names: str) -> dict[str, Any]:
    src = d or {}
    return {k: src[k] for k in names if k in src}


@go_func("map[string]interface {}", variadic="string")
def omit(d: dict[str, Any] | None, *names: str) -> dict[str, Any]:
    dropped = set(names)
    return {k: v for k, v in (d or {}).items() if k not in dropped}


@go_func(variadic="any")
def dict_(*values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(values), 2):
        key = strval(values[i])
        out[key] = values[i + 1] if i + 1 < len(values) else ""
    return out


@go_func("map[string]interface {}")
def values(d: dict[str, Any] | None) -> list[Any]:
    return list((d or {}).values())


def _merge_into(dst: dict[Any, Any], src: Mapping[Any, Any], overwrite: bool) -> None:
    """mergo's map merge as Sprig calls it (``Merge`` / ``MergeWithOverwrite`` of map[string]interface{}).

    Nested maps merge in place, so a map taken over from a source stays shared with it (Sprig's aliasing).
    Slices are never merged, only replaced; without overwrite, only missing or empty entries are filled.
    """
    for key, sv in src.items():
        has_dst = key in dst
        dv = dst.get(key)
        if sv is None:
            if overwrite:
                dst[key] = None
            continue
        if isinstance(sv, Mapping):
            if has_dst and isinstance(dv, dict):
                _merge_into(dv, sv, overwrite)
        elif is_slice(sv):
            keep: Any
            if overwrite or not dst:
                keep = sv
            elif has_dst and dv is not None:
                keep = dv
            else:
                keep = []  # replaced below: the key is missing or nil
            dst[key] = keep
        if has_dst and not is_empty(dv):
            if is_slice(sv):
                continue
            if isinstance(sv, Mapping) and isinstance(dv, Mapping):
                continue
        if overwrite or not has_dst or is_empty(dv):
            dst[key] = sv


def _merge_all(dst: dict[str, Any] | None, srcs: tuple[dict[str, Any] | None, ...], overwrite: bool) -> Any:
    target: dict[str, Any] = {} if dst is None else dst
    for src in srcs:
        if src is not None:
            _merge_into(target, src, overwrite)
    return target


@go_func("map[string]interface {}", variadic="map[string]interface {}")
def merge(dst: dict[str, Any] | None, *srcs: dict[str, Any] | None) -> Any:
    return _merge_all(dst, srcs, False)


@go_func("map[string]interface {}", variadic="map[string]interface {}")
def merge_overwrite(dst: dict[str, Any] | None, *srcs: dict[str, Any] | None) -> Any:
    return _merge_all(dst, srcs, True)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, TypedList):
        return TypedList((_deep_copy(x) for x in value), value.go_type, is_nil=value.is_nil)
    if isinstance(value, TypedMap):
        copied = {k: _deep_copy(v) for k, v in value.items()}
        return TypedMap(copied, value.go_type, value.elem_zero, is_nil=value.is_nil)
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep_copy(x) for x in value]
    return value


@go_func("any")
def deep_copy(value: Any) -> Any:
    if value is None:  # copystructure panics on a nil interface; deepCopy and mustDeepCopy alike
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    return _deep_copy(value)


@go_func(variadic="any")
def dig(*args: Any) -> Any:
    if len(args) < 3:
        raise FuncError("dig needs at least three arguments")
    current = type_assert_map(args[-1])
    default = args[-2]
    path = []
    for k in args[:-2]:
        if not isinstance(k, str):
            have = "nil" if k is None else go_type_of(k)
            raise FuncError(f"interface conversion: interface {{}} is {have}, not string")
        path.append(k)
    for i, k in enumerate(path):
        if k not in current:
            return default
        step = current[k]
        if i == len(path) - 1:
            return step
        current = type_assert_map(step)
    return default  # pragma: no cover - the loop always returns


# --- defaults -----------------------------------------------------------------------------------------------


@go_func("any", variadic="any")
def default(d: Any, *given: Any) -> Any:
    if not given or is_empty(given[0]):
        return d
    return given[0]


@go_func("any")
def empty(value: Any) -> bool:
    return is_empty(value)


@go_func(variadic="any")
def coalesce(*values: Any) -> Any:
    for v in values:
        if not is_empty(v):
            return v
    return None


@go_func(variadic="any")
def all_(*values: Any) -> bool:
    return all(not is_empty(v) for v in values)


@go_func(variadic="any")
def any_(*values: Any) -> bool:
    return any(not is_empty(v) for v in values)


@go_func("any", "any", "bool")
def ternary(vt: Any, vf: Any, cond: bool) -> Any:
    return vt if cond else vf


# --- reflection ---------------------------------------------------------------------------------------------


@go_func("any")
def type_of(value: Any) -> str:
    return go_type_of(value)


@go_func("string", "any")
def type_is(target: str, value: Any) -> bool:
    return target == go_type_of(value)


@go_func("string", "any")
def type_is_like(target: str, value: Any) -> bool:
    t = go_type_of(value)
    return target == t or "*" + target == t


@go_func("any")
def kind_of(value: Any) -> str:
    return go_kind(value)


@go_func("string", "any")
def kind_is(target: str, value: Any) -> bool:
    return target == go_kind(value)


@go_func("any", "any")
def deep_equal_(a: Any, b: Any) -> bool:
    return deep_equal(a, b)


__all__ = ["GoObject"]
