"""The ``meshinject`` command line: thin commands over the engine, the webhook and the cluster workflows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from ._app import app


@app.command(name="template-conformance")
def template_conformance_cmd(
    cases_file: Path,
    /,
    *,
    only: Annotated[str | None, Parameter(help="Run only cases whose id contains this text.")] = None,
    verbose: Annotated[bool, Parameter(name=["--verbose", "-v"], help="Also list passing cases.")] = False,
    waivers: Annotated[Path | None, Parameter(help="Waiver file (default: tests/conformance_waivers.yaml).")] = None,
    strict: Annotated[bool, Parameter(help="Compare Go's full error texts too.")] = False,
) -> int:
    """Run Go's or Sprig's recorded template test vectors; ends with `N passed, M failed, K skipped`.

    Example: meshinject template-conformance ../shared/conformance/gotemplate/cases.yaml --only TestExecute
    """
    from ._template_conformance import template_conformance

    return template_conformance(cases_file, only=only, verbose=verbose, waivers=waivers, strict=strict)


@app.command
def conformance(
    suite_dir: Path,
    /,
    *,
    level: Annotated[str, Parameter(help="semantic (parsed YAML equal) or byte (identical text).")] = "semantic",
    only: Annotated[str | None, Parameter(help="Run only cases whose id contains this text.")] = None,
    json_report: Annotated[Path | None, Parameter(name="--json", help="Write a JSON report here.")] = None,
    waivers: Annotated[Path | None, Parameter(help="Waiver file (default: tests/istio_waivers.yaml).")] = None,
    verbose: Annotated[bool, Parameter(name=["--verbose", "-v"], help="Also list passing cases.")] = False,
    via_server: Annotated[
        str | None,
        Parameter(
            help="Send the webhook path of every case over HTTPS to this running server, which must serve the "
            "suite's bundles (`meshinject serve --conformance-bundles SUITE/bundles`)."
        ),
    ] = None,
    server_ca: Annotated[
        Path | None, Parameter(help="CA bundle to verify --via-server's certificate (default: not verified).")
    ] = None,
) -> int:
    """Run an Istio-layout injection suite on the kube-inject and webhook paths; ends with `N passed, M failed`.

    Example: meshinject conformance ../shared/conformance/istio --level byte --json report.json
    """
    from ._conformance import conformance as run

    return run(
        suite_dir,
        level=level,
        only=only,
        report=json_report,
        waivers=waivers,
        verbose=verbose,
        via_server=via_server,
        server_ca=server_ca,
    )


@app.command
def demo(
    *,
    shared: Annotated[Path, Parameter(help="The shared contracts folder (bundles, fixtures).")] = Path("../shared"),
) -> int:
    """Inject the manifests in examples/ with the built-in configuration and show what each workload got and why."""
    from ._demo import run_demo

    return run_demo(shared)


_FILES_HELP = "Manifest file(s) to read, or - for standard input; further files may follow -f or be given bare."


@app.command
def inject(
    *paths: Annotated[str, Parameter(help="More manifest files (what a shell glob after -f expands to).")],
    filename: Annotated[
        list[str] | None,
        Parameter(name=["--filename", "-f"], allow_leading_hyphen=True, negative_iterable=(), help=_FILES_HELP),
    ] = None,
    config_dir: Annotated[
        Path | None,
        Parameter(
            help="Injector configuration: a bundle directory or the files of mounted ConfigMaps "
            "(default: the built-in configuration)."
        ),
    ] = None,
    revision: Annotated[str | None, Parameter(help="Control plane revision to inject (istio.io/rev).")] = None,
    from_cluster: Annotated[
        bool,
        Parameter(
            help="Read the revision's istio-sidecar-injector and istio ConfigMaps through the kubeconfig.", negative=()
        ),
    ] = False,
    istio_namespace: Annotated[
        str, Parameter(help="Namespace of the control plane's ConfigMaps (with --from-cluster).")
    ] = "istio-system",
    kubeconfig: Annotated[Path | None, Parameter(help="Kubeconfig file (with --from-cluster).")] = None,
    context: Annotated[str | None, Parameter(help="Kubeconfig context (with --from-cluster).")] = None,
    output_format: Annotated[
        Literal["yaml", "json", "patch"],
        Parameter(name=["--output-format", "-o"], help="yaml, json, or patch (an RFC 6902 patch per workload)."),
    ] = "yaml",
    diff: Annotated[
        bool, Parameter(help="Print a unified diff of each document before/after instead.", negative=())
    ] = False,
    output: Annotated[Path | None, Parameter(help="Write to this file instead of standard output.")] = None,
    native_sidecars: Annotated[
        Literal["auto", "true", "false"] | None,
        Parameter(help="Inject the proxy as a native sidecar (an init container with restartPolicy Always)."),
    ] = None,
) -> int:
    """Inject the sidecar into the workloads of Kubernetes manifests, offline (as istioctl kube-inject).

    Example: meshinject inject -f deploy.yaml --revision asm-1-24 --from-cluster | kubectl apply -f -;
    meshinject inject -f examples/*.yaml --diff
    """
    from ._inject import run_inject

    return run_inject(
        [*(filename or []), *paths],
        config_dir=config_dir,
        revision=revision,
        from_cluster=from_cluster,
        istio_namespace=istio_namespace,
        kubeconfig=kubeconfig,
        context=context,
        output_format=output_format,
        diff=diff,
        output=output,
        native_sidecars=native_sidecars,
    )


@app.command
def uninject(
    *paths: Annotated[str, Parameter(help="More manifest files (what a shell glob after -f expands to).")],
    filename: Annotated[
        list[str] | None,
        Parameter(name=["--filename", "-f"], allow_leading_hyphen=True, negative_iterable=(), help=_FILES_HELP),
    ] = None,
    output_format: Annotated[
        Literal["yaml", "json", "patch"],
        Parameter(name=["--output-format", "-o"], help="yaml, json, or patch (an RFC 6902 patch per workload)."),
    ] = "yaml",
    diff: Annotated[
        bool, Parameter(help="Print a unified diff of each document before/after instead.", negative=())
    ] = False,
    output: Annotated[Path | None, Parameter(help="Write to this file instead of standard output.")] = None,
) -> int:
    """Remove an injected sidecar from manifests, using what the sidecar.istio.io/status annotation records.

    Example: kubectl get deploy web -o yaml | meshinject uninject -f -
    """
    from ._inject import run_uninject

    return run_uninject([*(filename or []), *paths], output_format=output_format, diff=diff, output=output)


@app.command
def serve(
    *,
    config_dir: Annotated[
        Path | None,
        Parameter(help="The mounted ConfigMap files (config, values, mesh); reloaded on change. Default: built-in."),
    ] = None,
    tls_cert: Annotated[Path | None, Parameter(help="Serving certificate (PEM); reloaded on change.")] = None,
    tls_key: Annotated[Path | None, Parameter(help="Private key of the serving certificate (PEM).")] = None,
    port: Annotated[int, Parameter(help="Port to listen on.")] = 15017,
    host: Annotated[str, Parameter(help="Address to listen on.")] = "0.0.0.0",
    revision: Annotated[str | None, Parameter(help="Control plane revision this injector serves.")] = None,
    workers: Annotated[int, Parameter(help="Worker processes (0 = one per core).")] = 0,
    native_sidecars: Annotated[
        Literal["auto", "true", "false"] | None,
        Parameter(help="Inject native sidecars; auto = when every node's kubelet is 1.33+ (watched in the cluster)."),
    ] = None,
    client_ca: Annotated[
        Path | None, Parameter(help="Require a client certificate from the apiserver, signed by this CA bundle.")
    ] = None,
    insecure_http: Annotated[bool, Parameter(help="Serve plain HTTP: for local tests only.", negative=())] = False,
    max_inflight: Annotated[
        int, Parameter(help="Per worker: inject requests at once before answering 503 with Retry-After.")
    ] = 200,
    engine_threads: Annotated[
        int, Parameter(help="Per worker: engine threads for bodies over 32 KiB (0 = all on the event loop).")
    ] = 1,
    shutdown_grace: Annotated[float, Parameter(help="Seconds to finish in-flight requests after SIGTERM.")] = 25.0,
    body_timeout: Annotated[
        float, Parameter(help="Seconds a client gets to send a request's whole body before 408.")
    ] = 10.0,
    conformance_bundles: Annotated[
        Path | None,
        Parameter(help="Test harness: also serve /bundles/NAME/inject from a conformance suite's bundles."),
    ] = None,
    log_level: Annotated[Literal["debug", "info", "warning", "error"], Parameter(help="Log level.")] = "info",
) -> int:
    """Run the sidecar-injection admission webhook (HTTPS, AdmissionReview v1 and v1beta1).

    Example: meshinject serve --config-dir /etc/istio/inject --tls-cert /etc/certs/tls.crt
    --tls-key /etc/certs/tls.key --revision asm-1-24
    """
    from ._serve import run_serve

    return run_serve(
        config_dir=config_dir,
        tls_cert=tls_cert,
        tls_key=tls_key,
        port=port,
        host=host,
        revision=revision,
        workers=workers,
        native_sidecars=native_sidecars,
        client_ca=client_ca,
        insecure_http=insecure_http,
        max_inflight=max_inflight,
        engine_threads=engine_threads,
        shutdown_grace=shutdown_grace,
        body_timeout=body_timeout,
        conformance_bundles=conformance_bundles,
        log_level=log_level,
    )


# Command groups that live in their own modules register themselves on `app` when imported.
from . import cmd_cluster, cmd_controlplane, cmd_restart, cmd_status  # noqa: E402, F401


def main() -> None:
    result = app(sys.argv[1:])
    sys.exit(result if isinstance(result, int) else 0)
