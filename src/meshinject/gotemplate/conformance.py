"""Runs the recorded Go ``text/template`` and Sprig test vectors against this engine.

The vectors (``conformance/gotemplate/cases.yaml`` and ``conformance/sprig/cases.yaml``, described in the
README beside them) are pure data: a template, the dot as JSON data plus its Go types, and the exact output or
error Go produced. This module turns each case back into something the engine can execute:

* untagged cases run with the data exactly as decoded (dicts, lists, scalars);
* tagged cases the harness supports get a richer model built from the case's ``types``: Go structs become
  :class:`FixtureStruct` (fields, methods, ``String()``), sized integers become
  :class:`~meshinject.gotemplate._values.TypedInt`, Go function values described by the fixtures become Python
  callables, and the functions the Go tests register (``funcSets``) are implemented here;
* every other tag makes the case ``skipped``, with the tag as the reason.

A waiver file lists cases consciously skipped or accepted as failing; waived failures are reported apart from
real ones.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import json
import os
import re
import types as pytypes
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from meshinject.gotemplate._values import MISSING, GoObject, NoSuchField, TypedInt, go_type_name, to_plain
from meshinject.gotemplate.errors import FuncError, ParseError, TemplateError
from meshinject.gotemplate.funcs import go_func

SuiteKind = Literal["go", "sprig"]
Status = Literal["passed", "failed", "skipped"]

GO_SUPPORTED_TAGS: Final = frozenset(
    {
        "test-funcs",
        "delims",
        "option-missingkey",
        "template-set",
        "typed-int",
        "method",
        "stringer",
        "struct",
        "call",
        "func-value",
        # The test FuncMap includes typeOf, count and the panicking die/doPanic, which only the cases tagged
        # with these are about; a channel is modelled as an iterator, a Go panic as a Python exception.
        "go-type-names",
        "channel",
        "panic",
        # Expressed exactly by the model: {"$complex": ...} becomes a Python complex, an Error() text recorded
        # in types becomes the value's go_string, and template: null leaves the template unparsed.
        "complex",
        "error-method",
        "unparsed-template",
    }
)
SPRIG_SUPPORTED_TAGS: Final = frozenset(
    {
        "struct",
        "named-type",
        "stringer",
        "env",
        "random",
        "crypto-random",
        "os-linux",
        "go-type-names",
        "go-kind-names",
        # {"$time": ...} becomes the Sprig module's GoTime; a foreign value with a recorded Error()/String()
        # text becomes an OpaqueStringer.
        "go-time",
        "go-value",
    }
)

_DEFAULT_DELIMS: Final = ("{{", "}}")
_SIZED_INT_TYPES: Final = frozenset(
    {
        "int8",
        "int16",
        "int32",
        "int64",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
        "rune",
        "byte",
    }
)


# ----------------------------------------------------------------------------------------------------
# Cases, suites, results


@dataclass(frozen=True, slots=True)
class Case:
    """One vector; ``raw`` is the case mapping exactly as loaded (treat it as read-only)."""

    suite: SuiteKind
    raw: Mapping[str, Any]

    @property
    def id(self) -> str:
        return str(self.raw["id"])

    @property
    def template(self) -> str | None:
        text = self.raw.get("template")
        return None if text is None else str(text)

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(str(tag) for tag in self.raw.get("needs") or ())

    def unsupported_tags(self) -> tuple[str, ...]:
        supported = GO_SUPPORTED_TAGS if self.suite == "go" else SPRIG_SUPPORTED_TAGS
        return tuple(tag for tag in self.needs if tag not in supported)


@dataclass(frozen=True, slots=True)
class Suite:
    kind: SuiteKind
    path: Path
    title: str
    cases: tuple[Case, ...]


@dataclass(slots=True)
class CaseResult:
    id: str
    status: Status
    reason: str = ""
    expected: str = ""
    got: str = ""
    template: str | None = None
    untagged: bool = True
    #: the waiver's reason when the case is listed in the waiver file
    waived: str | None = None


@dataclass(frozen=True, slots=True)
class Waiver:
    id: str
    action: Literal["skip", "accept-failure"]
    reason: str


@dataclass(slots=True)
class Report:
    suite: Suite
    results: list[CaseResult] = field(default_factory=list)

    def _count(self, predicate: Callable[[CaseResult], bool]) -> int:
        return sum(1 for result in self.results if predicate(result))

    @property
    def passed(self) -> int:
        return self._count(lambda r: r.status == "passed")

    @property
    def failed(self) -> int:
        """Failures outside the waiver file."""
        return self._count(lambda r: r.status == "failed" and r.waived is None)

    @property
    def waived_failures(self) -> int:
        return self._count(lambda r: r.status == "failed" and r.waived is not None)

    @property
    def skipped(self) -> int:
        return self._count(lambda r: r.status == "skipped")

    @property
    def untagged_total(self) -> int:
        return self._count(lambda r: r.untagged)

    @property
    def untagged_passed(self) -> int:
        return self._count(lambda r: r.untagged and r.status == "passed")

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if r.status == "failed" and r.waived is None]


def load_cases(path: str | Path) -> Suite:
    """Load a conformance file and tell the Go suite from the Sprig one by its ``suite`` / ``format`` keys."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, Mapping) or not str(document.get("format", "")).startswith("gotmpl-conformance/"):
        raise ValueError(f"{path}: not a gotmpl-conformance file (no format: gotmpl-conformance/N)")
    title = str(document.get("suite", ""))
    kind: SuiteKind
    if title.startswith("Go text/template"):
        kind = "go"
    elif title.startswith("Sprig"):
        kind = "sprig"
    else:
        raise ValueError(f"{path}: unknown suite {title!r}")
    cases = tuple(Case(kind, raw) for raw in document.get("cases") or ())
    return Suite(kind, path, title, cases)


def load_waivers(path: str | Path) -> dict[str, Waiver]:
    """Read the waiver file: ``waivers: [{id, action: skip|accept-failure, reason}]``."""
    with Path(path).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    waivers: dict[str, Waiver] = {}
    for entry in document.get("waivers") or ():
        action = str(entry.get("action", "accept-failure"))
        if action not in ("skip", "accept-failure"):
            raise ValueError(f"{path}: waiver {entry.get('id')!r} has unknown action {action!r}")
        reason = str(entry.get("reason") or "")
        if not reason:
            raise ValueError(f"{path}: waiver {entry.get('id')!r} gives no reason")
        waivers[str(entry["id"])] = Waiver(str(entry["id"]), "skip" if action == "skip" else "accept-failure", reason)
    return waivers


def _selected(case: Case, only: str | None) -> bool:
    if only is None:
        return True
    if any(char in only for char in "*?["):
        return fnmatch.fnmatchcase(case.id, only)
    return only in case.id


def run_suite(
    path: str | Path,
    *,
    only: str | None = None,
    waivers: Mapping[str, Waiver] | None = None,
    strict: bool = False,
) -> Report:
    """Run the cases of a conformance file; ``only`` selects one id exactly, else ids by substring or glob."""
    suite = load_cases(path)
    report = Report(suite)
    waivers = waivers or {}
    exact = only is not None and any(case.id == only for case in suite.cases)
    for case in suite.cases:
        if (case.id != only) if exact else not _selected(case, only):
            continue
        waiver = waivers.get(case.id)
        if waiver is not None and waiver.action == "skip":
            report.results.append(
                CaseResult(
                    case.id,
                    "skipped",
                    f"waived: {waiver.reason}",
                    template=case.template,
                    untagged=not case.needs,
                    waived=waiver.reason,
                )
            )
            continue
        result = run_case(case, strict=strict)
        if waiver is not None:
            result.waived = waiver.reason
        report.results.append(result)
    return report


def run_case(case: Case, *, strict: bool = False) -> CaseResult:
    """Run one case. ``strict`` also compares ``errorFull`` and ``outputBeforeError`` (Go's exact texts)."""
    missing = case.unsupported_tags()
    if missing:
        return CaseResult(case.id, "skipped", ", ".join(missing), template=case.template, untagged=not case.needs)
    try:
        if case.suite == "go":
            result = _run_go_case(case, strict=strict)
        else:
            result = _run_sprig_case(case, strict=strict)
    except Exception as exc:  # a harness bug or an engine crash must not stop the run
        result = CaseResult(case.id, "failed", f"crash: {type(exc).__name__}: {exc}")
    result.template = case.template
    result.untagged = not case.needs
    return result


# ----------------------------------------------------------------------------------------------------
# Data model: plain JSON data for untagged cases, Go-typed model for tagged ones


class FixtureStruct(GoObject):
    """A Go struct value (or pointer to one) rebuilt from a fixture's data and types."""

    __slots__ = ("_fields", "_string", "_type", "_unexported")

    def __init__(
        self,
        go_type: str,
        fields: dict[str, Any],
        *,
        unexported: dict[str, Any] | None = None,
        string: str | None = None,
    ) -> None:
        self._type = go_type
        self._fields = fields
        self._unexported = unexported or {}
        self._string = string

    @property
    def base_type(self) -> str:
        return self._type.lstrip("*")

    def go_type_name(self) -> str:
        return self._type

    def go_field(self, name: str) -> Any:
        if name in self._fields:
            return self._fields[name]
        raise NoSuchField(name)

    def go_method(self, name: str) -> Callable[..., Any] | None:
        impl = _GO_METHODS.get(self.base_type, {}).get(name)
        return None if impl is None else pytypes.MethodType(impl, self)

    def go_string(self) -> str | None:
        if self._string is not None:
            return self._string
        impl = _GO_METHODS.get(self.base_type, {}).get("String")
        return None if impl is None else str(impl(self))

    def go_format(self) -> str:
        parts = [_format_v(value) for value in self._fields.values()]
        parts.extend(_format_v(value) for value in self._unexported.values())
        body = "{" + " ".join(parts) + "}"
        return "&" + body if self._type.startswith("*") else body

    def go_json(self) -> Any:
        return {name: to_plain(value) for name, value in self._fields.items()}

    def shallow_copy(self) -> FixtureStruct:
        return FixtureStruct(self._type, dict(self._fields), unexported=dict(self._unexported), string=self._string)


class OpaqueStringer(GoObject):
    """A foreign Go value known only by its type and its ``String()`` / ``Error()`` text (bytes.Buffer...)."""

    __slots__ = ("_text", "_type")

    def __init__(self, go_type: str, text: str) -> None:
        self._type = go_type
        self._text = text

    def go_type_name(self) -> str:
        return self._type

    def go_string(self) -> str | None:
        return self._text

    def go_format(self) -> str:
        return self._text

    def go_json(self) -> Any:
        return {}


def _format_v(value: Any) -> str:
    """A rough ``%v`` for struct printing; exact Go formatting of structs is not needed by supported cases."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, GoObject):
        text = value.go_string()
        return text if text is not None else value.go_format()
    if isinstance(value, list | tuple):
        return "[" + " ".join(_format_v(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{_format_v(k)}:{_format_v(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


_REMARK_TEXT = re.compile(r'\[has (?:String|Error)\(\) method; (?:String|Error)\(\) = ("(?:[^"\\]|\\.)*")\]')


def _type_remark_text(type_text: str | None) -> str | None:
    """The recorded ``String()``/``Error()`` result in a ``types`` entry, if any."""
    if not type_text:
        return None
    found = _REMARK_TEXT.search(type_text)
    if found is None:
        return None
    text: str = json.loads(found.group(1))
    return text


def _dynamic_type(type_text: str | None) -> tuple[str, bool]:
    """The Go type a ``types`` entry names (for an interface, its dynamic type); is the field unexported?"""
    if not type_text:
        return "", False
    text = type_text.split(" [", 1)[0].strip()
    unexported = text.startswith("unexported field: ")
    for prefix in ("unexported field: ", "embedded field: "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if " holding " in text:
        text = text.split(" holding ", 1)[1]
    text = re.sub(r"\s+\([^()]*\)$", "", text)
    return text.strip(), unexported


def _is_struct_type(go_type: str) -> bool:
    bare = go_type.lstrip("*")
    return bare.startswith("struct {") or re.fullmatch(r"[A-Za-z_]\w*\.[A-Za-z_]\w*", bare) is not None


def _child_path(path: str, name: str) -> str:
    return name if path == "." else f"{path}.{name}"


class _Builder:
    """Turns a case's JSON data into engine values; ``rich`` selects the Go-typed model."""

    def __init__(self, types: Mapping[str, Any] | None, *, rich: bool) -> None:
        self.types: Mapping[str, Any] = types or {}
        self.rich = rich

    def type_at(self, path: str) -> str | None:
        value = self.types.get(path)
        return None if value is None else str(value)

    def build(self, value: Any, path: str = ".") -> Any:
        if isinstance(value, Mapping):
            if "$complex" in value:
                real, imag = value["$complex"]
                return complex(real, imag)
            if "$unrepresentable" in value:
                return self.unrepresentable(value, path) if self.rich else dict(value)
            if "$time" in value:
                return _time_value(value) if self.rich else dict(value)
        if not self.rich:
            return self.plain(value, path)
        go_type, _ = _dynamic_type(self.type_at(path))
        if isinstance(value, Mapping):
            if go_type and not go_type.startswith("map[") and _is_struct_type(go_type):
                return self.struct(value, path, go_type)
            return {key: self.build(item, _child_path(path, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [self.build(item, f"{path}[{index}]") for index, item in enumerate(value)]
        if isinstance(value, int) and not isinstance(value, bool) and go_type in _SIZED_INT_TYPES:
            return TypedInt(value, go_type)
        return value

    def plain(self, value: Any, path: str) -> Any:
        if isinstance(value, Mapping):
            return {key: self.build(item, _child_path(path, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [self.build(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return value

    def struct(self, value: Mapping[str, Any], path: str, go_type: str) -> FixtureStruct:
        fields: dict[str, Any] = {}
        hidden: dict[str, Any] = {}
        for name, item in value.items():
            child = _child_path(path, str(name))
            _, unexported = _dynamic_type(self.type_at(child))
            exported = not unexported and str(name)[:1].isupper()
            (fields if exported else hidden)[str(name)] = self.build(item, child)
        return FixtureStruct(go_type, fields, unexported=hidden, string=_type_remark_text(self.type_at(path)))

    def unrepresentable(self, value: Mapping[str, Any], path: str) -> Any:
        name = path.rsplit(".", 1)[-1]
        func = _FUNC_VALUES.get(name)
        if func is not None:
            return func
        text = _type_remark_text(self.type_at(path))
        if text is not None:
            go_type, _ = _dynamic_type(self.type_at(path))
            return OpaqueStringer(go_type, text)
        return dict(value)


def _time_value(value: Mapping[str, Any]) -> Any:
    """A Go ``time.Time`` as Sprig's date functions take it (the Sprig module owns the time model)."""
    from meshinject.gotemplate.sprig import time_from_data

    return time_from_data(dict(value))


def build_data(data: Any, types: Mapping[str, Any] | None, *, rich: bool) -> Any:
    """A fresh engine value for a case's ``data``/``vars`` (the loaded YAML is never mutated)."""
    return _Builder(types, rich=rich).build(copy.deepcopy(data))


# ----------------------------------------------------------------------------------------------------
# Methods of the exec_test.go types (fixture ``methods``) and function values (fixture ``notRepresented``)


def _sprint(value: Any) -> str:
    """``fmt.Sprint`` of one value, through the engine's own ``print`` so formatting stays Go's."""
    from meshinject.gotemplate import Template

    return str(Template("sprint").parse("{{print .}}").execute(value))


@go_func()
def _t_method0(self: FixtureStruct) -> str:
    return "M0"


@go_func("int")
def _t_method1(self: FixtureStruct, a: int) -> int:
    return a


@go_func("int", "string")
def _t_method2(self: FixtureStruct, a: int, b: str) -> str:
    return f"Method2: {int(a)} {b}"


@go_func("any")
def _t_method3(self: FixtureStruct, v: Any) -> str:
    return "Method3: " + _sprint(v)


@go_func()
def _t_copy(self: FixtureStruct) -> FixtureStruct:
    return self.shallow_copy()


@go_func("int", "[]any")
def _t_madd(self: FixtureStruct, a: int, b: Sequence[int]) -> list[int]:
    return [item + a for item in b]


@go_func("bool")
def _t_my_error(self: FixtureStruct, error: bool) -> bool:
    if error:
        raise FuncError("my error")
    return False


@go_func()
def _t_get_u(self: FixtureStruct) -> Any:
    return self.go_field("U")


@go_func("bool")
def _u_true_false(self: FixtureStruct, b: bool) -> str:
    return "true" if b else ""


_T_METHODS: Final[dict[str, Callable[..., Any]]] = {
    "Method0": _t_method0,
    "Method1": _t_method1,
    "Method2": _t_method2,
    "Method3": _t_method3,
    "Copy": _t_copy,
    "MAdd": _t_madd,
    "MyError": _t_my_error,
    "GetU": _t_get_u,
}
_GO_METHODS: Final[dict[str, dict[str, Callable[..., Any]]]] = {
    "template.T": _T_METHODS,
    "template.U": {"TrueFalse": _u_true_false},
}


@go_func("string", "string")
def _binary_func(a: str, b: str) -> str:
    return f"[{a}={b}]"


@go_func(variadic="string")
def _variadic_func(*s: str) -> str:
    return "<" + "+".join(s) + ">"


@go_func("int", variadic="string")
def _variadic_func_int(a: int, *s: str) -> str:
    return f"{int(a)}=<" + "+".join(s) + ">"


@go_func("any")
def _nil_ok_func(s: Any) -> bool:
    return s is None or s is MISSING


@go_func()
def _err_func() -> str:
    return "bla"


@go_func()
def _panic_func() -> str:
    raise RuntimeError("test panic")


@go_func("int")
def _plus_one(n: int) -> int:
    return n + 1


# Keyed by field name: the fixtures hold these function values under these names only. Functions whose result
# count is the point of the test (TooFewReturnCountFunc...) have no Python form and stay unrepresentable.
_FUNC_VALUES: Final[dict[str, Callable[..., Any]]] = {
    "BinaryFunc": _binary_func,
    "VariadicFunc": _variadic_func,
    "VariadicFuncInt": _variadic_func_int,
    "NilOKFunc": _nil_ok_func,
    "ErrFunc": _err_func,
    "PanicFunc": _panic_func,
    "PlusOne": _plus_one,
}


# ----------------------------------------------------------------------------------------------------
# The FuncMaps the Go tests register (top-level ``funcSets``)


class GoPanic(RuntimeError):
    """What a test function raises where the Go function panics."""


@go_func(variadic="int")
def _add(*args: int) -> int:
    return sum(args)


@go_func("int")
def _count(n: int) -> Iterator[str] | None:
    if n == 0:
        return None
    return (chr(ord("a") + index) for index in range(n))


@go_func("int", variadic="string")
def _ddd_arg(a: int, *b: str) -> str:
    return f"{int(a)} [{' '.join(b)}]\n"


@go_func()
def _die() -> bool:
    raise GoPanic("die")


@go_func("any")
def _echo(arg: Any) -> Any:
    return arg


@go_func(variadic="string")
def _makemap(*args: str) -> dict[str, str]:
    if len(args) % 2:
        raise GoPanic("bad makemap")
    return {args[index]: args[index + 1] for index in range(0, len(args), 2)}


@go_func()
def _map_of_three() -> Any:
    return {"three": 3}


@go_func("string")
def _one_arg(a: str) -> str:
    return "oneArg=" + a


@go_func()
def _return_int() -> int:
    return 7


@go_func("any")
def _stringer(s: Any) -> str:
    text = s.go_string() if isinstance(s, GoObject) else None
    if text is None:
        raise FuncError(f"{go_type_name(s)} does not implement fmt.Stringer")
    return text


@go_func("string", "string")
def _two_args(a: str, b: str) -> str:
    return "twoArgs=" + a + b


@go_func("any")
def _type_of(arg: Any) -> str:
    return go_type_name(arg)


@go_func("string")
def _value_string(v: str) -> str:
    return "value is ignored"


@go_func("any", "any")
def _vfunc(v: Any, pv: Any) -> str:
    return "vfunc"


@go_func()
def _zero_args() -> str:
    return "zeroArgs"


@go_func()
def _do_panic() -> str:
    raise GoPanic("custom panic string")


@go_func()
def _err() -> str:
    raise FuncError("heyo !")


@go_func("any")
def _break(value: Any) -> Any:
    return value


FUNC_SETS: Final[Mapping[str, Mapping[str, Callable[..., Any]]]] = {
    "execTestFuncs": {
        "add": _add,
        "count": _count,
        "dddArg": _ddd_arg,
        "die": _die,
        "echo": _echo,
        "makemap": _makemap,
        "mapOfThree": _map_of_three,
        "oneArg": _one_arg,
        "returnInt": _return_int,
        "stringer": _stringer,
        "twoArgs": _two_args,
        "typeOf": _type_of,
        "valueString": _value_string,
        "vfunc": _vfunc,
        "zeroArgs": _zero_args,
    },
    "panicFuncs": {"doPanic": _do_panic},
    "customErrorFunc": {"err": _err},
    "breakFunc": {"break": _break},
}


# ----------------------------------------------------------------------------------------------------
# Comparison


def _error_matches(message: str, raw: Mapping[str, Any]) -> bool:
    wanted = str(raw.get("error", ""))
    how = raw.get("errorMatch")
    if how == "exact":
        return message == wanted
    if how == "suffix":
        return message.endswith(wanted)
    return wanted in message


def _describe_expected(raw: Mapping[str, Any]) -> str:
    if raw.get("error") is not None:
        how = raw.get("errorMatch") or "containing"
        return f"{raw.get('errorPhase', 'exec')} error {how} {str(raw['error'])!r}"
    if "expect" in raw:
        return repr(raw["expect"])
    if raw.get("expectParse") == "ok":
        return "parses"
    if raw.get("match"):
        return "output with " + json.dumps(raw["match"], sort_keys=True)
    return "no error"


def _check_error(case: Case, phase: str, exc: TemplateError, *, strict: bool) -> CaseResult:
    raw = case.raw
    message = str(exc)
    expected = _describe_expected(raw)
    got = f"{phase} error: {message}"
    if raw.get("error") is None:
        return CaseResult(case.id, "failed", f"unexpected {phase} error", expected, got)
    wanted_phase = raw.get("errorPhase", "exec")
    if wanted_phase != phase:
        return CaseResult(case.id, "failed", f"error in {phase} phase, want {wanted_phase}", expected, got)
    if not _error_matches(message, raw):
        return CaseResult(case.id, "failed", "error message differs", expected, got)
    if strict:
        full = raw.get("errorFull")
        if full is not None and message != full:
            return CaseResult(case.id, "failed", "errorFull differs", repr(full), repr(message))
        before = raw.get("outputBeforeError")
        output = getattr(exc, "output", "")
        if before is not None and output != before:
            return CaseResult(case.id, "failed", "output before error differs", repr(before), repr(output))
    return CaseResult(case.id, "passed", "", expected, got)


def _check_output(case: Case, output: str) -> CaseResult:
    raw = case.raw
    expected = _describe_expected(raw)
    if raw.get("error") is not None:
        return CaseResult(case.id, "failed", "expected an error, got output", expected, repr(output))
    if "expect" in raw and output != raw["expect"]:
        return CaseResult(case.id, "failed", "output differs", expected, repr(output))
    return CaseResult(case.id, "passed", "", expected, repr(output))


# ----------------------------------------------------------------------------------------------------
# Go suite


def _go_template_factory() -> Any:
    from meshinject.gotemplate import Template

    return Template


def _options(raw: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    funcs = FUNC_SETS.get(str(raw.get("funcSet") or ""), {})
    if funcs:
        kwargs["funcs"] = dict(funcs)
    delims = raw.get("delims")
    if delims:
        left, right = str(delims[0]), str(delims[1])
        kwargs["delims"] = (left or _DEFAULT_DELIMS[0], right or _DEFAULT_DELIMS[1])
    for option in raw.get("options") or ():
        key, _, value = str(option).partition("=")
        if key != "missingkey":
            raise ValueError(f"unsupported template option {option!r}")
        kwargs["missingkey"] = value
    return kwargs


def _run_go_case(case: Case, *, strict: bool) -> CaseResult:
    raw = case.raw
    name = str(raw["name"])
    root_name = str(raw.get("root") or name)
    template_factory = _go_template_factory()
    try:
        root = template_factory(root_name, **_options(raw))
        named: dict[str, Any] = {root_name: root}

        def parse_into(template_name: str, text: str | None) -> Any:
            target = root if template_name == root_name else root.new(template_name)
            named[template_name] = target
            if text is not None:
                target.parse(text)
            return target

        for entry in raw.get("setup") or ():
            parse_into(str(entry["name"]), None if entry.get("text") is None else str(entry["text"]))
        target = named.get(name, root)
        if case.template is not None:
            target = parse_into(name, case.template)
    except ParseError as exc:
        return _check_error(case, "parse", exc, strict=strict)

    if raw.get("kind") == "parse":
        if raw.get("error") is not None:
            return CaseResult(case.id, "failed", "expected a parse error", _describe_expected(raw), "parsed")
        return CaseResult(case.id, "passed", "", "parses", "parsed")
    if raw.get("errorPhase") == "parse":
        return CaseResult(case.id, "failed", "expected a parse error", _describe_expected(raw), "parsed")

    data = build_data(raw.get("data"), raw.get("types"), rich=bool(case.needs))
    try:
        if raw.get("executeTemplate") is not None:
            output = root.execute_template(str(raw["executeTemplate"]), data)
        else:
            output = target.execute(data)
    except TemplateError as exc:
        return _check_error(case, "exec", exc, strict=strict)
    return _check_output(case, str(output))


# ----------------------------------------------------------------------------------------------------
# Sprig suite


def _sprig_funcs() -> Mapping[str, Callable[..., Any]]:
    from meshinject.gotemplate.sprig import SPRIG_FUNCS

    return SPRIG_FUNCS


class _Environment:
    """Sets the case's environment variables for the duration of a run and restores the old values."""

    def __init__(self, variables: Mapping[str, Any] | None) -> None:
        self.variables = {str(k): str(v) for k, v in (variables or {}).items()}
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.variables.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc_info: object) -> None:
        for key, old in self.saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _bcrypt_matches(password: str, hashed: str) -> bool:
    """Check a bcrypt hash with the C library's crypt(3); without it, only the hash's shape is checked."""
    if re.fullmatch(r"\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}", hashed) is None:
        return False
    try:
        with warnings.catch_warnings():
            # crypt is deprecated (removed in 3.13) but is the only bcrypt verifier in the standard library.
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
    except ImportError:
        return True
    try:
        computed = crypt.crypt(password, hashed)
    except OSError:
        return True
    if computed is None:
        return True
    return computed == hashed


def _match_problems(match: Mapping[str, Any], output: str, rerun: Callable[[], str]) -> list[str]:
    problems: list[str] = []
    for needle in match.get("contains") or ():
        if str(needle) not in output:
            problems.append(f"does not contain {needle!r}")
    if "length" in match and len(output.encode()) != int(match["length"]):
        problems.append(f"length {len(output.encode())} bytes, want {match['length']}")
    if "runeCount" in match and len(output) != int(match["runeCount"]):
        problems.append(f"{len(output)} runes, want {match['runeCount']}")
    if "intRange" in match:
        low, high = (int(bound) for bound in match["intRange"])
        try:
            number = int(output)
        except ValueError:
            problems.append("not an integer")
        else:
            if not low <= number < high:
                problems.append(f"{number} not in [{low}, {high})")
    if "base64DecodedLength" in match:
        try:
            decoded = base64.b64decode(output, validate=True)
        except ValueError:
            problems.append("not base64")
        else:
            if len(decoded) != int(match["base64DecodedLength"]):
                problems.append(f"decodes to {len(decoded)} bytes, want {match['base64DecodedLength']}")
    if match.get("differsOnRerun") and rerun() == output:
        problems.append("same output on a second run")
    if "bcrypt" in match and not _bcrypt_matches(str(match["bcrypt"]["password"]), output):
        problems.append("not a bcrypt hash of the password")
    if "htpasswd" in match:
        spec = match["htpasswd"]
        user, sep, hashed = output.partition(":")
        if not sep or user != str(spec["username"]):
            problems.append(f"user is not {spec['username']!r}")
        elif not _bcrypt_matches(str(spec["password"]), hashed):
            problems.append("not a bcrypt hash of the password")
    return problems


def _same_json(left: Any, right: Any) -> bool:
    """Equality that keeps JSON's distinctions (bool vs number, int vs float)."""
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_same_json(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(_same_json(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, float) != isinstance(right, float):
        return False
    return bool(left == right)


def _run_sprig_case(case: Case, *, strict: bool) -> CaseResult:
    raw = case.raw
    try:
        funcs = _sprig_funcs()
    except ImportError as exc:
        return CaseResult(case.id, "failed", f"Sprig function map unavailable: {exc}", _describe_expected(raw))
    template_factory = _go_template_factory()
    rich = bool(case.needs)
    try:
        template = template_factory("test", funcs=dict(funcs)).parse(case.template or "")
    except ParseError as exc:
        return _check_error(case, "parse", exc, strict=strict)
    if raw.get("errorPhase") == "parse":
        return CaseResult(case.id, "failed", "expected a parse error", _describe_expected(raw), "parsed")
    variables = build_data(raw.get("vars"), raw.get("types"), rich=rich)
    with _Environment(raw.get("env")):
        try:
            output = str(template.execute(variables))
        except TemplateError as exc:
            return _check_error(case, "exec", exc, strict=strict)

        def rerun() -> str:
            return str(template.execute(build_data(raw.get("vars"), raw.get("types"), rich=rich)))

        result = _check_output(case, output)
        if result.status != "passed":
            return result
        problems = _match_problems(raw.get("match") or {}, output, rerun)
    if problems:
        return CaseResult(case.id, "failed", "; ".join(problems), _describe_expected(raw), repr(output))
    for name, wanted in (raw.get("expectVarsAfter") or {}).items():
        got = to_plain(variables.get(name) if isinstance(variables, Mapping) else None)
        if not _same_json(got, wanted):
            return CaseResult(
                case.id, "failed", f"vars.{name} after execution differs", json.dumps(wanted), json.dumps(got)
            )
    return result


# ----------------------------------------------------------------------------------------------------
# Output


def _indent(text: str) -> str:
    return text.replace("\n", "\n      ")


def format_report(report: Report, *, verbose: bool = False) -> str:
    """Every failure (id, template, expected vs got), then the totals; the last line is ``N passed, ...``."""
    lines: list[str] = []
    for result in report.results:
        show = result.status == "failed" and result.waived is None
        if verbose and not show:
            waived_failure = result.waived is not None and result.status == "failed"
            tag = "WAIVED" if waived_failure else result.status.upper()
            note = f"{result.reason} (waiver: {result.waived})" if waived_failure else result.reason
            lines.append(f"{tag} {result.id}" + (f": {note}" if note else ""))
            continue
        if not show:
            continue
        lines.append(f"FAIL {result.id}: {result.reason}")
        lines.append(f"  template: {_indent(repr(result.template))}")
        lines.append(f"  expected: {_indent(result.expected)}")
        lines.append(f"  got:      {_indent(result.got)}")
    if report.waived_failures:
        lines.append(f"{report.waived_failures} waived failures (accepted in the waiver file)")
    lines.append(f"untagged cases: {report.untagged_passed} of {report.untagged_total} passed")
    lines.append(f"{report.passed} passed, {report.failed} failed, {report.skipped} skipped")
    return "\n".join(lines)
