"""Istio's injection template functions, with Istio's behaviour (``pkg/kube/inject/template.go``).

Istio parses its injection templates with Sprig's text function map overlaid by its own functions
(:data:`MESH_FUNCS`); :func:`injection_funcs` builds that merged map. Where Istio's function logs a warning
and returns a fallback (``fromJSON`` returns the string ``"{}"``, ``toYaml`` returns ``""``), so do these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import structlog

from meshinject.gotemplate import gofmt, gojson, goyaml
from meshinject.gotemplate._values import MISSING, GoObject
from meshinject.gotemplate.datamodel import (
    GoStruct,
    ProtoMessage,
    StructFields,
    TypedMap,
    go_duration_string,
    go_json_compact,
)
from meshinject.gotemplate.errors import FuncError
from meshinject.gotemplate.funcs import go_func

from .model import CONTAINER, DEFAULT_PROXY_CONFIG, MESH_CONFIG, OBJECT_META, PROXY_CONFIG

__all__ = ["MESH_FUNCS", "injection_funcs"]

_log = structlog.get_logger(__name__)

# Go's unicode.IsSpace for strings.TrimSpace.
_GO_SPACE: Final = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def _trim_space(s: str) -> str:
    return s.strip(_GO_SPACE)


def _string_map(items: Mapping[str, str] | Iterable[tuple[str, str]], *, is_nil: bool = False) -> TypedMap:
    return TypedMap(items, "map[string]string", "", is_nil=is_nil)


def _as_string_map(value: Any, fname: str) -> Mapping[str, Any]:
    """A ``map[string]string`` argument (nil is an empty map)."""
    if value is None or value is MISSING:
        return {}
    if isinstance(value, Mapping):
        return value
    raise FuncError(f"wrong type for value; expected map[string]string; got {gofmt.type_name(value)}")


def _containers(value: Any) -> list[GoStruct]:
    """A ``[]corev1.Container`` argument: wrapped containers or their JSON."""
    if value is None or value is MISSING:
        return []
    if not isinstance(value, list | tuple):
        raise FuncError(f"wrong type for value; expected []v1.Container; got {gofmt.type_name(value)}")
    out: list[GoStruct] = []
    for c in value:
        if isinstance(c, GoStruct):
            out.append(c)
        elif isinstance(c, Mapping):
            out.append(CONTAINER.new(c))
        else:
            raise FuncError(f"wrong type for value; expected []v1.Container; got {gofmt.type_name(value)}")
    return out


# ------------------------------------------------------------------------------------------------------------
# The functions


@go_func("any")
def format_duration(value: Any) -> str:
    """formatDuration: a ``*durationpb.Duration`` as Go's ``time.Duration`` text (nil is ``0s``)."""
    if value is None or value is MISSING:
        return "0s"
    if not isinstance(value, ProtoMessage) or value.mtype.wkt != "Duration":
        raise FuncError(f"wrong type for value; expected *durationpb.Duration; got {gofmt.type_name(value)}")
    return go_duration_string(int(value.as_duration()))


@go_func("map", "string")
def isset(m: Any, key: str) -> bool:
    """isset: whether the map has the key (even with an empty value)."""
    return key in _as_string_map(m, "isset")


@go_func("any", "string")
def exclude_inbound_port(port: Any, excluded_inbound_ports: str) -> str:
    """excludeInboundPort: add ``port`` to a comma-separated list unless it is already there (or 0/empty)."""
    port_str = _trim_space(gofmt.sprint(port))
    if not port_str or port_str == "0":
        return excluded_inbound_ports
    out: list[str] = []
    for p in excluded_inbound_ports.split(","):
        # Istio compares before trimming: " 15020" does not match 15020.
        if p == port_str:
            return excluded_inbound_ports
        p = _trim_space(p)
        if p:
            out.append(p)
    out.append(port_str)
    return ",".join(out)


def _container_ports(containers: Sequence[GoStruct], include: Callable[[GoStruct], bool]) -> str:
    parts: list[str] = []
    for c in containers:
        if not include(c):
            continue
        for p in c.go_field("Ports"):
            if p.go_field("Protocol") in ("UDP", "SCTP"):
                continue
            parts.append(str(int(p.go_field("ContainerPort"))))
    return ",".join(parts)


@go_func("any")
def include_inbound_ports(containers: Any) -> str:
    """includeInboundPorts: the TCP container ports of every container, comma-separated."""
    return _container_ports(_containers(containers), lambda c: True)


@go_func("any")
def application_ports(containers: Any) -> str:
    """applicationPorts: like includeInboundPorts, without the ``istio-proxy`` container."""
    return _container_ports(_containers(containers), lambda c: c.go_field("Name") != "istio-proxy")


@go_func("string")
def kubevirt_interfaces(s: str) -> str:
    return s


@go_func("string")
def exclude_interfaces(s: str) -> str:
    return s


def _annotations_of(meta: Any) -> Mapping[str, Any]:
    if isinstance(meta, GoStruct) and meta.stype is OBJECT_META:
        annotations: Mapping[str, Any] = meta.go_field("Annotations")
        return annotations
    if isinstance(meta, Mapping) and not isinstance(meta, GoObject):
        return OBJECT_META.new(meta).go_field("Annotations")  # type: ignore[no-any-return]
    raise FuncError(f"wrong type for value; expected v1.ObjectMeta; got {gofmt.type_name(meta)}")


@go_func("any", "string", "any")
def annotation(meta: Any, name: str, default_value: Any) -> str:
    """annotation: the pod annotation ``name``, else ``fmt.Sprint(default)`` (nil gives ``<nil>``)."""
    annotations = _annotations_of(meta)
    if name in annotations:
        return str(annotations[name])
    return gofmt.sprint(default_value)


@go_func("any", "any")
def value_or_default(value: Any, default_value: Any) -> Any:
    """valueOrDefault: ``default`` when ``value`` is nil or the empty string."""
    if value is None or value is MISSING or (isinstance(value, str) and value == ""):
        return default_value
    return value


@go_func("map")
def to_json(m: Any) -> str:
    """toJSON: a ``map[string]string`` as JSON (``{}`` for nil)."""
    if m is None or m is MISSING or (isinstance(m, TypedMap) and m.is_nil):
        return "{}"
    try:
        return gojson.marshal(_as_string_map(m, "toJSON"))
    except FuncError as err:
        _log.warning("Unable to marshal", value=gofmt.sprint(m), error=str(err))
        return "{}"


@go_func("string")
def from_json(j: str) -> Any:
    """fromJSON: decode JSON into ``interface{}``; on error Istio logs and returns the string ``"{}"``."""
    try:
        return gojson.unmarshal(j)
    except FuncError:
        _log.warning("Unable to unmarshal", value=j)
        return "{}"


@go_func("any")
def struct_to_json(v: Any) -> str:
    """structToJSON: ``encoding/json`` of any value (``{}`` for nil or on error)."""
    if v is None or v is MISSING:
        return "{}"
    try:
        return gojson.marshal(v)
    except FuncError:
        _log.warning("Unable to marshal", value=gofmt.sprint(v))
        return "{}"


# ProxyConfig fields Istio clears when equal to its built-in defaults (cleanProxyConfig), by proto-JSON name.
_CLEANED_FIELDS: Final = (
    "configPath",
    "binaryPath",
    "controlPlaneAuthPolicy",
    "serviceCluster",
    "drainDuration",
    "terminationDrainDuration",
    "discoveryAddress",
    "envoyMetricsService",
    "envoyAccessLogService",
    "tracing",
    "proxyAdminPort",
    "statNameLength",
    "statusPort",
    "concurrency",
)
_default_proxy_json: StructFields | None = None


def _defaults_json() -> StructFields:
    global _default_proxy_json
    if _default_proxy_json is None:
        data = PROXY_CONFIG.new(DEFAULT_PROXY_CONFIG).pb_json_data()
        assert isinstance(data, StructFields)
        _default_proxy_json = data
    return _default_proxy_json


@go_func("any")
def proto_to_json(v: Any) -> str:
    """protoToJSON: compact proto-JSON (legacy jsonpb) of a message; ProxyConfig loses its default fields."""
    if v is None or v is MISSING:
        return "{}"
    if not isinstance(v, ProtoMessage):
        raise FuncError(f"wrong type for value; expected protoiface.MessageV1; got {gofmt.type_name(v)}")
    if v.data is None:
        return "{}"
    data = v.pb_json_data()
    if v.mtype is PROXY_CONFIG:
        # Clearing a field equal to the default removes it from the output, as the proto3 zero value it
        # becomes is not written; comparing the proto-JSON forms is proto.Equal for these fields.
        assert isinstance(data, StructFields)
        defaults = _defaults_json()
        data = StructFields((k, x) for k, x in data.items() if not (k in _CLEANED_FIELDS and defaults.get(k) == x))
    return go_json_compact(data)


@go_func("any")
def to_yaml(value: Any) -> str:
    """toYaml: ``sigs.k8s.io/yaml`` output, trailing newline kept (unlike Sprig's); ``""`` on error."""
    try:
        return goyaml.marshal(None if value is MISSING else value)
    except (goyaml.GoYAMLError, FuncError):
        _log.warning("Unable to marshal", value=gofmt.sprint(value))
        return ""


@go_func("int", "string")
def indent(spaces: int, source: str) -> str:
    """indent: pad every line but the first with ``|spaces|`` spaces (Istio's variant; Sprig's pads all)."""
    pad = " " * abs(int(spaces))
    lines = source.split("\n")
    return "\n".join([lines[0], *(pad + line for line in lines[1:])])


@go_func("string")
def directory(filepath: str) -> str:
    """directory: the path up to and including its last ``/`` (``path.Split``)."""
    return filepath[: filepath.rfind("/") + 1]


@go_func("string", "string")
def flipped_contains(needle: str, haystack: str) -> bool:
    """contains: whether ``haystack`` contains ``needle`` (needle first, as Sprig's)."""
    return needle in haystack


@go_func("string")
def to_lower(s: str) -> str:
    """toLower: Go's ``strings.ToLower`` (rune by rune)."""
    if s.isascii():
        return s.lower()
    return "".join("i" if c == "\u0130" else (c.lower() if len(c.lower()) == 1 else c) for c in s)


def _split_qualified_name(s: str) -> tuple[str, str]:
    parts = s.split("/")
    if len(parts) < 2:
        return "", s
    return parts[0], parts[1]


@go_func("string", "string")
def append_multus_network(existing_value: str, istio_cni_network: str) -> str:
    """appendMultusNetwork: add the Istio CNI network to a Multus ``k8s.v1.cni.cncf.io/networks`` value."""
    if existing_value == "":
        return istio_cni_network
    i = existing_value.rfind("]")
    if i != -1:
        try:
            networks = gojson.unmarshal(existing_value)
            if networks is None:
                # JSON null decodes into a nil slice without error.
                networks = []
            if not isinstance(networks, list) or not all(n is None or isinstance(n, dict) for n in networks):
                raise FuncError("json: cannot unmarshal into Go value of type []map[string]interface {}")
        except FuncError as err:
            _log.warning("Unable to unmarshal Multus Network annotation JSON value", error=str(err))
            return existing_value
        ns_name, name = _split_qualified_name(istio_cni_network)
        for net in networks:
            net = net or {}
            if net.get("name") == name:
                ns = net.get("namespace")
                if ns is None:
                    ns = ""
                if ns == ns_name:
                    return existing_value
        if ns_name == "":
            addition = f', {{"name": "{name}"}}'
        else:
            addition = f', {{"name": "{name}", "namespace": "{ns_name}"}}'
        return existing_value[:i] + addition + existing_value[i:]
    for net in existing_value.split(","):
        if _trim_space(net) == istio_cni_network:
            return existing_value
    return existing_value + ", " + istio_cni_network


@go_func("string", "string")
def env(key: str, default: str) -> str:
    """env: the istiod environment variable ``key``, or ``default`` when unset or empty."""
    return os.environ.get(key) or default


@go_func("map", variadic="string")
def omit(d: Any, *keys: str) -> TypedMap:
    """omit: a copy of a ``map[string]string`` without ``keys``."""
    drop = set(keys)
    return _string_map({k: v for k, v in _as_string_map(d, "omit").items() if k not in drop})


@go_func(variadic="string")
def strdict(*v: str) -> TypedMap:
    """strdict: Sprig's ``dict`` for strings; a key without a value maps to ``""``."""
    out: dict[str, str] = {}
    for i in range(0, len(v), 2):
        out[v[i]] = v[i + 1] if i + 1 < len(v) else ""
    return _string_map(out)


@go_func(variadic="map")
def merge_maps(*maps: Any) -> TypedMap:
    """mergeMaps: later maps win; no argument gives a nil map."""
    if not maps:
        return _string_map({}, is_nil=True)
    out: dict[str, Any] = {}
    for m in maps:
        out.update(_as_string_map(m, "mergeMaps"))
    return _string_map(out)


@go_func(variadic="map")
def to_json_map(*maps: Any) -> str:
    """toJsonMap: JSON of the merged maps (``null`` for no argument)."""
    merged = merge_maps(*maps)
    if merged.is_nil:
        return "null"
    try:
        return gojson.marshal(merged)
    except FuncError:
        return ""


def _omit_nil(v: Any) -> tuple[Any, bool]:
    """Istio's omitNilInternal: the value without nils, and whether anything changed."""
    if v is None or v is MISSING:
        return None, True
    # Only the decoded-JSON types are walked (map[string]interface{} and []interface{}).
    if type(v) is dict:
        if any(_omit_nil(x)[1] for x in v.values()):
            out = {}
            for k, x in v.items():
                f = _omit_nil(x)[0]
                if f is not None:
                    out[k] = f
            return (out or None), True
        return v, False
    if type(v) is list:
        for i, x in enumerate(v):
            if _omit_nil(x)[1]:
                kept = list(v[:i])
                for y in v[i:]:
                    f = _omit_nil(y)[0]
                    if f is not None:
                        kept.append(f)
                return (kept or None), True
        return v, False
    return v, False


@go_func("any")
def omit_nil(v: Any) -> Any:
    """omitNil: remove nil values from maps and lists, recursively; what becomes empty becomes nil."""
    return _omit_nil(v)[0]


def _parse_image_tag_digest(image: str) -> tuple[str, str]:
    tag = digest = ""
    at = image.find("@")
    if at >= 0:
        digest = image[at + 1 :]
        image = image[:at]
    if image.rfind(":") > image.rfind("/"):
        tag = image[image.rfind(":") + 1 :]
    return tag, digest


@go_func("any", "map", "map", "string", "any")
def otel_resource_attributes(mc: Any, annotations: Any, labels: Any, namespace: str, containers: Any) -> str:
    """otelResourceAttributes: ``OTEL_RESOURCE_ATTRIBUTES`` when an OpenTelemetry provider asks for the
    OTel semantic conventions (``service.namespace``, ``service.version``, ``service.instance.id``), else
    ``""``."""
    if mc is None or mc is MISSING:
        mesh = MESH_CONFIG.new(None)
    elif isinstance(mc, ProtoMessage):
        mesh = mc
    elif isinstance(mc, Mapping):
        mesh = MESH_CONFIG.new(mc)
    else:
        raise FuncError(f"wrong type for value; expected *v1alpha1.MeshConfig; got {gofmt.type_name(mc)}")
    wanted = False
    for ep in _call(mesh, "GetExtensionProviders"):
        otel = _call(ep, "GetOpentelemetry")
        if otel.go_truth() and _call(otel, "GetServiceAttributeEnrichment").name == "OTEL_SEMANTIC_CONVENTIONS":
            wanted = True
            break
    if not wanted:
        return ""
    ann = _as_string_map(annotations, "otelResourceAttributes")
    lab = _as_string_map(labels, "otelResourceAttributes")
    conts = _containers(containers)
    attrs: list[str] = []
    if ann.get("resource.opentelemetry.io/service.namespace"):
        attrs.append("service.namespace=" + ann["resource.opentelemetry.io/service.namespace"])
    elif namespace:
        attrs.append("service.namespace=" + namespace)
    if ann.get("resource.opentelemetry.io/service.version"):
        attrs.append("service.version=" + ann["resource.opentelemetry.io/service.version"])
    elif lab.get("app.kubernetes.io/version"):
        attrs.append("service.version=" + lab["app.kubernetes.io/version"])
    elif len(conts) == 1:
        tag, digest = _parse_image_tag_digest(conts[0].go_field("Image"))
        if tag and digest:
            attrs.append(f"service.version={tag}@{digest}")
        elif digest:
            attrs.append("service.version=" + digest)
        elif tag:
            attrs.append("service.version=" + tag)
    if ann.get("resource.opentelemetry.io/service.instance.id"):
        attrs.append("service.instance.id=" + ann["resource.opentelemetry.io/service.instance.id"])
    elif conts:
        attrs.append(f"service.instance.id={namespace}.$(POD_NAME).{conts[0].go_field('Name')}")
    return ",".join(attrs)


def _call(obj: GoObject, method: str) -> Any:
    fn = obj.go_method(method)
    assert fn is not None, method
    return fn()


#: Istio's own template functions (``InjectionFuncmap``), overlaid on Sprig's.
MESH_FUNCS: Final[Mapping[str, Callable[..., Any]]] = {
    "formatDuration": format_duration,
    "isset": isset,
    "excludeInboundPort": exclude_inbound_port,
    "includeInboundPorts": include_inbound_ports,
    "kubevirtInterfaces": kubevirt_interfaces,
    "excludeInterfaces": exclude_interfaces,
    "applicationPorts": application_ports,
    "annotation": annotation,
    "valueOrDefault": value_or_default,
    "toJSON": to_json,
    "fromJSON": from_json,
    "structToJSON": struct_to_json,
    "protoToJSON": proto_to_json,
    "toYaml": to_yaml,
    "indent": indent,
    "directory": directory,
    "contains": flipped_contains,
    "toLower": to_lower,
    "appendMultusNetwork": append_multus_network,
    "env": env,
    "omit": omit,
    "strdict": strdict,
    "toJsonMap": to_json_map,
    "mergeMaps": merge_maps,
    "omitNil": omit_nil,
    "otelResourceAttributes": otel_resource_attributes,
}

_merged: dict[str, Callable[..., Any]] | None = None


def injection_funcs() -> dict[str, Callable[..., Any]]:
    """Sprig's text functions overlaid with :data:`MESH_FUNCS`, as Istio builds its injection func map."""
    global _merged
    if _merged is None:
        from meshinject.gotemplate.sprig import SPRIG_FUNCS

        _merged = {**SPRIG_FUNCS, **MESH_FUNCS}
    return dict(_merged)
