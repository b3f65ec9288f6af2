"""The ``meshinject`` command line: thin commands over the engine, the webhook and the cluster workflows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from cyclopts import App, Parameter

from meshinject import __version__

app = App(
    name="meshinject",
    help="Automatic sidecar injection for Istio/ASM service meshes, drop-in compatible.",
    version=__version__,
)


@app.command(name="template-conformance")
def template_conformance_cmd(
    cases_file: Path,
    /,
    *,
    only: Annotated[str | None, Parameter(help="Run only cases whose id contains this text.")] = None,
    verbose: Annotated[bool, Parameter(name=["--verbose", "-v"], help="Also list passing cases.")] = False,
    waivers: Annotated[
        Path | None, Parameter(help="Waiver file (default: tests/conformance_waivers.yaml).")
    ] = None,
    strict: Annotated[bool, Parameter(help="Compare Go's full error texts too.")] = False,
) -> int:
    """Run Go's or Sprig's recorded template test vectors; ends with `N passed, M failed, K skipped`."""
    from ._template_conformance import template_conformance

    return template_conformance(cases_file, only=only, verbose=verbose, waivers=waivers, strict=strict)


@app.command
def conformance(
    suite_dir: Path,
    /,
    *,
    level: Annotated[
        str, Parameter(help="semantic (parsed YAML equal) or byte (identical text).")
    ] = "semantic",
    only: Annotated[str | None, Parameter(help="Run only cases whose id contains this text.")] = None,
    json_report: Annotated[Path | None, Parameter(name="--json", help="Write a JSON report here.")] = None,
    waivers: Annotated[
        Path | None, Parameter(help="Waiver file (default: tests/istio_waivers.yaml).")
    ] = None,
    verbose: Annotated[bool, Parameter(name=["--verbose", "-v"], help="Also list passing cases.")] = False,
) -> int:
    """Run an Istio-layout injection suite on the kube-inject and webhook paths; ends with `N passed, M failed`."""
    from ._conformance import conformance as run

    return run(suite_dir, level=level, only=only, report=json_report, waivers=waivers, verbose=verbose)


@app.command
def demo(
    *,
    shared: Annotated[Path, Parameter(help="The shared contracts folder (bundles, fixtures).")] = Path(
        "../shared"
    ),
) -> int:
    """Render the `sidecar` template of the default bundle for inputs/hello.yaml and print it."""
    from ._demo import run_demo

    return run_demo(shared)


def main() -> None:
    result = app(sys.argv[1:])
    sys.exit(result if isinstance(result, int) else 0)
