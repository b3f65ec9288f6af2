"""`meshinject restart` against the real API server: the controllers re-create the pods, the fake kubelet runs
them (see tests/k8s_cluster.py)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.models.apps_v1 import (
    DaemonSetSpec,
    DaemonSetUpdateStrategy,
    DeploymentSpec,
    StatefulSetSpec,
    StatefulSetUpdateStrategy,
)
from lightkube.models.batch_v1 import JobSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, Toleration
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    Node,
    NodeStatus,
    Pod,
    PodStatus,
    ReplicationController,
)

from k8s_cluster import K8sCluster, find_binaries, wait_for
from meshinject.cli import app
from meshinject.cluster.client import prepare_decoders

_BINARIES, _REASON = find_binaries()
pytestmark = pytest.mark.skipif(_BINARIES is None, reason=_REASON)

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
_names = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def _decoders_ready() -> None:
    """Decode every type (the fake kubelet's too) once before a fake kubelet thread runs: msgspec can crash the
    interpreter when one thread builds a type's decoding table while another decodes (see
    meshinject.cluster.client.prepare_decoders)."""
    prepare_decoders(
        [
            Namespace,
            Node,
            NodeStatus,
            Pod,
            PodStatus,
            ReplicaSet,
            Deployment,
            StatefulSet,
            DaemonSet,
            Job,
            CronJob,
            ReplicationController,
            ConfigMap,
            MutatingWebhookConfiguration,
        ]
    )


@pytest.fixture
def namespace(k8s: K8sCluster) -> Iterator[str]:
    name = f"restart-test-{next(_names)}"
    k8s.admin.create(Namespace(metadata=ObjectMeta(name=name, labels={"istio-injection": "enabled"})))
    yield name
    k8s.admin.delete(Namespace, name)


@pytest.fixture
def restart(k8s: K8sCluster, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `meshinject restart ARGS` in-process: (exit code, stdout, stderr)."""

    def run(*args: str, kubeconfig: Path | None = None) -> tuple[int, str, str]:
        config = kubeconfig or k8s.kubeconfig
        code = app(["restart", *args, "--kubeconfig", str(config)], result_action="return_value")
        out, err = capsys.readouterr()
        return int(code), out, err

    return run


def template(app_name: str) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels={"app": app_name}),
        spec=PodSpec(containers=[Container(name="app", image="registry.example/app:1.0")]),
    )


def deployment(name: str, replicas: int = 1) -> Deployment:
    return Deployment(
        metadata=ObjectMeta(name=name),
        spec=DeploymentSpec(
            replicas=replicas, selector=LabelSelector(matchLabels={"app": name}), template=template(name)
        ),
    )


def statefulset(name: str, replicas: int, strategy: str) -> StatefulSet:
    return StatefulSet(
        metadata=ObjectMeta(name=name),
        spec=StatefulSetSpec(
            replicas=replicas,
            serviceName=name,
            selector=LabelSelector(matchLabels={"app": name}),
            template=template(name),
            updateStrategy=StatefulSetUpdateStrategy(type=strategy),
        ),
    )


def live_pods(k8s: K8sCluster, namespace: str, app_name: str) -> dict[str, str]:
    """name -> uid of the pods of an app that are not terminating."""
    return {
        p.metadata.name: p.metadata.uid
        for p in k8s.admin.list(Pod, namespace=namespace, labels={"app": app_name})
        if p.metadata is not None and p.metadata.deletionTimestamp is None and p.metadata.name and p.metadata.uid
    }


def ready_pods(k8s: K8sCluster, namespace: str, app_name: str, count: int) -> dict[str, str]:
    def check() -> dict[str, str] | None:
        pods = [
            p
            for p in k8s.admin.list(Pod, namespace=namespace, labels={"app": app_name})
            if p.metadata is not None and p.metadata.deletionTimestamp is None
        ]
        ready = [
            p
            for p in pods
            if p.status is not None and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]
        if len(ready) == count == len(pods):
            return {p.metadata.name: p.metadata.uid for p in ready if p.metadata and p.metadata.name and p.metadata.uid}
        return None

    return wait_for(check, timeout=30, what=f"{count} ready pod(s) of {app_name} in {namespace}")


def template_annotations(obj: Deployment | StatefulSet | DaemonSet) -> dict[str, str]:
    assert obj.spec is not None and obj.spec.template.metadata is not None
    return dict(obj.spec.template.metadata.annotations or {})


def test_deployments_are_rolled_out_again_with_new_pods(k8s: K8sCluster, namespace: str, restart: Any) -> None:
    with k8s.kubelet(namespaces=[namespace]):
        k8s.admin.create(deployment("web", replicas=2), namespace=namespace)
        k8s.admin.create(deployment("api"), namespace=namespace)
        before = ready_pods(k8s, namespace, "web", 2)
        api_before = ready_pods(k8s, namespace, "api", 1)

        code, out, err = restart(namespace, "--max-parallel", "2")

        after = live_pods(k8s, namespace, "web")
        api_after = live_pods(k8s, namespace, "api")
    assert code == 0, err
    assert re.search(r"web\s+Deployment\s+2\s+rollout-restart\s+rolling update of the Deployment", out)
    assert re.search(r"api\s+Deployment\s+1\s+rollout-restart", out)
    assert f"✓ deployment/web in {namespace}: rolled out: 2 of 2 replicas updated and available" in err
    assert "restarted 2 workload(s)" in err
    assert len(after) == 2 and len(api_after) == 1
    assert not set(after) & set(before)  # every pod is new; the old ones are gone
    assert not set(api_after) & set(api_before)
    stamp = template_annotations(k8s.admin.get(Deployment, "web", namespace=namespace))[RESTARTED_AT]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", stamp)


def test_statefulset_rolling_update_replaces_each_pod(k8s: K8sCluster, namespace: str, restart: Any) -> None:
    with k8s.kubelet(namespaces=[namespace]):
        k8s.admin.create(statefulset("db", 2, "RollingUpdate"), namespace=namespace)
        before = ready_pods(k8s, namespace, "db", 2)

        code, out, err = restart(namespace)

        after = ready_pods(k8s, namespace, "db", 2)
    assert code == 0, err
    assert re.search(r"db\s+StatefulSet\s+2\s+rollout-restart", out)
    assert set(after) == set(before) == {"db-0", "db-1"}
    assert all(after[name] != before[name] for name in after)
    assert RESTARTED_AT in template_annotations(k8s.admin.get(StatefulSet, "db", namespace=namespace))


def test_statefulset_on_delete_has_its_pods_deleted_one_at_a_time(
    k8s: K8sCluster, namespace: str, restart: Any
) -> None:
    with k8s.kubelet(namespaces=[namespace]):
        k8s.admin.create(statefulset("queue", 2, "OnDelete"), namespace=namespace)
        before = ready_pods(k8s, namespace, "queue", 2)

        code, out, err = restart(namespace, "-o", "json")

        after = ready_pods(k8s, namespace, "queue", 2)
    assert code == 0, err
    report = json.loads(out)
    [item] = report["workloads"]
    assert (item["kind"], item["action"], item["pods"]) == (
        "StatefulSet",
        "delete-pods-one-by-one",
        ["queue-1", "queue-0"],
    )
    [result] = report["results"]
    assert (result["status"], result["message"]) == ("done", "replaced 2 pod(s) one at a time")
    assert all(after[name] != before[name] for name in ("queue-0", "queue-1"))
    # OnDelete: the template is left as it is, the pods were re-created from it
    assert RESTARTED_AT not in template_annotations(k8s.admin.get(StatefulSet, "queue", namespace=namespace))


def test_daemonset_is_rolled_out_on_its_node(k8s: K8sCluster, namespace: str, restart: Any) -> None:
    node = "restart-ds-node"
    k8s.add_node(node, labels={"meshinject.test/restart": namespace})
    daemonset = DaemonSet(
        metadata=ObjectMeta(name="agent"),
        spec=DaemonSetSpec(
            selector=LabelSelector(matchLabels={"app": "agent"}),
            template=template("agent"),
            updateStrategy=DaemonSetUpdateStrategy(type="RollingUpdate"),
        ),
    )
    # Only this test's node: other tests' nodes have no kubelet to run the pods. The fixture's nodes keep the
    # not-ready taint that the API server puts on new nodes (no node lifecycle controller removes it), and the
    # DaemonSet controller does not tolerate it by itself.
    assert daemonset.spec is not None and daemonset.spec.template.spec is not None
    daemonset.spec.template.spec.nodeSelector = {"meshinject.test/restart": namespace}
    daemonset.spec.template.spec.tolerations = [
        Toleration(key="node.kubernetes.io/not-ready", operator="Exists", effect="NoSchedule")
    ]
    with k8s.kubelet(node, namespaces=[namespace]):
        k8s.admin.create(daemonset, namespace=namespace)
        before = ready_pods(k8s, namespace, "agent", 1)

        code, out, err = restart(namespace, "--timeout", "40s")

        after = ready_pods(k8s, namespace, "agent", 1)
    assert code == 0, err
    assert re.search(r"agent\s+DaemonSet\s+1\s+rollout-restart", out)
    assert set(after) != set(before)
    pod = k8s.admin.get(Pod, next(iter(after)), namespace=namespace)
    assert pod.spec is not None and pod.spec.nodeName == node
    assert RESTARTED_AT in template_annotations(k8s.admin.get(DaemonSet, "agent", namespace=namespace))


def test_bare_pod_is_saved_deleted_and_created_again(
    k8s: K8sCluster, namespace: str, restart: Any, tmp_path: Path
) -> None:
    bare = Pod(
        metadata=ObjectMeta(name="debug", labels={"app": "debug"}),
        spec=PodSpec(containers=[Container(name="app", image="registry.example/debug:1")]),
    )
    with k8s.kubelet(namespaces=[namespace]):
        k8s.admin.create(bare, namespace=namespace)
        before = ready_pods(k8s, namespace, "debug", 1)

        code, out, err = restart(namespace, "--recreate-bare-pods", "--backup-dir", str(tmp_path))

        after = ready_pods(k8s, namespace, "debug", 1)
    assert code == 0, err
    assert re.search(r"debug\s+Pod\s+1\s+recreate-pod", out)
    [saved] = tmp_path.glob(f"{namespace}.debug.*.yaml")
    assert f"saved pod debug in {namespace} to {saved}" in err.replace("\n", "")
    manifest = yaml.safe_load(saved.read_text())
    assert manifest["metadata"]["name"] == "debug" and "uid" not in manifest["metadata"]
    assert "status" not in manifest and "nodeName" not in manifest["spec"]
    assert set(after) == {"debug"} and after["debug"] != before["debug"]


def test_job_and_bare_pod_are_reported_and_jobs_deleted_only_when_included(
    k8s: K8sCluster, namespace: str, restart: Any
) -> None:
    job = Job(
        metadata=ObjectMeta(name="backup"),
        spec=JobSpec(
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels={"app": "backup"}),
                spec=PodSpec(restartPolicy="Never", containers=[Container(name="run", image="registry.example/b:1")]),
            )
        ),
    )
    bare = Pod(
        metadata=ObjectMeta(name="shell", labels={"app": "shell"}),
        spec=PodSpec(containers=[Container(name="sh", image="registry.example/sh:1")]),
    )
    with k8s.kubelet(namespaces=[namespace]):
        k8s.admin.create(job, namespace=namespace)
        k8s.admin.create(bare, namespace=namespace)
        job_pods = ready_pods(k8s, namespace, "backup", 1)
        bare_pods = ready_pods(k8s, namespace, "shell", 1)

        code, out, err = restart(namespace)

        assert live_pods(k8s, namespace, "backup") == job_pods
        assert live_pods(k8s, namespace, "shell") == bare_pods

        included = restart(namespace, "--include-jobs")
        # the Job controller starts a replacement only after its back-off (10s): not waited for here
        left = live_pods(k8s, namespace, "backup")
    assert code == 0, err
    assert re.search(r"backup\s+Job\s+1\s+skip\s+Job pods are not killed while they run \(use --include-jobs\)", out)
    assert re.search(r"shell\s+Pod\s+1\s+skip\s+bare pod: nothing would re-create it", out)
    assert "restarted 0 workload(s)" in err
    assert included[0] == 0, included[2]
    assert re.search(r"backup\s+Job\s+1\s+delete-pods", included[1])
    assert f"✓ job/backup in {namespace}: deleted 1 pod(s); the Job starts replacements" in included[2]
    assert not set(left) & set(job_pods)  # the running pod was deleted (and its deletion waited for)


def test_rollout_that_never_becomes_ready_times_out_naming_the_workload(
    k8s: K8sCluster, namespace: str, restart: Any
) -> None:
    def old_pods_only(pod: Pod) -> bool:
        return RESTARTED_AT not in ((pod.metadata.annotations or {}) if pod.metadata else {})

    with k8s.kubelet(namespaces=[namespace], ready=old_pods_only):
        k8s.admin.create(deployment("a-stuck"), namespace=namespace)
        k8s.admin.create(deployment("b-next"), namespace=namespace)
        ready_pods(k8s, namespace, "a-stuck", 1)
        ready_pods(k8s, namespace, "b-next", 1)

        code, _out, err = restart(namespace, "--timeout", "3s")

    assert code == 1
    flat = " ".join(err.split())
    assert f"failed: deployment/a-stuck in {namespace}: timed out after 3s waiting for the rollout" in flat
    assert "1 old replica(s) pending termination" in flat
    assert re.search(r"not ready: pod a-stuck-[a-z0-9-]+: containers not ready \(app\)", flat)
    assert "1 other workload(s) not finished because of this failure" in flat
    # the first failure stops the run: the next workload was not touched
    assert RESTARTED_AT not in template_annotations(k8s.admin.get(Deployment, "b-next", namespace=namespace))


def injection_webhook_configuration(namespace: str) -> MutatingWebhookConfiguration:
    """Istio's default-revision namespace webhook, limited to one namespace; never called here (made afterwards)."""
    opted_in = {"key": "sidecar.istio.io/inject", "operator": "NotIn", "values": ["false"]}
    return MutatingWebhookConfiguration.from_dict(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": f"istio-sidecar-injector-{namespace}"},
            "webhooks": [
                {
                    "name": "namespace.sidecar-injector.istio.io",
                    "clientConfig": {"url": "https://127.0.0.1:1/inject"},
                    "rules": [
                        {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
                    ],
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": namespace, "istio-injection": "enabled"}
                    },
                    "objectSelector": {"matchExpressions": [opted_in]},
                    "failurePolicy": "Ignore",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                }
            ],
        }
    )


def test_dry_run_prints_the_plan_and_changes_nothing(k8s: K8sCluster, namespace: str, restart: Any) -> None:
    bare = Pod(
        metadata=ObjectMeta(name="opted-out", labels={"app": "opted-out", "sidecar.istio.io/inject": "false"}),
        spec=PodSpec(containers=[Container(name="app", image="registry.example/app:1")]),
    )
    with k8s.kubelet(namespaces=[namespace]):
        k8s.admin.create(deployment("web"), namespace=namespace)
        k8s.admin.create(bare, namespace=namespace)
        web = ready_pods(k8s, namespace, "web", 1)

        # No injection webhook in the cluster yet: a restart would not inject anything, so nothing is outdated.
        code, out, err = restart(namespace, "--only-outdated", "--dry-run", "-o", "json")
        assert code == 0, err
        assert json.loads(out)["workloads"] == []

        hook = injection_webhook_configuration(namespace)
        k8s.admin.create(hook)
        try:
            code, out, err = restart(namespace, "--only-outdated", "--recreate-bare-pods", "--dry-run", "-o", "json")
        finally:
            k8s.admin.delete(MutatingWebhookConfiguration, hook.metadata.name)
        unknown = restart("restart-test-does-not-exist", "--dry-run")

        assert live_pods(k8s, namespace, "web") == web
    assert code == 0, err
    report = json.loads(out)
    assert report["dryRun"] is True
    # the webhook selects the namespace (istio-injection=enabled) and the Deployment's pod has no sidecar:
    # outdated; the opted-out pod is not
    [item] = report["workloads"]
    assert (item["kind"], item["name"], item["action"]) == ("Deployment", "web", "rollout-restart")
    assert item["podChecks"][0]["outdated"] is True
    assert report["upToDate"] == [f"pod/opted-out in {namespace}"]
    assert RESTARTED_AT not in template_annotations(k8s.admin.get(Deployment, "web", namespace=namespace))
    assert unknown[0] == 2
    assert "namespace 'restart-test-does-not-exist' does not exist" in unknown[2]


def test_rbac_refusal_names_the_verb_and_resource(k8s: K8sCluster, namespace: str, restart: Any) -> None:
    code, out, err = restart(namespace, kubeconfig=k8s.user_kubeconfig)

    assert code == 2
    assert out == ""
    flat = " ".join(err.split())
    assert f"error: forbidden: cannot get namespaces '{namespace}'" in flat
    assert "grant the kubeconfig's user `get` on `namespaces`" in flat


def test_unreachable_cluster_is_a_clear_error(restart: Any, tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
        "current-context": "gone",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))

    code, _out, err = restart("shop", kubeconfig=path)

    assert code == 2
    assert "cannot reach the Kubernetes API server to get namespaces 'shop'" in " ".join(err.split())
