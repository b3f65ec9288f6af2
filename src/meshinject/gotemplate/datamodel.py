"""Typed data-model values: Go structs and protobuf messages over plain JSON data.

Templates read Go values: struct fields by their Go names (``.Spec.Items``), proto getters
(``.GetTracing``), enums that print their names, nil pointers that print ``<nil>``. The data arrive as plain
JSON (proto-JSON for protobuf messages, ``encoding/json`` for Go structs). This module wraps that JSON in
:class:`~meshinject.gotemplate._values.GoObject` values driven by small declarative schemas:

* :class:`MessageType` describes a protobuf message (fields by proto name, in declaration order, with oneofs);
  :class:`ProtoMessage` wraps one message (or a nil pointer to one).
* :class:`StructType` describes a Go struct with ``json`` tags; :class:`GoStruct` wraps one.
* Field kinds (:data:`STRING`, :data:`INT32`, :func:`enum_kind`, :func:`message_kind`, :func:`list_of`,
  :func:`map_of`, :func:`struct_kind`, :func:`pointer_to`, ...) convert one raw JSON value into the Go value
  a template sees, and back into JSON.

Besides template access, messages serialise the way Go does: :func:`proto_json` is the legacy ``jsonpb``
output (what ``protoToJSON``-style helpers print), ``String()`` is the single-line protobuf text format, and
``go_json`` is what ``encoding/json`` would produce. Wrapped children are cached: templates read hundreds of
fields per render.
"""

from __future__ import annotations

import contextlib
import marshal
import math
import re
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final

from ._values import NIL_INTERFACE, GoObject, NilPointerEvaluation, NoSuchField, TypedInt

__all__ = [
    "BOOL",
    "BYTES",
    "DOUBLE",
    "DURATION",
    "DURATION_TYPE",
    "FLOAT",
    "INT32",
    "INT64",
    "STRING",
    "STRUCT",
    "STRUCT_TYPE",
    "UINT32",
    "UINT64",
    "AnyKind",
    "EnumType",
    "EnumValue",
    "Field",
    "GoDuration",
    "GoField",
    "GoStruct",
    "Kind",
    "LooseStruct",
    "MessageType",
    "NilPointerError",
    "Oneof",
    "OneofCase",
    "ProtoMessage",
    "ScalarPointer",
    "StructFields",
    "StructType",
    "TypedList",
    "TypedMap",
    "enum_kind",
    "go_camel_case",
    "go_duration_string",
    "go_float_format",
    "go_json_compact",
    "json_camel_case",
    "list_of",
    "loose_kind",
    "map_of",
    "message_kind",
    "named_string",
    "parse_duration",
    "pointer_to",
    "proto_json",
    "struct_kind",
    "wrapper_kind",
]


class NilPointerError(NilPointerEvaluation):
    """A field was read through a nil pointer; the message is Go's ``nil pointer evaluating *T.Field``.

    It is a :class:`NoSuchField` so that an engine which only knows that exception still fails the action.
    """


class StructFields(dict[str, Any]):
    """A JSON object whose keys are in Go struct (or proto declaration) order.

    ``encoding/json`` writes struct fields in declaration order but sorts map keys; a marshaller must keep
    this object's order instead of sorting it.
    """

    __slots__ = ()


class TypedMap(dict[Any, Any]):
    """A Go map whose type is known: its ``%T`` name, its element's zero value and whether it is nil.

    ``index`` of a missing key yields ``elem_zero`` (Go returns the element type's zero value, e.g. ``""``
    for ``map[string]string``), and ``encoding/json`` writes a nil map as ``null``.
    """

    __slots__ = ("elem_zero", "go_type", "is_nil")

    def __init__(
        self,
        items: Iterable[tuple[Any, Any]] | Mapping[Any, Any],
        go_type: str,
        elem_zero: Any,
        *,
        is_nil: bool = False,
    ) -> None:
        super().__init__(items)
        self.go_type = go_type
        self.elem_zero = elem_zero
        self.is_nil = is_nil


class TypedList(list[Any]):
    """A Go slice whose ``%T`` name is known (``[]string``, ``[]v1.Item``); ``is_nil``: a nil slice."""

    __slots__ = ("go_type", "is_nil")

    def __init__(self, items: Iterable[Any], go_type: str, *, is_nil: bool = False) -> None:
        super().__init__(items)
        self.go_type = go_type
        self.is_nil = is_nil


# ------------------------------------------------------------------------------------------------------------
# Names


def go_camel_case(name: str) -> str:
    """The Go field name protoc-gen-go derives from a proto field name (``http2_max`` -> ``Http2Max``)."""
    out: list[str] = []
    i, n = 0, len(name)
    while i < n:
        c = name[i]
        if c == "." and i + 1 < n and name[i + 1].islower():
            pass
        elif c == ".":
            out.append("_")
        elif c == "_" and (i == 0 or name[i - 1] == "."):
            out.append("X")
        elif c == "_" and i + 1 < n and "a" <= name[i + 1] <= "z":
            pass
        elif c.isdigit():
            out.append(c)
        else:
            out.append(c.upper() if "a" <= c <= "z" else c)
            while i + 1 < n and "a" <= name[i + 1] <= "z":
                i += 1
                out.append(name[i])
        i += 1
    return "".join(out)


def json_camel_case(name: str) -> str:
    """The proto-JSON name protoc derives from a proto field name (``http2_max`` -> ``http2Max``)."""
    out: list[str] = []
    upper_next = False
    for c in name:
        if c == "_":
            upper_next = True
        elif upper_next:
            out.append(c.upper() if "a" <= c <= "z" else c)
            upper_next = False
        else:
            out.append(c)
    return "".join(out)


def _loose_json_name(go_name: str) -> str:
    """A Go field's likely JSON name (``APIVersion``: ``apiVersion``, ``HostIP``: ``hostIP``)."""
    run = 0
    while run < len(go_name) and go_name[run].isupper():
        run += 1
    if run == len(go_name):
        return go_name.lower()
    if run <= 1:
        return go_name[:1].lower() + go_name[1:]
    return go_name[: run - 1].lower() + go_name[run - 1 :]


# ------------------------------------------------------------------------------------------------------------
# Numbers and strings as Go writes them


def _shortest_digits(f: float, bits: int) -> tuple[str, int]:
    """Shortest decimal digits that read back as ``f`` (positive, finite) and the decimal point position."""
    if bits == 32:
        target = struct.unpack("f", struct.pack("f", f))[0]
        text = repr(target)
        for prec in range(9):
            text = f"{target:.{prec}e}"
            if struct.unpack("f", struct.pack("f", float(text)))[0] == target:
                break
    else:
        text = repr(f)
    _, digit_tuple, exp = Decimal(text).as_tuple()
    assert isinstance(exp, int)
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exp
    return digits.rstrip("0") or "0", point


def go_float_format(f: float, fmt: str = "g", bits: int = 64) -> str:
    """``strconv.FormatFloat(f, fmt, -1, bits)`` for ``fmt`` in ``g``, ``e``, ``f`` (shortest digits)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    neg = math.copysign(1.0, f) < 0
    if f == 0:
        body = "0e+00" if fmt == "e" else "0"
        return "-" + body if neg else body
    digits, point = _shortest_digits(abs(f), bits)
    if fmt == "g":
        # With the shortest precision Go switches to an exponent outside [1e-4, 1e6).
        exp = point - 1
        fmt = "e" if exp < -4 or exp >= 6 else "f"
    if fmt == "e":
        exp = point - 1
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        body = f"{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    elif point <= 0:
        body = "0." + "0" * (-point) + digits
    elif point >= len(digits):
        body = digits + "0" * (point - len(digits))
    else:
        body = digits[:point] + "." + digits[point:]
    return "-" + body if neg else body


def _go_json_float(f: float, bits: int = 64) -> str:
    """A float as Go's ``encoding/json`` writes it."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {go_float_format(f, 'g', bits)}")
    a = abs(f)
    fmt = "f"
    if a != 0:
        if bits == 32:
            a = struct.unpack("f", struct.pack("f", a))[0]
        if a < 1e-6 or a >= 1e21:
            fmt = "e"
    text = go_float_format(f, fmt, bits)
    if fmt == "e":
        # Go cleans e-09 to e-9.
        m = re.search(r"e([+-])0(\d)$", text)
        if m and m.group(1) == "-":
            text = text[: m.start()] + "e-" + m.group(2)
    return text


_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_NEEDS_ESCAPE: Final = re.compile('["\\\\<>&\u2028\u2029\x00-\x1f\ud800-\udfff]')


def _json_escape_char(m: re.Match[str]) -> str:
    c = m.group(0)
    esc = _JSON_ESCAPES.get(c)
    if esc is not None:
        return esc
    if "\ud800" <= c <= "\udfff":
        return "\ufffd"
    return f"\\u{ord(c):04x}"


def _go_json_string(s: str) -> str:
    """A string as Go's ``encoding/json`` writes it (HTML-safe escaping, like ``json.Marshal``)."""
    return '"' + _JSON_NEEDS_ESCAPE.sub(_json_escape_char, s) + '"'


def go_json_compact(value: Any) -> str:
    """Compact JSON text of plain data as Go's ``encoding/json`` writes it.

    Map keys (``dict``) are sorted; :class:`StructFields` keep their order. Floats use Go's formatting,
    strings Go's HTML-safe escaping. GoObjects are written through their ``go_json``.
    """
    out: list[str] = []
    _write_json(value, out)
    return "".join(out)


def _write_json(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_go_json_string(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_go_json_float(value, getattr(value, "bits", 64)))
    elif isinstance(value, GoObject):
        _write_json(value.go_json(), out)
    elif isinstance(value, Mapping):
        if isinstance(value, TypedMap) and value.is_nil:
            out.append("null")
            return
        keys = list(value) if isinstance(value, StructFields) else sorted(value, key=str)
        out.append("{")
        for i, k in enumerate(keys):
            if i:
                out.append(",")
            out.append(_go_json_string(str(k)))
            out.append(":")
            _write_json(value[k], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        if isinstance(value, TypedList) and value.is_nil:
            out.append("null")
            return
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _write_json(v, out)
        out.append("]")
    else:
        raise TypeError(f"json: unsupported type: {type(value).__name__}")


def _text_string(s: str) -> str:
    """A string in protobuf text format (quoted, with C-like escapes; UTF-8 kept except C1 controls)."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0x80 <= o <= 0x9F:
            out.append(f"\\u{o:04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _text_float(f: float, bits: int) -> str:
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return go_float_format(f, "g", bits)


# ------------------------------------------------------------------------------------------------------------
# Durations


_DURATION_RE: Final = re.compile(r"^(-)?(\d+)(?:\.(\d{1,9}))?s$")
_MAX_DURATION_SECONDS: Final = 315_576_000_000


def parse_duration(raw: Any) -> tuple[int, int]:
    """``(seconds, nanos)`` of a proto-JSON duration (``"45s"``, ``"-1.5s"``) or a ``{seconds, nanos}``."""
    if isinstance(raw, Mapping):
        return int(raw.get("seconds") or 0), int(raw.get("nanos") or 0)
    if isinstance(raw, str):
        m = _DURATION_RE.match(raw.strip())
        if m:
            seconds = int(m.group(2))
            nanos = int((m.group(3) or "").ljust(9, "0"))
            if m.group(1):
                seconds, nanos = -seconds, -nanos
            if abs(seconds) <= _MAX_DURATION_SECONDS:
                return seconds, nanos
    raise ValueError(f"invalid google.protobuf.Duration value {raw!r}")


def _duration_json(seconds: int, nanos: int) -> str:
    sign = "-" if seconds < 0 or nanos < 0 else ""
    text = f"{sign}{abs(seconds)}.{abs(nanos):09d}"
    for suffix in ("000", "000", ".000"):
        text = text.removesuffix(suffix)
    return text + "s"


def _frac(v: int, prec: int) -> tuple[str, int]:
    """Go's fmtFrac: the fraction of ``v / 10**prec`` without trailing zeros, and the integer part."""
    digits = ""
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def go_duration_string(nanos: int) -> str:
    """Go's ``time.Duration.String()`` of a duration in nanoseconds (``1h2m3.5s``, ``1.5ms``, ``0s``)."""
    if nanos == 0:
        return "0s"
    neg = nanos < 0
    u = -nanos if neg else nanos
    if u < 1_000_000_000:
        if u < 1_000:
            prec, unit = 0, "ns"
        elif u < 1_000_000:
            prec, unit = 3, "µs"
        else:
            prec, unit = 6, "ms"
        frac, whole = _frac(u, prec)
        text = f"{whole}{frac}{unit}"
    else:
        frac, secs = _frac(u, 9)
        text = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins:
            text = f"{mins % 60}m{text}"
            hours = mins // 60
            if hours:
                text = f"{hours}h{text}"
    return "-" + text if neg else text


class GoDuration(int, GoObject):
    """A Go ``time.Duration`` (int64 nanoseconds) that prints like ``1m30s``."""

    def go_type_name(self) -> str:
        return "time.Duration"

    def go_string(self) -> str:
        return go_duration_string(int(self))

    def go_method(self, name: str) -> Callable[..., Any] | None:
        if name == "String":
            return self.go_string
        if name == "Seconds":
            return lambda: int(self) / 1e9
        if name == "Milliseconds":
            return lambda: TypedInt(int(self) // 1_000_000, "int64")
        return None

    def go_truth(self) -> bool:
        return int(self) != 0

    def go_format(self) -> str:
        return self.go_string()

    def go_json(self) -> Any:
        return int(self)


# ------------------------------------------------------------------------------------------------------------
# Field kinds


class Kind:
    """How one field's raw JSON value becomes a Go value, and how it is written back.

    ``raw`` is always the JSON value as stored in the data (``None`` when the field is absent).
    """

    __slots__ = ("go_type",)

    def __init__(self, go_type: str) -> None:
        self.go_type = go_type

    def wrap(self, raw: Any) -> Any:
        """The Go value a template sees (the Go zero value when ``raw`` is ``None``)."""
        raise NotImplementedError

    def zero(self) -> Any:
        return self.wrap(None)

    def pb_present(self, raw: Any) -> bool:
        """Proto3 field presence: set messages, non-zero scalars, non-empty lists and maps."""
        return raw is not None

    def pb_json(self, raw: Any) -> Any:
        """The value in proto-JSON (legacy ``jsonpb``), as plain data."""
        return self.go_json(raw)

    def pb_text(self, raw: Any) -> str:
        """The value in protobuf text format (single element)."""
        raise NotImplementedError

    def go_json(self, raw: Any) -> Any:
        """The value as ``encoding/json`` writes it, as plain data."""
        return raw

    def go_empty(self, raw: Any) -> bool:
        """Whether ``omitempty`` drops the value."""
        return raw is None


class _StringKind(Kind):
    __slots__ = ()

    def wrap(self, raw: Any) -> Any:
        if raw is None:
            return ""
        return raw if isinstance(raw, str) else str(raw)

    def pb_present(self, raw: Any) -> bool:
        return bool(raw)

    def pb_text(self, raw: Any) -> str:
        return _text_string(self.wrap(raw))

    def go_json(self, raw: Any) -> Any:
        return self.wrap(raw)

    def go_empty(self, raw: Any) -> bool:
        return not raw


class _BoolKind(Kind):
    __slots__ = ()

    def wrap(self, raw: Any) -> Any:
        return bool(raw) if raw is not None else False

    def pb_present(self, raw: Any) -> bool:
        return bool(raw)

    def pb_text(self, raw: Any) -> str:
        return "true" if raw else "false"

    def go_json(self, raw: Any) -> Any:
        return bool(raw)

    def go_empty(self, raw: Any) -> bool:
        return not raw


class _IntKind(Kind):
    __slots__ = ("pb_as_string",)

    def __init__(self, go_type: str, *, pb_as_string: bool = False) -> None:
        super().__init__(go_type)
        self.pb_as_string = pb_as_string

    def wrap(self, raw: Any) -> Any:
        return TypedInt(int(raw) if raw is not None else 0, self.go_type)

    def pb_present(self, raw: Any) -> bool:
        return raw is not None and int(raw) != 0

    def pb_json(self, raw: Any) -> Any:
        v = int(raw or 0)
        return str(v) if self.pb_as_string else v

    def pb_text(self, raw: Any) -> str:
        return str(int(raw or 0))

    def go_json(self, raw: Any) -> Any:
        return int(raw or 0)

    def go_empty(self, raw: Any) -> bool:
        return raw is None or int(raw) == 0


class _FloatKind(Kind):
    __slots__ = ("bits",)

    def __init__(self, go_type: str, bits: int) -> None:
        super().__init__(go_type)
        self.bits = bits

    def _value(self, raw: Any) -> float:
        if raw is None:
            return 0.0
        v = float(raw)
        return struct.unpack("f", struct.pack("f", v))[0] if self.bits == 32 else v

    def wrap(self, raw: Any) -> Any:
        return self._value(raw)

    def pb_present(self, raw: Any) -> bool:
        return raw is not None and self._value(raw) != 0

    def pb_json(self, raw: Any) -> Any:
        v = self._value(raw)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return _GoFloat(v, self.bits)

    def pb_text(self, raw: Any) -> str:
        return _text_float(self._value(raw), self.bits)

    def go_json(self, raw: Any) -> Any:
        return _GoFloat(self._value(raw), self.bits)

    def go_empty(self, raw: Any) -> bool:
        return self._value(raw) == 0


class _GoFloat(float):
    """A float that remembers its Go size, so float32 values are written with 32-bit shortest digits."""

    __slots__ = ("bits",)
    bits: int

    def __new__(cls, value: float, bits: int) -> _GoFloat:
        obj = super().__new__(cls, value)
        obj.bits = bits
        return obj


class _BytesKind(Kind):
    __slots__ = ()

    def wrap(self, raw: Any) -> Any:
        return raw or ""

    def pb_present(self, raw: Any) -> bool:
        return bool(raw)

    def pb_text(self, raw: Any) -> str:
        return _text_string(raw or "")


STRING: Final[Kind] = _StringKind("string")
BOOL: Final[Kind] = _BoolKind("bool")
INT32: Final[Kind] = _IntKind("int32")
INT64: Final[Kind] = _IntKind("int64", pb_as_string=True)
UINT32: Final[Kind] = _IntKind("uint32")
UINT64: Final[Kind] = _IntKind("uint64", pb_as_string=True)
DOUBLE: Final[Kind] = _FloatKind("float64", 64)
FLOAT: Final[Kind] = _FloatKind("float32", 32)
BYTES: Final[Kind] = _BytesKind("[]uint8")


def named_string(go_type: str) -> Kind:
    """A Go named string type (``v1.Protocol``): behaves as a string, keeps its name for ``%T``."""
    return _StringKind(go_type)


class AnyKind(Kind):
    """An ``interface{}`` holding decoded JSON: the raw value is the Go value (nil when absent)."""

    __slots__ = ()

    def __init__(self, go_type: str = "interface {}") -> None:
        super().__init__(go_type)

    def wrap(self, raw: Any) -> Any:
        return raw

    def pb_text(self, raw: Any) -> str:
        return go_json_compact(raw)

    def go_json(self, raw: Any) -> Any:
        return _sorted_maps(raw)


def _sorted_maps(value: Any) -> Any:
    """Decoded JSON with every object's keys sorted (Go maps), for go_json data whose order is kept."""
    if isinstance(value, GoObject):
        return value.go_json()
    if isinstance(value, Mapping):
        return {k: _sorted_maps(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted_maps(v) for v in value]
    return value


# --- enums --------------------------------------------------------------------------------------------------


class EnumType:
    """A protobuf enum: Go type name (``pb.Config_Mode``) and its values."""

    __slots__ = ("by_name", "by_number", "go_type", "zero")

    def __init__(self, go_type: str, values: Sequence[tuple[str, int]]) -> None:
        self.go_type = go_type
        self.by_name: dict[str, int] = {}
        self.by_number: dict[int, str] = {}
        for name, number in values:
            self.by_name.setdefault(name, number)
            self.by_number.setdefault(number, name)
        self.zero = EnumValue(self, 0)

    def value(self, raw: Any) -> EnumValue:
        if raw is None:
            return self.zero
        if isinstance(raw, str):
            number = self.by_name.get(raw)
            if number is None:
                raise ValueError(f"invalid value for enum {self.go_type}: {raw!r}")
            return EnumValue(self, number)
        return EnumValue(self, int(raw))


class EnumValue(int, GoObject):
    """A protobuf enum value: an ``int32`` that prints its name (Go's generated ``String()`` method)."""

    def __new__(cls, enum_type: EnumType, number: int) -> EnumValue:
        obj = super().__new__(cls, number)
        obj.enum_type = enum_type
        return obj

    enum_type: EnumType

    @property
    def name(self) -> str:
        return self.enum_type.by_number.get(int(self), str(int(self)))

    def go_type_name(self) -> str:
        return self.enum_type.go_type

    def go_string(self) -> str:
        return self.name

    def go_format(self) -> str:
        return self.name

    def go_truth(self) -> bool:
        return int(self) != 0

    def go_method(self, name: str) -> Callable[..., Any] | None:
        if name == "String":
            return self.go_string
        if name == "Number":
            return lambda: TypedInt(int(self), "protoreflect.EnumNumber")
        return None

    def go_json(self) -> Any:
        return int(self)

    def __repr__(self) -> str:
        return f"{self.enum_type.go_type}({self.name})"


class _EnumKind(Kind):
    __slots__ = ("enum",)

    def __init__(self, enum: EnumType) -> None:
        super().__init__(enum.go_type)
        self.enum = enum

    def wrap(self, raw: Any) -> Any:
        if isinstance(raw, EnumValue):
            return raw
        return self.enum.value(raw)

    def pb_present(self, raw: Any) -> bool:
        return raw is not None and int(self.enum.value(raw)) != 0

    def pb_json(self, raw: Any) -> Any:
        v = self.enum.value(raw)
        name = self.enum.by_number.get(int(v))
        return name if name is not None else int(v)

    def pb_text(self, raw: Any) -> str:
        v = self.enum.value(raw)
        return self.enum.by_number.get(int(v), str(int(v)))

    def go_json(self, raw: Any) -> Any:
        return int(self.enum.value(raw))

    def go_empty(self, raw: Any) -> bool:
        return raw is None or int(self.enum.value(raw)) == 0


def enum_kind(enum: EnumType) -> Kind:
    return _EnumKind(enum)


# --- lists and maps -----------------------------------------------------------------------------------------


class _ListKind(Kind):
    __slots__ = ("elem",)

    def __init__(self, elem: Kind) -> None:
        super().__init__("[]" + elem.go_type)
        self.elem = elem

    def wrap(self, raw: Any) -> Any:
        if raw is None:
            return TypedList((), self.go_type, is_nil=True)
        wrap = self.elem.wrap
        return TypedList([wrap(x) for x in raw], self.go_type)

    def pb_present(self, raw: Any) -> bool:
        return bool(raw)

    def pb_json(self, raw: Any) -> Any:
        return [self.elem.pb_json(x) for x in raw or ()]

    def go_json(self, raw: Any) -> Any:
        if raw is None:
            return None
        return [self.elem.go_json(x) for x in raw]

    def go_empty(self, raw: Any) -> bool:
        return not raw


class _MapKind(Kind):
    __slots__ = ("_zero", "value")

    def __init__(self, value: Kind, key_type: str = "string") -> None:
        super().__init__(f"map[{key_type}]{value.go_type}")
        self.value = value
        self._zero: Any = _UNSET

    def elem_zero(self) -> Any:
        if self._zero is _UNSET:
            self._zero = self.value.zero()
        return self._zero

    def wrap(self, raw: Any) -> Any:
        if raw is None:
            return TypedMap((), self.go_type, self.elem_zero(), is_nil=True)
        wrap = self.value.wrap
        return TypedMap({k: wrap(v) for k, v in raw.items()}, self.go_type, self.elem_zero())

    def pb_present(self, raw: Any) -> bool:
        return bool(raw)

    # Objects in go_json data are written in their order, so map keys are sorted here as Go sorts them.
    def pb_json(self, raw: Any) -> Any:
        items = raw or {}
        return {k: self.value.pb_json(items[k]) for k in sorted(items, key=str)}

    def go_json(self, raw: Any) -> Any:
        if raw is None:
            return None
        return {k: self.value.go_json(raw[k]) for k in sorted(raw, key=str)}

    def go_empty(self, raw: Any) -> bool:
        return not raw


def list_of(elem: Kind) -> Kind:
    """A repeated field / Go slice of ``elem``."""
    return _ListKind(elem)


def map_of(value: Kind, key_type: str = "string") -> Kind:
    """A map field / Go map from strings to ``value``."""
    return _MapKind(value, key_type)


class _Unset:
    __slots__ = ()


_UNSET: Final = _Unset()


# ------------------------------------------------------------------------------------------------------------
# Protobuf messages


class Field:
    """One proto field: proto name, kind, and the derived Go and proto-JSON names."""

    __slots__ = ("go_name", "json_name", "keys", "kind", "name", "oneof")

    def __init__(self, name: str, kind: Kind, *, json_name: str | None = None, go_name: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.json_name = json_name or json_camel_case(name)
        self.go_name = go_name or go_camel_case(name)
        self.keys = (self.json_name,) if self.json_name == name else (self.json_name, name)
        self.oneof: Oneof | None = None

    def raw(self, data: Mapping[str, Any]) -> Any:
        for k in self.keys:
            v = data.get(k)
            if v is not None:
                return v
        return None


class Oneof:
    """A proto oneof: one Go interface field (``ClusterName``) holding a wrapper struct for the member set."""

    __slots__ = ("fields", "go_name", "name", "suffix")

    def __init__(self, name: str, *fields: Field, colliding: Sequence[str] = ()) -> None:
        self.name = name
        self.go_name = go_camel_case(name)
        self.fields = fields
        # protoc-gen-go appends "_" to a wrapper type whose name is already taken by a nested message.
        self.suffix = {f.name: ("_" if f.name in colliding else "") for f in fields}
        for f in fields:
            f.oneof = self

    def which(self, data: Mapping[str, Any]) -> tuple[Field, Any] | None:
        for f in self.fields:
            raw = f.raw(data)
            if raw is not None:
                return f, raw
        return None


Member = Field | Oneof


class MessageType:
    """A protobuf message type.

    ``go_type`` is the Go type without the pointer (``pb.Config``). ``fields`` lists fields and
    oneofs in declaration order; it may be a callable (resolved on first use) so schemas can refer to types
    declared later. ``json_shim``: the Go type has a ``MarshalJSON`` that writes proto-JSON (so
    ``encoding/json`` output equals :func:`proto_json`); otherwise ``encoding/json`` sees the plain struct.
    ``wkt`` names a well-known type with a special JSON form (``Duration``, ``BoolValue``..., ``Struct``).
    ``opaque``: no field is modelled; the message's proto-JSON is carried and written back as given.
    """

    def __init__(
        self,
        full_name: str,
        go_type: str,
        fields: Sequence[Member] | Callable[[], Sequence[Member]],
        *,
        json_shim: bool = True,
        wkt: str | None = None,
        opaque: bool = False,
    ) -> None:
        self.full_name = full_name
        self.opaque = opaque
        self.go_type = go_type
        self.ptr_type = "*" + go_type
        self.json_shim = json_shim
        self.wkt = wkt
        self._fields_src = fields
        self._members: tuple[Member, ...] | None = None
        self._by_go_name: dict[str, Member] = {}
        self._getters: dict[str, Member] = {}
        self._fields: tuple[Field, ...] = ()

    def _resolve(self) -> None:
        src = self._fields_src
        members = tuple(src() if callable(src) else src)
        self._members = members
        flat: list[Field] = []
        for m in members:
            self._by_go_name[m.go_name] = m
            self._getters["Get" + m.go_name] = m
            if isinstance(m, Oneof):
                for f in m.fields:
                    self._getters["Get" + f.go_name] = f
                    flat.append(f)
            else:
                flat.append(m)
        self._fields = tuple(flat)

    @property
    def members(self) -> tuple[Member, ...]:
        if self._members is None:
            self._resolve()
        assert self._members is not None
        return self._members

    @property
    def fields(self) -> tuple[Field, ...]:
        """Every field, oneof members included, in declaration order."""
        if self._members is None:
            self._resolve()
        return self._fields

    def member(self, go_name: str) -> Member | None:
        if self._members is None:
            self._resolve()
        return self._by_go_name.get(go_name)

    def getter(self, name: str) -> Member | None:
        if self._members is None:
            self._resolve()
        return self._getters.get(name)

    def field(self, name: str) -> Field:
        """The field with this proto, proto-JSON or Go name."""
        for f in self.fields:
            if name in (f.name, f.json_name, f.go_name):
                return f
        raise KeyError(name)

    def new(self, data: Mapping[str, Any] | None) -> ProtoMessage:
        """A message over ``data`` (proto-JSON); ``None`` is a nil pointer."""
        return ProtoMessage(self, data)

    def __repr__(self) -> str:
        return f"MessageType({self.full_name})"


def _normalize_wkt(mtype: MessageType, raw: Any) -> Mapping[str, Any]:
    """The message data of a well-known type given in its special JSON form."""
    wkt = mtype.wkt
    if wkt == "Duration":
        if isinstance(raw, Mapping):
            return raw
        seconds, nanos = parse_duration(raw)
        return {"seconds": seconds, "nanos": nanos}
    if wkt is not None and wkt.endswith("Value") and wkt != "Value":
        if isinstance(raw, Mapping) and set(raw) <= {"value"}:
            return raw
        return {"value": raw}
    if isinstance(raw, Mapping):
        return raw
    raise ValueError(f"invalid value for {mtype.full_name}: {raw!r}")


class _MessageKind(Kind):
    __slots__ = ("mtype",)

    def __init__(self, mtype: MessageType) -> None:
        super().__init__(mtype.ptr_type)
        self.mtype = mtype

    def wrap(self, raw: Any) -> Any:
        if isinstance(raw, ProtoMessage):
            return raw
        if raw is None:
            return ProtoMessage(self.mtype, None)
        if self.mtype.wkt is not None:
            raw = _normalize_wkt(self.mtype, raw)
        return ProtoMessage(self.mtype, raw)

    def _msg(self, raw: Any) -> ProtoMessage:
        msg = self.wrap(raw)
        assert isinstance(msg, ProtoMessage)
        return msg

    def pb_json(self, raw: Any) -> Any:
        return self._msg(raw).pb_json_data()

    def pb_text(self, raw: Any) -> str:
        return "{" + self._msg(raw).text() + "}"

    def go_json(self, raw: Any) -> Any:
        if raw is None:
            return None
        return self._msg(raw).go_json()


def message_kind(mtype: MessageType) -> Kind:
    """A message field (Go: a pointer to the message struct; unset is a nil pointer)."""
    return _MessageKind(mtype)


def _wkt(name: str, go_type: str, fields: Sequence[Member]) -> MessageType:
    return MessageType("google.protobuf." + name, go_type, fields, json_shim=False, wkt=name)


DURATION_TYPE: Final = _wkt("Duration", "durationpb.Duration", [Field("seconds", INT64), Field("nanos", INT32)])
DURATION: Final[Kind] = message_kind(DURATION_TYPE)

_WRAPPER_TYPES: Final = {
    name: _wkt(name, "wrapperspb." + name, [Field("value", kind)])
    for name, kind in (
        ("BoolValue", BOOL),
        ("StringValue", STRING),
        ("Int32Value", INT32),
        ("Int64Value", INT64),
        ("UInt32Value", UINT32),
        ("UInt64Value", UINT64),
        ("DoubleValue", DOUBLE),
        ("FloatValue", FLOAT),
    )
}


def wrapper_kind(name: str) -> Kind:
    """A ``google.protobuf`` wrapper field by type name (``BoolValue``, ``Int32Value``...)."""
    return message_kind(_WRAPPER_TYPES[name])


STRUCT_TYPE: Final = _wkt("Struct", "structpb.Struct", [Field("fields", map_of(AnyKind("*structpb.Value")))])
STRUCT: Final[Kind] = message_kind(STRUCT_TYPE)


class OneofCase(GoObject):
    """The Go wrapper struct of a set oneof member (``*pb.Config_Name``)."""

    __slots__ = ("_field", "_go_type", "_value")

    def __init__(self, owner: MessageType, field: Field, value: Any) -> None:
        assert field.oneof is not None
        self._field = field
        self._value = value
        self._go_type = f"*{owner.go_type}_{field.go_name}{field.oneof.suffix[field.name]}"

    def go_type_name(self) -> str:
        return self._go_type

    def go_field(self, name: str) -> Any:
        if name == self._field.go_name:
            return self._value
        raise NoSuchField(name)

    def go_format(self) -> str:
        # fmt prints a pointer to a struct as &{...}.
        return "&{" + _format_plain(self._value) + "}"

    def go_json(self) -> Any:
        return StructFields({self._field.go_name: _go_json_of(self._value)})


class ProtoMessage(GoObject):
    """A pointer to a protobuf message over proto-JSON data; ``data is None`` is a nil pointer.

    Fields are read by Go name (unset fields give their Go zero value); ``GetX`` getters also work on a nil
    pointer, as Go's generated getters do; ``String()`` is the single-line text format.
    """

    __slots__ = ("_cache", "_tracer", "data", "mtype")

    def __init__(self, mtype: MessageType, data: Mapping[str, Any] | None) -> None:
        self.mtype = mtype
        self.data = data
        self._cache: dict[str, Any] = {}
        self._tracer: _Tracer | None = None

    # -- template access -------------------------------------------------------------------------------------

    def go_type_name(self) -> str:
        return self.mtype.ptr_type

    def go_truth(self) -> bool:
        return self.data is not None

    def go_field(self, name: str) -> Any:
        m = self.mtype.member(name)
        if m is None:
            raise NoSuchField(name)
        if self.data is None:
            raise NilPointerError(f"nil pointer evaluating {self.mtype.ptr_type}.{name}")
        return self._value(m)

    def _value(self, m: Member) -> Any:
        key = m.go_name
        cache = self._cache
        if key in cache:
            return cache[key]
        data = self.data
        tracer = self._tracer
        if isinstance(m, Oneof):
            if tracer is not None:
                tracer.whole(data)
            hit = m.which(data) if data is not None else None
            value: Any = NIL_INTERFACE if hit is None else OneofCase(self.mtype, hit[0], hit[0].kind.wrap(hit[1]))
        elif m.oneof is not None:
            if tracer is not None:
                tracer.whole(data)
            hit = m.oneof.which(data) if data is not None else None
            value = m.kind.wrap(hit[1] if hit is not None and hit[0] is m else None)
        elif tracer is not None and data is not None:
            value = tracer.child(m.kind, m.raw(data), "m", m)
        else:
            value = m.kind.wrap(m.raw(data) if data is not None else None)
        cache[key] = value
        return value

    def _read_whole(self) -> None:
        tracer = self._tracer
        if tracer is not None:
            tracer.whole(self.data)

    def go_method(self, name: str) -> Callable[..., Any] | None:
        m = self.mtype.getter(name)
        if m is not None:
            return lambda: self._value(m)
        if name == "String":
            return self.go_string
        wkt = self.mtype.wkt
        if wkt == "Duration":
            if name == "AsDuration":
                return self.as_duration
            if name == "IsValid":
                return lambda: self.data is not None and self._duration_valid()
        if wkt == "Struct" and name == "AsMap":
            return self._as_map
        return None

    def _as_map(self) -> dict[str, Any]:
        self._read_whole()
        return dict(self.data or {})

    def go_string(self) -> str:
        if self.data is None:
            return "<nil>"
        return self.text()

    def go_format(self) -> str:
        return self.go_string()

    def go_json(self) -> Any:
        self._read_whole()
        if self.data is None:
            return None
        if self.mtype.json_shim:
            return self.pb_json_data()
        if self.mtype.wkt == "Struct":
            return self.pb_json_data()
        # encoding/json on a generated struct: proto names with omitempty, oneofs under their Go name.
        out = StructFields()
        for m in self.mtype.members:
            if isinstance(m, Oneof):
                value = self._value(m)
                if value is not None:
                    out[m.go_name] = value.go_json()
                continue
            raw = m.raw(self.data)
            if not m.kind.go_empty(raw):
                out[m.name] = m.kind.go_json(raw)
        return out

    # -- helpers for functions -------------------------------------------------------------------------------

    def raw(self, name: str) -> Any:
        """The raw JSON value of a field (by proto, JSON or Go name), ``None`` when unset."""
        self._read_whole()
        if self.data is None:
            return None
        return self.mtype.field(name).raw(self.data)

    def as_duration(self) -> GoDuration:
        """``durationpb.Duration.AsDuration()``: the duration in nanoseconds (saturating like Go)."""
        self._read_whole()
        if self.data is None:
            return GoDuration(0)
        seconds, nanos = parse_duration(self.data)
        total = seconds * 1_000_000_000 + nanos
        return GoDuration(max(min(total, 2**63 - 1), -(2**63)))

    def _duration_valid(self) -> bool:
        self._read_whole()
        seconds, nanos = parse_duration(self.data)
        if abs(seconds) > _MAX_DURATION_SECONDS or not -1_000_000_000 < nanos < 1_000_000_000:
            return False
        return not (seconds > 0 > nanos or seconds < 0 < nanos)

    # -- serialisation ---------------------------------------------------------------------------------------

    def _set_fields(self) -> Iterable[tuple[Field, Any]]:
        """Fields that are set (proto3 presence), in declaration order, with their raw values."""
        data = self.data
        if data is None:
            return
        for m in self.mtype.members:
            if isinstance(m, Oneof):
                hit = m.which(data)
                if hit is not None:
                    yield hit
                continue
            raw = m.raw(data)
            if raw is not None and m.kind.pb_present(raw):
                yield m, raw

    def pb_json_data(self) -> Any:
        """The message as legacy ``jsonpb`` writes it, as plain data (objects in declaration order)."""
        self._read_whole()
        data = self.data
        wkt = self.mtype.wkt
        if self.mtype.opaque:
            return StructFields(data or {})
        if wkt is not None and data is not None:
            if wkt == "Duration":
                seconds, nanos = parse_duration(data)
                return _duration_json(seconds, nanos)
            if wkt == "Struct":
                return _struct_json(data)
            if wkt.endswith("Value"):
                f = self.mtype.fields[0]
                return f.kind.pb_json(f.raw(data))
        out = StructFields()
        for f, raw in self._set_fields():
            out[f.json_name] = f.kind.pb_json(raw)
        return out

    def text(self) -> str:
        """The single-line protobuf text format of the message body (without braces)."""
        self._read_whole()
        data = self.data
        if data is None:
            return ""
        if self.mtype.wkt == "Struct":
            return _struct_text(data)
        if self.mtype.opaque:
            # Approximation: the proto-JSON names and values (the text format needs the full schema).
            return " ".join(f"{k}:{go_json_compact(v)}" for k, v in data.items())
        parts: list[str] = []
        for f, raw in self._set_fields():
            kind = f.kind
            if isinstance(kind, _ListKind):
                parts.extend(f"{f.name}:{kind.elem.pb_text(x)}" for x in raw)
            elif isinstance(kind, _MapKind):
                for k in sorted(raw, key=str):
                    parts.append(f"{f.name}:{{key:{_text_string(str(k))} value:{kind.value.pb_text(raw[k])}}}")
            else:
                parts.append(f"{f.name}:{kind.pb_text(raw)}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"ProtoMessage({self.mtype.full_name}, {self.data!r})"


def _struct_json(data: Mapping[str, Any]) -> Any:
    def conv(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, Mapping):
            return {str(k): conv(v[k]) for k in sorted(v, key=str)}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    return conv(data)


def _struct_text(data: Mapping[str, Any]) -> str:
    def value(v: Any) -> str:
        if v is None:
            return "{null_value:NULL_VALUE}"
        if isinstance(v, bool):
            return "{bool_value:" + ("true" if v else "false") + "}"
        if isinstance(v, int | float):
            return "{number_value:" + _text_float(float(v), 64) + "}"
        if isinstance(v, str):
            return "{string_value:" + _text_string(v) + "}"
        if isinstance(v, Mapping):
            return "{struct_value:{" + _struct_text(v) + "}}"
        return "{list_value:{" + " ".join("values:" + value(x) for x in v) + "}}"

    return " ".join(f"fields:{{key:{_text_string(str(k))} value:{value(data[k])}}}" for k in sorted(data))


def proto_json(msg: ProtoMessage) -> str:
    """Compact proto-JSON of a message, as legacy ``jsonpb.Marshaler{}`` writes it."""
    if msg.data is None:
        raise ValueError("Marshal called with nil")
    return go_json_compact(msg.pb_json_data())


# ------------------------------------------------------------------------------------------------------------
# Go structs with json tags


class GoField:
    """One Go struct field: Go name, JSON name (from its ``json`` tag), kind, ``omitempty``."""

    __slots__ = ("go_name", "json_name", "kind", "omitempty")

    def __init__(self, go_name: str, json_name: str, kind: Kind, *, omitempty: bool = True) -> None:
        self.go_name = go_name
        self.json_name = json_name
        self.kind = kind
        self.omitempty = omitempty


class StructType:
    """A Go struct type (``v1.Item``) whose JSON form is given by ``json`` tags.

    ``getters``: the type has ``GetX()`` methods for these fields (``metav1.ObjectMeta`` has them);
    ``stringer``: the type's ``String()`` method, if it has one.
    """

    def __init__(
        self,
        go_type: str,
        fields: Sequence[GoField] | Callable[[], Sequence[GoField]],
        *,
        getters: Iterable[str] = (),
        stringer: Callable[[GoStruct], str] | None = None,
    ) -> None:
        self.go_type = go_type
        self._fields_src = fields
        self._fields: tuple[GoField, ...] | None = None
        self._by_go_name: dict[str, GoField] = {}
        self._getter_names = tuple(getters)
        self._getters: dict[str, GoField] = {}
        self.stringer = stringer

    def _resolve(self) -> None:
        src = self._fields_src
        self._fields = tuple(src() if callable(src) else src)
        self._by_go_name = {f.go_name: f for f in self._fields}
        self._getters = {"Get" + n: self._by_go_name[n] for n in self._getter_names}

    @property
    def fields(self) -> tuple[GoField, ...]:
        if self._fields is None:
            self._resolve()
        assert self._fields is not None
        return self._fields

    def field(self, go_name: str) -> GoField | None:
        if self._fields is None:
            self._resolve()
        return self._by_go_name.get(go_name)

    def getter(self, name: str) -> GoField | None:
        if self._fields is None:
            self._resolve()
        return self._getters.get(name)

    def new(self, data: Mapping[str, Any] | None, *, pointer: bool = False) -> GoStruct:
        """A struct value over ``data`` (its JSON form); with ``pointer``, ``None`` is a nil pointer."""
        return GoStruct(self, data if data is not None or pointer else {}, pointer=pointer)

    def __repr__(self) -> str:
        return f"StructType({self.go_type})"


class GoStruct(GoObject):
    """A Go struct (or pointer to one) over its JSON form; ``data is None`` is a nil pointer."""

    __slots__ = ("_cache", "_tracer", "data", "pointer", "stype")

    def __init__(self, stype: StructType, data: Mapping[str, Any] | None, *, pointer: bool = False) -> None:
        self.stype = stype
        self.data = data
        self.pointer = pointer
        self._cache: dict[str, Any] = {}
        self._tracer: _Tracer | None = None

    def go_type_name(self) -> str:
        return "*" + self.stype.go_type if self.pointer else self.stype.go_type

    def go_truth(self) -> bool:
        return self.data is not None

    def go_field(self, name: str) -> Any:
        cache = self._cache
        if name in cache:
            return cache[name]
        f = self.stype.field(name)
        if f is None:
            raise NoSuchField(name)
        data = self.data
        if data is None:
            raise NilPointerError(f"nil pointer evaluating {self.go_type_name()}.{name}")
        tracer = self._tracer
        if tracer is None:
            value = f.kind.wrap(data.get(f.json_name))
        else:
            value = tracer.child(f.kind, data.get(f.json_name), "f", f.json_name)
        cache[name] = value
        return value

    def go_method(self, name: str) -> Callable[..., Any] | None:
        f = self.stype.getter(name)
        if f is not None:
            return lambda: self._get(f)
        if name == "String" and self.stype.stringer is not None:
            return self.go_string
        return None

    def _get(self, f: GoField) -> Any:
        """A generated ``GetX`` getter: a fresh value each call; the zero value through a nil pointer."""
        data = self.data
        tracer = self._tracer
        if tracer is None or data is None:
            return f.kind.wrap(None if data is None else data.get(f.json_name))
        return tracer.child(f.kind, data.get(f.json_name), "f", f.json_name)

    def _read_whole(self) -> None:
        tracer = self._tracer
        if tracer is not None:
            tracer.whole(self.data)

    def go_string(self) -> str | None:
        if self.stype.stringer is None:
            return None
        self._read_whole()
        if self.data is None:
            return "<nil>"
        return self.stype.stringer(self)

    def go_format(self) -> str:
        self._read_whole()
        if self.data is None:
            return "<nil>"
        body = " ".join(_format_plain(self.go_field(f.go_name)) for f in self.stype.fields)
        return ("&{" if self.pointer else "{") + body + "}"

    def go_json(self) -> Any:
        self._read_whole()
        data = self.data
        if data is None:
            return None
        out = StructFields()
        for f in self.stype.fields:
            raw = data.get(f.json_name)
            if f.omitempty and f.kind.go_empty(raw):
                continue
            out[f.json_name] = f.kind.go_json(raw)
        return out

    def __repr__(self) -> str:
        return f"GoStruct({self.go_type_name()}, {self.data!r})"


class _StructKind(Kind):
    __slots__ = ("pointer", "stype")

    def __init__(self, stype: StructType, *, pointer: bool) -> None:
        super().__init__(("*" if pointer else "") + stype.go_type)
        self.stype = stype
        self.pointer = pointer

    def wrap(self, raw: Any) -> Any:
        if isinstance(raw, GoStruct):
            return raw
        if raw is None and not self.pointer:
            raw = {}
        return GoStruct(self.stype, raw, pointer=self.pointer)

    def go_json(self, raw: Any) -> Any:
        if raw is None and self.pointer:
            return None
        value = self.wrap(raw)
        assert isinstance(value, GoStruct)
        return value.go_json()

    def go_empty(self, raw: Any) -> bool:
        # omitempty never drops a struct value, only a nil pointer.
        return self.pointer and raw is None


def struct_kind(stype: StructType, *, pointer: bool = False) -> Kind:
    """A struct-valued field (``pointer``: a ``*T`` field, nil when absent; otherwise the zero struct)."""
    return _StructKind(stype, pointer=pointer)


class ScalarPointer(GoObject):
    """A non-nil pointer to a scalar (``*int64``, ``*bool``): true in ``if`` even when it points to zero,
    printed as the value it points to (the template engine dereferences pointers when printing)."""

    __slots__ = ("_go_type", "value")

    def __init__(self, value: Any, go_type: str) -> None:
        self.value = value
        self._go_type = go_type

    def go_type_name(self) -> str:
        return self._go_type

    def go_format(self) -> str:
        return _format_plain(self.value)

    def go_json(self) -> Any:
        return _go_json_of(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScalarPointer) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __repr__(self) -> str:
        return f"&{self.value!r}"


class _PointerKind(Kind):
    __slots__ = ("elem",)

    def __init__(self, elem: Kind) -> None:
        super().__init__("*" + elem.go_type)
        self.elem = elem

    def wrap(self, raw: Any) -> Any:
        if raw is None:
            return None
        return ScalarPointer(self.elem.wrap(raw), self.go_type)

    def go_json(self, raw: Any) -> Any:
        return None if raw is None else self.elem.go_json(raw)


def pointer_to(elem: Kind) -> Kind:
    """A pointer-to-scalar field (``*int64``): nil when absent."""
    return _PointerKind(elem)


class LooseStruct(GoObject):
    """A Go struct that has no schema here: fields are found by guessing their JSON names from Go names.

    An absent field reads as nil (the real zero value is unknown). Used for deep, rarely read types.
    """

    __slots__ = ("_go_type", "data")

    def __init__(self, data: Mapping[str, Any], go_type: str = "struct") -> None:
        self.data = data
        self._go_type = go_type

    def go_type_name(self) -> str:
        return self._go_type

    def go_field(self, name: str) -> Any:
        if not name[:1].isupper():
            raise NoSuchField(name)
        return _loose(self.data.get(_loose_json_name(name)))

    def go_format(self) -> str:
        return "{" + " ".join(_format_plain(_loose(v)) for v in self.data.values()) + "}"

    def go_json(self) -> Any:
        return self.data


def _loose(raw: Any) -> Any:
    if isinstance(raw, Mapping):
        return LooseStruct(raw)
    if isinstance(raw, list):
        return [_loose(x) for x in raw]
    return raw


class _LooseKind(Kind):
    __slots__ = ("pointer",)

    def __init__(self, go_type: str, *, pointer: bool) -> None:
        super().__init__(go_type)
        self.pointer = pointer

    def wrap(self, raw: Any) -> Any:
        if raw is None:
            return None if self.pointer else LooseStruct({}, self.go_type)
        if isinstance(raw, Mapping):
            return LooseStruct(raw, self.go_type)
        return _loose(raw)

    def go_empty(self, raw: Any) -> bool:
        return self.pointer and raw is None


def loose_kind(go_type: str, *, pointer: bool = True) -> Kind:
    """A field of a struct type without a schema (read through :class:`LooseStruct`)."""
    return _LooseKind(go_type, pointer=pointer)


# ------------------------------------------------------------------------------------------------------------
# Printing helpers (for %v of composite values; the engine's fmt handles top-level values)


def _format_plain(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, GoObject):
        s = value.go_string()
        return s if s is not None else value.go_format()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float_format(value, "g", 64)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{_format_plain(k)}:{_format_plain(value[k])}" for k in sorted(value, key=str)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_format_plain(v) for v in value) + "]"
    return str(value)


def _go_json_of(value: Any) -> Any:
    if isinstance(value, GoObject):
        return value.go_json()
    return value


# ------------------------------------------------------------------------------------------------------------
# What a template reads: traced data models and a cache keyed by the values read


class ReadPath:
    """Where a value sits in a data model: the steps from the root, interned (one object per distinct path).

    ``step`` is ``"f"`` (a Go struct field, by JSON name), ``"m"`` (a proto field, by its :class:`Field`) or
    ``"i"`` (a slice element, by index); ``kind`` is the kind of the value found there.
    """

    __slots__ = ("_children", "arg", "kind", "navigable", "parent", "step")

    def __init__(self, parent: ReadPath | None, step: str, arg: Any, kind: Kind) -> None:
        self.parent = parent
        self.step = step
        self.arg = arg
        self.kind = kind
        #: a struct or message: reads go further down
        self.navigable = _navigable(kind)
        self._children: dict[tuple[str, Any], ReadPath] = {}

    def child(self, step: str, arg: Any, kind: Kind) -> ReadPath:
        key = (step, arg)
        path = self._children.get(key)
        if path is None:
            path = self._children.setdefault(key, ReadPath(self, step, arg, kind))
        return path

    def __repr__(self) -> str:
        parts: list[str] = []
        node: ReadPath | None = self
        while node is not None and node.parent is not None:
            arg = node.arg.name if isinstance(node.arg, Field) else node.arg
            parts.append(f"[{arg}]" if node.step == "i" else f".{arg}")
            node = node.parent
        return "".join(reversed(parts)) or "."


_ROOT_PATHS: dict[tuple[StructType, bool], ReadPath] = {}

# What a read looked at: whether a struct or message is nil (SHAPE), which elements of a slice of them are nil
# (ELEMENTS), or the whole raw value (WHOLE: a field that is not navigated further; WHOLE_DATA: a struct or
# message serialised or printed whole).
SHAPE: Final = 0
ELEMENTS: Final = 1
WHOLE: Final = 2
WHOLE_DATA: Final = 3


def _navigable(kind: Kind) -> bool:
    return isinstance(kind, _StructKind | _MessageKind)


def _derive(kind: Kind, raw: Any) -> Any:
    """The data behind the struct or message that ``kind.wrap(raw)`` gives (None: a nil pointer)."""
    if isinstance(kind, _StructKind):
        if isinstance(raw, GoStruct):
            return raw.data
        if raw is None and not kind.pointer:
            return {}
        return raw
    msg = kind.wrap(raw)
    assert isinstance(msg, ProtoMessage)
    return msg.data


def _fingerprint(how: int, kind: Kind, raw: Any, data: Any) -> Any:
    """What a read saw, as a hashable value; equal fingerprints mean the template saw the same thing.

    A whole value is the string itself when it is a ``str`` (the common case), otherwise its ``marshal``
    version 0 bytes: exact about types (``1``, ``1.0``, ``True`` and ``"1"`` differ, so do tuples and lists,
    and a ``str`` never equals ``bytes``), keeps map order, has no sharing or interning marks, and refuses
    anything that is not plain data (raising ValueError).
    """
    if how == WHOLE:
        return raw if type(raw) is str else marshal.dumps(raw, 0)
    if how == SHAPE:
        return data is None
    if how == ELEMENTS:
        if raw is None:
            return None
        if type(raw) is not list:
            raise TypeError("not a list")
        elem = kind.elem  # type: ignore[attr-defined]
        return tuple(_derive(elem, x) is None for x in raw)
    return data if type(data) is str else marshal.dumps(data, 0)


class ReadLog:
    """The reads of one template execution over a traced data model, in order, each path and kind once.

    ``poisoned``: a value read could not be fingerprinted (not plain data); the execution cannot be cached.
    """

    __slots__ = ("_seen", "constant", "poisoned", "reads")

    def __init__(self, constant: Iterable[str] = ()) -> None:
        self.reads: list[tuple[ReadPath, int, Any]] = []
        self._seen: set[tuple[ReadPath, int]] = set()
        self.poisoned = False
        #: root fields that are the same for every execution sharing a cache (not recorded, not traced)
        self.constant = frozenset(constant)

    def note(self, path: ReadPath, how: int, raw: Any, data: Any) -> None:
        key = (path, how)
        if key in self._seen:
            return
        self._seen.add(key)
        try:
            fp = _fingerprint(how, path.kind, raw, data)
        except (ValueError, TypeError):
            self.poisoned = True
            return
        self.reads.append((path, how, fp))


class _Tracer:
    """Attached to a traced struct or message: its path and the log its reads go to."""

    __slots__ = ("log", "path")

    def __init__(self, log: ReadLog, path: ReadPath) -> None:
        self.log = log
        self.path = path

    def whole(self, data: Any) -> None:
        self.log.note(self.path, WHOLE_DATA, data, data)

    def child(self, kind: Kind, raw: Any, step: str, arg: Any) -> Any:
        """``kind.wrap(raw)`` for the field ``arg`` of the traced value, recording what the template sees."""
        log = self.log
        if self.path.parent is None and step == "f" and arg in log.constant:
            return kind.wrap(raw)
        path = self.path.child(step, arg, kind)
        if _navigable(kind):
            value = _traced_wrap(kind, raw, log, path)
            log.note(path, SHAPE, raw, value.data)
            return value
        if isinstance(kind, _ListKind) and _navigable(kind.elem) and (raw is None or type(raw) is list):
            log.note(path, ELEMENTS, raw, raw)
            if raw is None:
                return TypedList((), kind.go_type, is_nil=True)
            elem = kind.elem
            return TypedList(
                [_traced_wrap(elem, x, log, path.child("i", i, elem)) for i, x in enumerate(raw)], kind.go_type
            )
        log.note(path, WHOLE, raw, raw)
        return kind.wrap(raw)


def _traced_wrap(kind: Kind, raw: Any, log: ReadLog, path: ReadPath) -> GoStruct | ProtoMessage:
    wrapped = kind.wrap(raw)
    value: GoStruct | ProtoMessage
    if isinstance(wrapped, GoStruct):
        value = GoStruct(wrapped.stype, wrapped.data, pointer=wrapped.pointer)
    else:
        assert isinstance(wrapped, ProtoMessage)
        value = ProtoMessage(wrapped.mtype, wrapped.data)
    value._tracer = _Tracer(log, path)
    return value


def traced(root: GoStruct, log: ReadLog) -> GoStruct:
    """A copy of the struct ``root`` whose reads (and those of everything reached from it) go to ``log``.

    Every way a template can learn something about the data goes through a traced value: field reads and
    getters record what they return (a nested struct or message only by whether it is nil, a slice of them
    by which elements are nil, anything else whole), and printing or serialising a struct or message records
    all of it.
    """
    key = (root.stype, root.pointer)
    path = _ROOT_PATHS.get(key)
    if path is None:
        path = _ROOT_PATHS.setdefault(key, ReadPath(None, "", None, struct_kind(root.stype, pointer=root.pointer)))
    value = GoStruct(root.stype, root.data, pointer=root.pointer)
    value._tracer = _Tracer(log, path)
    return value


class _Node:
    """A node of a :class:`ReadTree`: the read to make next and a child per outcome, or a leaf's result."""

    __slots__ = ("children", "how", "outcome", "parent", "path", "result")

    def __init__(self, parent: _Node | None = None, outcome: Any = None) -> None:
        self.path: ReadPath | None = None
        self.how = 0
        self.children: dict[Any, _Node] = {}
        self.result: Any = None
        #: the node this one hangs from, under the key ``outcome`` (for pruning an evicted leaf)
        self.parent = parent
        self.outcome = outcome


def _read_value(path: ReadPath, root: Any, memo: dict[ReadPath, tuple[Any, Any]]) -> tuple[Any, Any]:
    """The raw value at ``path`` in the root data ``root`` and, for a struct or message, the data behind it."""
    parent = path.parent
    if parent is None:
        found = (root, root)
    else:
        hit = memo.get(parent)
        data = (hit if hit is not None else _read_value(parent, root, memo))[1]
        step = path.step
        if step == "f":
            raw = data.get(path.arg)
        elif step == "m":
            raw = path.arg.raw(data)
        else:
            raw = data[path.arg]
        found = (raw, _derive(path.kind, raw) if path.navigable else raw)
    memo[path] = found
    return found


class ReadTree:
    """Results of a deterministic computation over a data model, keyed by exactly what it read.

    An execution reads its input in an order that depends only on what it read before, so the executions
    seen so far form a decision tree: each node names the next read, each outcome leads to a child, each leaf
    holds the result. :meth:`lookup` replays the reads against new root data and returns the result of an
    execution that would have read the same values, or None. The tree holds at most ``max_leaves`` results,
    dropping the least recently used. Lookups may run while one thread inserts (callers serialise inserts):
    a lookup sees either the old or the new branch, and a result it finds is always a right one.
    """

    def __init__(self, max_leaves: int = 512) -> None:
        self._root = _Node()
        self._leaves: OrderedDict[_Node, None] = OrderedDict()
        self.max_leaves = max_leaves

    def __len__(self) -> int:
        return len(self._leaves)

    def lookup(self, root: Any) -> Any:
        node: _Node | None = self._root
        memo: dict[ReadPath, tuple[Any, Any]] = {}
        try:
            while node is not None:
                result = node.result
                if result is not None:
                    self._touch(node)
                    return result
                path = node.path
                if path is None:
                    return None
                found = memo.get(path)
                if found is None:
                    found = _read_value(path, root, memo)
                how = node.how
                fp: Any
                # The two common cases of _fingerprint, inline.
                if how == WHOLE:
                    raw = found[0]
                    fp = raw if type(raw) is str else marshal.dumps(raw, 0)
                elif how == SHAPE:
                    fp = found[1] is None
                else:
                    fp = _fingerprint(how, path.kind, found[0], found[1])
                node = node.children.get(fp)
        except Exception:  # data the recorded execution could not have seen: never a hit
            return None
        return None

    def _touch(self, leaf: _Node) -> None:
        # KeyError: evicted by an insert meanwhile (its result was still right).
        with contextlib.suppress(KeyError):
            self._leaves.move_to_end(leaf)

    def insert(self, log: ReadLog, result: Any) -> bool:
        """Remember ``result`` for the reads in ``log``; False when they contradict the tree (not stored)."""
        if log.poisoned or result is None:
            return False
        node = self._root
        for path, how, fp in log.reads:
            if node.result is not None:
                return False
            if node.path is None:
                if node.children:
                    return False
                node.how = how
                node.path = path
            elif node.path is not path or node.how != how:
                return False
            child = node.children.get(fp)
            if child is None:
                child = node.children.setdefault(fp, _Node(node, fp))
            node = child
        if node.path is not None:
            return False
        if node.result is None:
            node.result = result
            self._leaves[node] = None
            while len(self._leaves) > self.max_leaves:
                self._evict(self._leaves.popitem(last=False)[0])
        return True

    def _evict(self, leaf: _Node) -> None:
        """Drop a leaf and the branch that led only to it."""
        leaf.result = None
        node = leaf
        while node.parent is not None and not node.children and node.result is None:
            parent = node.parent
            if parent.children.get(node.outcome) is node:
                del parent.children[node.outcome]
            node = parent
        if node is self._root and not node.children and node.result is None:
            node.path = None
