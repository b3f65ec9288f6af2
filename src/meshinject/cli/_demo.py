"""``meshinject demo``: show the engine at work on the built-in example, no cluster needed."""

from __future__ import annotations

from pathlib import Path

import yaml
from rich.console import Console

from meshinject.inject.config import ConfigError, load_directory
from meshinject.inject.model import sidecar_template_data
from meshinject.inject.resolve import webhook_proxy_config

HELLO = Path("inputs/hello.yaml")


def render_default_sidecar(shared: Path) -> str:
    """Render the ``sidecar`` template of the shared ``default`` bundle for the pod of inputs/hello.yaml."""
    config = load_directory(shared / "conformance" / "istio" / "bundles" / "default")
    deployment = yaml.load(HELLO.read_text(), Loader=yaml.CSafeLoader)
    template = deployment["spec"]["template"]
    pod = {"metadata": template.get("metadata") or {}, "spec": template.get("spec") or {}}
    data = sidecar_template_data(
        pod=pod,
        type_meta={"kind": deployment["kind"], "apiVersion": deployment["apiVersion"]},
        deploy_meta={"name": deployment["metadata"]["name"], "namespace": ""},
        proxy_config=webhook_proxy_config(config, pod),
        mesh_config=config.mesh,
        values=config.values,
        revision=config.revision,
        native_sidecars=True,
    )
    return config.templates["sidecar"].execute(data)


def run_demo(shared: Path) -> int:
    console = Console()
    try:
        rendered = render_default_sidecar(shared)
    except (ConfigError, OSError) as err:
        console.print(f"[red]error:[/red] {err}")
        return 1
    console.rule("sidecar template of bundle 'default' rendered for inputs/hello.yaml")
    console.print(rendered, markup=False, highlight=False)
    return 0
