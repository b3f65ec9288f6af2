"""`meshinject revisions`, `enable`, `disable` and `tag` against a real API server.

Two revisions are installed the way Istio installs them (webhook configurations in the charts' layout pointing at
a dead https URL on 127.0.0.1, injector ConfigMaps, istiod pods reported ready by the fixture). Webhook
configurations are cluster-wide, so every name carries a per-module suffix and everything is deleted at the end.
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod
from lightkube.types import PatchType

from k8s_cluster import K8sCluster
from meshinject.cli import app
from test_cluster_webhooks import istio_config


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def run(*args: str | Path) -> tuple[int, str, str]:
        code = app([str(a) for a in args], result_action="return_value")
        out, err = capsys.readouterr()
        return int(code), out, " ".join(err.split())  # rich wraps long messages

    return run


@dataclass
class ControlPlane:
    k8s: K8sCluster
    suffix: str
    istio_ns: str
    blue: str
    green: str
    old: str

    def args(self, *extra: str) -> list[str]:
        return [*extra, "--kubeconfig", str(self.k8s.kubeconfig), "--istio-namespace", self.istio_ns]

    def namespace(self, name: str, **labels: str) -> str:
        full = f"{self.suffix}-{name}"
        self.k8s.admin.create(Namespace(metadata=ObjectMeta(name=full, labels=labels or None)))
        return full

    def labels(self, ns: str) -> dict[str, str]:
        obj = self.k8s.admin.get(Namespace, ns)
        assert obj.metadata is not None
        return {k: v for k, v in (obj.metadata.labels or {}).items() if k != "kubernetes.io/metadata.name"}

    def create_config(self, config: dict[str, Any]) -> str:
        self.k8s.admin.create(MutatingWebhookConfiguration.from_dict(config))
        return str(config["metadata"]["name"])


def _pod(name: str, labels: dict[str, str], annotations: dict[str, str] | None = None, image: str = "app:1") -> Pod:
    return Pod.from_dict(
        {
            "metadata": {"name": name, "labels": labels, "annotations": annotations or {}},
            "spec": {"containers": [{"name": "main", "image": image}]},
        }
    )


def _cleanup(k8s: K8sCluster, suffix: str) -> None:
    for config in k8s.admin.list(MutatingWebhookConfiguration):
        name = config.metadata.name if config.metadata else ""
        if name and suffix in name:
            k8s.admin.delete(MutatingWebhookConfiguration, name)


@pytest.fixture(scope="module")
def cp(k8s: K8sCluster) -> Iterator[ControlPlane]:
    suffix = f"rt{secrets.token_hex(3)}"
    plane = ControlPlane(k8s, suffix, f"istio-{suffix}", f"{suffix}-blue", f"{suffix}-green", f"{suffix}-old")
    admin = k8s.admin
    admin.create(Namespace(metadata=ObjectMeta(name=plane.istio_ns)))
    try:
        # istiod pods first: like Istio's, they opt out of injection, and no webhook exists yet anyway
        istiods = [("blue-0", plane.blue, "1.24.2", True), ("green-0", plane.green, "1.25.0", True)]
        istiods.append(("green-1", plane.green, "1.25.0", False))
        for name, rev, version, ready in istiods:
            labels = {"app": "istiod", "istio.io/rev": rev, "sidecar.istio.io/inject": "false"}
            admin.create(
                _pod(f"istiod-{name}", labels, image=f"docker.io/istio/pilot:{version}"), namespace=plane.istio_ns
            )
            k8s.set_pod_status(f"istiod-{name}", plane.istio_ns, ready=ready, node=f"{suffix}-node")
        for rev, tag in ((plane.blue, "1.24.2"), (plane.green, "1.25.0"), (plane.old, "1.23.0")):
            data = {"config": "policy: enabled", "values": json.dumps({"global": {"tag": tag}, "revision": rev})}
            admin.create(
                ConfigMap(
                    metadata=ObjectMeta(name=f"istio-sidecar-injector-{rev}", labels={"istio.io/rev": rev}), data=data
                ),
                namespace=plane.istio_ns,
            )
        for rev in (plane.blue, plane.green):
            plane.create_config(istio_config(rev))
        yield plane
    finally:
        _cleanup(k8s, suffix)
        for ns in admin.list(Namespace):
            name = ns.metadata.name if ns.metadata else ""
            if name and suffix in name:
                admin.delete(Namespace, name)


def _revision(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in data["revisions"] if r["name"] == name)


def test_revisions_reports_versions_ready_pods_webhooks_namespaces_and_injected_pods(
    cp: ControlPlane, cli: Any
) -> None:
    ns = cp.namespace("shop")
    status = json.dumps({"containers": ["istio-proxy"], "revision": cp.blue})
    cp.k8s.admin.create(_pod("web", {}, {"sidecar.istio.io/status": status, "istio.io/rev": cp.blue}), namespace=ns)
    cp.k8s.admin.patch(Namespace, ns, {"metadata": {"labels": {"istio.io/rev": cp.blue}}}, patch_type=PatchType.MERGE)

    code, out, _ = cli("revisions", "-o", "json", *cp.args())

    assert code == 0
    data = json.loads(out)
    blue, green, old = (_revision(data, r) for r in (cp.blue, cp.green, cp.old))
    assert (blue["version"], blue["controlPlanePods"]["ready"], blue["controlPlanePods"]["total"]) == ("1.24.2", 1, 1)
    assert (green["version"], green["controlPlanePods"]["ready"], green["controlPlanePods"]["total"]) == (
        "1.25.0",
        1,
        2,
    )
    assert blue["webhookConfigurations"] == [f"istio-sidecar-injector-{cp.blue}"]
    assert blue["configMaps"] == [f"istio-sidecar-injector-{cp.blue}"]
    assert blue["namespaces"] == [ns] and blue["injectedPodNames"] == [f"{ns}/web"] and blue["serving"]
    assert (old["version"], old["webhookConfigurations"], old["serving"]) == ("1.23.0", [], False)

    code, out, err = cli("revisions", *cp.args())
    assert code == 0
    assert cp.blue in out and "1/2" in out and "ISTIOD READY" in out
    assert f"revision {cp.old!r} has no active webhook" in err


def test_enable_moves_an_istio_injection_namespace_to_a_revision_in_one_patch(cp: ControlPlane, cli: Any) -> None:
    ns = cp.namespace("legacy", **{"istio-injection": "enabled", "team": "a"})

    code, _, err = cli("enable", ns, "--revision", cp.blue, "--dry-run", *cp.args())
    assert code == 0 and f"would label istio.io/rev={cp.blue} istio-injection-" in err
    assert cp.labels(ns) == {"istio-injection": "enabled", "team": "a"}

    code, _, err = cli("enable", ns, "--revision", cp.blue, *cp.args())
    assert code == 0
    assert cp.labels(ns) == {"istio.io/rev": cp.blue, "team": "a"}
    assert f"injector: none -> {cp.blue}" in err  # no default revision here: istio-injection selected nothing
    assert f"meshinject restart {ns}" in err

    code, out, _ = cli("enable", ns, "--revision", cp.blue, "-o", "json", *cp.args())
    assert code == 0 and json.loads(out)["namespaces"][0]["changed"] is False


def test_enable_refuses_an_unknown_revision_unless_forced(cp: ControlPlane, cli: Any) -> None:
    ns = cp.namespace("unknown")
    code, _, err = cli("enable", ns, "--revision", "nosuch", *cp.args())
    assert code == 2 and "revision or tag 'nosuch' does not exist" in err
    assert cp.labels(ns) == {}

    code, _, err = cli("enable", ns, "--revision", "nosuch", "--force", *cp.args())
    assert code == 0 and cp.labels(ns) == {"istio.io/rev": "nosuch"}


def test_enable_refuses_a_revision_without_a_serving_webhook(cp: ControlPlane, cli: Any) -> None:
    ns = cp.namespace("stale")
    code, _, err = cli("enable", ns, "--revision", cp.old, *cp.args())
    assert code == 1 and f"no active injection webhook serves istio.io/rev={cp.old}" in err
    assert cp.labels(ns) == {}


def test_enable_names_an_unknown_namespace(cp: ControlPlane, cli: Any) -> None:
    code, _, err = cli("enable", f"{cp.suffix}-absent", "--revision", cp.blue, *cp.args())
    assert code == 2 and f"namespace '{cp.suffix}-absent' not found" in err


def test_disable_removes_both_labels_and_says_pods_keep_their_sidecar(cp: ControlPlane, cli: Any) -> None:
    ns = cp.namespace("both", **{"istio-injection": "enabled", "istio.io/rev": cp.blue})
    code, _, err = cli("disable", ns, *cp.args())
    assert code == 0 and cp.labels(ns) == {}
    assert "running pods keep their sidecar until they are re-created" in err


def _injected_by(cp: ControlPlane, cli: Any, ns: str) -> list[str]:
    code, out, _ = cli("revisions", "-o", "json", *cp.args())
    assert code == 0
    return [r["name"] for r in json.loads(out)["revisions"] if ns in r["namespaces"]]


def test_tag_moves_a_namespace_between_revisions(cp: ControlPlane, cli: Any) -> None:
    tag = f"{cp.suffix}-prod"
    config_name = f"istio-revision-tag-{tag}-{cp.istio_ns}"
    ns = cp.namespace("tagged", **{"istio.io/rev": tag})
    try:
        code, _, err = cli("tag", "set", tag, "--revision", cp.blue, *cp.args())
        assert code == 0 and f"create MutatingWebhookConfiguration {config_name}" in err
        assert _injected_by(cp, cli, ns) == [cp.blue]

        # the API server itself now calls the tag's webhook for a pod there (and fails: the URL is dead)
        with pytest.raises(ApiError, match=r"rev\.namespace\.sidecar-injector\.istio\.io"):
            cp.k8s.admin.create(_pod("probe", {}), namespace=ns)

        code, out, _ = cli("tag", "list", "-o", "json", *cp.args())
        [listed] = [t for t in json.loads(out) if t["tag"] == tag]
        assert (listed["revision"], listed["namespaces"], listed["webhookConfigurations"]) == (
            cp.blue,
            [ns],
            [config_name],
        )

        code, _, err = cli("tag", "set", tag, "--revision", cp.green, *cp.args())
        assert code == 0 and f"(tag {tag}: {cp.blue} -> {cp.green})" in err
        assert _injected_by(cp, cli, ns) == [cp.green]

        code, _, err = cli("tag", "remove", tag, *cp.args())
        assert code == 1 and f"still used by namespaces {ns}" in err

        assert cli("enable", ns, "--revision", cp.green, *cp.args())[0] == 0
        code, _, err = cli("tag", "remove", tag, *cp.args())
        assert code == 0 and f"deleted MutatingWebhookConfiguration {config_name}" in err
        with pytest.raises(ApiError):
            cp.k8s.admin.get(MutatingWebhookConfiguration, config_name)
    finally:
        _cleanup(cp.k8s, tag)


def test_tag_set_replaces_the_same_tag_installed_under_another_name(cp: ControlPlane, cli: Any) -> None:
    tag = f"{cp.suffix}-moved"
    other = cp.create_config(istio_config(cp.blue, tag=tag))  # named as in istio-system: no namespace suffix
    ns = cp.namespace("moved", **{"istio.io/rev": tag})
    try:
        assert _injected_by(cp, cli, ns) == [cp.blue]
        code, _, err = cli("tag", "set", tag, "--revision", cp.green, *cp.args())
        assert code == 0 and f"delete MutatingWebhookConfiguration {other} (same tag, other name)" in err
        assert _injected_by(cp, cli, ns) == [cp.green]
        with pytest.raises(ApiError):
            cp.k8s.admin.get(MutatingWebhookConfiguration, other)
    finally:
        _cleanup(cp.k8s, tag)


def test_tag_generate_prints_the_configuration_without_applying_it(cp: ControlPlane, cli: Any) -> None:
    tag = f"{cp.suffix}-gen"
    code, out, _ = cli("tag", "generate", tag, "--revision", cp.blue, *cp.args())
    assert code == 0
    doc = yaml.safe_load(out)
    assert doc["metadata"]["labels"]["istio.io/tag"] == tag and doc["metadata"]["labels"]["istio.io/rev"] == cp.blue
    assert [w["clientConfig"]["url"] for w in doc["webhooks"]] == ["https://127.0.0.1:1/inject"] * 2
    with pytest.raises(ApiError):
        cp.k8s.admin.get(MutatingWebhookConfiguration, doc["metadata"]["name"])


def test_tag_set_refuses_a_tag_as_target_and_an_unknown_revision(cp: ControlPlane, cli: Any) -> None:
    code, _, err = cli("tag", "set", f"{cp.suffix}-x", "--revision", "nosuch", *cp.args())
    assert code == 2 and "revision 'nosuch' has no injector MutatingWebhookConfiguration" in err


def test_default_tag_takes_over_istio_injection_and_deactivates_the_old_default(cp: ControlPlane, cli: Any) -> None:
    old_default = cp.create_config(istio_config("default", name=f"{cp.suffix}-default-injector"))
    tag_config = f"istio-revision-tag-default-{cp.istio_ns}"
    try:
        ns = cp.namespace("enabled", **{"istio-injection": "enabled"})
        assert _injected_by(cp, cli, ns) == ["default"]

        code, _, err = cli("tag", "set", "default", "--revision", cp.green, *cp.args())

        assert (
            code == 0
            and f"deactivate the old default injector's webhooks in MutatingWebhookConfiguration {old_default}" in err
        )
        assert _injected_by(cp, cli, ns) == [cp.green]
        retired = cp.k8s.admin.get(MutatingWebhookConfiguration, old_default)
        assert retired.webhooks and all(
            w.namespaceSelector is not None
            and w.namespaceSelector.matchLabels == {"istio.io/deactivated": "never-match"}
            for w in retired.webhooks
        )
        assert cp.k8s.admin.get(MutatingWebhookConfiguration, tag_config).metadata is not None
    finally:
        _cleanup(cp.k8s, cp.suffix + "-default")
        _cleanup(cp.k8s, tag_config)


def test_forbidden_user_gets_the_verb_and_resource_named(cp: ControlPlane, cli: Any) -> None:
    code, _, err = cli("revisions", "--kubeconfig", str(cp.k8s.user_kubeconfig))
    assert code == 2
    assert "forbidden: cannot list mutatingwebhookconfigurations" in err


def test_no_reachable_cluster_is_a_clear_error(tmp_path: Path, cli: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}}
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    for args in (["revisions"], ["enable", "ns", "--revision", "r"], ["tag", "list"]):
        code, _, err = cli(*args, "--kubeconfig", str(path))
        assert code == 2 and "cannot reach the Kubernetes API server" in err, (args, err)


def test_enable_needs_exactly_one_of_revision_or_default(cli: Any) -> None:
    code, _, err = cli("enable", "ns", "--revision", "a", "--default")
    assert code == 2 and "exactly one of --revision REV or --default" in err
