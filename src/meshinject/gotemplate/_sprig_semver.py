"""``semver`` and ``semverCompare``: Masterminds/semver v3.4's behaviour (coercing parser, constraints)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meshinject.gotemplate._sprig_base import FuncError, GoObject, TypedInt
from meshinject.gotemplate._sprig_regex import compile_go
from meshinject.gotemplate.funcs import go_func


class SemverError(ValueError):
    pass


_NUM = "0123456789"
_ALLOWED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-" + _NUM
_LOOSE = re.compile(
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_U64_MAX = (1 << 64) - 1


def _only(s: str, allowed: str) -> bool:
    return all(c in allowed for c in s)


def _validate_prerelease(p: str) -> None:
    for part in p.split("."):
        if part == "":
            raise SemverError("invalid prerelease string")
        if _only(part, _NUM):
            if len(part) > 1 and part[0] == "0":
                raise SemverError("version segment starts with 0")
        elif not _only(part, _ALLOWED):
            raise SemverError("invalid prerelease string")


def _validate_metadata(m: str) -> None:
    for part in m.split("."):
        if part == "" or not _only(part, _ALLOWED):
            raise SemverError("invalid metadata string")


def _segment(text: str) -> int:
    n = int(text)
    if n > _U64_MAX:
        raise SemverError(f'error parsing version segment: strconv.ParseUint: parsing "{text}": value out of range')
    return n


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str
    metadata: str
    original: str

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + self.pre
        if self.metadata:
            text += "+" + self.metadata
        return text

    def compare(self, o: Version) -> int:
        for a, b in ((self.major, o.major), (self.minor, o.minor), (self.patch, o.patch)):
            if a != b:
                return -1 if a < b else 1
        if self.pre == "" and o.pre == "":
            return 0
        if self.pre == "":
            return 1
        if o.pre == "":
            return -1
        return _compare_prerelease(self.pre, o.pre)


def _compare_prerelease(v: str, o: str) -> int:
    sparts, oparts = v.split("."), o.split(".")
    for i in range(max(len(sparts), len(oparts))):
        s = sparts[i] if i < len(sparts) else ""
        t = oparts[i] if i < len(oparts) else ""
        d = _compare_pre_part(s, t)
        if d:
            return d
    return 0


def _uint(s: str) -> int | None:
    if s and _only(s, _NUM) and int(s) <= _U64_MAX:
        return int(s)
    return None


def _compare_pre_part(s: str, o: str) -> int:
    if s == o:
        return 0
    if s == "":
        return -1
    if o == "":
        return 1
    oi, si = _uint(o), _uint(s)
    if oi is None and si is None:
        return 1 if s > o else -1
    if oi is None:
        return -1
    if si is None:
        return 1
    return 1 if si > oi else -1


def new_version(v: str) -> Version:
    """``semver.NewVersion`` (coercing: "1.2" is 1.2.0, a leading "v" is allowed)."""
    m = _LOOSE.fullmatch(v)
    if m is None:
        raise SemverError("invalid semantic version")
    major = _segment(m.group(1))
    minor = _segment(m.group(2)[1:]) if m.group(2) else 0
    patch = _segment(m.group(3)[1:]) if m.group(3) else 0
    pre = m.group(5) or ""
    meta = m.group(8) or ""
    if pre:
        _validate_prerelease(pre)
    if meta:
        _validate_metadata(meta)
    return Version(major, minor, patch, pre, meta, v)


def _strict_zero() -> Version:
    return Version(0, 0, 0, "", "", "0.0.0")


# --- constraints --------------------------------------------------------------------------------------------

_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"


@functools.lru_cache(maxsize=1)
def _regexes() -> dict[str, Any]:
    # Go's regexp (not Python's) so that \s, $ and FindAll behave exactly as in the library
    return {
        "constraint": compile_go(rf"^\s*({_OPS})\s*({_CV})\s*$"),
        "range": compile_go(rf"\s*({_CV})\s+-\s+({_CV})\s*"),
        "find": compile_go(rf"({_OPS})\s*({_CV})"),
        "valid": compile_go(rf"^(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*$"),
    }


@dataclass(frozen=True)
class _Constraint:
    con: Version
    orig: str
    op: str
    minor_dirty: bool
    dirty: bool
    patch_dirty: bool


def _is_x(s: str) -> bool:
    return s in ("x", "*", "X")


def _parse_constraint(c: str) -> _Constraint:
    if c:
        m = _regexes()["constraint"].search(c)
        if m is None:
            raise SemverError(f"improper constraint: {c}")
        groups = [m.group(i) or "" for i in range(m.re.groups + 1)]
        ver = groups[2]
        minor_dirty = patch_dirty = dirty = False
        if _is_x(groups[3]) or groups[3] == "":
            ver = f"0.0.0{groups[6]}"
            dirty = True
        elif _is_x(groups[4].removeprefix(".")) or groups[4] == "":
            minor_dirty = dirty = True
            ver = f"{groups[3]}.0.0{groups[6]}"
        elif _is_x(groups[5].removeprefix(".")) or groups[5] == "":
            dirty = patch_dirty = True
            ver = f"{groups[3]}{groups[4]}.0{groups[6]}"
        try:
            con = new_version(ver)
        except SemverError:
            raise SemverError("constraint parser error") from None
        return _Constraint(con, groups[2], groups[1], minor_dirty, dirty, patch_dirty)
    return _Constraint(_strict_zero(), c, "", False, True, False)


def _rewrite_range(c: str) -> str:
    rx = _regexes()["range"]
    matches = rx.all_matches(c)
    if not matches:
        return c
    out = c
    for m in matches:
        replacement = f">= {m.group(1)}, <= {m.group(11)} "
        out = out.replace(m.group(0), replacement, 1)
    return out


@dataclass(frozen=True)
class Constraints:
    groups: tuple[tuple[_Constraint, ...], ...]
    contains_pre: tuple[bool, ...]

    def check(self, v: Version) -> bool:
        for group, has_pre in zip(self.groups, self.contains_pre, strict=True):
            if all(_check(c, v, has_pre) for c in group):
                return True
        return False


def new_constraint(c: str) -> Constraints:
    c = _rewrite_range(c)
    groups = []
    pres = []
    for part in c.split("||"):
        if not _regexes()["valid"].match_string(part):
            raise SemverError(f"improper constraint: {part}")
        found = [m.group(0) for m in _regexes()["find"].all_matches(part)] or [part]
        parsed = tuple(_parse_constraint(s) for s in found)
        groups.append(parsed)
        pres.append(any(pc.con.pre != "" for pc in parsed))
    return Constraints(tuple(groups), tuple(pres))


def _check(c: _Constraint, v: Version, include_pre: bool) -> bool:
    if v.pre and not include_pre:
        return False
    return _OPERATORS[c.op](v, c)


def _not_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        if c.con.major != v.major:
            return True
        if c.con.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if c.con.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            if v.pre or c.con.pre:
                return _compare_prerelease(v.pre, c.con.pre) != 0
            return False
    return v.compare(c.con) != 0


def _greater(v: Version, c: _Constraint) -> bool:
    if not c.dirty:
        return v.compare(c.con) == 1
    if v.major > c.con.major:
        return True
    if v.major < c.con.major:
        return False
    if c.minor_dirty:
        return False
    if c.patch_dirty:
        return v.minor > c.con.minor
    return v.compare(c.con) == 1


def _less_equal(v: Version, c: _Constraint) -> bool:
    if not c.dirty:
        return v.compare(c.con) <= 0
    if v.major > c.con.major:
        return False
    return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)


def _tilde(v: Version, c: _Constraint) -> bool:
    if v.compare(c.con) < 0:
        return False
    if (c.con.major, c.con.minor, c.con.patch) == (0, 0, 0) and not c.minor_dirty and not c.patch_dirty:
        return True
    if v.major != c.con.major:
        return False
    return not (v.minor != c.con.minor and not c.minor_dirty)


def _tilde_or_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        return _tilde(v, c)
    return v.compare(c.con) == 0


def _caret(v: Version, c: _Constraint) -> bool:
    if v.compare(c.con) < 0:
        return False
    if c.con.major > 0 or c.minor_dirty:
        return v.major == c.con.major
    if v.major > 0:
        return False
    if c.con.minor > 0 or c.patch_dirty:
        return v.minor == c.con.minor
    if v.minor > 0:
        return False
    return c.con.patch == v.patch


_OPERATORS: dict[str, Callable[[Version, _Constraint], bool]] = {
    "": _tilde_or_equal,
    "=": _tilde_or_equal,
    "!=": _not_equal,
    ">": _greater,
    "<": lambda v, c: v.compare(c.con) < 0,
    ">=": lambda v, c: v.compare(c.con) >= 0,
    "=>": lambda v, c: v.compare(c.con) >= 0,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}


# --- template values ----------------------------------------------------------------------------------------


class SemverVersion(GoObject):
    """A ``*semver.Version`` as templates see it: ``.Major``, ``.Compare`` ..., printed with ``String()``."""

    __slots__ = ("pointer", "v")

    def __init__(self, v: Version, *, pointer: bool = True) -> None:
        self.v = v
        # IncPatch & co. return a semver.Version value: its pointer-receiver methods are out of reach
        self.pointer = pointer

    def go_type_name(self) -> str:
        return "*semver.Version" if self.pointer else "semver.Version"

    def go_string(self) -> str:
        return str(self.v)

    def go_json(self) -> Any:
        return str(self.v)

    def go_method(self, name: str) -> Callable[..., Any] | None:
        v = self.v

        def other(o: Any) -> Version:
            if not isinstance(o, SemverVersion):
                raise FuncError(NIL_OR_TYPE)
            return o.v

        def bump(which: str) -> SemverVersion:
            prefix = "v" if v.original[:1] == "v" else ""
            if which == "patch":
                nxt = Version(v.major, v.minor, v.patch if v.pre else v.patch + 1, "", "", "")
            elif which == "minor":
                nxt = Version(v.major, v.minor + 1, 0, "", "", "")
            else:
                nxt = Version(v.major + 1, 0, 0, "", "", "")
            return SemverVersion(Version(nxt.major, nxt.minor, nxt.patch, "", "", prefix + str(nxt)), pointer=False)

        methods: dict[str, Callable[..., Any]] = {
            "Major": lambda: TypedInt(v.major, "uint64"),
            "Minor": lambda: TypedInt(v.minor, "uint64"),
            "Patch": lambda: TypedInt(v.patch, "uint64"),
            "Prerelease": lambda: v.pre,
            "Metadata": lambda: v.metadata,
            "Original": lambda: v.original,
            "String": lambda: str(v),
            "Compare": lambda o: v.compare(other(o)),
            "LessThan": lambda o: v.compare(other(o)) < 0,
            "LessThanEqual": lambda o: v.compare(other(o)) <= 0,
            "GreaterThan": lambda o: v.compare(other(o)) > 0,
            "GreaterThanEqual": lambda o: v.compare(other(o)) >= 0,
            "Equal": lambda o: v.compare(other(o)) == 0,
            "IncPatch": lambda: bump("patch"),
            "IncMinor": lambda: bump("minor"),
            "IncMajor": lambda: bump("major"),
        }
        if not self.pointer and name in _POINTER_METHODS:
            return None
        fn = methods.get(name)
        if fn is None:
            return None
        # every method takes nothing or one *Version
        return go_func(*(("any",) if name in _POINTER_METHODS and name != "Original" else ()))(fn)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SemverVersion) and other.v == self.v and other.pointer == self.pointer

    def __hash__(self) -> int:
        return hash(self.v)


_POINTER_METHODS = frozenset(
    ["Original", "Compare", "LessThan", "LessThanEqual", "GreaterThan", "GreaterThanEqual", "Equal"]
)
NIL_OR_TYPE = "runtime error: invalid memory address or nil pointer dereference"


@go_func("string")
def semver(version: str) -> SemverVersion:
    try:
        return SemverVersion(new_version(version))
    except SemverError as exc:
        raise FuncError(str(exc)) from None


@go_func("string", "string")
def semver_compare(constraint: str, version: str) -> bool:
    try:
        c = new_constraint(constraint)
        v = new_version(version)
    except SemverError as exc:
        raise FuncError(str(exc)) from None
    return c.check(v)
