"""The template language, construct by construct.

Expected outputs follow the documented behaviour of Go's text/template (https://pkg.go.dev/text/template) and
were cross-checked with Go 1.26's real output.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from meshinject.gotemplate import ExecError, GoObject, NoSuchField, ParseError, Template, go_func, parse

DATA: dict[str, Any] = {
    "s": "str",
    "n": None,
    "t": True,
    "f": False,
    "i": 17,
    "fl": 1.5,
    "l": ["a", "b"],
    "m": {"b": "B", "a": "A"},
    "nums": {"10": 1, "9": 2},
    "empty": {"l": [], "m": {}, "s": ""},
    "nested": {"x": {"y": {"z": "deep"}}},
}


def render(text: str, data: Any = DATA, **kwargs: Any) -> str:
    return Template("t", **kwargs).parse(text).execute(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # text and trim markers
        ("plain text", "plain text"),
        ("a  {{- .s -}}  c", "astrc"),
        ("a\n  {{- .s }}\n  c {{- /* gone */ -}}\nd", "astr\n  cd"),
        ("{{/* a comment */}}x", "x"),
        ("x {{- 3}}", "x3"),
        ("{{3 -}} x", "3x"),
        ("{{-3}}", "-3"),
        # fields, keys and chains
        ("{{.s}}", "str"),
        ("{{.nested.x.y.z}}", "deep"),
        ("{{.missing}}", "<no value>"),
        ("{{.missing.deeper}}", "<no value>"),
        ("{{.n}}", "<no value>"),
        ("{{(index .m `a`)}}", "A"),
        ("{{(.nested.x).y.z}}", "deep"),
        (
            "{{$}}",
            "map[empty:map[l:[] m:map[] s:] f:false fl:1.5 i:17 l:[a b] m:map[a:A b:B] "
            "n:<nil> nested:map[x:map[y:map[z:deep]]] nums:map[10:1 9:2] s:str t:true]",
        ),
        # variables
        ("{{$x := .s}}{{$x}}", "str"),
        ("{{$x := `a`}}{{if true}}{{$x = `b`}}{{end}}{{$x}}", "b"),
        ("{{$x := `a`}}{{if true}}{{$x := `b`}}{{end}}{{$x}}", "a"),
        ("{{with $x := .s}}{{$x}}{{.}}{{end}}", "strstr"),
        ("{{range .l}}{{$.s}}{{end}}", "strstr"),
        # if / else if / else
        ("{{if .t}}y{{else}}n{{end}}", "y"),
        ("{{if .n}}y{{else}}n{{end}}", "n"),
        ("{{if .empty.l}}y{{else if .empty.m}}m{{else if .s}}s{{else}}n{{end}}", "s"),
        ("{{if 0}}y{{else}}n{{end}}{{if 0.0}}y{{else}}n{{end}}{{if ``}}y{{else}}n{{end}}", "nnn"),
        # with / else with
        ("{{with .s}}{{.}}{{else}}none{{end}}", "str"),
        ("{{with .missing}}{{.}}{{else with .l}}{{index . 1}}{{end}}", "b"),
        ("{{with .missing}}x{{else}}{{.s}}{{end}}", "str"),
        # range
        ("{{range .l}}[{{.}}]{{end}}", "[a][b]"),
        ("{{range $i, $v := .l}}{{$i}}={{$v}} {{end}}", "0=a 1=b "),
        ("{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}", "a=A;b=B;"),
        ("{{range $k, $v := .nums}}{{$k}};{{end}}", "10;9;"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{range $i := 2}}{{$i}}{{end}}", "01"),
        ("{{range .empty.l}}x{{else}}empty{{end}}", "empty"),
        ("{{range .missing}}x{{else}}nothing{{end}}", "nothing"),
        ("{{range .l}}{{if eq . `a`}}{{continue}}{{end}}{{.}}{{end}}", "b"),
        ("{{range .l}}{{.}}{{break}}{{end}}", "a"),
        ("{{range $i, $v := .l}}{{$v}}{{end}}{{range $x := .l}}{{$x}}{{end}}", "abab"),
        # define / template / block
        ('{{define "T"}}[{{.}}]{{end}}{{template "T" .s}}', "[str]"),
        ('{{define "T"}}[{{.}}]{{end}}{{template "T"}}', "[<no value>]"),
        ('{{block "B" .l}}{{len .}}{{end}}', "2"),
        ('{{define "T"}}{{$}}{{end}}{{$x := 1}}{{template "T" .s}}', "str"),
        # literals
        (
            "{{0x1F}} {{1_000}} {{0o17}} {{017}} {{0b101}} {{1e3}} {{0x1p4}} {{'a'}} {{1.50}}",
            "31 1000 15 15 5 1000 16 97 1.5",
        ),
        ('{{"tab\\there\\u00e9\\x41"}}', "tab\there\u00e9A"),
        ("{{`raw \\n`}}", "raw \\n"),
        ("{{true}} {{false}}", "true false"),
        ("{{print nil}}", "<nil>"),
        # pipelines
        ('{{"x" | printf "%s %s" "y"}}', "y x"),
        ("{{.s | len}}", "3"),
        ("{{.l | len | print}}", "2"),
        ("{{(len .l) | printf `%d-%d` 9}}", "9-2"),
        # and / or return an operand, short-circuit
        ("{{and 1 0 .missing}}", "0"),
        ("{{and 1 `x`}}", "x"),
        ("{{or 0 `` .l}}", "[a b]"),
        ("{{or .missing .n}}", "<no value>"),
        ("{{or `first` (index .l 9)}}", "first"),
        ("{{not .n}} {{not .missing}} {{not .l}}", "true true false"),
        # comparisons
        ("{{eq .s `str`}} {{eq 1 2 1}} {{ne 1 2}}", "true true true"),
        ("{{eq .n nil}} {{eq .missing nil}}", "true true"),
        ("{{lt 1 2}} {{lt `a` `b`}} {{le 2 2}} {{gt 3 2}} {{ge `b` `a`}}", "true true true true true"),
        ("{{lt .fl 2.0}}", "true"),
        # index, slice, len
        ("{{index .l 1}} {{index .m `a`}} {{index .nested `x` `y` `z`}}", "b A deep"),
        ("{{index .m `zz`}}", "<no value>"),
        ("{{index `abc` 1}}", "98"),
        ("{{slice `abcd` 1 3}} {{slice .l 1}}", "bc [b]"),
        ("{{len `héllo`}} {{len .m}}", "6 2"),
        # printing of values
        ("{{.l}} {{.m}} {{.fl}} {{.i}} {{.t}}", "[a b] map[a:A b:B] 1.5 17 true"),
        ("{{print 1 2 `a` `b` 3 .t}}", "1 2ab3 true"),
        ("{{println 1 `a`}}", "1 a\n"),
        ("{{printf `%5.2f|%-4d|%q|%v|%x` 3.14159 7 `q` .l 255}}", ' 3.14|7   |"q"|[a b]|ff'),
        ("{{printf `%d %s` 3}}", "3 %!s(MISSING)"),
        ("{{print 1e6}} {{print 0.000001}} {{print 1.0}}", "1e+06 1e-06 1"),
        # escapers
        ("{{html `<a href='x'>&`}}", "&lt;a href=&#39;x&#39;&gt;&amp;"),
        ('{{js `it\'s <b> "q"`}}', 'it\\\'s \\u003Cb\\u003E \\"q\\"'),
        ("{{urlquery `a b&c=d/é`}}", "a+b%26c%3Dd%2F%C3%A9"),
    ],
)
def test_renders_like_go(text: str, expected: str) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{if}}{{end}}", "template: t:1: missing value for if"),
        ("{{end}}", "template: t:1: unexpected {{end}}"),
        ("{{range .l}}{{else}}{{else}}{{end}}", "expected end; found {{else}}"),
        ("{{$u}}", 'undefined variable "$u"'),
        ("{{break}}", "{{break}} outside {{range}}"),
        ('{{"unterminated}}', "unterminated quoted string"),
        ("{{'ab'}}", "malformed character constant: 'ab'"),
        ("{{3x}}", 'bad number syntax: "3x"'),
        ("{{1 | 2}}", "non executable command in pipeline stage 2"),
        ("{{nofunc 1}}", 'function "nofunc" not defined'),
        ("{{3)}}", "unexpected right paren"),
        ("{{(3}}", "unclosed left paren"),
        ("{{/* x */ 3}}", "comment ends before closing delimiter"),
        ("a\n{{.x\n", "unclosed action"),
        ('{{define "a"}}x{{end}}{{define "a"}}y{{end}}', 'multiple definition of template "a"'),
        ("{{range $a, $b, $c := .}}{{end}}", "too many declarations in range"),
        ("{{with $a, $b := .}}{{end}}", "too many declarations in with"),
        ("{{true.x}}", 'unexpected . after term "true"'),
        ("{{99999999999999999999}}", 'integer overflow: "99999999999999999999"'),
    ],
)
def test_parse_errors_name_template_line_and_cause(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        Template("t").parse(text)
    assert message in str(info.value)
    assert str(info.value).startswith("template: t:")


def test_parse_error_reports_line_and_column() -> None:
    with pytest.raises(ParseError) as info:
        Template("cfg").parse("line1\nline2 {{ .a | nofunc }}")
    assert info.value.line == 2
    assert info.value.col > 1
    assert str(info.value) == 'template: cfg:2: function "nofunc" not defined'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{.n.b}}", 'template: t:1:4: executing "t" at <.n.b>: nil pointer evaluating interface {}.b'),
        ("{{.l.b}}", "can't evaluate field b in type interface {}"),
        ("{{len .n}}", 'executing "t" at <len .n>: error calling len: len of nil pointer'),
        ("{{index .missing 1}}", "error calling index: index of untyped nil"),
        ("{{index .l 5}}", "error calling index: index out of range: 5"),
        ("{{index .l 2}}", "error calling index: reflect: slice index out of range"),
        ("{{nil}}", 'executing "t" at <nil>: nil is not a command'),
        ("{{eq 1 1.0}}", "error calling eq: incompatible types for comparison"),
        ("{{lt .t .t}}", "error calling lt: invalid type for comparison"),
        ('{{template "x"}}', 'template "x" not defined'),
        ("{{range $i, $e := 3}}{{end}}", "can't use 3 to iterate over more than one variable"),
        ("{{range .s}}{{end}}", "range can't iterate over str"),
        ("{{printf 1}}", 'executing "t" at <1>: expected string; found 1'),
        ("{{len}}", "wrong number of args for len: want 1 got 0"),
        ("{{.m.a 1}}", "a is not a method but has arguments"),
        ("{{1 2}}", "can't give argument to non-function 1"),
        ("{{.s.x}}", "can't evaluate field x in type interface {}"),
    ],
)
def test_exec_errors_name_template_line_and_action(text: str, message: str) -> None:
    with pytest.raises(ExecError) as info:
        render(text)
    assert message in str(info.value)


def test_exec_error_keeps_output_written_before_it() -> None:
    with pytest.raises(ExecError) as info:
        render("before {{.n.b}} after")
    assert info.value.output == "before "


def test_missingkey_zero_and_error_options() -> None:
    assert render("{{.nope}}", {"a": 1}, missingkey="zero") == "<no value>"
    with pytest.raises(ExecError, match='map has no entry for key "nope"'):
        render("{{.nope}}", {"a": 1}, missingkey="error")


def test_custom_delimiters() -> None:
    assert render("[[ .s ]] {{ .s }}", delims=("[[", "]]")) == "str {{ .s }}"


def test_template_set_shares_definitions_across_parses() -> None:
    root = Template("root").parse('{{define "greet"}}hi {{.}}{{end}}')
    page = root.new("page").parse('{{template "greet" .}}!')
    assert page.execute("bob") == "hi bob!"
    assert root.execute_template("greet", "ann") == "hi ann"
    with pytest.raises(ExecError, match='no template "nope"'):
        root.execute_template("nope", None)


def test_empty_redefinition_does_not_wipe_a_template() -> None:
    t = Template("outer").parse('a({{block "inner" .}}bar({{.}})baz{{end}})b')
    t.parse('{{define "inner"}}foo({{.}})bar{{end}}')
    assert t.execute("goodbye") == "a(foo(goodbye)bar)b"


def test_custom_functions_with_go_signatures_are_checked() -> None:
    @go_func("string", "int")
    def repeat(s: str, n: int) -> str:
        return s * n

    t = Template("t", funcs={"repeat": repeat})
    assert t.parse('{{repeat "ab" 3}}').execute(None) == "ababab"
    with pytest.raises(ExecError, match="wrong number of args for repeat: want 2 got 1"):
        Template("t", funcs={"repeat": repeat}).parse('{{repeat "ab"}}').execute(None)
    with pytest.raises(ExecError, match='expected integer; found "x"'):
        Template("t", funcs={"repeat": repeat}).parse('{{repeat "ab" "x"}}').execute(None)
    with pytest.raises(ExecError, match="wrong type for value; expected string; got int"):
        Template("t", funcs={"repeat": repeat}).parse("{{repeat .i 2}}").execute(DATA)


def test_function_errors_and_exceptions_become_exec_errors() -> None:
    def boom() -> str:
        raise ValueError("kaput")

    t = Template("t", funcs={"boom": boom}).parse("{{boom}}")
    with pytest.raises(ExecError, match="error calling boom: kaput"):
        t.execute(None)


class _Proxy(GoObject):
    """A struct with a field and methods, as Go data-model objects expose them."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def go_type_name(self) -> str:
        return "*v1.Proxy"

    def go_field(self, name: str) -> Any:
        if name == "Mode":
            return self.mode
        raise NoSuchField(name)

    def go_method(self, name: str) -> Any:
        if name == "GetMode":
            return lambda: self.mode
        if name == "Join":
            return go_func("string")(lambda sep: sep.join([self.mode, self.mode]))
        return None


def test_data_objects_expose_fields_and_methods() -> None:
    p = _Proxy("REDIRECT")
    assert render("{{.Mode}} {{.GetMode}} {{.Join `-`}}", p) == "REDIRECT REDIRECT REDIRECT-REDIRECT"
    with pytest.raises(ExecError, match=r"can't evaluate field Nope in type \*v1.Proxy"):
        render("{{.Nope}}", p)


def test_parsed_templates_are_cached_by_source() -> None:
    assert parse("{{.}}", name="c") is parse("{{.}}", name="c")


def test_execution_is_thread_safe() -> None:
    t = Template("t").parse('{{define "d"}}{{.}},{{end}}{{range .}}{{$x := .}}{{template "d" $x}}{{end}}')
    results: list[str] = []

    def work(n: int) -> None:
        results.append(t.execute(list(range(n, n + 50))))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == sorted(",".join(str(v) for v in range(i, i + 50)) + "," for i in range(8))
