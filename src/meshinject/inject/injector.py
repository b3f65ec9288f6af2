"""The injection pipeline, as pure functions over pods in their Kubernetes JSON form.

``inject_pod`` is the equivalent of Istio's ``injectPod``: validate annotations, strip a previous injection,
render the selected templates, strategic-merge each onto the pod, re-apply user overrides of the injected
containers, post-process (cluster env, Prometheus merge, probe rewrite, status annotation, container order) and
return the injected pod together with the RFC 6902 patch from the original.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshinject.gotemplate import ExecError, Template, gojson
from meshinject.gotemplate.datamodel import GoStruct, ProtoMessage, ReadLog, ReadTree, traced

from . import jsonpatch, probes, prometheus
from .config import InjectorConfig
from .model import inbound_traffic_policy_mode, json_numbers_as_float, sidecar_template_data
from .model import mesh_config as mesh_config_message
from .podutil import PROXY_CONTAINER, clone, find_container, find_sidecar
from .quantity import QuantityError, canonical_quantity
from .resolve import (
    PROXY_CONFIG_ANNOTATION,
    ProxyConfigError,
    openshift_proxy_ids,
    overlay_proxy_config,
    parse_proxy_config_annotation,
)
from .strategicmerge import PatchCopies, StrategicMergeError, merge_pod
from .validate import AnnotationError, validate_annotations

INIT_CONTAINER = "istio-init"
VALIDATION_CONTAINER = "istio-validation"
CORE_DUMP_CONTAINER = "enable-core-dump"
AUTO_IMAGE = "auto"

STATUS_ANNOTATION = "sidecar.istio.io/status"
OVERRIDES_ANNOTATION = "proxy.istio.io/overrides"
TEMPLATES_ANNOTATION = "inject.istio.io/templates"
NATIVE_SIDECAR_ANNOTATION = "sidecar.istio.io/nativeSidecar"
NETWORK_LABEL = "topology.istio.io/network"


class InjectionError(Exception):
    """Injection failed; the pod must be denied. The message says what is wrong and where."""


@dataclass(slots=True)
class InjectionParams:
    """Everything one injection needs besides the configuration."""

    pod: dict[str, Any]
    config: InjectorConfig
    #: the revision the templates see (``.Revision``) and the status annotation records
    revision: str
    proxy_config: dict[str, Any]
    mesh: Mapping[str, Any]
    type_meta: dict[str, str]
    deploy_meta: dict[str, str]
    native_sidecars: bool = False
    #: the pod's Namespace object (OpenShift UID/GID ranges), when known
    namespace: Mapping[str, Any] | None = None
    #: proxy environment overrides from the webhook URL path (``/inject/cluster/c1/net/n1``)
    proxy_envs: dict[str, str] = field(default_factory=dict)
    #: default template list (kube-inject always uses ``["sidecar"]``)
    default_templates: Sequence[str] = ("sidecar",)
    aliases: Mapping[str, Sequence[str]] = field(default_factory=dict)
    injected_annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class InjectionResult:
    pod: dict[str, Any]
    patch: list[dict[str, Any]]


# -- containers ---------------------------------------------------------------------------------------


def _modify(containers: list[dict[str, Any]], name: str, where: str) -> list[dict[str, Any]]:
    rest = [c for c in containers if c.get("name") != name]
    match = next((c for c in containers if c.get("name") == name), None)
    if match is None:
        return rest
    if where == "first":
        return [match, *rest]
    if where == "last":
        return [*rest, match]
    return rest


# -- previous injections --------------------------------------------------------------------------------


def injection_status(pod: Mapping[str, Any]) -> dict[str, Any] | None:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(STATUS_ANNOTATION)
    if value is None:
        return None
    try:
        status = gojson.unmarshal(value)
    except Exception:
        return None
    return status if isinstance(status, dict) else None


def strip_pod(pod: dict[str, Any], mesh: Mapping[str, Any]) -> dict[str, Any]:
    """Remove what a previous injection added, so re-injection is idempotent (never doubles the sidecar)."""
    status = injection_status(pod)
    if status is None:
        return pod
    pod = clone(pod)
    spec = pod.setdefault("spec", {})
    for name in status.get("containers") or []:
        if "containers" in spec:
            spec["containers"] = _modify(spec["containers"], name, "remove")
    for name in status.get("initContainers") or []:
        if "initContainers" in spec:
            spec["initContainers"] = _modify(spec["initContainers"], name, "remove")
    annotations = pod.setdefault("metadata", {}).get("annotations") or {}
    target = str(int((mesh.get("defaultConfig") or {}).get("statusPort") or 0))
    current = prometheus.get_prometheus_port(pod)
    if current is not None and current == target:
        prometheus.clear_prometheus_annotations(pod)
    annotations.pop(STATUS_ANNOTATION, None)
    return pod


def reinsert_overrides(pod: dict[str, Any]) -> dict[str, Any]:
    """Put back user containers recorded in ``proxy.istio.io/overrides`` that a strip removed."""
    raw = ((pod.get("metadata") or {}).get("annotations") or {}).get(OVERRIDES_ANNOTATION)
    if raw is None:
        return pod
    overrides = _parse_overrides(raw)
    pod = clone(pod)
    spec = pod.setdefault("spec", {})
    for key in ("containers", "initContainers"):
        for c in overrides.get(key) or []:
            if find_container(c.get("name", ""), spec.get(key)) is None:
                spec.setdefault(key, []).append(c)
    return pod


def _parse_overrides(raw: str) -> dict[str, Any]:
    try:
        value = gojson.unmarshal(raw)
    except Exception as err:
        raise InjectionError(f"annotation {OVERRIDES_ANNOTATION} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise InjectionError(f"annotation {OVERRIDES_ANNOTATION} must be a JSON object")
    return _ints(value)  # type: ignore[no-any-return]


def _ints(value: Any) -> Any:
    """JSON numbers decoded as float64 back to ints where integral (Kubernetes fields are integers)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


# -- rendering ------------------------------------------------------------------------------------------


class _Fragment:
    """One rendered template text, parsed once: the YAML fragment and what the pipeline derives from it alone.

    Everything here is shared by every injection that renders the same text and must never be changed: the
    strategic merge only reads its patch and builds its result from copies. Derived values are computed on
    first use; two threads may both compute one, and each stores a complete value in one assignment.
    """

    __slots__ = ("_alone", "_prepared", "_prepared_done", "value")

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value
        self._alone: dict[str, Any] | None = None
        self._prepared: tuple[dict[str, Any], PatchCopies] | None = None
        self._prepared_done = False

    def alone(self, what: str) -> dict[str, Any]:
        """The fragment merged onto an empty pod (the template pod of a single template)."""
        alone = self._alone
        if alone is None:
            alone = self._alone = _merge({}, self.value, what)
        return alone

    def prepared(self) -> tuple[dict[str, Any], PatchCopies] | None:
        """The fragment with its resource quantities already canonical, and its prepared copies; or None.

        Merged onto a pod that is already typed, such a patch gives a typed result at once (see
        :func:`_merge_fragment`); None (an unusual fragment) means the merge must be typed afterwards.
        """
        if self._prepared_done:
            return self._prepared
        prepared: tuple[dict[str, Any], PatchCopies] | None
        try:
            clean = _clean_patch(self.value, "")
            prepared = (clean, PatchCopies(clean))
        except _Unclean:
            prepared = None
        self._prepared = prepared
        self._prepared_done = True
        return prepared


class _RenderCache:
    """Parsed template output keyed by the rendered text: replicas of one workload render the same YAML."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[str, _Fragment] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def parse(self, text: str, template_name: str) -> _Fragment:
        with self._lock:
            hit = self._items.get(text)
            if hit is not None:
                self._items.move_to_end(text)
                return hit
        try:
            value = yaml.load(text, Loader=yaml.CSafeLoader)
        except yaml.YAMLError as err:
            raise InjectionError(
                f"template {template_name!r} rendered invalid YAML (check the injector configuration): {err}"
            ) from None
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise InjectionError(f"template {template_name!r} must render a Pod fragment (a YAML mapping)")
        fragment = _Fragment(value)
        with self._lock:
            self._items[text] = fragment
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return fragment


_render_cache = _RenderCache()


# Template functions whose result is not a function of the template's inputs: never cache such a render.
_IMPURE_FUNCS = re.compile(
    r"rand[A-Z]\w*|randInt|uuidv4|now|ago|date\w*|unixEpoch|htmlDate\w*|env|expandenv|gen\w+|"
    r"derivePassword|bcrypt|htpasswd|shuffle|getHostByName|encryptAES"
)
# Functions that change a map in place: a template using them could change what it reads after reading it (a
# recorded read would no longer describe the input) or change ``.Values`` for the next injection.
_MUTATING_FUNCS = frozenset({"set", "unset", "merge", "mergeOverwrite", "mustMerge", "mustMergeOverwrite"})


def _is_pure(template: Template) -> bool:
    return not any(_IMPURE_FUNCS.fullmatch(name) for name in template.function_names())


def _mutates(template: Template) -> bool:
    return not _MUTATING_FUNCS.isdisjoint(template.function_names())


class _Renders:
    """Rendered template text keyed by exactly what each render read from the template data.

    Replicas of one workload differ in their names, the generated service-account volume name and little else,
    none of which a sidecar template reads; so one render serves every replica, and a pod that differs in
    something the template does read gets its own render. Each template of each configuration has a
    :class:`ReadTree` of its renders; ``.Values`` is not recorded as it is part of the configuration (its
    fingerprint is in the key). Templates that call impure or map-mutating functions are never cached.
    """

    def __init__(self, max_templates: int = 64) -> None:
        self._trees: OrderedDict[tuple[bytes, str], ReadTree] = OrderedDict()
        self._cacheable: dict[int, tuple[Template, bool]] = {}
        self._lock = threading.Lock()
        self._max = max_templates

    def cacheable(self, template: Template) -> bool:
        known = self._cacheable.get(id(template))
        if known is not None and known[0] is template:
            return known[1]
        flag = _is_pure(template) and not _mutates(template)
        with self._lock:
            if len(self._cacheable) >= 4 * self._max:
                self._cacheable.clear()
            self._cacheable[id(template)] = (template, flag)
        return flag

    def tree(self, key: tuple[bytes, str]) -> ReadTree:
        tree = self._trees.get(key)
        if tree is None:
            with self._lock:
                tree = self._trees.get(key)
                if tree is None:
                    tree = self._trees[key] = ReadTree()
                    if len(self._trees) > self._max:
                        self._trees.popitem(last=False)
        return tree

    def remember(self, tree: ReadTree, log: ReadLog, rendered: str) -> None:
        with self._lock:
            tree.insert(log, rendered)


_renders = _Renders()


_go_values_cache: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _go_values(values: Mapping[str, Any]) -> Any:
    """``.Values`` as Go decodes it (numbers as float64), converted once per configuration and shared.

    Only for templates that cannot change a map in place (see :data:`_MUTATING_FUNCS`): they read it only.
    """
    hit = _go_values_cache.get(id(values))
    if hit is not None and hit[0] is values:
        return hit[1]
    converted = json_numbers_as_float(values)
    if len(_go_values_cache) >= 8:
        _go_values_cache.clear()
    _go_values_cache[id(values)] = (values, converted)
    return converted


def _execute(name: str, template: Template, data: Any) -> str:
    try:
        return template.execute(data)
    except ExecError as err:
        raise InjectionError(f"failed to render template {name!r}: {err}") from None


def _render(params: InjectionParams, name: str, template: Template, data: GoStruct) -> str:
    if not _renders.cacheable(template):
        return _execute(name, template, data)
    tree = _renders.tree((params.config.fingerprint, name))
    hit = tree.lookup(data.data)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    log = ReadLog(constant=("Values",))
    rendered = _execute(name, template, traced(data, log))
    _renders.remember(tree, log, rendered)
    return rendered


def _mesh_message(config: InjectorConfig) -> ProtoMessage:
    return mesh_config_message(config.mesh)


def _inbound_mode(config: InjectorConfig) -> str:
    return inbound_traffic_policy_mode(config.derived("mesh_message", _mesh_message))


def select_templates(pod: Mapping[str, Any], params: InjectionParams) -> list[str]:
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    names: Sequence[str]
    if TEMPLATES_ANNOTATION in annotations:
        names = [n.strip() for n in annotations[TEMPLATES_ANNOTATION].split(",")]
    else:
        names = params.default_templates
    out: list[str] = []
    for name in names:
        out.extend(params.aliases.get(name, (name,)))
    return out


def _typed(pod: dict[str, Any]) -> dict[str, Any]:
    """What a decode into Go's typed Pod does to the merged JSON: nulls vanish, quantities become canonical."""
    return _typed_value(pod, "")  # type: ignore[no-any-return]


_STRING_MAPS = frozenset({"labels", "annotations", "nodeSelector"})


def _typed_value(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key in _STRING_MAPS:
            return {k: ("" if v is None else v) for k, v in value.items()}
        if key == "resources":
            value = _canonical_resources(value)
        return {k: _typed_value(v, k) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_typed_value(v, key) for v in value]
    return value


def _canonical_resources(value: dict[str, Any]) -> dict[str, Any]:
    """``canonicalize_resources``, with each textual quantity parsed once per process.

    Every injection of one configuration canonicalises the same few proxy resource strings, and parsing a
    quantity costs more than the rest of the typed walk together.
    """
    try:
        result = dict(value)
        for key in _QUANTITY_LISTS:
            items = result.get(key)
            if isinstance(items, dict):
                result[key] = {
                    name: _canonical_text(v) if type(v) is str else canonical_quantity(v) for name, v in items.items()
                }
        return result
    except (QuantityError, ValueError, TypeError) as err:
        raise InjectionError(f"invalid resource quantity: {err}") from None


_QUANTITY_LISTS = ("limits", "requests")


@functools.lru_cache(maxsize=1024)
def _canonical_text(text: str) -> str:
    return canonical_quantity(text)


def _typed_in_place(value: Any, key: str) -> Any:
    """:func:`_typed_value` for a value the caller owns: changed in place where it differs, no copy.

    The merge builds a fresh document, so copying it once more just to drop nulls is wasted work; this walk
    allocates only where something changes and returns the same object otherwise.
    """
    kind = type(value)
    if kind is dict:
        if key in _STRING_MAPS:
            for k, v in value.items():
                if v is None:
                    value[k] = ""
            return value
        if key == "resources":
            value = _canonical_resources(value)
        dropped: list[Any] | None = None
        for k, v in value.items():
            vkind = type(v)
            if vkind is dict or vkind is list:
                typed = _typed_in_place(v, k)
                if typed is not v:
                    value[k] = typed
            elif v is None:
                if dropped is None:
                    dropped = [k]
                else:
                    dropped.append(k)
            elif isinstance(v, dict | list):
                value[k] = _typed_value(v, k)
        if dropped is not None:
            for k in dropped:
                del value[k]
        return value
    if kind is list:
        for i, v in enumerate(value):
            vkind = type(v)
            if vkind is dict or vkind is list:
                typed = _typed_in_place(v, key)
                if typed is not v:
                    value[i] = typed
            elif v is not None and isinstance(v, dict | list):
                value[i] = _typed_value(v, key)
        return value
    if isinstance(value, dict | list):
        return _typed_value(value, key)
    return value


def _merge(pod: dict[str, Any], fragment: dict[str, Any], what: str) -> dict[str, Any]:
    try:
        merged = merge_pod(pod, fragment)
    except StrategicMergeError as err:
        raise InjectionError(f"{what}: strategic merge failed: {err}") from None
    # The merge result is a fresh document (it shares no dict or list with its inputs).
    return _typed_in_place(merged, "")  # type: ignore[no-any-return]


class _Unclean(Exception):
    """A patch value that :func:`_clean_patch` cannot prepare exactly."""


def _clean_patch(value: Any, key: str) -> Any:
    """``value`` (a patch) with every quantity the typed decode would canonicalise already canonical.

    Only what :func:`_typed_value` changes in values a merge takes from a patch is done here: nulls stay (in a
    patch they delete), and so do directives. Raises :class:`_Unclean` for anything that would need more than
    that (a quantity that does not parse or is not a fixed point of canonicalisation, containers of unusual
    types), so the caller falls back to typing the merged result.
    """
    kind = type(value)
    if kind is dict:
        if key in _STRING_MAPS:
            return value  # the typed decode does not look inside these maps
        out: dict[Any, Any] = {}
        for k, v in value.items():
            vkind = type(v)
            if vkind is dict or vkind is list:
                out[k] = _clean_patch(v, k)
            elif isinstance(v, dict | list):
                raise _Unclean(k)
            else:
                out[k] = v
        if key == "resources":
            for k in _QUANTITY_LISTS:
                items = out.get(k)
                if isinstance(items, dict):
                    out[k] = {name: None if q is None else _clean_quantity(q) for name, q in items.items()}
        return out
    if kind is list:
        return [_clean_patch(v, key) for v in value]
    if isinstance(value, dict | list):
        raise _Unclean(key)
    return value


def _clean_quantity(value: Any) -> str:
    if type(value) not in (str, int, float):
        raise _Unclean(value)
    try:
        text = _canonical_text(value) if type(value) is str else canonical_quantity(value)
        if _canonical_text(text) != text:
            raise _Unclean(value)
    except (QuantityError, ValueError, TypeError):
        raise _Unclean(value) from None
    return text


def _typed_copy(value: Any, key: str) -> Any:
    """A deep copy of ``value`` when the typed decode would leave it as it is; raises :class:`_Unclean` if not.

    One walk instead of :func:`_typed_value` plus a comparison. Values inside the string maps (labels,
    annotations, node selector) must be scalars here: the typed decode would share a container there, and the
    copy must share nothing with ``value`` since the merge then works on it in place.
    """
    kind = type(value)
    if kind is dict:
        if key in _STRING_MAPS:
            for v in value.values():
                if v is None or isinstance(v, dict | list):
                    raise _Unclean(key)
            return dict(value)
        if key == "resources":
            try:
                if _canonical_resources(value) != value:
                    raise _Unclean(key)
            except InjectionError:
                raise _Unclean(key) from None
        out: dict[Any, Any] = {}
        for k, v in value.items():
            vkind = type(v)
            if vkind is str or vkind is int or vkind is bool or vkind is float:
                out[k] = v
            elif vkind is dict or vkind is list:
                out[k] = _typed_copy(v, k)
            elif v is None or isinstance(v, dict | list):
                raise _Unclean(k)
            else:
                out[k] = v
        return out
    if kind is list:
        items = value.copy()
        for i, v in enumerate(items):
            vkind = type(v)
            if vkind is dict or vkind is list:
                items[i] = _typed_copy(v, key)
            elif vkind is not str and isinstance(v, dict | list):
                raise _Unclean(key)
        return items
    if isinstance(value, dict | list):
        raise _Unclean(key)
    return value


def _merge_fragment(pod: dict[str, Any], parsed: _Fragment, what: str, *, owned_typed: bool) -> dict[str, Any]:
    """``_merge(pod, parsed.value)``, without the typed walk over the result when it cannot change anything.

    When ``pod`` is already typed (Go's decode would not change it) and the fragment's quantities are already
    canonical, the merged document is typed too: it holds only values from the typed pod and cleaned patch
    values, maps merge key by key and lists only reorder. ``owned_typed``: ``pod`` is a typed document this
    call may consume (the previous merge's result); otherwise a copy of it is made if it is typed, which also
    serves as the merge's working copy.
    """
    prepared = parsed.prepared()
    if prepared is not None:
        clean, copies = prepared
        base: dict[str, Any] | None = pod
        if not owned_typed:
            try:
                base = _typed_copy(pod, "")
            except _Unclean:
                base = None
        if base is not None:
            try:
                return merge_pod(base, clean, owned=True, copies=copies)
            except StrategicMergeError as err:
                raise InjectionError(f"{what}: strategic merge failed: {err}") from None
    return _merge(pod, parsed.value, what)


def run_templates(params: InjectionParams) -> tuple[dict[str, Any], dict[str, Any]]:
    """Render and merge the selected templates; returns (merged pod, pod of template output alone)."""
    pod = params.pod
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    try:
        validate_annotations(annotations)
    except AnnotationError as err:
        raise InjectionError(str(err)) from None

    values_global = params.config.values.get("global") or {}
    cluster = str((values_global.get("multiCluster") or {}).get("clusterName") or "")
    network = str(values_global.get("network") or "")
    cluster = params.proxy_envs.get("ISTIO_META_CLUSTER_ID") or cluster
    network = params.proxy_envs.get("ISTIO_META_NETWORK") or network
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if NETWORK_LABEL in labels:
        network = labels[NETWORK_LABEL]
    if cluster:
        params.proxy_envs["ISTIO_META_CLUSTER_ID"] = cluster
    if network:
        params.proxy_envs["ISTIO_META_NETWORK"] = network

    stripped = reinsert_overrides(strip_pod(pod, params.mesh))
    uid, gid = openshift_proxy_ids(params.namespace)
    templates = [(name, params.config.templates.get(name)) for name in select_templates(pod, params)]
    # .Values converted once per configuration, unless a template may change it in place.
    shared_values = not any(template is not None and _mutates(template) for _, template in templates)
    # The configuration's own mesh (the webhook's case, not kube-inject's per-pod one): its views are shared,
    # unless a template may change a map in place.
    config_mesh = shared_values and params.mesh is params.config.mesh
    data = sidecar_template_data(
        pod=stripped,
        type_meta=params.type_meta,
        deploy_meta=params.deploy_meta,
        proxy_config=params.proxy_config,
        mesh_config=params.config.derived("mesh_message", _mesh_message) if config_mesh else params.mesh,
        inbound_traffic_policy=params.config.derived("inbound_mode", _inbound_mode) if config_mesh else None,
        values=params.config.values,
        revision=params.revision,
        native_sidecars=params.native_sidecars,
        proxy_uid=uid,
        proxy_gid=gid,
        compliance_policy=params.config.compliance_policy,
        go_values=_go_values(params.config.values) if shared_values else None,
    )
    merged = pod
    # Whether ``merged`` is a typed document of our own (true after the first merge).
    owned_typed = False
    template_pod: dict[str, Any] = {}
    for name, template in templates:
        if template is None:
            known = ", ".join(sorted(params.config.templates))
            raise InjectionError(f"requested template {name!r} not found; have {known}")
        rendered = _render(params, name, template, data)
        parsed = _render_cache.parse(rendered, name)
        if template_pod:
            template_pod = _merge(template_pod, parsed.value, f"template {name!r}")
        else:
            template_pod = parsed.alone(f"template {name!r}")
        native = params.native_sidecars
        pod_native = ((merged.get("metadata") or {}).get("annotations") or {}).get(NATIVE_SIDECAR_ANNOTATION)
        if pod_native == "true":
            native = True
        elif pod_native == "false":
            native = False
        t_spec = template_pod.get("spec") or {}
        m_spec = merged.get("spec") or {}
        if (
            native
            and find_container(PROXY_CONTAINER, t_spec.get("initContainers")) is not None
            and find_container(PROXY_CONTAINER, m_spec.get("containers")) is not None
        ):
            # A user's istio-proxy customisation sits in containers, but the native sidecar lives in
            # initContainers: move it there so the template merges onto it.
            merged = clone(merged)
            spec = merged["spec"]
            proxy = find_container(PROXY_CONTAINER, spec["containers"])
            spec["containers"] = [c for c in spec["containers"] if c.get("name") != PROXY_CONTAINER]
            spec.setdefault("initContainers", []).append(proxy)
        merged = _merge_fragment(merged, parsed, f"template {name!r}", owned_typed=owned_typed)
        owned_typed = True
    if merged is pod:
        merged = clone(pod)  # no template at all: the caller's pod must still not be changed by post-processing
    return merged, template_pod


def reapply_overwritten_containers(
    final: dict[str, Any],
    original: dict[str, Any],
    template_pod: dict[str, Any],
    proxy_config: Mapping[str, Any],
) -> dict[str, Any]:
    """A container the user declared with an injected name (istio-proxy, istio-init) wins field by field."""
    annotations = (original.get("metadata") or {}).get("annotations") or {}
    existing = _parse_overrides(annotations[OVERRIDES_ANNOTATION]) if OVERRIDES_ANNOTATION in annotations else {}
    status = injection_status(original)
    already = STATUS_ANNOTATION in annotations
    previously = {
        "containers": list((status or {}).get("containers") or []),
        "initContainers": list((status or {}).get("initContainers") or []),
    }
    overrides: dict[str, list[dict[str, Any]]] = {"containers": [], "initContainers": []}
    o_spec = original.get("spec") or {}
    t_spec = template_pod.get("spec") or {}
    for key in ("containers", "initContainers"):
        for c in t_spec.get(key) or []:
            name = c.get("name", "")
            if name in previously[key]:
                continue
            match = find_container(name, existing.get(key))
            if match is None:
                if key == "containers":
                    match = find_container(name, o_spec.get("containers"))
                else:
                    match = find_container(name, o_spec.get("containers")) or find_container(
                        name, o_spec.get("initContainers")
                    )
            if match is None:
                continue
            overlay = clone(match)
            if overlay.get("image") == AUTO_IMAGE:
                overlay.pop("image", None)
            overrides[key].append(overlay)
            patch: dict[str, Any] = {"spec": {key: [overlay]}}
            final = _merge(final, patch, f"container override {name!r}")
    if not already and (overrides["containers"] or overrides["initContainers"]):
        final.setdefault("metadata", {}).setdefault("annotations", {})[OVERRIDES_ANNOTATION] = _overrides_json(
            overrides
        )
    _adjust_init_container_user(final, original, proxy_config)
    return final


def _overrides_json(overrides: Mapping[str, list[dict[str, Any]]]) -> str:
    from .kubetypes import container_json

    parts = []
    for key in ("containers", "initContainers"):
        if overrides[key]:
            items = ",".join(container_json(c) for c in overrides[key])
            parts.append(f'"{key}":[{items}]')
    return "{" + ",".join(parts) + "}"


def _adjust_init_container_user(
    final: dict[str, Any], original: dict[str, Any], proxy_config: Mapping[str, Any]
) -> None:
    user = find_sidecar(original)
    if user is None:
        return
    ctx = user.get("securityContext") or {}
    run_as_user = ctx.get("runAsUser")
    run_as_group = ctx.get("runAsGroup")
    if run_as_user is None and run_as_group is None:
        return
    spec = final.get("spec") or {}
    init = find_container(INIT_CONTAINER, spec.get("initContainers")) or find_container(
        VALIDATION_CONTAINER, spec.get("initContainers")
    )
    if init is None:
        return
    annotations = (final.get("metadata") or {}).get("annotations") or {}
    tproxy = (
        proxy_config.get("interceptionMode") == "TPROXY"
        or annotations.get("sidecar.istio.io/interceptionMode") == "TPROXY"
    )
    if tproxy and run_as_user is not None:
        sidecar = find_sidecar(final)
        if sidecar is not None:
            sidecar.setdefault("securityContext", {})["runAsUser"] = 0
    if not tproxy and init.get("name") == VALIDATION_CONTAINER:
        init_ctx = init.setdefault("securityContext", {})
        if run_as_user is not None:
            init_ctx["runAsUser"] = run_as_user
        if run_as_group is not None:
            init_ctx["runAsGroup"] = run_as_group
    if not run_as_user:
        return
    args = init.get("args") or []
    for i, arg in enumerate(args[:-1]):
        if arg == "-u":
            args[i + 1] = str(run_as_user)
            return


# -- post-processing ------------------------------------------------------------------------------------


# The status annotation by template pod (replicas share one: the parsed output of a cached render).
_status_memo: dict[tuple[int, str], tuple[Mapping[str, Any], str]] = {}


def _status_annotation(template_pod: Mapping[str, Any], revision: str) -> str:
    key = (id(template_pod), revision)
    hit = _status_memo.get(key)
    if hit is not None and hit[0] is template_pod:
        return hit[1]
    text = _status_text(template_pod, revision)
    if len(_status_memo) >= 64:
        _status_memo.clear()
    # The entry keeps the template pod alive, so its id cannot name another object while it is here.
    _status_memo[key] = (template_pod, text)
    return text


def _status_text(template_pod: Mapping[str, Any], revision: str) -> str:
    spec = template_pod.get("spec") or {}

    def names(key: str) -> list[str] | None:
        items = [str(i.get("name", "")) for i in spec.get(key) or []]
        return items or None

    # Go marshals Istio's SidecarInjectionStatus struct: fields in declaration order, empty lists as null.
    fields = (
        ("initContainers", names("initContainers")),
        ("containers", names("containers")),
        ("volumes", names("volumes")),
        ("imagePullSecrets", names("imagePullSecrets")),
        ("revision", revision or "default"),
    )
    return "{" + ",".join(f'"{key}":{_status_json(value)}' for key, value in fields) + "}"


# Names Kubernetes allows for containers and volumes need no JSON escaping, so they are written directly.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]*")


def _status_json(value: list[str] | str | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"' if _PLAIN_NAME.fullmatch(value) else gojson.marshal(value)
    # Every name is plain exactly when their concatenation is.
    if value and _PLAIN_NAME.fullmatch("".join(value)):
        return '["' + '","'.join(value) + '"]'
    return gojson.marshal(value)


def _update_cluster_envs(pod: dict[str, Any], envs: Mapping[str, str]) -> None:
    sidecar = find_sidecar(pod)
    if sidecar is None or not envs:
        return
    kept = [e for e in sidecar.get("env") or [] if e.get("name") not in envs]
    sidecar["env"] = kept + [{"name": k, "value": envs[k]} for k in sorted(envs)]


def _reorder(pod: dict[str, Any], params: InjectionParams) -> None:
    mesh_default = params.mesh.get("defaultConfig") or {}
    pod_annotation = (params.pod.get("metadata") or {}).get("annotations", {}).get(PROXY_CONFIG_ANNOTATION)
    if pod_annotation is not None:
        try:
            mesh_default = overlay_proxy_config(mesh_default, parse_proxy_config_annotation(pod_annotation))
        except ProxyConfigError as err:
            raise InjectionError(str(err)) from None
    values_proxy = (params.config.values.get("global") or {}).get("proxy") or {}
    hold = bool(mesh_default.get("holdApplicationUntilProxyStarts")) or bool(
        values_proxy.get("holdApplicationUntilProxyStarts")
    )
    spec = pod.setdefault("spec", {})
    if "containers" in spec and spec["containers"] is not None:
        spec["containers"] = _modify(spec["containers"], PROXY_CONTAINER, "first" if hold else "last")
    inits = spec.get("initContainers")
    if inits is None:
        return
    if find_container(PROXY_CONTAINER, inits) is not None:
        # Native sidecar: {istio-init|istio-validation} => istio-proxy => the rest, so init containers are meshed.
        for name in (CORE_DUMP_CONTAINER, PROXY_CONTAINER, VALIDATION_CONTAINER, INIT_CONTAINER):
            inits = _modify(inits, name, "first")
    else:
        # Validation first to block user containers; iptables setup last so earlier init containers have network.
        inits = _modify(inits, VALIDATION_CONTAINER, "first")
        inits = _modify(inits, INIT_CONTAINER, "last")
        inits = _modify(inits, CORE_DUMP_CONTAINER, "last")
    spec["initContainers"] = inits


def post_process(pod: dict[str, Any], template_pod: dict[str, Any], params: InjectionParams) -> None:
    meta = pod.setdefault("metadata", {})
    if meta.get("annotations") is None:
        meta["annotations"] = {}
    if meta.get("labels") is None:
        meta["labels"] = {}
    _update_cluster_envs(pod, params.proxy_envs)
    mesh_default = params.mesh.get("defaultConfig") or {}
    status_port = int(mesh_default.get("statusPort") or 0)
    merge_flag = params.mesh.get("enablePrometheusMerge")
    try:
        prometheus.apply_prometheus_merge(pod, merge_flag if isinstance(merge_flag, bool) else None, status_port)
    except prometheus.PrometheusMergeError as err:
        raise InjectionError(str(err)) from None
    prometheus.apply_secure_prometheus_annotation(pod)
    values_rewrite = (params.config.values.get("sidecarInjectorWebhook") or {}).get("rewriteAppHTTPProbe")
    if find_sidecar(pod) is not None and probes.should_rewrite(meta["annotations"], bool(values_rewrite)):
        prober = probes.dump_app_probers(pod, status_port)
        if prober:
            sidecar = find_sidecar(pod)
            assert sidecar is not None
            previously = STATUS_ANNOTATION in meta["annotations"]
            sidecar["env"] = probes.merge_or_append_probers(previously, sidecar.get("env") or [], prober)
        probes.rewrite_probes(pod, meta["annotations"], status_port)
    if "ISTIO_META_NETWORK" in params.proxy_envs:
        meta["labels"][NETWORK_LABEL] = params.proxy_envs["ISTIO_META_NETWORK"]
    meta["annotations"][STATUS_ANNOTATION] = _status_annotation(template_pod, params.revision)
    for key, value in params.injected_annotations.items():
        meta["annotations"][key] = value
    _reorder(pod, params)


def inject_pod(params: InjectionParams) -> InjectionResult:
    """Inject one pod; raises InjectionError (the pod must then be denied, never admitted half-injected)."""
    original = params.pod
    merged, template_pod = run_templates(params)
    merged = reapply_overwritten_containers(merged, original, template_pod, params.proxy_config)
    post_process(merged, template_pod, params)
    return InjectionResult(pod=merged, patch=jsonpatch.pod_patch(original, merged))
