"""Small stand-ins for the package's fmt / JSON / YAML ports, used only while those modules are absent.

They cover what the Sprig functions print: ``%v`` of template values, ``encoding/json`` marshalling of plain
data, and a YAML rendering through PyYAML. The real ports (``gofmt``, ``gojson``, ``goyaml``) take precedence.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import yaml

from meshinject.gotemplate._values import MISSING, GoObject, TypedInt


def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of a positive finite float and its decimal point position."""
    mant, _, exp = f"{f!r}".partition("e")
    exp_i = int(exp) if exp else 0
    whole, _, frac = mant.partition(".")
    digits = (whole + frac).lstrip("0")
    point = len(whole) + exp_i
    if whole.strip("0") == "":
        stripped = frac.lstrip("0")
        point = exp_i - (len(frac) - len(stripped))
        digits = stripped
    digits = digits.rstrip("0") or "0"
    return digits, point


def format_float(f: float, *, json_style: bool = False) -> str:
    """Go's ``%v`` of a float64 (``strconv.FormatFloat(f, 'g', -1, 64)``), or its JSON form."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 and not json_style else "0"
    sign = "-" if f < 0 else ""
    digits, point = _shortest_digits(abs(f))
    exp = point - 1
    if json_style:
        use_exp = abs(f) < 1e-6 or abs(f) >= 1e21
    else:  # shortest formatting switches to an exponent at 1e+06 (strconv's 'g' with precision -1)
        use_exp = exp < -4 or exp >= 6
    if use_exp:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        e_sign = "-" if exp < 0 else "+"
        e_abs = abs(exp)
        e_txt = f"{e_abs:02d}" if not json_style else str(e_abs)
        return f"{sign}{mant}e{e_sign}{e_txt}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def format_value(value: Any) -> str:
    """Go's ``%v`` for decoded data."""
    if value is None:
        return "<nil>"
    if value is MISSING:
        return "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda kv: _map_key_order(kv[0]))
        return "map[" + " ".join(f"{format_value(k)}:{format_value(v)}" for k, v in items) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_value(v) for v in value) + "]"
    if isinstance(value, bytes | bytearray):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, GoObject):
        s = value.go_string()
        return s if s is not None else value.go_format()
    if isinstance(value, complex):
        return f"({format_float(value.real)}{'+' if value.imag >= 0 else ''}{format_float(value.imag)}i)"
    return str(value)


def _map_key_order(key: Any) -> tuple[int, Any]:
    if isinstance(key, bool):
        return (0, int(key))
    if isinstance(key, int | float):
        return (1, key)
    return (2, str(key))


# --- JSON ---------------------------------------------------------------------------------------------------


class JSONError(ValueError):
    pass


_HTML_ESC = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_CTRL_ESC = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f"}


def _json_string(s: str, escape_html: bool) -> str:
    out = ['"']
    for c in s:
        if c in _CTRL_ESC:
            out.append(_CTRL_ESC[c])
        elif c < " ":
            out.append(f"\\u{ord(c):04x}")
        elif (escape_html and c in _HTML_ESC) or c in "\u2028\u2029":
            out.append(_HTML_ESC[c])
        elif "\ud800" <= c <= "\udfff":
            out.append("\\ufffd")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _json_encode(v: Any, escape_html: bool, indent: str, prefix: str, level: int) -> str:
    if isinstance(v, GoObject):
        v = v.go_json()
    if v is None or v is MISSING:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, TypedInt | int):
        return str(int(v))
    if isinstance(v, float):
        if not math.isfinite(v):
            raise JSONError(f"json: unsupported value: {format_float(v)}")
        return format_float(v, json_style=True)
    if isinstance(v, str):
        return _json_string(v, escape_html)
    nl = "\n" + prefix + indent * (level + 1) if indent else ""
    end = "\n" + prefix + indent * level if indent else ""
    sep = ": " if indent else ":"
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        keys = sorted(v, key=str)
        parts = [_json_string(str(k), escape_html) + sep + _json_encode(v[k], escape_html, indent, prefix,
                                                                        level + 1) for k in keys]  # fmt: skip
        return "{" + nl + ("," + nl).join(parts) + end + "}"
    if isinstance(v, list | tuple):
        if getattr(v, "is_nil", False):
            return "null"
        if not v:
            return "[]"
        parts = [_json_encode(x, escape_html, indent, prefix, level + 1) for x in v]
        return "[" + nl + ("," + nl).join(parts) + end + "]"
    if isinstance(v, bytes | bytearray):
        import base64

        return '"' + base64.b64encode(bytes(v)).decode() + '"'
    raise JSONError(f"json: unsupported type: {type(v).__name__}")


def marshal(v: Any) -> str:
    return _json_encode(v, True, "", "", 0)


def marshal_indent(v: Any, prefix: str, indent: str) -> str:
    return _json_encode(v, True, indent, prefix, 0)


def marshal_no_html_escape(v: Any) -> str:
    return _json_encode(v, False, "", "", 0)


def _reject_constant(name: str) -> Any:
    raise JSONError(f"invalid character '{name[0]}' looking for beginning of value")


def unmarshal(text: str) -> Any:
    """``json.Unmarshal`` into ``interface{}``: numbers become float64."""
    if not text.strip():
        raise JSONError("unexpected end of JSON input")
    try:
        return json.loads(text, parse_int=float, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()):
            raise JSONError("unexpected end of JSON input") from None
        ch = text[exc.pos]
        if exc.msg.startswith("Extra data"):
            raise JSONError(f"invalid character '{ch}' after top-level value") from None
        raise JSONError(f"invalid character '{ch}' looking for beginning of value") from None


# --- YAML ---------------------------------------------------------------------------------------------------


def yaml_marshal(v: Any) -> str:
    plain = json.loads(marshal(v)) if v is not None else None
    if plain is None:
        return "null\n"
    text: str = yaml.safe_dump(
        plain, default_flow_style=False, sort_keys=True, allow_unicode=True, width=1 << 30
    )
    return text


def yaml_unmarshal(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        detail = re.sub(r"\s+", " ", str(exc))
        raise JSONError(f"error converting YAML to JSON: yaml: {detail}") from None
