"""Loading injector configurations: bundle directories, mounted ConfigMap files, ConfigMap data, built-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshinject.inject.config import ConfigError, InjectorConfig, builtin_config, from_configmap_data, load_directory

BUNDLES = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "istio" / "bundles"


@pytest.mark.skipif(not BUNDLES.is_dir(), reason="shared bundles not found")
@pytest.mark.parametrize("bundle", sorted(p.name for p in BUNDLES.iterdir()) if BUNDLES.is_dir() else [])
def test_every_shared_bundle_loads_and_all_templates_parse(bundle: str) -> None:
    config = load_directory(BUNDLES / bundle)
    assert "sidecar" in config.templates
    assert set(config.templates) == set(config.raw_templates)
    # values come from JSON, so numbers are float64 as in Go's map[string]any
    assert isinstance(config.values["global"]["proxy"]["statusPort"], float)


def test_mounted_configmap_files_are_read_by_their_key_names(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("policy: disabled\ntemplates:\n  sidecar: 'spec: {}'\n")
    (tmp_path / "values").write_text(json.dumps({"global": {"hub": "example.com"}}))
    (tmp_path / "mesh").write_text("defaultConfig:\n  statusPort: 15020\n")
    config = load_directory(tmp_path)
    assert config.policy == "disabled"
    assert config.values["global"]["hub"] == "example.com"
    assert config.mesh["defaultConfig"]["statusPort"] == 15020


def test_a_template_that_does_not_parse_names_the_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "config").write_text("templates:\n  sidecar: |\n    ok\n    {{ if }}\n")
    with pytest.raises(ConfigError, match=r"templates\.sidecar does not parse: template: inject:2: missing value"):
        load_directory(tmp_path)


def test_missing_config_file_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no `config` or `config\.yaml`"):
        load_directory(tmp_path)


@pytest.mark.parametrize(
    ("config_text", "message"),
    [
        ("templates: [a, b]", "templates must map template names"),
        ("policy: maybe\ntemplates: {}", "policy 'maybe' must be `enabled` or `disabled`"),
        ("neverInjectSelector: foo\ntemplates: {}", "neverInjectSelector must be a list of label selectors"),
        ("templates: {sidecar: 3}", "templates.sidecar must be a string"),
        (": : :", "data.config is not valid YAML"),
    ],
)
def test_bad_configmap_data_is_rejected_with_the_field_and_fix(config_text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("[", r"\[")):
        from_configmap_data({"config": config_text, "values": "{}"}, None, source="configmap istio-sidecar-injector")


def test_builtin_configuration_has_our_sidecar_template() -> None:
    config = builtin_config()
    assert config.default_templates == ("sidecar",)
    assert config.mesh["defaultConfig"]["statusPort"] == 15020
    assert config.source == "built-in default configuration"


def test_native_sidecar_flag_is_validated() -> None:
    with pytest.raises(ConfigError, match="native sidecars mode 'sometimes'"):
        builtin_config().with_flags(native_sidecars="sometimes")


def test_derived_values_are_computed_once_per_configuration_and_not_shared_with_flag_copies() -> None:
    config = builtin_config()
    calls: list[str] = []

    def compute(c: InjectorConfig) -> str:
        calls.append(c.revision)
        return f"rev={c.revision}"

    assert config.derived("probe", compute) == config.derived("probe", compute) == f"rev={config.revision}"
    other = config.with_flags(revision="canary")
    assert other.derived("probe", compute) == "rev=canary"
    assert calls == [config.revision, "canary"]
