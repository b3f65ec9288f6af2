"""Connecting to a cluster the way kubectl does, and one error type for everything that can go wrong.

kubectl's precedence: ``--kubeconfig`` > ``$KUBECONFIG`` (a list of files, merged: the first file that sets a
value wins) > ``~/.kube/config`` > in-cluster service account credentials. lightkube alone does not merge
``KUBECONFIG=a:b`` and prefers in-cluster credentials, so the configuration is assembled here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube import ConfigError as KubeConfigError

#: seconds; a cluster that does not answer in that time is reported as unreachable
TIMEOUT = 10.0
FIELD_MANAGER = "meshinject"


class ClusterError(Exception):
    """A cluster operation failed. The message says what was tried, what went wrong and what to check.

    ``status`` is the API server's Status object (as a dict) when the server answered; ``code`` its HTTP code.
    """

    def __init__(self, message: str, *, status: Mapping[str, Any] | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = dict(status or {})
        self.code = code

    @property
    def forbidden(self) -> bool:
        return self.code == 403

    @property
    def not_found(self) -> bool:
        return self.code == 404


def _merge_kubeconfigs(paths: list[Path]) -> dict[str, Any]:
    """kubectl's merge of several kubeconfig files: named entries and scalar settings, first one wins."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []}
    seen: dict[str, set[str]] = {"clusters": set(), "contexts": set(), "users": set()}
    for path in paths:
        try:
            data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or {}
        except OSError:
            continue  # kubectl skips files of the list that do not exist
        except yaml.YAMLError as err:
            raise ClusterError(f"kubeconfig {path} is not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise ClusterError(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
        for key in ("clusters", "contexts", "users"):
            for entry in data.get(key) or []:
                name = entry.get("name") if isinstance(entry, dict) else None
                if name and name not in seen[key]:
                    seen[key].add(name)
                    merged[key].append(_absolute_paths(entry, path.parent))
        if "current-context" not in merged and data.get("current-context"):
            merged["current-context"] = data["current-context"]
    return merged


_FILE_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def _absolute_paths(entry: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative file references in a kubeconfig are relative to that file, as kubectl resolves them."""
    result = dict(entry)
    for section in ("cluster", "user"):
        body = result.get(section)
        if isinstance(body, dict):
            body = dict(body)
            for key in _FILE_KEYS:
                value = body.get(key)
                if isinstance(value, str) and value and not os.path.isabs(value):
                    body[key] = str(base / value)
            result[section] = body
    return result


def load_kubeconfig(kubeconfig: Path | None = None, *, environ: Mapping[str, str] | None = None) -> KubeConfig:
    """The kubeconfig kubectl would use; raises ClusterError when there is none."""
    env = os.environ if environ is None else environ
    try:
        if kubeconfig is not None:
            if not kubeconfig.is_file():
                raise ClusterError(f"--kubeconfig {kubeconfig}: no such file")
            return KubeConfig.from_dict(_merge_kubeconfigs([kubeconfig]), fname=str(kubeconfig))
        listed = [Path(p) for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
        if listed:
            merged = _merge_kubeconfigs(listed)
            if not merged["clusters"]:
                raise ClusterError(f"KUBECONFIG={env['KUBECONFIG']}: none of these files holds a cluster")
            return KubeConfig.from_dict(merged, fname=str(listed[0]))
        home = Path(env.get("HOME", str(Path.home()))) / ".kube" / "config"
        if home.is_file():
            return KubeConfig.from_dict(_merge_kubeconfigs([home]), fname=str(home))
        return KubeConfig.from_service_account()
    except KubeConfigError as err:
        raise ClusterError(
            f"no cluster configured: {err} (set --kubeconfig or KUBECONFIG, or run inside a cluster)"
        ) from None


def connect(
    kubeconfig: Path | None = None, context: str | None = None, *, environ: Mapping[str, str] | None = None
) -> Client:
    """A lightkube client for the chosen kubeconfig and context (field manager ``meshinject``)."""
    config = load_kubeconfig(kubeconfig, environ=environ)
    try:
        single = config.get(context_name=context)
    except (KubeConfigError, KeyError, ValueError) as err:
        known = ", ".join(sorted(getattr(config, "contexts", {}) or {})) or "none"
        raise ClusterError(f"context {context!r} is not in the kubeconfig (contexts: {known}): {err}") from None
    if single is None:
        raise ClusterError("the kubeconfig has no current-context: pass --context")
    try:
        return Client(config=single, timeout=httpx2.Timeout(TIMEOUT), field_manager=FIELD_MANAGER)
    except (KeyError, ValueError, TypeError, AssertionError, OSError) as err:
        raise ClusterError(f"the kubeconfig's context cannot be used: {err or type(err).__name__}") from None


@contextlib.contextmanager
def api_call(verb: str, resource: str, *, namespace: str | None = None, name: str | None = None) -> Iterator[None]:
    """Turn lightkube/httpx failures of one API call into a ClusterError naming the verb and the resource."""
    target = resource + (f" {name!r}" if name else "") + (f" in namespace {namespace!r}" if namespace else "")
    try:
        yield
    except ApiError as err:
        status = err.status
        code = getattr(status, "code", None)
        message = getattr(status, "message", None) or str(err)
        as_dict = status.to_dict() if hasattr(status, "to_dict") else {}
        if code == 403:
            raise ClusterError(
                f"forbidden: cannot {verb} {target}: {message} (grant the kubeconfig's user `{verb}` on `{resource}`)",
                status=as_dict,
                code=code,
            ) from None
        if code == 401:
            raise ClusterError(
                f"unauthorized: the API server rejected the kubeconfig's credentials ({message})",
                status=as_dict,
                code=code,
            ) from None
        raise ClusterError(f"cannot {verb} {target}: {message}", status=as_dict, code=code) from None
    except httpx2.HTTPError as err:
        raise ClusterError(
            f"cannot reach the Kubernetes API server to {verb} {target}: {err or type(err).__name__} "
            "(check the kubeconfig's current context and that the cluster is up)"
        ) from None


def prepare_decoders(resources: Iterable[Any]) -> None:
    """Build msgspec's decoding tables for these lightkube resources (and their lists) now, in this thread.

    msgspec fills a type's table on its first use, and a thread that decodes while another one fills a table for
    types they share can crash the interpreter (seen with msgspec 0.22 on CPython 3.11). Worker threads therefore
    only decode types prepared beforehand.
    """
    import msgspec
    from lightkube.core import decoders

    for resource in resources:
        with contextlib.suppress(msgspec.ValidationError):
            msgspec.json.decode(b"{}", type=resource)  # the table is built before the (failing) validation
        with contextlib.suppress(Exception):  # an internal helper of lightkube: not worth failing over
            decoders.decode_list(b'{"items":[]}', resource)
    with contextlib.suppress(Exception):
        decoders.decode_status(b"{}")
