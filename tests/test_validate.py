"""Annotation validation with Istio's error texts (meshinject.inject.validate).

Expected texts come from three sources:

* the conformance cases (``expectedError`` substrings, and every other case's annotations being valid);
* Istio's ``validate.go`` and ``pkg/config/validation/agent`` for the wording Istio adds;
* Go 1.26 itself for the standard-library parts (``strconv``, ``net/netip``, ``net``, ``time``,
  ``encoding/json``): every literal Go error below was printed by a scratch Go program calling those
  functions, so the combined messages are what Istio prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshinject.inject import validate as v
from meshinject.inject.validate import AnnotationError, format_multierror, validate_annotations

ISTIO = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "istio"
needs_cases = pytest.mark.skipif(not (ISTIO / "cases.yaml").is_file(), reason="shared conformance cases absent")


def _annotation_maps(node: Any) -> list[dict[str, str]]:
    """Every ``metadata.annotations`` map in a parsed manifest (pod templates, job templates, list items)."""
    found = []
    if isinstance(node, dict):
        meta = node.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
            found.append({str(k): str(val) for k, val in meta["annotations"].items()})
        for value in node.values():
            found += _annotation_maps(value)
    elif isinstance(node, list):
        for value in node:
            found += _annotation_maps(value)
    return found


def _cases() -> list[dict[str, Any]]:
    if not (ISTIO / "cases.yaml").is_file():
        return []
    return list(yaml.safe_load((ISTIO / "cases.yaml").read_text())["cases"])


def _input_annotations(case: dict[str, Any]) -> list[dict[str, str]]:
    docs = yaml.safe_load_all((ISTIO / case["input"]).read_text())
    return [m for doc in docs for m in _annotation_maps(doc)]


def _message(err: AnnotationError) -> str:
    return str(err)


# ---------------------------------------------------------------------------------------------------------
# The conformance suite


@needs_cases
@pytest.mark.parametrize(
    "case", [c for c in _cases() if c["expectedError"]], ids=lambda c: c["id"] if isinstance(c, dict) else ""
)
def test_conformance_error_cases_fail_with_the_expected_substring(case: dict[str, Any]) -> None:
    failures = []
    for found in _input_annotations(case):
        try:
            validate_annotations(found)
        except AnnotationError as err:
            failures.append(str(err))
    assert len(failures) == 1
    # The Go test lower-cases the error before looking for the substring.
    assert case["expectedError"] in failures[0].lower()


@needs_cases
def test_conformance_injected_inputs_have_only_valid_annotations() -> None:
    checked = 0
    for case in _cases():
        if case["expectedError"]:
            continue
        for found in _input_annotations(case):
            validate_annotations(found)
            checked += 1
    assert checked >= 20


@needs_cases
def test_bad_exclude_ip_ranges_golden_gives_istio_full_message() -> None:
    (annotations,) = _input_annotations({"input": "inputs/traffic-annotations-bad-excludeipranges.yaml"})
    with pytest.raises(AnnotationError) as info:
        validate_annotations(annotations)
    assert _message(info.value) == (
        "1 error occurred:\n\t* invalid value '*' for annotation "
        "'traffic.sidecar.istio.io/excludeOutboundIPRanges': "
        "excludeIPRanges invalid: failed parsing cidr '*': netip.ParsePrefix(\"*\"): no '/'\n\n"
    )


# ---------------------------------------------------------------------------------------------------------
# Per-annotation messages


def _error_of(name: str, value: str) -> str:
    with pytest.raises(AnnotationError) as info:
        validate_annotations({name: value})
    assert len(info.value.errors) == 1
    return info.value.errors[0]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        (
            "traffic.sidecar.istio.io/includeOutboundIPRanges",
            "bad",
            "includeIPRanges invalid: failed parsing cidr 'bad': netip.ParsePrefix(\"bad\"): no '/'",
        ),
        (
            "traffic.sidecar.istio.io/includeOutboundIPRanges",
            "10.0.0.0/8, 11.0.0.0/8",
            "includeIPRanges invalid: failed parsing cidr ' 11.0.0.0/8': netip.ParsePrefix(\" 11.0.0.0/8\"): "
            'ParseAddr(" 11.0.0.0"): unexpected character (at " 11.0.0.0")',
        ),
        (
            "traffic.sidecar.istio.io/excludeOutboundIPRanges",
            "10.0.0.0/33",
            "excludeIPRanges invalid: failed parsing cidr '10.0.0.0/33': "
            'netip.ParsePrefix("10.0.0.0/33"): prefix length out of range',
        ),
        (
            "traffic.sidecar.istio.io/excludeOutboundIPRanges",
            "fe80::1%eth0/64",
            "excludeIPRanges invalid: failed parsing cidr 'fe80::1%eth0/64': "
            'netip.ParsePrefix("fe80::1%eth0/64"): IPv6 zones cannot be present in a prefix',
        ),
        (
            "traffic.sidecar.istio.io/includeInboundPorts",
            "bad",
            "includeInboundPorts invalid: failed parsing port 'bad': failed parsing port 'bad': "
            'strconv.ParseUint: parsing "bad": invalid syntax',
        ),
        (
            "traffic.sidecar.istio.io/excludeInboundPorts",
            "80,70000",
            "excludeInboundPorts invalid: failed parsing port '70000': failed parsing port '70000': "
            'strconv.ParseUint: parsing "70000": value out of range',
        ),
        (
            "traffic.sidecar.istio.io/excludeOutboundPorts",
            "bad",
            "excludeOutboundPorts invalid: failed parsing port 'bad': failed parsing port 'bad': "
            'strconv.ParseUint: parsing "bad": invalid syntax',
        ),
        (
            "status.sidecar.istio.io/port",
            "70000",
            # Istio names the wrong parameter here; the text is reproduced as is.
            "excludeInboundPorts invalid: failed parsing port '70000': "
            'strconv.ParseUint: parsing "70000": value out of range',
        ),
        (
            "readiness.status.sidecar.istio.io/periodSeconds",
            "-1",
            'strconv.ParseUint: parsing "-1": invalid syntax',
        ),
        (
            "readiness.status.sidecar.istio.io/failureThreshold",
            "4294967296",
            'strconv.ParseUint: parsing "4294967296": value out of range',
        ),
        (
            "sidecar.istio.io/interceptionMode",
            "redirect",
            "interceptionMode invalid, use REDIRECT,TPROXY,NONE: redirect",
        ),
        ("prometheus.istio.io/merge-metrics", "yes", 'strconv.ParseBool: parsing "yes": invalid syntax'),
        ("traffic.sidecar.istio.io/excludeInterfaces", "eth0,,eth1", "empty interface name"),
        (
            "traffic.sidecar.istio.io/kubevirtInterfaces",
            "averyveryverylongname",
            'interface name "averyveryverylongname" too long (max 15 chars)',
        ),
        (
            "istio.io/reroute-virtual-interfaces",
            "net1, 1net",
            'interface name "1net" contains invalid characters',
        ),
        ("sidecar.istio.io/proxyCPU", "100m\n", "value contains control characters"),
        (
            "sidecar.istio.io/proxyMemory",
            "lots",
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        (
            "sidecar.istio.io/proxyCPULimit",
            "",
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        ("sidecar.istio.io/proxyMemoryLimit", "1Gi\x00", "value contains control characters"),
    ],
)
def test_invalid_annotation_reports_istio_reason(name: str, value: str, reason: str) -> None:
    assert _error_of(name, value) == f"invalid value '{value}' for annotation '{name}': {reason}"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", "*"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", ""),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", "127.0.0.1/24,10.96.0.1/24"),
        ("traffic.sidecar.istio.io/excludeOutboundIPRanges", "::ffff:1.2.3.4/96,::/0"),
        ("traffic.sidecar.istio.io/includeInboundPorts", "*"),
        ("traffic.sidecar.istio.io/includeInboundPorts", " 1, 2 ,3 "),
        ("traffic.sidecar.istio.io/excludeInboundPorts", ""),
        ("status.sidecar.istio.io/port", " 15021 "),
        ("readiness.status.sidecar.istio.io/initialDelaySeconds", "0"),
        ("sidecar.istio.io/interceptionMode", "TPROXY"),
        ("sidecar.istio.io/interceptionMode", "NONE"),
        ("prometheus.istio.io/merge-metrics", "F"),
        ("traffic.sidecar.istio.io/excludeInterfaces", ""),
        ("traffic.sidecar.istio.io/kubevirtInterfaces", "net1, net2"),
        ("sidecar.istio.io/proxyCPU", "4000m"),
        ("sidecar.istio.io/proxyMemory", "1.5Gi"),
        # Istio does not validate these two: a bad value only reads as "unset" later.
        ("sidecar.istio.io/inject", "maybe"),
        ("sidecar.istio.io/nativeSidecar", "sure"),
        ("unrelated.example.com/anything", "*"),
    ],
)
def test_valid_or_unchecked_annotation_passes(name: str, value: str) -> None:
    validate_annotations({name: value})


def test_several_invalid_annotations_are_listed_in_mapping_order() -> None:
    with pytest.raises(AnnotationError) as info:
        validate_annotations(
            {
                "traffic.sidecar.istio.io/includeInboundPorts": "bad",
                "sidecar.istio.io/inject": "true",
                "sidecar.istio.io/interceptionMode": "bad",
            }
        )
    assert str(info.value) == (
        "2 errors occurred:\n"
        "\t* invalid value 'bad' for annotation 'traffic.sidecar.istio.io/includeInboundPorts': "
        "includeInboundPorts invalid: failed parsing port 'bad': failed parsing port 'bad': "
        'strconv.ParseUint: parsing "bad": invalid syntax\n'
        "\t* invalid value 'bad' for annotation 'sidecar.istio.io/interceptionMode': "
        "interceptionMode invalid, use REDIRECT,TPROXY,NONE: bad\n\n"
    )


def test_annotation_error_is_a_value_error_and_none_is_valid() -> None:
    assert issubclass(AnnotationError, ValueError)
    validate_annotations(None)
    validate_annotations({})


def test_multierror_format_matches_go_multierror() -> None:
    assert format_multierror(["a"]) == "1 error occurred:\n\t* a\n\n"
    assert format_multierror(["a", "b", "c"]) == "3 errors occurred:\n\t* a\n\t* b\n\t* c\n\n"


# ---------------------------------------------------------------------------------------------------------
# proxy.istio.io/config: ApplyYAML onto DefaultProxyConfig, then ValidateMeshConfigProxyConfig

PROXY_CONFIG = "proxy.istio.io/config"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "{}",
        '{ "holdApplicationUntilProxyStarts": true }',
        "discoveryAddress: foo:123\nconcurrency: 0\nproxyMetadata:\n  FOO: bar\n",
        "interceptionMode: TPROXY",
        "drainDuration: 23s",
        "tracing: {}",
        "holdApplicationUntilProxyStarts: false",
        # Unknown fields are ignored (Istio retries with AllowUnknownFields).
        "notAField: 1\ntracing: {zipkin: {address: 'zipkin.istio-system:9411'}, whatever: 2}",
        # Proto names work as well as JSON names; numbers may be quoted; null leaves the default.
        "proxy_admin_port: '15001'\nstatusPort: null",
        "tracing:\n  zipkin:\n    address: $(HOST_IP):9411",
        "tracingServiceName: CANONICAL_NAME_ONLY",
        "discoveryAddress: '[::1]:15012'",
        "statsdUdpAddress: 10.0.0.1:8125",
        "privateKeyProvider: {cryptomb: {pollDelay: 10ms}}",
        "connectionSettings: {http2InitialStreamWindowSize: 65535, httpIdleTimeout: 0s}",
        "concurrency: 2.0",
    ],
)
def test_valid_proxy_config_annotation_passes(value: str) -> None:
    validate_annotations({PROXY_CONFIG: value})


def _proxy_config_reason(value: str) -> str:
    prefix = f"invalid value '{value}' for annotation '{PROXY_CONFIG}': "
    error = _error_of(PROXY_CONFIG, value)
    assert error.startswith(prefix)
    return error[len(prefix) :]


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ("proxyAdminPort: 0", ["invalid proxy admin port: port number 0 must be in the range 1..65535"]),
        ("statusPort: 70000", ["invalid status port: port number 70000 must be in the range 1..65535"]),
        (
            "discoveryAddress: foo",
            ['invalid discovery address: unable to split "foo": address foo: missing port in address'],
        ),
        (
            "discoveryAddress: foo:http",
            ['invalid discovery address: port (http) is not a number: strconv.Atoi: parsing "http": invalid syntax'],
        ),
        ("discoveryAddress: ''", ["discovery address must be set to the proxy discovery service"]),
        (
            "discoveryAddress: bad_host:80",
            ['invalid discovery address: "bad_host" is not a valid hostname or an IP address'],
        ),
        ("drainDuration: 1.5s", ["drain time only supports durations to seconds precision"]),
        ("drainDuration: 0s", ["invalid drain duration: duration must be greater than 1ms"]),
        ("configPath: ''\nbinaryPath: ''", ["config path must be set", "binary path must be set"]),
        ("serviceCluster: ''", ["service cluster must be specified"]),
        (
            "controlPlaneAuthPolicy: INHERIT",
            ['invalid authentication policy: unrecognized control plane auth policy "INHERIT"'],
        ),
        (
            "tracing: {lightstep: {}}",
            [
                "invalid lightstep config: address is required",
                'invalid lightstep config: invalid lightstep address: unable to split "": missing port in address',
                "invalid lightstep config: access token is required",
            ],
        ),
        (
            "tracing: {datadog: {address: datadog}}",
            ['invalid datadog config: unable to split "datadog": address datadog: missing port in address'],
        ),
        (
            "tracing: {tlsSettings: {mode: MUTUAL}}",
            [
                "invalid tracing TLS config: client certificate required for mutual tls",
                "invalid tracing TLS config: private key required for mutual tls",
            ],
        ),
        (
            "envoyAccessLogService: {address: 'a:b:c'}",
            [
                'invalid envoy access log service address "a:b:c": '
                'unable to split "a:b:c": address a:b:c: too many colons in address'
            ],
        ),
        (
            "privateKeyProvider: {}",
            [
                "invalid private key provider configuration: private key provider configuration is required",
                "invalid private key provider configuration: unknown private key provider",
            ],
        ),
        (
            "privateKeyProvider: {qat: {}}",
            ["invalid private key provider configuration: pollDelay is required"],
        ),
        (
            "connectionSettings: {httpMaxConcurrentStreams: 0, httpDrainTimeout: -1s}",
            [
                "invalid connection settings: http_drain_timeout must be non-negative",
                "invalid connection settings: http_max_concurrent_streams must be positive",
            ],
        ),
    ],
)
def test_invalid_proxy_config_nests_agent_validation_errors(value: str, errors: list[str]) -> None:
    assert _proxy_config_reason(value) == format_multierror(errors)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("concurrency: abc", "invalid character 'a' looking for beginning of value"),
        ("concurrency: 1.5", "json: cannot unmarshal number 1.5 into Go value of type int32"),
        ("proxyAdminPort: [1]", "json: cannot unmarshal array into Go value of type int32"),
        (
            "holdApplicationUntilProxyStarts: 'true'",
            "json: cannot unmarshal string into Go value of type bool",
        ),
        ("discoveryAddress: 5", "json: cannot unmarshal number into Go value of type string"),
        (
            "interceptionMode: FOO",
            'unknown value "\\"FOO\\"" for enum istio.mesh.v1alpha1.ProxyConfig.InboundInterceptionMode',
        ),
        ("drainDuration: abc", 'bad Duration: time: invalid duration "abc"'),
        ("drainDuration: 5", "json: cannot unmarshal number into Go value of type string"),
        ("just a string", "json: cannot unmarshal string into Go value of type map[string]json.RawMessage"),
        ("tracing: 3", "json: cannot unmarshal number into Go value of type map[string]json.RawMessage"),
        ("extraStatTags: a", "json: cannot unmarshal string into Go value of type []json.RawMessage"),
        ("proxyMetadata: {A: 1}", "json: cannot unmarshal number into Go value of type string"),
    ],
)
def test_undecodable_proxy_config_reports_jsonpb_error(value: str, reason: str) -> None:
    assert _proxy_config_reason(value) == f"failed to convert to apply proxy config: {reason}"


def test_proxy_config_decoder_reports_the_first_field_in_declaration_order() -> None:
    # binaryPath is declared before proxyAdminPort, whatever the order in the document.
    reason = _proxy_config_reason("proxyAdminPort: x\nbinaryPath: 3")
    assert reason == (
        "failed to convert to apply proxy config: json: cannot unmarshal number into Go value of type string"
    )


def test_proxy_config_json_name_wins_over_proto_name() -> None:
    validate_annotations({PROXY_CONFIG: "proxy_admin_port: 0\nproxyAdminPort: 15000"})
    assert "proxy admin port" in _proxy_config_reason("proxyAdminPort: 0\nproxy_admin_port: 15000")


# ---------------------------------------------------------------------------------------------------------
# Go primitives, against values printed by Go 1.26


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", "netip.ParsePrefix(\"*\"): no '/'"),
        ("10.0.0.0/8 ", 'netip.ParsePrefix("10.0.0.0/8 "): bad bits after slash: "8 "'),
        ("10.0.0.0/08", 'netip.ParsePrefix("10.0.0.0/08"): bad bits after slash: "08"'),
        ("1.2.3/8", 'netip.ParsePrefix("1.2.3/8"): ParseAddr("1.2.3"): IPv4 address too short'),
        (
            "1.2.3.256/8",
            'netip.ParsePrefix("1.2.3.256/8"): ParseAddr("1.2.3.256"): IPv4 field has value >255',
        ),
        (
            "01.2.3.4/8",
            'netip.ParsePrefix("01.2.3.4/8"): ParseAddr("01.2.3.4"): IPv4 field has octet with leading zero',
        ),
        (
            "1::2::3/64",
            'netip.ParsePrefix("1::2::3/64"): ParseAddr("1::2::3"): multiple :: in address (at ":3")',
        ),
        (
            "12345::/16",
            'netip.ParsePrefix("12345::/16"): ParseAddr("12345::"): '
            'each group must have 4 or less digits (at "12345::")',
        ),
        ("::1/129", 'netip.ParsePrefix("::1/129"): prefix length out of range'),
        (
            "1:2:3:4:5:6:7:8:9/64",
            'netip.ParsePrefix("1:2:3:4:5:6:7:8:9/64"): ParseAddr("1:2:3:4:5:6:7:8:9"): '
            'trailing garbage after address (at "9")',
        ),
        ("%x/3", 'netip.ParsePrefix("%x/3"): ParseAddr("%x"): missing IPv6 address'),
        ("é/8", 'netip.ParsePrefix("é/8"): ParseAddr("é"): unable to parse IP'),
        ("::ffff:1.2.3.4/96", None),
    ],
)
def test_parse_prefix_errors_match_go_netip(text: str, expected: str | None) -> None:
    if expected is None:
        v._parse_prefix(text)
        return
    with pytest.raises(v._GoError) as info:
        v._parse_prefix(text)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80", (80, None)),
        ("+80", (80, None)),
        ("-1", (-1, None)),
        ("0x10", (0, 'strconv.Atoi: parsing "0x10": invalid syntax')),
        ("", (0, 'strconv.Atoi: parsing "": invalid syntax')),
        (" 1", (0, 'strconv.Atoi: parsing " 1": invalid syntax')),
        (
            "99999999999999999999",
            (9223372036854775807, 'strconv.Atoi: parsing "99999999999999999999": value out of range'),
        ),
        # Go's slow path meets the overflow before the bad character.
        (
            "99999999999999999999x",
            (9223372036854775807, 'strconv.Atoi: parsing "99999999999999999999x": value out of range'),
        ),
    ],
)
def test_go_atoi_matches_go(text: str, expected: tuple[int, str | None]) -> None:
    assert v.go_atoi(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\tb", '"a\\tb"'),
        ("é", '"é"'),
        ("\x00", '"\\x00"'),
        ("\u00a0", '"\\u00a0"'),
        ("\U0001f600", '"\U0001f600"'),
        ("\u200b", '"\\u200b"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\x7f", '"\\x7f"'),
    ],
)
def test_go_quote_matches_strconv_quote(text: str, expected: str) -> None:
    assert v.go_quote(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", 45_000_000_000),
        ("1.5s", 1_500_000_000),
        ("1µs", 1000),
        ("-1s", -1_000_000_000),
        ("1h2m3.5s", 3_723_500_000_000),
        ("abc", 'time: invalid duration "abc"'),
        ("1", 'time: missing unit in duration "1"'),
        ("", 'time: invalid duration ""'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
        (".s", 'time: invalid duration ".s"'),
    ],
)
def test_parse_duration_matches_go_time(text: str, expected: int | str) -> None:
    if isinstance(expected, int):
        assert v._parse_duration(text) == expected
        return
    with pytest.raises(v._GoError) as info:
        v._parse_duration(text)
    assert str(info.value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("foo", "address foo: missing port in address"),
        ("::1:80", "address ::1:80: too many colons in address"),
        ("[::1]", "address [::1]: missing port in address"),
        ("a]b:80", "address a]b:80: unexpected ']' in address"),
        ("", "missing port in address"),
    ],
)
def test_split_host_port_errors_match_go_net(text: str, expected: str) -> None:
    with pytest.raises(v._GoError) as info:
        v._split_host_port(text)
    assert str(info.value) == expected


def test_split_host_port_accepts_bracketed_ipv6() -> None:
    assert v._split_host_port("[::1]:80") == ("::1", "80")
    assert v._split_host_port(":") == ("", "")


@pytest.mark.parametrize(
    ("text", "go_type", "expected"),
    [
        ("-", "int32", "invalid character ' ' in numeric literal"),
        ("1.", "int32", "invalid character ' ' after decimal point in numeric literal"),
        ("tru", "bool", "invalid character ' ' in literal true (expecting 'e')"),
        ("trux", "bool", "invalid character 'x' in literal true (expecting 'e')"),
        ("01", "int32", "invalid character '1' after top-level value"),
        ("[1,", "int32", "unexpected end of JSON input"),
        ('{"a" 1}', "int32", "invalid character '1' after object key"),
        ("99999999999", "int32", "json: cannot unmarshal number 99999999999 into Go value of type int32"),
        ("-0", "uint32", "json: cannot unmarshal number -0 into Go value of type uint32"),
        ("1e400", "float64", "json: cannot unmarshal number 1e400 into Go value of type float64"),
        ("1", "bool", "json: cannot unmarshal number into Go value of type bool"),
    ],
)
def test_json_scalar_errors_match_encoding_json(text: str, go_type: str, expected: str) -> None:
    with pytest.raises(v._GoError) as info:
        v._json_unmarshal(text, go_type)
    assert str(info.value) == expected


def test_go_trim_space_keeps_characters_python_strips() -> None:
    assert v.go_trim_space("\x1c 80\u3000") == "\x1c 80"
