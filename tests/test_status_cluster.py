"""status, analyze and check-inject against a real API server (tests/k8s_cluster.py).

Two revisions and a tag are installed the way Istio lays them out (injector ConfigMaps in a control-plane
namespace, MutatingWebhookConfigurations with Istio's selectors); the pods are created "already injected" (an
``istio-proxy`` container or native sidecar plus the status annotation) BEFORE the webhook configurations exist,
and the webhooks ignore failures, so nothing calls them. The fake kubelet's part (binding, status) is played by
the fixture. kubectl's columns are checked against the API server's own pod table (what ``kubectl get pod``
prints, as the server renders it).
"""

from __future__ import annotations

import json
import secrets
import ssl
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
import yaml
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, PodStatus
from lightkube.types import PatchType

import meshinject.cli  # noqa: F401  (importing it registers the commands)
from k8s_cluster import K8sCluster, find_binaries
from meshinject.cli._app import app

_BINARIES, _REASON = find_binaries()
pytestmark = pytest.mark.skipif(_BINARIES is None, reason=_REASON)

NODE = "meshinject-status-node"
SUFFIX = "sidecar-injector.istio.io"
HUB = "reg.example/istio"
DEAD_URL = "https://127.0.0.1:9/inject"  # nothing listens: with failurePolicy Ignore the API server skips it


T = TypeVar("T")


def build(kind: type[T], data: dict[str, Any]) -> T:
    """A lightkube resource from its Kubernetes JSON form."""
    return cast(T, kind.from_dict(data))  # type: ignore[attr-defined]


def _expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": op, **({"values": list(values)} if values else {})}


def webhook_configuration(
    name: str, revision: str, answers_to: str, *, tag: str | None = None, service: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Istio's per-revision (or per-tag) injector webhooks: rev.namespace and rev.object."""
    client: dict[str, Any] = (
        {"service": {"namespace": service[0], "name": service[1], "path": "/inject"}} if service else {"url": DEAD_URL}
    )
    common = {
        "clientConfig": client,
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        "failurePolicy": "Ignore",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "timeoutSeconds": 1,
    }
    not_false = _expr("sidecar.istio.io/inject", "NotIn", "false")
    labels = {"istio.io/rev": revision, "app": "sidecar-injector"}
    if tag:
        labels["istio.io/tag"] = tag
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name, "labels": labels},
        "webhooks": [
            {
                **common,
                "name": f"rev.namespace.{SUFFIX}",
                "namespaceSelector": {
                    "matchExpressions": [
                        _expr("istio.io/rev", "In", answers_to),
                        _expr("istio-injection", "DoesNotExist"),
                    ]
                },
                "objectSelector": {"matchExpressions": [not_false]},
            },
            {
                **common,
                "name": f"rev.object.{SUFFIX}",
                "namespaceSelector": {
                    "matchExpressions": [
                        _expr("istio.io/rev", "DoesNotExist"),
                        _expr("istio-injection", "DoesNotExist"),
                    ]
                },
                "objectSelector": {"matchExpressions": [not_false, _expr("istio.io/rev", "In", answers_to)]},
            },
        ],
    }


@dataclass
class Mesh:
    rev_a: str
    rev_b: str
    tag: str
    istio_ns: str
    ns_a: str
    ns_tag: str
    ns_both: str
    ns_bad: str
    ns_plain: str
    configs: list[str]

    def args(self, *more: str) -> list[str]:
        return [*more, "--istio-namespace", self.istio_ns]


def injected_pod(
    name: str, revision: str | None, tag: str, *, native: bool = False, labels: dict[str, str] | None = None
) -> Pod:
    """A pod as the injector of ``revision`` would have left it (no sidecar when revision is None)."""
    containers: list[dict[str, Any]] = [{"name": "app", "image": "registry.example/app:1"}]
    init: list[dict[str, Any]] = []
    annotations: dict[str, str] = {}
    if revision is not None:
        proxy = {"name": "istio-proxy", "image": f"{HUB}/proxyv2:{tag}"}
        init.append({"name": "istio-init", "image": f"{HUB}/proxyv2:{tag}"})
        if native:
            init.append({**proxy, "restartPolicy": "Always"})
        else:
            containers.append(proxy)
        annotations = {
            "istio.io/rev": revision,
            "sidecar.istio.io/status": json.dumps(
                {"initContainers": ["istio-init"], "containers": ["istio-proxy"], "revision": revision}
            ),
        }
    return build(
        Pod,
        {
            "metadata": {"name": name, "labels": labels or {"app": name}, "annotations": annotations},
            "spec": {"containers": containers, "initContainers": init},
        },
    )


def crash(k8s: K8sCluster, name: str, namespace: str) -> None:
    """Report the app container crash-looping, restarted 3 times, last in 2020."""
    pod = k8s.admin.get(Pod, name, namespace=namespace)
    assert pod.status is not None and pod.status.containerStatuses is not None
    statuses = [s.to_dict() for s in pod.status.containerStatuses]
    statuses[0].update(
        ready=False,
        restartCount=3,
        state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}},
        lastState={
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": "2020-01-01T00:00:00Z",
                "finishedAt": "2020-01-01T00:00:05Z",
            }
        },
    )
    k8s.admin.patch(
        PodStatus, name, {"status": {"containerStatuses": statuses}}, namespace=namespace, patch_type=PatchType.MERGE
    )


@pytest.fixture(scope="module")
def mesh(k8s: K8sCluster) -> Iterator[Mesh]:
    s = secrets.token_hex(3)
    m = Mesh(
        rev_a=f"a{s}",
        rev_b=f"b{s}",
        tag=f"t{s}",
        istio_ns=f"mi-istio-{s}",
        ns_a=f"mi-a-{s}",
        ns_tag=f"mi-t-{s}",
        ns_both=f"mi-both-{s}",
        ns_bad=f"mi-bad-{s}",
        ns_plain=f"mi-plain-{s}",
        configs=[],
    )
    labels = {
        m.istio_ns: {},
        m.ns_a: {"istio.io/rev": m.rev_a},
        m.ns_tag: {"istio.io/rev": m.tag},
        m.ns_both: {"istio-injection": "enabled", "istio.io/rev": m.rev_a},
        m.ns_bad: {"istio.io/rev": f"nope{s}"},
        m.ns_plain: {},
    }
    admin = k8s.admin
    try:
        for name, ns_labels in labels.items():
            admin.create(build(Namespace, {"metadata": {"name": name, "labels": ns_labels}}))
        for revision, tag in ((m.rev_a, "1.0.0"), (m.rev_b, "2.0.0")):
            values = {"global": {"hub": HUB, "tag": tag, "proxy": {"image": "proxyv2"}}}
            admin.create(
                build(
                    ConfigMap,
                    {
                        "metadata": {
                            "name": f"istio-sidecar-injector-{revision}",
                            "labels": {"istio.io/rev": revision},
                        },
                        "data": {"config": "policy: enabled\ntemplates: {}\n", "values": json.dumps(values)},
                    },
                ),
                namespace=m.istio_ns,
            )
        pods = [
            (m.ns_a, injected_pod("ok", m.rev_a, "1.0.0"), True),
            (m.ns_a, injected_pod("native", m.rev_a, "1.0.0", native=True), True),
            (m.ns_a, injected_pod("bare", None, ""), True),
            (m.ns_a, injected_pod("stale", m.rev_a, "0.9.0"), True),
            (m.ns_a, injected_pod("unready", m.rev_a, "1.0.0", native=True), False),
            (m.ns_a, injected_pod("moved", m.rev_b, "2.0.0"), True),
            (m.ns_a, injected_pod("crash", m.rev_a, "1.0.0"), True),
            (m.ns_tag, injected_pod("fine", m.rev_b, "2.0.0"), True),
            (m.ns_plain, injected_pod("labelled", None, "", labels={"app": "x", "istio.io/rev": m.rev_a}), True),
        ]
        for namespace, pod, _ in pods:
            admin.create(pod, namespace=namespace)
        for namespace, pod, ready in pods:
            assert pod.metadata is not None and pod.metadata.name is not None
            k8s.set_pod_status(pod.metadata.name, namespace, ready=ready, node=NODE)
        crash(k8s, "crash", m.ns_a)
        # A workload that exists but runs nothing: check-inject reads its template.
        admin.create(
            build(
                Deployment,
                {
                    "metadata": {"name": "web"},
                    "spec": {
                        "replicas": 0,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {
                            "metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "app", "image": "registry.example/app:1"}]},
                        },
                    },
                },
            ),
            namespace=m.ns_tag,
        )
        # The webhooks come last, so none is consulted for the pods above.
        for config in (
            webhook_configuration(f"istio-sidecar-injector-{m.rev_a}", m.rev_a, m.rev_a),
            webhook_configuration(
                f"istio-sidecar-injector-{m.rev_b}", m.rev_b, m.rev_b, service=(m.istio_ns, f"istiod-{m.rev_b}")
            ),
            webhook_configuration(f"istio-revision-tag-{m.tag}", m.rev_b, m.tag, tag=m.tag),
        ):
            admin.create(build(MutatingWebhookConfiguration, config))
            m.configs.append(config["metadata"]["name"])
        yield m
    finally:
        for name in m.configs:
            admin.delete(MutatingWebhookConfiguration, name)
        for name in labels:
            admin.delete(Namespace, name)


@pytest.fixture
def cli(k8s: K8sCluster, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*args: str, kubeconfig: Path | None = None) -> tuple[int, str, str]:
        code = app([*args, "--kubeconfig", str(kubeconfig or k8s.kubeconfig)], result_action="return_value")
        out, err = capsys.readouterr()
        return int(code), out, err

    return run


def server_pod_table(k8s: K8sCluster, namespace: str) -> dict[str, list[Any]]:
    """The API server's rendering of ``kubectl get pod``: pod name -> cells (Name, Ready, Status, Restarts, Age...)."""
    request = urllib.request.Request(
        f"{k8s.server}/api/v1/namespaces/{namespace}/pods",
        headers={"Authorization": f"Bearer {k8s.token}", "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=str(k8s.ca_file))),
    )
    with opener.open(request, timeout=10) as response:
        table = json.loads(response.read())
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names[:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    return {row["cells"][0]: row["cells"] for row in table["rows"]}


def test_status_columns_are_the_api_servers_and_verdicts_follow_the_selectors(
    mesh: Mesh, k8s: K8sCluster, cli: Any
) -> None:
    code, out, err = cli("status", mesh.ns_a, "-o", "json", *mesh.args())
    assert code == 0, err
    rows = {item["name"]: item for item in json.loads(out)["items"]}
    server = server_pod_table(k8s, mesh.ns_a)
    assert sorted(rows) == sorted(server)
    for name, cells in server.items():
        assert (rows[name]["ready"], rows[name]["status"]) == (cells[1], cells[2]), name
        restarts = str(cells[3])
        assert str(rows[name]["restarts"]) == restarts.split(" ")[0], name
    assert server["native"][1] == "2/2" and server["unready"][1] == "0/2"
    assert server["crash"][2] == "CrashLoopBackOff"
    verdicts = {
        name: (row["verdict"], row["sidecarMode"], row["revision"], row["expected"]["revision"])
        for name, row in rows.items()
    }
    a = mesh.rev_a
    assert verdicts == {
        "ok": ("OK", "classic", a, a),
        "native": ("OK", "native", a, a),
        "bare": ("NOT INJECTED", None, None, a),
        "stale": ("NEEDS RESTART", "classic", a, a),
        "unready": ("NOT READY", "native", a, a),
        "moved": ("NEEDS RESTART", "classic", mesh.rev_b, a),
        "crash": ("NOT READY", "classic", a, a),
    }
    assert rows["stale"]["expected"]["proxyImage"] == f"{HUB}/proxyv2:1.0.0"
    assert json.loads(out)["summary"] == {"NOT INJECTED": 1, "NEEDS RESTART": 2, "NOT READY": 2, "OK": 2}


def test_status_table_strict_and_tag_resolution(mesh: Mesh, cli: Any) -> None:
    code, out, _ = cli("status", "-n", mesh.ns_tag, "--strict", *mesh.args())
    assert code == 0
    [header, _rule, row] = [line.split() for line in out.strip().splitlines()]
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "SIDECAR", "REVISION", "EXPECTED", "VERDICT"]
    assert row[:3] == ["fine", "2/2", "Running"]
    assert row[5:] == ["yes", "(classic)", mesh.rev_b, mesh.rev_b, "OK"]
    code, out, _ = cli("status", mesh.ns_a, "--strict", *mesh.args())
    assert code == 1
    assert f"{mesh.ns_a}/bare: webhook istio-sidecar-injector-{mesh.rev_a}/rev.namespace.{SUFFIX} injects it" in out


def test_status_all_namespaces_shows_the_namespace_column(mesh: Mesh, cli: Any) -> None:
    code, out, _ = cli("status", "-A", "-o", "yaml", *mesh.args())
    assert code == 0
    items = yaml.safe_load(out)["items"]
    mine = {(i["namespace"], i["name"]): i["verdict"] for i in items if i["namespace"] == mesh.ns_plain}
    assert mine == {(mesh.ns_plain, "labelled"): "NOT INJECTED"}


def test_analyze_reports_istio_and_meshinject_codes(mesh: Mesh, cli: Any) -> None:
    code, out, err = cli("analyze", "-A", "-o", "json", *mesh.args())
    assert code == 1, err  # errors found (MI0001, IST0139)
    mine = {mesh.ns_a, mesh.ns_tag, mesh.ns_both, mesh.ns_bad, mesh.ns_plain, *mesh.configs, mesh.rev_a, mesh.rev_b}
    found = {(f["code"], f["origin"]) for f in json.loads(out) if f["resource"] in mine or f["namespace"] in mine}
    assert found == {
        ("IST0103", f"Pod {mesh.ns_a}/bare"),
        ("IST0158", f"Namespace {mesh.ns_a}"),
        ("MI0005", f"Pod {mesh.ns_a}/moved"),
        ("IST0123", f"Namespace {mesh.ns_both}"),
        ("MI0001", f"Namespace {mesh.ns_bad}"),
        ("IST0102", f"Namespace {mesh.ns_plain}"),
        ("MI0004", f"Pod {mesh.ns_plain}/labelled"),
        ("IST0139", f"MutatingWebhookConfiguration istio-sidecar-injector-{mesh.rev_b}"),
    }
    code, out, _ = cli("analyze", mesh.ns_a, "-o", "log", "--failure-threshold", "Warning", *mesh.args())
    assert code == 1
    # webhook configurations are cluster-wide: analyzed with any namespace (other tests' are left out here)
    lines = [line for line in out.splitlines() if mesh.ns_a in line or mesh.rev_b in line]
    assert lines == [
        f"Error [IST0139] (MutatingWebhookConfiguration istio-sidecar-injector-{mesh.rev_b}) Injector refers to a "
        f"control plane service that does not exist: {mesh.istio_ns}/istiod-{mesh.rev_b}.",
        f"Warning [IST0103] (Pod {mesh.ns_a}/bare) The pod {mesh.ns_a}/bare is missing the Istio proxy. This can "
        "often be resolved by restarting or redeploying the workload.",
        f"Warning [IST0158] (Namespace {mesh.ns_a}) The Istio proxy images of the pods running in the namespace do "
        "not match the image defined in the injection configuration (pod names: [stale]). This often happens after "
        "upgrading the Istio control-plane and can be fixed by redeploying the pods.",
        f"Warning [MI0005] (Pod {mesh.ns_a}/moved) The pod {mesh.ns_a}/moved runs revision {mesh.rev_b}'s proxy, but "
        f"its namespace and pod labels now select revision {mesh.rev_a}: restart it to move it.",
    ]
    code, out, err = cli("analyze", mesh.ns_tag, "--output-threshold", "Warning", "-o", "json", *mesh.args())
    assert code == 1  # the missing service of revision B's webhooks is an Error wherever one looks
    assert [f["code"] for f in json.loads(out) if f["namespace"] == mesh.ns_tag] == []


def test_check_inject_pod_workload_and_labels(mesh: Mesh, cli: Any) -> None:
    code, out, _ = cli("check-inject", "labelled", "-n", mesh.ns_plain, "-o", "json", *mesh.args())
    assert code == 0
    result = json.loads(out)
    assert (result["revision"], result["conflict"]) == (mesh.rev_a, False)
    called = [(w["configuration"], w["webhook"]) for w in result["webhooks"] if w["called"]]
    assert called == [(f"istio-sidecar-injector-{mesh.rev_a}", f"rev.object.{SUFFIX}")]
    assert result["injector"][0]["source"] == f"ConfigMap {mesh.istio_ns}/istio-sidecar-injector-{mesh.rev_a}"

    code, out, _ = cli("check-inject", "deployment/web", "-n", mesh.ns_tag, *mesh.args())
    assert code == 0
    assert f"Deployment {mesh.ns_tag}/web would be injected by revision {mesh.rev_b} (through tag {mesh.tag})" in out
    assert f"istio.io/rev in ({mesh.tag}) (is '{mesh.tag}')" in out

    code, out, _ = cli("check-inject", "-l", "app=x,sidecar.istio.io/inject=false", "-n", mesh.ns_tag, *mesh.args())
    assert code == 0
    assert "would not be injected: no injection webhook selects it" in out


def test_check_inject_two_injecting_webhooks_exit_1(mesh: Mesh, k8s: K8sCluster, cli: Any) -> None:
    extra = webhook_configuration(f"istio-revision-tag-x{mesh.tag}", mesh.rev_a, mesh.tag, tag=f"x{mesh.tag}")
    k8s.admin.create(build(MutatingWebhookConfiguration, extra))
    try:
        code, out, _ = cli("check-inject", "fine", "-n", mesh.ns_tag, *mesh.args())
    finally:
        k8s.admin.delete(MutatingWebhookConfiguration, extra["metadata"]["name"])
    assert code == 1
    assert f"ERROR: 2 webhooks would inject Pod {mesh.ns_tag}/fine" in out


def test_errors_name_the_problem_and_exit_2(mesh: Mesh, k8s: K8sCluster, cli: Any, tmp_path: Path) -> None:
    code, _, err = cli("status", "no-such-namespace-mi", *mesh.args())
    assert (code, "namespace 'no-such-namespace-mi' not found" in err) == (2, True)
    code, _, err = cli("check-inject", "ghost", "-n", mesh.ns_a, *mesh.args())
    assert (code, f"pod 'ghost' not found in namespace '{mesh.ns_a}'" in err) == (2, True)
    code, _, err = cli("analyze", "-A", *mesh.args(), kubeconfig=k8s.user_kubeconfig)
    assert code == 2
    assert "forbidden: cannot list mutatingwebhookconfigurations" in err
    config = yaml.safe_load(k8s.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:9"
    unreachable = tmp_path / "kubeconfig"
    unreachable.write_text(yaml.safe_dump(config))
    code, _, err = cli("status", mesh.ns_a, *mesh.args(), kubeconfig=unreachable)
    assert code == 2
    assert "cannot reach the Kubernetes API server" in err
