"""Kubernetes ``resource.Quantity``: parsing and the canonical string form.

A pod that goes through Kubernetes' Go types has every quantity re-printed by ``Quantity.MarshalJSON``.  What
that prints is not always the "canonical form" of the API docs, so this module follows what apimachinery
actually does:

* A quantity whose text is already what the fast parser considers canonical keeps its *exact text*, sign and
  leading zeros included (``"+1"``, ``"01"``, ``"1E3"``, ``"5."``, ``"1e+3"`` are printed back unchanged).
* Otherwise the value is printed with the largest suffix that keeps the number an integer: the decimal
  exponent is lowered to a multiple of three (``2000m`` -> ``2``, ``0.5`` -> ``500m``,
  ``12.5m`` -> ``12500u``, ``1.5e3`` -> ``1500``, ``1e10`` -> ``10e9``); binary quantities use powers of 1024
  (``1024Mi`` -> ``1Gi``) unless they lie strictly between -1024 and 1024 or have a fraction, which are
  printed as decimal SI.
* The suffix type (decimal SI, binary SI, decimal exponent) is remembered from the input.
* Values with more than nine decimals are rounded away from zero to the next nano unit (``0.1n`` -> ``1n``);
  binary quantities are capped at 2^63-1; a decimal SI exponent without a suffix letter (above ``E``) prints
  with no suffix at all, as apimachinery does (``1000E`` -> ``1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "Quantity",
    "QuantityError",
    "canonical_quantity",
    "canonicalize_resource_list",
    "canonicalize_resources",
    "parse_quantity",
]

QuantityFormat = Literal["DecimalExponent", "BinarySI", "DecimalSI"]


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity; the message is apimachinery's."""


_ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_ERR_NUMERIC = "unable to parse numeric part of quantity"
_ERR_SUFFIX = "unable to parse quantity's suffix"

_SUFFIX_CHARS = frozenset("eEinumkKMGTP")
_DIGITS = frozenset("0123456789")
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX_BY_EXPONENT = {e: s for s, e in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_BINARY_SUFFIX_BY_POWER = {e // 10: s for s, e in _BINARY_SUFFIXES.items()}
_INT64_MAX = (1 << 63) - 1
_INT64_MIN = -(1 << 63)
# The int64 fast path only handles this many significant digits.
_MAX_INT64_FACTORS = 18
_NANO = -9


@dataclass(frozen=True, slots=True)
class Quantity:
    """An exact quantity ``unscaled * 10**exponent`` with its remembered format.

    ``text`` is set when apimachinery keeps the original text as the printed form.
    """

    unscaled: int
    exponent: int
    format: QuantityFormat
    text: str | None = None

    def is_zero(self) -> bool:
        return self.unscaled == 0

    def __str__(self) -> str:
        if self.text is not None:
            return self.text
        return _canonical_text(self)


def _wrap_int32(value: int) -> int:
    # Go converts the parsed exponent with int32(...), which wraps.
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def _scan(text: str) -> tuple[bool, str, str, str, str]:
    """Split like apimachinery's scanner: (positive, number text, integer digits, fraction digits, suffix)."""
    positive = True
    pos = 0
    end = len(text)
    if pos < end and text[0] in "+-":
        positive = text[0] == "+"
        pos += 1

    # Leading zeros are dropped; an all-zero number stops here with value "0".
    while True:
        if pos >= end:
            return positive, "0", "0", "", ""
        if text[pos] != "0":
            break
        pos += 1

    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos >= end:
        return positive, text, text[start:end], "", ""
    num = text[start:pos] or "0"

    denom = ""
    if text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        denom = text[start:pos]
        if pos >= end:
            return positive, text, num, denom, ""
    value = text[:pos]

    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        raise QuantityError(_ERR_FORMAT)
    return positive, value, num, denom, text[suffix_start:]


def _interpret_suffix(suffix: str) -> tuple[int, int, QuantityFormat]:
    """Return (base, exponent, format) of a suffix."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], "DecimalSI"
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], "BinarySI"
    if len(suffix) > 1 and suffix[0] in "eE":
        exponent = _parse_go_int64(suffix[1:])
        if exponent is None:
            raise QuantityError(_ERR_SUFFIX)
        return 10, _wrap_int32(exponent), "DecimalExponent"
    raise QuantityError(_ERR_SUFFIX)


def _parse_go_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): optional sign, then at least one digit, in int64 range."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not all(c in _DIGITS for c in digits):
        return None
    value = int(text)
    if not _INT64_MIN <= value <= _INT64_MAX:
        return None
    return value


def _parse_decimal(value: str) -> tuple[int, int] | None:
    """inf.Dec's reader: sign, digits with at most one point; returns (unscaled, digits after the point)."""
    sign = 1
    body = value
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    whole, dot, fraction = body.partition(".")
    digits = whole + fraction
    if not digits or not all(c in _DIGITS for c in digits):
        return None
    return sign * int(digits), len(fraction) if dot else 0


def parse_quantity(text: str) -> Quantity:
    """Parse like ``resource.ParseQuantity`` (no whitespace trimming)."""
    if not text:
        raise QuantityError(_ERR_FORMAT)
    if text == "0":
        return Quantity(0, 0, "DecimalSI", "0")

    positive, value, num, denom, suffix = _scan(text)
    base, exponent, fmt = _interpret_suffix(suffix)

    # The int64 fast path; it also decides whether the input text is kept as the printed form.
    scale = 0
    multiplier = 1
    if fmt == "BinarySI":
        if exponent >= 0 and not denom:
            multiplier = 1 << exponent
            precision = 15 - len(num) - exponent * 3 // 10 - 1
        else:
            precision = -1
    else:
        scale = exponent
        precision = _MAX_INT64_FACTORS - (len(num) + len(denom))
    if precision >= 0:
        scale -= len(denom)
        if scale >= _NANO:
            shifted = num + denom
            result = int(shifted) * multiplier
            if result <= _INT64_MAX:
                if not positive:
                    result = -result
                if fmt == "BinarySI":
                    keep = exponent % 10 == 0 and int(shifted) & 0x07 != 0
                else:
                    keep = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
                return Quantity(result, scale, fmt, text if keep else None)

    parsed = _parse_decimal(value)
    if parsed is None:
        raise QuantityError(_ERR_NUMERIC)
    unscaled, fraction_digits = parsed
    point = -fraction_digits
    if base == 10:
        point += exponent
    else:
        unscaled <<= exponent
    negative = unscaled < 0
    magnitude = -unscaled if negative else unscaled
    if magnitude and point < _NANO:
        # Round away from zero to whole nano units: asking for a tiny amount still gets some.
        magnitude = -(-magnitude // _pow10(_NANO - point))
        point = _NANO
    if fmt == "BinarySI":
        if _compare(magnitude, point, _INT64_MAX) > 0:
            magnitude, point = _INT64_MAX, 0
        if magnitude and _compare(magnitude, point, 1) < 0:
            fmt = "DecimalSI"
    return Quantity(-magnitude if negative else magnitude, point, fmt)


def _pow10(power: int) -> int:
    return int(10**power)


def _compare(unscaled: int, exponent: int, other: int) -> int:
    """Sign of ``unscaled * 10**exponent - other``, exactly."""
    if exponent >= 0:
        left, right = unscaled * _pow10(exponent), other
    else:
        left, right = unscaled, other * _pow10(-exponent)
    return (left > right) - (left < right)


def _canonical_text(q: Quantity) -> str:
    if q.unscaled == 0:
        return "0"
    fmt = q.format
    integer: int | None = None
    if fmt == "BinarySI":
        if _compare(q.unscaled, q.exponent, -1024) > 0 and _compare(q.unscaled, q.exponent, 1024) < 0:
            fmt = "DecimalSI"
        else:
            integer, exact = _round_to_integer(q.unscaled, q.exponent)
            if not exact:
                fmt = "DecimalSI"
    if fmt == "BinarySI":
        assert integer is not None
        magnitude = abs(integer)
        power = 0
        while magnitude >= 1024 and magnitude % 1024 == 0:
            magnitude //= 1024
            power += 1
        number = -magnitude if integer < 0 else magnitude
        return f"{number}{_BINARY_SUFFIX_BY_POWER.get(power, '')}"

    mantissa, exponent = q.unscaled, q.exponent
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    if fmt == "DecimalExponent":
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    # apimachinery ignores a failed suffix lookup and prints the bare number.
    return f"{mantissa}{_DECIMAL_SUFFIX_BY_EXPONENT.get(exponent, '')}"


def _round_to_integer(unscaled: int, exponent: int) -> tuple[int, bool]:
    """Round away from zero to an integer; report whether that was exact."""
    if exponent >= 0:
        return unscaled * _pow10(exponent), True
    divisor = _pow10(-exponent)
    magnitude, remainder = divmod(abs(unscaled), divisor)
    if remainder:
        magnitude += 1
    return (-magnitude if unscaled < 0 else magnitude), remainder == 0


def _go_json_number(value: int | float) -> str:
    """The text Go's encoding/json writes for a number (what a Quantity then parses)."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise QuantityError(_ERR_NUMERIC)
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    shortest = Decimal(repr(value)).normalize()
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        return format(shortest, "f")
    sign, digits, exp = shortest.as_tuple()
    assert isinstance(exp, int)
    text = "".join(map(str, digits))
    point_exp = exp + len(digits) - 1
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    exp_text = f"{abs(point_exp):02d}"
    # encoding/json shortens a two-digit negative exponent "e-07" to "e-7".
    if point_exp < 0 and exp_text.startswith("0"):
        exp_text = exp_text[1:]
    return f"{'-' if sign else ''}{mantissa}e{'-' if point_exp < 0 else '+'}{exp_text}"


def canonical_quantity(value: Any) -> str:
    """What a quantity field holds after a JSON round trip through the Go types.

    Strings are trimmed of surrounding whitespace (as ``UnmarshalJSON`` does); numbers are first written the
    way Go's encoding/json writes them (``1000.0`` -> ``"1000"`` -> ``"1k"``); ``None`` (JSON null) is the
    zero quantity.
    """
    if value is None:
        return "0"
    if isinstance(value, bool):
        raise QuantityError(_ERR_FORMAT)
    if isinstance(value, (int, float)):
        text = _go_json_number(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise QuantityError(_ERR_FORMAT)
    return str(parse_quantity(text))


def canonicalize_resource_list(resources: dict[str, Any]) -> dict[str, Any]:
    """A ``ResourceList`` (a ``limits``/``requests`` map) with every quantity in printed form."""
    return {name: canonical_quantity(value) for name, value in resources.items()}


def canonicalize_resources(resources: dict[str, Any]) -> dict[str, Any]:
    """A ``ResourceRequirements`` dict with ``limits`` and ``requests`` canonicalised; other keys kept.

    Returns a new dict; raises :class:`QuantityError` for a value the Go types would refuse.
    """
    result = dict(resources)
    for key in ("limits", "requests"):
        values = result.get(key)
        if isinstance(values, dict):
            result[key] = canonicalize_resource_list(values)
    return result
