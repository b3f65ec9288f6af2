"""Istio's own injection golden cases (shared/conformance/istio), run on both paths through the real engine."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from meshinject.cli._conformance import conformance
from meshinject.conformance.istio import CaseResult, load_suite, run_case

SUITE = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "istio"

# Raise these as the engine improves; never lower them.
SEMANTIC_FLOOR = 112
BYTE_FLOOR = 106

pytestmark = pytest.mark.skipif(not SUITE.is_dir(), reason=f"shared suite not found at {SUITE}")


@pytest.fixture(scope="module")
def results() -> list[CaseResult]:
    suite = load_suite(SUITE)
    return [run_case(suite, case, level="byte") for case in suite.cases]


def test_every_shared_case_passes_on_both_paths(results: list[CaseResult]) -> None:
    failures = {r.id: r.detail for r in results if not r.passed}
    assert len(results) - len(failures) >= SEMANTIC_FLOOR, failures


def test_kube_inject_output_is_byte_identical_to_istioctl(results: list[CaseResult]) -> None:
    identical = [r.id for r in results if r.byte_equal]
    assert len(identical) >= BYTE_FLOOR


def test_runner_prints_the_closing_count_line() -> None:
    out = io.StringIO()
    code = conformance(SUITE, only="hello.yaml.injected", out=out)
    lines = out.getvalue().strip().splitlines()
    assert code == 0
    assert lines[-1].endswith("passed, 0 failed")


def test_runner_rejects_a_directory_without_cases(tmp_path: Path) -> None:
    out = io.StringIO()
    assert conformance(tmp_path, out=out) == 2
    assert "no cases.yaml" in out.getvalue()
