"""YAML written and read exactly the way Go's ``sigs.k8s.io/yaml`` does it.

``sigs.k8s.io/yaml.Marshal`` is three steps: ``encoding/json`` marshals the value, go-yaml v2 parses that
JSON into ``map[interface{}]interface{}`` (resolving every JSON number with YAML 1.1 rules), and the go-yaml
v2 emitter (a port of libyaml's) writes the result. :func:`marshal` reproduces the bytes of that pipeline,
quirks included: go-yaml's "natural" key order, its quoting decisions, its folding of long scalars at column
80, ``\\U`` escapes for characters outside the BMP, and so on. The emitter below keeps the state of libyaml's
emitter (column, ``whitespace``, ``indention``, ``indent``) so that the rare paths stay byte-exact, with fast
paths for the ordinary scalars that make up nearly all of a Kubernetes object.

``sigs.k8s.io/yaml.Unmarshal`` into ``any`` is go-yaml v2 decoding, conversion to JSON, then ``encoding/json``
decoding: every number becomes a float64, every key a string. :func:`unmarshal` gives that result;
:func:`load_preserving_types` stops after go-yaml (ints stay ints) and is what re-serialising needs.
"""

from __future__ import annotations

import copy
import math
import re
import struct
from collections.abc import Iterable, Iterator, Mapping
from functools import cmp_to_key
from operator import itemgetter
from typing import Any, ClassVar, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from meshinject.gotemplate._values import MISSING, GoObject

__all__ = [
    "GoYAMLError",
    "format_float",
    "load_preserving_types",
    "marshal",
    "marshal_documents",
    "unmarshal",
]


class GoYAMLError(ValueError):
    """What Go's ``sigs.k8s.io/yaml`` returns as an error; the message follows Go's wording where known."""


# ------------------------------------------------------------------------------------------------------------
# Numbers


_INT64_MIN: Final = -(1 << 63)
_INT64_MAX: Final = (1 << 63) - 1
_UINT64_MAX: Final = (1 << 64) - 1


def _shortest_digits(f: float) -> tuple[bool, str, int]:
    """(negative, digits, dp) with ``|f| == 0.digits * 10**dp``, using the shortest round-trip digits.

    ``repr`` gives the shortest digits that round-trip (the closest when several), as Go's shortest
    ``FormatFloat`` does.
    """
    r = repr(f)
    neg = r[0] == "-"
    if neg:
        r = r[1:]
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    allds = whole + frac
    stripped = allds.lstrip("0")
    dp = len(whole) + (int(exp) if exp else 0) - (len(allds) - len(stripped))
    return neg, stripped.rstrip("0"), dp


def _format_g(neg: bool, digits: str, dp: int) -> str:
    """Go's ``strconv.FormatFloat(x, 'g', -1, ...)`` layout for the given shortest digits."""
    sign = "-" if neg else ""
    if not digits:
        return sign + "0"
    exp = dp - 1
    # With the shortest precision Go switches to %e when the exponent is < -4 or >= 6.
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    nd = len(digits)
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= nd:
        return sign + digits + "0" * (dp - nd)
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def format_float(f: float) -> str:
    """A float64 as go-yaml v2 writes it: ``strconv.FormatFloat(f, 'g', -1, 64)`` plus ``.inf``/``.nan``."""
    if f != f:
        return ".nan"
    if math.isinf(f):
        return ".inf" if f > 0 else "-.inf"
    return _format_g(*_shortest_digits(f))


def _format_float32(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 32)`` as sigs.k8s.io/yaml uses it for float map keys."""
    if f != f:
        return ".nan"
    try:
        f32 = struct.unpack("<f", struct.pack("<f", f))[0]
    except OverflowError:
        f32 = math.inf if f > 0 else -math.inf
    if math.isinf(f32):
        return ".inf" if f32 > 0 else "-.inf"
    if f32 == 0:
        return "-0" if math.copysign(1.0, f32) < 0 else "0"
    for prec in range(1, 10):
        text = f"{f32:.{prec - 1}e}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == f32:
            neg, digits, dp = _shortest_digits(float(text))
            return _format_g(neg, digits, dp)
    return _format_g(*_shortest_digits(f32))  # pragma: no cover - 9 digits always round-trip


def _go_inf_nan(f: float) -> str:
    """How Go's ``strconv`` spells a NaN or an infinity (in encoding/json's error messages)."""
    if f != f:
        return "NaN"
    return "+Inf" if f > 0 else "-Inf"


def _int_text(v: int) -> str:
    """How an integer comes out of the JSON -> YAML round trip."""
    if _INT64_MIN <= v <= _UINT64_MAX:
        return str(v)
    # Too big for int64/uint64: go-yaml reads the JSON digits as a float64, or as a string if that overflows.
    try:
        return format_float(float(v))
    except OverflowError:
        return str(v)


def _float_text(f: float) -> str:
    """How a float64 comes out of encoding/json and then go-yaml's resolver."""
    if f != f or math.isinf(f):
        raise GoYAMLError(f"error marshaling into JSON: json: unsupported value: {_go_inf_nan(f)}")
    if f.is_integer() and abs(f) < 1e21:
        # encoding/json writes this without a fraction or exponent, so go-yaml reads it back as an integer
        # when it fits int64/uint64 (digits beyond the shortest representation are zeros, as Go prints them).
        neg, digits, dp = _shortest_digits(f)
        n = int(digits + "0" * (dp - len(digits))) if digits else 0
        if neg:
            n = -n
        if _INT64_MIN <= n <= _UINT64_MAX:
            return str(n)
    return format_float(f)


# ------------------------------------------------------------------------------------------------------------
# go-yaml v2's resolver (resolve.go), as far as deciding "does this plain text read as something else"


_BOOL_TRUE: Final = frozenset(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"])
_BOOL_FALSE: Final = frozenset(["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"])
_NULLS: Final = frozenset(["", "~", "null", "Null", "NULL"])
_SPECIAL_FLOATS: Final[dict[str, float]] = {
    **dict.fromkeys([".nan", ".NaN", ".NAN"], math.nan),
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], math.inf),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], -math.inf),
}
_MAP_HINT: Final = frozenset("yYnNtTfFoO~")
_NUM_HINT: Final = frozenset("+-0123456789")

_GO_INT_RE: Final = re.compile(r"([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))\Z")
_YAML_FLOAT_RE: Final = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_DOT_FLOAT_RE: Final = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?\Z")
_BASE60_RE: Final = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_TIMESTAMP_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:([Tt ])([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})?)?\Z"
)
_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _go_parse_int(plain: str) -> int | None:
    """``strconv.ParseInt(plain, 0, 64)``, then ``ParseUint`` as go-yaml does; None when both fail."""
    m = _GO_INT_RE.match(plain)
    if m is None:
        return None
    sign, hexd, octd, bind, zoct, dec = m.groups()
    if hexd is not None:
        mag = int(hexd, 16)
    elif octd is not None:
        mag = int(octd, 8)
    elif bind is not None:
        mag = int(bind, 2)
    elif zoct is not None:
        mag = int(zoct, 8)
    else:
        mag = int(dec)
    if sign == "-":
        return -mag if mag <= -_INT64_MIN else None
    if sign == "+":
        return mag if mag <= _INT64_MAX else None  # ParseUint takes no sign
    return mag if mag <= _UINT64_MAX else None


def _underscores_ok(s: str) -> bool:
    """Go's ``strconv`` rule: an underscore only between digits (or after a base prefix)."""
    if s[:1] in ("+", "-"):
        s = s[1:]
    saw = "^"
    i = 0
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1] in "bBoOxX":
        i = 2
        saw = "0"
        hexa = s[1] in "xX"
    while i < len(s):
        c = s[i]
        if c.isascii() and (c.isdigit() or (hexa and c in "abcdefABCDEF")):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
        i += 1
    return saw != "_"


def _go_resolve_plain(s: str) -> int | float | str:
    """go-yaml v2's resolution of an untagged plain scalar that starts with a sign, a digit or a dot.

    Returns the Go value: an int (int64 or uint64 range), a float, or the text itself when it stays a string
    (timestamps included: decoding into ``interface{}`` keeps them as strings).
    """
    special = _SPECIAL_FLOATS.get(s)
    if special is not None:
        return special
    if s[0] == ".":
        if "_" in s:
            if not _underscores_ok(s):
                return s
            s2 = s.replace("_", "")
        else:
            s2 = s
        if _DOT_FLOAT_RE.match(s2):
            f = float(s2)
            if not math.isinf(f):  # Go's ParseFloat reports a range error, so the text stays a string
                return f
        return s
    plain = s.replace("_", "") if "_" in s else s
    n = _go_parse_int(plain)
    if n is not None:
        return n
    if _YAML_FLOAT_RE.match(plain):
        f = float(plain)
        if not math.isinf(f):
            return f
    return s


def _is_go_timestamp(s: str) -> bool:
    """Whether go-yaml's ``parseTimestamp`` accepts the text (Go ``time.Parse`` with its four layouts)."""
    m = _TIMESTAMP_RE.match(s)
    if m is None:
        return False
    year, month, day, sep, hour, minute, sec, zone = m.groups()
    mo = int(month)
    if not 1 <= mo <= 12:
        return False
    y = int(year)
    dim = 29 if mo == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else _DAYS_IN_MONTH[mo]
    if not 1 <= int(day) <= dim:
        return False
    if sep is None:
        return True
    if int(hour) >= 24 or int(minute) >= 60 or int(sec) >= 60:
        return False
    if sep == " ":
        return zone is None
    if zone is None:
        return False
    return zone == "Z" or (int(zone[1:3]) <= 24 and int(zone[4:6]) <= 60)


def _resolves_non_string(s: str) -> bool:
    """True when go-yaml would not read the plain text back as the same string (so it must be quoted)."""
    if not s:
        return True
    c = s[0]
    if c in _MAP_HINT:
        return s in _BOOL_TRUE or s in _BOOL_FALSE or s in _NULLS
    if c == ".":
        return not isinstance(_go_resolve_plain(s), str)
    if c in _NUM_HINT:
        if not isinstance(_go_resolve_plain(s), str):
            return True
        if _is_go_timestamp(s):
            return True
        return ":" in s and _BASE60_RE.match(s) is not None
    return False


# ------------------------------------------------------------------------------------------------------------
# Scalar analysis (yaml_emitter_analyze_scalar + yaml_emitter_select_scalar_style), cached per string

_PLAIN: Final = 0
_SINGLE: Final = 1
_DOUBLE: Final = 2
_LITERAL: Final = 3
_STYLE_MASK: Final = 3
_MULTILINE: Final = 4  # contains a line break: not usable as a simple key
_SORT_FAST: Final = 8  # no digits and only characters whose go-yaml key order equals code point order
_ODD: Final = 16  # must be normalised first (the JSON -> YAML step changes it or fails on it)
_NOT_PLAIN: Final = _STYLE_MASK | _ODD

# libyaml's is_printable: LF, 0x20-0x7E, U+00A0-U+D7FF, U+E000-U+FFFD without the BOM; nothing beyond the BMP.
_NONPRINT: Final = "[^\\n\\x20-\\x7e\\xa0-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd]"
_BREAKS: Final = "\n\r\x85\u2028\u2029"
_BREAK_RE: Final = re.compile(f"[{_BREAKS}]")
_PLAIN_BAD_RE: Final = re.compile(
    "\\A(?:[ #,\\[\\]{}&*!|>'\"%@`]|---|\\.\\.\\.|[?:-](?:[ \\t]|\\Z))"
    "|:(?:[ \\t]|\\Z)|[ \\t\\x00]#| \\Z|[\\u2028\\u2029]|" + _NONPRINT
)
_SINGLE_BAD_RE: Final = re.compile(f"{_NONPRINT}|[{_BREAKS}] | [{_BREAKS}]")
_LITERAL_BAD_RE: Final = re.compile(f"{_NONPRINT}| \\Z| [{_BREAKS}]")
_ODD_RE: Final = re.compile("[\\x7f-\\x9f\\ud800-\\udfff\\ufffe\\uffff]")
_SORT_FAST_RE: Final = re.compile("[ -/:-@A-Za-z]*")
_LITERAL_SLOW_RE: Final = re.compile("[\r\x85\u2028\u2029]")

_info_cache: dict[str, int] = {}
_CACHE_MAX: Final = 20000


def _analyse(s: str) -> int:
    if _ODD_RE.search(s):
        return _ODD
    flags = _SORT_FAST if _SORT_FAST_RE.fullmatch(s) else 0
    if _BREAK_RE.search(s):
        flags |= _MULTILINE
    if "\n" in s:
        # go-yaml asks for a literal block; the emitter uses double quotes when a block can't hold the text.
        return flags | (_DOUBLE if _LITERAL_BAD_RE.search(s) else _LITERAL)
    if _resolves_non_string(s):
        return flags | _DOUBLE
    if not _PLAIN_BAD_RE.search(s):
        return flags | _PLAIN
    return flags | (_DOUBLE if _SINGLE_BAD_RE.search(s) else _SINGLE)


def _string_info(s: str) -> int:
    info = _info_cache.get(s)
    if info is None:
        info = _analyse(s)
        if len(s) <= 512:
            if len(_info_cache) >= _CACHE_MAX:
                _info_cache.clear()
            _info_cache[s] = info
    return info


_NEL_RUN_RE: Final = re.compile(" *\x85(?: *\x85)* *")


def _fold_nel(m: re.Match[str]) -> str:
    n = m.group().count("\x85")
    return " " if n == 1 else "\n" * (n - 1)


def _normalise(s: str) -> str:
    """The string as it comes out of encoding/json and back through go-yaml's parser.

    JSON leaves DEL, C1 controls and U+FFFE/U+FFFF raw, which go-yaml's reader rejects; NEL is left raw
    too and go-yaml folds it like a line break inside a double-quoted scalar. Lone surrogates stand for
    invalid UTF-8, which encoding/json replaces with U+FFFD.
    """
    s = re.sub("[\ud800-\udfff]", "\ufffd", s)
    if re.search("[\x7f-\x84\x86-\x9f\ufffe\uffff]", s):
        raise GoYAMLError("error converting JSON to YAML: yaml: control characters are not allowed")
    if "\x85" in s:
        # Only a raw NEL leaves the scanner at column 0 (JSON escapes every other line break).
        if re.search("\x85(?:---|\\.\\.\\.)[ \x85]", s):
            raise GoYAMLError("error converting JSON to YAML: yaml: found unexpected document indicator")
        s = _NEL_RUN_RE.sub(_fold_nel, s)
    return s


def _prepared(s: str) -> tuple[str, int]:
    info = _string_info(s)
    if info & _ODD:
        s = _normalise(s)
        info = _analyse(s)
    return s, info


_JSON_ESC2_RE: Final = re.compile('["\\\\\\n\\r\\t\\x08\\x0c]')
_JSON_ESC6_RE: Final = re.compile("[\\x00-\\x07\\x0b\\x0e-\\x1f<>&\\u2028\\u2029\\ud800-\\udfff]")


def _check_json_key(k: str) -> None:
    """Reject map keys go-yaml cannot read back from the JSON.

    go-yaml reads each key as a YAML "simple key", which may not span lines (a raw NEL is a line break) nor be
    longer than 1024 characters as JSON spells it.
    """
    if "\x85" in k:
        raise GoYAMLError("error converting JSON to YAML: yaml: line 1: did not find expected ',' or '}'")
    if len(k) * 6 + 2 > 1024:
        n = len(k) + 2 + len(_JSON_ESC2_RE.findall(k)) + 5 * len(_JSON_ESC6_RE.findall(k))
        if n > 1024:
            raise GoYAMLError("error converting JSON to YAML: yaml: did not find expected ',' or '}'")


_ESCAPES: Final = {
    "\x00": "\\0",
    "\x07": "\\a",
    "\x08": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\x0c": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
_DQ_ESCAPE_RE: Final = re.compile(f'{_NONPRINT}|["\\\\{_BREAKS}]')


def _escape_char(c: str) -> str:
    e = _ESCAPES.get(c)
    if e is not None:
        return e
    v = ord(c)
    if v <= 0xFF:
        return f"\\x{v:02X}"
    if v <= 0xFFFF:
        return f"\\u{v:04X}"
    return f"\\U{v:08X}"


def _escape_match(m: re.Match[str]) -> str:
    return _escape_char(m.group())


# ------------------------------------------------------------------------------------------------------------
# Key order (go-yaml v2 sorter.go keyList.Less, for string keys)


def _wrap64(n: int) -> int:
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >> 63 else n


def _key_less(a: str, b: str) -> bool:
    la, lb = len(a), len(b)
    for i in range(min(la, lb)):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < la and a[ai].isdecimal():
            an = _wrap64(an * 10 + ord(a[ai]) - 48)
            ai += 1
        bi = i
        while bi < lb and b[bi].isdecimal():
            bn = _wrap64(bn * 10 + ord(b[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return la < lb


def _key_cmp(a: tuple[str, Any, int], b: tuple[str, Any, int]) -> int:
    # Keys are distinct and go-yaml's Less never calls two distinct strings equal. Where its comparison is not
    # transitive (the leading-zero rule can make cycles like "1_" < "01A" < "0A" < "1_"), Go's own output
    # depends on the random order of Go map iteration, so any order we give is one Go could give.
    return -1 if _key_less(a[0], b[0]) else 1


_KEY_ORDER: Final = cmp_to_key(_key_cmp)


# ------------------------------------------------------------------------------------------------------------
# The emitter


class _Emitter:
    """libyaml's emitter state, driven directly by the value tree instead of by events."""

    __slots__ = ("column", "indent", "indention", "out", "whitespace")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.indent = -1

    # -- primitives ------------------------------------------------------------------------------------------

    def write_indent(self) -> None:
        ind = self.indent if self.indent > 0 else 0
        col = self.column
        if not self.indention or col > ind or (col == ind and not self.whitespace):
            self.out.append("\n")
            col = 0
        if col < ind:
            self.out.append(" " * (ind - col))
            col = ind
        self.column = col
        self.whitespace = True
        self.indention = True

    def indicator(self, text: str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) -> None:
        if need_whitespace and not self.whitespace:
            self.out.append(" ")
            self.column += 1
        self.out.append(text)
        self.column += len(text)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_break(self, c: str) -> None:
        # libyaml writes '\n' as the configured break and any other break character as itself.
        self.out.append(c)
        self.column = 0

    # -- nodes -----------------------------------------------------------------------------------------------

    def node(self, v: Any, mapping_context: bool) -> None:
        if isinstance(v, str):
            info = _info_cache.get(v)
            if info is not None and not info & _NOT_PLAIN and (v.find(" ") < 0 or self.column + len(v) < 80):
                # The common case: a cached plain scalar (style and "odd" bits clear) too short to fold.
                if self.whitespace:
                    self.out.append(v)
                    self.column += len(v)
                else:
                    self.out.append(" " + v)
                    self.column += len(v) + 1
                self.whitespace = False
                self.indention = False
                return
            s, info = _prepared(v)
            self.string(s, info, False)
        elif isinstance(v, Mapping):
            if v:
                self.mapping(v)
            else:
                self.indicator("{", True, True, False)
                self.indicator("}", False, False, False)
        elif isinstance(v, list | tuple):
            if v:
                self.sequence(v, mapping_context)
            else:
                self.indicator("[", True, True, False)
                self.indicator("]", False, False, False)
        elif v is None or v is MISSING:
            self.atom("null")
        elif v is True:
            self.atom("true")
        elif v is False:
            self.atom("false")
        elif isinstance(v, int):
            self.atom(_int_text(int(v)))
        elif isinstance(v, float):
            self.atom(_float_text(v))
        elif isinstance(v, GoObject):
            self.node(v.go_json(), mapping_context)
        else:
            raise GoYAMLError(f"error marshaling into JSON: json: unsupported type: {type(v).__name__}")

    def atom(self, text: str) -> None:
        """A plain scalar that never needs analysis: numbers, booleans, null."""
        if not self.whitespace:
            self.out.append(" ")
            self.column += 1
        self.out.append(text)
        self.column += len(text)
        self.whitespace = False
        self.indention = False

    def mapping(self, m: Mapping[Any, Any]) -> None:
        items: list[tuple[str, Any, int]] = []
        fast = True
        for k, val in m.items():
            if not isinstance(k, str):
                if isinstance(k, int) and not isinstance(k, bool):
                    k = str(int(k))
                else:
                    raise GoYAMLError(f"error marshaling into JSON: json: unsupported type: map[{type(k).__name__}]")
            info = _string_info(k)
            if info & _ODD or len(k) > 170:
                _check_json_key(k)
                k, info = _prepared(k)
            if not info & _SORT_FAST:
                fast = False
            items.append((k, val, info))
        if len(items) > 1:
            items.sort(key=itemgetter(0) if fast else _KEY_ORDER)
        saved = self.indent
        self.indent = 0 if saved < 0 else saved + 2
        out = self.out
        for k, val, info in items:
            # write_indent, inlined: keys are the most frequent thing written.
            ind = self.indent
            if not self.indention or self.column > ind or (self.column == ind and not self.whitespace):
                out.append("\n" + " " * ind if ind else "\n")
            elif self.column < ind:
                out.append(" " * (ind - self.column))
            self.column = ind
            self.whitespace = True
            self.indention = True
            if info & _MULTILINE or (len(k) > 32 and len(k.encode()) > 128):
                # Not a simple key: libyaml writes "? key" and ": value" on their own lines.
                self.indicator("?", True, False, True)
                self.string(k, info, False)
                self.write_indent()
                self.indicator(":", True, False, True)
            else:
                if info & _STYLE_MASK == _PLAIN:
                    # write_indent left whitespace set, so a simple plain key is written as is.
                    out.append(k)
                    out.append(":")
                    self.column += len(k) + 1
                    self.whitespace = False
                    self.indention = False
                else:
                    self.string(k, info, True)
                    self.indicator(":", False, False, False)
            self.node(val, True)
        self.indent = saved

    def sequence(self, items: Iterable[Any], mapping_context: bool) -> None:
        saved = self.indent
        if saved < 0:
            self.indent = 0
        elif not (mapping_context and not self.indention):
            self.indent = saved + 2
        for item in items:
            self.write_indent()
            self.indicator("-", True, False, True)
            self.node(item, False)
        self.indent = saved

    def string(self, s: str, info: int, simple_key: bool) -> None:
        saved = self.indent
        self.indent = 2 if saved < 0 else saved + 2
        style = info & _STYLE_MASK
        if style == _PLAIN:
            self.plain(s, not simple_key)
        elif style == _DOUBLE:
            self.double_quoted(s, not simple_key)
        elif style == _SINGLE:
            self.single_quoted(s, not simple_key)
        else:
            self.literal(s)
        self.indent = saved

    # -- scalar writers --------------------------------------------------------------------------------------

    def plain(self, s: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.out.append(" ")
            self.column += 1
        if allow_breaks and self.column + s.rfind(" ") > 80:
            self._plain_folded(s)
        else:
            self.out.append(s)
            self.column += len(s)
        self.whitespace = False
        self.indention = False

    def _plain_folded(self, s: str) -> None:
        n = len(s)
        i = 0
        spaces = False
        while i < n:
            if s[i] == " ":
                if not spaces and self.column > 80 and s[i + 1] != " ":
                    self.write_indent()
                else:
                    self.out.append(" ")
                    self.column += 1
                spaces = True
                i += 1
            else:
                j = s.find(" ", i)
                if j < 0:
                    j = n
                self.out.append(s[i:j])
                self.column += j - i
                self.indention = False
                spaces = False
                i = j

    def single_quoted(self, s: str, allow_breaks: bool) -> None:
        self.indicator("'", True, False, False)
        esc = s.replace("'", "''")
        if (not allow_breaks or self.column + esc.rfind(" ") <= 80) and not _BREAK_RE.search(s):
            self.out.append(esc)
            self.column += len(esc)
        else:
            self._single_slow(s, allow_breaks)
        self.indicator("'", False, False, False)
        self.whitespace = False
        self.indention = False

    def _single_slow(self, s: str, allow_breaks: bool) -> None:
        n = len(s)
        spaces = breaks = False
        for i, c in enumerate(s):
            if c == " ":
                if allow_breaks and not spaces and self.column > 80 and 0 < i < n - 1 and s[i + 1] != " ":
                    self.write_indent()
                else:
                    self.out.append(" ")
                    self.column += 1
                spaces = True
            elif c in _BREAKS:
                if not breaks and c == "\n":
                    self.put_break()
                self.write_break(c)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                if c == "'":
                    self.out.append("'")
                    self.column += 1
                self.out.append(c)
                self.column += 1
                self.indention = False
                spaces = breaks = False

    def double_quoted(self, s: str, allow_breaks: bool) -> None:
        self.indicator('"', True, False, False)
        if s[:1] == "\ufeff":
            # libyaml's is_bom() looks at the start of the value, not at the current character: every
            # character of a value that starts with a BOM is escaped.
            esc = "".join(map(_escape_char, s))
            self.out.append(esc)
            self.column += len(esc)
        else:
            esc = _DQ_ESCAPE_RE.sub(_escape_match, s)
            if not allow_breaks or self.column + esc.rfind(" ") <= 80:
                self.out.append(esc)
                self.column += len(esc)
            else:
                self._double_slow(s)
        self.indicator('"', False, False, False)
        self.whitespace = False
        self.indention = False

    def _double_slow(self, s: str) -> None:
        n = len(s)
        spaces = False
        for i, c in enumerate(s):
            if c == " ":
                if not spaces and self.column > 80 and 0 < i < n - 1:
                    self.write_indent()
                    if s[i + 1] == " ":
                        self.out.append("\\")
                        self.column += 1
                else:
                    self.out.append(" ")
                    self.column += 1
                spaces = True
            else:
                if _DQ_ESCAPE_RE.match(c):
                    c = _escape_char(c)
                self.out.append(c)
                self.column += len(c)
                spaces = False

    def literal(self, s: str) -> None:
        self.indicator("|", True, False, False)
        if s[0] == " " or s[0] in _BREAKS:
            self.indicator("2", False, False, False)
        if s[-1] not in _BREAKS:
            self.indicator("-", False, False, False)
        elif len(s) == 1 or s[-2] in _BREAKS:
            self.indicator("+", False, False, False)
        self.put_break()
        self.indention = True
        self.whitespace = True
        if _LITERAL_SLOW_RE.search(s):
            self._literal_slow(s)
            return
        pad = " " * self.indent
        lines = s.split("\n")
        self.out.append("\n".join([pad + line if line else "" for line in lines]))
        last = lines[-1]
        if last:
            self.column = self.indent + len(last)
            self.indention = False
        else:
            self.column = 0

    def _literal_slow(self, s: str) -> None:
        breaks = True
        for c in s:
            if c in _BREAKS:
                self.write_break(c)
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.out.append(c)
                self.column += 1
                self.indention = False
                breaks = False


def marshal(value: Any) -> str:
    """The YAML text ``sigs.k8s.io/yaml.Marshal(value)`` produces, byte for byte.

    Raises :class:`GoYAMLError` where Go returns an error (NaN/Inf numbers, characters go-yaml rejects).
    """
    em = _Emitter()
    em.node(value, False)
    em.indent = -1
    em.write_indent()
    return "".join(em.out)


def marshal_documents(values: Iterable[Any], separator: str = "---\n") -> str:
    """Several values marshalled one after another, each followed by ``separator`` (as kube-inject writes)."""
    return "".join(marshal(v) + separator for v in values)


# ------------------------------------------------------------------------------------------------------------
# Reading


_STR_TAG: Final = "tag:yaml.org,2002:str"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_GONUM_TAG: Final = "tag:meshinject,go:number"


class _GoLoaderBase(yaml.CSafeLoader):
    """libyaml's parser with go-yaml v2's scalar resolution instead of PyYAML's YAML 1.1 one."""

    json_numbers: ClassVar[bool] = False

    def construct_go_number(self, node: ScalarNode) -> Any:
        r = _go_resolve_plain(node.value)
        if self.json_numbers and not isinstance(r, str):
            f = float(r)
            if f != f or math.isinf(f):
                raise GoYAMLError(f"error converting YAML to JSON: json: unsupported value: {_go_inf_nan(f)}")
            return f
        return r

    def construct_go_bool(self, node: ScalarNode) -> bool:
        return node.value in _BOOL_TRUE

    def construct_go_str(self, node: Node) -> str:
        return str(node.value)

    def construct_go_binary(self, node: ScalarNode) -> str:
        raw = self.construct_yaml_binary(node)
        return raw.decode("utf-8", "replace")

    def construct_go_int(self, node: ScalarNode) -> Any:
        v = self.construct_yaml_int(node)
        return float(v) if self.json_numbers else v

    def construct_go_float(self, node: ScalarNode) -> Any:
        v = self.construct_yaml_float(node)
        if self.json_numbers and (v != v or math.isinf(v)):
            raise GoYAMLError(f"error converting YAML to JSON: json: unsupported value: {_go_inf_nan(v)}")
        return v

    def construct_go_unknown(self, node: Node) -> Any:
        # go-yaml ignores tags it does not know: the node decodes as if untagged.
        if isinstance(node, ScalarNode):
            return node.value
        if isinstance(node, SequenceNode):
            return self.construct_go_seq_now(node)
        assert isinstance(node, MappingNode)
        return self.construct_go_map_now(node)

    def construct_go_seq_now(self, node: SequenceNode) -> list[Any]:
        return [self.construct_object(child, deep=True) for child in node.value]

    def construct_go_map_now(self, node: MappingNode) -> dict[str, Any]:
        data: dict[str, Any] = {}
        self.fill_go_map(node, data)
        return data

    def construct_go_map(self, node: MappingNode) -> Iterator[dict[str, Any]]:
        data: dict[str, Any] = {}
        yield data
        self.fill_go_map(node, data)

    def fill_go_map(self, node: MappingNode, data: dict[str, Any]) -> None:
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                # go-yaml merges in document order, so a key set before "<<" is overwritten by the merge.
                self.go_merge(value_node, data)
                continue
            key = self.go_key(key_node)
            data[key] = self.construct_object(value_node, deep=False)

    def go_merge(self, node: Node, data: dict[str, Any]) -> None:
        if isinstance(node, MappingNode):
            data.update(self.construct_go_map_now(node))
        elif isinstance(node, SequenceNode):
            for child in reversed(node.value):
                if not isinstance(child, MappingNode):
                    raise GoYAMLError(
                        "error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
                    )
                data.update(self.construct_go_map_now(child))
        else:
            raise GoYAMLError(
                "error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
            )

    def go_key(self, node: Node) -> str:
        """A map key as sigs.k8s.io/yaml turns it into a JSON object key (from go-yaml's typed value)."""
        if not isinstance(node, ScalarNode):
            raise GoYAMLError("error converting YAML to JSON: yaml: invalid map key")
        key: Any
        if node.tag == _GONUM_TAG:
            key = _go_resolve_plain(node.value)
        elif node.tag == "tag:yaml.org,2002:int":
            key = self.construct_yaml_int(node)
        elif node.tag == "tag:yaml.org,2002:float":
            key = self.construct_yaml_float(node)
        else:
            key = self.construct_object(node, deep=True)
        if isinstance(key, str):
            return key
        if isinstance(key, bool):
            return "true" if key else "false"
        if isinstance(key, int):
            if _INT64_MIN <= key <= _INT64_MAX:
                return str(key)
            raise GoYAMLError(f"error converting YAML to JSON: Unsupported map key of type: uint64, key: {key}")
        if isinstance(key, float):
            return _format_float32(key)
        if key is None:
            raise GoYAMLError("error converting YAML to JSON: Unsupported map key of type: <nil>")
        raise GoYAMLError(f"error converting YAML to JSON: Unsupported map key of type: {type(key).__name__}")


def _setup_loader(cls: type[_GoLoaderBase]) -> None:
    cls.yaml_implicit_resolvers = {}
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile("(?:" + "|".join(sorted(_BOOL_TRUE | _BOOL_FALSE)) + ")\\Z"),
        list("yYnNtTfFoO"),
    )
    cls.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"(?:~|null|Null|NULL|)\Z"), ["~", "n", "N", ""])
    cls.add_implicit_resolver(_GONUM_TAG, re.compile(r"[-+0-9.]"), list("-+0123456789."))
    cls.add_implicit_resolver(_MERGE_TAG, re.compile(r"<<\Z"), ["<"])
    cls.add_constructor(_GONUM_TAG, cls.construct_go_number)
    cls.add_constructor("tag:yaml.org,2002:bool", cls.construct_go_bool)
    cls.add_constructor("tag:yaml.org,2002:int", cls.construct_go_int)
    cls.add_constructor("tag:yaml.org,2002:float", cls.construct_go_float)
    cls.add_constructor("tag:yaml.org,2002:timestamp", cls.construct_go_str)
    cls.add_constructor("tag:yaml.org,2002:binary", cls.construct_go_binary)
    cls.add_constructor("tag:yaml.org,2002:map", cls.construct_go_map)
    cls.add_constructor("tag:yaml.org,2002:omap", cls.construct_go_seq_now)
    cls.add_constructor("tag:yaml.org,2002:pairs", cls.construct_go_seq_now)
    cls.add_constructor("tag:yaml.org,2002:set", cls.construct_go_map)
    cls.add_constructor(_MERGE_TAG, cls.construct_go_str)
    cls.add_constructor(None, cls.construct_go_unknown)


class _TypedLoader(_GoLoaderBase):
    json_numbers = False


class _JSONLoader(_GoLoaderBase):
    json_numbers = True


_setup_loader(_TypedLoader)
_setup_loader(_JSONLoader)


def _unshare(v: Any, seen: set[int]) -> Any:
    """Copies of containers that appear more than once (PyYAML shares one object between an anchor and its
    aliases; go-yaml decodes each alias into values of its own)."""
    if isinstance(v, dict):
        if id(v) in seen:
            return copy.deepcopy(v)
        seen.add(id(v))
        for k, x in v.items():
            if isinstance(x, dict | list):
                v[k] = _unshare(x, seen)
    elif isinstance(v, list):
        if id(v) in seen:
            return copy.deepcopy(v)
        seen.add(id(v))
        for i, x in enumerate(v):
            if isinstance(x, dict | list):
                v[i] = _unshare(x, seen)
    return v


def _load_first(text: str | bytes, loader_cls: type[_GoLoaderBase]) -> Any:
    loader = loader_cls(text)
    try:
        # go-yaml's Unmarshal decodes the first document and ignores the rest of the stream.
        data = loader.get_data() if loader.check_node() else None
    except GoYAMLError:
        raise
    except (yaml.YAMLError, ValueError) as exc:
        raise GoYAMLError(f"error converting YAML to JSON: yaml: {exc}") from exc
    finally:
        loader.dispose()
    # Without a "*" there is no alias, so nothing can be shared.
    if isinstance(data, dict | list) and ("*" in text if isinstance(text, str) else b"*" in text):
        data = _unshare(data, set())
    return data


def unmarshal(text: str | bytes) -> Any:
    """``sigs.k8s.io/yaml.Unmarshal`` into ``interface{}``: first document, float numbers, string keys."""
    return _load_first(text, _JSONLoader)


def load_preserving_types(text: str | bytes) -> Any:
    """The first document as go-yaml v2 types it (int, float, str, bool, None; timestamps as strings).

    Keys are converted to strings as sigs.k8s.io/yaml does. Marshalling the result gives back go-yaml's output
    for data that go-yaml wrote.
    """
    return _load_first(text, _TypedLoader)
