"""A real Kubernetes control plane for tests: etcd, kube-apiserver and kube-controller-manager on 127.0.0.1.

Mocks of the API server prove nothing about admission, RBAC, defaulting or controllers, so tests that talk to a
cluster run against the real binaries. They are found in the directory named by ``MESHINJECT_K8S_BIN`` (see
docs/testing.md for how to get them); without them the fixture skips with the reason.

No kubelet or scheduler runs. ``K8sCluster`` plays the node the way kwok does: it creates Node objects, binds
pods, writes their status through the ``pods/status`` subresource, and finalizes the deletion of bound pods
(``K8sCluster.kubelet`` does all of this continuously in a background thread).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.models import core_v1 as models
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Namespace, Node, NodeStatus, Pod, PodStatus, ServiceAccount
from lightkube.types import PatchType

from meshinject.cluster.client import prepare_decoders

_WORKLOAD_RESOURCES = (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, PodStatus, NodeStatus)

ENV_VAR = "MESHINJECT_K8S_BIN"
REQUIRED_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
DEFAULT_KUBELET_VERSION = "v1.36.2"
DEFAULT_NODE = "meshinject-node-0"
ADMIN_USER = "meshinject-admin"
# A user in no group but system:authenticated, so tests can provoke and check RBAC "forbidden" errors.
PLAIN_USER = "meshinject-user"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0

T = TypeVar("T")
Scope = Literal["session", "package", "module", "class", "function"]


def find_binaries(environ: Mapping[str, str] | None = None) -> tuple[Path | None, str]:
    """The directory holding the three binaries, or None and why the cluster tests cannot run."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "")
    if not value:
        return None, (
            f"{ENV_VAR} is not set: tests against a real API server need a directory with "
            f"{', '.join(REQUIRED_BINARIES)} (see docs/testing.md)"
        )
    directory = Path(value)
    missing = [name for name in REQUIRED_BINARIES if not os.access(directory / name, os.X_OK)]
    if missing:
        return None, f"{ENV_VAR}={value} lacks executable {', '.join(missing)} (see docs/testing.md)"
    return directory, ""


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``check`` until it returns something other than None; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- certificates --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path


def _make_pki(directory: Path) -> _Pki:
    """The apiserver's CA and serving certificate, made by the control plane's own certificate code."""
    # Imported here so that a machine without cryptography can still collect (and skip) the cluster tests.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from meshinject.cluster import certs

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    validity = datetime.timedelta(days=2)
    ca = certs.new_ca(now, validity, name="meshinject-test")
    hosts = (
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "127.0.0.1",
        SERVICE_IP,
    )
    serving = certs.new_serving(ca, hosts, now, validity)
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write(path: Path, data: bytes, *, secret: bool = False) -> Path:
        path.write_bytes(data)
        if secret:
            path.chmod(0o600)
        return path

    sa_private = sa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sa_public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _Pki(
        ca_cert=write(directory / "ca.crt", ca.cert_pem()),
        ca_key=write(directory / "ca.key", ca.key_pem(), secret=True),
        serving_cert=write(directory / "apiserver.crt", serving.cert_pem()),
        serving_key=write(directory / "apiserver.key", serving.key_pem(), secret=True),
        sa_key=write(directory / "sa.key", sa_private, secret=True),
        sa_pub=write(directory / "sa.pub", sa_public),
    )


def _write_kubeconfig(path: Path, *, server: str, ca_file: Path, user: str, token: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "meshinject-test",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": "meshinject-test", "context": {"cluster": "meshinject-test", "user": user, "namespace": "default"}}
        ],
        "current-context": "meshinject-test",
        "preferences": {},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


# --- processes -----------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    # If pytest is killed outright, the control plane must not outlive it and hold ports on a shared machine.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class _Process:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def log_tail(self, lines: int = 25) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {self.log_path} ---\n" + "\n".join(text)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with code {self.proc.returncode}\n{self.log_tail()}")

    def stop(self) -> None:
        # Each binary runs in its own session, so the whole process group goes, children included.
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
        self.log.close()


def _spawn(name: str, argv: list[str], workdir: Path) -> _Process:
    log_path = workdir / f"{name}.log"
    log = log_path.open("ab")
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        start_new_session=True,
        preexec_fn=_die_with_parent,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)},
    )
    return _Process(name, proc, log_path, log)


class BindingError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"HTTP {code}: {message}")
        self.code = code
        self.message = message


# --- the cluster ---------------------------------------------------------------------------------------------


@dataclass
class K8sCluster:
    """A running control plane and the kubelet's part of the work, done by hand."""

    server: str
    kubeconfig: Path
    user_kubeconfig: Path
    ca_file: Path
    token: str
    workdir: Path
    startup_seconds: float = 0.0
    _client: Client | None = field(default=None, repr=False)
    _ip_counter: int = field(default=0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, namespace: str | None = None) -> Client:
        """A new admin client; the caller closes it (it is a context manager)."""
        return Client(KubeConfig.from_file(self.kubeconfig), namespace=namespace, trust_env=False)

    @property
    def admin(self) -> Client:
        """The cluster's own admin client, shared, closed at teardown."""
        if self._client is None:
            self._client = self.client()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # nodes

    def add_node(
        self,
        name: str = DEFAULT_NODE,
        *,
        kubelet_version: str = DEFAULT_KUBELET_VERSION,
        labels: Mapping[str, str] | None = None,
    ) -> models.Node:
        """Register a Ready node reporting ``kubelet_version``, as a kubelet does at start-up (idempotent)."""
        all_labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            **(labels or {}),
        }
        try:
            self.admin.create(Node(metadata=ObjectMeta(name=name, labels=all_labels)))
        except ApiError as err:
            if err.status.code != 409:
                raise
        now = _now()
        ready = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }
        status = {
            "status": {
                "conditions": [ready],
                "addresses": [
                    {"type": "InternalIP", "address": self._host_ip(name)},
                    {"type": "Hostname", "address": name},
                ],
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "nodeInfo": {
                    "kubeletVersion": kubelet_version,
                    "kubeProxyVersion": "",
                    "containerRuntimeVersion": "containerd://2.1.0",
                    "osImage": "meshinject test node",
                    "kernelVersion": "6.1.0",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "machineID": hashlib.md5(name.encode()).hexdigest(),
                    "systemUUID": hashlib.md5(name.encode()).hexdigest(),
                    "bootID": hashlib.md5(name.encode()).hexdigest(),
                },
            }
        }
        node_obj = self.admin.patch(NodeStatus, name, status, patch_type=PatchType.MERGE)
        # No node lifecycle controller runs here to lift the not-ready taint a new node starts with; a real kubelet
        # reporting Ready gets it lifted, so do that too (DaemonSet pods do not tolerate it).
        taints = [
            t
            for t in (node_obj.spec.taints if node_obj.spec else None) or []
            if t.key != "node.kubernetes.io/not-ready"
        ]
        if node_obj.spec is not None and len(taints) != len(node_obj.spec.taints or []):
            self.admin.patch(
                Node, name, {"spec": {"taints": [t.to_dict() for t in taints] or None}}, patch_type=PatchType.MERGE
            )
        return node_obj

    @staticmethod
    def _host_ip(node: str) -> str:
        digest = hashlib.sha256(node.encode()).digest()
        return f"10.250.{digest[0]}.{digest[1] % 250 + 2}"

    def _next_pod_ip(self) -> str:
        with self._lock:
            self._ip_counter += 1
            n = self._ip_counter
        return f"10.244.{n // 250 % 256}.{n % 250 + 2}"

    # pods

    def bind_pod(self, name: str, namespace: str, node: str = DEFAULT_NODE) -> None:
        """Schedule a pod on ``node`` through the binding subresource, as kube-scheduler does."""
        # Sent by hand: lightkube 1.0 decodes the Status this call answers with as a Binding, and fails.
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        request = urllib.request.Request(
            f"{self.server}/api/v1/namespaces/{namespace}/pods/{name}/binding",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with _loopback_opener(self.ca_file).open(request, timeout=10):
                pass
        except urllib.error.HTTPError as err:
            with err:
                detail = err.read().decode(errors="replace")
            try:
                message = str(json.loads(detail).get("message", detail))
            except ValueError:
                message = detail
            raise BindingError(err.code, f"binding {namespace}/{name} to {node}: {message}") from None

    def set_pod_status(self, name: str, namespace: str, *, ready: bool = True, node: str | None = None) -> models.Pod:
        """Report the pod Running with every container started, ready or not, through ``pods/status``.

        With ``node``, an unscheduled pod is first bound there (the Node is created if needed). Completed init
        containers and native sidecars (init containers with ``restartPolicy: Always``) are reported the way
        the kubelet reports them, so READY counts come out as kubectl computes them.
        """
        pod = self.admin.get(Pod, name, namespace=namespace)
        assert pod.spec is not None
        if node is not None and not pod.spec.nodeName:
            if not self._node_exists(node):
                self.add_node(node)
            self.bind_pod(name, namespace, node)
        host = node or pod.spec.nodeName
        now = _now()

        def running(container_name: str, image: str, is_ready: bool) -> dict[str, Any]:
            return {
                "name": container_name,
                "image": image,
                "imageID": f"{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
                "containerID": f"containerd://{secrets.token_hex(32)}",
                "ready": is_ready,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }

        init_statuses = []
        for c in pod.spec.initContainers or []:
            if c.restartPolicy == "Always":
                init_statuses.append(running(c.name, c.image or "", ready))
            else:
                status = running(c.name, c.image or "", True)
                status["started"] = False
                status["state"] = {
                    "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}
                }
                init_statuses.append(status)
        statuses = [running(c.name, c.image or "", ready) for c in pod.spec.containers]

        def condition(kind: str, ok: bool, reason: str | None = None) -> dict[str, Any]:
            cond: dict[str, Any] = {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": now}
            if reason:
                cond["reason"] = reason
            return cond

        unready = "ContainersNotReady" if not ready else None
        pod_ip = self._next_pod_ip()
        status_body: dict[str, Any] = {
            "phase": "Running",
            "conditions": [
                condition("PodReadyToStartContainers", True),
                condition("Initialized", True),
                condition("Ready", ready, unready),
                condition("ContainersReady", ready, unready),
                condition("PodScheduled", True),
            ],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": now,
            "containerStatuses": statuses,
            "initContainerStatuses": init_statuses,
        }
        if host:
            status_body["hostIP"] = self._host_ip(host)
            status_body["hostIPs"] = [{"ip": self._host_ip(host)}]
        return self.admin.patch(
            PodStatus, name, {"status": status_body}, namespace=namespace, patch_type=PatchType.MERGE
        )

    def _node_exists(self, node: str) -> bool:
        try:
            self.admin.get(Node, node)
        except ApiError as err:
            if err.status.code == 404:
                return False
            raise
        return True

    def finalize_deleted_pods(self, namespace: str | None = None) -> int:
        """Remove bound pods that are terminating, as their kubelet would once the containers stopped."""
        done = 0
        for pod in self.admin.list(Pod, namespace=namespace or "*"):
            meta, spec = pod.metadata, pod.spec
            if meta is None or spec is None or meta.deletionTimestamp is None or not spec.nodeName:
                continue
            assert meta.name is not None
            with contextlib.suppress(ApiError):
                self.admin.delete(Pod, meta.name, namespace=meta.namespace, grace_period=0)
                done += 1
        return done

    def wait_for_pods(
        self, namespace: str, *, labels: Mapping[str, str] | None = None, count: int = 1, timeout: float = 30.0
    ) -> list[Pod]:
        """Wait until at least ``count`` live (not terminating) pods match, and return them."""

        def check() -> list[Pod] | None:
            pods = [
                p
                for p in self.admin.list(Pod, namespace=namespace, labels=dict(labels or {}))
                if p.metadata is not None and p.metadata.deletionTimestamp is None
            ]
            return pods if len(pods) >= count else None

        return wait_for(check, timeout=timeout, what=f"{count} pod(s) in {namespace} matching {labels or {}}")

    @contextlib.contextmanager
    def kubelet(
        self,
        node: str = DEFAULT_NODE,
        *,
        kubelet_version: str = DEFAULT_KUBELET_VERSION,
        namespaces: Collection[str] | None = None,
        ready: Callable[[Pod], bool] = lambda pod: True,
        interval: float = 0.3,
    ) -> Iterator[_FakeKubelet]:
        """Run a fake kubelet for ``node`` in the background while the block runs.

        It binds every unscheduled pod (of ``namespaces``, or of all) to the node, reports new pods Running
        (ready when ``ready(pod)``), and finalizes the deletion of the node's terminating pods. Errors it met are
        raised when the block ends.
        """
        self.add_node(node, kubelet_version=kubelet_version)
        # msgspec builds a type's decoding table on first use; doing that while another thread decodes the same
        # types can crash CPython (msgspec 0.22), so every type the kubelet thread decodes is prepared here.
        prepare_decoders([Pod, Node, Namespace, *_WORKLOAD_RESOURCES])
        kubelet = _FakeKubelet(self, node, ready, interval, None if namespaces is None else frozenset(namespaces))
        kubelet.start()
        try:
            yield kubelet
        finally:
            kubelet.stop()
        if kubelet.errors:
            raise RuntimeError(f"fake kubelet on {node} failed: {kubelet.errors[0]!r}") from kubelet.errors[0]


class _FakeKubelet(threading.Thread):
    def __init__(
        self,
        cluster: K8sCluster,
        node: str,
        ready: Callable[[Pod], bool],
        interval: float,
        namespaces: frozenset[str] | None,
    ) -> None:
        super().__init__(name=f"fake-kubelet-{node}", daemon=True)
        self.cluster = cluster
        self.node = node
        self.namespaces = namespaces
        self.ready = ready
        self.interval = interval
        self.errors: list[BaseException] = []
        self.handled: set[str] = set()
        self._stop_event = threading.Event()
        self._client = cluster.client()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)
        self._client.close()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.sync_once()
            except ApiError as err:
                # Conflicts and vanished pods are the normal races of a controller; try again next round.
                if err.status.code not in (404, 409):
                    self.errors.append(err)
            except BindingError as err:
                # A namespace being deleted refuses new bindings, as it does for kube-scheduler.
                if err.code not in (404, 409) and "being terminated" not in err.message:
                    self.errors.append(err)
            except Exception as err:
                self.errors.append(err)
            self._stop_event.wait(self.interval)

    def sync_once(self) -> None:
        for pod in self._client.list(Pod, namespace="*"):
            meta, spec = pod.metadata, pod.spec
            if meta is None or spec is None or meta.name is None or meta.namespace is None:
                continue
            if self.namespaces is not None and meta.namespace not in self.namespaces:
                continue
            if spec.nodeName not in (None, "", self.node):
                continue
            if meta.deletionTimestamp is not None:
                if spec.nodeName:
                    self._client.delete(Pod, meta.name, namespace=meta.namespace, grace_period=0)
                continue
            if spec.schedulingGates:
                continue
            if meta.uid in self.handled:
                continue
            self.cluster.set_pod_status(meta.name, meta.namespace, ready=self.ready(pod), node=self.node)
            assert meta.uid is not None
            self.handled.add(meta.uid)


@contextlib.contextmanager
def start_cluster(bin_dir: Path, workdir: Path, *, timeout: float = START_TIMEOUT) -> Iterator[K8sCluster]:
    """Start etcd, kube-apiserver and kube-controller-manager under ``workdir``; stop them on exit."""
    started = time.monotonic()
    deadline = started + timeout
    pki = _make_pki(workdir / "pki")
    admin_token = secrets.token_urlsafe(24)
    kcm_token = secrets.token_urlsafe(24)
    user_token = secrets.token_urlsafe(24)
    tokens = workdir / "tokens.csv"
    tokens.write_text(
        f'{admin_token},{ADMIN_USER},uid-admin,"system:masters"\n'
        f'{kcm_token},system:kube-controller-manager,uid-kcm,"system:masters"\n'
        f"{user_token},{PLAIN_USER},uid-user\n"
    )
    tokens.chmod(0o600)

    etcd_port, peer_port, api_port = _free_port(), _free_port(), _free_port()
    server = f"https://127.0.0.1:{api_port}"
    kubeconfig = _write_kubeconfig(
        workdir / "kubeconfig", server=server, ca_file=pki.ca_cert, user=ADMIN_USER, token=admin_token
    )
    user_kubeconfig = _write_kubeconfig(
        workdir / "user.kubeconfig", server=server, ca_file=pki.ca_cert, user=PLAIN_USER, token=user_token
    )
    kcm_kubeconfig = _write_kubeconfig(
        workdir / "kcm.kubeconfig", server=server, ca_file=pki.ca_cert, user="kcm", token=kcm_token
    )

    processes: list[_Process] = []
    cluster = K8sCluster(
        server=server,
        kubeconfig=kubeconfig,
        user_kubeconfig=user_kubeconfig,
        ca_file=pki.ca_cert,
        token=admin_token,
        workdir=workdir,
    )
    try:
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        etcd = _spawn(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=meshinject-test",
                f"--data-dir={workdir / 'etcd-data'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=meshinject-test={peer_url}",
                "--initial-cluster-state=new",
                # Test data is thrown away: skipping fsync makes every write an order of magnitude cheaper.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            workdir,
        )
        processes.append(etcd)
        _wait_http(f"{etcd_url}/health", etcd, deadline, expect=b'"health":"true"')

        apiserver = _spawn(
            "kube-apiserver",
            [
                str(bin_dir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # Endpoints may not name a loopback address, so the "kubernetes" Service is left without any.
                "--endpoint-reconciler-type=none",
                f"--secure-port={api_port}",
                f"--cert-dir={workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving_cert}",
                f"--tls-private-key-file={pki.serving_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                # On by default already; named so that a change of defaults cannot silently drop the webhooks.
                "--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
                "--profiling=false",
                "--v=1",
            ],
            workdir,
        )
        processes.append(apiserver)
        _wait_http(f"{server}/readyz", apiserver, deadline, token=admin_token, ca_file=pki.ca_cert)

        kcm = _spawn(
            "kube-controller-manager",
            [
                str(bin_dir / "kube-controller-manager"),
                f"--kubeconfig={kcm_kubeconfig}",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                "--leader-elect=false",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_cert}",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={pki.ca_key}",
                # Nodes here have no heartbeat: the lifecycle controller would taint them and evict every pod.
                "--controllers=*,-node-lifecycle-controller",
                "--v=1",
            ],
            workdir,
        )
        processes.append(kcm)

        # The "default" ServiceAccount is created by a controller: its arrival shows the controllers are up,
        # and pods cannot be admitted before it exists anyway.
        def default_sa() -> bool | None:
            for process in processes:
                process.check_alive()
            try:
                cluster.admin.get(ServiceAccount, "default", namespace="default")
            except ApiError:
                return None
            return True

        wait_for(default_sa, timeout=max(deadline - time.monotonic(), 1.0), what="kube-controller-manager")
        cluster.startup_seconds = time.monotonic() - started
        yield cluster
    finally:
        cluster.close()
        for process in reversed(processes):
            process.stop()


def _loopback_opener(ca_file: Path | None) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    # Loopback only: never let a proxy from the environment see these requests.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))


def _wait_http(
    url: str,
    process: _Process,
    deadline: float,
    *,
    expect: bytes = b"ok",
    token: str | None = None,
    ca_file: Path | None = None,
) -> None:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    opener = _loopback_opener(ca_file)
    last = ""
    while time.monotonic() < deadline:
        process.check_alive()
        try:
            with opener.open(request, timeout=5) as response:
                body: bytes = response.read()
                if expect in body:
                    return
                last = body.decode(errors="replace")
        except (urllib.error.URLError, OSError) as err:
            last = str(err)
        time.sleep(0.3)
    raise TimeoutError(f"{process.name} not ready at {url} in time (last answer: {last[:500]})\n{process.log_tail()}")


def k8s_fixture(scope: Scope = "session") -> Any:
    """Make a pytest fixture yielding a started ``K8sCluster``, or skipping with the reason it cannot."""

    @pytest.fixture(scope=scope)
    def k8s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sCluster]:
        bin_dir, reason = find_binaries()
        if bin_dir is None:
            pytest.skip(reason)
        if importlib.util.find_spec("cryptography") is None:
            pytest.skip("the Python package cryptography is needed to make the cluster's certificates")
        with start_cluster(bin_dir, tmp_path_factory.mktemp("k8s")) as cluster:
            yield cluster

    return k8s
