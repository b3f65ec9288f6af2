"""Go's predefined template functions (text/template funcs.go), with Go's semantics and error texts."""

from __future__ import annotations

import html as _html
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus

from . import gofmt
from ._values import MISSING, NIL_INTERFACE, GoObject, TypedInt, go_type_name, is_true
from .errors import FuncError
from .funcs import go_func, signature_of

_INT_KINDS = ("int", "int8", "int16", "int32", "int64")
_UINT_KINDS = ("uint", "uint8", "uint16", "uint32", "uint64", "uintptr")


class _Fail(Exception):
    pass


def _fail(message: str) -> Exception:
    # Imported lazily to avoid a cycle: _exec imports this module.
    from ._exec import Fail

    return Fail(message)


_NO_VALUE = "<no value>"


def print_value(value: Any) -> str:
    """What an action prints for its pipeline's value (Go's printValue)."""
    if value is MISSING or value is None:
        return "<no value>"
    if callable(value) and not isinstance(value, GoObject):
        raise _fail(f"can't print {value!r} of type {go_type_name(value)}")
    return gofmt.format_value(value)


def sorted_keys(mapping: Mapping[Any, Any]) -> list[Any]:
    """Map keys in the order Go's fmtsort gives (numbers numerically, strings bytewise)."""
    keys = list(mapping.keys())
    try:
        if all(isinstance(k, str) for k in keys):
            return sorted(keys, key=lambda k: k.encode("utf-8", errors="surrogateescape"))
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=repr)


# -- basic kinds for comparisons ----------


def _basic_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, TypedInt):
        return "uint" if value.go_type in _UINT_KINDS else "int"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, complex):
        return "complex"
    if isinstance(value, str):
        return "string"
    if isinstance(value, GoObject):
        s = value.go_string()
        if s is not None and hasattr(value, "go_kind"):
            return str(value.go_kind)
    return "invalid"


def _comparable(value: Any) -> bool:
    return not isinstance(value, list | tuple | dict) and not callable(value)


def eq(arg1: Any, *args: Any) -> bool:
    if not args:
        raise FuncError("missing argument for comparison")
    k1 = _basic_kind(arg1)
    for arg in args:
        k2 = _basic_kind(arg)
        truth = False
        if k1 != k2:
            if k1 == "int" and k2 == "uint":
                truth = arg1 >= 0 and arg1 == arg
            elif k1 == "uint" and k2 == "int":
                truth = arg >= 0 and arg1 == arg
            elif _valid(arg1) and _valid(arg):
                raise FuncError(f"incompatible types for comparison: {go_type_name(arg1)} and {go_type_name(arg)}")
        elif k1 == "invalid":
            a_nil, b_nil = _is_nil(arg1), _is_nil(arg)
            if a_nil or b_nil:
                if not _comparable(arg1) and not a_nil and not b_nil:
                    raise FuncError("non-comparable types")
                truth = a_nil == b_nil
            else:
                if not _comparable(arg1) or not _comparable(arg):
                    bad = arg if _comparable(arg1) else arg1
                    raise FuncError(
                        f"non-comparable type {gofmt.format_value(bad)}: {go_type_name(bad)}"
                        if _comparable(arg1) == _comparable(arg)
                        else "non-comparable types"
                    )
                truth = arg1 == arg
        else:
            truth = arg1 == arg
        if truth:
            return True
    return False


def _valid(value: Any) -> bool:
    return value is not MISSING and value is not None and value is not NIL_INTERFACE


def _is_nil(value: Any) -> bool:
    return value is None or value is MISSING or value is NIL_INTERFACE


def ne(arg1: Any, arg2: Any) -> bool:
    return not eq(arg1, arg2)


def lt(arg1: Any, arg2: Any) -> bool:
    k1 = _basic_kind(arg1)
    if k1 == "invalid":
        raise FuncError("invalid type for comparison")
    k2 = _basic_kind(arg2)
    if k2 == "invalid":
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        if k1 == "int" and k2 == "uint":
            return bool(arg1 < 0 or arg1 < arg2)
        if k1 == "uint" and k2 == "int":
            return bool(arg2 >= 0 and arg1 < arg2)
        raise FuncError(f"incompatible types for comparison: {go_type_name(arg1)} and {go_type_name(arg2)}")
    if k1 in ("bool", "complex"):
        raise FuncError("invalid type for comparison")
    if k1 == "string":
        return bool(_bytes(arg1) < _bytes(arg2))
    return bool(arg1 < arg2)


def le(arg1: Any, arg2: Any) -> bool:
    return lt(arg1, arg2) or eq(arg1, arg2)


def gt(arg1: Any, arg2: Any) -> bool:
    return not le(arg1, arg2)


def ge(arg1: Any, arg2: Any) -> bool:
    return not lt(arg1, arg2)


def _bytes(s: str) -> bytes:
    return s.encode("utf-8", errors="surrogateescape")


def not_(arg: Any) -> bool:
    return not is_true(arg)


# -- len, index, slice ----------


def length(item: Any) -> int:
    if item is MISSING:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if item is None:
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item) if item.isascii() else len(_bytes(item))
    if isinstance(item, list | tuple | Mapping):
        return len(item)
    raise FuncError(f"len of type {go_type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    if index is None or index is MISSING:
        raise FuncError("cannot index slice/array with nil")
    if isinstance(index, bool) or not isinstance(index, int):
        raise FuncError(f"cannot index slice/array with type {go_type_name(index)}")
    x = int(index)
    if x < 0 or x > cap:
        raise FuncError(f"index out of range: {x}")
    return x


def index(item: Any, *indexes: Any) -> Any:
    if item is None or item is MISSING:
        raise FuncError("index of untyped nil")
    for idx in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, str):
            data = _bytes(item)
            x = _index_arg(idx, len(data))
            if x >= len(data):
                raise FuncError("reflect: string index out of range")
            item = TypedInt(data[x], "uint8")
        elif isinstance(item, list | tuple):
            x = _index_arg(idx, len(item))
            if x >= len(item):
                raise FuncError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, Mapping):
            if idx is None or idx is MISSING:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(idx, str) and all(isinstance(k, str) for k in item):
                raise FuncError(f"value has type {go_type_name(idx)}; should be string")
            # A typed map (map[string]string ...) yields its element's zero value for a missing key.
            item = item.get(idx, getattr(item, "elem_zero", None))
        elif item is MISSING:
            raise FuncError("index of untyped nil")
        else:
            raise FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def slice_(item: Any, *indexes: Any) -> Any:
    if item is None or item is MISSING:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data = _bytes(item)
        cap = len(data)
    elif isinstance(item, list | tuple):
        data = None
        cap = len(item)
    else:
        raise FuncError(f"can't slice item of type {go_type_name(item)}")
    idx = [0, cap, cap]
    for i, index_value in enumerate(indexes):
        idx[i] = _index_arg(index_value, cap)
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if data is not None:
        return data[idx[0] : idx[1]].decode("utf-8", errors="surrogateescape")
    assert isinstance(item, list | tuple)
    return list(item[idx[0] : idx[1]])


# -- printing and escaping ----------


def _eval_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    # Go prints each argument as an action would: a nil argument reads <no value>.
    return gofmt.sprint(*(_NO_VALUE if a is None or a is MISSING else a for a in args))


def html_escape(*args: Any) -> str:
    s = _eval_args(args)
    if not any(c in s for c in "'\"&<>\0"):
        return s
    out = []
    for ch in s:
        if ch == '"':
            out.append("&#34;")
        elif ch == "'":
            out.append("&#39;")
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "\0":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


_JS_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "<": "\\u003C",
    ">": "\\u003E",
    "&": "\\u0026",
    "=": "\\u003D",
}


def js_escape(*args: Any) -> str:
    s = _eval_args(args)
    out = []
    for ch in s:
        esc = _JS_ESCAPES.get(ch)
        code = ord(ch)
        if esc is not None:
            out.append(esc)
        elif code < 0x20:
            out.append(f"\\u00{code:02X}")  # every control character, tab and newline included
        elif code < 0x80 or 0xDC80 <= code <= 0xDCFF or ch.isprintable():
            # A stray byte of invalid UTF-8 decodes to U+FFFD in Go, which is printable: it passes through.
            out.append(ch)
        else:
            out.append(f"\\u{code:04X}")
    return "".join(out)


def urlquery(*args: Any) -> str:
    # url.QueryEscape works on bytes: stray bytes of invalid UTF-8 are escaped one by one.
    return quote_plus(_eval_args(args).encode("utf-8", errors="surrogateescape"), safe="")


def call(callee: str, fn: Any, *args: Any) -> Any:
    if fn is None or fn is MISSING:
        raise FuncError("call of nil")
    if not callable(fn):
        raise FuncError(f"non-function {callee} of type {go_type_name(fn)}")
    sig = signature_of(fn)
    if sig is not None:
        want = len(sig.params)
        if sig.variadic is not None:
            if len(args) < want:
                raise FuncError(f"wrong number of args for {callee}: got {len(args)} want at least {want}")
        elif len(args) != want:
            raise FuncError(f"wrong number of args for {callee}: got {len(args)} want {want}")
        for i, arg in enumerate(args):
            typ = sig.params[i] if i < want else (sig.variadic or "any")
            problem = type_mismatch(arg, typ)
            if problem:
                raise FuncError(f"arg {i}: {problem}")
    return fn(*(None if a is MISSING else a for a in args))


@go_func("string", variadic="any")
def type_mismatch(value: Any, typ: str) -> str | None:
    """Go's prepareArg message when ``value`` cannot be passed as a parameter of type ``typ``."""
    if typ in ("any", "reflect"):
        return None
    if value is None or value is MISSING:
        return None if typ in ("[]any", "func") or typ.startswith("map") else f"value is nil; should be of type {typ}"
    ok = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "float64": isinstance(value, float),
        "[]any": isinstance(value, list | tuple),
        "map": isinstance(value, Mapping),
    }.get(typ)
    if ok is None and typ.startswith("map["):
        ok = isinstance(value, Mapping) and getattr(value, "go_type", "map[string]interface {}") == typ
    if ok is None:
        ok = isinstance(value, int) and not isinstance(value, bool) if typ.startswith(("int", "uint")) else True
    return None if ok else f"value has type {go_type_name(value)}; should be {typ}"


@go_func("string", variadic="any")
def printf(fmt: str, *args: Any) -> str:
    return gofmt.sprintf(fmt, *args)


@go_func(variadic="any")
def print_(*args: Any) -> str:
    return gofmt.sprint(*args)


@go_func(variadic="any")
def println(*args: Any) -> str:
    return gofmt.sprintln(*args)


for _fn in (html_escape, js_escape, urlquery):
    go_func(variadic="any")(_fn)

_ = _html

BUILTINS: dict[str, Callable[..., Any]] = {
    "and": lambda *a: a[-1],  # evaluated lazily by the executor
    "or": lambda *a: a[-1],
    "call": call,
    "html": html_escape,
    "index": index,
    "slice": slice_,
    "js": js_escape,
    "len": length,
    "not": not_,
    "print": print_,
    "printf": printf,
    "println": println,
    "urlquery": urlquery,
    "eq": eq,
    "ge": ge,
    "gt": gt,
    "le": le,
    "lt": lt,
    "ne": ne,
}

# Builtins whose Go parameters are reflect.Value: they see invalid values (MISSING) as they are.
REFLECT_ARG_BUILTINS = frozenset({"call", "index", "slice", "len", "not", "eq", "ge", "gt", "le", "lt", "ne"})

_ARITY: dict[str, tuple[int, bool]] = {
    "call": (1, True),
    "index": (1, True),
    "slice": (1, True),
    "len": (1, False),
    "not": (1, False),
    "eq": (1, True),
    "ge": (2, False),
    "gt": (2, False),
    "le": (2, False),
    "lt": (2, False),
    "ne": (2, False),
}


def check_arity(name: str, n_args: int, n_in: int) -> None:
    want, variadic = _ARITY[name]
    if variadic:
        if n_in < want:
            raise _fail(f"wrong number of args for {name}: want at least {want} got {n_args}")
    elif n_in != want:
        raise _fail(f"wrong number of args for {name}: want {want} got {n_in}")
