"""``meshinject template-conformance CASES_FILE``: run Go's or Sprig's recorded test vectors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import yaml

from meshinject.gotemplate.conformance import Waiver, format_report, load_waivers, run_suite

#: where the project keeps its waiver file; used when the caller names none and it exists
DEFAULT_WAIVERS = Path("tests/conformance_waivers.yaml")


def template_conformance(
    cases_file: Path,
    *,
    only: str | None = None,
    verbose: bool = False,
    waivers: Path | None = None,
    strict: bool = False,
    out: TextIO | None = None,
) -> int:
    """Run a conformance file (Go ``text/template`` or Sprig) and print failures and totals.

    Returns 0 when no case fails outside the waiver file, 1 when some do, 2 when the files cannot be read.
    ``only`` selects cases by id substring or glob; ``strict`` also compares Go's full error texts.
    """
    stream = out if out is not None else sys.stdout
    waiver_path = waivers if waivers is not None else (DEFAULT_WAIVERS if DEFAULT_WAIVERS.is_file() else None)
    try:
        waiver_map: dict[str, Waiver] = load_waivers(waiver_path) if waiver_path is not None else {}
        report = run_suite(cases_file, only=only, waivers=waiver_map, strict=strict)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=stream)
        return 2
    print(format_report(report, verbose=verbose), file=stream)
    return 0 if report.failed == 0 else 1
