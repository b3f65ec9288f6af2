"""Sprig's arithmetic: int64 wrap-around, Go's truncating division, decimal-exact float operations."""

from __future__ import annotations

import decimal
import math
import random
from collections.abc import Callable
from typing import Any

from meshinject.gotemplate._sprig_base import FuncError, GoSlice, TypedInt, format_value
from meshinject.gotemplate._sprig_cast import (
    INT64_MAX,
    INT64_MIN,
    StrconvError,
    parse_int,
    to_float64,
    to_int64,
    wrap_int64,
)
from meshinject.gotemplate._sprig_cast import atoi as _atoi
from meshinject.gotemplate.funcs import go_func


def _i64(n: int) -> TypedInt:
    return TypedInt(wrap_int64(n), "int64")


def go_div(a: int, b: int) -> int:
    """Go's ``/`` on int64: truncates toward zero; MinInt64 / -1 overflows back to MinInt64."""
    if b == 0:
        raise FuncError("runtime error: integer divide by zero")
    q = abs(a) // abs(b)
    return wrap_int64(q if (a < 0) == (b < 0) else -q)


def go_mod(a: int, b: int) -> int:
    if b == 0:
        raise FuncError("runtime error: integer divide by zero")
    r = abs(a) % abs(b)
    return -r if a < 0 else r


@go_func("any")
def add1(i: Any) -> TypedInt:
    return _i64(to_int64(i) + 1)


@go_func(variadic="any")
def add(*values: Any) -> TypedInt:
    total = 0
    for v in values:
        total = wrap_int64(total + to_int64(v))
    return _i64(total)


@go_func("any", "any")
def sub(a: Any, b: Any) -> TypedInt:
    return _i64(to_int64(a) - to_int64(b))


@go_func("any", "any")
def div(a: Any, b: Any) -> TypedInt:
    return _i64(go_div(to_int64(a), to_int64(b)))


@go_func("any", "any")
def mod(a: Any, b: Any) -> TypedInt:
    return _i64(go_mod(to_int64(a), to_int64(b)))


@go_func("any", variadic="any")
def mul(a: Any, *values: Any) -> TypedInt:
    product = to_int64(a)
    for v in values:
        product = wrap_int64(product * to_int64(v))
    return _i64(product)


@go_func("int", "int")
def rand_int(lo: int, hi: int) -> int:
    if hi - lo <= 0:
        raise FuncError("invalid argument to Intn")
    return random.randrange(hi - lo) + lo


@go_func("any", variadic="any")
def max_(a: Any, *values: Any) -> TypedInt:
    best = to_int64(a)
    for v in values:
        best = max(best, to_int64(v))
    return _i64(best)


@go_func("any", variadic="any")
def min_(a: Any, *values: Any) -> TypedInt:
    best = to_int64(a)
    for v in values:
        best = min(best, to_int64(v))
    return _i64(best)


def go_math_max(x: float, y: float) -> float:
    """``math.Max``: +Inf wins over NaN, NaN over numbers, +0 over -0."""
    if (math.isinf(x) and x > 0) or (math.isinf(y) and y > 0):
        return math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return x if math.copysign(1, x) > 0 else y
    return x if x > y else y


def go_math_min(x: float, y: float) -> float:
    if (math.isinf(x) and x < 0) or (math.isinf(y) and y < 0):
        return -math.inf
    if math.isnan(x) or math.isnan(y):
        return math.nan
    if x == 0 and y == 0:
        return x if math.copysign(1, x) < 0 else y
    return x if x < y else y


@go_func("any", variadic="any")
def maxf(a: Any, *values: Any) -> float:
    best = to_float64(a)
    for v in values:
        best = go_math_max(best, to_float64(v))
    return best


@go_func("any", variadic="any")
def minf(a: Any, *values: Any) -> float:
    best = to_float64(a)
    for v in values:
        best = go_math_min(best, to_float64(v))
    return best


def until_step(start: int, stop: int, step: int) -> list[int]:
    if stop < start:
        if step >= 0:
            return []
        return list(range(start, stop, step))
    if step <= 0:
        return []
    return list(range(start, stop, step))


@go_func("int")
def until(count: int) -> GoSlice:
    return GoSlice(until_step(0, count, -1 if count < 0 else 1), "[]int")


@go_func("int", "int", "int")
def until_step_(start: int, stop: int, step: int) -> GoSlice:
    return GoSlice(until_step(start, stop, step), "[]int")


def go_floor(v: float) -> float:
    """``math.Floor``: keeps NaN, infinities and the sign of zero."""
    if not math.isfinite(v):
        return v
    return math.copysign(float(math.floor(v)), v)


def go_ceil(v: float) -> float:
    """``math.Ceil``: ``Ceil(-0.5)`` is -0, as in Go."""
    if not math.isfinite(v):
        return v
    return math.copysign(float(math.ceil(v)), v)


@go_func("any")
def floor(a: Any) -> float:
    return go_floor(to_float64(a))


@go_func("any")
def ceil(a: Any) -> float:
    return go_ceil(to_float64(a))


@go_func("any", "int", variadic="float64")
def round_(a: Any, places: int, *round_on: float) -> float:
    """Sprig's ``round``: scale, compare the fraction with ``roundOn`` (0.5), ceil or floor, unscale."""
    threshold = round_on[0] if round_on else 0.5
    val = to_float64(a)
    try:
        pow10 = math.pow(10, float(places))
    except OverflowError:
        pow10 = math.inf
    digit = pow10 * val
    if math.isinf(digit) or math.isnan(digit):
        frac = math.nan if math.isnan(digit) else 0.0
    else:
        frac = math.modf(digit)[0]
    rounded = go_ceil(digit) if frac >= threshold else go_floor(digit)
    try:
        return rounded / pow10
    except ZeroDivisionError:
        return math.copysign(math.inf, rounded) if rounded != 0 else math.nan


@go_func("any")
def to_decimal(v: Any) -> TypedInt:
    """Octal text to a number (``toDecimal "0777"`` is 511); anything unparsable is 0."""
    try:
        return TypedInt(parse_int(format_value(v), 8, 64), "int64")
    except StrconvError:
        return TypedInt(0, "int64")


@go_func(variadic="int")
def seq(*params: int) -> str:
    if len(params) == 1:
        start, end = 1, params[0]
        inc = -1 if end < start else 1
        values = until_step(start, end + inc, inc)
    elif len(params) == 2:
        start, end = params
        step = -1 if end < start else 1
        values = until_step(start, end + step, step)
    elif len(params) == 3:
        start, step, end = params
        inc = 1
        if end < start:
            inc = -1
            if step > 0:
                return ""
        values = until_step(start, end + inc, step)
    else:
        return ""
    return " ".join(str(v) for v in values)


@go_func("any")
def int64_(v: Any) -> TypedInt:
    return TypedInt(to_int64(v), "int64")


@go_func("any")
def int_(v: Any) -> int:
    return to_int64(v)


@go_func("any")
def float64_(v: Any) -> float:
    return to_float64(v)


@go_func("string")
def atoi(s: str) -> int:
    """``strconv.Atoi`` with the error dropped: 0 for bad syntax, the clamped value when out of range."""
    try:
        return _atoi(s)
    except StrconvError as exc:
        if "out of range" in str(exc):
            return INT64_MIN if s.startswith("-") else INT64_MAX
        return 0


# --- decimal operations -------------------------------------------------------------------------------------

_CTX = decimal.Context(prec=2000, Emax=10**6, Emin=-(10**6), traps=[decimal.InvalidOperation])


def _dec(value: Any) -> decimal.Decimal:
    f = to_float64(value)
    if math.isnan(f):
        raise FuncError("Cannot create a Decimal from NaN")
    if math.isinf(f):
        raise FuncError(f"Cannot create a Decimal from {'+Inf' if f > 0 else '-Inf'}")
    # the shortest text that reads back as f: what shopspring/decimal's NewFromFloat starts from
    return decimal.Decimal(repr(f))


def _div(a: decimal.Decimal, b: decimal.Decimal) -> decimal.Decimal:
    if b == 0:
        raise FuncError("decimal division by 0")
    q = _CTX.divide(a, b)
    return q.quantize(decimal.Decimal(1).scaleb(-16), rounding=decimal.ROUND_HALF_UP, context=_CTX)


def _decimal_op(first: Any, others: tuple[Any, ...], op: Callable[[decimal.Decimal, decimal.Decimal], Any]) -> float:
    acc = _dec(first)
    for v in others:
        acc = op(acc, _dec(v))
    return float(acc) + 0.0  # a decimal has no negative zero


@go_func("any")
def add1f(i: Any) -> float:
    return _decimal_op(i, (1,), lambda x, y: _CTX.add(x, y))


@go_func(variadic="any")
def addf(*values: Any) -> float:
    return _decimal_op(0.0, values, lambda x, y: _CTX.add(x, y))


@go_func("any", variadic="any")
def subf(a: Any, *values: Any) -> float:
    return _decimal_op(a, values, lambda x, y: _CTX.subtract(x, y))


@go_func("any", variadic="any")
def mulf(a: Any, *values: Any) -> float:
    return _decimal_op(a, values, lambda x, y: _CTX.multiply(x, y))


@go_func("any", variadic="any")
def divf(a: Any, *values: Any) -> float:
    return _decimal_op(a, values, _div)


__all__ = ["INT64_MIN"]
