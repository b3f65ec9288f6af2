"""Commands: status, analyze, check-inject. Each registers on :data:`meshinject.cli._app.app`.

Exit codes: 0 done (status: every pod OK with --strict; analyze: nothing at or above --failure-threshold;
check-inject: at most one webhook would inject); 1 not so; 2 usage errors, unknown names and cluster errors
(unreachable, forbidden).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Parameter

from ._app import app
from ._output import connect as _connect
from ._output import emit as _emit
from ._output import error as _error

if TYPE_CHECKING:
    from rich.console import Console

    from meshinject.cluster.analyze import Finding
    from meshinject.cluster.checkinject import CheckResult
    from meshinject.cluster.status import PodStatus

__all__ = ["analyze", "app", "check_inject", "status"]

Output = Literal["table", "json", "yaml"]
Level = Literal["Error", "Warning", "Info"]

_KUBECONFIG = Parameter(help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).")
_CONTEXT = Parameter(help="Kubeconfig context (default: the current context).")
_NAMESPACE = Parameter(name=["--namespace", "-n"], help="Namespace (default: the kubeconfig context's, else default).")
_ALL = Parameter(name=["--all-namespaces", "-A"], negative=(), help="Every namespace.")
_ISTIO_NS = Parameter(help="Namespace of the control plane (istiod pods, injector ConfigMaps).")

_VERDICT_STYLE = {"OK": "green", "NOT INJECTED": "bold red", "NEEDS RESTART": "yellow", "NOT READY": "red"}
_LEVEL_STYLE = {"Error": "bold red", "Warning": "yellow", "Info": "cyan"}


# -- output helpers -------------------------------------------------------------------------------------------


def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    """A message for people, on standard error: standard output stays machine-readable with -o json/yaml."""
    _stderr().print(message, markup=False)


class _Stdout:
    """Standard output for tables: a terminal gets rich's rendering; a pipe gets uncoloured rows at their
    natural width (never folded to 80 columns, like kubectl) without the cells' trailing padding."""

    def __init__(self) -> None:
        from rich.console import Console

        self.terminal = Console(highlight=False, soft_wrap=True)

    def print(self, *renderables: Any, soft_wrap: bool = True, markup: bool | None = None) -> None:
        if self.terminal.is_terminal:
            self.terminal.print(*renderables, soft_wrap=soft_wrap, markup=markup)
            return
        import io

        from rich.console import Console

        buffer = io.StringIO()
        Console(file=buffer, highlight=False, width=100_000, color_system=None).print(
            *renderables, soft_wrap=soft_wrap, markup=markup
        )
        sys.stdout.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))
        sys.stdout.flush()


def _stdout() -> _Stdout:
    return _Stdout()


def _scope(positional: str | None, namespace: str | None, all_namespaces: bool) -> tuple[str | None, str | None]:
    """(namespace given, usage error): NAMESPACE and -n must agree, and -A excludes both."""
    if positional and namespace and positional != namespace:
        return None, f"namespace given twice ({positional!r} and -n {namespace!r})"
    chosen = positional or namespace
    if chosen and all_namespaces:
        return None, "give a namespace or -A/--all-namespaces, not both"
    return chosen, None


# -- status ---------------------------------------------------------------------------------------------------


def render_status(rows: Sequence[PodStatus], *, all_namespaces: bool, console: Console | _Stdout) -> None:
    """kubectl's pod columns plus SIDECAR, REVISION, EXPECTED and VERDICT; then why each non-OK pod is not OK."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False)
    columns = ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "SIDECAR", "REVISION", "EXPECTED", "VERDICT"]
    if all_namespaces:
        columns.insert(0, "NAMESPACE")
    for column in columns:
        table.add_column(column, no_wrap=True)
    for row in rows:
        cells: list[str | Text] = [
            row.name,
            row.columns.ready_text,
            row.columns.status,
            row.columns.restarts_text,
            row.columns.age,
            row.sidecar.text,
            row.revision or "-",
            row.expectation.text,
            Text(row.verdict, style=_VERDICT_STYLE.get(row.verdict, "")),
        ]
        if all_namespaces:
            cells.insert(0, row.namespace)
        table.add_row(*cells)
    console.print(table)
    problems = [row for row in rows if row.reasons and not row.ok]
    if problems:
        console.print()
    for row in problems:
        for reason in row.reasons:
            console.print(Text.assemble((f"{row.namespace}/{row.name}", "bold"), f": {reason}"), soft_wrap=True)


def _status_summary(rows: Sequence[PodStatus]) -> dict[str, int]:
    from meshinject.cluster.status import VERDICTS

    return {verdict: sum(1 for r in rows if r.verdict == verdict) for verdict in VERDICTS}


@app.command
def status(
    namespace_arg: Annotated[str | None, Parameter(name="NAMESPACE", help="Namespace to show.")] = None,
    /,
    *,
    namespace: Annotated[str | None, _NAMESPACE] = None,
    all_namespaces: Annotated[bool, _ALL] = False,
    strict: Annotated[bool, Parameter(negative=(), help="Exit 1 unless every pod's verdict is OK.")] = False,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, Parameter(name=["--output", "-o"], help="table, json or yaml.")] = "table",
) -> int:
    """Pods with their sidecar, revision, the revision their labels select now, and a verdict.

    READY, STATUS, RESTARTS and AGE are kubectl's (native sidecars count in READY). SIDECAR: yes (classic),
    yes (native) or no. REVISION: the revision that injected the pod. EXPECTED: the revision the injection
    webhooks and the injector's policy would give the pod if it were created now (- for none). VERDICT: OK,
    NOT INJECTED (should have a sidecar, has none), NEEDS RESTART (other revision, none wanted any more, or a
    stale proxy image), NOT READY.

    Example: `meshinject status shop`; `meshinject status -A --strict` (exit 1 unless every pod is OK);
    `meshinject status -n shop -o json`.
    """
    from meshinject.cluster.client import ClusterError
    from meshinject.cluster.status import load_view, resolve_namespace, status_rows

    chosen, problem = _scope(namespace_arg, namespace, all_namespaces)
    if problem:
        return _error(problem)
    try:
        with _connect(kubeconfig, context) as client:
            scope = resolve_namespace(client, chosen, all_namespaces)
            view = load_view(client, scope, istio_namespace=istio_namespace)
    except ClusterError as err:
        return _error(str(err))
    rows = status_rows(view)
    for warning in view.warnings:
        _say(f"warning: {warning}")
    if output != "table":
        _emit({"items": [row.to_dict() for row in rows], "summary": _status_summary(rows)}, output)
    elif not rows:
        _say(f"No pods found in {'any namespace' if scope is None else f'namespace {scope}'}.")
    else:
        render_status(rows, all_namespaces=scope is None, console=_stdout())
    if strict and any(not row.ok for row in rows):
        return 1
    return 0


# -- analyze --------------------------------------------------------------------------------------------------


def render_findings(findings: Sequence[Finding], console: Console | _Stdout) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False)
    for column in ("LEVEL", "CODE", "RESOURCE", "MESSAGE"):
        table.add_column(column, no_wrap=column != "MESSAGE", overflow="fold")
    for finding in findings:
        message = Text(finding.message)
        if finding.detail:
            message.append(f"\n{finding.detail}", style="dim")
        table.add_row(
            Text(finding.level, style=_LEVEL_STYLE.get(finding.level, "")), finding.code, finding.origin, message
        )
    console.print(table)


@app.command
def analyze(
    namespace_arg: Annotated[str | None, Parameter(name="NAMESPACE", help="Namespace to analyze.")] = None,
    /,
    *,
    namespace: Annotated[str | None, _NAMESPACE] = None,
    all_namespaces: Annotated[bool, _ALL] = False,
    failure_threshold: Annotated[
        Level, Parameter(help="Exit 1 when a finding is at least this severe (as istioctl analyze).")
    ] = "Error",
    output_threshold: Annotated[Level, Parameter(help="Show findings at least this severe.")] = "Info",
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[
        Literal["table", "json", "yaml", "log"],
        Parameter(name=["--output", "-o"], help="table, json, yaml, or log (istioctl analyze's lines)."),
    ] = "table",
) -> int:
    """Find injection problems: Istio's analyzer codes (IST0102, IST0103, IST0123, IST0139, IST0158) and meshinject's.

    meshinject's own codes: MI0001 (Error) a namespace label names a revision or tag that does not exist or that
    no webhook serves; MI0002 (Error) the same for a pod label; MI0003 (Info, with -A) a revision nothing
    selects, safe to remove; MI0004 (Warning) a pod that should have a sidecar and has none; MI0005 (Warning) a
    pod whose sidecar is of another revision than its labels select now. Exit 1 when a finding reaches
    --failure-threshold (Error by default, as istioctl analyze), 2 when the cluster cannot be read.

    Example: `meshinject analyze -A`; `meshinject analyze shop --failure-threshold Warning -o log`.
    """
    from meshinject.cluster.analyze import LEVELS, exceeds, input_from_view, load_services
    from meshinject.cluster.analyze import analyze as run_analysis
    from meshinject.cluster.client import ClusterError
    from meshinject.cluster.status import load_view, resolve_namespace

    chosen, problem = _scope(namespace_arg, namespace, all_namespaces)
    if problem:
        return _error(problem)
    try:
        with _connect(kubeconfig, context) as client:
            scope = resolve_namespace(client, chosen, all_namespaces)
            view = load_view(client, scope, istio_namespace=istio_namespace)
            services = load_services(client, view.webhooks)
    except ClusterError as err:
        return _error(str(err))
    for warning in view.warnings:
        _say(f"warning: {warning}")
    for (svc_ns, svc_name), exists in services.items():
        if exists is None:
            _say(f"warning: cannot check that service {svc_ns}/{svc_name} exists (not allowed to get services)")
    findings = run_analysis(input_from_view(view, services))
    shown = [f for f in findings if LEVELS.index(f.level) <= LEVELS.index(output_threshold)]
    target = "all namespaces" if scope is None else f"namespace: {scope}"
    if output in ("json", "yaml"):
        _emit([f.to_dict() for f in shown], output)
    elif not shown:
        _say(f"\u2714 No validation issues found when analyzing {target}.")
    elif output == "log":
        for finding in shown:
            sys.stdout.write(finding.log_line() + "\n")
        sys.stdout.flush()
    else:
        render_findings(shown, _stdout())
    return 1 if exceeds(findings, failure_threshold) else 0


# -- check-inject ---------------------------------------------------------------------------------------------


def _requirements_text(reqs: Sequence[Any], matches: bool) -> Any:
    from rich.text import Text

    if not reqs:
        return Text("\u2714 (matches everything)" if matches else "\u2718", style="green" if matches else "red")
    text = Text()
    for index, req in enumerate(reqs):
        if index:
            text.append("\n")
        mark, style = ("\u2714", "green") if req.satisfied else ("\u2718", "red")
        actual = "absent" if req.actual is None else f"is {req.actual!r}"
        text.append(f"{mark} ", style=style)
        text.append(f"{req.requirement} ({actual})")
    return text


def render_check(result: CheckResult, console: Console | _Stdout) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    target = result.target
    labels = ",".join(f"{k}={v}" for k, v in sorted(result.namespace_labels.items()))
    console.print(Text.assemble(("Target: ", "bold"), target.description), soft_wrap=True)
    if target.kind != "Labels":
        pod_labels = ",".join(f"{k}={v}" for k, v in sorted(target.labels.items())) or "(none)"
        console.print(Text.assemble(("Pod labels: ", "bold"), pod_labels), soft_wrap=True)
    console.print(Text.assemble((f"Namespace {target.namespace} labels: ", "bold"), labels or "(none)"), soft_wrap=True)
    if target.sidecar is not None:
        now = (
            f"has a sidecar ({target.sidecar.mode}) of revision {target.revision or 'unknown'}"
            if target.sidecar.present
            else "has no sidecar"
        )
        console.print(Text.assemble(("Now: ", "bold"), f"the pod {now}"), soft_wrap=True)
    console.print()
    if not result.matches:
        console.print("ERROR: no injection webhooks in the cluster.", markup=False)
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False, show_lines=True)
    for column in ("WEBHOOK", "REVISION", "NAMESPACE SELECTOR", "OBJECT SELECTOR", "CALLED"):
        table.add_column(column, overflow="fold")
    for match in result.matches:
        wh = match.webhook
        revision = (wh.revision or "default") + (f"\n(tag {wh.tag})" if wh.tag else "")
        called = match.matches and not wh.deactivated
        verdict = Text("\u2714 yes" if called else "\u2718 no", style="green" if called else "red")
        if wh.deactivated:
            verdict.append("\n(deactivated)", style="dim")
        if match.cel_unchecked:
            verdict.append("\n(matchConditions not evaluated)", style="dim")
        table.add_row(
            f"{wh.config_name}\n{wh.webhook_name}",
            revision,
            _requirements_text(match.namespace_requirements, match.namespace_matches),
            _requirements_text(match.object_requirements, match.object_matches),
            verdict,
        )
    console.print(table)
    if result.decisions:
        console.print()
    for item in result.decisions:
        outcome = Text("inject", style="green") if item.decision.inject else Text("skip", style="red")
        console.print(
            Text.assemble(
                ("Injector of revision ", "bold"),
                (item.revision, "bold"),
                f" (policy {item.injector.policy}; {item.injector.source or 'defaults'}): ",
                outcome,
                f" \u2014 {item.decision.reason}",
            ),
            soft_wrap=True,
        )
    console.print()
    style = "bold red" if result.conflict else "bold"
    console.print(Text(result.summary(), style=style), soft_wrap=True)
    note = result.restart_note()
    if note:
        console.print(Text(f"Note: {note}.", style="yellow"), soft_wrap=True)


@app.command(name="check-inject")
def check_inject(
    reference: Annotated[
        str | None, Parameter(name="POD", help="A pod name, or KIND/NAME: deployment/web, statefulset/db, ...")
    ] = None,
    /,
    *,
    labels: Annotated[
        str | None,
        Parameter(name=["--labels", "-l"], help="Check a would-be pod with these labels (KEY=VALUE,...) instead."),
    ] = None,
    namespace: Annotated[str | None, _NAMESPACE] = None,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, Parameter(name=["--output", "-o"], help="table, json or yaml.")] = "table",
) -> int:
    """Would this pod be injected, and why: every injection webhook selector by selector, then the injector.

    For each injection webhook, its namespaceSelector is checked against the namespace's labels and its
    objectSelector against the pod's labels, requirement by requirement; then, for the revision whose webhook
    is called, the injector's own decision (sidecar.istio.io/inject, never/alwaysInjectSelector, policy from the
    revision's ConfigMap). Exit 1 when two webhooks would inject the pod.

    Example: `meshinject check-inject web-7d4b9-x2x5v -n shop`; `meshinject check-inject deployment/web -n shop`;
    `meshinject check-inject -l app=web,version=v2 -n shop`.
    """
    from meshinject.cluster.checkinject import (
        TargetError,
        load_target,
        parse_label_pairs,
        parse_reference,
        target_from_labels,
    )
    from meshinject.cluster.checkinject import check_inject as run_check
    from meshinject.cluster.client import ClusterError
    from meshinject.cluster.status import load_view, resolve_namespace

    if (reference is None) == (labels is None):
        return _error("give a POD (or KIND/NAME) or -l LABELS, exactly one of them")
    try:
        kind, name = parse_reference(reference) if reference is not None else ("Labels", "")
        pod_labels = parse_label_pairs(labels) if labels is not None else {}
    except TargetError as err:
        return _error(str(err))
    try:
        with _connect(kubeconfig, context) as client:
            scope = resolve_namespace(client, namespace, False) or "default"
            view = load_view(client, scope, istio_namespace=istio_namespace, with_pods=False)
            target = (
                target_from_labels(scope, pod_labels) if kind == "Labels" else load_target(client, kind, name, scope)
            )
    except ClusterError as err:
        return _error(str(err))
    for warning in view.warnings:
        _say(f"warning: {warning}")
    result = run_check(target, view.labels_of(scope), view.webhooks, view.injectors)
    if output != "table":
        _emit(result.to_dict(), output)
    else:
        render_check(result, _stdout())
    return 1 if result.conflict else 0
