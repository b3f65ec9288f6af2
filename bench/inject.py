"""Engine time per injection, JSON patch included, through the admission entry point (the webhook path).

(a) the pod of the `hello` Deployment with the shared `default` bundle, every pod distinct (a unique label each
    time, so the template output cache never hits: the cold path);
(b) a pod whose container has 2000 env vars (the shape of Istio's own BenchmarkInjection), also distinct;
(c) identical replicas of the hello pod;
(d) replicas of the hello pod as a ReplicaSet really creates them: each with its own generated service-account
    token volume (``kube-api-access-xxxxx``) mounted in the container, which no template reads, so the render
    cache (keyed by what the template reads) still hits.
Prints a table, then as its last line a JSON object with hello_median_ms, hello_p99_ms, env2000_median_ms,
env2000_p99_ms (cold figures), hello_replica_median_ms, hello_replica_p99_ms (c) and
hello_named_replica_median_ms, hello_named_replica_p99_ms (d).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measure, print_table, summary

from meshinject.conformance.istio import object_to_pod
from meshinject.inject.admission import ClusterFacts, review
from meshinject.inject.config import load_directory

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT.parent / "shared" / "conformance" / "istio" / "bundles" / "default"


def admission_review(pod: dict[str, Any], uid: str) -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": uid, "namespace": "default", "operation": "CREATE", "object": pod},
    }


def main() -> None:
    config = load_directory(BUNDLE)
    env = yaml.load((BUNDLE / "env.yaml").read_text(), Loader=yaml.CSafeLoader)
    facts = ClusterFacts(nodes=env["nodes"])
    deployment = yaml.load((ROOT / "inputs" / "hello.yaml").read_text(), Loader=yaml.CSafeLoader)
    hello = object_to_pod(deployment)
    big = copy.deepcopy(hello)
    big["spec"]["containers"][0]["env"] = [{"name": f"ENV_{i}", "value": f"value-{i}"} for i in range(2000)]

    def distinct(pod: dict[str, Any], count: int) -> Iterator[dict[str, Any]]:
        """Copies of ``pod``, each with its own label (made before timing: copying is not the engine's work)."""
        pods = []
        for i in range(count):
            copied = copy.deepcopy(pod)
            copied["metadata"]["labels"]["bench-run"] = str(i)
            pods.append(copied)
        return iter(pods)

    def named(pod: dict[str, Any], count: int) -> Iterator[dict[str, Any]]:
        """Replicas of ``pod``, each with its own generated service-account token volume."""
        pods = []
        for i in range(count):
            copied = copy.deepcopy(pod)
            token = f"kube-api-access-{i:05x}"
            copied["spec"]["volumes"] = [
                {"name": token, "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
            ]
            copied["spec"]["containers"][0]["volumeMounts"] = [
                {"name": token, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": True}
            ]
            pods.append(copied)
        return iter(pods)

    def run(pod: dict[str, Any]) -> None:
        outcome = review(admission_review(pod, "uid"), config, facts=facts)
        if outcome.result != "injected":
            raise SystemExit(f"injection did not happen: {outcome.response}")

    hello_pods = distinct(hello, 320)
    big_pods = distinct(big, 65)
    named_pods = named(hello, 320)
    hello_times = measure(lambda: run(next(hello_pods)), warmup=20, runs=300)
    big_times = measure(lambda: run(next(big_pods)), warmup=5, runs=60)
    replica_times = measure(lambda: run(hello), warmup=20, runs=300)
    named_times = measure(lambda: run(next(named_pods)), warmup=20, runs=300)
    h_median, h_p99 = summary(hello_times)
    b_median, b_p99 = summary(big_times)
    r_median, r_p99 = summary(replica_times)
    n_median, n_p99 = summary(named_times)
    print_table(
        [
            ("hello pod, default bundle, every pod distinct", h_median, h_p99),
            ("pod with 2000 env vars, every pod distinct", b_median, b_p99),
            ("hello pod, identical replicas", r_median, r_p99),
            ("hello pod replicas, each with its own token volume", n_median, n_p99),
        ],
        {
            "hello_median_ms": h_median,
            "hello_p99_ms": h_p99,
            "env2000_median_ms": b_median,
            "env2000_p99_ms": b_p99,
            "hello_replica_median_ms": r_median,
            "hello_replica_p99_ms": r_p99,
            "hello_named_replica_median_ms": n_median,
            "hello_named_replica_p99_ms": n_p99,
        },
    )


if __name__ == "__main__":
    main()
