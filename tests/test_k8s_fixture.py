"""The test control plane itself: controllers run, admission webhooks are consulted, RBAC is enforced."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator

import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.admissionregistration_v1 import (
    MutatingWebhook,
    RuleWithOperations,
    WebhookClientConfig,
)
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment, ReplicaSet
from lightkube.resources.core_v1 import Namespace, Node, Pod

from k8s_cluster import PLAIN_USER, K8sCluster, find_binaries, wait_for

_BINARIES, _REASON = find_binaries()
pytestmark = pytest.mark.skipif(_BINARIES is None, reason=_REASON)

_names = itertools.count()


@pytest.fixture
def namespace(k8s: K8sCluster) -> Iterator[str]:
    name = f"fixture-test-{next(_names)}"
    k8s.admin.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    k8s.admin.delete(Namespace, name)


def deployment(name: str, replicas: int = 1) -> Deployment:
    labels = {"app": name}
    return Deployment(
        metadata=ObjectMeta(name=name),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="app", image="registry.example/app:1.0")]),
            ),
        ),
    )


def test_deployment_controller_creates_a_pod_through_a_replicaset(k8s: K8sCluster, namespace: str) -> None:
    k8s.admin.create(deployment("web"), namespace=namespace)

    [pod] = k8s.wait_for_pods(namespace, labels={"app": "web"})

    assert pod.metadata is not None and pod.metadata.ownerReferences is not None
    [owner] = pod.metadata.ownerReferences
    assert owner.kind == "ReplicaSet"
    replicaset = k8s.admin.get(ReplicaSet, owner.name, namespace=namespace)
    assert replicaset.metadata is not None and replicaset.metadata.ownerReferences is not None
    assert [(ref.kind, ref.name) for ref in replicaset.metadata.ownerReferences] == [("Deployment", "web")]
    assert pod.status is not None and pod.status.phase == "Pending"


def test_pod_reported_ready_makes_the_deployment_available(k8s: K8sCluster, namespace: str) -> None:
    k8s.admin.create(deployment("api", replicas=2), namespace=namespace)
    pods = k8s.wait_for_pods(namespace, labels={"app": "api"}, count=2)

    names = [pod.metadata.name for pod in pods if pod.metadata is not None and pod.metadata.name is not None]
    for name in names:
        k8s.set_pod_status(name, namespace, node="node-ready-test")

    def available() -> int | None:
        status = k8s.admin.get(Deployment, "api", namespace=namespace).status
        return status.availableReplicas if status and status.availableReplicas == 2 else None

    assert wait_for(available, timeout=30, what="deployment api available") == 2
    pod = k8s.admin.get(Pod, names[0], namespace=namespace)
    assert pod.spec is not None and pod.spec.nodeName == "node-ready-test"
    assert pod.status is not None and pod.status.phase == "Running"
    assert [(c.type, c.status) for c in pod.status.conditions or [] if c.type == "Ready"] == [("Ready", "True")]


def test_native_sidecar_is_reported_running_and_regular_init_container_completed(
    k8s: K8sCluster, namespace: str
) -> None:
    pod = Pod(
        metadata=ObjectMeta(name="with-init"),
        spec=PodSpec(
            initContainers=[
                Container(name="setup", image="registry.example/setup:1"),
                Container(name="proxy", image="registry.example/proxy:1", restartPolicy="Always"),
            ],
            containers=[Container(name="app", image="registry.example/app:1")],
        ),
    )
    k8s.admin.create(pod, namespace=namespace)

    status = k8s.set_pod_status("with-init", namespace, ready=False).status

    assert status is not None
    init = {s.name: s for s in status.initContainerStatuses or []}
    assert init["setup"].state is not None and init["setup"].state.terminated is not None
    assert init["setup"].state.terminated.exitCode == 0 and init["setup"].ready
    assert init["proxy"].state is not None and init["proxy"].state.running is not None
    assert not init["proxy"].ready
    assert [s.ready for s in status.containerStatuses or []] == [False]


def test_node_reports_the_kubelet_version_it_was_given(k8s: K8sCluster) -> None:
    k8s.add_node("old-node", kubelet_version="v1.28.9")

    node = k8s.admin.get(Node, "old-node")

    assert node.status is not None and node.status.nodeInfo is not None
    assert node.status.nodeInfo.kubeletVersion == "v1.28.9"
    assert [(c.type, c.status) for c in node.status.conditions or []] == [("Ready", "True")]


def test_fake_kubelet_runs_a_rollout_to_completion(k8s: K8sCluster, namespace: str) -> None:
    k8s.admin.create(deployment("rolling", replicas=2), namespace=namespace)
    with k8s.kubelet("rollout-node", namespaces=[namespace]):
        k8s.admin.patch(
            Deployment,
            "rolling",
            {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}},
            namespace=namespace,
        )

        def rolled_out() -> bool | None:
            d = k8s.admin.get(Deployment, "rolling", namespace=namespace)
            assert d.metadata is not None and d.status is not None
            done = (
                d.status.observedGeneration == d.metadata.generation
                and d.status.updatedReplicas == 2
                and d.status.readyReplicas == 2
                and d.status.replicas == 2
            )
            return True if done else None

        wait_for(rolled_out, timeout=60, what="rollout of deployment rolling")

        # Old pods were bound, so only the kubelet's confirmation removes them.
        def only_new_pods_left() -> int | None:
            count = len(list(k8s.admin.list(Pod, namespace=namespace)))
            return count if count == 2 else None

        wait_for(only_new_pods_left, timeout=30, what="old pods of deployment rolling to go")


def test_mutating_admission_webhook_is_called_on_pod_creation(k8s: K8sCluster, namespace: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    webhook = MutatingWebhookConfiguration(
        metadata=ObjectMeta(name=f"dead-{namespace}"),
        webhooks=[
            MutatingWebhook(
                name="dead.meshinject.test",
                admissionReviewVersions=["v1"],
                sideEffects="None",
                failurePolicy="Fail",
                timeoutSeconds=5,
                clientConfig=WebhookClientConfig(url=f"https://127.0.0.1:{dead_port}/inject"),
                rules=[
                    RuleWithOperations(apiGroups=[""], apiVersions=["v1"], operations=["CREATE"], resources=["pods"])
                ],
                namespaceSelector=LabelSelector(matchLabels={"kubernetes.io/metadata.name": namespace}),
            )
        ],
    )
    k8s.admin.create(webhook)
    try:
        bare = Pod(metadata=ObjectMeta(name="bare"), spec=PodSpec(containers=[Container(name="c", image="x")]))
        with pytest.raises(ApiError) as raised:
            k8s.admin.create(bare, namespace=namespace)
    finally:
        k8s.admin.delete(MutatingWebhookConfiguration, f"dead-{namespace}")

    assert raised.value.status.code == 500
    assert 'failed calling webhook "dead.meshinject.test"' in (raised.value.status.message or "")


def test_user_without_roles_is_forbidden_to_list_namespaces(k8s: K8sCluster) -> None:
    with (
        Client(KubeConfig.from_file(k8s.user_kubeconfig), trust_env=False) as client,
        pytest.raises(ApiError) as raised,
    ):
        list(client.list(Namespace))

    assert raised.value.status.code == 403
    assert f'User "{PLAIN_USER}" cannot list resource "namespaces"' in (raised.value.status.message or "")
