"""Injector configuration: what a control plane keeps in ``istio-sidecar-injector[-<rev>]`` and ``istio[-<rev>]``.

An :class:`InjectorConfig` is immutable and holds the parsed templates, so a webhook can swap a whole new
configuration in one assignment. It is built from plain text (:func:`load_config_text`), which every source
reduces to: a bundle directory, the files of a mounted ConfigMap, or ConfigMaps read from a cluster (the cluster
layer reads them and calls :func:`from_configmap_data`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import yaml

from meshinject.gotemplate import ParseError, Template, gojson

from .templatefuncs import injection_funcs

T = TypeVar("T")

#: Namespaces the webhook never injects (Istio's IgnoredNamespaces plus kind's storage namespace).
DEFAULT_IGNORED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "local-path-storage")

NATIVE_SIDECAR_MODES = ("auto", "true", "false")


class ConfigError(ValueError):
    """The injector configuration cannot be used; the message names the source, the field and the fix."""


@dataclass(frozen=True, slots=True)
class InjectorConfig:
    """Everything the injector needs besides the pod: templates, policy, values, mesh config, flags."""

    templates: Mapping[str, Template]
    raw_templates: Mapping[str, str]
    default_templates: tuple[str, ...] = ("sidecar",)
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    policy: str = "enabled"
    never_inject_selector: tuple[Mapping[str, Any], ...] = ()
    always_inject_selector: tuple[Mapping[str, Any], ...] = ()
    injected_annotations: Mapping[str, str] = field(default_factory=dict)
    #: ``.Values`` as Go sees it: parsed from JSON into ``map[string]any`` (every number a float64)
    values: Mapping[str, Any] = field(default_factory=dict)
    #: the effective MeshConfig in proto-JSON form
    mesh: Mapping[str, Any] = field(default_factory=dict)
    #: Istio's built-in ProxyConfig defaults (base of ProxyConfig resolution in the webhook)
    default_proxy_config: Mapping[str, Any] = field(default_factory=dict)
    revision: str = ""
    native_sidecars: str = "auto"
    compliance_policy: str = ""
    platform: str = ""
    ignored_namespaces: tuple[str, ...] = DEFAULT_IGNORED_NAMESPACES
    #: where the configuration came from, for messages and logs
    source: str = "<memory>"
    #: a digest of everything above that templates can read (render caches key on it)
    fingerprint: bytes = field(default=b"", compare=False)
    #: values derived from this configuration alone, computed on first use (see :meth:`derived`)
    _derived: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        material = msgspec.json.encode(
            (
                sorted(self.raw_templates.items()),
                self.values,
                self.mesh,
                self.default_proxy_config,
                self.revision,
                self.native_sidecars,
                self.compliance_policy,
                self.platform,
            )
        )
        object.__setattr__(self, "fingerprint", hashlib.blake2b(material, digest_size=16).digest())

    def derived(self, name: str, compute: Callable[[InjectorConfig], T]) -> T:
        """``compute(self)``, computed once per configuration and shared: the result must never be changed.

        For values every injection would otherwise recompute from the configuration alone (the ProxyConfig
        base, the MeshConfig view). Two threads may both compute a value; either result is the same.
        """
        try:
            return self._derived[name]  # type: ignore[no-any-return]
        except KeyError:
            value = self._derived[name] = compute(self)
            return value

    def with_flags(self, **changes: Any) -> InjectorConfig:
        """A copy with some fields changed (revision, native_sidecars, ...), validated."""
        new = replace(self, **changes)
        if new.native_sidecars not in NATIVE_SIDECAR_MODES:
            raise ConfigError(f"native sidecars mode {new.native_sidecars!r} is not one of auto, true, false")
        return new


def parse_templates(raw: Mapping[str, str], *, source: str) -> dict[str, Template]:
    """Parse every template with Sprig and the mesh functions, as the control plane does on load."""
    funcs = injection_funcs()
    parsed: dict[str, Template] = {}
    for name, text in raw.items():
        if not isinstance(text, str):
            raise ConfigError(f"{source}: templates.{name} must be a string holding a Go template")
        try:
            parsed[name] = Template("inject", funcs=funcs).parse(text)
        except ParseError as err:
            raise ConfigError(f"{source}: templates.{name} does not parse: {err}") from None
    return parsed


def _selectors(value: Any, key: str, source: str) -> tuple[Mapping[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{source}: {key} must be a list of label selectors (matchLabels/matchExpressions)")
    return tuple(value)


def load_config_text(
    config_text: str,
    values_text: str,
    mesh_text: str = "",
    *,
    source: str,
    default_proxy_config: Mapping[str, Any] | None = None,
) -> InjectorConfig:
    """Build a configuration from the ``config`` and ``values`` keys of the injector ConfigMap and the mesh."""
    try:
        cfg = yaml.load(config_text, Loader=yaml.CSafeLoader) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: data.config is not valid YAML: {err}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{source}: data.config must be a YAML mapping with a `templates` key")
    raw_templates = cfg.get("templates") or {}
    if not isinstance(raw_templates, dict):
        raise ConfigError(f"{source}: templates must map template names to Go template text")
    policy = cfg.get("policy") or "enabled"
    if policy not in ("enabled", "disabled"):
        raise ConfigError(f"{source}: policy {policy!r} must be `enabled` or `disabled`")
    default_templates = cfg.get("defaultTemplates") or ["sidecar"]
    aliases = {k: tuple(v) for k, v in (cfg.get("aliases") or {}).items()}
    injected = cfg.get("injectedAnnotations") or {}
    try:
        values = gojson.unmarshal(values_text) if values_text.strip() else {}
    except Exception:
        # The values key may also be YAML (Helm renders JSON, hand-written ConfigMaps often use YAML).
        try:
            values = _float_numbers(yaml.load(values_text, Loader=yaml.CSafeLoader) or {})
        except yaml.YAMLError as err:
            raise ConfigError(f"{source}: data.values is neither JSON nor YAML: {err}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: data.values must be a JSON object")
    try:
        mesh = yaml.load(mesh_text, Loader=yaml.CSafeLoader) or {} if mesh_text.strip() else {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: mesh config is not valid YAML: {err}") from None
    if not isinstance(mesh, dict):
        raise ConfigError(f"{source}: mesh config must be a YAML mapping")
    return InjectorConfig(
        templates=parse_templates(raw_templates, source=source),
        raw_templates=dict(raw_templates),
        default_templates=tuple(default_templates),
        aliases=aliases,
        policy=policy,
        never_inject_selector=_selectors(cfg.get("neverInjectSelector"), "neverInjectSelector", source),
        always_inject_selector=_selectors(cfg.get("alwaysInjectSelector"), "alwaysInjectSelector", source),
        injected_annotations=dict(injected),
        values=values,
        mesh=mesh,
        default_proxy_config=dict(default_proxy_config or builtin_default_proxy_config()),
        source=source,
    )


def _float_numbers(value: Any) -> Any:
    """Numbers as Go's map[string]any holds them after a JSON round trip: float64."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _float_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_float_numbers(v) for v in value]
    return value


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None


def _first_existing(directory: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def load_directory(directory: Path) -> InjectorConfig:
    """Load a bundle directory (config.yaml, values.json, mesh.yaml, ...) or mounted ConfigMap files.

    A mounted ``istio-sidecar-injector`` ConfigMap gives files ``config`` and ``values``; the ``istio`` mesh
    ConfigMap gives ``mesh``. Bundle directories use ``config.yaml``, ``values.json`` and ``mesh.yaml``, plus
    optional ``default-proxy-config.json`` and ``env.yaml`` (istiod flags: native sidecars, compliance policy,
    platform, revision).
    """
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory (expected the injector ConfigMap files)")
    config_path = _first_existing(directory, ("config", "config.yaml"))
    values_path = _first_existing(directory, ("values", "values.json", "values.yaml"))
    if config_path is None:
        raise ConfigError(f"{directory}: no `config` or `config.yaml` (the data.config of the injector ConfigMap)")
    mesh_path = _first_existing(directory, ("mesh", "mesh.yaml", "meshConfig"))
    proxy_defaults_path = _first_existing(directory, ("default-proxy-config.json",))
    default_proxy = json.loads(_read(proxy_defaults_path)) if proxy_defaults_path else None
    config = load_config_text(
        _read(config_path),
        _read(values_path) if values_path else "{}",
        _read(mesh_path) if mesh_path else "",
        source=str(directory),
        default_proxy_config=default_proxy,
    )
    env_path = _first_existing(directory, ("env.yaml",))
    if env_path is not None:
        config = apply_env_file(config, yaml.load(_read(env_path), Loader=yaml.CSafeLoader) or {})
    if not config.mesh:
        config = replace(config, mesh=builtin_mesh_config())
    return config


def apply_env_file(config: InjectorConfig, env: Mapping[str, Any]) -> InjectorConfig:
    """Apply istiod-style flags from a bundle's ``env.yaml``."""
    flags = env.get("istiodEnv") or {}
    revision = (env.get("revision") or {}).get("webhook", config.revision)
    ignored = tuple(env.get("ignoredNamespaces") or config.ignored_namespaces)
    return config.with_flags(
        native_sidecars=str(flags.get("ENABLE_NATIVE_SIDECARS", config.native_sidecars)).lower(),
        compliance_policy=str(flags.get("COMPLIANCE_POLICY", config.compliance_policy) or ""),
        platform=str(flags.get("PLATFORM", config.platform) or ""),
        revision=str(revision or ""),
        ignored_namespaces=ignored,
    )


def from_configmap_data(
    injector_data: Mapping[str, str], mesh_data: Mapping[str, str] | None, *, source: str
) -> InjectorConfig:
    """Build a configuration from the ``data`` of live ConfigMaps (``istio-sidecar-injector``, ``istio``)."""
    if "config" not in injector_data:
        raise ConfigError(f"{source}: ConfigMap has no data.config key")
    mesh_text = (mesh_data or {}).get("mesh", "")
    config = load_config_text(injector_data["config"], injector_data.get("values", "{}"), mesh_text, source=source)
    if not config.mesh:
        config = replace(config, mesh=builtin_mesh_config())
    return config


# Built-in configuration: meshinject's own templates and values, shipped as package data.

_DATA = "meshinject.data"


def _data_text(name: str) -> str:
    return resources.files(_DATA).joinpath(name).read_text(encoding="utf-8")


def builtin_default_proxy_config() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_data_text("default-proxy-config.json"))
    return data


def builtin_mesh_config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(_data_text("mesh.yaml"), Loader=yaml.CSafeLoader)
    return data


def builtin_config() -> InjectorConfig:
    """meshinject's own default configuration: an Envoy ``istio-proxy`` sidecar plus ``istio-init``."""
    return load_config_text(
        _data_text("config.yaml"),
        _data_text("values.json"),
        _data_text("mesh.yaml"),
        source="built-in default configuration",
    )


TemplateLookup = Callable[[str], Template | None]
