"""Prometheus metrics: Istio's injector names, plus finer ones of our own.

Istio's counters keep Istio's meaning, so dashboards built for istiod read the same:
``sidecar_injection_requests_total`` counts every call of the inject handler, ``_failure_total`` every error the
handler reports (HTTP errors, undecodable bodies, injection errors), ``_skip_total`` every pod the policy skips,
and ``_success_total`` every AdmissionReview answer written (so a skip and an ``allowed: false`` answer count as
successes too, as in istiod).

Several worker processes: prometheus-client's multiprocess mode. The supervisor points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before it starts the workers; every worker writes its values
there and ``/metrics`` (answered by whichever worker the connection lands on) adds up all workers' files.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

#: the buckets of istiod's ``sidecar_injection_time_seconds``
ISTIO_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
#: fine-grained latency: 0.25 ms to 2.5 s
FINE_BUCKETS = (
    0.00025,
    0.0005,
    0.00075,
    0.001,
    0.0015,
    0.002,
    0.003,
    0.004,
    0.005,
    0.006,
    0.008,
    0.010,
    0.0125,
    0.015,
    0.020,
    0.025,
    0.030,
    0.040,
    0.050,
    0.075,
    0.100,
    0.150,
    0.250,
    0.500,
    1.0,
    2.5,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The metrics of one server; each server gets its own registry (tests run several in one process)."""

    def __init__(self) -> None:
        # istiod exposes no `_created` series; neither do we (a process-wide switch of prometheus-client).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("sidecar_injection_requests", "Total number of sidecar injection requests.", registry=r)
        self.success = Counter(
            "sidecar_injection_success", "Total number of successful sidecar injection requests.", registry=r
        )
        self.failure = Counter(
            "sidecar_injection_failure", "Total number of failed sidecar injection requests.", registry=r
        )
        self.skip = Counter("sidecar_injection_skip", "Total number of skipped injection requests.", registry=r)
        self.time = Histogram(
            "sidecar_injection_time_seconds",
            "Total time taken for injection in seconds.",
            buckets=ISTIO_BUCKETS,
            registry=r,
        )
        self.latency = Histogram(
            "meshinject_webhook_request_duration_seconds",
            "Time from the request's arrival to its answer, by outcome "
            "(injected, skipped, denied, bad_request, overloaded).",
            ["outcome"],
            buckets=FINE_BUCKETS,
            registry=r,
        )
        self.config_reloads = Counter(
            "meshinject_webhook_config_reloads",
            "Configuration loads after a change on disk, by result (success, failure); counted per worker.",
            ["result"],
            registry=r,
        )
        self.cert_reloads = Counter(
            "meshinject_webhook_cert_reloads",
            "Serving certificate reloads after a change on disk, by result (success, failure); counted per worker.",
            ["result"],
            registry=r,
        )
        self.overloaded = Counter(
            "meshinject_webhook_overload_rejections",
            "Requests answered 503 because the worker had too many requests queued or waited past their timeout.",
            registry=r,
        )
        # Make the labelled series visible at 0 before the first event, as dashboards expect.
        for result in ("success", "failure"):
            self.config_reloads.labels(result=result)
            self.cert_reloads.labels(result=result)

    def exposition(self) -> bytes:
        """The text format of every worker's values (multiprocess mode) or of this registry."""
        directory = os.environ.get(MULTIPROC_ENV)
        if directory and os.path.isdir(directory):
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
