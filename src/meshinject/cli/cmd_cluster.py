"""Commands: revisions, enable, disable, tag. Each registers on :data:`meshinject.cli._app.app`.

Exit codes: 0 done; 1 refused because of the cluster's state (a revision without a serving webhook, a tag still in
use) or a change that failed; 2 usage errors, unknown names and cluster errors (unreachable, forbidden).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from cyclopts import App, Parameter

from ._app import app
from ._output import connect as _connect
from ._output import emit as _emit
from ._output import error as _error
from ._output import say as _say
from ._output import table as _table

if TYPE_CHECKING:
    from lightkube import Client
    from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration

    from meshinject.cluster.revisions import RevisionModel
    from meshinject.cluster.webhooks import InjectionWebhook

__all__ = ["app", "disable", "enable", "revisions", "tag_app"]

Output = Literal["table", "json", "yaml"]

_KUBECONFIG = Parameter(help="Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).")
_CONTEXT = Parameter(help="Kubeconfig context (default: the current context).")
_OUTPUT = Parameter(name=["--output", "-o"], help="table, json or yaml (machine-readable, on standard output).")
_ISTIO_NS = Parameter(help="Namespace of the control plane (istiod pods, injector ConfigMaps).")

REV_LABEL = "istio.io/rev"
INJECTION_LABEL = "istio-injection"


# -- output helpers -------------------------------------------------------------------------------------------


def _model(client: Client, istio_namespace: str, *, pods: bool) -> tuple[RevisionModel, list[dict[str, Any]]]:
    """The revision model and the raw webhook configurations it was built from."""
    from meshinject.cluster.revisions import build_model, collect

    snapshot = collect(client, istio_namespace, pods=pods)
    return build_model(snapshot), snapshot.webhook_configurations


def _injector_names(webhooks: Sequence[InjectionWebhook]) -> str:
    """``canary`` or ``canary (tag prod)`` for each distinct target, or ``none``."""
    names: list[str] = []
    for wh in webhooks:
        text = (wh.revision or "default") + (f" (tag {wh.tag})" if wh.tag is not None else "")
        if text not in names:
            names.append(text)
    return ", ".join(names) if names else "none"


# -- revisions ------------------------------------------------------------------------------------------------


@app.command
def revisions(
    *,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """List the control-plane revisions of the cluster: tags, version, istiod pods ready, webhooks, users.

    A revision is anything installed under an `istio.io/rev` name: istiod pods (`app=istiod` in the Istio
    namespace), an `istio-sidecar-injector[-REV]` ConfigMap or MutatingWebhookConfiguration. NAMESPACES are those
    where the webhooks' selectors would inject a new pod with this revision; PODS counts the pods it injected.

    Example: `meshinject revisions`; `meshinject revisions -o json --istio-namespace asm-system`.
    """
    from meshinject.cluster.client import ClusterError

    try:
        with _connect(kubeconfig, context) as client:
            model, _ = _model(client, istio_namespace, pods=True)
    except ClusterError as err:
        return _error(str(err))

    if output != "table":
        _emit(model.to_dict(), output)
        return 0
    if not model.revisions:
        _say(
            f"no control-plane revisions found (no istiod pods in {istio_namespace!r}, injector ConfigMaps or webhooks)"
        )
        return 0
    rows = []
    for rev in model.revisions:
        rows.append(
            [
                rev.name,
                ", ".join(rev.tags) or "-",
                rev.version or "-",
                f"{rev.pods_ready}/{rev.pods_total}",
                ", ".join(rev.webhook_configurations) or "-",
                ", ".join(rev.namespaces) or "-",
                str(len(rev.injected_pods)),
            ]
        )
    _table(None, ["REVISION", "TAGS", "VERSION", "ISTIOD READY", "WEBHOOKS", "NAMESPACES", "PODS"], rows)
    for rev in model.revisions:
        if not rev.serving:
            _say(f"note: revision {rev.name!r} has no active webhook serving istio.io/rev={rev.name}")
    for ns, revs in model.namespace_revisions.items():
        if len(revs) > 1:
            _say(
                f"warning: namespace {ns!r} is selected by several revisions ({', '.join(revs)}): pods get two sidecars"
            )
    return 0


# -- enable / disable -----------------------------------------------------------------------------------------


def _label_patch(current: Mapping[str, str], wanted: Mapping[str, str | None]) -> dict[str, str | None]:
    """The label changes (None = remove) that turn ``current`` into what ``wanted`` says; only real changes."""
    patch: dict[str, str | None] = {}
    for key, value in wanted.items():
        if value is None:
            if key in current:
                patch[key] = None
        elif current.get(key) != value:
            patch[key] = value
    return patch


def _describe_patch(patch: Mapping[str, str | None]) -> str:
    return " ".join(f"{k}-" if v is None else f"{k}={v}" for k, v in patch.items())


def _relabel(
    namespaces: Sequence[str],
    wanted: Mapping[str, str | None],
    *,
    check_target: str | None,
    target_label: Mapping[str, str] | None,
    force: bool,
    dry_run: bool,
    istio_namespace: str,
    kubeconfig: Path | None,
    context: str | None,
    output: Output,
    verb: str,
) -> int:
    """Shared body of enable and disable: check, plan, patch each namespace with one merge patch, report."""
    from lightkube.resources.core_v1 import Namespace
    from lightkube.types import PatchType

    from meshinject.cluster.client import ClusterError, api_call
    from meshinject.cluster.revisions import serving_webhooks
    from meshinject.cluster.webhooks import matching_webhooks

    if not namespaces:
        return _error(f"name at least one namespace: meshinject {verb} NAMESPACE...")
    try:
        with _connect(kubeconfig, context) as client:
            current: dict[str, dict[str, str]] = {}
            for name in dict.fromkeys(namespaces):
                try:
                    with api_call("get", "namespaces", name=name):
                        obj = client.get(Namespace, name)
                except ClusterError as err:
                    if err.not_found:
                        return _error(f"namespace {name!r} not found")
                    raise
                current[name] = dict((obj.metadata.labels if obj.metadata else None) or {})
            model, _ = _model(client, istio_namespace, pods=False)

            if target_label is not None:
                what = f"revision or tag {check_target!r}" if check_target is not None else "the default injector"
                if check_target is not None and model.resolve(check_target) is None:
                    known = ", ".join([r.name for r in model.revisions] + [t.name for t in model.tags]) or "none"
                    if not force:
                        return _error(
                            f"{what} does not exist in the cluster (revisions and tags: {known}); "
                            "--force labels the namespaces anyway"
                        )
                    _say(f"warning: {what} does not exist (--force): new pods will get no sidecar")
                served = serving_webhooks(model.webhooks, target_label)
                if not served:
                    if not force:
                        return _error(
                            f"no active injection webhook serves {_describe_patch(target_label)}: "
                            f"new pods would get no sidecar (check `meshinject revisions`; --force labels anyway)",
                            1,
                        )
                    _say(f"warning: no active injection webhook serves {_describe_patch(target_label)} (--force)")

            plans: list[dict[str, Any]] = []
            for name, labels in current.items():
                patch = _label_patch(labels, wanted)
                after = {k: v for k, v in labels.items() if k not in patch}
                after.update({k: v for k, v in patch.items() if v is not None})
                before_hooks = [wh for wh in matching_webhooks(model.webhooks, name, labels, {}) if not wh.deactivated]
                after_hooks = [wh for wh in matching_webhooks(model.webhooks, name, after, {}) if not wh.deactivated]
                plans.append(
                    {
                        "namespace": name,
                        "changed": bool(patch),
                        "patch": {"metadata": {"labels": patch}} if patch else None,
                        "labels": {k: after[k] for k in (REV_LABEL, INJECTION_LABEL) if k in after},
                        "injectorBefore": _injector_names(before_hooks),
                        "injectorAfter": _injector_names(after_hooks),
                        "applied": False,
                    }
                )

            failure: ClusterError | None = None
            for plan in plans:
                if not plan["changed"] or dry_run:
                    continue
                name = plan["namespace"]
                try:
                    with api_call("patch", "namespaces", name=name):
                        client.patch(Namespace, name, plan["patch"], patch_type=PatchType.MERGE)
                except ClusterError as err:
                    failure = err  # stop here, but still report the namespaces already changed
                    break
                plan["applied"] = True
    except ClusterError as err:
        return _error(str(err))
    if failure is not None:
        done = [p["namespace"] for p in plans if p["applied"]]
        return _error(f"{failure} (already changed: {', '.join(done) or 'none'})", 1)

    if output != "table":
        _emit({"dryRun": dry_run, "namespaces": plans}, output)
    else:
        for plan in plans:
            labels = plan["patch"]["metadata"]["labels"] if plan["changed"] else {}
            if not plan["changed"]:
                _say(f"namespace/{plan['namespace']}: unchanged (injector: {plan['injectorAfter']})")
                continue
            prefix = "would label" if dry_run else "labelled"
            _say(
                f"namespace/{plan['namespace']}: {prefix} {_describe_patch(labels)} "
                f"(injector: {plan['injectorBefore']} -> {plan['injectorAfter']})"
            )
    changed = [p["namespace"] for p in plans if p["changed"]]
    if dry_run:
        _say("dry run: nothing was changed")
    elif changed:
        if verb == "disable":
            _say(
                "running pods keep their sidecar until they are re-created: "
                + f"meshinject restart {' '.join(changed)}"
            )
        else:
            _say(f"next: re-create the pods so they get the new sidecar: meshinject restart {' '.join(changed)}")
    if verb == "disable":
        for plan in plans:
            if plan["injectorAfter"] != "none":
                _say(
                    f"note: new pods in {plan['namespace']!r} are still injected by {plan['injectorAfter']} "
                    f"(a webhook selects unlabelled namespaces); label it {INJECTION_LABEL}=disabled to opt out"
                )
    return 0


@app.command
def enable(
    *namespaces: Annotated[str, Parameter(help="Namespaces to enable.")],
    revision: Annotated[str | None, Parameter(help="Revision or revision tag to use (sets istio.io/rev).")] = None,
    default: Annotated[
        bool, Parameter(negative=(), help="Use the default injector (sets istio-injection=enabled).")
    ] = False,
    force: Annotated[bool, Parameter(negative=(), help="Label even if no webhook serves the revision.")] = False,
    dry_run: Annotated[bool, Parameter(negative=(), help="Print what would change; change nothing.")] = False,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """Turn on sidecar injection for namespaces with a revision (or the default injector), in one patch each.

    `--revision REV` sets `istio.io/rev=REV` and removes `istio-injection` (which would otherwise take precedence),
    exactly as `kubectl label namespace NS istio-injection- istio.io/rev=REV --overwrite`. `--default` sets
    `istio-injection=enabled` and removes `istio.io/rev`. Refuses a revision or tag that does not exist or that no
    active webhook serves, unless `--force`. Running pods change only when re-created (`meshinject restart`).

    Example: `meshinject enable bookinfo shop --revision asm-1-24`; `meshinject enable legacy --default --dry-run`.
    """
    if (revision is None) == (not default):
        return _error("give exactly one of --revision REV or --default")
    if revision is not None:
        wanted: dict[str, str | None] = {REV_LABEL: revision, INJECTION_LABEL: None}
        target: dict[str, str] = {REV_LABEL: revision}
    else:
        wanted = {INJECTION_LABEL: "enabled", REV_LABEL: None}
        target = {INJECTION_LABEL: "enabled"}
    return _relabel(
        namespaces,
        wanted,
        check_target=revision,
        target_label=target,
        force=force,
        dry_run=dry_run,
        istio_namespace=istio_namespace,
        kubeconfig=kubeconfig,
        context=context,
        output=output,
        verb="enable",
    )


@app.command
def disable(
    *namespaces: Annotated[str, Parameter(help="Namespaces to disable.")],
    dry_run: Annotated[bool, Parameter(negative=(), help="Print what would change; change nothing.")] = False,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """Turn off sidecar injection for namespaces: remove `istio.io/rev` and `istio-injection` in one patch each.

    Pods that already have a sidecar keep it until they are re-created.

    Example: `meshinject disable bookinfo`.
    """
    return _relabel(
        namespaces,
        {REV_LABEL: None, INJECTION_LABEL: None},
        check_target=None,
        target_label=None,
        force=True,
        dry_run=dry_run,
        istio_namespace=istio_namespace,
        kubeconfig=kubeconfig,
        context=context,
        output=output,
        verb="disable",
    )


# -- tag ------------------------------------------------------------------------------------------------------

tag_app = App(name="tag", help="Revision tags: stable names (prod, canary, default) that point at a revision.")
app.command(tag_app)


def _revision_config(
    configs: Sequence[Mapping[str, Any]], revision: str, istio_namespace: str, *, force: bool
) -> dict[str, Any]:
    """The revision's own injector configuration (labelled istio.io/rev=REV, no istio.io/tag); ValueError if none."""
    from meshinject.cluster.webhooks import TAG_LABEL, parse_webhook_configuration

    own = [
        dict(c)
        for c in configs
        if ((c.get("metadata") or {}).get("labels") or {}).get(REV_LABEL) == revision
        and TAG_LABEL not in ((c.get("metadata") or {}).get("labels") or {})
        and parse_webhook_configuration(c)
    ]
    if not own:
        raise LookupError(f"revision {revision!r} has no injector MutatingWebhookConfiguration labelled {REV_LABEL}")
    if len(own) == 1:
        return own[0]
    suffix = "" if revision == "default" else f"-{revision}"
    preferred = {f"istio-sidecar-injector{suffix}", f"istio-sidecar-injector{suffix}-{istio_namespace}"}
    named = [c for c in own if (c.get("metadata") or {}).get("name") in preferred]
    if len(named) == 1:
        return named[0]
    names = ", ".join(str((c.get("metadata") or {}).get("name")) for c in own)
    if not force:
        raise ValueError(f"revision {revision!r} has several injector configurations ({names}); --force uses the first")
    return own[0]


def _plan_tag(
    client: Client, tag: str, revision: str, istio_namespace: str, *, force: bool, generate: bool
) -> tuple[dict[str, Any], RevisionModel, list[dict[str, Any]]] | int:
    """Check a tag request and build its configuration; an exit code when refused."""
    from meshinject.cluster.webhooks import build_tag_configuration

    model, configs = _model(client, istio_namespace, pods=False)
    if model.tag(revision) is not None and model.revision(revision) is None:
        return _error(f"{revision!r} is a tag: a tag must point at a revision (`meshinject tag list`)")
    own_revision = model.revision(tag)
    shadows = own_revision is not None and bool(own_revision.webhook_configurations) and tag != "default"
    if shadows and not generate and not force:
        return _error(f"a revision named {tag!r} exists: a tag of the same name would shadow it (--force to do so)")
    try:
        source = _revision_config(configs, revision, istio_namespace, force=force)
    except LookupError as err:
        known = ", ".join(r.name for r in model.revisions if r.webhook_configurations) or "none"
        return _error(f"{err} (revisions with webhooks: {known})")
    except ValueError as err:
        return _error(str(err))
    try:
        manifest = build_tag_configuration(tag, revision, source, istio_namespace)
    except ValueError as err:
        return _error(str(err))
    return manifest, model, configs


def _mwc(data: Mapping[str, Any]) -> MutatingWebhookConfiguration:
    from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration

    return cast(MutatingWebhookConfiguration, MutatingWebhookConfiguration.from_dict(dict(data)))


_TAG_ARG = Parameter(help="Tag name (the value namespaces use in istio.io/rev).")
_REVISION_OPT = Parameter(help="Revision the tag points at.")


@tag_app.command(name="set")
def tag_set(
    tag: Annotated[str, _TAG_ARG],
    /,
    *,
    revision: Annotated[str, _REVISION_OPT],
    force: Annotated[
        bool, Parameter(negative=(), help="Also when the tag shadows a revision of the same name.")
    ] = False,
    dry_run: Annotated[bool, Parameter(negative=(), help="Print what would change; change nothing.")] = False,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """Create or move a revision tag: MutatingWebhookConfiguration `istio-revision-tag-TAG` serving REV.

    Namespaces labelled `istio.io/rev=TAG` then get REV's sidecar for new pods. The tag `default` also serves
    `istio-injection=enabled` and `sidecar.istio.io/inject=true`, and the old default injector's webhooks are
    deactivated (kept with never-matching selectors, as istioctl does, so they can be restored).

    Example: `meshinject tag set prod --revision asm-1-24`; `meshinject tag set default --revision asm-1-24`.
    """
    from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration

    from meshinject.cluster.client import ClusterError, api_call
    from meshinject.cluster.revisions import serving_webhooks
    from meshinject.cluster.webhooks import (
        DEFAULT_REVISION,
        TAG_LABEL,
        deactivate_configuration,
        parse_webhook_configuration,
        parse_webhook_configurations,
    )

    try:
        with _connect(kubeconfig, context) as client:
            planned = _plan_tag(client, tag, revision, istio_namespace, force=force, generate=False)
            if isinstance(planned, int):
                return planned
            manifest, model, configs = planned
            name = manifest["metadata"]["name"]
            existing = next((c for c in configs if (c.get("metadata") or {}).get("name") == name), None)
            previous = model.tag(tag)
            to_deactivate: list[dict[str, Any]] = []
            if tag == DEFAULT_REVISION:
                for config in configs:
                    labels = (config.get("metadata") or {}).get("labels") or {}
                    hooks = parse_webhook_configuration(config)
                    is_default = labels.get(REV_LABEL) == DEFAULT_REVISION and TAG_LABEL not in labels
                    if is_default and hooks and not all(wh.deactivated for wh in hooks):
                        to_deactivate.append(config)
            # the same tag under another name (another control-plane namespace, an older install) would keep
            # injecting the old revision next to the new one
            stale = [
                str(c["metadata"]["name"])
                for c in configs
                if ((c.get("metadata") or {}).get("labels") or {}).get(TAG_LABEL) == tag
                and c["metadata"].get("name") != name
            ]
            actions = []
            if existing is None:
                actions.append(f"create MutatingWebhookConfiguration {name} (tag {tag} -> revision {revision})")
            else:
                was = previous.revision if previous is not None else "?"
                actions.append(f"replace MutatingWebhookConfiguration {name} (tag {tag}: {was} -> {revision})")
            actions += [
                f"deactivate the old default injector's webhooks in MutatingWebhookConfiguration "
                f"{c['metadata']['name']}"
                for c in to_deactivate
            ]
            actions += [f"delete MutatingWebhookConfiguration {n} (same tag, other name)" for n in stale]
            if not dry_run:
                if existing is None:
                    with api_call("create", "mutatingwebhookconfigurations", name=name):
                        client.create(_mwc(manifest))
                else:
                    # the resourceVersion read makes the update fail rather than overwrite a concurrent change
                    version = (existing.get("metadata") or {}).get("resourceVersion")
                    update = {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": version}}
                    with api_call("update", "mutatingwebhookconfigurations", name=name):
                        client.replace(_mwc(update))
                for config in to_deactivate:
                    off = _mwc(deactivate_configuration(config))
                    with api_call("update", "mutatingwebhookconfigurations", name=config["metadata"]["name"]):
                        client.replace(off)
                for stale_name in stale:
                    with api_call("delete", "mutatingwebhookconfigurations", name=stale_name):
                        client.delete(MutatingWebhookConfiguration, stale_name)
            # which namespaces the tag now serves, from the webhooks as they will be
            after_configs = [c for c in configs if (c.get("metadata") or {}).get("name") not in {name, *stale}]
            after_configs = [
                deactivate_configuration(c) if any(c is d for d in to_deactivate) else c for c in after_configs
            ] + [manifest]
            webhooks = parse_webhook_configurations(after_configs)
            users = [
                ns
                for ns, labels in model.namespace_labels.items()
                if any(wh.tag == tag for wh in serving_webhooks(webhooks, labels, ns))
            ]
    except ClusterError as err:
        return _error(str(err))

    if output != "table":
        _emit(
            {"tag": tag, "revision": revision, "dryRun": dry_run, "actions": actions, "namespaces": users},
            output,
        )
    else:
        for action in actions:
            _say(("would " if dry_run else "") + action)
        if users:
            _say(
                f"namespaces served by tag {tag!r}: {', '.join(users)}; next: re-create their pods to move them "
                f"to {revision}: meshinject restart {' '.join(users)}"
            )
        else:
            _say(f"no namespace uses tag {tag!r} yet: meshinject enable NAMESPACE --revision {tag}")
    if dry_run:
        _say("dry run: nothing was changed")
    return 0


@tag_app.command
def generate(
    tag: Annotated[str, _TAG_ARG],
    /,
    *,
    revision: Annotated[str, _REVISION_OPT],
    force: Annotated[bool, Parameter(negative=(), help="Pick the first of several revision configurations.")] = False,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Literal["yaml", "json"], Parameter(name=["--output", "-o"], help="yaml or json.")] = "yaml",
) -> int:
    """Print the tag's MutatingWebhookConfiguration instead of applying it (for GitOps); changes nothing.

    For the tag `default`, applying the output does not deactivate the old default injector: `tag set` does.

    Example: `meshinject tag generate prod --revision asm-1-24 > prod-tag.yaml`.
    """
    from meshinject.cluster.client import ClusterError

    try:
        with _connect(kubeconfig, context) as client:
            planned = _plan_tag(client, tag, revision, istio_namespace, force=force, generate=True)
    except ClusterError as err:
        return _error(str(err))
    if isinstance(planned, int):
        return planned
    _emit(planned[0], output)
    return 0


@tag_app.command(name="list")
def tag_list(
    *,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """List revision tags: the revision each points at and the namespaces it serves.

    Example: `meshinject tag list -o json`.
    """
    from meshinject.cluster.client import ClusterError

    try:
        with _connect(kubeconfig, context) as client:
            model, _ = _model(client, istio_namespace, pods=False)
    except ClusterError as err:
        return _error(str(err))
    if output != "table":
        _emit([t.to_dict() for t in model.tags], output)
        return 0
    if not model.tags:
        _say("no revision tags (meshinject tag set TAG --revision REV creates one)")
        return 0
    rows = [
        [
            t.name,
            t.revision,
            ", ".join(t.webhook_configurations),
            ", ".join(t.namespaces) or "-",
            "" if t.active else "deactivated",
        ]
        for t in model.tags
    ]
    _table(None, ["TAG", "REVISION", "WEBHOOKS", "NAMESPACES", "STATUS"], rows)
    return 0


@tag_app.command
def remove(
    tag: Annotated[str, _TAG_ARG],
    /,
    *,
    force: Annotated[bool, Parameter(negative=(), help="Remove even while namespaces or pods use the tag.")] = False,
    dry_run: Annotated[bool, Parameter(negative=(), help="Print what would change; change nothing.")] = False,
    istio_namespace: Annotated[str, _ISTIO_NS] = "istio-system",
    kubeconfig: Annotated[Path | None, _KUBECONFIG] = None,
    context: Annotated[str | None, _CONTEXT] = None,
    output: Annotated[Output, _OUTPUT] = "table",
) -> int:
    """Delete a revision tag's webhook configurations; refuses while namespaces or pods use it, unless --force.

    A namespace uses the tag when its label `istio.io/rev=TAG` or the tag's selectors pick it; new pods there would
    get no sidecar once the tag is gone.

    Example: `meshinject tag remove prod`.
    """
    from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration

    from meshinject.cluster.client import ClusterError, api_call

    try:
        with _connect(kubeconfig, context) as client:
            model, _ = _model(client, istio_namespace, pods=True)
            found = model.tag(tag)
            if found is None:
                known = ", ".join(t.name for t in model.tags) or "none"
                return _error(f"tag {tag!r} not found (tags: {known})")
            labelled = [ns for ns, labels in model.namespace_labels.items() if labels.get(REV_LABEL) == tag]
            namespaces = list(dict.fromkeys(found.namespaces + labelled))
            if (namespaces or found.labelled_pods) and not force:
                users = []
                if namespaces:
                    users.append(f"namespaces {', '.join(namespaces)}")
                if found.labelled_pods:
                    users.append(
                        f"pods {', '.join(found.labelled_pods[:5])}" + (" ..." if len(found.labelled_pods) > 5 else "")
                    )
                return _error(
                    f"tag {tag!r} is still used by {'; '.join(users)}: move them first "
                    f"(meshinject enable NS --revision {found.revision}) or pass --force",
                    1,
                )
            if not dry_run:
                for name in found.webhook_configurations:
                    with api_call("delete", "mutatingwebhookconfigurations", name=name):
                        client.delete(MutatingWebhookConfiguration, name)
    except ClusterError as err:
        return _error(str(err))
    if output != "table":
        _emit(
            {"tag": tag, "dryRun": dry_run, "deleted": found.webhook_configurations, "namespaces": namespaces}, output
        )
    else:
        for name in found.webhook_configurations:
            _say(f"{'would delete' if dry_run else 'deleted'} MutatingWebhookConfiguration {name}")
        if namespaces:
            _say(f"warning: new pods in {', '.join(namespaces)} get no sidecar from tag {tag!r} any more")
        if tag == "default":
            _say("note: a default injector deactivated by `tag set default` stays deactivated")
    return 0
