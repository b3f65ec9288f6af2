"""Shared helpers for the benchmark scripts: timing loops and the figures table."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any


def measure(fn: Callable[[], Any], *, warmup: int = 20, runs: int = 300) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), percentile(times, 99)


def print_table(rows: list[tuple[str, float, float]], figures: dict[str, float]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'median ms':>10}  {'p99 ms':>10}")
    for name, median, p99 in rows:
        print(f"{name:<{width}}  {median:>10.3f}  {p99:>10.3f}")
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))
