"""`meshinject install / uninstall / manifests / certs` against a real API server (the `k8s` fixture).

The webhook servers are real `meshinject serve` processes on 127.0.0.1 with their own CA: the apiserver calls
them over TLS through `clientConfig.url`, as it would call a remote control plane. Every test uses revision and
namespace names of its own and removes its webhook configurations at the end (a leftover `failurePolicy: Fail`
webhook would block pod creation in other tests).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, Secret, ServiceAccountToken
from lightkube.types import PatchType

from k8s_cluster import K8sCluster, find_binaries, wait_for
from meshinject.cli import app
from meshinject.cluster import certs as certs_mod
from meshinject.cluster.client import ClusterError, api_call
from meshinject.cluster.install import apply_objects, readyz_problem
from meshinject.cluster.manifests import ControlPlaneOptions, Names, builtin_injector_texts, injector_data, render
from meshinject.inject.podutil import find_sidecar

_BINARIES, _REASON = find_binaries()
pytestmark = pytest.mark.skipif(_BINARIES is None, reason=_REASON)

MESHINJECT = [sys.executable, "-c", "from meshinject.cli import main; main()"]


# --- helpers ---------------------------------------------------------------------------------------------------


@dataclass
class Server:
    revision: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/inject"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a serving certificate for 127.0.0.1 (the controller's own functions make them)."""
    now = datetime.datetime.now(datetime.UTC)
    ca = certs_mod.new_ca(now, datetime.timedelta(days=1), name="test")
    serving = certs_mod.new_serving(ca, ("127.0.0.1",), now, datetime.timedelta(days=1))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.pem").write_bytes(ca.cert_pem())
    (directory / "tls.crt").write_bytes(serving.cert_pem())
    (directory / "tls.key").write_bytes(serving.key_pem())
    return directory / "ca.pem", directory / "tls.crt", directory / "tls.key"


def start_server(revision: str, cert: Path, key: Path, log: Path) -> Server:
    port = free_port()
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [
                *MESHINJECT, "serve", "--revision", revision, "--tls-cert", str(cert), "--tls-key", str(key),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--native-sidecars", "false",
                "--log-level", "warning", "--shutdown-grace", "2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )  # fmt: skip
    return Server(revision, port, proc, log)


def wait_ready(server: Server, ca: bytes) -> None:
    def check() -> bool | None:
        assert server.proc.poll() is None, server.log.read_text()
        return True if readyz_problem(server.url, ca, timeout=2) is None else None

    wait_for(check, timeout=60, what=f"meshinject serve for {server.revision}")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], k8s: K8sCluster) -> Any:
    """Run a command in-process against the test cluster: returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = app([*args, "--kubeconfig", str(k8s.kubeconfig)], result_action="return_value")
        out, err = capsys.readouterr()
        return int(code), out, err

    return run


def webhook_configurations(k8s: K8sCluster, revision: str) -> list[str]:
    items = k8s.admin.list(MutatingWebhookConfiguration, labels={"istio.io/rev": revision})
    return [c.metadata.name for c in items if c.metadata and c.metadata.name]


@contextlib.contextmanager
def cleanup(k8s: K8sCluster, revisions: list[str], namespaces: list[str]) -> Iterator[None]:
    try:
        yield
    finally:
        # Fail-closed webhooks first: nothing else in the session may meet them.
        for revision in revisions:
            for name in webhook_configurations(k8s, revision):
                with contextlib.suppress(ApiError):
                    k8s.admin.delete(MutatingWebhookConfiguration, name)
            for kind in ("ClusterRole", "ClusterRoleBinding"):
                from lightkube.core.resource_registry import resource_registry

                res = resource_registry.load("rbac.authorization.k8s.io/v1", kind)
                for item in k8s.admin.list(res, labels={"istio.io/rev": revision}):
                    with contextlib.suppress(ApiError):
                        k8s.admin.delete(res, item.metadata.name)
        for namespace in namespaces:
            with contextlib.suppress(ApiError):
                k8s.admin.delete(Namespace, namespace)


def label_namespace(k8s: K8sCluster, name: str, labels: dict[str, str | None]) -> None:
    k8s.admin.patch(Namespace, name, {"metadata": {"labels": labels}}, patch_type=PatchType.MERGE)


def web_deployment(replicas: int = 2) -> Deployment:
    labels = {"app": "web"}
    return Deployment(
        metadata=ObjectMeta(name="web"),
        spec=DeploymentSpec(
            replicas=replicas,
            selector=LabelSelector(matchLabels=labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=labels),
                spec=PodSpec(containers=[Container(name="app", image="registry.example/web:1")]),
            ),
        ),
    )


def bare_pod(name: str) -> Pod:
    return Pod(metadata=ObjectMeta(name=name), spec=PodSpec(containers=[Container(name="app", image="x:1")]))


def live_pods(k8s: K8sCluster, namespace: str) -> list[dict[str, Any]]:
    pods = [p.to_dict() for p in k8s.admin.list(Pod, namespace=namespace, labels={"app": "web"})]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def injected_revision(pod: dict[str, Any]) -> str | None:
    return (pod["metadata"].get("annotations") or {}).get("istio.io/rev") if find_sidecar(pod) else None


# --- the acceptance flow ----------------------------------------------------------------------------------------


def test_canary_upgrade_from_r1_to_r2_with_external_webhook_servers(k8s: K8sCluster, cli: Any, tmp_path: Path) -> None:
    suffix = secrets.token_hex(2)
    r1, r2 = f"r1-{suffix}", f"r2-{suffix}"
    cp, shop = f"mi-cp-{suffix}", f"mi-shop-{suffix}"
    ca, cert, key = write_pki(tmp_path / "pki")
    servers = [start_server(rev, cert, key, tmp_path / f"{rev}.log") for rev in (r1, r2)]
    try:
        with cleanup(k8s, [r1, r2], [cp, shop]):
            for server in servers:
                wait_ready(server, ca.read_bytes())

            # install r1: applied, ready, and a dry-run pod in a temporary labelled namespace got the sidecar
            code, out, err = cli(
                "install", "--revision", r1, "-n", cp, "--webhook-url", servers[0].url, "--ca-bundle", str(ca),
                "--timeout", "60", "-o", "json",
            )  # fmt: skip
            assert code == 0, err
            result = json.loads(out)
            assert [a["kind"] for a in result["applied"]] == ["ConfigMap", "ConfigMap", "MutatingWebhookConfiguration"]
            assert result["verification"]["ok"] is True
            assert result["verification"]["temporaryNamespace"] is True
            assert "istio-proxy" in result["verification"]["containers"]
            assert result["verification"]["injectedRevision"] == r1
            assert webhook_configurations(k8s, r1) == [f"istio-sidecar-injector-{r1}"]
            injector = k8s.admin.get(ConfigMap, f"istio-sidecar-injector-{r1}", namespace=cp)
            assert injector.data is not None and json.loads(injector.data["values"])["revision"] == r1

            k8s.admin.create(Namespace(metadata=ObjectMeta(name=shop, labels={"istio.io/rev": r1})))
            with k8s.kubelet(namespaces=[shop]):
                # pods made by the ReplicaSet controller get r1's sidecar
                k8s.admin.create(web_deployment(), namespace=shop)
                pods = wait_for(
                    lambda: p if len(p := live_pods(k8s, shop)) == 2 else None, timeout=30, what="2 web pods"
                )
                for pod in pods:
                    assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"
                    assert injected_revision(pod) == r1

                code, _, err = cli(
                    "install", "--revision", r2, "-n", cp, "--webhook-url", servers[1].url, "--ca-bundle", str(ca),
                    "--timeout", "60",
                )  # fmt: skip
                assert code == 0, err

                # r1 is still selected by the namespace and has injected the running pods: refused, with the list
                code, out, err = cli("uninstall", "--revision", r1, "-n", cp, "-o", "json")
                assert code == 1
                usage = json.loads(out)["usage"]
                assert usage["namespaces"] == [shop]
                assert sorted(usage["pods"]) == sorted(f"{shop}/{p['metadata']['name']}" for p in pods)
                assert "still in use" in err

                code, _, err = cli("enable", shop, "--revision", r2)
                assert code == 0, err
                code, out, err = cli("uninstall", "--revision", r1, "-n", cp, "-o", "json")
                assert code == 1
                assert json.loads(out)["usage"]["namespaces"] == []
                assert len(json.loads(out)["usage"]["pods"]) == 2
                assert webhook_configurations(k8s, r1), "a refused uninstall must not delete anything"

                code, _, err = cli("restart", shop, "--istio-namespace", cp, "--timeout", "60s")
                assert code == 0, err

                def moved() -> list[dict[str, Any]] | None:
                    k8s.finalize_deleted_pods(shop)
                    pods = [p.to_dict() for p in k8s.admin.list(Pod, namespace=shop, labels={"app": "web"})]
                    return pods if len(pods) == 2 and all(injected_revision(p) == r2 for p in pods) else None

                for pod in wait_for(moved, timeout=30, what="the web pods to carry r2's sidecar"):
                    assert pod["metadata"]["annotations"]["istio.io/rev"] == r2

                code, out, err = cli("uninstall", "--revision", r1, "-n", cp, "-o", "json")
                assert code == 0, err
                assert json.loads(out)["refused"] is False
                assert webhook_configurations(k8s, r1) == []
                with pytest.raises(ApiError):
                    k8s.admin.get(ConfigMap, f"istio-sidecar-injector-{r1}", namespace=cp)

            # r2's server goes away: its Fail webhook refuses pods of the labelled namespace, and nothing else
            servers[1].stop()
            with pytest.raises(ApiError) as refused:
                k8s.admin.create(bare_pod("refused"), namespace=shop)
            assert "failed calling webhook" in refused.value.status.message
            assert "rev.namespace.sidecar-injector.istio.io" in refused.value.status.message

            for namespace in ("kube-system", cp):
                label_namespace(k8s, namespace, {"istio.io/rev": r2})
                try:
                    name = f"mi-probe-{suffix}"
                    created = k8s.admin.create(bare_pod(name), namespace=namespace).to_dict()
                    assert find_sidecar(created) is None
                    k8s.admin.delete(Pod, name, namespace=namespace, grace_period=0)
                finally:
                    label_namespace(k8s, namespace, {"istio.io/rev": None})

            code, out, err = cli("uninstall", "--revision", r2, "-n", cp, "--force")
            assert code == 0, err
            assert webhook_configurations(k8s, r2) == []
    finally:
        for server in servers:
            server.stop()


def test_uninstall_of_an_unknown_revision_is_a_usage_error(cli: Any) -> None:
    code, _, err = cli("uninstall", "--revision", f"nothing-{secrets.token_hex(2)}", "-n", "istio-system")

    assert code == 2
    assert "is not installed" in err


def test_install_fails_when_the_webhook_server_is_not_there(cli: Any, k8s: K8sCluster, tmp_path: Path) -> None:
    revision = f"gone-{secrets.token_hex(2)}"
    ca, _, _ = write_pki(tmp_path / "pki")
    with cleanup(k8s, [revision], [f"mi-cp-{revision}"]):
        code, _, err = cli(
            "install", "--revision", revision, "-n", f"mi-cp-{revision}", "--webhook-url",
            f"https://127.0.0.1:{free_port()}/inject", "--ca-bundle", str(ca), "--timeout", "2",
        )  # fmt: skip

    assert code == 1
    assert "is not ready after 2s" in err


# --- manifests against the API server ---------------------------------------------------------------------------


@pytest.mark.parametrize("revision", ["dry", "default"])
def test_manifests_output_passes_a_server_side_dry_run_apply(
    k8s: K8sCluster, capsys: pytest.CaptureFixture[str], tmp_path: Path, revision: str
) -> None:
    namespace = f"mi-dry-{secrets.token_hex(2)}"
    ca, _, _ = write_pki(tmp_path / "pki")
    variants = [
        [],
        ["--cert-manager", "ClusterIssuer/mesh-ca"],
        ["--webhook-url", "https://10.1.2.3/inject", "--ca-bundle", str(ca)],
    ]
    k8s.admin.create(Namespace(metadata=ObjectMeta(name=namespace)))
    try:
        with Client(KubeConfig.from_file(k8s.kubeconfig), trust_env=False) as client:
            for flags in variants:
                assert (
                    app(["manifests", "--revision", revision, "-n", namespace, *flags], result_action="return_value")
                    == 0
                )
                objects = [o for o in yaml.safe_load_all(capsys.readouterr().out) if o]
                # cert-manager's CRDs are not installed here: its Certificate is the one object left out
                checked = [o for o in objects if o["apiVersion"] != "cert-manager.io/v1"]
                applied = apply_objects(client, checked, force_conflicts=False, dry_run=True)
                assert [r.kind for r in applied] == [o["kind"] for o in checked]
        # Nothing was stored.
        assert webhook_configurations(k8s, revision) == []
    finally:
        k8s.admin.delete(Namespace, namespace)


# --- certificates -----------------------------------------------------------------------------------------------


def service_account_token(k8s: K8sCluster, namespace: str, name: str) -> str:
    token = k8s.admin.create(
        ServiceAccountToken(
            metadata=ObjectMeta(name=name, namespace=namespace),
            spec=TokenRequestSpec(audiences=[], expirationSeconds=3600),
        ),
        name,
        namespace=namespace,
    )
    assert token.status is not None
    return str(token.status.token)


def token_kubeconfig(k8s: K8sCluster, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": k8s.server,
                    "certificate-authority-data": base64.b64encode(k8s.ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "sa"}}],
        "current-context": "c",
    }


def service_account_client(k8s: K8sCluster, namespace: str, name: str) -> Client:
    """A client authenticated as the control plane's ServiceAccount (so RBAC is what the manifests grant)."""
    config = token_kubeconfig(k8s, service_account_token(k8s, namespace, name))
    return Client(KubeConfig.from_dict(config), trust_env=False)


def admission_review(uid: str) -> bytes:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "x:1"}]},
    }
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "default",
            "operation": "CREATE",
            "object": pod,
        },
    }
    return json.dumps(review).encode()


def test_certificate_rotation_while_requests_flow_fails_no_request(k8s: K8sCluster, cli: Any, tmp_path: Path) -> None:
    suffix = secrets.token_hex(2)
    revision, cp, shop = f"rot-{suffix}", f"mi-cp-{suffix}", f"mi-rot-{suffix}"
    names = Names(revision, cp)
    cert_dir = tmp_path / "certs"
    config, values, mesh = builtin_injector_texts()
    data = injector_data(revision=revision, namespace=cp, base_config=config, base_values=values, base_mesh=mesh)
    server: Server | None = None
    stop = threading.Event()
    with (
        cleanup(k8s, [revision], [cp, shop]),
        Client(KubeConfig.from_file(k8s.kubeconfig)) as admin,
        contextlib.ExitStack() as stack,
    ):
        k8s.admin.create(Namespace(metadata=ObjectMeta(name=cp)))
        k8s.admin.create(Namespace(metadata=ObjectMeta(name=shop, labels={"istio.io/rev": revision})))
        # The RBAC, ServiceAccount and (empty) Secret of the in-cluster manifests; the server runs here instead.
        kept = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret", "ConfigMap"}
        in_cluster = [
            o for o in render(ControlPlaneOptions(revision=revision, namespace=cp), data) if o["kind"] in kept
        ]
        apply_objects(admin, in_cluster, force_conflicts=False)
        sa_client = stack.enter_context(service_account_client(k8s, cp, names.workload))
        policy = certs_mod.CertPolicy(hosts=("127.0.0.1",), overlap=datetime.timedelta(seconds=3))
        events: list[dict[str, Any]] = []

        def log(event: str, **fields: Any) -> None:
            events.append({"event": event, **fields})

        controller = certs_mod.CertController(
            sa_client, revision=revision, namespace=cp, secret_name=names.secret, policy=policy,
            write_dir=cert_dir, log=log,
        )  # fmt: skip
        first = controller.reconcile()
        assert first.action == "bootstrap" and first.phase == "stable"
        first_bundle = (cert_dir / "ca.crt").read_bytes()
        # least privilege: the ServiceAccount cannot create Secrets
        with pytest.raises(ClusterError) as forbidden, api_call("create", "secrets", namespace=cp):
            sa_client.create(Secret(metadata=ObjectMeta(name="other")), namespace=cp)
        assert forbidden.value.forbidden

        server = start_server(revision, cert_dir / "tls.crt", cert_dir / "tls.key", tmp_path / "serve.log")
        wait_ready(server, (cert_dir / "ca.crt").read_bytes())
        external = ControlPlaneOptions(
            revision=revision, namespace=cp, webhook_url=server.url, ca_bundle=(cert_dir / "ca.crt").read_bytes()
        )
        [webhook_config] = [o for o in render(external, data) if o["kind"] == "MutatingWebhookConfiguration"]
        apply_objects(admin, [webhook_config], force_conflicts=False)
        url = server.url

        counts = {"apiserver": 0, "direct": 0}
        failures: list[str] = []

        def through_apiserver() -> None:
            with Client(KubeConfig.from_file(k8s.kubeconfig), trust_env=False) as client:
                while not stop.is_set():
                    try:
                        pod = client.create(bare_pod("flow"), namespace=shop, dry_run=True).to_dict()
                        if find_sidecar(pod) is None:
                            failures.append("apiserver: pod admitted without a sidecar")
                        counts["apiserver"] += 1
                    except Exception as err:
                        failures.append(f"apiserver: {err}")

        def direct() -> None:
            """An HTTPS client that trusts what the webhook configuration says right now, new connection each time."""
            with Client(KubeConfig.from_file(k8s.kubeconfig), trust_env=False) as client:
                i = 0
                while not stop.is_set():
                    i += 1
                    hooks = client.get(MutatingWebhookConfiguration, webhook_config["metadata"]["name"]).webhooks
                    assert hooks is not None
                    bundle = base64.b64decode(hooks[0].clientConfig.caBundle or "")
                    context = ssl.create_default_context(cadata=bundle.decode())
                    request = urllib.request.Request(
                        url, data=admission_review(f"u{i}"),
                        headers={"Content-Type": "application/json"}, method="POST",
                    )  # fmt: skip
                    opener = urllib.request.build_opener(
                        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
                    )
                    try:
                        with opener.open(request, timeout=10) as response:
                            answer = json.loads(response.read())
                        if not answer["response"]["allowed"] or "patch" not in answer["response"]:
                            failures.append(f"direct: not injected: {answer['response']}")
                        counts["direct"] += 1
                    except Exception as err:
                        failures.append(f"direct: {err}")

        loop = threading.Thread(target=controller.run, args=(stop,), kwargs={"interval": 0.2})
        flows = [threading.Thread(target=through_apiserver), threading.Thread(target=direct)]
        for thread in (loop, *flows):
            thread.start()
        try:
            time.sleep(1.0)
            certs_mod.request_rotation(admin, namespace=cp, secret_name=names.secret, what="ca")

            def rotated() -> bool | None:
                secret = admin.get(Secret, names.secret, namespace=cp)
                state, _ = certs_mod.parse_state(
                    {k: base64.b64decode(v) for k, v in (secret.data or {}).items()},
                    (secret.metadata.annotations or {}) if secret.metadata else {},
                )
                done = state is not None and state.phase == "stable" and len(state.trusted) == 1
                return True if done and any(e.get("action") == "retire-ca" for e in events) else None

            wait_for(rotated, timeout=30, what="the CA rotation to finish")
            code, _, err = cli("certs", "--revision", revision, "-n", cp, "--rotate", "serving")
            assert code == 0, err
            wait_for(
                lambda: True if any(e.get("action") == "renew-serving" for e in events) else None,
                timeout=10,
                what="the serving certificate renewal",
            )
            time.sleep(2.0)  # the server reloads the files within a second; keep the flows going past that
        finally:
            stop.set()
            for thread in (loop, *flows):
                thread.join(timeout=30)
            if server is not None:
                server.stop()

        actions = [e["action"] for e in events if e["event"] == "certificate step"]
        assert actions == ["bootstrap", "stage-ca", "switch-ca", "retire-ca", "renew-serving"]
        assert failures == []
        assert counts["apiserver"] >= 20 and counts["direct"] >= 20, counts
        # one more pass through the command: nothing is due, every webhook carries the bundle
        code, out, err = cli("certs", "--revision", revision, "-n", cp, "--host", "127.0.0.1", "--once", "-o", "json")
        assert code == 0, err
        summary = json.loads(out)
        assert (summary["phase"], summary["action"], summary["published"]) == ("stable", None, True)
        assert summary["webhookConfigurations"] == [f"istio-sidecar-injector-{revision}"]
        # the webhook now trusts only the new CA, and the server presents a certificate it signed
        hooks = admin.get(MutatingWebhookConfiguration, webhook_config["metadata"]["name"]).webhooks or []
        bundles = {base64.b64decode(h.clientConfig.caBundle or "") for h in hooks}
        assert bundles == {(cert_dir / "ca.crt").read_bytes()}
        assert (cert_dir / "ca.crt").read_bytes() != first_bundle


def test_the_rendered_deployment_containers_run_as_written(k8s: K8sCluster, tmp_path: Path) -> None:
    """The init container, the certificate sidecar and the server, run locally with exactly the command lines of
    the rendered Deployment (paths mapped to temporary directories, the ServiceAccount's token as credentials)."""
    suffix = secrets.token_hex(2)
    revision, cp = f"pod-{suffix}", f"mi-cp-{suffix}"
    names = Names(revision, cp)
    config, values, mesh = builtin_injector_texts()
    data = injector_data(revision=revision, namespace=cp, base_config=config, base_values=values, base_mesh=mesh)
    objects = render(ControlPlaneOptions(revision=revision, namespace=cp), data)
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    config_dir, cert_dir = tmp_path / "config", tmp_path / "certs"
    config_dir.mkdir()
    for cm in (o for o in objects if o["kind"] == "ConfigMap"):
        for key, text in cm["data"].items():
            (config_dir / key).write_text(text)
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    with cleanup(k8s, [revision], [cp]), Client(KubeConfig.from_file(k8s.kubeconfig)) as admin:
        k8s.admin.create(Namespace(metadata=ObjectMeta(name=cp)))
        skipped = {"Deployment", "PodDisruptionBudget"}  # no kubelet runs the image here: the test runs the pod
        apply_objects(admin, [o for o in objects if o["kind"] not in skipped], force_conflicts=False)
        sa_kubeconfig = tmp_path / "sa.kubeconfig"
        sa_kubeconfig.write_text(json.dumps(token_kubeconfig(k8s, service_account_token(k8s, cp, names.workload))))

        def argv(container: dict[str, Any]) -> list[str]:
            words = [*container.get("command", ["meshinject", "serve"]), *container["args"]]
            assert words[0] == "meshinject"
            mapped = [
                w.replace("/etc/meshinject/config", str(config_dir)).replace("/var/run/meshinject/certs", str(cert_dir))
                for w in words[1:]
            ]
            if mapped[0] == "serve":
                mapped[mapped.index("--port") + 1] = str(port)
                return [*MESHINJECT, *mapped, "--host", "127.0.0.1", "--log-level", "warning"]
            return [*MESHINJECT, *mapped, "--kubeconfig", str(sa_kubeconfig)]

        [init] = pod["initContainers"]
        done = subprocess.run(argv(init), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        try:
            for container in pod["containers"]:
                with (tmp_path / f"{container['name']}.log").open("wb") as log:
                    processes.append(subprocess.Popen(argv(container), stdout=log, stderr=subprocess.STDOUT))
            bundle = (cert_dir / "ca.crt").read_bytes()
            context = ssl.create_default_context(cadata=bundle.decode())

            def ready() -> bool | None:
                assert all(p.poll() is None for p in processes), (tmp_path / "webhook.log").read_text()
                # The certificate names the Service: connect to the local port, verify as the apiserver would.
                try:
                    with (
                        socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
                        context.wrap_socket(raw, server_hostname=f"{names.workload}.{cp}.svc") as tls,
                    ):
                        tls.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        answer = tls.recv(100)
                except OSError:
                    return None
                started = "certificate controller started" in (tmp_path / "certs.log").read_text()
                return True if answer.startswith(b"HTTP/1.1 200") and started else None

            assert wait_for(ready, timeout=60, what="the webhook container")
            hooks = admin.get(MutatingWebhookConfiguration, names.webhook_configuration).webhooks or []
            assert {base64.b64decode(h.clientConfig.caBundle or "") for h in hooks} == {bundle}
        finally:
            for process in processes:
                process.terminate()
            codes = [process.wait(timeout=30) for process in processes]
        assert codes == [0, 0], [(tmp_path / f"{c['name']}.log").read_text() for c in pod["containers"]]
