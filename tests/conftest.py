"""Fixtures shared by the test suite."""

from __future__ import annotations

import pytest

from k8s_cluster import find_binaries, k8s_fixture

# A real control plane, started once per session and only when a test asks for it (see tests/k8s_cluster.py).
k8s = k8s_fixture("session")


def pytest_report_header(config: pytest.Config) -> str:
    bin_dir, reason = find_binaries()
    if bin_dir is None:
        return f"kubernetes control plane: tests needing it are skipped ({reason})"
    return f"kubernetes control plane: binaries in {bin_dir}"
