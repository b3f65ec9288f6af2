"""Shared helpers of the Sprig function set: Go value semantics that several function families need.

Go strings are byte strings; here they are ``str``. Where Sprig works on bytes (slicing, byte loops), the text
is encoded as UTF-8 with ``surrogateescape`` and decoded back the same way, so a cut through a multi-byte
character survives as lone surrogates that encode back to the exact bytes Go would write.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from meshinject.gotemplate._values import MISSING, GoObject, TypedInt, go_type_name
from meshinject.gotemplate.datamodel import TypedList, TypedMap
from meshinject.gotemplate.errors import FuncError
from meshinject.gotemplate.funcs import go_func
from meshinject.gotemplate.gofmt import format_value as _format_value
from meshinject.gotemplate.gofmt import quote as _go_quote

__all__ = [
    "MISSING",
    "FuncError",
    "GoMap",
    "GoObject",
    "GoSlice",
    "TypedInt",
    "TypedList",
    "TypedMap",
    "bound_method",
    "deep_equal",
    "format_value",
    "from_bytes",
    "go_is_space",
    "go_kind",
    "go_quote",
    "go_type_of",
    "is_empty",
    "strval",
    "to_bytes",
]

NIL_DEREF = "runtime error: invalid memory address or nil pointer dereference"


def format_value(value: Any) -> str:
    """Go's ``%v`` of a value."""
    return str(_format_value(value))


class GoSlice(TypedList):
    """A slice Sprig returns with a Go type other than ``[]interface {}`` (``[]string``, ``[]int``), or nil.

    It is the data model's :class:`TypedList`: ``%T``, ``typeOf`` and ``deepEqual`` read ``go_type``, and the
    JSON encoder writes a nil slice as ``null``.
    """

    __slots__ = ()

    def __init__(self, items: Iterable[Any] = (), go_type: str = "[]interface {}", *, nil: bool = False):
        super().__init__(items, go_type, is_nil=nil)


class GoMap(TypedMap):
    """A map Sprig returns with a Go type other than ``map[string]interface {}`` (``split`` gives a
    ``map[string]string``)."""

    __slots__ = ()

    def __init__(
        self,
        items: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (),
        go_type: str = "map[string]interface {}",
        elem_zero: Any = None,
    ) -> None:
        super().__init__(items, go_type, elem_zero)


# --- bytes <-> str ------------------------------------------------------------------------------------------


def to_bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def from_bytes(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def byte_len(s: str) -> int:
    return len(s) if s.isascii() else len(to_bytes(s))


def slice_bytes(s: str, lo: int | None, hi: int | None) -> str:
    """``s[lo:hi]`` on the bytes of ``s`` with Go's bounds checks (a panic becomes a FuncError)."""
    b = s if s.isascii() else None
    n = len(s) if b is not None else len(to_bytes(s))
    lo_v = 0 if lo is None else lo
    hi_v = n if hi is None else hi
    if hi is not None and (hi_v < 0 or hi_v > n):
        if hi_v < 0:
            raise FuncError(f"runtime error: slice bounds out of range [:{hi_v}]")
        raise FuncError(f"runtime error: slice bounds out of range [:{hi_v}] with length {n}")
    if lo_v < 0:
        raise FuncError(f"runtime error: slice bounds out of range [{lo_v}:]")
    if lo_v > hi_v:
        raise FuncError(f"runtime error: slice bounds out of range [{lo_v}:{hi_v}]")
    if b is not None:
        return s[lo_v:hi_v]
    return from_bytes(to_bytes(s)[lo_v:hi_v])


# --- Go's unicode package -----------------------------------------------------------------------------------

_SPACES_ABOVE_LATIN1 = frozenset("\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                                 "\u2028\u2029\u202f\u205f\u3000")  # fmt: skip
_LATIN1_SPACES = frozenset("\t\n\v\f\r \x85\xa0")


def go_is_space(c: str) -> bool:
    """``unicode.IsSpace``."""
    if c <= "\xff":
        return c in _LATIN1_SPACES
    return c in _SPACES_ABOVE_LATIN1


def _category(c: str) -> str:
    if "\ud800" <= c <= "\udfff":  # an undecodable byte: Go sees utf8.RuneError (U+FFFD, a symbol)
        return "So"
    return unicodedata.category(c)


def go_is_upper(c: str) -> bool:
    return _category(c) == "Lu"


def go_is_lower(c: str) -> bool:
    return _category(c) == "Ll"


def go_is_title(c: str) -> bool:
    return _category(c) == "Lt"


def go_is_letter(c: str) -> bool:
    return _category(c)[0] == "L"


def go_is_number(c: str) -> bool:
    return _category(c)[0] == "N"


def go_is_punct(c: str) -> bool:
    return _category(c)[0] == "P"


def go_to_upper(c: str) -> str:
    """``unicode.ToUpper``: the simple (one-to-one) mapping; Python only offers the full one."""
    if c < "\x80":
        return c.upper()
    u = c.upper()
    if len(u) == 1:
        return u
    t = c.title()
    return t if len(t) == 1 and t != c else c


def go_to_lower(c: str) -> str:
    if c < "\x80":
        return c.lower()
    low = c.lower()
    if len(low) == 1:
        return low
    return "i" if c == "\u0130" else c


def go_to_title(c: str) -> str:
    if c < "\x80":
        return c.upper()
    t = c.title()
    if len(t) == 1:
        return t
    return go_to_upper(c)


def _map_runes(s: str, fn: Callable[[str], str]) -> str:
    return "".join(fn("\ufffd" if "\ud800" <= c <= "\udfff" else c) for c in s)


def go_upper(s: str) -> str:
    """``strings.ToUpper``."""
    return s.upper() if s.isascii() else _map_runes(s, go_to_upper)


def go_lower(s: str) -> str:
    """``strings.ToLower``."""
    return s.lower() if s.isascii() else _map_runes(s, go_to_lower)


def go_trim_space(s: str) -> str:
    """``strings.TrimSpace``."""
    i, j = 0, len(s)
    while i < j and go_is_space(s[i]):
        i += 1
    while j > i and go_is_space(s[j - 1]):
        j -= 1
    return s[i:j]


# --- strconv.Quote ------------------------------------------------------------------------------------------


def go_quote(s: str) -> str:
    """``strconv.Quote`` (``%q`` of a string)."""
    return _go_quote(s)


# --- Go types and kinds of template values ------------------------------------------------------------------

_INT_KINDS = frozenset(
    ["int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr"]
)
_NAMED_INT_KINDS = {"time.Duration": "int64", "time.Month": "int", "time.Weekday": "int", "rune": "int32",
                    "byte": "uint8"}  # fmt: skip


def go_type_of(value: Any) -> str:
    """The Go dynamic type name of a value (``%T``)."""
    return go_type_name(value)


def go_kind(value: Any) -> str:
    """The ``reflect.Kind`` name of a value; ``invalid`` for nil."""
    if value is None or value is MISSING:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, TypedInt):
        t = value.go_type
        return t if t in _INT_KINDS else _NAMED_INT_KINDS.get(t, "int")
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list | tuple | bytes | bytearray):
        return "slice"
    if isinstance(value, complex):
        return "complex128"
    if isinstance(value, GoObject):
        kind = getattr(value, "go_kind", None)
        if isinstance(kind, str):
            return kind
        return "ptr" if value.go_type_name().startswith("*") else "struct"
    if callable(value):
        return "func"
    return "struct"


def is_slice(value: Any) -> bool:
    return isinstance(value, list | tuple | bytes | bytearray)


def slice_items(value: Any) -> list[Any]:
    if isinstance(value, bytes | bytearray):
        return [TypedInt(b, "uint8") for b in value]
    return list(value)


def is_empty(value: Any) -> bool:
    """Sprig's ``empty``: whether the value is the zero value of its Go type."""
    if value is None or value is MISSING:
        return True
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float | complex):
        return value == 0
    if isinstance(value, str | Mapping | list | tuple | bytes | bytearray):
        return len(value) == 0
    if isinstance(value, GoObject):
        return go_kind(value) == "ptr" and not value.go_truth()
    return False


def deep_equal(a: Any, b: Any) -> bool:
    """``reflect.DeepEqual`` over template values (types must match, nil slices differ from empty ones)."""
    if a is MISSING:
        a = None
    if b is MISSING:
        b = None
    if a is None or b is None:
        return a is None and b is None
    if go_type_of(a) != go_type_of(b):
        return False
    if isinstance(a, Mapping):
        if len(a) != len(b) or _is_nil(a) != _is_nil(b):
            return False
        return all(k in b and deep_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list | tuple):
        if len(a) != len(b) or _is_nil(a) != _is_nil(b):
            return False
        return all(deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return bool(a == b)
    try:
        return bool(a == b)
    except Exception:  # an exotic object without equality: identity is all Go could compare
        return a is b


def _is_nil(value: Any) -> bool:
    return isinstance(value, TypedList | TypedMap) and value.is_nil


def strval(value: Any) -> str:
    """Sprig's ``strval``/``toString``: strings as is, byte slices decoded, Stringers and errors by method."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return from_bytes(bytes(value))
    if isinstance(value, BaseException):
        return str(value)
    if isinstance(value, GoObject):
        s = value.go_string()
        if s is not None:
            return s
    return format_value(value)


def type_assert_map(value: Any) -> dict[Any, Any]:
    """``value.(map[string]interface{})`` with Go's panic text."""
    if isinstance(value, dict) and go_type_of(value) == "map[string]interface {}":
        return value
    have = "nil" if value is None else go_type_of(value)
    raise FuncError(f"interface conversion: interface {{}} is {have}, not map[string]interface {{}}")


def bound_method(fn: Callable[..., Any], receiver: Any, *params: str) -> Callable[..., Any]:
    """A method of a Go value for the engine: ``fn(receiver, *args)`` with a Go signature attached."""

    def call(*args: Any) -> Any:
        return fn(receiver, *args)

    return go_func(*params)(call)


def float_is_integral(f: float) -> bool:
    return math.isfinite(f) and f == int(f)
