"""Rewriting of application probes so that the sidecar agent answers them (Istio's ``app_probe.go``).

With mutual TLS the kubelet can no longer reach an application's HTTP, TCP or gRPC probe directly, so Istio
points every such probe (and the HTTP/TCP ``preStop``/``postStart`` hooks) at the agent's status port under
``/app-health/<container>/{readyz,livez,startupz}`` or ``/app-lifecycle/<container>/{prestopz,poststartz}``,
and tells the agent where the original endpoints are through the ``ISTIO_KUBE_APP_PROBERS`` environment
variable of the ``istio-proxy`` container.

Pods are plain dicts in Kubernetes JSON form. Values are read the way Go's typed decoding would see them: a
missing or ``null`` field is the zero value, and a probe port is an int or a (named-port) string. The JSON
written into the environment variable is byte-identical to Go's ``encoding/json`` output for Istio's
``Prober`` struct: keys of the map sorted, struct fields in declaration order, ``omitempty`` honoured,
HTML-safe string escaping.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any, Final

from meshinject.inject.podutil import PROXY_CONTAINER, find_sidecar
from meshinject.inject.validate import go_atoi, go_json_string, parse_go_bool

__all__ = [
    "KUBE_APP_PROBERS_ENV",
    "PROXY_CONTAINER_NAME",
    "apply_rewrite",
    "dump_app_probers",
    "find_sidecar",
    "merge_or_append_probers",
    "prober_urls",
    "rewrite_probes",
    "should_rewrite",
]

PROXY_CONTAINER_NAME: Final = PROXY_CONTAINER
KUBE_APP_PROBERS_ENV: Final = "ISTIO_KUBE_APP_PROBERS"
REWRITE_ANNOTATION: Final = "sidecar.istio.io/rewriteAppHTTPProbers"
STATUS_PORT_ANNOTATION: Final = "status.sidecar.istio.io/port"
SIDECAR_STATUS_ANNOTATION: Final = "sidecar.istio.io/status"

_PROBES: Final = (("readinessProbe", "readyz"), ("livenessProbe", "livez"), ("startupProbe", "startupz"))
_HOOKS: Final = (("preStop", "prestopz"), ("postStart", "poststartz"))


def should_rewrite(annotations: Mapping[str, str] | None, values_default: bool) -> bool:
    """``ShouldRewriteAppHTTPProbers``: the pod annotation when it parses as a Go bool, else the default."""
    if annotations is not None and REWRITE_ANNOTATION in annotations:
        value = parse_go_bool(annotations[REWRITE_ANNOTATION])
        if value is not None:
            return value
    return values_default


def prober_urls(container: str) -> dict[str, str]:
    """The agent paths for one container, by probe kind (``readyz``, ``livez``, ...)."""
    return {
        "readyz": f"/app-health/{container}/readyz",
        "livez": f"/app-health/{container}/livez",
        "startupz": f"/app-health/{container}/startupz",
        "prestopz": f"/app-lifecycle/{container}/prestopz",
        "poststartz": f"/app-lifecycle/{container}/poststartz",
    }


_HANDLER_FIELDS: Final = ("readinessProbe", "livenessProbe", "startupProbe", "lifecycle")


def _has_handlers(container: Mapping[str, Any]) -> bool:
    """Whether the container has anything the probe rewrite looks at (most sidecar-less containers do not)."""
    return any(container.get(field) is not None for field in _HANDLER_FIELDS)


def _containers(pod: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    spec = pod.get("spec") or {}
    return [c for c in (spec.get(key) or []) if isinstance(c, dict)]


# ---------------------------------------------------------------------------------------------------------
# The Prober model: plain dicts holding Go's typed values, in the struct's field order.


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def _port(value: Any) -> int | str:
    """An ``intstr.IntOrString`` as typed decoding leaves it."""
    return value if isinstance(value, str) else _int(value)


def _http_get_from_pod(action: Mapping[str, Any]) -> dict[str, Any]:
    headers = [
        {"name": _str(h.get("name")), "value": _str(h.get("value"))}
        if isinstance(h, Mapping)
        else {"name": "", "value": ""}
        for h in (action.get("httpHeaders") or [])
    ]
    return {
        "path": _str(action.get("path")),
        "port": _port(action.get("port")),
        "host": _str(action.get("host")),
        "scheme": _str(action.get("scheme")),
        "httpHeaders": headers,
    }


def _tcp_socket_from_pod(action: Mapping[str, Any]) -> dict[str, Any]:
    return {"port": _port(action.get("port")), "host": _str(action.get("host"))}


def _grpc_from_pod(action: Mapping[str, Any]) -> dict[str, Any]:
    service = action.get("service")
    return {"port": _int(action.get("port")), "service": service if isinstance(service, str) else None}


def _prober_from_probe(probe: Any) -> dict[str, Any] | None:
    """``kubeProbeToInternalProber``: the handler Istio forwards, with the probe's timeout."""
    if not isinstance(probe, Mapping):
        return None
    timeout = _int(probe.get("timeoutSeconds"))
    if isinstance(probe.get("httpGet"), Mapping):
        return {"httpGet": _http_get_from_pod(probe["httpGet"]), "timeoutSeconds": timeout}
    if isinstance(probe.get("tcpSocket"), Mapping):
        return {"tcpSocket": _tcp_socket_from_pod(probe["tcpSocket"]), "timeoutSeconds": timeout}
    if isinstance(probe.get("grpc"), Mapping):
        return {"grpc": _grpc_from_pod(probe["grpc"]), "timeoutSeconds": timeout}
    return None


def _prober_from_hook(handler: Any) -> dict[str, Any] | None:
    """``kubeLifecycleHandlerToInternalProber``: only HTTP and TCP hooks, never with a timeout."""
    if not isinstance(handler, Mapping):
        return None
    if isinstance(handler.get("httpGet"), Mapping):
        return {"httpGet": _http_get_from_pod(handler["httpGet"])}
    if isinstance(handler.get("tcpSocket"), Mapping):
        return {"tcpSocket": _tcp_socket_from_pod(handler["tcpSocket"])}
    return None


def _encode_port(port: int | str) -> str:
    return go_json_string(port) if isinstance(port, str) else str(port)


def _encode_http_get(action: Mapping[str, Any]) -> str:
    parts = []
    if action.get("path"):
        parts.append('"path":' + go_json_string(action["path"]))
    parts.append('"port":' + _encode_port(action.get("port", 0)))
    if action.get("host"):
        parts.append('"host":' + go_json_string(action["host"]))
    if action.get("scheme"):
        parts.append('"scheme":' + go_json_string(action["scheme"]))
    if action.get("httpHeaders"):
        headers = ",".join(
            '{"name":' + go_json_string(h.get("name", "")) + ',"value":' + go_json_string(h.get("value", "")) + "}"
            for h in action["httpHeaders"]
        )
        parts.append('"httpHeaders":[' + headers + "]")
    return "{" + ",".join(parts) + "}"


def _encode_tcp_socket(action: Mapping[str, Any]) -> str:
    host = ',"host":' + go_json_string(action["host"]) if action.get("host") else ""
    return '{"port":' + _encode_port(action.get("port", 0)) + host + "}"


def _encode_grpc(action: Mapping[str, Any]) -> str:
    # Service is a pointer without omitempty, so an unset service is written as null.
    service = action.get("service")
    return (
        '{"port":'
        + str(action.get("port", 0))
        + ',"service":'
        + ("null" if service is None else go_json_string(service))
        + "}"
    )


def _encode_prober(prober: Mapping[str, Any] | None) -> str:
    if prober is None:
        return "null"
    parts = []
    if prober.get("httpGet") is not None:
        parts.append('"httpGet":' + _encode_http_get(prober["httpGet"]))
    if prober.get("tcpSocket") is not None:
        parts.append('"tcpSocket":' + _encode_tcp_socket(prober["tcpSocket"]))
    if prober.get("grpc") is not None:
        parts.append('"grpc":' + _encode_grpc(prober["grpc"]))
    if prober.get("timeoutSeconds"):
        parts.append('"timeoutSeconds":' + str(prober["timeoutSeconds"]))
    return "{" + ",".join(parts) + "}"


def _encode_probers(probers: Mapping[str, Mapping[str, Any] | None]) -> str:
    # Go writes map keys sorted by their bytes, which for str is code point order.
    items = (go_json_string(k) + ":" + _encode_prober(probers[k]) for k in sorted(probers))
    return "{" + ",".join(items) + "}"


# ---------------------------------------------------------------------------------------------------------
# DumpAppProbers


def _resolve_named_port(prober: dict[str, Any] | None, ports: Mapping[str, int], target: int) -> bool:
    """``updateNamedPort``: resolves a named port in place; False when the prober is to be left out."""
    if prober is None:
        return False
    if "grpc" in prober:
        # gRPC probes only take numbers and are kept even when they already point at the agent.
        return True
    action = prober.get("httpGet") or prober.get("tcpSocket")
    if action is None:
        return False
    port = action["port"]
    if isinstance(port, str):
        if port not in ports:
            return False
        action["port"] = ports[port]
    elif port == target:
        # Already rewritten by an earlier injection.
        return False
    return True


def dump_app_probers(pod: Mapping[str, Any], status_port: int) -> str:
    """``DumpAppProbers``: the ``ISTIO_KUBE_APP_PROBERS`` JSON for the pod, or ``""`` when there is nothing.

    ``status_port`` is the mesh's status port: probes already aimed at it are taken as rewritten before.
    The pod is not modified (Go resolves named ports in the pod too, but the rewrite overwrites them).
    """
    out: dict[str, dict[str, Any] | None] = {}
    for c in _containers(pod, "initContainers") + _containers(pod, "containers"):
        if not _has_handlers(c):
            continue
        name = _str(c.get("name"))
        if name == PROXY_CONTAINER_NAME:
            continue
        urls = prober_urls(name)
        ports: dict[str, int] = {}
        for p in c.get("ports") or []:
            if isinstance(p, Mapping) and _str(p.get("name")):
                ports[p["name"]] = _int(p.get("containerPort"))
        for field, kind in _PROBES:
            prober = _prober_from_probe(c.get(field))
            if _resolve_named_port(prober, ports, status_port):
                out[urls[kind]] = prober
        lifecycle = c.get("lifecycle")
        if isinstance(lifecycle, Mapping):
            for field, kind in _HOOKS:
                prober = _prober_from_hook(lifecycle.get(field))
                if _resolve_named_port(prober, ports, status_port):
                    out[urls[kind]] = prober
    if not out:
        return ""
    return _encode_probers(out)


# ---------------------------------------------------------------------------------------------------------
# patchRewriteProbe


def _int32(value: int) -> int:
    """Go's ``int32(v)`` conversion (wraps around)."""
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def _rewritten_http_get(action: Mapping[str, Any], path: str, port: int) -> dict[str, Any]:
    """``rewriteHTTPGetAction`` on a copy: agent path and port; HTTPS becomes HTTP (the agent speaks TLS)."""
    new = copy.deepcopy(dict(action))
    new["path"] = path
    new["port"] = port
    if new.get("scheme") == "HTTPS":
        new["scheme"] = "HTTP"
    return new


def _convert_handler(handler: Any, path: str, port: int, allow_grpc: bool) -> dict[str, Any] | None:
    """A probe or hook aimed at the agent, or None when Istio leaves it alone (exec, sleep, ...)."""
    if not isinstance(handler, Mapping):
        return None
    if isinstance(handler.get("httpGet"), Mapping):
        new = copy.deepcopy(dict(handler))
        new["httpGet"] = _rewritten_http_get(handler["httpGet"], path, port)
        return new
    for kind in ("tcpSocket", "grpc") if allow_grpc else ("tcpSocket",):
        if isinstance(handler.get(kind), Mapping):
            # The agent checks the TCP or gRPC endpoint itself; the kubelet only sees an HTTP probe.
            new = {k: copy.deepcopy(v) for k, v in handler.items() if k != kind}
            new["httpGet"] = {"path": path, "port": port}
            return new
    return None


def _convert_container(container: dict[str, Any], port: int) -> None:
    if not _has_handlers(container):
        return
    urls = prober_urls(_str(container.get("name")))
    for field, kind in _PROBES:
        new = _convert_handler(container.get(field), urls[kind], port, allow_grpc=True)
        if new is not None:
            container[field] = new
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, Mapping):
        updated = dict(lifecycle)
        for field, kind in _HOOKS:
            new = _convert_handler(lifecycle.get(field), urls[kind], port, allow_grpc=False)
            if new is not None:
                updated[field] = new
        container["lifecycle"] = updated


def rewrite_probes(pod: dict[str, Any], annotations: Mapping[str, str] | None, status_port: int) -> None:
    """``patchRewriteProbe``: aims the probes and hooks of every app container at the agent, in place.

    ``status_port`` is the mesh's; the pod's ``status.sidecar.istio.io/port`` annotation overrides it, and
    as in Istio an unparsable annotation yields port 0 (validation rejects such pods earlier).
    """
    port = status_port
    if annotations is not None and STATUS_PORT_ANNOTATION in annotations:
        port, _ = go_atoi(annotations[STATUS_PORT_ANNOTATION])
    port = _int32(port)
    for key in ("containers", "initContainers"):
        for c in _containers(pod, key):
            if c.get("name") != PROXY_CONTAINER_NAME:
                _convert_container(c, port)


# ---------------------------------------------------------------------------------------------------------
# mergeOrAppendProbers: decoding Prober JSON the way encoding/json does


class _Literal(str):
    """A JSON number kept as its text."""


class _DecodeError(Exception):
    pass


class _Object(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs in document order."""


def _reject_constant(name: str) -> Any:
    raise _DecodeError(f"invalid character in {name}")


def _parse_json(text: str) -> Any:
    """JSON with objects as pair lists (Go sees duplicate keys in order) and numbers as their text."""
    try:
        return json.loads(
            text,
            object_pairs_hook=_Object,
            parse_int=_Literal,
            parse_float=_Literal,
            parse_constant=_reject_constant,
        )
    except ValueError as e:
        raise _DecodeError(str(e)) from None


def _fold(name: str) -> str:
    # encoding/json matches field names case-insensitively (with Unicode simple folding) when no exact match.
    return name.lower().replace("\u017f", "s")


def _fields(pairs: Any, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The (field, value) pairs of a JSON object for a struct with ``names``; unknown keys are dropped."""
    if not isinstance(pairs, _Object):
        raise _DecodeError("cannot unmarshal into struct")
    out = []
    for key, value in pairs:
        if key in names:
            out.append((key, value))
            continue
        folded = _fold(key)
        for n in names:
            if _fold(n) == folded:
                out.append((n, value))
                break
    return out


def _decode_int32(value: Any, current: int) -> int:
    if value is None:
        return current
    if isinstance(value, _Literal):
        try:
            n = int(value)
        except ValueError:
            raise _DecodeError("number is not an integer") from None
        if -(1 << 31) <= n < 1 << 31:
            return n
    raise _DecodeError("cannot unmarshal into int32")


def _decode_string(value: Any, current: str) -> str:
    if value is None:
        return current
    if isinstance(value, str) and not isinstance(value, _Literal):
        return value
    raise _DecodeError("cannot unmarshal into string")


def _decode_int_or_string(value: Any, current: int | str) -> int | str:
    if isinstance(value, str) and not isinstance(value, _Literal):
        return value
    # Anything else is read as the int form; null leaves the previous int (0 for a fresh value).
    return _decode_int32(value, current if isinstance(current, int) else 0)


def _decode_http_get(value: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    action: dict[str, Any] = current or {"path": "", "port": 0, "host": "", "scheme": "", "httpHeaders": []}
    for name, v in _fields(value, ("path", "port", "host", "scheme", "httpHeaders")):
        if name == "port":
            action["port"] = _decode_int_or_string(v, action["port"])
        elif name == "httpHeaders":
            if v is None:
                action["httpHeaders"] = []
                continue
            if not isinstance(v, list) or isinstance(v, _Object):
                raise _DecodeError("cannot unmarshal into []HTTPHeader")
            headers = []
            for item in v:
                header = {"name": "", "value": ""}
                if item is not None:
                    for hn, hv in _fields(item, ("name", "value")):
                        header[hn] = _decode_string(hv, header[hn])
                headers.append(header)
            action["httpHeaders"] = headers
        else:
            action[name] = _decode_string(v, action[name])
    return action


def _decode_tcp_socket(value: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    action: dict[str, Any] = current if current is not None else {"port": 0, "host": ""}
    for name, v in _fields(value, ("port", "host")):
        if name == "port":
            action["port"] = _decode_int_or_string(v, action["port"])
        else:
            action["host"] = _decode_string(v, action["host"])
    return action


def _decode_grpc(value: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    action: dict[str, Any] = current if current is not None else {"port": 0, "service": None}
    for name, v in _fields(value, ("port", "service")):
        if name == "port":
            action["port"] = _decode_int32(v, action["port"])
        else:
            action["service"] = None if v is None else _decode_string(v, "")
    return action


def _decode_prober(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    prober: dict[str, Any] = {"httpGet": None, "tcpSocket": None, "grpc": None, "timeoutSeconds": 0}
    for name, v in _fields(value, ("httpGet", "tcpSocket", "grpc", "timeoutSeconds")):
        if name == "httpGet":
            prober["httpGet"] = _decode_http_get(v, prober["httpGet"])
        elif name == "tcpSocket":
            prober["tcpSocket"] = _decode_tcp_socket(v, prober["tcpSocket"])
        elif name == "grpc":
            prober["grpc"] = _decode_grpc(v, prober["grpc"])
        else:
            prober["timeoutSeconds"] = _decode_int32(v, prober["timeoutSeconds"])
    return prober


def _decode_probers(text: str) -> dict[str, dict[str, Any] | None]:
    """``json.Unmarshal`` into ``KubeAppProbers``; raises _DecodeError where Go returns an error."""
    data = _parse_json(text)
    if data is None:
        return {}
    if not isinstance(data, _Object):
        raise _DecodeError("cannot unmarshal into KubeAppProbers")
    # A map element is decoded afresh for every key, so a repeated key keeps only its last value.
    return {key: _decode_prober(value) for key, value in data}


def merge_or_append_probers(
    previously_injected: bool, env: list[dict[str, Any]] | None, probers: str
) -> list[dict[str, Any]]:
    """``mergeOrAppendProbers``: the sidecar's new env list.

    On re-injection the probers already in ``ISTIO_KUBE_APP_PROBERS`` win over the new ones; if either JSON
    does not decode, the env is returned unchanged (Istio logs the error).
    """
    env = list(env or [])
    entry = {"name": KUBE_APP_PROBERS_ENV, "value": probers}
    if not previously_injected:
        return [*env, entry]
    for i, var in enumerate(env):
        if var.get("name") == KUBE_APP_PROBERS_ENV:
            try:
                existing = _decode_probers(_str(var.get("value")))
                merged = _decode_probers(probers)
            except _DecodeError:
                return env
            merged.update(existing)
            env[i] = {"name": KUBE_APP_PROBERS_ENV, "value": _encode_probers(merged)}
            return env
    return [*env, entry]


def apply_rewrite(pod: dict[str, Any], rewrite_default: bool, status_port: int) -> None:
    """``applyRewrite``: records the app probers on the sidecar and rewrites the probes, in place.

    ``rewrite_default`` is ``sidecarInjectorWebhook.rewriteAppHTTPProbe`` from the values; ``status_port``
    the mesh's default status port. Nothing happens when the pod has no ``istio-proxy`` container.
    """
    sidecar = find_sidecar(pod)
    if sidecar is None:
        return
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if not should_rewrite(annotations, rewrite_default):
        return
    probers = dump_app_probers(pod, status_port)
    if probers:
        sidecar["env"] = merge_or_append_probers(SIDECAR_STATUS_ANNOTATION in annotations, sidecar.get("env"), probers)
    rewrite_probes(pod, annotations, status_port)
