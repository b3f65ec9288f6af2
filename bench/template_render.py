"""Time to render the `sidecar` template of the shared `default` bundle for the hello pod.

Prints a table, then as its last line a JSON object: {"median_ms": ..., "p99_ms": ...}.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import measure, print_table, summary

from meshinject.inject.config import load_directory
from meshinject.inject.model import sidecar_template_data
from meshinject.inject.resolve import webhook_proxy_config

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def main() -> None:
    config = load_directory(SHARED / "conformance" / "istio" / "bundles" / "default")
    deployment = yaml.load((ROOT / "inputs" / "hello.yaml").read_text(), Loader=yaml.CSafeLoader)
    template = deployment["spec"]["template"]
    pod = {"metadata": template["metadata"], "spec": template["spec"]}
    sidecar = config.templates["sidecar"]

    def render() -> str:
        # The dot is rebuilt on every run, as the injector does for every request.
        data = sidecar_template_data(
            pod=pod,
            type_meta={"kind": "Deployment", "apiVersion": "apps/v1"},
            deploy_meta={"name": "hello", "namespace": ""},
            proxy_config=webhook_proxy_config(config, pod),
            mesh_config=config.mesh,
            values=config.values,
            revision="default",
            native_sidecars=True,
        )
        return sidecar.execute(data)

    times = measure(render, warmup=30, runs=500)
    median, p99 = summary(times)
    print_table([("sidecar template, hello pod", median, p99)], {"median_ms": median, "p99_ms": p99})


if __name__ == "__main__":
    main()
