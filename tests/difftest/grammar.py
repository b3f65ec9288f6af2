"""Hypothesis strategies for Go text/template sources and the JSON data they read.

Templates are generated from the template grammar (text, actions with trim markers, comments, pipelines,
variables, control structures, define/template/block, literals of every kind and the builtin functions),
mostly valid so that execution is exercised, with a small share of deliberate mistakes.
:func:`mutated_templates` adds random damage on top to probe the parser's error paths.

Two guards keep every case cheap for both engines: templates only call templates of lower rank (no recursion),
and data integers are small (no runaway ``range``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]

# Map keys the data uses and the templates read; some are Go keywords or function names, which are still
# valid field names after a dot.
IDENT_KEYS = ("a", "b", "c", "x", "Name", "items", "m", "n", "s", "f", "é", "_k", "A1", "end", "nil", "len")
# Keys only reachable through ``index``.
ODD_KEYS = ("with space", "1x", "", "a-b", "日本")
MISSING_KEYS = ("zz", "Missing")

VARIABLES = ("$x", "$y", "$i", "$v", "$k", "$é", "$_", "$x1")
TEMPLATE_NAMES = ("a", "b", "c", "d")  # rank order: a template may only call names before its own
ROOT_NAME = "t"

FUNCTIONS = (
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println",
    "eq", "ne", "lt", "le", "gt", "ge", "html", "js", "urlquery",
)  # fmt: skip


@functools.cache
def _ints(low: int, high: int) -> st.SearchStrategy[int]:
    # strategies are built once: building and validating one per draw dominated generation time
    return st.integers(low, high)


# ---------------------------------------------------------------------------------------------------------
# data

_STRING_CHUNKS = (
    "a", "b", "xy", " ", "\n", "\t", "é", "世界", "😀", "<b>", "&amp;", "'", '"', "\\", "%d", "%", "{", "}",
    "\x00", "\x7f", "\u2028", "e\u0301", "ß", "İ", "=", "?", "/", "+", "-", "0", "1.5", "true", "<nil>",
)  # fmt: skip

SPECIAL_INTS = (0, 1, -1, 2, 7, 10, 65, 97, 127, 128, 255, 256, 1000, -1000)
SPECIAL_FLOATS = (
    0.0, -0.0, 0.5, -0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 0.1, 1 / 3, 100.0, 1e6, 1e20, 1e21, 1e-4, 1e-5, 1e-7,
    123456789.0, 1234567.125, 2.0**53, 1e100, -2.5, 5e-324, 1.7976931348623157e308,
)  # fmt: skip


def strings() -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(_STRING_CHUNKS), max_size=4).map("".join)


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(-20, 20),
        st.sampled_from(SPECIAL_INTS),
        st.sampled_from(SPECIAL_FLOATS),
        st.floats(allow_nan=False, allow_infinity=False),
        strings(),
        st.booleans(),
        st.none(),
    )


def _keys() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(IDENT_KEYS), st.sampled_from(ODD_KEYS))


def json_values(max_leaves: int = 10) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(_keys(), children, max_size=4),
        ),
        max_leaves=max_leaves,
    )


_JSON_VALUES = json_values()
_SCALARS = scalars()
_TOP_KEYS = st.lists(st.sampled_from(IDENT_KEYS), min_size=2, max_size=9, unique=True)
_ODD_KEY = st.sampled_from(ODD_KEYS)


@st.composite
def json_data(draw: Draw) -> Any:
    """The dot: usually a map holding many of the keys templates read, sometimes any JSON value."""
    kind = draw(_ints(0, 9))
    if kind < 8:
        data = {key: draw(_JSON_VALUES) for key in draw(_TOP_KEYS)}
        if draw(_ints(0, 3)) == 0:
            data[draw(_ODD_KEY)] = draw(_SCALARS)
        return data
    return draw(_JSON_VALUES)


# ---------------------------------------------------------------------------------------------------------
# literals


def _int_text(value: int, style: int) -> str:
    sign = "-" if value < 0 else ""
    mag = abs(value)
    forms = (
        str(mag),
        hex(mag),
        hex(mag).upper().replace("0X", "0x"),
        "0X" + format(mag, "x"),
        "0o" + format(mag, "o"),
        "0" + format(mag, "o"),
        "0b" + format(mag, "b"),
        f"{mag:_}",
        "0x_" + format(mag, "x"),
    )
    return sign + forms[style % len(forms)]


TRICKY_NUMBERS = (
    "0", "-0", "+5", "1_000", "0x_1F", "0b1010", "0B11", "0o17", "0O17", "017", "08", "09.5", "0x1p4",
    "0X1P-2", "1e3", "1E+3", ".5", "5.", "-.5", "1.5e-3", "1__0", "1_", "0x", "0b2", "1e", "1.2.3", "1i",
    "2.5i", "1+2i", "0x7fffffffffffffff", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "18446744073709551615", "18446744073709551616", "1e400", "1e-400",
    "'ab'", "''", "'\\q'", "'\\400'",
)  # fmt: skip
CHAR_LITERALS = (
    "'a'", "'\\n'", "'\\''", "'\"'", "'é'", "'\\x41'", "'\\u263a'", "'\\U0001F600'", "'\\\\'", "'\\101'", "'\\x00'",
)  # fmt: skip

_STRING_LITERAL_PIECES = (
    "a", "b", " ", "é", "世", "😀", "%", "%d", "%v", "<", ">", "&", "'", "\\n", "\\t", "\\\\", '\\"', "\\x41",
    "\\u00e9", "\\U0001F600", "\\101", "\\a", "\\r", "\\x00", "\\xff",
)  # fmt: skip
_BAD_STRING_ESCAPES = ("\\q", "\\'", "\\x4", "\\u12", "\\400", "\\")


def _pick(draw: Draw, options: Sequence[T]) -> T:
    return options[draw(_ints(0, len(options) - 1))]


def _pieces(draw: Draw, options: Sequence[str], most: int, least: int = 0) -> str:
    return "".join(_pick(draw, options) for _ in range(draw(_ints(least, most))))


# The literal generators are plain functions of ``draw`` (the template writer calls them thousands of times;
# wrapping each call in a fresh composite strategy would be slow); the strategies below wrap them.


def string_literal(draw: Draw, *, sloppy: bool = True) -> str:
    if draw(_ints(0, 9)) < 7:
        text = _pieces(draw, _STRING_LITERAL_PIECES, 4)
        if sloppy and draw(_ints(0, 40)) == 0:
            text += _pick(draw, _BAD_STRING_ESCAPES)
        return '"' + text + '"'
    return "`" + _pieces(draw, ("a", " ", "\n", "\\n", '"', "'", "é", "%d", "{", "}"), 4) + "`"


def number_literal(draw: Draw, *, small: bool = False, sloppy: bool = True) -> str:
    kind = draw(_ints(0, 9))
    if small or kind < 5:
        value = draw(_ints(0 if small else -3, 6))
        return _int_text(value, draw(_ints(0, 8)) if draw(_ints(0, 1)) else 0)
    if kind < 7:
        return _int_text(draw(_ints(-(2**63), 2**63 - 1)), draw(_ints(0, 8)))
    if kind < 8 or not sloppy:
        text = repr(_pick(draw, SPECIAL_FLOATS))
        return text.replace("e+", "e") if draw(_ints(0, 1)) else text
    return _pick(draw, TRICKY_NUMBERS + CHAR_LITERALS)


_VERBS = "dsvqxXobcUeEfFgGtT%wz!"  # no %p: addresses differ between runs
_FLAGS = ("", "", "", "-", "+", "#", " ", "0", "-0", "+#")


def printf_format(draw: Draw) -> str:
    """A printf format as a Go string literal: verbs with flags, width, precision and argument indexes."""
    parts: list[str] = []
    for _ in range(draw(_ints(1, 3))):
        if draw(_ints(0, 1)):
            parts.append(_pick(draw, ("a", " ", "|", "é", "x=", "\\n", "<")))
        spec = "%" + _pick(draw, _FLAGS)
        shape = draw(_ints(0, 9))
        if shape == 1:
            spec += str(draw(_ints(1, 12)))
        elif shape == 2:
            spec += "." + str(draw(_ints(0, 5)))
        elif shape == 3:
            spec += f"{draw(_ints(1, 9))}.{draw(_ints(0, 4))}"
        elif shape == 4:
            spec += "*"
        elif shape == 5:
            spec += f"[{draw(_ints(1, 3))}]"
        elif shape == 6:
            spec += ".*"
        parts.append(spec + _pick(draw, _VERBS))
    return '"' + "".join(parts) + '"'


@st.composite
def string_literals(draw: Draw) -> str:
    return string_literal(draw)


@st.composite
def number_literals(draw: Draw) -> str:
    return number_literal(draw)


@st.composite
def printf_formats(draw: Draw) -> str:
    return printf_format(draw)


# ---------------------------------------------------------------------------------------------------------
# templates


@dataclass(frozen=True)
class Scope:
    """Where the generator is: variables in scope, enclosing range, nesting depth and callable templates."""

    variables: tuple[str, ...] = ()
    in_range: bool = False
    range_depth: int = 0
    depth: int = 0
    rank: int = len(TEMPLATE_NAMES)


class _TemplateWriter:
    def __init__(self, draw: Draw, *, sloppy: bool) -> None:
        self.draw = draw
        # sloppy: now and then emit something wrong on purpose (undeclared variable, stray break, bad
        # literal), so that error paths are compared too
        self.sloppy = sloppy
        # names that get a {{define}}, decided up front so that most template calls find their template
        self.defined: tuple[str, ...] = ()
        self.blocks: set[str] = set()

    # small helpers

    def pick(self, options: Sequence[T]) -> T:
        return options[self.draw(_ints(0, len(options) - 1))]

    def chance(self, percent: int) -> bool:
        return bool(self.draw(_ints(0, 99)) < percent)

    def weighted(self, weights: Sequence[int]) -> int:
        roll = self.draw(_ints(0, sum(weights) - 1))
        for index, weight in enumerate(weights):
            if roll < weight:
                return index
            roll -= weight
        raise AssertionError("unreachable")

    def oops(self, percent: int = 2) -> bool:
        return self.sloppy and self.chance(percent)

    def space(self) -> str:
        return self.pick((" ", " ", " ", " ", " ", "  ", "\t", "\n"))

    # text, actions, comments

    def text(self) -> str:
        chunks = ("a", "b", "x", " ", "  ", "\n", "\n\n", "\t", " \n ", "é", "世", "😀", "<p>", "&", "'", '"',
                  "-", "}", "{ ", "%d", "\r\n", ".")  # fmt: skip
        return _pieces(self.draw, chunks, 4, least=1)

    def action(self, content: str) -> str:
        left = self.pick(("{{", "{{", "{{", "{{ ", "{{- ", "{{-\n", "{{-\t"))
        right = self.pick(("}}", "}}", "}}", " }}", " -}}", "\n-}}", " -}}"))
        return left + content + right

    def comment(self) -> str:
        body = self.pick(("", " c ", "/", "*", " }} ", " multi\nline ", " {{ ", "é"))
        left = self.pick(("{{", "{{", "{{- "))
        right = self.pick(("}}", "}}", " -}}"))
        if self.oops(5):
            return self.pick(("{{ /* c */ }}", "{{/* c */ x}}", "{{/* c", "{{/* a */ /* b */}}"))
        return f"{left}/*{body}*/{right}"

    # expressions

    def variable(self, scope: Scope) -> str:
        if self.oops(3) or not scope.variables:
            return "$" if not self.oops(10) else self.pick(VARIABLES)
        return self.pick(("$", *scope.variables, *scope.variables))

    def key(self) -> str:
        roll = self.weighted((12, 2))
        return self.pick(IDENT_KEYS) if roll == 0 else self.pick(MISSING_KEYS)

    def chain(self) -> str:
        return "".join("." + self.key() for _ in range(self.weighted((12, 3, 1)) + 1))

    def literal(self, *, small: bool = False) -> str:
        kind = self.weighted((6, 6, 2, 2, 1, 1))
        if kind == 0:
            return number_literal(self.draw, small=small, sloppy=self.sloppy)
        if kind == 1:
            return string_literal(self.draw, sloppy=self.sloppy)
        if kind == 2:
            return self.pick(("true", "false"))
        if kind == 3:
            return self.pick(CHAR_LITERALS)
        if kind == 4:
            return "nil"
        return printf_format(self.draw)

    def operand(self, scope: Scope, depth: int) -> str:
        """An argument: field chain, variable, literal or parenthesised pipeline."""
        kind = self.weighted((8, 4, 8, 3 if depth < 2 else 0, 1))
        if kind == 0:
            return "." if self.chance(10) else self.chain()
        if kind == 1:
            var = self.variable(scope)
            return var + self.chain() if self.chance(30) else var
        if kind == 2:
            return self.literal()
        if kind == 3:
            inner = "(" + self.pipeline(scope, depth + 1) + ")"
            return inner + self.chain() if self.chance(15) else inner
        # a bare function name as an argument is a call without arguments
        return self.pick(FUNCTIONS if self.sloppy else ("print", "println", "html", "js", "urlquery"))

    def call(self, scope: Scope, depth: int, *, piped: bool) -> str:
        """A builtin function call; ``piped`` calls get the previous command's value as a last argument."""
        name = self.pick(FUNCTIONS)
        if self.oops(2):
            name = self.pick(("nosuch", "call", "Print", "template", "if"))
        args: list[str] = []
        bonus = 1 if piped else 0
        if name == "printf":
            args.append(printf_format(self.draw) if self.chance(85) else self.operand(scope, depth))
            args += [self.operand(scope, depth) for _ in range(self.weighted((2, 4, 3, 1)))]
        elif name == "index":
            if not piped:
                args.append(self.operand(scope, depth))
            args += [self.index_arg(scope, depth) for _ in range(self.weighted((1, 5, 2)))]
        elif name == "slice":
            if not piped:
                args.append(self.operand(scope, depth))
            args += [self.literal(small=True) if self.chance(80) else self.operand(scope, depth)
                     for _ in range(self.weighted((1, 3, 3, 1)))]  # fmt: skip
        elif name in ("len", "not"):
            count = 0 if piped else 1
            if self.oops(10):
                count += self.pick((-1, 1)) if count else 1
            args += [self.operand(scope, depth) for _ in range(count)]
        elif name in ("eq", "ne", "lt", "le", "gt", "ge") and not piped and self.chance(75):
            args += self.comparable_pair(scope, depth)
        elif name in ("eq", "ne", "lt", "le", "gt", "ge"):
            count = 2 - bonus
            if name == "eq" and self.chance(20):
                count = self.pick((1, 3, 4)) - bonus
            elif self.oops(10):
                count += 1
            args += [self.operand(scope, depth) for _ in range(max(count, 0))]
        else:
            count = self.weighted((1, 4, 3, 1)) - bonus
            args += [self.operand(scope, depth) for _ in range(max(count, 0))]
        return " ".join([name, *args]) if not self.chance(5) else self.space().join([name, *args])

    def comparable_pair(self, scope: Scope, depth: int) -> list[str]:
        """Two operands of one kind (numbers, strings, a field and a literal), so that comparisons succeed."""
        kind = self.weighted((3, 3, 3, 1))
        if kind == 0:
            return [number_literal(self.draw, sloppy=False) for _ in range(2)]
        if kind == 1:
            return [string_literal(self.draw, sloppy=False) for _ in range(2)]
        if kind == 2:
            other = number_literal(self.draw, small=True, sloppy=False) if self.chance(60) else '"a"'
            return [self.chain(), other] if self.chance(50) else [other, self.chain()]
        return [self.pick(("true", "false")), self.operand(scope, depth)]

    def index_arg(self, scope: Scope, depth: int) -> str:
        kind = self.weighted((4, 4, 1, 2))
        if kind == 0:
            return number_literal(self.draw, small=True, sloppy=False).lstrip("+")
        if kind == 1:
            return json.dumps(self.pick((*IDENT_KEYS, *ODD_KEYS, *MISSING_KEYS)), ensure_ascii=False)
        if kind == 2:
            return self.pick(("-1", "10", "1.5", "nil", "true"))
        return self.operand(scope, depth)

    def command(self, scope: Scope, depth: int) -> str:
        if self.chance(50):
            return self.operand(scope, depth)
        return self.call(scope, depth, piped=False)

    def pipeline(self, scope: Scope, depth: int = 0) -> str:
        commands = [self.command(scope, depth)]
        while len(commands) < 3 and self.chance(15):
            if self.oops(10):
                commands.append(self.operand(scope, depth))  # not a function: cannot take the piped value
            else:
                commands.append(self.call(scope, depth, piped=True))
        return self.pick((" | ", " | ", "|", " |\n")).join(commands)

    def declaring_pipeline(self, scope: Scope) -> tuple[str, Scope]:
        """A pipeline that may start with ``$var :=`` (the variable is in scope afterwards)."""
        if self.chance(20):
            var = self.pick(VARIABLES)
            return f"{var} := {self.pipeline(scope)}", replace(scope, variables=(*scope.variables, var))
        return self.pipeline(scope), scope

    # nodes

    def nodes(self, scope: Scope, most: int) -> str:
        out: list[str] = []
        for _ in range(self.draw(_ints(0, most))):
            text, scope = self.node(scope)
            out.append(text)
        return "".join(out)

    def node(self, scope: Scope) -> tuple[str, Scope]:
        nested = scope.depth < 3
        weights = (
            5,  # text
            6,  # {{pipeline}}
            1,  # comment
            2,  # declaration
            1 if scope.variables else 0,  # assignment
            2 if nested else 0,  # if
            2 if nested and scope.range_depth < 2 else 0,  # range
            2 if nested else 0,  # with
            2 if self.defined or self.blocks else int(self.sloppy),  # template call
            1 if nested else 0,  # block
            2 if scope.in_range else 0,  # break / continue
            1 if self.sloppy else 0,  # a mistake on purpose
        )
        kind = self.weighted(weights)
        inner = replace(scope, depth=scope.depth + 1)
        if kind == 0:
            return self.text(), scope
        if kind == 1:
            return self.action(self.pipeline(scope)), scope
        if kind == 2:
            return self.comment(), scope
        if kind == 3:
            var = self.pick(VARIABLES)
            return self.action(f"{var} := {self.pipeline(scope)}"), replace(scope, variables=(*scope.variables, var))
        if kind == 4:
            return self.action(f"{self.pick(scope.variables)} = {self.pipeline(scope)}"), scope
        if kind == 5:
            return self.if_node(inner), scope
        if kind == 6:
            return self.range_node(inner), scope
        if kind == 7:
            return self.with_node(inner), scope
        if kind == 8:
            return self.template_call(scope), scope
        if kind == 9:
            return self.block_node(inner), scope
        if kind == 10:
            return self.action(self.pick(("break", "continue"))), scope
        return self.mistake(scope), scope

    def mistake(self, scope: Scope) -> str:
        options = (
            "{{break}}", "{{continue}}", "{{end}}", "{{else}}", "{{$zz}}", "{{$zz = 1}}", "{{.a.}}", "{{..}}",
            "{{define \"q\"}}q{{end}}", "{{template}}", "{{template .a}}", "{{if}}{{end}}",
            "{{range}}{{end}}", "{{with}}{{end}}", "{{(1)}}", "{{()}}", "{{1 2}}", "{{.a 1}}", "{{$ := 1}}",
            "{{$x := }}",
            "{{nil}}", "{{nil 1}}", "{{\"a\" \"b\"}}", "{{.a | 1}}", "{{|}}", "{{-1}}", "{{- -1 -}}",
            "{{$x, $y := 1}}", "{{range $x, $y, $z := .items}}{{end}}", "{{else if 1}}", "{{if 1}}{{else}}",
            "{{if 1}}{{else}}{{else}}{{end}}", "{{if 1}}{{else with 2}}{{end}}",
            "{{with 1}}{{else if 1}}{{end}}",
            "{{block \"a\"}}{{end}}", "{{template \"a\" 1 2}}", "{{range 2}}{{define \"q\"}}{{end}}{{end}}",
            "{{(.a) 1}}", "{{.a.b 1}}", "{{$.a 1}}", "{{print}", "{{print}}}", "{{{print}}", "{{ }}", "{{}}",
            "{{`a}}", "{{\"a}}", "{{'a}}", "{{@}}", "{{.a,.b}}", "{{range $i, $v = .items}}{{end}}",
            "{{and}}", "{{or}}", "{{index}}", "{{slice}}", "{{len}}", "{{not}}", "{{eq}}", "{{lt 1}}",
        )  # fmt: skip
        return self.pick(options)

    def if_node(self, scope: Scope) -> str:
        head, body_scope = self.declaring_pipeline(scope)
        out = self.action("if " + head) + self.nodes(body_scope, 3)
        while self.chance(25):
            out += self.action("else if " + self.pipeline(body_scope)) + self.nodes(body_scope, 2)
        if self.chance(40):
            out += self.action("else") + self.nodes(body_scope, 2)
        return out + self.action("end")

    def with_node(self, scope: Scope) -> str:
        head, body_scope = self.declaring_pipeline(scope)
        out = self.action("with " + head) + self.nodes(body_scope, 3)
        while self.chance(20):
            out += self.action("else with " + self.pipeline(body_scope)) + self.nodes(body_scope, 2)
        if self.chance(35):
            out += self.action("else") + self.nodes(body_scope, 2)
        return out + self.action("end")

    def range_source(self, scope: Scope) -> str:
        kind = self.weighted((12, 3, 6, 4, 3, 1))
        if kind == 0:
            return (
                self.pick(("", ".items", ".m", ".n", ".s", "$")) + self.chain()
                if self.chance(30)
                else (self.pick((".items", ".m", ".n", ".a", ".b", ".x")))
            )
        if kind == 1:
            return "."
        if kind == 2:
            return number_literal(self.draw, small=True, sloppy=False).lstrip("+")
        if kind == 3 and scope.variables:
            return self.pick(scope.variables)
        if kind == 4:
            return f"(slice {self.chain()} {self.pick(('0', '1', '2'))})"
        # a call whose result stays small: an arbitrary pipeline could range over a huge integer literal
        return self.pick(("(len .s)", "(index .items 0)", "(or .a .b)", "(print .n)", "(and .x 2)"))

    def range_node(self, scope: Scope) -> str:
        source = self.range_source(scope)
        names: tuple[str, ...] = ()
        form = self.weighted((4, 3, 4, 1))
        if form == 1:
            names = (self.pick(VARIABLES),)
            head = f"{names[0]} := {source}"
        elif form == 2:
            names = (self.pick(VARIABLES), self.pick(VARIABLES))
            head = f"{names[0]}, {names[1]} := {source}"
        elif form == 3 and len(scope.variables) >= 2:
            head = f"{scope.variables[0]}, {scope.variables[-1]} = {source}"  # Go 1.22 assignment form
        else:
            head = source
        body_scope = replace(
            scope, variables=(*scope.variables, *names), in_range=True, range_depth=scope.range_depth + 1
        )
        out = self.action("range " + head) + self.nodes(body_scope, 3)
        if self.chance(30):
            # the else branch runs outside the loop: no break/continue there
            else_scope = replace(scope, variables=(*scope.variables, *names))
            out += self.action("else") + self.nodes(else_scope, 2)
        return out + self.action("end")

    def template_name(self, rank: int) -> str:
        defined = [name for name in self.defined if TEMPLATE_NAMES.index(name) < rank]
        if defined and self.chance(85):
            return self.pick(defined)
        callable_names = TEMPLATE_NAMES[:rank]
        if not callable_names or self.chance(15):
            return "nope"
        return self.pick(callable_names)

    def template_call(self, scope: Scope) -> str:
        name = json.dumps(self.template_name(scope.rank))
        if self.chance(30):
            return self.action(f"template {name}")
        return self.action(f"template {name} {self.pipeline(scope)}")

    def block_node(self, scope: Scope) -> str:
        # a second non-empty definition of a name is a parse error: only sloppy templates reuse names
        taken = () if self.sloppy else (*self.defined, *self.blocks)
        free = [n for n in TEMPLATE_NAMES[: scope.rank] if n not in taken]
        if not free:
            return self.text()
        name = self.pick(free)
        self.blocks.add(name)
        body = self.nodes(Scope(rank=TEMPLATE_NAMES.index(name), depth=scope.depth), 3)
        return self.action(f"block {json.dumps(name)} {self.pipeline(scope)}") + body + self.action("end")

    def define(self, name: str) -> str:
        rank = TEMPLATE_NAMES.index(name) if name in TEMPLATE_NAMES else len(TEMPLATE_NAMES)
        body = self.nodes(Scope(rank=rank), 4)
        return self.action(f"define {json.dumps(name)}") + body + self.action("end")

    def template(self) -> str:
        names = self.draw(st.lists(st.sampled_from(TEMPLATE_NAMES), max_size=3, unique=not self.sloppy))
        if self.oops(20):
            names.append(ROOT_NAME)
        self.defined = tuple(n for n in names if n != ROOT_NAME)
        parts = [self.nodes(Scope(), 6)]
        for name in names:
            parts.append(self.define(name))
            if self.chance(50):
                parts.append(self.nodes(Scope(), 2))
        return "".join(parts)


@st.composite
def templates(draw: Draw, *, sloppy: bool = True) -> str:
    """A template source from the grammar; ``sloppy`` ones contain an occasional deliberate mistake."""
    return _TemplateWriter(draw, sloppy=sloppy and draw(_ints(0, 3)) == 0).template()


@st.composite
def expressions(draw: Draw) -> str:
    """A single action around one builtin call or literal, to stress fmt, comparisons and escapers."""
    writer = _TemplateWriter(draw, sloppy=draw(_ints(0, 3)) == 0)
    if draw(_ints(0, 4)) == 0:
        body = writer.literal()
    else:
        body = writer.call(Scope(variables=("$x",)), 0, piped=False)
    prefix = "{{$x := " + writer.operand(Scope(), 1) + "}}"
    return prefix + "{{" + body + "}}"


_DAMAGE = (
    "{{", "}}", "{{end}}", "{{else}}", "(", ")", "|", "$", "$zz", ":=", "=", '"', "`", "'", "-", " ", "/*",
    "*/", "{{break}}", "{{continue}}", ".", ",", "{{define \"q\"}}", "{{- ", " -}}", "\n", "{{/*", "0x", "\\",
)  # fmt: skip


@st.composite
def mutated_templates(draw: Draw) -> str:
    """A grammar template with one to three random edits: mostly invalid, sometimes still valid."""
    text: str = draw(templates())
    for _ in range(draw(_ints(1, 3))):
        op = draw(_ints(0, 3))
        pos = draw(_ints(0, len(text)))
        if op == 0 and text:
            pos = min(pos, len(text) - 1)
            text = text[:pos] + text[pos + 1 :]
        elif op == 1:
            text = text[:pos] + draw(st.sampled_from(_DAMAGE)) + text[pos:]
        elif op == 2:
            text = text[:pos]
        else:
            text = text.replace("{{end}}", "", 1) if draw(st.booleans()) else text.replace("}}", "}", 1)
    return text
