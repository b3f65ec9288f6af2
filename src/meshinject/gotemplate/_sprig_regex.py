"""Go ``regexp`` (RE2 syntax) on top of Python's ``re``.

Patterns are parsed with Go's grammar (so Go's syntax errors come out with Go's messages, and Perl features
RE2 lacks are rejected), then rewritten into an equivalent Python pattern in which every flag-dependent
construct is explicit: ``\\w``/``\\d``/``\\s``/``\\b`` are ASCII, ``$`` without ``(?m)`` is the end of the
text, flags set mid-group keep Go's scope. The ``All`` operations follow Go's rules for empty matches.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from meshinject.gotemplate.funcs import go_func

_MAX_RUNE = 0x10FFFF

# Go parser flags
_FOLD = 1
_DOTNL = 2
_ONELINE = 4
_NONGREEDY = 8


class GoRegexError(ValueError):
    """A Go regexp syntax error; ``str()`` is Go's message."""

    def __init__(self, code: str, expr: str) -> None:
        super().__init__(f"error parsing regexp: {code}: `{expr}`")


Ranges = list[tuple[int, int]]


def _clean(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _negate(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _clean(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_RUNE:
        out.append((nxt, _MAX_RUNE))
    return out


_PERL_GROUPS: dict[str, Ranges] = {
    "d": [(0x30, 0x39)],
    "s": [(0x09, 0x0A), (0x0C, 0x0D), (0x20, 0x20)],
    "w": [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)],
}

_POSIX_GROUPS: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0x00, 0x7F)],
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)],
    "graph": [(0x21, 0x7E)],
    "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)],
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(0x09, 0x0D), (0x20, 0x20)],
    "upper": [(0x41, 0x5A)],
    "word": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A), (0x5F, 0x5F)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}

_CATEGORIES = frozenset(
    ["C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl",
     "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs"]
)  # fmt: skip


@functools.lru_cache(maxsize=64)
def _category_ranges(name: str) -> tuple[tuple[int, int], ...]:
    """Code point ranges of a Unicode general category (one letter = the whole major class)."""
    out: Ranges = []
    start = -1
    for cp in range(_MAX_RUNE + 2):
        hit = False
        if cp <= _MAX_RUNE:
            cat = unicodedata.category(chr(cp))
            hit = cat == name or (len(name) == 1 and cat[0] == name and cat != "Cn")
        if hit and start < 0:
            start = cp
        elif not hit and start >= 0:
            out.append((start, cp - 1))
            start = -1
    return tuple(out)


@functools.lru_cache(maxsize=16)
def _script_ranges(name: str) -> tuple[tuple[int, int], ...]:
    """An approximation of a Unicode script (Python has no script property): the characters whose names
    carry the script's name (``GREEK SMALL LETTER ALPHA``), CJK ideographs for Han. The catch-all scripts
    (Common, Inherited) have no such marker and are not supported."""
    if not name.isascii() or not name.replace("_", "").isalpha() or name in ("Common", "Inherited", "Zyyy"):
        return ()
    word = name.upper().replace("_", " ")
    han = word == "HAN"
    out: Ranges = []
    for cp in range(_MAX_RUNE + 1):
        char_name = unicodedata.name(chr(cp), "")
        if not char_name:
            continue
        if han:
            hit = char_name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "KANGXI RADICAL"))
        else:
            hit = char_name.startswith(word + " ") or f" {word} " in char_name
        if hit:
            if out and out[-1][1] == cp - 1:
                out[-1] = (out[-1][0], cp)
            else:
                out.append((cp, cp))
    return tuple(out)


@dataclass
class _Node:
    kind: str  # lit, class, any, assert, group, concat, alt, repeat, empty
    flags: int = 0
    char: str = ""
    ranges: Ranges = field(default_factory=list)
    what: str = ""
    cap: int = 0
    subs: list[_Node] = field(default_factory=list)
    min: int = 0
    max: int = 0


@dataclass
class _Frame:
    flags: int
    cap: int
    alts: list[list[_Node]] = field(default_factory=list)
    items: list[_Node] = field(default_factory=list)


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.whole = pattern
        self.flags = _ONELINE
        self.ncap = 0
        self.names: list[str] = [""]
        self.stack: list[_Frame] = [_Frame(self.flags, -1)]

    # --- parsing -------------------------------------------------------------------------------------------

    def parse(self) -> _Node:
        t = self.whole
        last_repeat = ""
        while t:
            repeat = ""
            c = t[0]
            if c == "(":
                if t.startswith("(?"):
                    t = self._perl_flags(t)
                else:
                    self._open(capture=True)
                    t = t[1:]
            elif c == "|":
                top = self.stack[-1]
                top.alts.append(top.items)
                top.items = []
                t = t[1:]
            elif c == ")":
                self._close()
                t = t[1:]
            elif c == "^":
                self._push(_Node("assert", what="bot" if self.flags & _ONELINE else "bol"))
                t = t[1:]
            elif c == "$":
                self._push(_Node("assert", what="eot" if self.flags & _ONELINE else "eol"))
                t = t[1:]
            elif c == ".":
                self._push(_Node("any", flags=self.flags))
                t = t[1:]
            elif c == "[":
                t = self._class(t)
            elif c in "*+?":
                before = t
                lo, hi = {"*": (0, -1), "+": (1, -1), "?": (0, 1)}[c]
                t = self._repeat(lo, hi, before, t[1:], last_repeat)
                repeat = before
            elif c == "{":
                before = t
                parsed = self._parse_repeat(t)
                if parsed is None:
                    self._lit("{")
                    t = t[1:]
                else:
                    lo, hi, after = parsed
                    if lo < 0 or lo > 1000 or hi > 1000 or (hi >= 0 and lo > hi):
                        raise GoRegexError("invalid repeat count", before[: len(before) - len(after)])
                    t = self._repeat(lo, hi, before, after, last_repeat, counted=True)
                    repeat = before
            elif c == "\\":
                t = self._backslash(t)
            else:
                self._lit(c)
                t = t[1:]
            last_repeat = repeat
        if len(self.stack) != 1:
            raise GoRegexError("missing closing )", self.whole)
        return self._finish(self.stack[0])

    def _push(self, node: _Node) -> None:
        self.stack[-1].items.append(node)

    def _lit(self, c: str) -> None:
        self._push(_Node("lit", flags=self.flags, char=c))

    def _open(self, *, capture: bool, name: str = "") -> None:
        cap = 0
        if capture:
            self.ncap += 1
            cap = self.ncap
            self.names.append(name)
        self.stack.append(_Frame(self.flags, cap))

    def _finish(self, frame: _Frame) -> _Node:
        alts = [*frame.alts, frame.items]
        branches = [_Node("concat", subs=items) for items in alts]
        return branches[0] if len(branches) == 1 else _Node("alt", subs=branches)

    def _close(self) -> None:
        if len(self.stack) < 2:
            raise GoRegexError("unexpected )", self.whole)
        frame = self.stack.pop()
        self.flags = frame.flags
        body = self._finish(frame)
        self._push(_Node("group", cap=frame.cap, subs=[body]))

    def _perl_flags(self, s: str) -> str:
        t = s
        starts_p = len(t) > 4 and t[2] == "P" and t[3] == "<"
        starts_name = len(t) > 3 and t[2] == "<"
        if starts_p or starts_name:
            start = 4 if starts_p else 3
            end = t.find(">")
            if end < 0:
                raise GoRegexError("invalid named capture", s)
            name = t[start:end]
            if not name or not all(c == "_" or (c.isascii() and c.isalnum()) for c in name):
                raise GoRegexError("invalid named capture", t[: end + 1])
            self._open(capture=True, name=name)
            return t[end + 1 :]
        t = t[2:]
        flags = self.flags
        negate = False
        saw_flag = False
        while t:
            c, t = t[0], t[1:]
            if c in "imsU":
                bit = {"i": _FOLD, "m": _ONELINE, "s": _DOTNL, "U": _NONGREEDY}[c]
                # (?m) clears "one line"; the others set their bit; a leading '-' inverts both
                if (c == "m") != negate:
                    flags &= ~bit
                else:
                    flags |= bit
                saw_flag = True
            elif c == "-":
                if negate:
                    break
                negate = True
                saw_flag = False
            elif c in ":)":
                if negate and not saw_flag:
                    break
                if c == ":":
                    self._open(capture=False)
                self.flags = flags
                return t
            else:
                break
        raise GoRegexError("invalid or unsupported Perl syntax", s[: len(s) - len(t)])

    def _repeat(self, lo: int, hi: int, before: str, after: str, last: str, counted: bool = False) -> str:
        greedy = not (self.flags & _NONGREEDY)
        if after.startswith("?"):
            after = after[1:]
            greedy = not greedy
        if last:
            raise GoRegexError("invalid nested repetition operator", last[: len(last) - len(after)])
        items = self.stack[-1].items
        if not items:
            raise GoRegexError("missing argument to repetition operator", before[: len(before) - len(after)])
        node = _Node("repeat", subs=[items[-1]], min=lo, max=hi, flags=0 if greedy else _NONGREEDY)
        items[-1] = node
        if counted and (lo >= 2 or hi >= 2) and not _repeat_ok(node, 1000):
            raise GoRegexError("invalid repeat count", before[: len(before) - len(after)])
        return after

    @staticmethod
    def _parse_int(s: str) -> tuple[int, str] | None:
        if not s or not "0" <= s[0] <= "9":
            return None
        if len(s) >= 2 and s[0] == "0" and "0" <= s[1] <= "9":
            return None
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        digits = s[:i]
        n = int(digits) if len(digits) <= 8 else -1
        return n, s[i:]

    def _parse_repeat(self, s: str) -> tuple[int, int, str] | None:
        s = s[1:]
        got = self._parse_int(s)
        if got is None:
            return None
        lo, s = got
        if not s:
            return None
        if s[0] != ",":
            hi = lo
        else:
            s = s[1:]
            if not s:
                return None
            if s[0] == "}":
                hi = -1
            else:
                got = self._parse_int(s)
                if got is None:
                    return None
                hi, s = got
                if hi < 0:
                    lo = -1
        if not s or s[0] != "}":
            return None
        return lo, hi, s[1:]

    def _backslash(self, t: str) -> str:
        if len(t) >= 2:
            c = t[1]
            simple = {"A": "bot", "z": "eot", "b": "wordb", "B": "nowordb"}
            if c in simple:
                self._push(_Node("assert", what=simple[c]))
                return t[2:]
            if c == "C":
                raise GoRegexError("invalid escape sequence", t[:2])
            if c == "Q":
                lit, _, rest = t[2:].partition("\\E")
                for ch in lit:
                    self._lit(ch)
                return rest
            if c in "pP":
                ranges, rest = self._unicode_class(t)
                self._push(_Node("class", flags=self.flags, ranges=ranges))
                return rest
            if c.lower() in _PERL_GROUPS:
                ranges = _PERL_GROUPS[c.lower()]
                self._push(_Node("class", flags=self.flags, ranges=_negate(ranges) if c.isupper() else ranges))
                return t[2:]
        ch, rest = self._escape(t)
        self._lit(ch)
        return rest

    def _escape(self, s: str) -> tuple[str, str]:
        t = s[1:]
        if not t:
            raise GoRegexError("trailing backslash at end of expression", "")
        c, t = t[0], t[1:]
        if c < "\x80" and not c.isalnum():
            return c, t
        if c in "1234567" and (not t or not "0" <= t[0] <= "7"):
            pass  # a back-reference: unsupported
        elif c in "01234567":
            r = ord(c) - 48
            for _ in range(2):
                if not t or not "0" <= t[0] <= "7":
                    break
                r = r * 8 + ord(t[0]) - 48
                t = t[1:]
            return chr(r), t
        elif c == "x" and t:
            c, t = t[0], t[1:]
            if c == "{":
                value, nhex = 0, 0
                while t:
                    c, t = t[0], t[1:]
                    if c == "}":
                        if nhex:
                            return chr(value), t
                        break
                    digit = _unhex(c)
                    if digit < 0:
                        break
                    value = value * 16 + digit
                    if value > _MAX_RUNE:
                        break
                    nhex += 1
            else:
                hi = _unhex(c)
                c, t = (t[0], t[1:]) if t else ("", t)
                lo = _unhex(c)
                if hi >= 0 and lo >= 0:
                    return chr(hi * 16 + lo), t
        elif c in "afnrtv":
            return {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}[c], t
        raise GoRegexError("invalid escape sequence", s[: len(s) - len(t)])

    def _unicode_class(self, s: str) -> tuple[Ranges, str]:
        negate = s[1] == "P"
        t = s[2:]
        if not t:
            raise GoRegexError("invalid character class range", s)
        if t[0] != "{":
            seq, rest, name = s[:3], s[3:], s[2]
        else:
            end = s.find("}")
            if end < 0:
                raise GoRegexError("invalid character class range", s)
            seq, rest, name = s[: end + 1], s[end + 1 :], s[3:end]
        if name.startswith("^"):
            negate = not negate
            name = name[1:]
        if name == "Any":
            ranges: Ranges = [(0, _MAX_RUNE)]
        elif name in _CATEGORIES:
            ranges = list(_category_ranges(name))
        else:
            ranges = list(_script_ranges(name))
            if not ranges:
                raise GoRegexError("invalid character class range", seq)
        return (_negate(ranges) if negate else ranges), rest

    def _class(self, s: str) -> str:
        t = s[1:]
        negate = False
        if t.startswith("^"):
            negate = True
            t = t[1:]
        ranges: Ranges = []
        first = True
        while not t or t[0] != "]" or first:
            first = False
            if len(t) > 2 and t[0] == "[" and t[1] == ":":
                i = t.find(":]", 2)
                if i >= 0:
                    name = t[: i + 2]
                    inner = name[2:-2]
                    neg = inner.startswith("^")
                    group = _POSIX_GROUPS.get(inner[1:] if neg else inner)
                    if group is None:
                        raise GoRegexError("invalid character class range", name)
                    ranges += _negate(group) if neg else group
                    t = t[i + 2 :]
                    continue
            if len(t) >= 2 and t[0] == "\\" and t[1] in "pP":
                got, t = self._unicode_class(t)
                ranges += got
                continue
            if len(t) >= 2 and t[0] == "\\" and t[1].lower() in _PERL_GROUPS:
                group = _PERL_GROUPS[t[1].lower()]
                ranges += _negate(group) if t[1].isupper() else group
                t = t[2:]
                continue
            rng = t
            lo, t = self._class_char(t, s)
            hi = lo
            if len(t) >= 2 and t[0] == "-" and t[1] != "]":
                hi, t = self._class_char(t[1:], s)
                if hi < lo:
                    raise GoRegexError("invalid character class range", rng[: len(rng) - len(t)])
            ranges.append((ord(lo), ord(hi)))
        t = t[1:]
        self._push(_Node("class", flags=self.flags, ranges=_clean(ranges), what="neg" if negate else ""))
        return t

    def _class_char(self, s: str, whole: str) -> tuple[str, str]:
        if not s:
            raise GoRegexError("missing closing ]", whole)
        if s[0] == "\\":
            return self._escape(s)
        return s[0], s[1:]


def _unhex(c: str) -> int:
    return int(c, 16) if c and c in "0123456789abcdefABCDEF" else -1


def _repeat_ok(node: _Node, n: int) -> bool:
    if node.kind == "repeat":
        m = node.max
        if m == 0:
            return True
        if m < 0:
            m = node.min
        if m > n:
            return False
        if m > 0:
            n //= m
    return all(_repeat_ok(sub, n) for sub in node.subs)


# --- rendering as a Python pattern --------------------------------------------------------------------------


def _char(cp: int) -> str:
    c = chr(cp)
    if c.isascii() and c.isalnum():
        return c
    return f"\\U{cp:08x}" if cp > 0xFFFF else f"\\u{cp:04x}"


def _class_body(ranges: Ranges) -> str:
    parts = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(_char(lo))
        elif hi == lo + 1:
            parts.append(_char(lo) + _char(hi))
        else:
            parts.append(f"{_char(lo)}-{_char(hi)}")
    return "".join(parts)


_ASSERTS = {
    "bot": r"\A",
    "eot": r"\Z",
    "bol": r"(?m:^)",
    "eol": r"(?m:$)",
    "wordb": r"(?a:\b)",
    "nowordb": r"(?a:\B)",
}


def _render(node: _Node) -> str:
    k = node.kind
    if k == "lit":
        text = re.escape(node.char) if node.char.isascii() else _char(ord(node.char))
        if node.flags & _FOLD and node.char.lower() != node.char.upper():
            return f"(?i:{text})"
        return text
    if k == "class":
        ranges = node.ranges
        negate = node.what == "neg"
        if not ranges:
            return "(?s:.)" if negate else "(?!)"
        body = f"[{'^' if negate else ''}{_class_body(ranges)}]"
        return f"(?i:{body})" if node.flags & _FOLD else body
    if k == "any":
        return "(?s:.)" if node.flags & _DOTNL else "[^\\n]"
    if k == "assert":
        return _ASSERTS[node.what]
    if k == "group":
        inner = _render(node.subs[0])
        return f"({inner})" if node.cap else f"(?:{inner})"
    if k == "concat":
        return "".join(_render(s) for s in node.subs)
    if k == "alt":
        return "|".join(_render(s) for s in node.subs)
    if k == "repeat":
        sub = node.subs[0]
        inner = _render(sub)
        if sub.kind in ("concat", "alt", "assert"):
            inner = f"(?:{inner})"
        if (node.min, node.max) == (0, -1):
            q = "*"
        elif (node.min, node.max) == (1, -1):
            q = "+"
        elif (node.min, node.max) == (0, 1):
            q = "?"
        elif node.max == -1:
            q = f"{{{node.min},}}"
        elif node.min == node.max:
            q = f"{{{node.min}}}"
        else:
            q = f"{{{node.min},{node.max}}}"
        return inner + q + ("?" if node.flags & _NONGREEDY else "")
    raise AssertionError(k)  # pragma: no cover


@dataclass(frozen=True)
class GoRegexp:
    """A compiled Go regular expression."""

    expr: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]

    def search(self, s: str, pos: int = 0) -> re.Match[str] | None:
        return self.pattern.search(s, pos)

    def match_string(self, s: str) -> bool:
        return self.pattern.search(s) is not None

    def find_string(self, s: str) -> str:
        m = self.pattern.search(s)
        return m.group(0) if m else ""

    def all_matches(self, s: str, n: int = -1) -> list[re.Match[str]]:
        """Go's ``allMatches``: an empty match right after the previous match is dropped."""
        if n < 0:
            n = len(s) + 1
        out: list[re.Match[str]] = []
        pos, prev_end = 0, -1
        while len(out) < n and pos <= len(s):
            m = self.pattern.search(s, pos)
            if m is None:
                break
            accept = True
            if m.end() == pos:
                if m.start() == prev_end:
                    accept = False
                pos += 1
            else:
                pos = m.end()
            prev_end = m.end()
            if accept:
                out.append(m)
        return out

    def find_all_string(self, s: str, n: int) -> list[str] | None:
        found = [m.group(0) for m in self.all_matches(s, n)]
        return found or None

    def replace_all(self, src: str, repl: Callable[[re.Match[str]], str]) -> str:
        out: list[str] = []
        last_end = 0
        search_pos = 0
        while search_pos <= len(src):
            m = self.pattern.search(src, search_pos)
            if m is None:
                break
            out.append(src[last_end : m.start()])
            if m.end() > last_end or m.start() == 0:
                out.append(repl(m))
            last_end = m.end()
            search_pos = search_pos + 1 if search_pos + 1 > m.end() else m.end()
        out.append(src[last_end:])
        return "".join(out)

    def replace_all_string(self, src: str, template: str) -> str:
        return self.replace_all(src, lambda m: self.expand(template, m))

    def replace_all_literal_string(self, src: str, repl: str) -> str:
        return self.replace_all(src, lambda _m: repl)

    def expand(self, template: str, m: re.Match[str]) -> str:
        """Go's ``$1`` / ``${name}`` expansion (``$$`` is ``$``; unknown groups expand to nothing)."""
        out: list[str] = []
        while template:
            before, sep, after = template.partition("$")
            if not sep:
                break
            out.append(before)
            template = after
            if template.startswith("$"):
                out.append("$")
                template = template[1:]
                continue
            got = _extract(template)
            if got is None:
                out.append("$")
                continue
            name, num, template = got
            if num >= 0:
                if num <= len(self.names) - 1 and m.start(num) >= 0:
                    out.append(m.group(num) or "")
            else:
                for i, gname in enumerate(self.names):
                    if gname == name and m.start(i) >= 0:
                        out.append(m.group(i) or "")
                        break
        out.append(template)
        return "".join(out)

    def split(self, s: str, n: int) -> list[str] | None:
        if n == 0:
            return None
        if self.expr and not s:
            return [""]
        parts: list[str] = []
        beg = end = 0
        for m in self.all_matches(s, n):
            if n > 0 and len(parts) >= n - 1:
                break
            end = m.start()
            if m.end() != 0:
                parts.append(s[beg:end])
            beg = m.end()
        if end != len(s):
            parts.append(s[beg:])
        return parts


def _extract(s: str) -> tuple[str, int, str] | None:
    if not s:
        return None
    brace = s[0] == "{"
    if brace:
        s = s[1:]
    i = 0
    while i < len(s) and (s[i] == "_" or unicodedata.category(s[i])[0] == "L" or unicodedata.category(s[i]) == "Nd"):
        i += 1
    if i == 0:
        return None
    name = s[:i]
    if brace:
        if i >= len(s) or s[i] != "}":
            return None
        i += 1
    num = int(name) if name.isascii() and name.isdigit() and len(name) <= 8 else -1
    if name[0] == "0" and len(name) > 1:
        num = -1
    return name, num, s[i:]


@functools.lru_cache(maxsize=256)
def compile_go(expr: str) -> GoRegexp:
    """``regexp.Compile``; raises :class:`GoRegexError` with Go's message."""
    parser = _Parser(expr)
    tree = parser.parse()
    try:
        pattern = re.compile(_render(tree))
    except re.error as exc:  # pragma: no cover - the rendering only emits what Python accepts
        raise GoRegexError("regexp/syntax: internal error", f"{expr} ({exc})") from None
    except RecursionError:  # pragma: no cover
        raise GoRegexError("expression nests too deeply", expr) from None
    return GoRegexp(expr, pattern, tuple(parser.names))


def must_compile(expr: str) -> GoRegexp:
    """``regexp.MustCompile``: the panic text Go gives for a bad pattern."""
    from meshinject.gotemplate.errors import FuncError

    try:
        return compile_go(expr)
    except GoRegexError as exc:
        raise FuncError(f"regexp: Compile({_backquote(expr)}): {exc}") from None


def _raw_string_ok(c: str) -> bool:
    if c < "\x80":
        return c == "\t" or (" " <= c < "\x7f" and c != "`")
    return c != "\ufeff" and not "\ud800" <= c <= "\udfff"


def _backquote(s: str) -> str:
    """``strconv.Quote`` unless a raw string literal can hold the text (``quote`` in package regexp)."""
    from meshinject.gotemplate._sprig_base import go_quote

    if all(_raw_string_ok(c) for c in s):
        return f"`{s}`"
    return go_quote(s)


def quote_meta(s: str) -> str:
    """``regexp.QuoteMeta``."""
    special = set("\\.+*?()|[]{}^$")
    return "".join("\\" + c if c in special else c for c in s)


# --- Sprig's regex functions --------------------------------------------------------------------------------


def _str_slice(items: list[str] | None) -> Any:
    from meshinject.gotemplate._sprig_base import GoSlice

    if items is None:
        return GoSlice((), "[]string", nil=True)
    return GoSlice(items, "[]string")


def _compile_or_error(expr: str) -> GoRegexp:
    from meshinject.gotemplate.errors import FuncError

    try:
        return compile_go(expr)
    except GoRegexError as exc:
        raise FuncError(str(exc)) from None


@go_func("string", "string")
def regex_match(regex: str, s: str) -> bool:
    try:
        return compile_go(regex).match_string(s)
    except GoRegexError:
        return False


@go_func("string", "string")
def must_regex_match(regex: str, s: str) -> bool:
    return _compile_or_error(regex).match_string(s)


@go_func("string", "string", "int")
def regex_find_all(regex: str, s: str, n: int) -> Any:
    return _str_slice(must_compile(regex).find_all_string(s, n))


@go_func("string", "string", "int")
def must_regex_find_all(regex: str, s: str, n: int) -> Any:
    return _str_slice(_compile_or_error(regex).find_all_string(s, n))


@go_func("string", "string")
def regex_find(regex: str, s: str) -> str:
    return must_compile(regex).find_string(s)


@go_func("string", "string")
def must_regex_find(regex: str, s: str) -> str:
    return _compile_or_error(regex).find_string(s)


@go_func("string", "string", "string")
def regex_replace_all(regex: str, s: str, repl: str) -> str:
    return must_compile(regex).replace_all_string(s, repl)


@go_func("string", "string", "string")
def must_regex_replace_all(regex: str, s: str, repl: str) -> str:
    return _compile_or_error(regex).replace_all_string(s, repl)


@go_func("string", "string", "string")
def regex_replace_all_literal(regex: str, s: str, repl: str) -> str:
    return must_compile(regex).replace_all_literal_string(s, repl)


@go_func("string", "string", "string")
def must_regex_replace_all_literal(regex: str, s: str, repl: str) -> str:
    return _compile_or_error(regex).replace_all_literal_string(s, repl)


@go_func("string", "string", "int")
def regex_split(regex: str, s: str, n: int) -> Any:
    return _str_slice(must_compile(regex).split(s, n))


@go_func("string", "string", "int")
def must_regex_split(regex: str, s: str, n: int) -> Any:
    return _str_slice(_compile_or_error(regex).split(s, n))


@go_func("string")
def regex_quote_meta(s: str) -> str:
    return quote_meta(s)
