"""Number conversions as Sprig does them: ``spf13/cast`` (v1.9) over Go's ``strconv``.

cast never fails visibly inside Sprig: whatever it cannot convert becomes 0.
"""

from __future__ import annotations

import math
import re
from typing import Any

from meshinject.gotemplate._values import GoObject, TypedInt

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

_UNSIGNED = frozenset(["uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte"])


def wrap_int64(n: int) -> int:
    """Two's-complement wrap-around of Go's int64 arithmetic."""
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >= 1 << 63 else n


def float_to_int64(f: float) -> int:
    """``int64(f)`` on amd64: truncation; NaN and out-of-range values give the minimum int64."""
    if math.isnan(f) or f >= 9.223372036854775808e18 or f < -9.223372036854775808e18:
        return INT64_MIN
    return int(f)


# --- strconv ------------------------------------------------------------------------------------------------


def underscore_ok(s: str) -> bool:
    """strconv's rule: underscores only between digits (a base prefix counts as a digit)."""
    saw = "^"
    if s[:1] in ("+", "-"):
        s = s[1:]
    i = 0
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hexa and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


class StrconvError(ValueError):
    """A strconv syntax or range error; the message is Go's."""


def parse_uint(s: str, base: int = 10, bit_size: int = 64) -> int:
    """``strconv.ParseUint``."""
    fn = "ParseUint"
    if s == "":
        raise StrconvError(f'strconv.{fn}: parsing "": invalid syntax')
    s0 = s
    base0 = base == 0
    if base == 0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1].lower() == "b":
                base, s = 2, s[2:]
            elif len(s) >= 3 and s[1].lower() == "o":
                base, s = 8, s[2:]
            elif len(s) >= 3 and s[1].lower() == "x":
                base, s = 16, s[2:]
            else:
                base, s = 8, s[1:]
    n = 0
    underscores = False
    cutoff_max = (1 << bit_size) - 1
    for c in s:
        if c == "_" and base0:
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - 48
        elif "a" <= c.lower() <= "z":
            d = ord(c.lower()) - 87
        else:
            raise StrconvError(f"strconv.{fn}: parsing {_q(s0)}: invalid syntax")
        if d >= base:
            raise StrconvError(f"strconv.{fn}: parsing {_q(s0)}: invalid syntax")
        n = n * base + d
    if underscores and not underscore_ok(s0):
        raise StrconvError(f"strconv.{fn}: parsing {_q(s0)}: invalid syntax")
    if n > cutoff_max:
        raise StrconvError(f"strconv.{fn}: parsing {_q(s0)}: value out of range")
    return n


def parse_int(s: str, base: int = 10, bit_size: int = 64) -> int:
    """``strconv.ParseInt``."""
    if s == "":
        raise StrconvError('strconv.ParseInt: parsing "": invalid syntax')
    neg = False
    body = s
    if s[0] in "+-":
        neg = s[0] == "-"
        body = s[1:]
    try:
        un = parse_uint(body, base, bit_size)
    except StrconvError as exc:
        kind = "value out of range" if "out of range" in str(exc) else "invalid syntax"
        raise StrconvError(f"strconv.ParseInt: parsing {_q(s)}: {kind}") from None
    limit = 1 << (bit_size - 1)
    if (not neg and un >= limit) or (neg and un > limit):
        raise StrconvError(f"strconv.ParseInt: parsing {_q(s)}: value out of range")
    return -un if neg else un


def atoi(s: str) -> int:
    """``strconv.Atoi``."""
    try:
        return parse_int(s, 10, 64)
    except StrconvError as exc:
        raise StrconvError(str(exc).replace("ParseInt", "Atoi")) from None


_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?")
_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)(?:[pP][+-]?[0-9_]+)?")


def parse_float(s: str) -> float:
    """``strconv.ParseFloat(s, 64)``."""
    low = s.lower()
    sign = -1.0 if low[:1] == "-" else 1.0
    unsigned = low[1:] if low[:1] in "+-" and low else low
    if unsigned in ("inf", "infinity"):
        return sign * math.inf
    if low == "nan":
        return math.nan
    if _DEC_FLOAT.fullmatch(s) and not ("_" in s and not underscore_ok(s)):
        digits = s.replace("_", "")
        if not any(c.isdigit() for c in digits.split("e")[0].split("E")[0]):
            raise StrconvError(f"strconv.ParseFloat: parsing {_q(s)}: invalid syntax")
        value = float(digits)
    elif _HEX_FLOAT.fullmatch(s) and not ("_" in s and not underscore_ok(s)):
        value = _parse_hex_float(s.replace("_", ""))
    else:
        raise StrconvError(f"strconv.ParseFloat: parsing {_q(s)}: invalid syntax")
    if math.isinf(value):
        raise StrconvError(f"strconv.ParseFloat: parsing {_q(s)}: value out of range")
    return value


def _parse_hex_float(s: str) -> float:
    neg = s.startswith("-")
    body = s.lstrip("+-")[2:]
    mant, _, exp = body.lower().partition("p")
    if not exp:
        raise StrconvError(f"strconv.ParseFloat: parsing {_q(s)}: invalid syntax")
    whole, _, frac = mant.partition(".")
    if not (whole + frac):
        raise StrconvError(f"strconv.ParseFloat: parsing {_q(s)}: invalid syntax")
    try:
        value = float.fromhex(f"0x{whole or '0'}.{frac or '0'}p{exp}")
    except OverflowError:
        value = math.inf
    return -value if neg else value


def _q(s: str) -> str:
    from meshinject.gotemplate._sprig_base import go_quote

    return go_quote(s)


# --- cast ---------------------------------------------------------------------------------------------------

_STRING_NUMBER = re.compile(r"([-+]?[0-9]*)(\.[0-9]*)?")


def _trim_decimal(s: str) -> str:
    """cast drops a decimal fraction before parsing an integer ("12.7" -> "12")."""
    if "." not in s:
        return s
    m = _STRING_NUMBER.fullmatch(s)
    if m is None:
        return s
    head = m.group(1)
    if head in ("-", "+"):
        return head + "0"
    return head or "0"


def _number_of(value: Any) -> int | float | None:
    """The numeric value cast takes directly (numbers, bools, nil), else None."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int | float):
        return value
    return None


def to_int64(value: Any) -> int:
    """``cast.ToInt64``: numbers truncate, strings parse (base prefixes allowed), anything else is 0."""
    n = _number_of(value)
    if n is None:
        if isinstance(value, str):
            if value == "":
                return 0
            try:
                return parse_int(_trim_decimal(value), 0, 64)
            except StrconvError:
                return 0
        return int(_alias_number(value, to_int64))
    if isinstance(n, float):
        return float_to_int64(n)
    if isinstance(value, TypedInt) and value.go_type in _UNSIGNED:
        return wrap_int64(int(n))
    return int(n)


def to_float64(value: Any) -> float:
    """``cast.ToFloat64``."""
    n = _number_of(value)
    if n is None:
        if isinstance(value, str):
            if value == "":
                return 0.0
            try:
                return parse_float(value)
            except StrconvError:
                return 0.0
        alias = _alias_number(value, to_float64)
        return float(alias)
    return float(n)


def _alias_number(value: Any, again: Any) -> Any:
    """A named Go type over a number (a GoObject exposing ``go_number``) converts like its base type."""
    if isinstance(value, GoObject):
        number = getattr(value, "go_number", None)
        if callable(number):
            return again(number())
    return 0
