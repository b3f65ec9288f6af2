"""Commands: restart. Each registers on :data:`meshinject.cli._app.app`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from ._app import app

__all__ = ["app", "restart"]


@app.command
def restart(
    *namespaces: Annotated[str, Parameter(help="Namespaces whose pods are re-created.")],
    namespace: Annotated[
        list[str] | None,
        Parameter(name=["--namespace", "-n"], negative_iterable=(), help="A namespace (same as naming it)."),
    ] = None,
    all_namespaces: Annotated[
        bool,
        Parameter(
            name=["--all-namespaces", "-A"],
            negative=(),
            help="Every namespace except kube-system, kube-public, kube-node-lease and local-path-storage.",
        ),
    ] = False,
    only_outdated: Annotated[
        bool,
        Parameter(
            negative=(),
            help="Only workloads with a pod whose sidecar is not what its namespace selects now: missing, of "
            "another revision, or with a stale proxy image.",
        ),
    ] = False,
    dry_run: Annotated[bool, Parameter(negative=(), help="Print the plan and change nothing.")] = False,
    max_parallel: Annotated[int, Parameter(help="Workloads restarted at the same time.")] = 1,
    timeout: Annotated[str, Parameter(help="Longest wait for one workload (90s, 5m, 1h).")] = "5m",
    no_wait: Annotated[
        bool, Parameter(name="--no-wait", negative=(), help="Do not wait for rollouts and replacements.")
    ] = False,
    recreate_bare_pods: Annotated[
        bool,
        Parameter(
            negative=(),
            help="Re-create pods no controller owns: save the manifest to a file, delete, create again.",
        ),
    ] = False,
    include_jobs: Annotated[
        bool, Parameter(negative=(), help="Also delete running Job pods (the Job starts replacements).")
    ] = False,
    backup_dir: Annotated[
        Path | None,
        Parameter(help="Where the manifests of re-created bare pods are saved (default: a new temporary directory)."),
    ] = None,
    istio_namespace: Annotated[
        str, Parameter(help="Where the revisions' ConfigMaps are, when their webhooks do not say.")
    ] = "istio-system",
    kubeconfig: Annotated[Path | None, Parameter(help="Kubeconfig file (default: as kubectl finds it).")] = None,
    context: Annotated[str | None, Parameter(help="Kubeconfig context.")] = None,
    output: Annotated[
        Literal["table", "json", "yaml"],
        Parameter(name=["--output", "-o"], help="table, or json/yaml (plan and results) on standard output."),
    ] = "table",
) -> int:
    """Re-create pods so that they get the sidecar their namespace selects now, workload by workload.

    Deployments, and StatefulSets and DaemonSets with a rolling update, get `kubectl rollout restart`; StatefulSets
    and DaemonSets with `updateStrategy: OnDelete` and pods of other controllers are deleted one at a time;
    running Job pods and bare pods are only reported unless --include-jobs / --recreate-bare-pods. Each rollout is
    waited for (--timeout each, --max-parallel at once); the first failure stops the run.

    Exit codes: 0 done, 1 a workload failed or could not be restarted, 2 usage or cluster error.

    For example, see what is outdated in two namespaces, then restart it everywhere, three workloads at a time:

    $ meshinject restart shop payments --only-outdated --dry-run

    $ meshinject restart -A --only-outdated --max-parallel 3 --timeout 10m
    """
    from meshinject.cluster.restart import run_restart

    return run_restart(
        [*namespaces, *(namespace or [])],
        all_namespaces=all_namespaces,
        only_outdated=only_outdated,
        dry_run=dry_run,
        max_parallel=max_parallel,
        timeout=timeout,
        wait_for_rollouts=not no_wait,
        recreate_bare_pods=recreate_bare_pods,
        include_jobs=include_jobs,
        backup_dir=backup_dir,
        istio_namespace=istio_namespace,
        kubeconfig=kubeconfig,
        context=context,
        output=output,
    )
