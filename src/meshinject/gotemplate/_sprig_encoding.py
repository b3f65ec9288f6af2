"""JSON and YAML functions: Sprig's (toJson, fromJson...) and the ones Helm adds (toYaml, fromYaml...)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from meshinject.gotemplate._sprig_base import FuncError, GoSlice
from meshinject.gotemplate.funcs import go_func
from meshinject.gotemplate.gojson import marshal as _marshal
from meshinject.gotemplate.gojson import marshal_indent as _marshal_indent
from meshinject.gotemplate.gojson import unmarshal as _unmarshal
from meshinject.gotemplate.goyaml import marshal as _yaml_marshal
from meshinject.gotemplate.goyaml import unmarshal as _yaml_unmarshal


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def marshal_json(value: Any) -> str:
    return _marshal(value)


# a \u003c / \u003e / \u0026 escape that is not itself an escaped backslash followed by text
_HTML_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u00(3c|3e|26)")
_HTML_CHARS = {"3c": "<", "3e": ">", "26": "&"}


def _unescape_html(text: str) -> str:
    return _HTML_ESCAPE.sub(lambda m: m.group(1) + _HTML_CHARS[m.group(2)], text)


@go_func("any")
def to_json(v: Any) -> str:
    try:
        return marshal_json(v)
    except Exception:  # json.Marshal's error is dropped by Sprig
        return ""


@go_func("any")
def must_to_json(v: Any) -> str:
    try:
        return marshal_json(v)
    except FuncError:
        raise
    except Exception as exc:
        raise FuncError(_error_text(exc)) from None


@go_func("any")
def to_pretty_json(v: Any) -> str:
    try:
        return _marshal_indent(v, "", "  ")
    except Exception:
        return ""


@go_func("any")
def must_to_pretty_json(v: Any) -> str:
    try:
        return _marshal_indent(v, "", "  ")
    except FuncError:
        raise
    except Exception as exc:
        raise FuncError(_error_text(exc)) from None


@go_func("any")
def to_raw_json(v: Any) -> str:
    """JSON without HTML escaping (Sprig panics on an encoding error, which reports it)."""
    try:
        return _unescape_html(marshal_json(v))
    except FuncError:
        raise
    except Exception as exc:
        raise FuncError(_error_text(exc)) from None


must_to_raw_json = to_raw_json


@go_func("string")
def from_json(v: str) -> Any:
    try:
        return _unmarshal(v)
    except Exception:
        return None


@go_func("string")
def must_from_json(v: str) -> Any:
    try:
        return _unmarshal(v)
    except Exception as exc:
        raise FuncError(_error_text(exc)) from None


@go_func("string")
def from_json_array(v: str) -> list[Any]:
    """Helm: a JSON array, or a one-element list holding the error text."""
    try:
        out = _unmarshal(v)
    except Exception as exc:
        return [_error_text(exc)]
    if isinstance(out, list):
        return out
    if out is None:
        return GoSlice((), nil=True)
    return [f"json: cannot unmarshal {_json_kind(out)} into Go value of type []interface {{}}"]


def _json_kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


# --- YAML (Helm) --------------------------------------------------------------------------------------------


@go_func("any")
def to_yaml(v: Any) -> str:
    try:
        return _yaml_marshal(v).removesuffix("\n")
    except Exception:
        return ""


@go_func("any")
def must_to_yaml(v: Any) -> str:
    try:
        return _yaml_marshal(v).removesuffix("\n")
    except FuncError:
        raise
    except Exception as exc:
        raise FuncError(_error_text(exc)) from None


@go_func("string")
def from_yaml(s: str) -> dict[str, Any]:
    """Helm: a YAML document as a map; errors land under the key ``Error``."""
    try:
        out = _yaml_unmarshal(s)
    except Exception as exc:
        return {"Error": _error_text(exc)}
    if out is None:
        return {}
    if not isinstance(out, dict):
        kind = "array" if isinstance(out, list) else _json_kind(out)
        return {
            "Error": "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{kind} into Go value of type map[string]interface {{}}"
        }
    return out


@go_func("string")
def from_yaml_array(s: str) -> list[Any]:
    try:
        out = _yaml_unmarshal(s)
    except Exception as exc:
        return [_error_text(exc)]
    if out is None:
        return []
    if not isinstance(out, list):
        kind = "object" if isinstance(out, Mapping) else _json_kind(out)
        return [
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{kind} into Go value of type []interface {{}}"
        ]
    return out


@go_func("string", "any")
def required(warn: str, val: Any) -> Any:
    """Helm: fail with ``warn`` when the value is nil or the empty string."""
    if val is None or (val == "" and isinstance(val, str)):
        raise FuncError(warn)
    return val


@go_func("string")
def fail(msg: str) -> str:
    raise FuncError(msg)
