"""Output shared by the commands: messages for people on stderr, data on stdout (tables, JSON, YAML)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lightkube import Client

Output = Literal["table", "json", "yaml"]


def say(message: str) -> None:
    """A message for people: on standard error, so standard output stays machine-readable with -o json/yaml."""
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(message, markup=False)


def error(message: str, code: int = 2) -> int:
    """Print ``error: MESSAGE`` and return the exit code (2: usage or cluster error, by default)."""
    say(f"error: {message}")
    return code


def emit(data: Any, output: str) -> None:
    """Machine-readable output: JSON (``-o json``) or YAML (anything else)."""
    if output == "json":
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    sys.stdout.flush()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table on standard output; to a pipe or a file, like kubectl: never folded, no trailing blanks."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    rendered = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False)
    for column in columns:
        rendered.add_column(column, overflow="fold")
    for row in rows:
        rendered.add_row(*row)
    if sys.stdout.isatty():
        Console(highlight=False).print(rendered)
        return
    console = Console(highlight=False, width=1000, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(rendered)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def connect(kubeconfig: Path | None, context: str | None) -> Client:
    from meshinject.cluster.client import connect as cluster_connect

    return cluster_connect(kubeconfig, context)
