"""Commands: manifests, install, uninstall, certs. Each registers on :data:`meshinject.cli._app.app`.

Exit codes: 0 done; 1 failed (the webhook did not become ready, the dry-run pod was not injected, an uninstall
refused because the revision is still in use); 2 usage errors, unknown revisions and cluster errors.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cyclopts import Parameter

from ._app import app
from ._output import emit as _emit
from ._output import error as _error
from ._output import say as _say
from ._output import table as _table

if TYPE_CHECKING:
    from lightkube import Client

    from meshinject.cluster.certs import CertPolicy
    from meshinject.cluster.manifests import ControlPlaneOptions, InjectorData

__all__ = ["app", "certs", "install", "manifests", "uninstall"]

Output = Literal["table", "json", "yaml"]

_KUBECONFIG = Parameter(help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).")
_CONTEXT = Parameter(help="Kubeconfig context (default: the current context).")
_OUTPUT = Parameter(name=["--output", "-o"], help="table, json or yaml (machine-readable, on standard output).")
_REVISION = Parameter(help="The control plane revision (istio.io/rev value); `default` is the default revision.")
_NAMESPACE = Parameter(name=["--namespace", "-n"], help="Namespace of the control plane.")


@Parameter(name="*")
@dataclass
class RevisionFlags:
    """The flags `manifests` and `install` share: what the revision consists of."""

    revision: Annotated[str, _REVISION]
    namespace: Annotated[str, _NAMESPACE] = "istio-system"
    set_: Annotated[
        list[str] | None,
        Parameter(
            name="--set",
            negative_iterable=(),
            help="Override a value: KEY=VALUE, Helm syntax (global.proxy.logLevel=debug); meshConfig.KEY=VALUE sets "
            "the mesh configuration. Repeatable.",
        ),
    ] = None
    values: Annotated[
        list[Path] | None,
        Parameter(
            negative_iterable=(),
            help="YAML file of values (Helm values with an optional meshConfig key, or an IstioOperator). Repeatable.",
        ),
    ] = None
    from_istio_configmap: Annotated[
        str | None,
        Parameter(
            allow_leading_hyphen=True,
            help="Start from an existing Istio injector ConfigMap (kubectl get configmap istio-sidecar-injector -o "
            "yaml), optionally followed by the istio mesh ConfigMap; - reads standard input.",
        ),
    ] = None
    webhook_url: Annotated[
        str | None,
        Parameter(
            help="An external webhook server: clientConfig.url (with --ca-bundle); only the ConfigMaps and the "
            "webhook configuration are rendered."
        ),
    ] = None
    ca_bundle: Annotated[Path | None, Parameter(help="PEM CA bundle that verifies the --webhook-url server.")] = None
    replicas: Annotated[int, Parameter(help="Replicas of the webhook Deployment.")] = 2
    image: Annotated[str | None, Parameter(help="Container image with meshinject (see the Dockerfile).")] = None
    reinvocation_policy: Annotated[
        Literal["Never", "IfNeeded"] | None,
        Parameter(help="reinvocationPolicy of the webhooks (default: the values', else Never)."),
    ] = None
    webhook_timeout: Annotated[int, Parameter(help="timeoutSeconds of the webhooks (1-30).")] = 10
    cert_manager: Annotated[
        str | None,
        Parameter(help="Let cert-manager issue the serving certificate: NAME, Issuer/NAME or ClusterIssuer/NAME."),
    ] = None


# -- output helpers -------------------------------------------------------------------------------------------


def _cluster_errors(run: Callable[[], int]) -> int:
    from meshinject.cluster.client import ClusterError
    from meshinject.cluster.manifests import ManifestError

    try:
        return run()
    except ManifestError as err:
        return _error(str(err))
    except ClusterError as err:
        return _error(str(err))


def _read(path: str) -> str:
    from meshinject.cluster.manifests import ManifestError

    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ManifestError(f"cannot read {path}: {err.strerror}") from None


def _prepare(flags: RevisionFlags) -> tuple[ControlPlaneOptions, InjectorData]:
    import yaml

    from meshinject.cluster.manifests import (
        DEFAULT_IMAGE,
        ControlPlaneOptions,
        ManifestError,
        builtin_injector_texts,
        injector_data,
        read_istio_configmaps,
    )

    bundle = None
    if flags.ca_bundle is not None:
        try:
            bundle = flags.ca_bundle.read_bytes()
        except OSError as err:
            raise ManifestError(f"--ca-bundle {flags.ca_bundle}: {err.strerror}") from None
    options = ControlPlaneOptions(
        revision=flags.revision,
        namespace=flags.namespace,
        image=flags.image or DEFAULT_IMAGE,
        replicas=flags.replicas,
        webhook_url=flags.webhook_url,
        ca_bundle=bundle,
        reinvocation_policy=flags.reinvocation_policy,
        timeout_seconds=flags.webhook_timeout,
        cert_manager_issuer=flags.cert_manager,
    )
    config, base_values, mesh = builtin_injector_texts()
    if flags.from_istio_configmap is not None:
        path = flags.from_istio_configmap
        source = "standard input" if path == "-" else path
        injector, mesh_data = read_istio_configmaps(_read(path), source=source)
        config, base_values = injector["config"], injector.get("values", "{}")
        if mesh_data is not None:
            mesh = mesh_data["mesh"]
    documents = []
    for file in flags.values or []:
        try:
            documents.append((str(file), yaml.safe_load(_read(str(file)))))
        except yaml.YAMLError as err:
            raise ManifestError(f"--values {file}: not valid YAML: {err}") from None
    data = injector_data(
        revision=flags.revision,
        namespace=flags.namespace,
        base_config=config,
        base_values=base_values,
        base_mesh=mesh,
        sets=flags.set_ or [],
        values_documents=documents,
    )
    return options, data


# -- manifests ----------------------------------------------------------------------------------------------


@app.command
def manifests(
    *,
    flags: RevisionFlags,
    output: Annotated[
        Literal["yaml", "json"], Parameter(name=["--output", "-o"], help="yaml or json (a List).")
    ] = "yaml",
) -> int:
    """Render everything a control plane revision needs as YAML, for GitOps (or `kubectl apply --server-side`).

    ConfigMaps istio-sidecar-injector-REV and istio-REV, the webhook Deployment, Service, ServiceAccount, RBAC,
    PodDisruptionBudget, the certificate Secret, and the MutatingWebhookConfiguration with Istio's selectors.

    Example: `meshinject manifests --revision canary --set global.proxy.logLevel=debug > canary.yaml`.
    """

    def run() -> int:
        from meshinject.cluster.manifests import render, to_yaml

        options, data = _prepare(flags)
        objects = render(options, data)
        if output == "json":
            _emit({"apiVersion": "v1", "kind": "List", "items": objects}, "json")
        else:
            sys.stdout.write(to_yaml(objects))
        return 0

    return _cluster_errors(run)


# -- install ------------------------------------------------------------------------------------------------


@app.command
def install(
    *,
    flags: RevisionFlags,
    force_conflicts: Annotated[
        bool,
        Parameter(
            help="Take over fields another field manager owns (kubectl's --force-conflicts); without it such a "
            "conflict stops the install.",
            negative=(),
        ),
    ] = False,
    timeout: Annotated[float, Parameter(help="Seconds to wait for the webhook and the verification.")] = 300.0,
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """Install a control plane revision: server-side apply, wait until the webhook is ready, then verify with a
    server-side dry-run pod create that a pod in a namespace labelled for the revision gets the sidecar.

    Example: `meshinject install --revision canary`;
    `meshinject install --revision r1 --webhook-url https://injector.example:15017/inject --ca-bundle ca.pem`.
    """

    def run() -> int:
        from meshinject.cluster.client import connect
        from meshinject.cluster.install import NotReady
        from meshinject.cluster.install import install as do_install
        from meshinject.cluster.manifests import render

        options, data = _prepare(flags)
        objects = render(options, data)
        with connect(kubeconfig, context) as client:
            try:
                result = do_install(
                    client, options, objects, force_conflicts=force_conflicts, timeout=timeout, progress=_say
                )
            except NotReady as err:
                return _error(str(err), 1)
        if output != "table":
            _emit(result.to_dict(), output)
        else:
            _table(
                None,
                ["KIND", "NAME", "NAMESPACE"],
                [[r.kind, r.name, r.namespace or ""] for r in result.applied],
            )
        verification = result.verification
        if not verification.ok:
            return _error(f"revision {flags.revision} installed but injection does not work: {verification.message}", 1)
        _say(f"revision {flags.revision} installed; {verification.message}")
        _say(f"next: meshinject enable NAMESPACE --revision {flags.revision}, then meshinject restart NAMESPACE")
        return 0

    return _cluster_errors(run)


# -- uninstall ----------------------------------------------------------------------------------------------


_MAX_LISTED = 20


@app.command
def uninstall(
    *,
    revision: Annotated[str, _REVISION],
    namespace: Annotated[str, _NAMESPACE] = "istio-system",
    force: Annotated[
        bool,
        Parameter(
            help="Remove the revision even while namespaces, tags or pods use it (its tags are removed too).",
            negative=(),
        ),
    ] = False,
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """Remove a control plane revision that `meshinject install` created.

    Refuses while namespaces, revision tags or pods still use the revision, and lists them; move them first
    (meshinject enable NS --revision NEW, meshinject restart NS) or pass --force.

    Example: `meshinject uninstall --revision r1`.
    """

    def run() -> int:
        from meshinject.cluster.client import connect
        from meshinject.cluster.install import uninstall as do_uninstall
        from meshinject.cluster.manifests import check_revision

        check_revision(revision)
        with connect(kubeconfig, context) as client:
            result = do_uninstall(client, revision, namespace, force=force, progress=_say)
        usage = result.usage
        if output != "table":
            _emit(result.to_dict(), output)
        elif result.refused or usage.in_use:
            rows = [["namespace", n] for n in usage.namespaces] + [["tag", t] for t in usage.tags]
            rows += [["pod", p] for p in usage.pods[:_MAX_LISTED]]
            if len(usage.pods) > _MAX_LISTED:
                rows.append(["pod", f"... and {len(usage.pods) - _MAX_LISTED} more (-o json lists all)"])
            _table(f"still using revision {revision}", ["KIND", "NAME"], rows)
        else:
            _table(
                None, ["DELETED", "NAME", "NAMESPACE"], [[r.kind, r.name, r.namespace or ""] for r in result.deleted]
            )
        if result.refused:
            return _error(
                f"revision {revision} is still in use ({len(usage.namespaces)} namespaces, {len(usage.tags)} tags, "
                f"{len(usage.pods)} pods): move them to another revision (meshinject enable, meshinject restart) "
                "or pass --force",
                1,
            )
        _say(f"revision {revision} removed ({len(result.deleted)} objects)")
        return 0

    return _cluster_errors(run)


# -- certs --------------------------------------------------------------------------------------------------


def _log_line(event: str, **fields: Any) -> None:
    import datetime

    record = {"time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "event": event}
    record.update({k: str(v) for k, v in fields.items()})
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


@app.command
def certs(
    *,
    revision: Annotated[str, _REVISION],
    namespace: Annotated[str, _NAMESPACE] = "istio-system",
    write_dir: Annotated[
        Path | None, Parameter(help="Write tls.crt, tls.key and ca.crt here for `meshinject serve`.")
    ] = None,
    once: Annotated[bool, Parameter(help="One pass, then exit (the Deployment's init step).", negative=())] = False,
    interval: Annotated[str, Parameter(help="Time between two passes (Go duration).")] = "10s",
    overlap: Annotated[
        str, Parameter(help="How long a new CA is trusted before it signs, and the old one kept after (Go duration).")
    ] = "5m",
    ca_validity: Annotated[str, Parameter(help="Lifetime of a new CA (Go duration).")] = "17520h",
    cert_validity: Annotated[str, Parameter(help="Lifetime of a serving certificate (Go duration).")] = "2160h",
    host: Annotated[
        list[str] | None,
        Parameter(
            negative_iterable=(),
            help="Name in the serving certificate (DNS name or IP); repeatable. Default: the Service's DNS names.",
        ),
    ] = None,
    secret: Annotated[
        str | None, Parameter(help="The Secret holding the certificates (default: meshinject-REV-tls).")
    ] = None,
    rotate: Annotated[
        Literal["ca", "serving"] | None,
        Parameter(help="Ask the running controllers to rotate the CA (with the overlap) or the serving certificate."),
    ] = None,
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """Keep the revision's webhook CA and serving certificate: create, publish as caBundle, renew and rotate.

    Runs in the webhook Deployment as an init step (--once) and as a sidecar container; see docs/install.md.

    Example: `meshinject certs --revision canary --once --write-dir /var/run/meshinject/certs`;
    `meshinject certs --revision canary --rotate ca`.
    """

    def run() -> int:
        import datetime

        from meshinject.cluster.certs import CertPolicy
        from meshinject.cluster.client import connect
        from meshinject.cluster.manifests import Names, check_revision
        from meshinject.cluster.restart import parse_duration

        check_revision(revision)
        names = Names(revision, namespace)
        try:
            durations = {
                name: parse_duration(text)
                for name, text in (
                    ("--interval", interval),
                    ("--overlap", overlap),
                    ("--ca-validity", ca_validity),
                    ("--cert-validity", cert_validity),
                )
            }
        except ValueError as err:
            return _error(f"{err} (durations as in Go: 30s, 5m, 2160h)")
        policy = CertPolicy(
            hosts=tuple(host) if host else names.service_hosts(),
            ca_validity=datetime.timedelta(seconds=durations["--ca-validity"]),
            cert_validity=datetime.timedelta(seconds=durations["--cert-validity"]),
            overlap=datetime.timedelta(seconds=durations["--overlap"]),
            name=f"meshinject {revision}",
        )
        with connect(kubeconfig, context) as client:
            return _run_certs(
                client,
                revision=revision,
                namespace=namespace,
                secret_name=secret or names.secret,
                policy=policy,
                write_dir=write_dir,
                rotate=rotate,
                once=once,
                interval=durations["--interval"],
                output=output,
            )

    return _cluster_errors(run)


def _run_certs(
    client: Client,
    *,
    revision: str,
    namespace: str,
    secret_name: str,
    policy: CertPolicy,
    write_dir: Path | None,
    rotate: str | None,
    once: bool,
    interval: float,
    output: Output,
) -> int:
    import signal
    import threading

    from meshinject.cluster.certs import CertController, request_rotation

    if rotate is not None:
        request_rotation(client, namespace=namespace, secret_name=secret_name, what=rotate)
        _say(f"asked the certificate controllers of revision {revision} to rotate the {rotate} certificate")
        return 0
    controller = CertController(
        client,
        revision=revision,
        namespace=namespace,
        secret_name=secret_name,
        policy=policy,
        write_dir=write_dir,
        log=_log_line,
    )
    if not once:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        _log_line("certificate controller started", revision=revision, secret=f"{namespace}/{secret_name}")
        controller.run(stop, interval=interval)
        return 0
    result = controller.reconcile()
    summary = {
        "revision": revision,
        "secret": f"{namespace}/{secret_name}",
        "phase": result.phase,
        "action": result.action,
        "caNotAfter": result.ca_not_after.isoformat(),
        "certNotAfter": result.cert_not_after.isoformat(),
        "webhookConfigurations": result.webhook_configurations,
        "published": result.published,
    }
    if output != "table":
        _emit(summary, output)
    else:
        rows = [[k, ", ".join(v) if isinstance(v, list) else str(v)] for k, v in summary.items()]
        _table(None, ["FIELD", "VALUE"], rows)
    return 0
