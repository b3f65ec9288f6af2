"""kubectl's kubeconfig precedence and merging, and the errors when no cluster is configured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from meshinject.cluster.client import ClusterError, connect, load_kubeconfig


def kubeconfig(path: Path, *, cluster: str, server: str, context: str, current: str | None = None) -> Path:
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "users": [{"name": f"{cluster}-user", "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"{cluster}-user"}}],
    }
    if current:
        data["current-context"] = current
    path.write_text(yaml.safe_dump(data))
    return path


def test_kubeconfig_list_is_merged_and_first_current_context_wins(tmp_path: Path) -> None:
    a = kubeconfig(tmp_path / "a", cluster="one", server="https://127.0.0.1:1", context="ctx-a", current="ctx-b")
    b = kubeconfig(tmp_path / "b", cluster="two", server="https://127.0.0.1:2", context="ctx-b", current="ctx-a")
    config = load_kubeconfig(environ={"KUBECONFIG": f"{a}{os.pathsep}{b}"})
    single = config.get()
    assert single is not None
    assert single.cluster.server == "https://127.0.0.1:2"  # current-context from the first file: ctx-b
    assert config.get(context_name="ctx-a").cluster.server == "https://127.0.0.1:1"


def test_first_file_wins_for_a_name_defined_twice(tmp_path: Path) -> None:
    a = kubeconfig(tmp_path / "a", cluster="same", server="https://127.0.0.1:1", context="c", current="c")
    b = kubeconfig(tmp_path / "b", cluster="same", server="https://127.0.0.1:2", context="c")
    single = load_kubeconfig(environ={"KUBECONFIG": f"{a}{os.pathsep}{b}"}).get()
    assert single is not None and single.cluster.server == "https://127.0.0.1:1"


def test_flag_beats_environment(tmp_path: Path) -> None:
    a = kubeconfig(tmp_path / "a", cluster="one", server="https://127.0.0.1:1", context="c", current="c")
    b = kubeconfig(tmp_path / "b", cluster="two", server="https://127.0.0.1:2", context="c", current="c")
    single = load_kubeconfig(b, environ={"KUBECONFIG": str(a)}).get()
    assert single is not None and single.cluster.server == "https://127.0.0.1:2"


def test_home_config_is_used_when_kubeconfig_is_unset(tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    kubeconfig(tmp_path / ".kube" / "config", cluster="h", server="https://127.0.0.1:3", context="c", current="c")
    single = load_kubeconfig(environ={"HOME": str(tmp_path)}).get()
    assert single is not None and single.cluster.server == "https://127.0.0.1:3"


def test_no_configuration_at_all_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="set --kubeconfig or KUBECONFIG"):
        load_kubeconfig(environ={"HOME": str(tmp_path)})


def test_missing_kubeconfig_flag_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="no such file"):
        load_kubeconfig(tmp_path / "nope")


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    a = kubeconfig(tmp_path / "a", cluster="one", server="https://127.0.0.1:1", context="ctx-a", current="ctx-a")
    with pytest.raises(ClusterError, match="context 'other' is not in the kubeconfig"):
        connect(a, "other")
