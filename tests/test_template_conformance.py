"""The Go text/template and Sprig test vectors, run through meshinject.gotemplate.conformance."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from meshinject.cli._template_conformance import template_conformance
from meshinject.gotemplate._values import NoSuchField, TypedInt
from meshinject.gotemplate.conformance import (
    Case,
    FixtureStruct,
    OpaqueStringer,
    Report,
    build_data,
    format_report,
    load_cases,
    load_waivers,
    run_case,
    run_suite,
)

CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
GO_CASES = CONFORMANCE / "gotemplate" / "cases.yaml"
SPRIG_CASES = CONFORMANCE / "sprig" / "cases.yaml"
WAIVERS = Path(__file__).resolve().parent / "conformance_waivers.yaml"

# Measured floors: raise them as the engine improves, never lower them. Every case without needs tags passes
# (413 Go, 305 Sprig in the shared files); the totals also count the tagged cases the harness can express.
GO_UNTAGGED_FLOOR = 413
GO_TOTAL_FLOOR = 542
SPRIG_UNTAGGED_FLOOR = 305
SPRIG_TOTAL_FLOOR = 345

needs_vectors = pytest.mark.skipif(not GO_CASES.is_file(), reason="shared conformance vectors not present")


@pytest.fixture(scope="module")
def go_report() -> Report:
    return run_suite(GO_CASES, waivers=load_waivers(WAIVERS))


@pytest.fixture(scope="module")
def sprig_report() -> Report:
    return run_suite(SPRIG_CASES, waivers=load_waivers(WAIVERS))


def _case(suite: str, **raw: object) -> Case:
    base: dict[str, object] = {"id": "synthetic", "needs": []}
    if suite == "go":
        base.update(kind="exec", name="t")
    base.update(raw)
    return Case("go" if suite == "go" else "sprig", base)


# ------------------------------------------------------------------------------------------------------------
# The whole suites


@needs_vectors
def test_go_suite_passes_at_least_the_measured_floor(go_report: Report) -> None:
    assert go_report.untagged_passed >= GO_UNTAGGED_FLOOR, format_report(go_report)
    assert go_report.passed >= GO_TOTAL_FLOOR, format_report(go_report)


@needs_vectors
def test_sprig_suite_passes_at_least_the_measured_floor(sprig_report: Report) -> None:
    assert sprig_report.untagged_passed >= SPRIG_UNTAGGED_FLOOR, format_report(sprig_report)
    assert sprig_report.passed >= SPRIG_TOTAL_FLOOR, format_report(sprig_report)


@needs_vectors
def test_go_suite_has_no_failures_outside_the_waivers(go_report: Report) -> None:
    assert go_report.failed == 0, format_report(go_report)


@needs_vectors
def test_sprig_suite_has_no_failures_outside_the_waivers(sprig_report: Report) -> None:
    assert sprig_report.failed == 0, format_report(sprig_report)


@needs_vectors
def test_every_waiver_names_an_existing_case_and_gives_a_reason() -> None:
    ids = {case.id for case in load_cases(GO_CASES).cases} | {case.id for case in load_cases(SPRIG_CASES).cases}
    waivers = load_waivers(WAIVERS)
    assert sorted(set(waivers) - ids) == []
    assert all(waiver.reason for waiver in waivers.values())


# ------------------------------------------------------------------------------------------------------------
# Loading and skipping


@needs_vectors
def test_load_cases_tells_the_go_suite_from_the_sprig_suite() -> None:
    go_suite = load_cases(GO_CASES)
    sprig_suite = load_cases(SPRIG_CASES)
    assert go_suite.kind == "go"
    assert sprig_suite.kind == "sprig"
    assert go_suite.cases[0].id == "exec_test.go:TestExecute/empty"
    assert all(case.suite == "sprig" for case in sprig_suite.cases)


def test_load_cases_rejects_a_file_that_is_not_a_conformance_suite(tmp_path: Path) -> None:
    bogus = tmp_path / "cases.yaml"
    bogus.write_text("format: something-else\ncases: []\n")
    with pytest.raises(ValueError, match="not a gotmpl-conformance file"):
        load_cases(bogus)


def test_case_with_an_unsupported_tag_is_skipped_with_the_tag_as_reason() -> None:
    result = run_case(_case("go", template="{{.}}", needs=["typed-nil", "method"], expect=""))
    assert result.status == "skipped"
    assert result.reason == "typed-nil"
    assert not result.untagged


def test_sprig_typed_nil_tag_is_skipped() -> None:
    result = run_case(_case("sprig", template="{{.}}", vars=None, needs=["typed-nil"], expect=""))
    assert result.status == "skipped"
    assert result.reason == "typed-nil"


def test_sprig_env_is_set_for_the_run_and_restored_afterwards() -> None:
    name = "MESHINJECT_CONFORMANCE_PROBE"
    assert name not in os.environ
    case = _case("sprig", template=f'{{{{env "{name}"}}}}', vars={}, env={name: "bar"}, expect="bar", needs=["env"])
    assert run_case(case).status == "passed"
    assert name not in os.environ


# ------------------------------------------------------------------------------------------------------------
# Building data


def test_untagged_data_stays_plain_json_and_is_copied() -> None:
    data = {"U": {"V": "v"}, "U16": 16, "L": [1, 2]}
    built = build_data(data, {".": "*template.T", "U": "*template.U", "U16": "uint16"}, rich=False)
    assert built == data
    assert type(built["U16"]) is int
    built["L"].append(3)
    assert data["L"] == [1, 2]


def test_tagged_struct_data_becomes_a_go_struct_with_typed_ints() -> None:
    types = {
        ".": "*template.T",
        "U": "*template.U",
        "U.V": "string",
        "U16": "uint16",
        "V0": 'template.V [has String() method; String() = "<6666>"]',
        "V0.j": "unexported field: int",
        "Str": 'fmt.Stringer holding *bytes.Buffer [has String() method; String() = "foozle"] [opaque]',
    }
    data = {"U": {"V": "v"}, "U16": 16, "V0": {"j": 6666}, "Str": {"$unrepresentable": "fmt.Stringer"}}
    built = build_data(data, types, rich=True)
    assert isinstance(built, FixtureStruct)
    assert built.go_type_name() == "*template.T"
    u16 = built.go_field("U16")
    assert isinstance(u16, TypedInt)
    assert u16.go_type == "uint16"
    assert built.go_field("U").go_field("V") == "v"
    assert built.go_field("V0").go_string() == "<6666>"
    with pytest.raises(NoSuchField):
        built.go_field("V0").go_field("j")
    stringer = built.go_field("Str")
    assert isinstance(stringer, OpaqueStringer)
    assert stringer.go_string() == "foozle"
    with pytest.raises(NoSuchField):
        built.go_field("Missing")


def test_fixture_methods_follow_the_exec_test_descriptions() -> None:
    built = build_data({"I": 17, "U": {"V": "v"}}, {".": "*template.T", "U": "*template.U"}, rich=True)
    method2 = built.go_method("Method2")
    assert method2 is not None
    assert method2(16, "x") == "Method2: 16 x"
    madd = built.go_method("MAdd")
    assert madd is not None
    assert madd(17, [3, 4, 5]) == [20, 21, 22]
    get_u = built.go_method("GetU")
    assert get_u is not None
    true_false = get_u().go_method("TrueFalse")
    assert true_false is not None
    assert true_false(True) == "true"
    assert built.go_method("NoSuchMethod") is None


def test_function_values_of_the_fixtures_become_callables() -> None:
    types = {".": "*template.T", "BinaryFunc": "func(string, string) string [function value; not data]"}
    built = build_data({"BinaryFunc": {"$unrepresentable": "func(string, string) string"}}, types, rich=True)
    assert built.go_field("BinaryFunc")("1", "2") == "[1=2]"


# ------------------------------------------------------------------------------------------------------------
# Comparison rules (these run the engine on tiny synthetic cases)


def test_output_must_match_byte_for_byte() -> None:
    assert run_case(_case("go", template="a{{.x}}", data={"x": 1}, expect="a1")).status == "passed"
    result = run_case(_case("go", template="a{{.x}}", data={"x": 1}, expect="a1\n"))
    assert result.status == "failed"
    assert result.reason == "output differs"


def test_error_is_matched_as_substring_exact_or_suffix() -> None:
    base = {"template": "{{index 1 2}}", "errorPhase": "exec"}
    assert run_case(_case("go", error="can't index item of type int", **base)).status == "passed"
    exact = run_case(_case("go", error="can't index item of type int", errorMatch="exact", **base))
    assert exact.status == "failed"
    suffix = run_case(_case("go", error="index of untyped nil", errorMatch="suffix", **base))
    assert suffix.status == "failed"


def test_parse_error_in_the_exec_phase_is_a_failure() -> None:
    result = run_case(_case("go", template="{{if}}", error="missing value for if", errorPhase="exec"))
    assert result.status == "failed"
    assert result.reason == "error in parse phase, want exec"


def test_sprig_expect_vars_after_compares_the_mutated_vars() -> None:
    case = _case(
        "sprig",
        template='{{$_ := set .d "b" 2}}',
        vars={"d": {"a": 1}},
        expect="",
        expectVarsAfter={"d": {"a": 1, "b": 2}},
    )
    assert run_case(case).status == "passed"


def test_sprig_match_checks_properties_of_random_output() -> None:
    case = _case("sprig", template="{{randAlphaNum 7}}", vars=None, match={"runeCount": 7, "differsOnRerun": True})
    assert run_case(case).status == "passed"
    wrong = _case("sprig", template="{{randAlphaNum 7}}", vars=None, match={"runeCount": 8})
    result = run_case(wrong)
    assert result.status == "failed"
    assert result.reason == "7 runes, want 8"


# ------------------------------------------------------------------------------------------------------------
# Command line


@needs_vectors
def test_cli_prints_totals_as_the_last_line_and_exits_zero_when_all_pass() -> None:
    out = io.StringIO()
    code = template_conformance(GO_CASES, only="exec_test.go:TestExecute/empty", waivers=WAIVERS, out=out)
    assert out.getvalue().splitlines()[-1] == "1 passed, 0 failed, 0 skipped"
    assert code == 0


@needs_vectors
def test_cli_lists_a_failure_with_template_expected_and_got(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "format: gotmpl-conformance/1\nsuite: Go text/template\ncases:\n"
        "- {id: 'x:T/one', kind: exec, name: t, template: '{{.}}', data: 1, expect: '2', needs: []}\n"
    )
    out = io.StringIO()
    code = template_conformance(cases, waivers=WAIVERS, out=out)
    lines = out.getvalue().splitlines()
    assert code == 1
    assert lines[0] == "FAIL x:T/one: output differs"
    assert lines[1] == "  template: '{{.}}'"
    assert lines[2] == "  expected: '2'"
    assert lines[3] == "  got:      '1'"
    assert lines[-1] == "0 passed, 1 failed, 0 skipped"


def test_cli_reports_an_unreadable_cases_file_with_exit_code_2(tmp_path: Path) -> None:
    out = io.StringIO()
    assert template_conformance(tmp_path / "missing.yaml", waivers=WAIVERS, out=out) == 2
    assert out.getvalue().startswith("error: ")
