"""The whole ASM upgrade workflow, end to end, against a real API server with two real injection servers.

Two revisions are installed (ConfigMaps + webhook configurations pointing at `meshinject serve` processes on
127.0.0.1); `default` is a tag on r1, so `istio-injection=enabled` namespaces use r1. Workloads of every kind are
injected by r1; `enable` moves the namespace to r2; `status` says NEEDS RESTART; `restart` re-creates Deployment,
StatefulSet, DaemonSet and bare-pod workloads; `status --strict` is then clean. `analyze` flags a namespace that
has both labels, and `tag set` moves a namespace between revisions.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from lightkube.models.apps_v1 import DaemonSetSpec, DeploymentSpec, StatefulSetSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, Toleration
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import DaemonSet, Deployment, StatefulSet
from lightkube.resources.core_v1 import Namespace, Pod

from k8s_cluster import DEFAULT_NODE, K8sCluster, find_binaries, wait_for
from test_install_cluster import cleanup, start_server, wait_ready, write_pki

_BINARIES, _REASON = find_binaries()
pytestmark = pytest.mark.skipif(_BINARIES is None, reason=_REASON)


def template(app: str) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": app}),
        spec=PodSpec(
            containers=[Container(name="app", image=f"registry.example/{app}:1")],
            tolerations=[Toleration(operator="Exists")],
        ),
    )


def workloads() -> list[Any]:
    selector = {"app": "web"}
    # Other tests of the session register nodes of their own: keep the DaemonSet on the node our kubelet plays.
    agent = template("agent")
    assert agent.spec is not None
    agent.spec.nodeSelector = {"kubernetes.io/hostname": DEFAULT_NODE}
    return [
        Deployment(
            metadata=ObjectMeta(name="web"),
            spec=DeploymentSpec(replicas=2, selector=LabelSelector(matchLabels=selector), template=template("web")),
        ),
        StatefulSet(
            metadata=ObjectMeta(name="db"),
            spec=StatefulSetSpec(
                replicas=1, serviceName="db", selector=LabelSelector(matchLabels={"app": "db"}), template=template("db")
            ),
        ),
        DaemonSet(
            metadata=ObjectMeta(name="agent"),
            spec=DaemonSetSpec(selector=LabelSelector(matchLabels={"app": "agent"}), template=agent),
        ),
        Pod(metadata=ObjectMeta(name="debug", labels={"app": "debug"}), spec=template("debug").spec),
    ]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], k8s: K8sCluster) -> Any:
    from meshinject.cli import app

    def run(*args: str) -> tuple[int, str, str]:
        code = app([*args, "--kubeconfig", str(k8s.kubeconfig)], result_action="return_value")
        out, err = capsys.readouterr()
        return int(code), out, err

    return run


def pod_rows(cli: Any, namespace: str, cp: str) -> dict[str, dict[str, Any]]:
    code, out, err = cli("status", namespace, "--istio-namespace", cp, "-o", "json")
    assert code in (0, 1), err
    data = json.loads(out)
    rows = data["items"]
    return {row["name"]: row for row in rows}


def live(k8s: K8sCluster, namespace: str) -> list[dict[str, Any]]:
    k8s.finalize_deleted_pods(namespace)
    pods = [p.to_dict() for p in k8s.admin.list(Pod, namespace=namespace)]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def test_asm_upgrade_workflow_end_to_end(k8s: K8sCluster, cli: Any, tmp_path: Path) -> None:
    suffix = secrets.token_hex(2)
    r1, r2 = f"r1-{suffix}", f"r2-{suffix}"
    cp, shop, both, tagged = (f"mi-{n}-{suffix}" for n in ("cp", "shop", "both", "tagged"))
    ca, cert, key = write_pki(tmp_path / "pki")
    servers = [start_server(rev, cert, key, tmp_path / f"{rev}.log") for rev in (r1, r2)]
    try:
        with cleanup(k8s, [r1, r2], [cp, shop, both, tagged]):
            for server in servers:
                wait_ready(server, ca.read_bytes())
            for revision, server in zip((r1, r2), servers, strict=True):
                code, _, err = cli(
                    "install", "--revision", revision, "-n", cp, "--webhook-url", server.url,
                    "--ca-bundle", str(ca), "--timeout", "60",
                )  # fmt: skip
                assert code == 0, err
            code, _, err = cli("tag", "set", "default", "--revision", r1, "--istio-namespace", cp)
            assert code == 0, err

            code, out, err = cli("revisions", "--istio-namespace", cp, "-o", "json")
            assert code == 0, err
            listed = json.dumps(json.loads(out))
            assert r1 in listed and r2 in listed

            # The legacy label, served by r1 through the default tag: every workload kind gets r1's sidecar.
            k8s.admin.create(Namespace(metadata=ObjectMeta(name=shop, labels={"istio-injection": "enabled"})))
            with k8s.kubelet(namespaces=[shop]):
                for obj in workloads():
                    k8s.admin.create(obj, namespace=shop)
                pods = wait_for(lambda: p if len(p := live(k8s, shop)) == 5 else None, timeout=60, what="5 pods")
                for pod in pods:
                    assert pod["metadata"]["annotations"]["istio.io/rev"] == r1, pod["metadata"]["name"]

                def all_ok() -> dict[str, dict[str, Any]] | None:
                    rows = pod_rows(cli, shop, cp)
                    return rows if all(v["verdict"] == "OK" for v in rows.values()) else None

                rows = wait_for(all_ok, timeout=30, what="every pod OK on r1")
                assert {v["revision"] for v in rows.values()} == {r1}

                # Move the namespace to r2: one patch sets istio.io/rev and removes istio-injection.
                code, out, err = cli("enable", shop, "--revision", r2, "--istio-namespace", cp)
                assert code == 0, err
                labels = k8s.admin.get(Namespace, shop).metadata.labels
                assert labels["istio.io/rev"] == r2 and "istio-injection" not in labels
                rows = pod_rows(cli, shop, cp)
                assert {v["verdict"] for v in rows.values()} == {"NEEDS RESTART"}
                assert {v["expected"]["revision"] for v in rows.values()} == {r2}

                code, out, err = cli(
                    "restart", shop, "--istio-namespace", cp, "--recreate-bare-pods",
                    "--backup-dir", str(tmp_path / "backup"), "--timeout", "90s",
                )  # fmt: skip
                assert code == 0, err
                pods = wait_for(
                    lambda: (
                        p
                        if len(p := live(k8s, shop)) == 5
                        and all(x["metadata"]["annotations"].get("istio.io/rev") == r2 for x in p)
                        else None
                    ),
                    timeout=60,
                    what="5 pods re-created with r2's sidecar",
                )
                assert sorted(p["metadata"]["name"].split("-")[0] for p in pods) == [
                    "agent", "db", "debug", "web", "web",
                ]  # fmt: skip
                assert list((tmp_path / "backup").iterdir()), "the bare pod's manifest was saved before deletion"
                code, out, err = wait_for(
                    lambda: r if (r := cli("status", shop, "--istio-namespace", cp, "--strict"))[0] == 0 else None,
                    timeout=30,
                    what="status --strict to pass",
                )

            # A namespace with both labels: auto-injection does not use the revision (IST0123).
            k8s.admin.create(
                Namespace(metadata=ObjectMeta(name=both, labels={"istio-injection": "enabled", "istio.io/rev": r2}))
            )
            code, out, err = cli("analyze", both, "--istio-namespace", cp, "-o", "json")
            findings = json.loads(out)
            findings = findings["findings"] if isinstance(findings, dict) else findings
            assert any(f["code"] == "IST0123" and f["resource"] == both for f in findings), findings

            # A tag moves a namespace between revisions without touching the namespace.
            k8s.admin.create(Namespace(metadata=ObjectMeta(name=tagged, labels={"istio.io/rev": "prod"})))
            code, _, err = cli("tag", "set", "prod", "--revision", r1, "--istio-namespace", cp)
            assert code == 0, err
            code, out, _ = cli("check-inject", "-l", "app=web", "-n", tagged, "--istio-namespace", cp, "-o", "json")
            verdict = json.loads(out)
            assert (verdict["inject"], verdict["revision"], verdict["conflict"]) == (True, r1, False)
            code, _, err = cli("tag", "set", "prod", "--revision", r2, "--istio-namespace", cp)
            assert code == 0, err
            code, out, _ = cli("check-inject", "-l", "app=web", "-n", tagged, "--istio-namespace", cp, "-o", "json")
            verdict = json.loads(out)
            assert (verdict["inject"], verdict["revision"], verdict["conflict"]) == (True, r2, False)
    finally:
        for server in servers:
            server.stop()
