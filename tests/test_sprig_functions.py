"""Sprig's function map, family by family.

Expected values are Go's: each was produced by Sprig v3 (master, with spf13/cast 1.9, Masterminds/semver 3.4)
running under Go 1.26's text/template, or is the value Sprig's documentation gives.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from meshinject.gotemplate import ExecError, FuncError, Template, TypedInt
from meshinject.gotemplate.sprig import SPRIG_FUNCS, GoTime, time_from_data

F = SPRIG_FUNCS


def render(text: str, data: Any = None) -> str:
    return str(Template("test", funcs=SPRIG_FUNCS).parse(text).execute(data))


def render_error(text: str, data: Any = None) -> str:
    with pytest.raises(ExecError) as info:
        render(text, data)
    return str(info.value)


# --- strings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{ trim "  \\t hi \\n" }}', "hi"),
        ('{{ trimAll "$" "$$5.00$" }}', "5.00"),
        ('{{ trimPrefix "-" "--a" }}', "-a"),
        ('{{ trimSuffix "-" "a--" }}', "a-"),
        ('{{ upper "héllo ß" }}', "HÉLLO ß"),
        ('{{ lower "HÉLLO İ" }}', "héllo i"),
        ('{{ title "hello world_foo bar-baz 1st é" }}', "Hello World_foo Bar-Baz 1st É"),
        ('{{ untitle "Hello World  Foo" }}', "hello world  foo"),
        ('{{ repeat 3 "ab" }}', "ababab"),
        ('{{ nospace " a\\tb\\nc " }}', "abc"),
        ('{{ initials "hello  world\\tfoo" }}', "hwf"),
        ('{{ swapcase "the Quick bRown  fox" }}', "THE qUICK BrOWN  FOX"),
        ('{{ plural "one" "many" 0 }}', "many"),
        ('{{ replace "" "-" "abc" }}', "-a-b-c-"),
        ('{{ indent 2 "a\\nb\\n" }}', "  a\n  b\n  "),
        ('{{ nindent 2 "" }}', "\n  "),
        ('{{ contains "cat" "fair catch" }}', "true"),
        ('{{ hasPrefix "" "" }}', "true"),
        ('{{ cat "a" nil 1 (list 1 nil) }}', "a 1 [1 <nil>]"),
        ('{{ squote "a\'b" 1 nil 2.5 }}', "'a'b' '1' '2.5'"),
    ],
)
def test_string_functions_match_go(template: str, expected: str) -> None:
    assert render(template) == expected


def test_quote_escapes_like_go_percent_q_and_skips_nil() -> None:
    out = render('{{ quote "a\\"b" "c\\\\d" "\\n\\t" "é" "\\u0007" "\\u200b" "\\U0001F600" nil 1.5 }}')
    assert out == '"a\\"b" "c\\\\d" "\\n\\t" "é" "\\a" "\\u200b" "😀" "1.5"'


def test_substr_uses_byte_offsets_and_clamps_the_end() -> None:
    assert render('{{ "fooo" | substr 0 3 }}') == "foo"
    assert render('{{ "foo" | substr 0 10 }}') == "foo"
    assert render('{{ substr -1 2 "abc" }}') == "ab"
    assert render_error('{{ substr 5 -1 "abc" }}').endswith(
        "error calling substr: runtime error: slice bounds out of range [5:3]"
    )


def test_trunc_cuts_bytes_from_either_end() -> None:
    assert render('{{ trunc 3 "foooooo" }}') == "foo"
    assert render('{{ trunc -3 "baaaaaar" }}') == "aar"
    assert render('{{ trunc -999 "baaaaaar" }}') == "baaaaaar"
    # a cut through "é" leaves the lone first byte, as Go's string slicing does
    assert render('{{ trunc 2 "héllo" | printf "%q" }}') == '"h\\xc3"'


def test_byte_wise_goutils_helpers_turn_non_ascii_into_latin1_mojibake() -> None:
    assert F["nospace"]("hé llo") == "hÃ©llo"
    assert F["initials"]("élan vital") == "Ãv"


def test_abbrev_and_abbrevboth() -> None:
    assert F["abbrev"](5, "hello world") == "he..."
    assert F["abbrev"](3, "abcdefg") == "abcdefg"
    assert F["abbrevboth"](5, 10, "1234567890abcdefgh") == "...6789..."
    assert F["abbrevboth"](10, 7, "abcdefghijklmnop") == "...k..."


def test_wrap_keeps_long_words_and_wrap_with_splits_them() -> None:
    assert F["wrap"](5, "Hello World") == "Hello\nWorld"
    assert F["wrap"](3, "a verylongword here") == "a\nverylongword\nhere"
    assert F["wrapWith"](3, "|", "a verylongword here") == "a|ver|ylo|ngw|ord|her|e"
    assert F["wrapWith"](5, "\t", "Hello World") == "Hello\tWorld"


@pytest.mark.parametrize(
    ("function", "text", "expected"),
    [
        ("snakecase", "FirstName", "first_name"),
        ("snakecase", "HTTPServer", "http_server"),
        ("snakecase", "NoHTTPS", "no_https"),
        ("snakecase", "GO-PATH", "go_path"),
        ("snakecase", "HTTP20xOK", "http_20x_ok"),
        ("snakecase", "Bld4Floor3rd", "bld4_floor_3rd"),
        ("kebabcase", "Duration2m3s", "duration-2m3s"),
        ("kebabcase", "a.b..c", "a.b..c"),
        ("camelcase", "http_server", "HttpServer"),
        ("camelcase", "HTTP_SERVER", "HttpServer"),
        ("camelcase", "a__b", "A_B"),
        ("camelcase", "_a_", "_A_"),
        ("camelcase", "__", "___"),  # xstrings writes the last connector twice
    ],
)
def test_case_conversions_follow_xstrings(function: str, text: str, expected: str) -> None:
    assert F[function](text) == expected


def test_shuffle_permutes_the_runes() -> None:
    out = F["shuffle"]("Hello World")
    assert sorted(out) == sorted("Hello World")


def test_random_strings_have_the_requested_length_and_alphabet() -> None:
    assert re.fullmatch(r"[A-Za-z0-9]{12}", F["randAlphaNum"](12))
    assert re.fullmatch(r"[A-Za-z]{7}", F["randAlpha"](7))
    assert re.fullmatch(r"[0-9]{5}", F["randNumeric"](5))
    assert re.fullmatch(r"[ -~]{9}", F["randAscii"](9))
    assert F["randAlpha"](0) == ""


def test_split_functions() -> None:
    assert render('{{$v := "foo$bar$baz" | split "$"}}{{$v._0}}') == "foo"
    assert render('{{ splitn "," 2 "a,b,c" }}') == "map[_0:a _1:b,c]"
    assert render('{{ splitList "" "héllo" }}') == "[h é l l o]"
    assert render('{{ split "," "a,b" | typeOf }}') == "map[string]string"
    assert render('{{ splitList "," "a,b" | typeOf }}') == "[]string"


def test_join_sort_alpha_and_to_strings_drop_nils() -> None:
    assert render('{{ join "," (list 1 nil "a") }}') == "1,a"
    assert render('{{ join "-" .V }}', {"V": "abc"}) == "abc"
    assert render('{{ sortAlpha (list "b" "a" "B" "é" "10" "9") }}') == "[10 9 B a b é]"
    assert render("{{ sortAlpha nil }}") == "[<nil>]"
    assert render("{{ toStrings (list 1 nil 2.5) }}") == "[1 2.5]"


def test_base64_and_base32_decoding_errors_are_returned_as_text() -> None:
    assert F["b64enc"]("coffee") == "Y29mZmVl"
    assert F["b64dec"]("Y29mZmVl") == "coffee"
    assert F["b64dec"]("YQ") == "illegal base64 data at input byte 0"
    assert F["b64dec"]("YQ==YQ==") == "illegal base64 data at input byte 4"
    assert F["b64dec"]("Y\nQ=\n=") == "a"
    assert F["b32enc"]("hello") == "NBSWY3DP"
    assert F["b32dec"]("NBSWY3DP") == "hello"
    assert F["b32dec"]("NBSWY3D") == "illegal base32 data at input byte 0"
    assert F["b32dec"]("N=======") == "illegal base32 data at input byte 1"


# --- regular expressions ------------------------------------------------------------------------------------


def test_regex_find_and_match_use_go_semantics() -> None:
    assert F["regexMatch"]("^[a-z]+$", "abc\n") is False  # Go's $ is the end of the text
    assert F["regexMatch"]("(?m)^b$", "a\nb\nc") is True
    assert F["regexMatch"]("[", "a") is False
    assert F["regexFind"]("a(?i)b|c", "C") == "C"
    assert F["regexFind"]("\\d+", "١٢٣123") == "123"
    assert F["regexFind"]("\\p{Lu}+", "abCDe") == "CD"
    assert F["regexFind"]("[[:^alpha:]]+", "abc123") == "123"


def test_unicode_classes_in_patterns() -> None:
    assert F["regexFind"]("\\pN+", "x²³4") == "²³4"
    assert F["regexFind"]("\\p{Greek}+", "xαβγ") == "αβγ"
    assert F["regexFind"]("\\p{Han}+", "x中文") == "中文"
    with pytest.raises(FuncError, match=re.escape("invalid character class range: `\\p{Foo}`")):
        F["regexFind"]("\\p{Foo}", "x")


def test_regex_all_functions_skip_empty_matches_after_a_match() -> None:
    assert render('{{ regexFindAll "a*" "baaab" -1 }}') == "[ aaa ]"
    assert render('{{ regexReplaceAll "x*" "abc" "-" }}') == "-a-b-c-"
    assert render('{{ regexReplaceAll "b*" "abbc" "X" }}') == "XaXcX"
    assert render('{{ regexSplit "x*" "axbxxc" -1 }}') == "[a b c]"
    assert render('{{ regexSplit "," "a,b,,c," -1 }}') == "[a b  c ]"
    assert render('{{ regexFindAll "[0-9]+" "abc" -1 | toJson }}') == "null"


def test_regex_replacement_templates_expand_like_go() -> None:
    assert F["regexReplaceAll"]("a(x*)b", "-ab-axxb-", "${1}W") == "-W-xxW-"
    assert F["regexReplaceAll"]("a(x*)b", "-ab-axxb-", "$1W") == "---"  # $1W names group "1W"
    assert F["regexReplaceAll"]("a(?P<n>x*)b", "-ab-axxb-", "<$n>") == "-<>-<xx>-"
    assert F["regexReplaceAllLiteral"]("a(x*)b", "-ab-axxb-", "${1}") == "-${1}-${1}-"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a(", "missing closing ): `a(`"),
        ("a)", "unexpected ): `a)`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("*", "missing argument to repetition operator: `*`"),
        ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
        ("\\1", "invalid escape sequence: `\\1`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("(a{500}){3}", "invalid repeat count: `{3}`"),
    ],
)
def test_bad_patterns_fail_with_gos_syntax_errors(pattern: str, message: str) -> None:
    with pytest.raises(FuncError, match=re.escape(f"error parsing regexp: {message}")):
        F["mustRegexMatch"](pattern, "a")


def test_non_must_regex_functions_panic_with_regexp_compile_text() -> None:
    with pytest.raises(FuncError) as info:
        F["regexFindAll"]("(", "abc", -1)
    assert str(info.value) == "regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"


def test_regex_quote_meta() -> None:
    assert F["regexQuoteMeta"]("1.2.3") == "1\\.2\\.3"


# --- numbers ------------------------------------------------------------------------------------------------


def test_integer_arithmetic_converts_with_cast_and_returns_int64() -> None:
    assert render('{{ add "1" 2.9 -1.9 true nil "x" }}') == "3"
    assert render('{{ 1 | mul "2" 3 "4" }}') == "24"
    assert render("{{ typeOf (add 1 2) }}") == "int64"
    assert render('{{ add "0x10" "010" "0b11" "0o7" "1_000" "1__0" "1.9" ".5" "1e3" " 5" }}') == "1035"
    assert render("{{ add 9223372036854775807 1 }}") == "-9223372036854775808"


def test_division_truncates_toward_zero_and_panics_on_zero() -> None:
    assert render("{{ div -7 2 }} {{ mod -7 3 }} {{ mod 7 -3 }}") == "-3 -1 1"
    assert render_error('{{ div 1 "0" }}').endswith("error calling div: runtime error: integer divide by zero")


def test_int_float64_and_atoi_conversions() -> None:
    assert render('{{ int "3.9" }} {{ int -3.9 }} {{ int "abc" }} {{ int 1e19 }}') == "3 -3 0 -9223372036854775808"
    assert render('{{ float64 "1_000.5" }} {{ float64 "1e400" }} {{ float64 "0x1p4" }}') == "1000.5 0 16"
    assert F["atoi"]("99999999999999999999") == 9223372036854775807
    assert F["atoi"](" 42") == 0
    assert F["toDecimal"]("0777") == 511


def test_float_functions_compute_in_decimal() -> None:
    assert render("{{ addf 0.1 0.2 }} {{ subf 0.3 0.1 }} {{ 2 | divf 5 4 }} {{ 1.2 | mulf 2.4 10 4 }}") == (
        "0.3 0.2 0.625 115.2"
    )
    assert F["divf"](2, 3) == 0.6666666666666667
    assert render_error('{{ divf 1 "0.0" }}').endswith("error calling divf: decimal division by 0")
    assert render_error('{{ addf "nan" }}').endswith("error calling addf: Cannot create a Decimal from NaN")


def test_max_min_floor_ceil_round() -> None:
    assert render('{{ max 1 "5" 3.9 }} {{ min -1 "-5" }} {{ maxf 1 2.5 "3.5" }} {{ minf 0 "-0" }}') == "5 -5 3.5 -0"
    assert render("{{ floor -1.5 }} {{ ceil 1.2 }} {{ round 2.5 0 }} {{ round 3.145 2 }}") == "-2 2 3 3.15"
    assert render("{{ round 1.23 1 0.2 }} {{ round 123.456 -1 }}") == "1.3 120"


def test_floor_and_ceil_keep_the_sign_of_zero() -> None:
    assert render('{{ ceil -0.5 }} {{ floor -0.0 }} {{ floor 0.5 }} {{ round -0.4 0 }} {{ ceil "-0" }}') == (
        "-0 -0 0 -1 -0"
    )


def test_sequences() -> None:
    assert render("{{seq -5}}") == "1 0 -1 -2 -3 -4 -5"
    assert render("{{seq 0 1 3}}") == "0 1 2 3"
    assert render("{{seq 3 -3 2}}") == "3"
    assert render("{{ until 3 }} {{ untilStep 10 0 -3 }} {{ untilStep 3 99 0 }}") == "[0 1 2] [10 7 4 1] []"


def test_rand_int_stays_in_range_and_rejects_empty_ranges() -> None:
    assert 10 <= F["randInt"](10, 13) < 13
    with pytest.raises(FuncError, match="invalid argument to Intn"):
        F["randInt"](5, 5)


# --- lists --------------------------------------------------------------------------------------------------


def test_list_accessors_and_their_nil_results() -> None:
    assert render("{{ list 1 2 3 | first }} {{ list 1 2 3 | last }} {{ list | first }}") == "1 3 <no value>"
    assert render("{{ list | rest | toJson }} {{ list 1 | initial | toJson }}") == "null []"
    assert render('{{ list 1 2 3 | reverse }} {{ list 1 0 "" "hello" | compact }}') == "[3 2 1] [1 hello]"


def test_list_functions_error_on_non_slices_and_panic_on_nil() -> None:
    assert render_error('{{ first "abc" }}').endswith("error calling first: Cannot find first on type string")
    assert render_error("{{ push nil 1 }}").endswith(
        "error calling push: runtime error: invalid memory address or nil pointer dereference"
    )
    assert render_error('{{ concat (list 1) "x" }}').endswith("error calling concat: Cannot concat type string as list")


def test_uniq_without_and_has_compare_with_deep_equal() -> None:
    assert render('{{ uniq (list 1 1.0 "1" nil nil (list 1) (list 1)) }}') == "[1 1 1 <nil> [1]]"
    assert render("{{ without (list (list 1) 2) (list 1) }}") == "[2]"
    assert render('{{ has 1 (list 1.0) }} {{ has nil (list nil) }} {{ has "bar" nil }}') == "false true false"


def test_slice_chunk_and_concat() -> None:
    assert render("{{ slice (list 1 2 3) 1 }} {{ slice (list) }}") == "[2 3] <no value>"
    assert render_error("{{ slice (list 1 2) 3 }}").endswith(
        "error calling slice: reflect.Value.Slice: slice index out of bounds"
    )
    assert render("{{ chunk 3 (list 1 2 3 4 5 6 7 8) }}") == "[[1 2 3] [4 5 6] [7 8]]"
    assert render_error("{{ chunk 0 (list 1 2) }}").endswith("runtime error: makeslice: len out of range")
    assert render("{{ concat (list 1 2) (list 3) (list (list 4)) }} {{ concat | toJson }}") == "[1 2 3 [4]] null"


def test_append_and_prepend_return_new_lists() -> None:
    data: dict[str, Any] = {"l": [1, 2]}
    assert render("{{ append .l 3 }} {{ prepend .l 0 }} {{ .l }}", data) == "[1 2 3] [0 1 2] [1 2]"


# --- dicts --------------------------------------------------------------------------------------------------


def test_dict_builds_string_keys_and_pads_a_missing_value() -> None:
    assert render('{{ dict 1 2 3.5 4 true 5 nil 6 "a" }}') == "map[1:2 3.5:4 <nil>:6 a: true:5]"


def test_get_set_unset_has_key() -> None:
    assert render('{{ get (dict "a" 1) "b" | printf "%q" }}') == '""'
    tpl = '{{- $d := dict "one" 1 -}}{{- $_ := set $d "two" 2 -}}{{- $_ := unset $d "one" -}}{{ $d }}'
    assert render(tpl) == "map[two:2]"
    assert render('{{ unset nil "a" }} {{ hasKey (dict "a" nil) "a" }}') == "map[] true"


def test_pluck_pick_omit_keys_values() -> None:
    assert render('{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" nil) }}') == "[1 <nil>]"
    assert render('{{ pick (dict "a" 1 "b" 2) "a" "c" }} {{ omit (dict "a" 1 "b" 2) "a" }}') == "map[a:1] map[b:2]"
    assert render('{{ keys (dict "b" 1 "a" 2) | sortAlpha }} {{ keys | toJson }}') == "[a b] []"
    assert render('{{ values (dict "a" 1) }}') == "[1]"


def test_merge_fills_gaps_and_merge_overwrite_replaces_in_place() -> None:
    dst = {"a": "one", "c": 3, "d": {"f": 5}, "g": [8, 9], "i": "eye", "k": {"l": True}}
    src1 = {"a": 1, "b": 2, "d": {"e": "four"}, "g": [6, 7], "i": "aye", "j": "jay", "k": {"l": False}}
    src2 = {"h": 10, "i": "i", "j": "j"}
    assert F["merge"](dst, src1, src2) is dst
    assert dst == {"a": "one", "b": 2, "c": 3, "d": {"e": "four", "f": 5}, "g": [8, 9], "h": 10,
                   "i": "eye", "j": "jay", "k": {"l": True}}  # fmt: skip
    assert render('{{ merge (dict "a" "") (dict "a" "x") }} {{ merge (dict "a" 0) (dict "a" 2) }}') == (
        "map[a:x] map[a:2]"
    )
    assert render('{{ mergeOverwrite (dict "a" 1) (dict "a" nil) }} {{ merge (dict "a" 1) (dict "a" nil) }}') == (
        "map[a:<nil>] map[a:1]"
    )


def test_merge_overwrite_shares_maps_taken_from_a_source() -> None:
    tpl = (
        '{{- $target := dict -}}{{- $one := dict "foo" (dict "bar" "baz") "qux" true -}}'
        '{{- $two := dict "foo" (dict "bar" "baz2") "qux" false -}}'
        "{{- mergeOverwrite $target $one | toString | trunc 0 }}"
        "{{ $__ := mergeOverwrite $target $two }}{{ $one }}"
    )
    assert render(tpl) == "map[foo:map[bar:baz2] qux:true]"


def test_deep_copy_is_independent() -> None:
    data: dict[str, Any] = {"a": {"x": [1]}}
    assert render('{{ $b := deepCopy .a }}{{ $_ := set $b "y" 2 }}{{ .a }} {{ $b }}', data) == (
        "map[x:[1]] map[x:[1] y:2]"
    )
    assert render_error("{{ deepCopy nil }}").endswith("reflect: call of reflect.Value.Type on zero Value")


def test_dig_walks_nested_maps() -> None:
    assert render('{{- $d := dict "a" (dict "b" (dict "c" 1)) }}{{ dig "a" "b" "c" "" $d }}') == "1"
    assert render('{{ dict "a" 1 | dig "z" "2" }}') == "2"
    assert render_error('{{ dig "a" 1 "x" }}').endswith(
        "interface conversion: interface {} is string, not map[string]interface {}"
    )


# --- defaults, JSON and reflection --------------------------------------------------------------------------


def test_default_empty_coalesce_all_any_ternary() -> None:
    assert render('{{ default "d" 0 }} {{ default "d" (list) }} {{ default "d" 1 2 }} {{ default "d" }}') == ("d d 1 d")
    assert render("{{ empty 0.0 }} {{ empty (list nil) }} {{ empty .missing }}", {}) == "true false true"
    assert render('{{ coalesce nil "" 0 false }} {{ coalesce nil (list) (dict "a" 1) }}') == "<no value> map[a:1]"
    assert render('{{ all }} {{ all 1 0 }} {{ any }} {{ any 0 "x" }}') == "true false false true"
    assert render('{{ ternary "foo" "bar" false }}') == "bar"


def test_json_functions() -> None:
    assert render('{{ fromJson "{\\"foo\\": 55}" }}') == "map[foo:55]"
    assert render('{{ (fromJson "{\\"a\\":1}").a | typeOf }}') == "float64"
    assert render('{{ fromJson "bad" }}') == "<no value>"
    assert render_error('{{ mustFromJson "bad" }}').endswith(
        "error calling mustFromJson: invalid character 'b' looking for beginning of value"
    )
    data = {"Top": {"bool": True, "number": 42, "string": "test", "html": "<HEAD>"}}
    assert render("{{ .Top | toJson }}", data) == (
        '{"bool":true,"html":"\\u003cHEAD\\u003e","number":42,"string":"test"}'
    )
    assert render("{{ .Top | toRawJson }}", data) == '{"bool":true,"html":"<HEAD>","number":42,"string":"test"}'
    assert render('{{ toPrettyJson (dict "a" (list 1)) }}') == '{\n  "a": [\n    1\n  ]\n}'


def test_yaml_functions_from_helm() -> None:
    assert render('{{ toYaml (dict "a" 1 "b" (list "x" "y") "c" (dict)) }}') == 'a: 1\nb:\n- x\n- "y"\nc: {}'
    assert render('{{ (fromYaml "a: 1\\nb: [x]").b }}') == "[x]"
    assert render('{{ fromYaml "- 1" }}') == (
        "map[Error:error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value "
        "of type map[string]interface {}]"
    )
    assert render('{{ fromYamlArray "- 1\\n- b" }}') == "[1 b]"
    assert render('{{ fromJsonArray "[1, \\"b\\"]" }}') == "[1 b]"


def test_type_and_kind_names() -> None:
    assert render("{{ typeOf (list) }} {{ typeOf (dict) }} {{ typeOf 1.5 }} {{ typeOf nil }}") == (
        "[]interface {} map[string]interface {} float64 <nil>"
    )
    assert render('{{ typeOf (chunk 1 (list 1)) }} {{ typeOf (semver "1.2.3") }} {{ typeOf now }}') == (
        "[][]interface {} *semver.Version time.Time"
    )
    assert render('{{ kindOf (list) }} {{ kindOf nil }} {{ kindOf (semver "1.2.3") }} {{ kindOf now }}') == (
        "slice invalid ptr struct"
    )
    assert render('{{ kindIs "int64" (add 1 1) }} {{ typeIsLike "semver.Version" (semver "1.0.0") }}') == "true true"


def test_deep_equal_compares_go_types() -> None:
    assert render("{{ deepEqual 1 1.0 }} {{ deepEqual (add 1 1) 2 }} {{ deepEqual (list) (rest (list 1)) }}") == (
        "false false true"
    )
    assert render('{{ deepEqual (splitList "," "a") (list "a") }} {{ deepEqual (rest (list)) (rest (list)) }}') == (
        "false true"
    )


# --- semver -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        ("1.2.3", "1.2.3", True),
        ("^1.2.0", "2.2.3", False),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        ("^0.2.3", "0.3.0", False),
        ("1.2.x", "1.2.9", True),
        (">1.2", "1.2.5", False),
        ("1.2 - 1.4", "1.3.0", True),
        ("<1 || >=3", "3.1.0", True),
        (">=1.2.0", "1.2.1-beta", False),
        (">=1.2.0-0", "1.2.0-beta", True),
        ("!=1.2", "1.2.3", False),
    ],
)
def test_semver_compare_constraints(constraint: str, version: str, expected: bool) -> None:
    assert F["semverCompare"](constraint, version) is expected


def test_semver_parse_errors() -> None:
    with pytest.raises(FuncError, match="improper constraint: junk"):
        F["semverCompare"]("junk", "1.2.3")
    with pytest.raises(FuncError, match="invalid semantic version"):
        F["semverCompare"]("1.2.0", "badVersion")
    assert render_error('{{ semver "1.2.3-01" }}').endswith("error calling semver: version segment starts with 0")


def test_semver_methods_and_value_copies() -> None:
    assert render('{{ $s := semver "1.2.3-beta.1+c0ff33" }}{{ $s.Major }} {{ $s.Prerelease }} {{ $s }}') == (
        "1 beta.1 1.2.3-beta.1+c0ff33"
    )
    assert render('{{ semver "1.4.3" | (semver "1.2.3").Compare }}') == "-1"
    assert render('{{ (semver "v1.2.3-pre").IncPatch }} {{ (semver "1.2.3").IncMajor }}') == "1.2.3 2.0.0"
    # IncMinor returns a semver.Version value, whose pointer methods Go cannot reach
    assert "can't evaluate field Original in type semver.Version" in render_error(
        '{{ ((semver "v1.2.3").IncMinor).Original }}'
    )


# --- dates --------------------------------------------------------------------------------------------------


def test_to_date_and_layout_formatting() -> None:
    assert render('{{ toDate "2006-01-02" "2017-12-31" | date "02/01/2006" }}') == "31/12/2017"
    layout = "Mon Monday Jan January 1 01 2 02 _2 __2 002 06 2006 15 3 03 4 04 5 05 PM pm MST Z07:00 -0700"
    layout += " .000 .999"
    assert render(f'{{{{ toDate "2006-01-02" "2017-12-31" | date "{layout}" }}}}') == (
        "Sun Sunday Dec December 12 12 31 31 31 365 365 17 2017 00 12 12 0 00 0 00 AM am UTC Z +0000 .000 "
    )
    assert render('{{ toDate "2006-01-02" "bad" }}') == "0001-01-01 00:00:00 +0000 UTC"


def test_must_to_date_reports_gos_parse_errors() -> None:
    assert render_error('{{ mustToDate "2006-01-02" "2017-02-30" }}').endswith(
        'error calling mustToDate: parsing time "2017-02-30": day out of range'
    )
    assert render_error('{{ mustToDate "Jan 2 2006" "feb 3" }}').endswith(
        'parsing time "feb 3" as "Jan 2 2006": cannot parse "" as "2006"'
    )


def test_dates_in_zones() -> None:
    assert render('{{ dateInZone "2006-01-02 15:04:05 MST" 1560458379 "America/New_York" }}') == (
        "2019-06-13 16:39:39 EDT"
    )
    assert render('{{ dateInZone "2006-01-02 15:04 MST" 1560458379 "Nope/Zone" }}') == "2019-06-13 20:39 UTC"
    assert render('{{ htmlDateInZone 1560458379 "Asia/Kolkata" }}') == "2019-06-14"


def test_time_values_from_data_keep_their_zone_name() -> None:
    data = {"Time": time_from_data({"$time": "2019-06-13T20:39:39Z", "zone": "GMT", "zoneOffsetSeconds": 0})}
    assert render('{{ date_modify "24h" .Time }}', data) == "2019-06-14 20:39:39 +0000 GMT"
    assert render("{{ unixEpoch .Time }} {{ .Time.Year }} {{ .Time.Month }} {{ .Time.Weekday }}", data) == (
        "1560458379 2019 June Thursday"
    )
    assert render_error('{{ must_date_modify "1f" .Time }}', data).endswith(
        'error calling must_date_modify: time: unknown unit "f" in duration "1f"'
    )


def test_time_errors_quote_non_ascii_bytes_like_package_time() -> None:
    assert render_error('{{ mustDateModify "1é" (toDate "2006" "2019") }}').endswith(
        'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'
    )


def test_durations() -> None:
    assert render('{{ duration "93784" }} {{ duration 5 }} {{ duration (int64 90) }}') == "26h3m4s 0s 1m30s"
    assert render('{{ durationRound "2400h5s" }} {{ durationRound "-3h" }} {{ durationRound "1s" }}') == "3mo 3h 0s"


def test_now_is_a_time_in_the_local_zone() -> None:
    t = F["now"]()
    assert isinstance(t, GoTime)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+ m=\+\d+\.\d{9}", t.go_string())


# --- URLs, paths, environment -------------------------------------------------------------------------------


def test_url_parse_and_join() -> None:
    parsed = F["urlParse"]("http://user:pa%20ss@Example.com:8080/a%2Fb/c?x=1#frag%20x")
    assert parsed == {
        "scheme": "http",
        "host": "Example.com:8080",
        "hostname": "Example.com",
        "path": "/a/b/c",
        "query": "x=1",
        "opaque": "",
        "fragment": "frag x",
        "userinfo": "user:pa%20ss",
    }
    assert F["urlJoin"]({"scheme": "https", "host": "h", "path": "a b/c?", "fragment": "f g"}) == (
        "https://h/a%20b/c%3F#f%20g"
    )
    # urlParse keeps only the decoded path, so an escaped slash does not survive the round trip
    assert render('{{ urlJoin (urlParse "http://u@h:1/a%2Fb?q#f") }}') == "http://u@h:1/a/b?q#f"
    assert render_error('{{ urlParse "1:2" }}').endswith(
        'unable to parse url: parse "1:2": first path segment in URL cannot contain colon'
    )


def test_path_functions() -> None:
    assert render('{{ base "a/b/" }} {{ dir "/a/b/" }} {{ clean "a/../.." }} {{ ext "a.b/c" }}') == "b /a/b .. "
    assert render('{{ osBase "/a/b.txt" }} {{ osDir "foo/bar/baz" }} {{ osIsAbs "foo" }}') == "b.txt foo/bar false"


def test_env_and_expandenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOO", "bar")
    monkeypatch.delenv("NOPE_X", raising=False)
    assert render('{{ env "FOO" }}') == "bar"
    # "$$" is the special variable "$" (unset), "${}" is dropped, a trailing "$" stays
    assert render('{{ expandenv "Hello $FOO ${FOO} $NOPE_X ${} $$ a$" }}') == "Hello bar bar    a$"


# --- hashes and crypto --------------------------------------------------------------------------------------


def test_hash_sums() -> None:
    assert F["sha1sum"]("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert F["sha256sum"]("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert F["adler32sum"]("abc") == "38600999"


def test_derive_password_follows_master_password() -> None:
    assert F["derivePassword"](1, "long", "password", "user", "example.com") == "ZedaFaxcZaso9*"
    assert F["derivePassword"](1, "nope", "p", "u", "s") == "cannot find password template nope"


def test_htpasswd_sha_and_bcrypt() -> None:
    assert F["htpasswd"]("mySahUser", "myShaPassword", "sha") == "mySahUser:{SHA}2C1bZDUdiuMgec/S9ra/kXN8r6E="
    assert F["htpasswd"]("a:b", "p", "sha") == "invalid username: a:b"
    try:
        hashed = F["bcrypt"]("secret")
    except FuncError:
        pytest.skip("no bcrypt implementation on this machine")
    assert re.fullmatch(r"\$2a\$10\$[./A-Za-z0-9]{53}", hashed)


def test_aes_round_trip_and_uuid_and_rand_bytes() -> None:
    try:
        encrypted = F["encryptAES"]("secretkey", "plaintext")
    except FuncError:
        pytest.skip("no libcrypto on this machine")
    assert F["decryptAES"]("secretkey", encrypted) == "plaintext"
    with pytest.raises(FuncError, match=re.escape("slice bounds out of range [:16] with capacity 3")):
        F["decryptAES"]("k", "YWJj")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", F["uuidv4"]())
    assert len(base64.b64decode(F["randBytes"](12))) == 12


def test_gen_private_key_rejects_unknown_types() -> None:
    assert F["genPrivateKey"]("bad") == "Unknown type bad"


# --- flow control -------------------------------------------------------------------------------------------


def test_fail_and_required() -> None:
    assert render_error('{{ fail "This is an error!" }}').endswith("error calling fail: This is an error!")
    assert render_error('{{ required "need x" .x }}', {}).endswith("error calling required: need x")
    assert render('{{ required "need x" .x }}', {"x": 0}) == "0"


def test_typed_integer_inputs_convert_like_their_go_types() -> None:
    assert F["add"](TypedInt(2**64 - 1, "uint64"), 1) == 0
    assert F["date"]("2006", TypedInt(0, "int32")) == "1970"
