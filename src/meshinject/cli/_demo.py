"""``meshinject demo``: the injector at work on the built-in configuration, no cluster needed.

It injects every manifest in ``examples/`` offline (what ``meshinject inject`` does), shows what each workload
got and why, prints one injected manifest in full, and then (when the webhook server is available) starts the
server on localhost and sends it real AdmissionReviews.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from meshinject.inject.config import builtin_config
from meshinject.inject.kubeinject import DocumentResult, KubeInjectSettings, kube_inject

EXAMPLES = Path("examples")
SHOWCASE = "deployment.yaml"


def _pod_specs(obj: Any) -> list[dict[str, Any]]:
    """The pod specs inside a workload object (several for a List)."""
    if not isinstance(obj, dict):
        return []
    if obj.get("kind") == "List":
        return [spec for item in obj.get("items") or [] for spec in _pod_specs(item)]
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return [spec]
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return [(spec.get("template") or {}).get("spec") or {}]


def _names(spec: dict[str, Any], key: str) -> list[str]:
    return [str(c.get("name")) for c in spec.get(key) or []]


def _added(result: DocumentResult) -> str:
    before = [n for s in _pod_specs(result.original) for k in ("initContainers", "containers") for n in _names(s, k)]
    after = [n for s in _pod_specs(result.result) for k in ("initContainers", "containers") for n in _names(s, k)]
    added = [n for n in after if n not in before]
    return ", ".join(dict.fromkeys(added)) or "-"


def run_demo(shared: Path) -> int:
    # Wide enough for the table when the output is a pipe or a CI log, not a terminal.
    console = Console(width=160) if not Console().is_terminal else Console()
    config = builtin_config()
    settings = KubeInjectSettings(config=config)
    table = Table(title="meshinject inject -f examples/*.yaml (built-in configuration)")
    for column in ("file", "kind", "name", "result", "containers added", "why"):
        table.add_column(column)
    failed = 0
    showcase = ""
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for result in kube_inject(path.read_text(), settings):
            if result.error is not None:
                failed += 1
                outcome, why = "[red]error[/red]", str(result.error)
            elif result.injected:
                outcome, why = "[green]injected[/green]", result.reason
            elif result.result is None:
                outcome, why = "passed through", result.reason
            else:
                outcome, why = "[yellow]not injected[/yellow]", result.reason
            added = _added(result) if result.result is not None else "-"
            table.add_row(path.name, result.kind, result.name, outcome, added, why)
            if path.name == SHOWCASE and result.injected and not showcase:
                showcase = result.text
    console.print(table)
    if showcase:
        console.rule(f"examples/{SHOWCASE}, injected")
        console.print(showcase, markup=False, highlight=False)
    code = 1 if failed else 0
    try:
        from ._demo_server import run_demo_server
    except ImportError:
        return code
    console.rule("the admission webhook on localhost")
    return max(code, run_demo_server(shared, EXAMPLES))
