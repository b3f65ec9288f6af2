"""``meshinject conformance SUITE_DIR``: run an Istio-layout injection suite on both paths."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from meshinject.conformance.istio import (
    CaseResult,
    ServerTransport,
    load_suite,
    load_waivers,
    local_transport,
    run_case,
)
from meshinject.inject.config import ConfigError

DEFAULT_WAIVERS = Path("tests/istio_waivers.yaml")


def conformance(
    suite_dir: Path,
    *,
    level: str = "semantic",
    only: str | None = None,
    report: Path | None = None,
    waivers: Path | None = None,
    verbose: bool = False,
    out: TextIO | None = None,
    via_server: str | None = None,
    server_ca: Path | None = None,
) -> int:
    stream = out if out is not None else sys.stdout
    if level not in ("semantic", "byte"):
        print(f"error: --level must be semantic or byte, not {level!r}", file=stream)
        return 2
    try:
        suite = load_suite(suite_dir)
    except (ConfigError, OSError) as err:
        print(f"error: {err}", file=stream)
        return 2
    waived = load_waivers(waivers if waivers is not None else DEFAULT_WAIVERS)
    server: ServerTransport | None = None
    if via_server is not None:
        try:
            server = ServerTransport(via_server, ca_file=server_ca)
        except ConfigError as err:
            print(f"error: {err}", file=stream)
            return 2
        print(f"webhook path via {via_server}", file=stream)
    transport_for = server.transport_for if server is not None else local_transport
    results: list[CaseResult] = []
    for case in suite.cases:
        if only and only not in str(case.get("id")):
            continue
        result = run_case(suite, case, level=level, transport_for=transport_for)
        result.waived = waived.get(result.id)
        results.append(result)
        if not result.passed:
            tag = "WAIVED" if result.waived else "FAIL"
            print(f"{tag} {result.id}", file=stream)
            if result.waived:
                print(f"  reason: {result.waived}", file=stream)
            else:
                print("  " + result.detail.replace("\n", "\n  "), file=stream)
        elif verbose:
            print(f"ok   {result.id}", file=stream)
    if server is not None:
        server.close()
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    byte_checked = [r for r in results if r.byte_equal is not None]
    byte_equal = sum(bool(r.byte_equal) for r in byte_checked)
    print(f"kube-inject byte-identical: {byte_equal} of {len(byte_checked)}", file=stream)
    if report is not None:
        report.write_text(
            json.dumps(
                {
                    "level": level,
                    "passed": passed,
                    "failed": failed,
                    "byte_identical": byte_equal,
                    "cases": [
                        {
                            "id": r.id,
                            "passed": r.passed,
                            "waived": r.waived,
                            "byte_equal": r.byte_equal,
                            "detail": r.detail,
                        }
                        for r in results
                    ],
                },
                indent=2,
            )
        )
    print(f"{passed} passed, {failed} failed", file=stream)
    unwaived = [r for r in results if not r.passed and not r.waived]
    return 1 if unwaived else 0
