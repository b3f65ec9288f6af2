"""Validation of a pod's injection annotations, with the error texts Istio's injector returns.

Istio checks a fixed set of annotations before rendering anything (``validateAnnotations`` in
``pkg/kube/inject/validate.go``); an invalid one fails the whole injection. Every failure is reported as
``invalid value '<value>' for annotation '<name>': <reason>`` and the failures are gathered into a
go-multierror, whose text is ``1 error occurred:\\n\\t* ...\\n\\n``. The reasons are the ones Go's
standard library produces (``strconv``, ``net/netip``, ``time``, ``encoding/json``), reproduced here so
that users see the same messages as from Istio.

Only the annotations Istio validates are checked: notably ``sidecar.istio.io/inject`` and
``sidecar.istio.io/nativeSidecar`` are *not* validated there (an unparsable value is simply treated as
unset by the code that reads it), so they are not validated here either.

Go walks the annotation map in random order; this module reports failures in the order of the given
mapping, which is one of the orders Go may produce.

The module also holds the small Go-compatible primitives (``strconv.Quote``, ``strconv.Atoi``,
``strconv.ParseBool``, ``strings.TrimSpace``) that the probe and Prometheus modules share.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from meshinject.gotemplate import gojson
from meshinject.gotemplate.goyaml import GoYAMLError, load_preserving_types
from meshinject.inject.quantity import QuantityError, parse_quantity

__all__ = [
    "ANNOTATION_VALIDATORS",
    "AnnotationError",
    "format_multierror",
    "go_atoi",
    "go_json_float",
    "go_json_string",
    "go_quote",
    "go_trim_space",
    "parse_go_bool",
    "parse_ports",
    "validate_annotations",
]


class AnnotationError(ValueError):
    """One or more annotations are invalid; ``str()`` is Istio's multierror text, ``errors`` its items."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors: list[str] = list(errors)
        super().__init__(format_multierror(self.errors))


class _GoError(Exception):
    """A Go ``error`` value on its way up; the message is Go's."""


def format_multierror(errors: Sequence[str]) -> str:
    """The text of a hashicorp go-multierror holding ``errors`` (its default list format)."""
    if len(errors) == 1:
        return f"1 error occurred:\n\t* {errors[0]}\n\n"
    points = "\n\t".join(f"* {e}" for e in errors)
    return f"{len(errors)} errors occurred:\n\t{points}\n\n"


# ------------------------------------------------------------------------------------------------------------
# Go primitives

_QUOTE_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(s: str) -> str:
    """``strconv.Quote`` (also what ``%q`` prints for a string)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif 0xD800 <= o <= 0xDFFF:
            # A lone surrogate stands for bytes that were not UTF-8; Go prints those as U+FFFD.
            out.append("\ufffd")
        elif ch == " " or (o > 0x7F and ch.isprintable()) or (0x20 < o < 0x7F):
            # Python's isprintable and Go's IsPrint both mean categories L, M, N, P, S plus ASCII space.
            out.append(ch)
        elif ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


# unicode.IsSpace: the Latin-1 spaces plus the White_Space characters above Latin-1.
_GO_SPACE: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def go_trim_space(s: str) -> str:
    """``strings.TrimSpace`` (Python's ``strip`` also removes \\x1c-\\x1f, which Go keeps)."""
    start, end = 0, len(s)
    while start < end and s[start] in _GO_SPACE:
        start += 1
    while end > start and s[end - 1] in _GO_SPACE:
        end -= 1
    return s[start:end]


def _num_error(func: str, s: str, reason: str) -> _GoError:
    return _GoError(f"strconv.{func}: parsing {go_quote(s)}: {reason}")


def _parse_uint(s: str, bit_size: int) -> int:
    """``strconv.ParseUint(s, 10, bit_size)``."""
    if s == "":
        raise _num_error("ParseUint", s, "invalid syntax")
    max_val = (1 << bit_size) - 1
    cutoff = (1 << 64) // 10 + 1
    n = 0
    for ch in s:
        if "0" <= ch <= "9":
            d = ord(ch) - 48
        else:
            # Letters are digits of larger bases, so with base 10 they fail like any other character.
            raise _num_error("ParseUint", s, "invalid syntax")
        if n >= cutoff:
            raise _num_error("ParseUint", s, "value out of range")
        n = n * 10 + d
        if n > max_val:
            raise _num_error("ParseUint", s, "value out of range")
    return n


_INT64_MAX: Final = (1 << 63) - 1
_INT64_MIN: Final = -(1 << 63)


def go_atoi(s: str) -> tuple[int, str | None]:
    """``strconv.Atoi`` on a 64-bit platform: (value, error text or None).

    As in Go, the value is 0 after a syntax error and the clamped int64 after a range error.
    """

    def fail(reason: str) -> str:
        return f"strconv.Atoi: parsing {go_quote(s)}: {reason}"

    negative = s[:1] == "-"
    body = s[1:] if s[:1] in ("+", "-") else s
    if 0 < len(s) < 19:
        # Go's fast path: every character must be a digit.
        if body == "" or not all("0" <= c <= "9" for c in body):
            return 0, fail("invalid syntax")
        return (-int(body) if negative else int(body)), None
    if body == "":
        return 0, fail("invalid syntax")
    # The slow path scans digit by digit, so an overflow seen before a bad character is a range error.
    n = 0
    for ch in body:
        if not "0" <= ch <= "9":
            return 0, fail("invalid syntax")
        n = n * 10 + ord(ch) - 48
        if n >= 1 << 64:
            break
    if negative and n > 1 << 63:
        return _INT64_MIN, fail("value out of range")
    if not negative and n > _INT64_MAX:
        return _INT64_MAX, fail("value out of range")
    return (-n if negative else n), None


_BOOL_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_BOOL_FALSE: Final = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_go_bool(s: str) -> bool | None:
    """``strconv.ParseBool``: the value, or None where Go returns an error."""
    if s in _BOOL_TRUE:
        return True
    if s in _BOOL_FALSE:
        return False
    return None


def _parse_bool(s: str) -> bool:
    value = parse_go_bool(s)
    if value is None:
        raise _num_error("ParseBool", s, "invalid syntax")
    return value


def go_json_string(s: str) -> str:
    """``encoding/json`` encoding of a string, HTML-safe escaping included (``<`` -> ``\\u003c``)."""
    return gojson.marshal(s)


def go_json_float(f: float) -> str:
    """``encoding/json`` text of a float64 (shortest digits; exponent form below 1e-6 and from 1e21)."""
    return gojson.marshal(f)


# ------------------------------------------------------------------------------------------------------------
# net/netip and net.SplitHostPort


def _addr_error(s: str, msg: str, at: str = "") -> _GoError:
    if at:
        return _GoError(f"ParseAddr({go_quote(s)}): {msg} (at {go_quote(at)})")
    return _GoError(f"ParseAddr({go_quote(s)}): {msg}")


def _parse_ipv4_fields(whole: str, part: str) -> None:
    val = pos = dig_len = 0
    for i, ch in enumerate(part):
        if "0" <= ch <= "9":
            if dig_len == 1 and val == 0:
                raise _addr_error(whole, "IPv4 field has octet with leading zero")
            val = val * 10 + ord(ch) - 48
            dig_len += 1
            if val > 255:
                raise _addr_error(whole, "IPv4 field has value >255")
        elif ch == ".":
            if i == 0 or i == len(part) - 1 or part[i - 1] == ".":
                raise _addr_error(whole, "IPv4 field must have at least one digit", part[i:])
            if pos == 3:
                raise _addr_error(whole, "IPv4 address too long")
            pos += 1
            val = dig_len = 0
        else:
            raise _addr_error(whole, "unexpected character", part[i:])
    if pos < 3:
        raise _addr_error(whole, "IPv4 address too short")


_HEX: Final = frozenset("0123456789abcdefABCDEF")


def _parse_ipv6(whole: str) -> bool:
    """Checks an IPv6 address like ``netip.ParseAddr``; returns whether it carries a zone."""
    s = whole
    zone = ""
    if "%" in s:
        s, zone = s.split("%", 1)
        if zone == "":
            raise _addr_error(whole, "zone must be a non-empty string")
    ellipsis = -1
    if len(s) >= 2 and s[0] == ":" and s[1] == ":":
        ellipsis = 0
        s = s[2:]
        if s == "":
            return zone != ""
    i = 0
    while i < 16:
        off = 0
        acc = 0
        while off < len(s) and s[off] in _HEX:
            acc = (acc << 4) + int(s[off], 16)
            if off > 3:
                raise _addr_error(whole, "each group must have 4 or less digits", s)
            if acc > 0xFFFF:
                raise _addr_error(whole, "IPv6 field has value >=2^16", s)
            off += 1
        if off == 0:
            raise _addr_error(whole, "each colon-separated field must have at least one digit", s)
        if off < len(s) and s[off] == ".":
            if ellipsis < 0 and i != 12:
                raise _addr_error(whole, "embedded IPv4 address must replace the final 2 fields of the address", s)
            if i + 4 > 16:
                raise _addr_error(whole, "too many hex fields to fit an embedded IPv4 at the end of the address", s)
            _parse_ipv4_fields(whole, s)
            s = ""
            i += 4
            break
        i += 2
        s = s[off:]
        if s == "":
            break
        if s[0] != ":":
            raise _addr_error(whole, "unexpected character, want colon", s)
        if len(s) == 1:
            raise _addr_error(whole, "colon must be followed by more characters", s)
        s = s[1:]
        if s[0] == ":":
            if ellipsis >= 0:
                raise _addr_error(whole, "multiple :: in address", s)
            ellipsis = i
            s = s[1:]
            if s == "":
                break
    if s != "":
        raise _addr_error(whole, "trailing garbage after address", s)
    if i < 16:
        if ellipsis < 0:
            raise _addr_error(whole, "address string too short")
    elif ellipsis >= 0:
        raise _addr_error(whole, "the :: must expand to at least one field of zeros")
    return zone != ""


def _parse_addr(s: str) -> tuple[bool, bool]:
    """``netip.ParseAddr``: (is IPv6, has zone), or the Go error."""
    for ch in s:
        if ch == ".":
            _parse_ipv4_fields(s, s)
            return False, False
        if ch == ":":
            return True, _parse_ipv6(s)
        if ch == "%":
            raise _addr_error(s, "missing IPv6 address")
    raise _addr_error(s, "unable to parse IP")


def _parse_prefix(s: str) -> None:
    """``netip.ParsePrefix``, for its error."""

    def fail(msg: str) -> _GoError:
        return _GoError(f"netip.ParsePrefix({go_quote(s)}): {msg}")

    i = s.rfind("/")
    if i < 0:
        raise fail("no '/'")
    try:
        is6, zoned = _parse_addr(s[:i])
    except _GoError as e:
        raise fail(str(e)) from None
    if is6 and zoned:
        raise fail("IPv6 zones cannot be present in a prefix")
    bits_str = s[i + 1 :]
    if len(bits_str) > 1 and not ("1" <= bits_str[0] <= "9"):
        raise fail("bad bits after slash: " + go_quote(bits_str))
    bits, err = go_atoi(bits_str)
    if err is not None:
        raise fail("bad bits after slash: " + go_quote(bits_str))
    if bits < 0 or bits > (128 if is6 else 32):
        raise fail("prefix length out of range")


def _is_valid_ip(s: str) -> bool:
    try:
        _parse_addr(s)
    except _GoError:
        return False
    return True


def _split_host_port(hostport: str) -> tuple[str, str]:
    """``net.SplitHostPort``."""

    def fail(why: str) -> _GoError:
        return _GoError(f"address {hostport}: {why}" if hostport else why)

    i = hostport.rfind(":")
    if i < 0:
        raise fail("missing port in address")
    j = k = 0
    if hostport[0] == "[":
        end = hostport.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        if end + 1 == len(hostport):
            raise fail("missing port in address")
        if end + 1 != i:
            if hostport[end + 1] == ":":
                raise fail("too many colons in address")
            raise fail("missing port in address")
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            raise fail("too many colons in address")
    if "[" in hostport[j:]:
        raise fail("unexpected '[' in address")
    if "]" in hostport[k:]:
        raise fail("unexpected ']' in address")
    return host, hostport[i + 1 :]


# ------------------------------------------------------------------------------------------------------------
# time.ParseDuration

_DURATION_UNITS: Final = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def _time_quote(s: str) -> str:
    """The ``quote`` of Go's time package: non-ASCII and control bytes as ``\\xNN``."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in ('"', "\\"):
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def _parse_duration(orig: str) -> int:
    """``time.ParseDuration`` in nanoseconds."""

    def fail(message: str) -> _GoError:
        return _GoError(f"time: {message} {_time_quote(orig)}")

    s = orig
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise fail("invalid duration")
    limit = 1 << 63
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise fail("invalid duration")
        i = 0
        v = 0
        while i < len(s) and "0" <= s[i] <= "9":
            if v > limit // 10:
                raise fail("invalid duration")
            v = v * 10 + ord(s[i]) - 48
            if v > limit:
                raise fail("invalid duration")
            i += 1
        pre = i > 0
        s = s[i:]
        frac, scale, post = 0, 1.0, False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if frac > (limit - 1) // 10:
                        overflow = True
                    else:
                        y = frac * 10 + ord(s[i]) - 48
                        if y > limit:
                            overflow = True
                        else:
                            frac = y
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise fail("invalid duration")
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise fail("missing unit in duration")
        unit_text, s = s[:i], s[i:]
        unit = _DURATION_UNITS.get(unit_text)
        if unit is None:
            raise fail(f"unknown unit {_time_quote(unit_text)} in duration")
        if v > limit // unit:
            raise fail("invalid duration")
        v *= unit
        if frac > 0:
            v += int(float(frac) * (float(unit) / scale))
            if v > limit:
                raise fail("invalid duration")
        total += v
        if total > limit:
            raise fail("invalid duration")
    if neg:
        return -total
    if total > limit - 1:
        raise fail("invalid duration")
    return total


# ------------------------------------------------------------------------------------------------------------
# encoding/json, as far as the legacy jsonpb decoder leans on it


def _quote_char(b: int) -> str:
    """``quoteChar`` of Go's JSON scanner (it quotes a byte as if it were a rune)."""
    if b == 0x27:
        return "'\\''"
    if b == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(b))[1:-1] + "'"


class _Scanner:
    """Checks JSON text the way ``encoding/json`` does before decoding, with its error texts."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8", "surrogatepass")
        self.pos = 0

    def error(self, what: str, in_token: bool = False) -> _GoError:
        if self.pos >= len(self.data):
            if not in_token:
                return _GoError("unexpected end of JSON input")
            # At the end Go feeds the scanner one space, which a half-read number or literal rejects.
            return _GoError(f"invalid character ' ' {what}")
        return _GoError(f"invalid character {_quote_char(self.data[self.pos])} {what}")

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def skip_space(self) -> None:
        while self.peek() in (0x20, 0x09, 0x0A, 0x0D):
            self.pos += 1

    def check(self) -> str:
        """Validates the whole text; returns the kind of the top-level value."""
        self.skip_space()
        kind = self.value()
        self.skip_space()
        if self.pos < len(self.data):
            raise self.error("after top-level value")
        return kind

    def value(self) -> str:
        c = self.peek()
        if c == 0x7B:
            self.pos += 1
            self.skip_space()
            if self.peek() == 0x7D:
                self.pos += 1
                return "object"
            while True:
                if self.peek() != 0x22:
                    raise self.error("looking for beginning of object key string")
                self.string()
                self.skip_space()
                if self.peek() != 0x3A:
                    raise self.error("after object key")
                self.pos += 1
                self.skip_space()
                self.value()
                self.skip_space()
                if self.peek() == 0x2C:
                    self.pos += 1
                    self.skip_space()
                    continue
                if self.peek() == 0x7D:
                    self.pos += 1
                    return "object"
                raise self.error("after object key:value pair")
        if c == 0x5B:
            self.pos += 1
            self.skip_space()
            if self.peek() == 0x5D:
                self.pos += 1
                return "array"
            while True:
                self.value()
                self.skip_space()
                if self.peek() == 0x2C:
                    self.pos += 1
                    self.skip_space()
                    continue
                if self.peek() == 0x5D:
                    self.pos += 1
                    return "array"
                raise self.error("after array element")
        if c == 0x22:
            self.string()
            return "string"
        if c == 0x2D or 0x30 <= c <= 0x39:
            self.number()
            return "number"
        for word, kind in ((b"true", "bool"), (b"false", "bool"), (b"null", "null")):
            if c == word[0]:
                self.pos += 1
                for expected in word[1:]:
                    if self.peek() != expected:
                        raise self.error(
                            f"in literal {word.decode()} (expecting {_quote_char(expected)})", in_token=True
                        )
                    self.pos += 1
                return kind
        raise self.error("looking for beginning of value")

    def string(self) -> None:
        self.pos += 1
        while True:
            c = self.peek()
            if c == -1:
                raise self.error("")
            self.pos += 1
            if c == 0x22:
                return
            if c < 0x20:
                self.pos -= 1
                raise self.error("in string literal")
            if c == 0x5C:
                e = self.peek()
                if e in b'"\\/bfnrt':
                    self.pos += 1
                elif e == 0x75:
                    self.pos += 1
                    for _ in range(4):
                        h = self.peek()
                        if h == -1 or chr(h) not in _HEX:
                            raise self.error("in \\u hexadecimal character escape")
                        self.pos += 1
                else:
                    raise self.error("in string escape code")

    def digits(self) -> int:
        start = self.pos
        while 0x30 <= self.peek() <= 0x39:
            self.pos += 1
        return self.pos - start

    def number(self) -> None:
        if self.peek() == 0x2D:
            self.pos += 1
        c = self.peek()
        if c == 0x30:
            self.pos += 1
        elif 0x31 <= c <= 0x39:
            self.digits()
        else:
            raise self.error("in numeric literal", in_token=True)
        if self.peek() == 0x2E:
            self.pos += 1
            if self.digits() == 0:
                raise self.error("after decimal point in numeric literal", in_token=True)
        if self.peek() in (0x65, 0x45):
            self.pos += 1
            if self.peek() in (0x2B, 0x2D):
                self.pos += 1
            if self.digits() == 0:
                raise self.error("in exponent of numeric literal", in_token=True)


_INT_RANGES: Final = {
    "int32": (-(1 << 31), (1 << 31) - 1),
    "protoreflect.EnumNumber": (-(1 << 31), (1 << 31) - 1),
    "int64": (_INT64_MIN, _INT64_MAX),
    "uint32": (0, (1 << 32) - 1),
    "uint64": (0, (1 << 64) - 1),
}
_INT_LITERAL: Final = re.compile(r"-?[0-9]+")


def _json_unmarshal(text: str, go_type: str) -> Any:
    """``json.Unmarshal(text, &v)`` for a scalar ``v`` of ``go_type``: the value, or Go's error."""
    kind = _Scanner(text).check()
    if kind == "null":
        return None
    literal = text.strip(" \t\r\n")

    def mismatch(what: str) -> _GoError:
        return _GoError(f"json: cannot unmarshal {what} into Go value of type {go_type}")

    if go_type == "bool":
        if kind != "bool":
            raise mismatch(kind)
        return literal == "true"
    if go_type == "string":
        if kind != "string":
            raise mismatch(kind)
        return json.loads(literal)
    if kind != "number":
        raise mismatch(kind)
    if go_type in _INT_RANGES:
        lo, hi = _INT_RANGES[go_type]
        unsigned_minus = lo == 0 and literal.startswith("-")
        if unsigned_minus or not _INT_LITERAL.fullmatch(literal) or not lo <= int(literal) <= hi:
            raise mismatch("number " + literal)
        return int(literal)
    value = float(literal)
    if math.isinf(value) or (go_type == "float32" and abs(value) > 3.4028234663852886e38):
        raise mismatch("number " + literal)
    return value


# ------------------------------------------------------------------------------------------------------------
# ProxyConfig, as the legacy jsonpb decoder reads it


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: str
    type_name: str = ""
    label: str = ""
    oneof: str = ""

    @property
    def json_name(self) -> str:
        parts = self.name.split("_")
        return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _f(name: str, kind: str, type_name: str = "", label: str = "", oneof: str = "") -> _Field:
    return _Field(name, kind, type_name, label, oneof)


_MESH: Final = "istio.mesh.v1alpha1."
_NET: Final = "istio.networking.v1alpha3."
_PC: Final = _MESH + "ProxyConfig."

_ENUMS: Final[dict[str, dict[str, int]]] = {
    _MESH + "AuthenticationPolicy": {"NONE": 0, "MUTUAL_TLS": 1, "INHERIT": 1000},
    _MESH + "ForwardClientCertDetails": {
        "UNDEFINED": 0,
        "SANITIZE": 1,
        "FORWARD_ONLY": 2,
        "APPEND_FORWARD": 3,
        "SANITIZE_SET": 4,
        "ALWAYS_FORWARD_ONLY": 5,
    },
    _MESH + "Tracing.OpenCensusAgent.TraceContext": {
        "UNSPECIFIED": 0,
        "W3C_TRACE_CONTEXT": 1,
        "GRPC_BIN": 2,
        "CLOUD_TRACE_CONTEXT": 3,
        "B3": 4,
    },
    _PC + "TracingServiceName": {
        "APP_LABEL_AND_NAMESPACE": 0,
        "CANONICAL_NAME_ONLY": 1,
        "CANONICAL_NAME_AND_NAMESPACE": 2,
    },
    _PC + "InboundInterceptionMode": {"REDIRECT": 0, "TPROXY": 1, "NONE": 2},
    _PC + "ProxyHeaders.MetadataExchangeMode": {"UNDEFINED": 0, "IN_MESH": 1},
    _PC + "ConnectionSettings.Profile": {"SIDECAR": 0, "EDGE": 1},
    _PC + "ConnectionSettings.HeadersWithUnderscoresAction": {
        "HEADERS_WITH_UNDERSCORES_UNSPECIFIED": 0,
        "HEADERS_WITH_UNDERSCORES_ALLOW": 1,
        "HEADERS_WITH_UNDERSCORES_REJECT_REQUEST": 2,
        "HEADERS_WITH_UNDERSCORES_DROP_HEADER": 3,
    },
    _PC + "ConnectionSettings.PathWithEscapedSlashesAction": {
        "PATH_WITH_ESCAPED_SLASHES_UNSPECIFIED": 0,
        "KEEP_UNCHANGED": 1,
        "REJECT_REQUEST": 2,
        "UNESCAPE_AND_REDIRECT": 3,
        "UNESCAPE_AND_FORWARD": 4,
    },
    _NET + "ClientTLSSettings.TLSmode": {"DISABLE": 0, "SIMPLE": 1, "MUTUAL": 2, "ISTIO_MUTUAL": 3},
}

# Fields in declaration order: the decoder visits them in this order, so it decides which error comes first.
# Kinds: proto scalar kinds, "enum", "message", and the well-known types "duration" and "<scalar>_value".
_MESSAGES: Final[dict[str, tuple[_Field, ...]]] = {
    _PC[:-1]: (
        _f("config_path", "string"),
        _f("binary_path", "string"),
        _f("service_cluster", "string", oneof="cluster_name"),
        _f("tracing_service_name", "enum", _PC + "TracingServiceName", oneof="cluster_name"),
        _f("drain_duration", "duration"),
        _f("discovery_address", "string"),
        _f("discovery_refresh_delay", "duration"),
        _f("zipkin_address", "string"),
        _f("statsd_udp_address", "string"),
        _f("envoy_metrics_service_address", "string"),
        _f("proxy_admin_port", "int32"),
        _f("availability_zone", "string"),
        _f("control_plane_auth_policy", "enum", _MESH + "AuthenticationPolicy"),
        _f("custom_config_file", "string"),
        _f("stat_name_length", "int32"),
        _f("concurrency", "int32_value"),
        _f("proxy_bootstrap_template_path", "string"),
        _f("interception_mode", "enum", _PC + "InboundInterceptionMode"),
        _f("tracing", "message", _MESH + "Tracing"),
        _f("sds", "message", _MESH + "SDS"),
        _f("envoy_access_log_service", "message", _MESH + "RemoteService"),
        _f("envoy_metrics_service", "message", _MESH + "RemoteService"),
        _f("proxy_metadata", "string", label="map"),
        _f("runtime_values", "string", label="map"),
        _f("status_port", "int32"),
        _f("extra_stat_tags", "string", label="repeated"),
        _f("gateway_topology", "message", _MESH + "Topology"),
        _f("termination_drain_duration", "duration"),
        _f("mesh_id", "string"),
        _f("readiness_probe", "message", _NET + "ReadinessProbe"),
        _f("proxy_stats_matcher", "message", _PC + "ProxyStatsMatcher"),
        _f("hold_application_until_proxy_starts", "bool_value"),
        _f("ca_certificates_pem", "string", label="repeated"),
        _f("image", "message", "istio.networking.v1beta1.ProxyImage"),
        _f("private_key_provider", "message", _MESH + "PrivateKeyProvider"),
        _f("proxy_headers", "message", _PC + "ProxyHeaders"),
        _f("file_flush_interval", "duration"),
        _f("file_flush_min_size_kb", "uint32"),
        _f("stats_compression", "bool_value"),
        _f("connection_settings", "message", _PC + "ConnectionSettings"),
    ),
    _MESH + "Tracing": (
        _f("zipkin", "message", _MESH + "Tracing.Zipkin", oneof="tracer"),
        _f("lightstep", "message", _MESH + "Tracing.Lightstep", oneof="tracer"),
        _f("datadog", "message", _MESH + "Tracing.Datadog", oneof="tracer"),
        _f("stackdriver", "message", _MESH + "Tracing.Stackdriver", oneof="tracer"),
        _f("open_census_agent", "message", _MESH + "Tracing.OpenCensusAgent", oneof="tracer"),
        _f("custom_tags", "message", _MESH + "Tracing.CustomTag", label="map"),
        _f("max_path_tag_length", "uint32"),
        _f("sampling", "double"),
        _f("tls_settings", "message", _NET + "ClientTLSSettings"),
        _f("enable_istio_tags", "bool_value"),
    ),
    _MESH + "Tracing.Zipkin": (_f("address", "string"),),
    _MESH + "Tracing.Lightstep": (_f("address", "string"), _f("access_token", "string")),
    _MESH + "Tracing.Datadog": (_f("address", "string"),),
    _MESH + "Tracing.Stackdriver": (
        _f("debug", "bool"),
        _f("max_number_of_attributes", "int64_value"),
        _f("max_number_of_annotations", "int64_value"),
        _f("max_number_of_message_events", "int64_value"),
    ),
    _MESH + "Tracing.OpenCensusAgent": (
        _f("address", "string"),
        _f("context", "enum", _MESH + "Tracing.OpenCensusAgent.TraceContext", label="repeated"),
    ),
    _MESH + "Tracing.CustomTag": (
        _f("literal", "message", _MESH + "Tracing.Literal", oneof="type"),
        _f("environment", "message", _MESH + "Tracing.Environment", oneof="type"),
        _f("header", "message", _MESH + "Tracing.RequestHeader", oneof="type"),
    ),
    _MESH + "Tracing.Literal": (_f("value", "string"),),
    _MESH + "Tracing.Environment": (_f("name", "string"), _f("default_value", "string")),
    _MESH + "Tracing.RequestHeader": (_f("name", "string"), _f("default_value", "string")),
    _MESH + "SDS": (_f("enabled", "bool"), _f("k8s_sa_jwt_path", "string")),
    _MESH + "Topology": (
        _f("num_trusted_proxies", "uint32"),
        _f("forward_client_cert_details", "enum", _MESH + "ForwardClientCertDetails"),
        _f("proxy_protocol", "message", _MESH + "Topology.ProxyProtocolConfiguration"),
    ),
    _MESH + "Topology.ProxyProtocolConfiguration": (),
    _MESH + "RemoteService": (
        _f("address", "string"),
        _f("tls_settings", "message", _NET + "ClientTLSSettings"),
        _f("tcp_keepalive", "message", _NET + "ConnectionPoolSettings.TCPSettings.TcpKeepalive"),
    ),
    _MESH + "PrivateKeyProvider": (
        _f("cryptomb", "message", _MESH + "PrivateKeyProvider.CryptoMb", oneof="provider"),
        _f("qat", "message", _MESH + "PrivateKeyProvider.QAT", oneof="provider"),
    ),
    _MESH + "PrivateKeyProvider.CryptoMb": (_f("poll_delay", "duration"), _f("fallback", "bool_value")),
    _MESH + "PrivateKeyProvider.QAT": (_f("poll_delay", "duration"), _f("fallback", "bool_value")),
    _PC + "ProxyStatsMatcher": (
        _f("inclusion_prefixes", "string", label="repeated"),
        _f("inclusion_suffixes", "string", label="repeated"),
        _f("inclusion_regexps", "string", label="repeated"),
    ),
    _PC + "ProxyHeaders": (
        _f("forwarded_client_cert", "enum", _MESH + "ForwardClientCertDetails"),
        _f("set_current_client_cert_details", "message", _PC + "ProxyHeaders.SetCurrentClientCertDetails"),
        _f("request_id", "message", _PC + "ProxyHeaders.RequestId"),
        _f("server", "message", _PC + "ProxyHeaders.Server"),
        _f("attempt_count", "message", _PC + "ProxyHeaders.AttemptCount"),
        _f("envoy_debug_headers", "message", _PC + "ProxyHeaders.EnvoyDebugHeaders"),
        _f("metadata_exchange_headers", "message", _PC + "ProxyHeaders.MetadataExchangeHeaders"),
        _f("preserve_http1_header_case", "bool_value"),
        _f("x_forwarded_host", "message", _PC + "ProxyHeaders.XForwardedHost"),
        _f("x_forwarded_port", "message", _PC + "ProxyHeaders.XForwardedPort"),
    ),
    _PC + "ProxyHeaders.Server": (_f("disabled", "bool_value"), _f("value", "string")),
    _PC + "ProxyHeaders.RequestId": (_f("disabled", "bool_value"),),
    _PC + "ProxyHeaders.AttemptCount": (_f("disabled", "bool_value"),),
    _PC + "ProxyHeaders.XForwardedHost": (_f("enabled", "bool_value"),),
    _PC + "ProxyHeaders.XForwardedPort": (_f("enabled", "bool_value"),),
    _PC + "ProxyHeaders.EnvoyDebugHeaders": (_f("disabled", "bool_value"),),
    _PC + "ProxyHeaders.MetadataExchangeHeaders": (_f("mode", "enum", _PC + "ProxyHeaders.MetadataExchangeMode"),),
    _PC + "ProxyHeaders.SetCurrentClientCertDetails": tuple(
        _f(n, "bool_value") for n in ("subject", "cert", "chain", "dns", "uri")
    ),
    _PC + "ConnectionSettings": (
        _f("profile", "enum", _PC + "ConnectionSettings.Profile"),
        _f("listener_per_connection_buffer_limit_bytes", "int32_value"),
        _f("cluster_per_connection_buffer_limit_bytes", "int32_value"),
        _f("http_idle_timeout", "duration"),
        _f("http_max_connection_duration", "duration"),
        _f("http_drain_timeout", "duration"),
        _f("http_request_timeout", "duration"),
        _f("http_request_headers_timeout", "duration"),
        _f("http_stream_idle_timeout", "duration"),
        _f("http_max_stream_duration", "duration"),
        _f("http_max_concurrent_streams", "int32_value"),
        _f("http2_initial_stream_window_size", "int32_value"),
        _f("http2_initial_connection_window_size", "int32_value"),
        _f(
            "http_headers_with_underscores_action",
            "enum",
            _PC + "ConnectionSettings.HeadersWithUnderscoresAction",
        ),
        _f("http_merge_slashes", "bool_value"),
        _f(
            "http_path_with_escaped_slashes_action",
            "enum",
            _PC + "ConnectionSettings.PathWithEscapedSlashesAction",
        ),
        _f("listener_connection_limit", "int32_value"),
        _f("global_downstream_connection_limit", "int32_value"),
    ),
    _NET + "ClientTLSSettings": (
        _f("mode", "enum", _NET + "ClientTLSSettings.TLSmode"),
        _f("client_certificate", "string"),
        _f("private_key", "string"),
        _f("ca_certificates", "string"),
        _f("credential_name", "string"),
        _f("subject_alt_names", "string", label="repeated"),
        _f("sni", "string"),
        _f("insecure_skip_verify", "bool_value"),
        _f("ca_crl", "string"),
    ),
    _NET + "ConnectionPoolSettings.TCPSettings.TcpKeepalive": (
        _f("probes", "uint32"),
        _f("time", "duration"),
        _f("interval", "duration"),
    ),
    _NET + "ReadinessProbe": (
        _f("initial_delay_seconds", "int32"),
        _f("timeout_seconds", "int32"),
        _f("period_seconds", "int32"),
        _f("success_threshold", "int32"),
        _f("failure_threshold", "int32"),
        _f("http_get", "message", _NET + "HTTPHealthCheckConfig", oneof="health_check_method"),
        _f("tcp_socket", "message", _NET + "TCPHealthCheckConfig", oneof="health_check_method"),
        _f("exec", "message", _NET + "ExecHealthCheckConfig", oneof="health_check_method"),
        _f("grpc", "message", _NET + "GrpcHealthCheckConfig", oneof="health_check_method"),
    ),
    _NET + "HTTPHealthCheckConfig": (
        _f("path", "string"),
        _f("port", "uint32"),
        _f("host", "string"),
        _f("scheme", "string"),
        _f("http_headers", "message", _NET + "HTTPHeader", label="repeated"),
    ),
    _NET + "HTTPHeader": (_f("name", "string"), _f("value", "string")),
    _NET + "TCPHealthCheckConfig": (_f("host", "string"), _f("port", "uint32")),
    _NET + "ExecHealthCheckConfig": (_f("command", "string", label="repeated"),),
    _NET + "GrpcHealthCheckConfig": (_f("port", "uint32"), _f("service", "string")),
    "istio.networking.v1beta1.ProxyImage": (_f("image_type", "string"),),
}

_SCALAR_GO_TYPES: Final = {
    "bool": "bool",
    "string": "string",
    "int32": "int32",
    "int64": "int64",
    "uint32": "uint32",
    "uint64": "uint64",
    "float": "float32",
    "double": "float64",
}
_ZERO: Final[dict[str, Any]] = {
    "bool": False,
    "string": "",
    "int32": 0,
    "int64": 0,
    "uint32": 0,
    "uint64": 0,
    "float": 0.0,
    "double": 0.0,
}
_NON_FINITE: Final = {'"NaN"': math.nan, '"Infinity"': math.inf, '"-Infinity"': -math.inf}


def _raw_json(value: Any) -> str:
    """The JSON text sigs.k8s.io/yaml hands to the decoder for a value read from YAML."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return go_json_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    # Objects and arrays only matter for their kind here.
    return json.dumps(value)


def _trim_quote(raw: str) -> str:
    """The legacy decoder strips the quotes of a string given for a number, without unescaping it."""
    if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
        return raw[1:-1]
    return raw


def _decode_scalar(kind: str, type_name: str, value: Any) -> Any:
    raw = _raw_json(value)
    if kind.endswith("_value"):
        kind = kind[: -len("_value")]
    if kind == "enum":
        if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
            number = _ENUMS[type_name].get(raw[1:-1])
            if number is None:
                raise _GoError(f"unknown value {go_quote(raw)} for enum {type_name}")
            return number
        decoded = _json_unmarshal(raw, "protoreflect.EnumNumber")
        return 0 if decoded is None else decoded
    if kind == "duration":
        text = _json_unmarshal(raw, "string")
        try:
            return _parse_duration("" if text is None else text)
        except _GoError as e:
            raise _GoError(f"bad Duration: {e}") from None
    if kind in ("float", "double") and raw in _NON_FINITE:
        return _NON_FINITE[raw]
    if kind not in ("bool", "string"):
        raw = _trim_quote(raw)
    decoded = _json_unmarshal(raw, _SCALAR_GO_TYPES[kind])
    return _ZERO[kind] if decoded is None else decoded


def _decode_singular(field: _Field, value: Any) -> Any:
    if field.kind == "message":
        return _decode_message(field.type_name, value)
    return _decode_scalar(field.kind, field.type_name, value)


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _decode_field(field: _Field, value: Any) -> Any:
    if field.label == "repeated":
        if not isinstance(value, list):
            raise _GoError(f"json: cannot unmarshal {_kind_of(value)} into Go value of type []json.RawMessage")
        return [_decode_singular(field, v) for v in value]
    if field.label == "map":
        if not isinstance(value, dict):
            raise _GoError(f"json: cannot unmarshal {_kind_of(value)} into Go value of type map[string]json.RawMessage")
        return {k: _decode_singular(field, v) for k, v in value.items()}
    return _decode_singular(field, value)


def _decode_message(type_name: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message decoded onto ``base``: fields present replace the base's (no deep merge), unknown ones are
    ignored (Istio retries with AllowUnknownFields, which fails only where the first attempt's type errors
    would), ``null`` leaves a field alone."""
    out = dict(base or {})
    if value is None:
        return out
    if not isinstance(value, dict):
        raise _GoError(f"json: cannot unmarshal {_kind_of(value)} into Go value of type map[string]json.RawMessage")
    fields = _MESSAGES[type_name]
    for field in fields:
        present = False
        raw: Any = None
        # The proto name is looked up first and the JSON name second, so the JSON name wins.
        for key in (field.name, field.json_name):
            if key in value:
                raw, present = value[key], True
        if not present or raw is None:
            continue
        decoded = _decode_field(field, raw)
        if field.oneof:
            for other in fields:
                if other.oneof == field.oneof:
                    out.pop(other.name, None)
        out[field.name] = decoded
    return out


_SECOND: Final = 1_000_000_000
_MILLISECOND: Final = 1_000_000

_DEFAULT_PROXY_CONFIG: Final[dict[str, Any]] = {
    "config_path": "./etc/istio/proxy",
    "binary_path": "/usr/local/bin/envoy",
    "service_cluster": "istio-proxy",
    "drain_duration": 45 * _SECOND,
    "discovery_address": "istiod.istio-system.svc:15012",
    "proxy_admin_port": 15000,
    "control_plane_auth_policy": 1,
    "stat_name_length": 189,
    "status_port": 15020,
    "termination_drain_duration": 5 * _SECOND,
}


def _apply_proxy_config(text: str) -> dict[str, Any]:
    """``protomarshal.ApplyYAML`` of the annotation onto ``mesh.DefaultProxyConfig()``."""
    try:
        data = load_preserving_types(text)
    except GoYAMLError as e:
        raise _GoError(str(e)) from None
    _check_json_encodable(data)
    return _decode_message(_PC[:-1], data, _DEFAULT_PROXY_CONFIG)


def _check_json_encodable(value: Any) -> None:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        text = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        raise _GoError(f"error converting YAML to JSON: json: unsupported value: {text}")
    if isinstance(value, dict):
        for v in value.values():
            _check_json_encodable(v)
    elif isinstance(value, list):
        for v in value:
            _check_json_encodable(v)


def _prefix(prefix: str, errors: list[str]) -> list[str]:
    """``multierror.Prefix``: every error of a multierror gets the prefix."""
    return [f"{prefix} {e}" for e in errors]


def _validate_port(port: int) -> list[str]:
    if 1 <= port <= 65535:
        return []
    return [f"port number {port} must be in the range 1..65535"]


_DNS1123_LABEL: Final = re.compile(r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?")


def _validate_fqdn(name: str) -> str | None:
    if len(name.encode("utf-8", "surrogatepass")) > 255:
        return f"domain name {go_quote(name)} too long (max 255)"
    if name == "":
        return "empty domain name not allowed"
    parts = name.split(".")
    if go_atoi(parts[-1])[1] is None:
        tld = go_quote(parts[-1])
        return f"domain name {go_quote(name)} invalid (top level domain {tld} cannot be all-numeric)"
    for i, label in enumerate(parts):
        if i == len(parts) - 1 and label == "":
            return None
        if len(label) > 63 or not _DNS1123_LABEL.fullmatch(label):
            return f"domain name {go_quote(name)} invalid (label {go_quote(label)} invalid)"
    return None


def _validate_proxy_address(address: str) -> list[str]:
    try:
        host, port_text = _split_host_port(address)
    except _GoError as e:
        return [f"unable to split {go_quote(address)}: {e}"]
    port, err = go_atoi(port_text)
    if err is not None:
        return [f"port ({port_text}) is not a number: {err}"]
    if bad_port := _validate_port(port):
        return bad_port
    if _validate_fqdn(host) is not None and not _is_valid_ip(host):
        return [f"{go_quote(host)} is not a valid hostname or an IP address"]
    return []


def _validate_drain_duration(nanos: int) -> list[str]:
    if nanos < _MILLISECOND:
        return ["invalid drain duration: duration must be greater than 1ms"]
    if nanos % _MILLISECOND:
        return ["invalid drain duration: only durations to ms precision are supported"]
    if nanos % _SECOND:
        return ["drain time only supports durations to seconds precision"]
    return []


_TLS_SIMPLE: Final = 1
_TLS_MUTUAL: Final = 2


def _validate_tls(settings: dict[str, Any]) -> list[str]:
    """``ValidateTLS`` with an empty configuration namespace, as the tracing TLS check calls it."""
    errors: list[str] = []
    credential = settings.get("credential_name", "")
    mode = settings.get("mode", 0)
    ca_certificates = settings.get("ca_certificates", "")
    if credential.startswith("configmap://"):
        split = credential[len("configmap://") :].split("/")
        if len(split) <= 1:
            errors.append(
                f"invalid configmap:// credentialName: invalid resource name {go_quote(credential)}. "
                "Expected namespace and name"
            )
        elif split[0] == "":
            errors.append(
                f"invalid configmap:// credentialName: invalid resource name {go_quote(credential)}. Expected namespace"
            )
        elif split[1] == "":
            errors.append(
                f"invalid configmap:// credentialName: invalid resource name {go_quote(credential)}. Expected name"
            )
        else:
            errors.append('invalid configmap:// credentialName: namespace must match the configuration namespace ""')
    if settings.get("insecure_skip_verify") is True:
        if mode == _TLS_SIMPLE and (ca_certificates or credential or settings.get("subject_alt_names")):
            errors.append(
                "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true"
            )
        if mode == _TLS_MUTUAL and (ca_certificates or settings.get("subject_alt_names")):
            errors.append("cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true")
    if mode in (_TLS_SIMPLE, _TLS_MUTUAL) and credential:
        if (
            settings.get("client_certificate")
            or ca_certificates
            or settings.get("private_key")
            or settings.get("ca_crl")
        ):
            errors.append("cannot specify client certificates or CA certificate or CA CRL If credentialName is set")
        return errors
    if mode == _TLS_MUTUAL:
        if not settings.get("client_certificate"):
            errors.append("client certificate required for mutual tls")
        if not settings.get("private_key"):
            errors.append("private key required for mutual tls")
    return errors


def _validate_private_key_provider(provider: dict[str, Any]) -> list[str]:
    for name in ("cryptomb", "qat"):
        if name in provider:
            delay = provider[name].get("poll_delay")
            if delay is None:
                return ["pollDelay is required"]
            if delay == 0:
                return ["pollDelay must be non zero"]
            return []
    return ["private key provider configuration is required", "unknown private key provider"]


# (field, requirement, smallest valid value); durations are in nanoseconds.
_CONNECTION_LIMITS: Final = (
    ("listener_per_connection_buffer_limit_bytes", "must be non-negative", 0),
    ("cluster_per_connection_buffer_limit_bytes", "must be non-negative", 0),
    ("http_idle_timeout", "must be non-negative", 0),
    ("http_max_connection_duration", "must be non-negative", 0),
    ("http_drain_timeout", "must be non-negative", 0),
    ("http_request_timeout", "must be non-negative", 0),
    ("http_request_headers_timeout", "must be non-negative", 0),
    ("http_stream_idle_timeout", "must be non-negative", 0),
    ("http_max_stream_duration", "must be non-negative", 0),
    ("http_max_concurrent_streams", "must be positive", 1),
    ("http2_initial_stream_window_size", "must be at least 65535", 65535),
    ("http2_initial_connection_window_size", "must be at least 65535", 65535),
    ("listener_connection_limit", "must be positive", 1),
    ("global_downstream_connection_limit", "must be positive", 1),
)


def _enum_string(type_name: str, number: int) -> str:
    for name, n in _ENUMS[type_name].items():
        if n == number:
            return name
    return str(number)


def _validate_proxy_config_fields(config: dict[str, Any]) -> list[str]:
    """``agent.ValidateMeshConfigProxyConfig``: the errors (warnings are not reported by the injector)."""
    errors: list[str] = []
    if not config.get("config_path"):
        errors.append("config path must be set")
    if not config.get("binary_path"):
        errors.append("binary path must be set")
    if "service_cluster" in config:
        if config["service_cluster"] == "":
            errors.append("service cluster must be specified")
    elif "tracing_service_name" not in config:
        errors.append("oneof service cluster or tracing service name must be specified")
    errors += _validate_drain_duration(config.get("drain_duration", 0))
    discovery = config.get("discovery_address", "")
    if discovery == "":
        errors.append("discovery address must be set to the proxy discovery service")
    else:
        errors += _prefix("invalid discovery address:", _validate_proxy_address(discovery))
    tracing = config.get("tracing", {})
    if (lightstep := tracing.get("lightstep")) is not None:
        problems = []
        if lightstep.get("address", "") == "":
            problems.append("address is required")
        problems += _prefix("invalid lightstep address:", _validate_proxy_address(lightstep.get("address", "")))
        if lightstep.get("access_token", "") == "":
            problems.append("access token is required")
        errors += _prefix("invalid lightstep config:", problems)
    for name in ("zipkin", "datadog"):
        if (tracer := tracing.get(name)) is not None:
            address = tracer.get("address", "").replace("$(HOST_IP)", "127.0.0.1", 1)
            errors += _prefix(f"invalid {name} config:", _validate_proxy_address(address))
    if (tls := tracing.get("tls_settings")) is not None:
        errors += _prefix("invalid tracing TLS config:", _validate_tls(tls))
    for name, label in (
        ("statsd_udp_address", "statsd udp address"),
        ("envoy_metrics_service_address", "envoy metrics service address"),
    ):
        if address := config.get(name, ""):
            errors += _prefix(f"invalid {label} {go_quote(address)}:", _validate_proxy_address(address))
    for name, label in (
        ("envoy_metrics_service", "envoy metrics service address"),
        ("envoy_access_log_service", "envoy access log service address"),
    ):
        if address := config.get(name, {}).get("address", ""):
            errors += _prefix(f"invalid {label} {go_quote(address)}:", _validate_proxy_address(address))
    errors += _prefix("invalid proxy admin port:", _validate_port(config.get("proxy_admin_port", 0)))
    policy = config.get("control_plane_auth_policy", 0)
    if policy not in (0, 1):
        text = _enum_string(_MESH + "AuthenticationPolicy", policy)
        errors.append(f"invalid authentication policy: unrecognized control plane auth policy {go_quote(text)}")
    errors += _prefix("invalid status port:", _validate_port(config.get("status_port", 0)))
    if (provider := config.get("private_key_provider")) is not None:
        errors += _prefix("invalid private key provider configuration:", _validate_private_key_provider(provider))
    if (settings := config.get("connection_settings")) is not None:
        problems = [
            f"{name} {requirement}"
            for name, requirement, minimum in _CONNECTION_LIMITS
            if name in settings and settings[name] < minimum
        ]
        errors += _prefix("invalid connection settings:", problems)
    return errors


# ------------------------------------------------------------------------------------------------------------
# The annotation validators: each returns Go's error text, or None when the value is valid.

Validator = Callable[[str], str | None]


def _validate_interception_mode(mode: str) -> str | None:
    if mode in ("REDIRECT", "TPROXY", "NONE"):
        return None
    return f"interceptionMode invalid, use REDIRECT,TPROXY,NONE: {mode}"


def _parse_port(text: str) -> int:
    try:
        return _parse_uint(go_trim_space(text), 16)
    except _GoError as e:
        raise _GoError(f"failed parsing port '{text}': {e}") from None


def parse_ports(text: str) -> list[int]:
    """Istio's ``parsePorts``: comma-separated ports, each trimmed; an empty list for a blank string."""
    text = go_trim_space(text)
    ports = []
    if text:
        for part in text.split(","):
            try:
                ports.append(_parse_port(part))
            except _GoError as e:
                # Istio wraps the already-wrapped error once more, so the prefix appears twice.
                raise _GoError(f"failed parsing port '{part}': {e}") from None
    return ports


def _port_list_validator(parameter: str, allow_star: bool) -> Validator:
    def validate(ports: str) -> str | None:
        if allow_star and ports == "*":
            return None
        try:
            parse_ports(ports)
        except _GoError as e:
            return f"{parameter} invalid: {e}"
        return None

    return validate


def _validate_cidr_list(cidrs: str) -> None:
    if cidrs:
        for cidr in cidrs.split(","):
            try:
                _parse_prefix(cidr)
            except _GoError as e:
                raise _GoError(f"failed parsing cidr '{cidr}': {e}") from None


def _validate_include_ip_ranges(ranges: str) -> str | None:
    if ranges == "*":
        return None
    try:
        _validate_cidr_list(ranges)
    except _GoError as e:
        return f"includeIPRanges invalid: {e}"
    return None


def _validate_exclude_ip_ranges(ranges: str) -> str | None:
    try:
        _validate_cidr_list(ranges)
    except _GoError as e:
        return f"excludeIPRanges invalid: {e}"
    return None


def _validate_status_port(port: str) -> str | None:
    try:
        _parse_port(port)
    except _GoError as e:
        # Istio's own wording, although the annotation is the status port.
        return f"excludeInboundPorts invalid: {e}"
    return None


def _validate_uint32(value: str) -> str | None:
    try:
        _parse_uint(value, 32)
    except _GoError as e:
        return str(e)
    return None


def _validate_bool(value: str) -> str | None:
    try:
        _parse_bool(value)
    except _GoError as e:
        return str(e)
    return None


_INTERFACE_NAME: Final = re.compile(r"[a-zA-Z][a-zA-Z0-9_.\-]*")


def _validate_interfaces(interfaces: str) -> str | None:
    if not interfaces:
        return None
    for part in interfaces.split(","):
        name = go_trim_space(part)
        if not name:
            return "empty interface name"
        if len(name.encode("utf-8", "surrogatepass")) > 15:
            return f"interface name {go_quote(name)} too long (max 15 chars)"
        if not _INTERFACE_NAME.fullmatch(name):
            return f"interface name {go_quote(name)} contains invalid characters"
    return None


def _validate_resource_quantity(value: str) -> str | None:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        return "value contains control characters"
    try:
        parse_quantity(value)
    except QuantityError as e:
        return str(e)
    return None


def _validate_proxy_config(value: str) -> str | None:
    try:
        config = _apply_proxy_config(value)
    except _GoError as e:
        return f"failed to convert to apply proxy config: {e}"
    errors = _validate_proxy_config_fields(config)
    return format_multierror(errors) if errors else None


ANNOTATION_VALIDATORS: Final[Mapping[str, Validator]] = {
    "sidecar.istio.io/interceptionMode": _validate_interception_mode,
    "status.sidecar.istio.io/port": _validate_status_port,
    "readiness.status.sidecar.istio.io/initialDelaySeconds": _validate_uint32,
    "readiness.status.sidecar.istio.io/periodSeconds": _validate_uint32,
    "readiness.status.sidecar.istio.io/failureThreshold": _validate_uint32,
    "traffic.sidecar.istio.io/includeOutboundIPRanges": _validate_include_ip_ranges,
    "traffic.sidecar.istio.io/excludeOutboundIPRanges": _validate_exclude_ip_ranges,
    "traffic.sidecar.istio.io/includeInboundPorts": _port_list_validator("includeInboundPorts", True),
    "traffic.sidecar.istio.io/excludeInboundPorts": _port_list_validator("excludeInboundPorts", False),
    "traffic.sidecar.istio.io/excludeOutboundPorts": _port_list_validator("excludeOutboundPorts", False),
    "traffic.sidecar.istio.io/excludeInterfaces": _validate_interfaces,
    "traffic.sidecar.istio.io/kubevirtInterfaces": _validate_interfaces,
    "istio.io/reroute-virtual-interfaces": _validate_interfaces,
    "prometheus.istio.io/merge-metrics": _validate_bool,
    "proxy.istio.io/config": _validate_proxy_config,
    "sidecar.istio.io/proxyCPU": _validate_resource_quantity,
    "sidecar.istio.io/proxyMemory": _validate_resource_quantity,
    "sidecar.istio.io/proxyCPULimit": _validate_resource_quantity,
    "sidecar.istio.io/proxyMemoryLimit": _validate_resource_quantity,
}


def validate_annotations(annotations: Mapping[str, str] | None) -> None:
    """Raises :class:`AnnotationError` when any annotation Istio validates has an invalid value."""
    errors = []
    for name, value in (annotations or {}).items():
        validator = ANNOTATION_VALIDATORS.get(name)
        if validator is None:
            continue
        problem = validator(value)
        if problem is not None:
            errors.append(f"invalid value '{value}' for annotation '{name}': {problem}")
    if errors:
        raise AnnotationError(errors)
