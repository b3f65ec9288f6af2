"""Go's ``encoding/json`` for the engine's value model: Marshal, MarshalIndent and Unmarshal into ``any``.

Output is byte-identical to Go 1.26: map keys sorted, HTML characters escaped (``<`` ``>`` ``&`` as
``\\u003c`` ...), U+2028/U+2029 escaped, invalid UTF-8 (``surrogateescape`` characters) written as
``\\ufffd``, floats in Go's format (``'f'`` unless the exponent is below -6 or at least 21, then ``'e'`` with
``e-7`` rather than ``e-07``). Go errors are raised as :class:`~meshinject.gotemplate.errors.FuncError` with
Go's message.

Maps (dicts) are written with sorted keys; a ``datamodel.StructFields`` (a Go struct's fields, e.g. from a
GoObject's ``go_json()``) keeps its order. Typed maps and slices with ``is_nil`` set are written as ``null``;
floats with ``bits == 32`` (float32) with 32-bit shortest digits.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any, Final

from . import gofmt
from ._values import MISSING, GoObject, go_type_name
from .errors import FuncError

__all__ = ["marshal", "marshal_indent", "syntax_error", "unmarshal"]

# ----------------------------------------------------------------------------------------------------------
# Marshal

# The standard library's C string encoder escapes exactly what Go escapes, except for the characters
# below. They can only occur inside strings of the output, so one pass over the finished text fixes them all.
_NON_ASCII_EXTRA: Final = re.compile("[\u2028\u2029\ud800-\udfff]")


def _non_ascii_escape(m: re.Match[str]) -> str:
    c = m.group()
    if c == "\u2028":
        return "\\u2028"
    if c == "\u2029":
        return "\\u2029"
    # A surrogate is not valid UTF-8: Go writes U+FFFD for every invalid byte, and a lone surrogate stands for
    # three such bytes unless it is a surrogateescape'd single byte.
    return "\\ufffd" if 0xDC80 <= ord(c) <= 0xDCFF else "\\ufffd\\ufffd\\ufffd"


def _go_escapes(out: str) -> str:
    """Go's extra escapes (HTML characters, U+2028/2029, invalid UTF-8) applied to finished JSON text."""
    if "<" in out or ">" in out or "&" in out:
        out = out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    if not out.isascii():
        out = _NON_ASCII_EXTRA.sub(_non_ascii_escape, out)
    return out


def _encode_float(x: float) -> str:
    if x != x or x == math.inf or x == -math.inf:
        raise FuncError("json: unsupported value: " + gofmt.format_float(x))
    a = abs(x)
    if 1e-4 <= a < 1e16:
        # repr gives the shortest digits in fixed notation there, as Go's 'f' with precision -1 does.
        r = repr(x)
        return r[:-2] if r.endswith(".0") else r
    if a != 0.0 and (a < 1e-6 or a >= 1e21):
        return _clean_exponent(repr(x))  # repr's exponent form is strconv's 'e' with precision -1
    return gofmt.format_float(x, "f", -1)


def _encode_float32(x: float) -> str:
    if x != x or x == math.inf or x == -math.inf:
        raise FuncError("json: unsupported value: " + gofmt.format_float(x, "g", -1, 32))
    a = abs(x)
    if a != 0.0 and (a < 1e-6 or a >= 1e21):
        return _clean_exponent(gofmt.format_float(x, "e", -1, 32))
    return gofmt.format_float(x, "f", -1, 32)


def _clean_exponent(r: str) -> str:
    """encoding/json writes e-07 as e-7 (but keeps e+21)."""
    n = len(r)
    if r[n - 4 : n - 1] == "e-0":
        return r[: n - 2] + r[n - 1]
    return r


def _key_string(k: Any) -> str:
    if isinstance(k, str):
        return str(k)
    if isinstance(k, int) and not isinstance(k, bool):
        return str(int(k))
    raise FuncError(f"json: unsupported type: map[{go_type_name(k)}]interface {{}}")


def _sorted_keys(m: Mapping[Any, Any]) -> list[Any]:
    """The keys of a Go map in encoding/json's order: sorted by their string form."""
    try:
        keys = sorted(m)
    except TypeError:
        keys = list(m)
    if keys and type(keys[0]) is str and all(type(k) is str for k in keys):
        return keys
    return sorted(keys, key=_key_string)


_struct_fields_type: type | None = None


def _is_struct_fields(m: Mapping[Any, Any]) -> bool:
    """Whether ``m`` is a datamodel.StructFields: a Go struct's fields, written in declaration order."""
    global _struct_fields_type
    if _struct_fields_type is None:
        # Imported on first use: the data model may itself use this module.
        from .datamodel import StructFields

        _struct_fields_type = StructFields
    return isinstance(m, _struct_fields_type)


def _unsupported_type(v: Any) -> FuncError:
    name = "func()" if callable(v) else gofmt.type_name(v)
    return FuncError("json: unsupported type: " + name)


def _encode(v: Any) -> str:
    """Compact JSON; plain values on the fast path, everything else through :func:`_encode_other`."""
    t = type(v)
    if t is str:
        return encode_basestring(v)
    if t is float:
        return _encode_float(v)
    if t is dict:
        if not v:
            return "{}"
        parts = []
        for k in _sorted_keys(v):
            val = v[k]
            tv = type(val)
            if tv is str:
                enc = encode_basestring(val)
            elif tv is float:
                enc = _encode_float(val)
            elif tv is int:
                enc = str(val)
            else:
                enc = _encode(val)
            parts.append(encode_basestring(k if type(k) is str else _key_string(k)) + ":" + enc)
        return "{" + ",".join(parts) + "}"
    if t is list or t is tuple:
        return "[" + ",".join([_encode(x) for x in v]) + "]"
    if t is int:
        return str(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    return _encode_other(v, None, "")


def _encode_indent(v: Any, nl: str, indent: str) -> str:
    """MarshalIndent's layout; ``nl`` is a newline, the prefix and the indentation of the current level."""
    t = type(v)
    if t is dict:
        if not v:
            return "{}"
        inner = nl + indent
        parts = []
        for k in _sorted_keys(v):
            val = v[k]
            tv = type(val)
            if tv is str:
                enc = encode_basestring(val)
            elif tv is float:
                enc = _encode_float(val)
            elif tv is int:
                enc = str(val)
            else:
                enc = _encode_indent(val, inner, indent)
            parts.append(encode_basestring(k if type(k) is str else _key_string(k)) + ": " + enc)
        return "{" + inner + ("," + inner).join(parts) + nl + "}"
    if t is list or t is tuple:
        if not v:
            return "[]"
        inner = nl + indent
        return "[" + inner + ("," + inner).join([_encode_indent(x, inner, indent) for x in v]) + nl + "]"
    if t is str or t is float or t is int or t is bool or v is None:
        return _encode(v)
    return _encode_other(v, nl, indent)


def _encode_other(v: Any, nl: str | None, indent: str) -> str:
    """Everything but plain values: GoObjects, typed (or nil) maps and slices, subclasses, bytes."""
    if v is MISSING:
        return "null"
    if isinstance(v, GoObject):
        data = v.go_json()
        return _encode(data) if nl is None else _encode_indent(data, nl, indent)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return _encode_float32(v) if getattr(v, "bits", 64) == 32 else _encode_float(float(v))
    if isinstance(v, str):
        return encode_basestring(str(v))
    if isinstance(v, bytes | bytearray):
        return '"' + base64.b64encode(v).decode("ascii") + '"'
    if isinstance(v, Mapping):
        if getattr(v, "is_nil", False):
            return "null"
        if not v:
            return "{}"
        keys = list(v) if _is_struct_fields(v) else _sorted_keys(v)
        if nl is None:
            return "{" + ",".join([encode_basestring(_key_string(k)) + ":" + _encode(v[k]) for k in keys]) + "}"
        inner = nl + indent
        parts = [encode_basestring(_key_string(k)) + ": " + _encode_indent(v[k], inner, indent) for k in keys]
        return "{" + inner + ("," + inner).join(parts) + nl + "}"
    if isinstance(v, list | tuple):
        if getattr(v, "is_nil", False):
            return "null"
        if getattr(v, "go_type", "") in ("[]uint8", "[]byte"):
            return '"' + base64.b64encode(bytes(v)).decode("ascii") + '"'
        if nl is None:
            return "[" + ",".join([_encode(x) for x in v]) + "]"
        if not v:
            return "[]"
        inner = nl + indent
        return "[" + inner + ("," + inner).join([_encode_indent(x, inner, indent) for x in v]) + nl + "]"
    raise _unsupported_type(v)


def _cycle_error(value: Any) -> FuncError:
    # Python data nested this deep is almost surely cyclic (Go detects cycles the same way, by depth).
    return FuncError("json: unsupported value: encountered a cycle via " + gofmt.type_name(value))


def marshal(value: Any) -> str:
    """json.Marshal: compact JSON with sorted map keys and HTML-safe strings."""
    try:
        return _go_escapes(_encode(value))
    except RecursionError:
        raise _cycle_error(value) from None


_LAYOUT_MARKS: Final = re.compile("[\x01\x02]")


def marshal_indent(value: Any, prefix: str, indent: str) -> str:
    """json.MarshalIndent: an element a line, ``prefix`` on all but the first line; ``{}``/``[]`` if empty."""
    # Go escapes inside strings only, never the prefix or the indent: when those hold characters that the
    # final escaping pass would touch, lay out with raw control characters (never in encoded JSON) instead.
    safe = prefix.isascii() and indent.isascii() and not any(c in prefix or c in indent for c in "<>&")
    try:
        if safe:
            return _go_escapes(_encode_indent(value, "\n" + prefix, indent))
        out = _go_escapes(_encode_indent(value, "\n\x01", "\x02"))
    except RecursionError:
        raise _cycle_error(value) from None
    return _LAYOUT_MARKS.sub(lambda m: prefix if m.group() == "\x01" else indent, out)


# ----------------------------------------------------------------------------------------------------------
# Unmarshal

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


class _NumberRangeError(Exception):
    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _checked_float(literal: str) -> float:
    f = float(literal)
    if f == math.inf or f == -math.inf:
        raise _NumberRangeError(literal)
    return f


_DECODER: Final = json.JSONDecoder(
    parse_int=_checked_float, parse_float=_checked_float, parse_constant=_reject_constant
)


def _fix_surrogates(v: Any) -> Any:
    if isinstance(v, str):
        return _SURROGATE.sub("\ufffd", v)
    if isinstance(v, list):
        return [_fix_surrogates(x) for x in v]
    if isinstance(v, dict):
        return {_fix_surrogates(k): _fix_surrogates(x) for k, x in v.items()}
    return v


def _may_have_surrogates(text: str) -> bool:
    if "\\ud" in text or "\\uD" in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def unmarshal(text: str) -> Any:
    """json.Unmarshal into ``any``: objects are dicts, arrays lists, and every number a float (float64)."""
    try:
        value = _DECODER.decode(text)
    except _NumberRangeError as e:
        # Go checks the syntax of the whole input before it decodes anything.
        syntax = syntax_error(text)
        raise FuncError(syntax or f"json: cannot unmarshal number {e.literal} into Go value of type float64") from None
    except (ValueError, RecursionError):
        syntax = syntax_error(text)
        if syntax is not None:
            raise FuncError(syntax) from None
        # Valid for Go (nesting up to 10000) but deeper than Python's recursive decoder goes.
        value = _decode_deep(text)
    if _may_have_surrogates(text):
        # Go decodes lone surrogate escapes and invalid UTF-8 to U+FFFD.
        value = _fix_surrogates(value)
    return value


_TOKEN: Final = re.compile(r'[ \t\r\n]*(?:([\[\]{},:])|("(?:[^"\\]|\\.)*")|(true|false|null)|(-?[0-9][0-9.eE+-]*))')
_LITERALS: Final = {"true": True, "false": False, "null": None}


def _decode_deep(text: str) -> Any:
    """Decode valid JSON without recursion (for nesting deeper than Python's recursion limit)."""
    stack: list[tuple[list[Any] | dict[str, Any], str | None]] = []
    key: str | None = None
    result: Any = None
    pos = 0
    while True:
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        pos = m.end()
        punct, string, literal, number = m.groups()
        if punct == ":" or punct == ",":
            continue
        if punct == "[" or punct == "{":
            stack.append(([] if punct == "[" else {}, key))
            key = None
            continue
        if punct == "]" or punct == "}":
            container, key = stack.pop()
            value: Any = container
        elif string is not None:
            value = json.loads(string)
            if stack and isinstance(stack[-1][0], dict) and key is None:
                key = value
                continue
        elif literal is not None:
            value = _LITERALS[literal]
        else:
            value = float(number)
            if value == math.inf or value == -math.inf:
                raise FuncError(f"json: cannot unmarshal number {number} into Go value of type float64")
        if not stack:
            result = value
            break
        top = stack[-1][0]
        if isinstance(top, list):
            top.append(value)
        else:
            top[key] = value  # type: ignore[index]
            key = None
    return result


# -- Go's JSON scanner, used only to word errors exactly as Go does -----------------------------------------

_PARSE_OBJECT_KEY: Final = 0
_PARSE_OBJECT_VALUE: Final = 1
_PARSE_ARRAY_VALUE: Final = 2
_MAX_DEPTH: Final = 10000
_SPACE: Final = frozenset(b" \t\r\n")
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_DIGITS: Final = frozenset(b"0123456789")


class _SyntaxError(Exception):
    pass


def _quote_char(c: int) -> str:
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + gofmt.quote(chr(c))[1:-1] + "'"


class _Scanner:
    """A port of the state machine of Go's encoding/json scanner (checkValid)."""

    def __init__(self) -> None:
        self.step = self.begin_value
        self.parse_state: list[int] = []
        self.end_top = False

    def error(self, c: int, context: str) -> None:
        raise _SyntaxError(f"invalid character {_quote_char(c)} {context}")

    def push(self, c: int, state: int) -> None:
        self.parse_state.append(state)
        if len(self.parse_state) > _MAX_DEPTH:
            self.error(c, "exceeded max depth")

    def pop(self) -> None:
        self.parse_state.pop()
        if not self.parse_state:
            self.step = self.end_top_state
            self.end_top = True
        else:
            self.step = self.end_value

    def begin_value_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == 0x5D:  # ]
            self.end_value(c)
            return
        self.begin_value(c)

    def begin_value(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == 0x7B:  # {
            self.step = self.begin_string_or_empty
            self.push(c, _PARSE_OBJECT_KEY)
        elif c == 0x5B:  # [
            self.step = self.begin_value_or_empty
            self.push(c, _PARSE_ARRAY_VALUE)
        elif c == 0x22:
            self.step = self.in_string
        elif c == 0x2D:  # -
            self.step = self.neg
        elif c == 0x30:
            self.step = self.zero
        elif c == 0x74:
            self.step = self.literal("true", 1)
        elif c == 0x66:
            self.step = self.literal("false", 1)
        elif c == 0x6E:
            self.step = self.literal("null", 1)
        elif 0x31 <= c <= 0x39:
            self.step = self.one
        else:
            self.error(c, "looking for beginning of value")

    def begin_string_or_empty(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == 0x7D:  # }
            self.parse_state[-1] = _PARSE_OBJECT_VALUE
            self.end_value(c)
            return
        self.begin_string(c)

    def begin_string(self, c: int) -> None:
        if c in _SPACE:
            return
        if c == 0x22:
            self.step = self.in_string
            return
        self.error(c, "looking for beginning of object key string")

    def end_value(self, c: int) -> None:
        if not self.parse_state:
            self.step = self.end_top_state
            self.end_top = True
            self.end_top_state(c)
            return
        if c in _SPACE:
            self.step = self.end_value
            return
        ps = self.parse_state[-1]
        if ps == _PARSE_OBJECT_KEY:
            if c == 0x3A:  # :
                self.parse_state[-1] = _PARSE_OBJECT_VALUE
                self.step = self.begin_value
                return
            self.error(c, "after object key")
        elif ps == _PARSE_OBJECT_VALUE:
            if c == 0x2C:  # ,
                self.parse_state[-1] = _PARSE_OBJECT_KEY
                self.step = self.begin_string
                return
            if c == 0x7D:
                self.pop()
                return
            self.error(c, "after object key:value pair")
        else:
            if c == 0x2C:
                self.step = self.begin_value
                return
            if c == 0x5D:
                self.pop()
                return
            self.error(c, "after array element")

    def end_top_state(self, c: int) -> None:
        if c not in _SPACE:
            self.error(c, "after top-level value")

    def in_string(self, c: int) -> None:
        if c == 0x22:
            self.step = self.end_value
        elif c == 0x5C:
            self.step = self.in_string_esc
        elif c < 0x20:
            self.error(c, "in string literal")

    def in_string_esc(self, c: int) -> None:
        if c in b'bfnrt\\/"':
            self.step = self.in_string
        elif c == 0x75:  # u
            self.step = self.in_string_esc_u(4)
        else:
            self.error(c, "in string escape code")

    def in_string_esc_u(self, left: int) -> Any:
        def state(c: int) -> None:
            if c in _HEX:
                self.step = self.in_string if left == 1 else self.in_string_esc_u(left - 1)
                return
            self.error(c, "in \\u hexadecimal character escape")

        return state

    def neg(self, c: int) -> None:
        if c == 0x30:
            self.step = self.zero
        elif 0x31 <= c <= 0x39:
            self.step = self.one
        else:
            self.error(c, "in numeric literal")

    def one(self, c: int) -> None:
        if c in _DIGITS:
            return
        self.zero(c)

    def zero(self, c: int) -> None:
        if c == 0x2E:  # .
            self.step = self.dot
        elif c == 0x65 or c == 0x45:
            self.step = self.exp
        else:
            self.end_value(c)

    def dot(self, c: int) -> None:
        if c in _DIGITS:
            self.step = self.dot0
            return
        self.error(c, "after decimal point in numeric literal")

    def dot0(self, c: int) -> None:
        if c in _DIGITS:
            return
        if c == 0x65 or c == 0x45:
            self.step = self.exp
            return
        self.end_value(c)

    def exp(self, c: int) -> None:
        if c == 0x2B or c == 0x2D:
            self.step = self.exp_sign
            return
        self.exp_sign(c)

    def exp_sign(self, c: int) -> None:
        if c in _DIGITS:
            self.step = self.exp0
            return
        self.error(c, "in exponent of numeric literal")

    def exp0(self, c: int) -> None:
        if c in _DIGITS:
            return
        self.end_value(c)

    def literal(self, word: str, pos: int) -> Any:
        def state(c: int) -> None:
            if c == ord(word[pos]):
                self.step = self.end_value if pos + 1 == len(word) else self.literal(word, pos + 1)
                return
            self.error(c, f"in literal {word} (expecting {word[pos]!r})")

        return state


def syntax_error(text: str) -> str | None:
    """The message of Go's json.SyntaxError for ``text``, or ``None`` when Go finds the syntax valid."""
    data = gofmt.go_bytes(text)
    scanner = _Scanner()
    try:
        for c in data:
            scanner.step(c)
        if scanner.end_top:
            return None
        scanner.step(0x20)
        if scanner.end_top:
            return None
    except _SyntaxError as e:
        return str(e)
    return "unexpected end of JSON input"
