"""Runner for suites laid out like ``shared/conformance/istio``: Istio's own injection golden cases as data.

Every case runs on both paths a control plane has: the offline kube-inject path (compared with the golden file,
semantically or byte for byte) and the webhook path (an AdmissionReview through :func:`inject.admission.review`,
or over HTTPS to a running server, with the returned JSON patch applied by an independent JSON-patch library).
"""

from __future__ import annotations

import base64
import copy
import difflib
import http.client
import json
import ssl
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonpatch as jsonpatch_lib
import yaml

from meshinject.gotemplate import goyaml
from meshinject.inject.admission import ClusterFacts, review
from meshinject.inject.config import ConfigError, InjectorConfig, load_directory
from meshinject.inject.kubeinject import KubeInjectSettings, join_documents, kube_inject
from meshinject.inject.quantity import canonical_quantity

WEBHOOK_KINDS = frozenset(
    {
        "Deployment",
        "DeploymentConfig",
        "DaemonSet",
        "StatefulSet",
        "Job",
        "ReplicaSet",
        "ReplicationController",
        "CronJob",
        "Pod",
    }
)

#: sends an AdmissionReview somewhere and returns the response review (used by --via-server)
Transport = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(slots=True)
class PathResult:
    path: str
    passed: bool
    detail: str = ""


@dataclass(slots=True)
class CaseResult:
    id: str
    passed: bool
    waived: str | None = None
    paths: list[PathResult] = field(default_factory=list)
    byte_equal: bool | None = None

    @property
    def detail(self) -> str:
        return "\n".join(f"[{p.path}] {p.detail}" for p in self.paths if not p.passed)


@dataclass(slots=True)
class Suite:
    root: Path
    cases: list[dict[str, Any]]
    _bundles: dict[str, tuple[InjectorConfig, dict[str, Any]]] = field(default_factory=dict)

    def bundle(self, name: str) -> tuple[InjectorConfig, dict[str, Any]]:
        if name not in self._bundles:
            directory = self.root / "bundles" / name
            env = yaml.load((directory / "env.yaml").read_text(), Loader=yaml.CSafeLoader) or {}
            self._bundles[name] = (load_directory(directory), env)
        return self._bundles[name]


def load_suite(root: Path) -> Suite:
    cases_file = root / "cases.yaml"
    if not cases_file.is_file():
        raise ConfigError(f"{root}: no cases.yaml (expected a suite laid out like shared/conformance/istio)")
    data = yaml.load(cases_file.read_text(), Loader=yaml.CSafeLoader) or {}
    cases = data.get("cases")
    if not isinstance(cases, list):
        raise ConfigError(f"{cases_file}: `cases` must be a list")
    return Suite(root, cases)


# -- kube-inject path -----------------------------------------------------------------------------------


def _semantic_documents(text: str) -> list[Any]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]


def run_kube_inject(suite: Suite, case: Mapping[str, Any], level: str) -> tuple[PathResult, bool | None]:
    config, env = suite.bundle(case["bundle"])
    revision = str((env.get("revision") or {}).get("kubeInject") or "")
    settings = KubeInjectSettings(
        config=config.with_flags(revision=revision), revision=revision, nodes=env.get("nodes") or []
    )
    text = (suite.root / case["input"]).read_text()
    results = kube_inject(text, settings, keep_going=False)
    errors = [r.error for r in results if r.error is not None]
    warnings = [w for r in results for w in r.warnings]
    expected_error = case.get("expectedError")
    if expected_error:
        if not errors:
            return PathResult("kube-inject", False, f"expected an error containing {expected_error!r}, got none"), None
        message = str(errors[0]).lower()
        ok = expected_error.lower() in message
        return PathResult("kube-inject", ok, "" if ok else f"error {message!r} lacks {expected_error!r}"), None
    if errors:
        return PathResult("kube-inject", False, f"unexpected error: {errors[0]}"), None
    expected_log = case.get("expectedLog")
    if expected_log and not any(expected_log in w for w in warnings):
        return PathResult("kube-inject", False, f"no warning contains {expected_log!r}; got {warnings}"), None
    got = join_documents(results)
    if not case.get("expected"):
        return PathResult("kube-inject", True), None
    want = (suite.root / case["expected"]).read_text()
    byte_equal = got.strip(" \t\n") == want.strip(" \t\n")
    if level == "byte":
        ok = byte_equal
    else:
        ok = _semantic_documents(got) == _semantic_documents(want)
    detail = "" if ok else _diff(want, got, "expected", "meshinject")
    return PathResult("kube-inject", ok, detail), byte_equal


# -- webhook path ---------------------------------------------------------------------------------------


def _parts(text: str) -> Iterator[dict[str, Any]]:
    for piece in text.split("\n---"):
        obj = yaml.load(piece, Loader=yaml.CSafeLoader) or {}
        yield from _workload_parts(obj)


def _workload_parts(obj: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(obj, dict):
        return
    if obj.get("kind") in WEBHOOK_KINDS:
        yield obj
    elif obj.get("kind") == "List":
        for item in obj.get("items") or []:
            yield from _workload_parts(item)


def object_to_pod(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The pod a controller would create for a workload (HARNESS.md §4.2)."""
    kind = obj.get("kind")
    if kind == "Pod":
        return copy.deepcopy(dict(obj))
    name = (obj.get("metadata") or {}).get("name", "")
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    else:
        template = spec.get("template") or {}
    meta = copy.deepcopy(template.get("metadata") or {})
    if kind == "Deployment":
        meta["generateName"] = f"{name}-fake-"
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-fake", "controller": True}
        ]
        meta.setdefault("labels", {})
        meta["labels"] = dict(meta["labels"] or {}, **{"pod-template-hash": "fake"})
    else:
        meta["generateName"] = name
        meta["ownerReferences"] = [
            {"apiVersion": obj.get("apiVersion", ""), "kind": kind, "name": name, "controller": True}
        ]
    return {"metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}


_KEEP_ZERO = frozenset(
    {
        "privileged",
        "allowPrivilegeEscalation",
        "readOnlyRootFilesystem",
        "runAsNonRoot",
        "runAsUser",
        "runAsGroup",
        "fsGroup",
        "procMount",
        "optional",
        "defaultMode",
        "mode",
        "expirationSeconds",
        "automountServiceAccountToken",
        "controller",
        "blockOwnerDeletion",
        "terminationGracePeriodSeconds",
        "containers",
        "emptyDir",
        "restartPolicy",
    }
)
_OPAQUE_MAPS = frozenset({"labels", "annotations", "nodeSelector", "matchLabels"})
_QUANTITY_MAPS = frozenset({"limits", "requests"})


def typed_normalise(value: Any, key: str = "") -> Any:
    """HARNESS.md §4.4 T: approximate a decode into Go's typed Pod and re-encode, for comparison."""
    if isinstance(value, dict):
        if key in _OPAQUE_MAPS:
            return dict(value)
        if key in _QUANTITY_MAPS:
            return {k: canonical_quantity(v) for k, v in value.items()}
        out = {}
        for k, v in value.items():
            if k in ("divisor", "sizeLimit") and v is not None:
                out[k] = canonical_quantity(v)
                continue
            v = typed_normalise(v, k)
            if v is None:
                continue
            if k in ("status", "resources") and v == {}:
                continue
            if k not in _KEEP_ZERO and _is_go_zero(v):
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [typed_normalise(v, key) for v in value]
    return value


def _is_go_zero(v: Any) -> bool:
    if v is False:
        return True
    if type(v) in (int, float):
        return bool(v == 0)
    return v in ("", [], {})


def _webhook_normalise(pod: dict[str, Any], *, strip_field_api_version: bool) -> Any:
    pod = copy.deepcopy(pod)
    annotations = (pod.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop("sidecar.istio.io/status", None)
        if not annotations:
            pod["metadata"].pop("annotations")
    if strip_field_api_version:
        for key in ("containers", "initContainers"):
            for c in (pod.get("spec") or {}).get(key) or []:
                for env in c.get("env") or []:
                    ref = (env.get("valueFrom") or {}).get("fieldRef")
                    if isinstance(ref, dict):
                        ref.pop("apiVersion", None)
    return typed_normalise(pod)


def local_transport(config: InjectorConfig, facts: ClusterFacts, path: str) -> Transport:
    def send(admission_review: dict[str, Any]) -> dict[str, Any]:
        return review(admission_review, config, path=path, facts=facts).response

    return send


class ServerTransport:
    """``--via-server``: POST every AdmissionReview over HTTPS to a running ``meshinject serve``.

    The server must serve the suite's bundles (``meshinject serve --conformance-bundles SUITE/bundles``): a case
    of bundle ``B`` goes to ``/bundles/B/inject<injectionPath>``, so one server answers every case with that
    case's configuration, nodes and namespaces. One keep-alive connection is reused for all requests.
    """

    def __init__(self, url: str, *, ca_file: Path | None = None, timeout: float = 30.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("https", "http") or not parsed.hostname:
            raise ConfigError(f"--via-server {url!r}: expected https://HOST:PORT")
        self.scheme = parsed.scheme
        self.host = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.prefix = parsed.path.rstrip("/")
        self.timeout = timeout
        self._context: ssl.SSLContext | None = None
        if parsed.scheme == "https":
            if ca_file is not None:
                self._context = ssl.create_default_context(cafile=str(ca_file))
            else:
                # A harness against a server on this machine with a throw-away certificate.
                self._context = ssl._create_unverified_context()
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._context is not None:
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self._context
                )
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def post(self, path: str, admission_review: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(admission_review).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self.prefix + path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (ConnectionError, http.client.HTTPException) as err:
                self.close()
                if attempt == 2:
                    raise RuntimeError(f"webhook server {self.host}:{self.port}: {err}") from None
                continue
            if response.status != 200:
                raise RuntimeError(
                    f"webhook server answered HTTP {response.status}: {data.decode(errors='replace').strip()}"
                )
            answer: dict[str, Any] = json.loads(data)
            return answer
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def transport_for(self, config: InjectorConfig, facts: ClusterFacts, path: str) -> Transport:
        """A transport to the bundle ``config`` was loaded from (its directory name; facts live in the server)."""
        bundle = Path(config.source).name

        def send(admission_review: dict[str, Any]) -> dict[str, Any]:
            return self.post(f"/bundles/{urllib.parse.quote(bundle)}{path or '/inject'}", admission_review)

        return send


def run_webhook(
    suite: Suite,
    case: Mapping[str, Any],
    transport_for: Callable[[InjectorConfig, ClusterFacts, str], Transport],
) -> PathResult:
    config, env = suite.bundle(case["bundle"])
    facts = ClusterFacts(
        nodes=env.get("nodes") or [],
        namespaces={(n.get("metadata") or {}).get("name", ""): n for n in env.get("namespaces") or []},
    )
    send = transport_for(config, facts, str(env.get("injectionPath") or ""))
    inputs = list(_parts((suite.root / case["input"]).read_text()))
    expected = list(_parts((suite.root / case["expected"]).read_text())) if case.get("expected") else []
    if len(inputs) != len(expected):
        return PathResult("webhook", False, f"{len(inputs)} input parts but {len(expected)} expected parts")
    for i, (part, want_part) in enumerate(zip(inputs, expected, strict=True)):
        pod = object_to_pod(part)
        request_namespace = (part.get("metadata") or {}).get("namespace") or ""
        uid = str(uuid.uuid4())
        request = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": request_namespace,
                "operation": "CREATE",
                "object": pod,
            },
        }
        response = send(request).get("response") or {}
        if response.get("uid") != uid:
            return PathResult("webhook", False, f"part {i}: response uid {response.get('uid')!r} != {uid!r}")
        if not response.get("allowed"):
            return PathResult("webhook", False, f"part {i}: denied: {(response.get('status') or {}).get('message')}")
        got = pod
        if response.get("patch"):
            ops = json.loads(base64.b64decode(response["patch"]))
            got = jsonpatch_lib.apply_patch(pod, ops)
        want = object_to_pod(want_part)
        got_n = _webhook_normalise(got, strip_field_api_version=True)
        want_n = _webhook_normalise(want, strip_field_api_version=True)
        if got_n != want_n:
            return PathResult(
                "webhook",
                False,
                f"part {i}:\n" + _diff(goyaml.marshal(want_n), goyaml.marshal(got_n), "expected", "meshinject"),
            )
    return PathResult("webhook", True)


def _diff(a: str, b: str, a_name: str, b_name: str, limit: int = 80) -> str:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), a_name, b_name, lineterm="", n=2))
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


def load_waivers(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or {}
    return {str(w["id"]): str(w["reason"]) for w in data.get("waivers") or []}


def run_case(
    suite: Suite,
    case: Mapping[str, Any],
    *,
    level: str = "semantic",
    transport_for: Callable[[InjectorConfig, ClusterFacts, str], Transport] = local_transport,
) -> CaseResult:
    result = CaseResult(str(case["id"]), True)
    paths = case.get("paths") or {}
    try:
        if paths.get("kubeInject"):
            path_result, byte_equal = run_kube_inject(suite, case, level)
            result.paths.append(path_result)
            result.byte_equal = byte_equal
        if paths.get("webhook"):
            result.paths.append(run_webhook(suite, case, transport_for))
    except Exception as err:
        result.paths.append(PathResult("harness", False, f"{type(err).__name__}: {err}"))
    result.passed = all(p.passed for p in result.paths)
    return result
