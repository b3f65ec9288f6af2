"""What injection templates read: Istio's ``SidecarTemplateData`` and the types inside it, as schemas.

The dot of an injection template is a ``*inject.SidecarTemplateData``: Kubernetes ``TypeMeta``,
``NamespacedName``, ``ObjectMeta`` and ``PodSpec`` (Go structs with ``json`` tags), Istio's ``ProxyConfig``
and ``MeshConfig`` (protobuf messages of istio.io/api ``mesh/v1alpha1``), ``.Values`` (decoded JSON,
``map[string]interface{}``) and a few scalars. The schemas below list the Go fields in declaration order; the
data they wrap stay plain JSON (Kubernetes JSON for the Kubernetes types, proto-JSON for the messages).

Protobuf messages are modelled field for field where templates can reach them (ProxyConfig, MeshConfig and the
messages they nest); a few deep networking messages that no template reads (retry, connection-pool, outlier
and load-balancer settings) are opaque: their proto-JSON is kept and written back as given. Kubernetes types
are modelled for the pod spec and containers; rarely read nested types (affinity, volume sources, probe
handlers...) are read loosely by JSON name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from meshinject.gotemplate import gofmt
from meshinject.gotemplate.datamodel import (
    BOOL,
    DOUBLE,
    DURATION,
    INT32,
    INT64,
    STRING,
    STRUCT,
    UINT32,
    AnyKind,
    EnumType,
    Field,
    GoField,
    GoStruct,
    Kind,
    MessageType,
    Oneof,
    ProtoMessage,
    StructType,
    enum_kind,
    list_of,
    loose_kind,
    map_of,
    message_kind,
    named_string,
    pointer_to,
    struct_kind,
    wrapper_kind,
)

__all__ = [
    "DEFAULT_PROXY_CONFIG",
    "MESH_CONFIG",
    "OBJECT_META",
    "POD_SPEC",
    "PROXY_CONFIG",
    "SIDECAR_TEMPLATE_DATA",
    "inbound_traffic_policy_mode",
    "json_numbers_as_float",
    "mesh_config",
    "proxy_config",
    "proxy_image_for",
    "proxy_init_image_for",
    "sidecar_template_data",
]

# ------------------------------------------------------------------------------------------------------------
# Schema helpers

_BOOL_VALUE: Final = wrapper_kind("BoolValue")
_INT32_VALUE: Final = wrapper_kind("Int32Value")
_INT64_VALUE: Final = wrapper_kind("Int64Value")


def _mesh(name: str, fields: Any) -> MessageType:
    """A message of package istio.mesh.v1alpha1 (``name`` is its dotted path inside the package)."""
    return MessageType("istio.mesh.v1alpha1." + name, "v1alpha1." + name.replace(".", "_"), fields)


def _net(name: str, fields: Any, package: str = "v1alpha3") -> MessageType:
    return MessageType(f"istio.networking.{package}.{name}", f"{package}.{name.replace('.', '_')}", fields)


def _opaque(full_name: str, go_type: str) -> MessageType:
    """A message no template reads: its proto-JSON is carried as is."""
    return MessageType(full_name, go_type, (), opaque=True)


def _enum(go_type: str, names: str) -> EnumType:
    """An enum from ``"A B=3 C"`` (numbers count up from 0 unless given)."""
    values: list[tuple[str, int]] = []
    n = 0
    for item in names.split():
        name, _, num = item.partition("=")
        if num:
            n = int(num)
        values.append((name, n))
        n += 1
    return EnumType(go_type, values)


def F(name: str, kind: Kind) -> Field:
    return Field(name, kind)


def _msg(t: MessageType) -> Kind:
    return message_kind(t)


def _rep(t: MessageType) -> Kind:
    return list_of(message_kind(t))


_STRINGS: Final = list_of(STRING)
_STRING_MAP: Final = map_of(STRING)

# ------------------------------------------------------------------------------------------------------------
# istio.networking (only what mesh messages nest)

TLS_MODE: Final = _enum("v1alpha3.ClientTLSSettings_TLSmode", "DISABLE SIMPLE MUTUAL ISTIO_MUTUAL")

CLIENT_TLS_SETTINGS: Final = _net(
    "ClientTLSSettings",
    [
        F("mode", enum_kind(TLS_MODE)),
        F("client_certificate", STRING),
        F("private_key", STRING),
        F("ca_certificates", STRING),
        F("credential_name", STRING),
        F("subject_alt_names", _STRINGS),
        F("sni", STRING),
        F("insecure_skip_verify", _BOOL_VALUE),
        F("ca_crl", STRING),
    ],
)

TCP_KEEPALIVE: Final = _net(
    "ConnectionPoolSettings.TCPSettings.TcpKeepalive",
    [
        F("probes", UINT32),
        F("time", DURATION),
        F("interval", DURATION),
    ],
)

_HTTP_HEADER: Final = _net("HTTPHeader", [F("name", STRING), F("value", STRING)])

_HTTP_HEALTH_CHECK: Final = _net(
    "HTTPHealthCheckConfig",
    [
        F("path", STRING),
        F("port", UINT32),
        F("host", STRING),
        F("scheme", STRING),
        F("http_headers", _rep(_HTTP_HEADER)),
    ],
)
_TCP_HEALTH_CHECK: Final = _net("TCPHealthCheckConfig", [F("host", STRING), F("port", UINT32)])
_EXEC_HEALTH_CHECK: Final = _net("ExecHealthCheckConfig", [F("command", _STRINGS)])
_GRPC_HEALTH_CHECK: Final = _net("GrpcHealthCheckConfig", [F("port", UINT32), F("service", STRING)])

READINESS_PROBE: Final = _net(
    "ReadinessProbe",
    [
        F("initial_delay_seconds", INT32),
        F("timeout_seconds", INT32),
        F("period_seconds", INT32),
        F("success_threshold", INT32),
        F("failure_threshold", INT32),
        Oneof(
            "health_check_method",
            F("http_get", _msg(_HTTP_HEALTH_CHECK)),
            F("tcp_socket", _msg(_TCP_HEALTH_CHECK)),
            F("exec", _msg(_EXEC_HEALTH_CHECK)),
            F("grpc", _msg(_GRPC_HEALTH_CHECK)),
        ),
    ],
)

PROXY_IMAGE: Final = _net("ProxyImage", [F("image_type", STRING)], package="v1beta1")

_LOCALITY_DISTRIBUTE: Final = _net(
    "LocalityLoadBalancerSetting.Distribute",
    [
        F("from", STRING),
        F("to", map_of(UINT32)),
    ],
)
_LOCALITY_FAILOVER: Final = _net("LocalityLoadBalancerSetting.Failover", [F("from", STRING), F("to", STRING)])
LOCALITY_LB_SETTING: Final = _net(
    "LocalityLoadBalancerSetting",
    [
        F("distribute", _rep(_LOCALITY_DISTRIBUTE)),
        F("failover", _rep(_LOCALITY_FAILOVER)),
        F("failover_priority", _STRINGS),
        F("enabled", _BOOL_VALUE),
    ],
)

_ZONE_AWARE_LB: Final = _opaque(
    "istio.networking.v1alpha3.ZoneAwareLoadBalancerSetting", "v1alpha3.ZoneAwareLoadBalancerSetting"
)
_HTTP_RETRY: Final = _opaque("istio.networking.v1alpha3.HTTPRetry", "v1alpha3.HTTPRetry")
_CONNECTION_POOL: Final = _opaque("istio.networking.v1alpha3.ConnectionPoolSettings", "v1alpha3.ConnectionPoolSettings")
_OUTLIER_DETECTION: Final = _opaque("istio.networking.v1alpha3.OutlierDetection", "v1alpha3.OutlierDetection")

# ------------------------------------------------------------------------------------------------------------
# istio.mesh.v1alpha1: proxy.proto

AUTHENTICATION_POLICY: Final = _enum("v1alpha1.AuthenticationPolicy", "NONE MUTUAL_TLS INHERIT=1000")
FORWARD_CLIENT_CERT_DETAILS: Final = _enum(
    "v1alpha1.ForwardClientCertDetails",
    "UNDEFINED SANITIZE FORWARD_ONLY APPEND_FORWARD SANITIZE_SET ALWAYS_FORWARD_ONLY",
)
_TRACE_CONTEXT: Final = _enum(
    "v1alpha1.Tracing_OpenCensusAgent_TraceContext",
    "UNSPECIFIED W3C_TRACE_CONTEXT GRPC_BIN CLOUD_TRACE_CONTEXT B3",
)

_TRACING_ZIPKIN: Final = _mesh("Tracing.Zipkin", [F("address", STRING)])
_TRACING_LIGHTSTEP: Final = _mesh("Tracing.Lightstep", [F("address", STRING), F("access_token", STRING)])
_TRACING_DATADOG: Final = _mesh("Tracing.Datadog", [F("address", STRING)])
_TRACING_STACKDRIVER: Final = _mesh(
    "Tracing.Stackdriver",
    [
        F("debug", BOOL),
        F("max_number_of_attributes", _INT64_VALUE),
        F("max_number_of_annotations", _INT64_VALUE),
        F("max_number_of_message_events", _INT64_VALUE),
    ],
)
_TRACING_OPENCENSUS: Final = _mesh(
    "Tracing.OpenCensusAgent",
    [
        F("address", STRING),
        F("context", list_of(enum_kind(_TRACE_CONTEXT))),
    ],
)
_TRACING_LITERAL: Final = _mesh("Tracing.Literal", [F("value", STRING)])
_TRACING_ENVIRONMENT: Final = _mesh("Tracing.Environment", [F("name", STRING), F("default_value", STRING)])
_TRACING_REQUEST_HEADER: Final = _mesh("Tracing.RequestHeader", [F("name", STRING), F("default_value", STRING)])
_TRACING_CUSTOM_TAG: Final = _mesh(
    "Tracing.CustomTag",
    [
        Oneof(
            "type",
            F("literal", _msg(_TRACING_LITERAL)),
            F("environment", _msg(_TRACING_ENVIRONMENT)),
            F("header", _msg(_TRACING_REQUEST_HEADER)),
        ),
    ],
)

TRACING: Final = _mesh(
    "Tracing",
    [
        Oneof(
            "tracer",
            F("zipkin", _msg(_TRACING_ZIPKIN)),
            F("lightstep", _msg(_TRACING_LIGHTSTEP)),
            F("datadog", _msg(_TRACING_DATADOG)),
            F("stackdriver", _msg(_TRACING_STACKDRIVER)),
            F("open_census_agent", _msg(_TRACING_OPENCENSUS)),
            colliding=("zipkin", "lightstep", "datadog", "stackdriver", "open_census_agent"),
        ),
        F("custom_tags", map_of(_msg(_TRACING_CUSTOM_TAG))),
        F("max_path_tag_length", UINT32),
        F("sampling", DOUBLE),
        F("tls_settings", _msg(CLIENT_TLS_SETTINGS)),
        F("enable_istio_tags", _BOOL_VALUE),
    ],
)

SDS: Final = _mesh("SDS", [F("enabled", BOOL), F("k8s_sa_jwt_path", STRING)])

_PROXY_PROTOCOL_CONFIGURATION: Final = _mesh("Topology.ProxyProtocolConfiguration", [])
TOPOLOGY: Final = _mesh(
    "Topology",
    [
        F("num_trusted_proxies", UINT32),
        F("forward_client_cert_details", enum_kind(FORWARD_CLIENT_CERT_DETAILS)),
        F("proxy_protocol", _msg(_PROXY_PROTOCOL_CONFIGURATION)),
    ],
)

_CRYPTO_MB: Final = _mesh("PrivateKeyProvider.CryptoMb", [F("poll_delay", DURATION), F("fallback", _BOOL_VALUE)])
_QAT: Final = _mesh("PrivateKeyProvider.QAT", [F("poll_delay", DURATION), F("fallback", _BOOL_VALUE)])
PRIVATE_KEY_PROVIDER: Final = _mesh(
    "PrivateKeyProvider",
    [
        Oneof("provider", F("cryptomb", _msg(_CRYPTO_MB)), F("qat", _msg(_QAT))),
    ],
)

REMOTE_SERVICE: Final = _mesh(
    "RemoteService",
    [
        F("address", STRING),
        F("tls_settings", _msg(CLIENT_TLS_SETTINGS)),
        F("tcp_keepalive", _msg(TCP_KEEPALIVE)),
    ],
)

TRACING_SERVICE_NAME: Final = _enum(
    "v1alpha1.ProxyConfig_TracingServiceName",
    "APP_LABEL_AND_NAMESPACE CANONICAL_NAME_ONLY CANONICAL_NAME_AND_NAMESPACE",
)
INBOUND_INTERCEPTION_MODE: Final = _enum("v1alpha1.ProxyConfig_InboundInterceptionMode", "REDIRECT TPROXY NONE")

PROXY_STATS_MATCHER: Final = _mesh(
    "ProxyConfig.ProxyStatsMatcher",
    [
        F("inclusion_prefixes", _STRINGS),
        F("inclusion_suffixes", _STRINGS),
        F("inclusion_regexps", _STRINGS),
    ],
)

_METADATA_EXCHANGE_MODE: Final = _enum("v1alpha1.ProxyConfig_ProxyHeaders_MetadataExchangeMode", "UNDEFINED IN_MESH")


def _headers(name: str, *fields: Field) -> MessageType:
    return _mesh("ProxyConfig.ProxyHeaders." + name, list(fields))


_PH_SERVER: Final = _headers("Server", F("disabled", _BOOL_VALUE), F("value", STRING))
_PH_REQUEST_ID: Final = _headers("RequestId", F("disabled", _BOOL_VALUE))
_PH_ATTEMPT_COUNT: Final = _headers("AttemptCount", F("disabled", _BOOL_VALUE))
_PH_X_FORWARDED_HOST: Final = _headers("XForwardedHost", F("enabled", _BOOL_VALUE))
_PH_X_FORWARDED_PORT: Final = _headers("XForwardedPort", F("enabled", _BOOL_VALUE))
_PH_ENVOY_DEBUG: Final = _headers("EnvoyDebugHeaders", F("disabled", _BOOL_VALUE))
_PH_METADATA_EXCHANGE: Final = _headers("MetadataExchangeHeaders", F("mode", enum_kind(_METADATA_EXCHANGE_MODE)))
_PH_CLIENT_CERT: Final = _headers(
    "SetCurrentClientCertDetails",
    F("subject", _BOOL_VALUE),
    F("cert", _BOOL_VALUE),
    F("chain", _BOOL_VALUE),
    F("dns", _BOOL_VALUE),
    F("uri", _BOOL_VALUE),
)

PROXY_HEADERS: Final = _mesh(
    "ProxyConfig.ProxyHeaders",
    [
        F("forwarded_client_cert", enum_kind(FORWARD_CLIENT_CERT_DETAILS)),
        F("set_current_client_cert_details", _msg(_PH_CLIENT_CERT)),
        F("request_id", _msg(_PH_REQUEST_ID)),
        F("server", _msg(_PH_SERVER)),
        F("attempt_count", _msg(_PH_ATTEMPT_COUNT)),
        F("envoy_debug_headers", _msg(_PH_ENVOY_DEBUG)),
        F("metadata_exchange_headers", _msg(_PH_METADATA_EXCHANGE)),
        F("preserve_http1_header_case", _BOOL_VALUE),
        F("x_forwarded_host", _msg(_PH_X_FORWARDED_HOST)),
        F("x_forwarded_port", _msg(_PH_X_FORWARDED_PORT)),
    ],
)

_CS_PROFILE: Final = _enum("v1alpha1.ProxyConfig_ConnectionSettings_Profile", "SIDECAR EDGE")
_CS_UNDERSCORES: Final = _enum(
    "v1alpha1.ProxyConfig_ConnectionSettings_HeadersWithUnderscoresAction",
    "HEADERS_WITH_UNDERSCORES_UNSPECIFIED HEADERS_WITH_UNDERSCORES_ALLOW "
    "HEADERS_WITH_UNDERSCORES_REJECT_REQUEST "
    "HEADERS_WITH_UNDERSCORES_DROP_HEADER",
)
_CS_ESCAPED_SLASHES: Final = _enum(
    "v1alpha1.ProxyConfig_ConnectionSettings_PathWithEscapedSlashesAction",
    "PATH_WITH_ESCAPED_SLASHES_UNSPECIFIED KEEP_UNCHANGED REJECT_REQUEST UNESCAPE_AND_REDIRECT UNESCAPE_AND_FORWARD",
)

CONNECTION_SETTINGS: Final = _mesh(
    "ProxyConfig.ConnectionSettings",
    [
        F("profile", enum_kind(_CS_PROFILE)),
        F("listener_per_connection_buffer_limit_bytes", _INT32_VALUE),
        F("cluster_per_connection_buffer_limit_bytes", _INT32_VALUE),
        F("http_idle_timeout", DURATION),
        F("http_max_connection_duration", DURATION),
        F("http_drain_timeout", DURATION),
        F("http_request_timeout", DURATION),
        F("http_request_headers_timeout", DURATION),
        F("http_stream_idle_timeout", DURATION),
        F("http_max_stream_duration", DURATION),
        F("http_max_concurrent_streams", _INT32_VALUE),
        F("http2_initial_stream_window_size", _INT32_VALUE),
        F("http2_initial_connection_window_size", _INT32_VALUE),
        F("http_headers_with_underscores_action", enum_kind(_CS_UNDERSCORES)),
        F("http_merge_slashes", _BOOL_VALUE),
        F("http_path_with_escaped_slashes_action", enum_kind(_CS_ESCAPED_SLASHES)),
        F("listener_connection_limit", _INT32_VALUE),
        F("global_downstream_connection_limit", _INT32_VALUE),
    ],
)

PROXY_CONFIG: Final = _mesh(
    "ProxyConfig",
    [
        F("config_path", STRING),
        F("binary_path", STRING),
        Oneof(
            "cluster_name",
            F("service_cluster", STRING),
            F("tracing_service_name", enum_kind(TRACING_SERVICE_NAME)),
            colliding=("tracing_service_name",),
        ),
        F("drain_duration", DURATION),
        F("discovery_address", STRING),
        F("discovery_refresh_delay", DURATION),
        F("zipkin_address", STRING),
        F("statsd_udp_address", STRING),
        F("envoy_metrics_service_address", STRING),
        F("proxy_admin_port", INT32),
        F("availability_zone", STRING),
        F("control_plane_auth_policy", enum_kind(AUTHENTICATION_POLICY)),
        F("custom_config_file", STRING),
        F("stat_name_length", INT32),
        F("concurrency", _INT32_VALUE),
        F("proxy_bootstrap_template_path", STRING),
        F("interception_mode", enum_kind(INBOUND_INTERCEPTION_MODE)),
        F("tracing", _msg(TRACING)),
        F("sds", _msg(SDS)),
        F("envoy_access_log_service", _msg(REMOTE_SERVICE)),
        F("envoy_metrics_service", _msg(REMOTE_SERVICE)),
        F("proxy_metadata", _STRING_MAP),
        F("runtime_values", _STRING_MAP),
        F("status_port", INT32),
        F("extra_stat_tags", _STRINGS),
        F("gateway_topology", _msg(TOPOLOGY)),
        F("termination_drain_duration", DURATION),
        F("mesh_id", STRING),
        F("readiness_probe", _msg(READINESS_PROBE)),
        F("proxy_stats_matcher", _msg(PROXY_STATS_MATCHER)),
        F("hold_application_until_proxy_starts", _BOOL_VALUE),
        F("ca_certificates_pem", _STRINGS),
        F("image", _msg(PROXY_IMAGE)),
        F("private_key_provider", _msg(PRIVATE_KEY_PROVIDER)),
        F("proxy_headers", _msg(PROXY_HEADERS)),
        F("file_flush_interval", DURATION),
        F("file_flush_min_size_kb", UINT32),
        F("stats_compression", _BOOL_VALUE),
        F("connection_settings", _msg(CONNECTION_SETTINGS)),
    ],
)

# ------------------------------------------------------------------------------------------------------------
# istio.mesh.v1alpha1: config.proto

_INGRESS_CONTROLLER_MODE: Final = _enum("v1alpha1.MeshConfig_IngressControllerMode", "UNSPECIFIED OFF DEFAULT STRICT")
_ACCESS_LOG_ENCODING: Final = _enum("v1alpha1.MeshConfig_AccessLogEncoding", "TEXT JSON")
_OUTBOUND_MODE: Final = _enum(
    "v1alpha1.MeshConfig_OutboundTrafficPolicy_Mode", "REGISTRY_ONLY ALLOW_ANY ALLOW_ANY_DYNAMIC_DNS=3"
)
INBOUND_TRAFFIC_POLICY_MODE: Final = _enum("v1alpha1.MeshConfig_InboundTrafficPolicy_Mode", "PASSTHROUGH LOCALHOST")
_H2_UPGRADE_POLICY: Final = _enum("v1alpha1.MeshConfig_H2UpgradePolicy", "DO_NOT_UPGRADE UPGRADE")
_SCOPE: Final = _enum("v1alpha1.MeshConfig_ServiceScopeConfigs_Scope", "LOCAL GLOBAL")
_RESOURCE: Final = _enum("v1alpha1.Resource", "SERVICE_REGISTRY")
_NORMALIZATION: Final = _enum(
    "v1alpha1.MeshConfig_ProxyPathNormalization_NormalizationType",
    "DEFAULT NONE BASE MERGE_SLASHES DECODE_AND_MERGE_SLASHES",
)
_TLS_PROTOCOL: Final = _enum("v1alpha1.MeshConfig_TLSConfig_TLSProtocol", "TLS_AUTO TLSV1_2 TLSV1_3")
_VISIBILITY: Final = _enum("v1alpha1.ServiceEntryVisibility_Visibility", "VISIBILITY_UNSPECIFIED NONE NAMESPACE PUBLIC")
SERVICE_ATTRIBUTE_ENRICHMENT: Final = _enum(
    "v1alpha1.MeshConfig_ExtensionProvider_ServiceAttributeEnrichment",
    "ISTIO_CANONICAL OTEL_SEMANTIC_CONVENTIONS",
)

_LABEL_SELECTOR_REQUIREMENT: Final = _mesh(
    "LabelSelectorRequirement",
    [
        F("key", STRING),
        F("operator", STRING),
        F("values", _STRINGS),
    ],
)
# The fields of this message are declared with camelCase names in the .proto file.
LABEL_SELECTOR: Final = _mesh(
    "LabelSelector",
    [
        F("matchLabels", _STRING_MAP),
        F("matchExpressions", _rep(_LABEL_SELECTOR_REQUIREMENT)),
    ],
)

_SEV_MATCH_RULE: Final = _mesh(
    "ServiceEntryVisibility.MatchRule",
    [
        Oneof("matcher", F("namespace_selector", _msg(LABEL_SELECTOR))),
    ],
)
_SEV_POLICY: Final = _mesh(
    "ServiceEntryVisibility.Policy",
    [
        F("visibility", enum_kind(_VISIBILITY)),
        F("matching_rules", _rep(_SEV_MATCH_RULE)),
    ],
)
SERVICE_ENTRY_VISIBILITY: Final = _mesh(
    "ServiceEntryVisibility",
    [
        F("default_visibility", enum_kind(_VISIBILITY)),
        F("apply_to_sidecars", BOOL),
        F("policies", _rep(_SEV_POLICY)),
    ],
)

CONFIG_SOURCE: Final = _mesh(
    "ConfigSource",
    [
        F("address", STRING),
        F("tls_settings", _msg(CLIENT_TLS_SETTINGS)),
        F("subscribed_resources", list_of(enum_kind(_RESOURCE))),
    ],
)
CERTIFICATE: Final = _mesh("Certificate", [F("secret_name", STRING), F("dns_names", _STRINGS)])

_OUTBOUND_TRAFFIC_POLICY: Final = _mesh(
    "MeshConfig.OutboundTrafficPolicy",
    [
        F("mode", enum_kind(_OUTBOUND_MODE)),
        F("tls", _msg(CLIENT_TLS_SETTINGS)),
    ],
)
_INBOUND_TRAFFIC_POLICY: Final = _mesh(
    "MeshConfig.InboundTrafficPolicy",
    [
        F("mode", enum_kind(INBOUND_TRAFFIC_POLICY_MODE)),
    ],
)
_CERTIFICATE_DATA: Final = _mesh(
    "MeshConfig.CertificateData",
    [
        Oneof("certificate_data", F("pem", STRING), F("spiffe_bundle_url", STRING)),
        F("cert_signers", _STRINGS),
        F("trust_domains", _STRINGS),
    ],
)
_SERVICE_SETTINGS_SETTINGS: Final = _mesh("MeshConfig.ServiceSettings.Settings", [F("cluster_local", BOOL)])
_SERVICE_SETTINGS: Final = _mesh(
    "MeshConfig.ServiceSettings",
    [
        F("settings", _msg(_SERVICE_SETTINGS_SETTINGS)),
        F("hosts", _STRINGS),
    ],
)
_SERVICE_SCOPE_CONFIGS: Final = _mesh(
    "MeshConfig.ServiceScopeConfigs",
    [
        F("namespace_selector", _msg(LABEL_SELECTOR)),
        F("services_selector", _msg(LABEL_SELECTOR)),
        F("scope", enum_kind(_SCOPE)),
    ],
)
_CA: Final = _mesh(
    "MeshConfig.CA",
    [
        F("address", STRING),
        F("tls_settings", _msg(CLIENT_TLS_SETTINGS)),
        F("request_timeout", DURATION),
        F("istiod_side", BOOL),
    ],
)


def _ep(name: str, fields: Any) -> MessageType:
    return _mesh("MeshConfig.ExtensionProvider." + name, fields)


_EP_HTTP_HEADER: Final = _ep(
    "HttpHeader",
    [
        F("name", STRING),
        Oneof("header_value", F("value", STRING), F("env_name", STRING)),
    ],
)
_EP_HTTP_SERVICE: Final = _ep(
    "HttpService",
    [
        F("path", STRING),
        F("timeout", DURATION),
        F("headers", _rep(_EP_HTTP_HEADER)),
    ],
)
_EP_GRPC_SERVICE: Final = _ep(
    "GrpcService",
    [
        F("timeout", DURATION),
        F("initial_metadata", _rep(_EP_HTTP_HEADER)),
    ],
)
_EP_REQUEST_BODY: Final = _ep(
    "EnvoyExternalAuthorizationRequestBody",
    [
        F("max_request_bytes", UINT32),
        F("allow_partial_message", BOOL),
        F("pack_as_bytes", BOOL),
    ],
)
_EP_EXT_AUTHZ_HTTP: Final = _ep(
    "EnvoyExternalAuthorizationHttpProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("timeout", DURATION),
        F("path_prefix", STRING),
        F("fail_open", BOOL),
        F("clear_route_cache", BOOL),
        F("status_on_error", STRING),
        F("include_headers_in_check", _STRINGS),
        F("include_request_headers_in_check", _STRINGS),
        F("include_additional_headers_in_check", _STRING_MAP),
        F("include_request_body_in_check", _msg(_EP_REQUEST_BODY)),
        F("headers_to_upstream_on_allow", _STRINGS),
        F("headers_to_downstream_on_deny", _STRINGS),
        F("headers_to_downstream_on_allow", _STRINGS),
    ],
)
_EP_EXT_AUTHZ_GRPC: Final = _ep(
    "EnvoyExternalAuthorizationGrpcProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("timeout", DURATION),
        F("fail_open", BOOL),
        F("clear_route_cache", BOOL),
        F("status_on_error", STRING),
        F("include_request_body_in_check", _msg(_EP_REQUEST_BODY)),
    ],
)
_ZIPKIN_TRACE_CONTEXT: Final = _enum(
    "v1alpha1.MeshConfig_ExtensionProvider_ZipkinTracingProvider_TraceContextOption",
    "USE_B3 USE_B3_WITH_W3C_PROPAGATION",
)
_EP_ZIPKIN: Final = _ep(
    "ZipkinTracingProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("max_tag_length", UINT32),
        F("enable_64bit_trace_id", BOOL),
        F("path", STRING),
        F("trace_context_option", enum_kind(_ZIPKIN_TRACE_CONTEXT)),
        F("timeout", DURATION),
        F("headers", _rep(_EP_HTTP_HEADER)),
    ],
)
_EP_LIGHTSTEP: Final = _ep(
    "LightstepTracingProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("access_token", STRING),
        F("max_tag_length", UINT32),
    ],
)
_EP_DATADOG: Final = _ep(
    "DatadogTracingProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("max_tag_length", UINT32),
    ],
)
_EP_SKYWALKING: Final = _ep(
    "SkyWalkingTracingProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("access_token", STRING),
    ],
)
_EP_STACKDRIVER_LOGGING: Final = _ep("StackdriverProvider.Logging", [F("labels", _STRING_MAP)])
_EP_STACKDRIVER: Final = _ep(
    "StackdriverProvider",
    [
        F("debug", BOOL),
        F("max_number_of_attributes", _INT64_VALUE),
        F("max_number_of_annotations", _INT64_VALUE),
        F("max_number_of_message_events", _INT64_VALUE),
        F("max_tag_length", UINT32),
        F("logging", _msg(_EP_STACKDRIVER_LOGGING)),
    ],
)
_OPENCENSUS_TRACE_CONTEXT: Final = _enum(
    "v1alpha1.MeshConfig_ExtensionProvider_OpenCensusAgentTracingProvider_TraceContext",
    "UNSPECIFIED W3C_TRACE_CONTEXT GRPC_BIN CLOUD_TRACE_CONTEXT B3",
)
_EP_OPENCENSUS: Final = _ep(
    "OpenCensusAgentTracingProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("context", list_of(enum_kind(_OPENCENSUS_TRACE_CONTEXT))),
        F("max_tag_length", UINT32),
    ],
)
_EP_PROMETHEUS: Final = _ep("PrometheusMetricsProvider", [])
_EP_FILE_LOG_FORMAT: Final = _ep(
    "EnvoyFileAccessLogProvider.LogFormat",
    [
        Oneof("log_format", F("text", STRING), F("labels", STRUCT)),
    ],
)
_EP_FILE_ACCESS_LOG: Final = _ep(
    "EnvoyFileAccessLogProvider",
    [
        F("path", STRING),
        F("log_format", _msg(_EP_FILE_LOG_FORMAT)),
        F("omit_empty_values", BOOL),
    ],
)
_EP_HTTP_ALS: Final = _ep(
    "EnvoyHttpGrpcV3LogProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("log_name", STRING),
        F("filter_state_objects_to_log", _STRINGS),
        F("additional_request_headers_to_log", _STRINGS),
        F("additional_response_headers_to_log", _STRINGS),
        F("additional_response_trailers_to_log", _STRINGS),
    ],
)
_EP_TCP_ALS: Final = _ep(
    "EnvoyTcpGrpcV3LogProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("log_name", STRING),
        F("filter_state_objects_to_log", _STRINGS),
    ],
)
_EP_OTEL_LOG_FORMAT: Final = _ep(
    "EnvoyOpenTelemetryLogProvider.LogFormat",
    [
        F("text", STRING),
        F("labels", STRUCT),
    ],
)
_EP_OTEL_ALS: Final = _ep(
    "EnvoyOpenTelemetryLogProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("log_name", STRING),
        F("log_format", _msg(_EP_OTEL_LOG_FORMAT)),
    ],
)
_EP_DYNATRACE_API: Final = _ep(
    "OpenTelemetryTracingProvider.DynatraceSampler.DynatraceApi",
    [
        F("service", STRING),
        F("port", UINT32),
        F("http", _msg(_EP_HTTP_SERVICE)),
    ],
)
_EP_DYNATRACE_SAMPLER: Final = _ep(
    "OpenTelemetryTracingProvider.DynatraceSampler",
    [
        F("tenant", STRING),
        F("cluster_id", INT32),
        F("root_spans_per_minute", UINT32),
        F("http_service", _msg(_EP_DYNATRACE_API)),
    ],
)
_EP_ENVIRONMENT_DETECTOR: Final = _ep("ResourceDetectors.EnvironmentResourceDetector", [])
_EP_DYNATRACE_DETECTOR: Final = _ep("ResourceDetectors.DynatraceResourceDetector", [])
_EP_RESOURCE_DETECTORS: Final = _ep(
    "ResourceDetectors",
    [
        F("environment", _msg(_EP_ENVIRONMENT_DETECTOR)),
        F("dynatrace", _msg(_EP_DYNATRACE_DETECTOR)),
    ],
)
OPENTELEMETRY_PROVIDER: Final = _ep(
    "OpenTelemetryTracingProvider",
    [
        F("service", STRING),
        F("port", UINT32),
        F("max_tag_length", UINT32),
        F("http", _msg(_EP_HTTP_SERVICE)),
        F("grpc", _msg(_EP_GRPC_SERVICE)),
        F("resource_detectors", _msg(_EP_RESOURCE_DETECTORS)),
        F("service_attribute_enrichment", enum_kind(SERVICE_ATTRIBUTE_ENRICHMENT)),
        Oneof("sampling", F("dynatrace_sampler", _msg(_EP_DYNATRACE_SAMPLER)), colliding=("dynatrace_sampler",)),
    ],
)
_EP_SDS: Final = _ep("SDSProvider", [F("name", STRING), F("service", STRING), F("port", UINT32)])

EXTENSION_PROVIDER: Final = _mesh(
    "MeshConfig.ExtensionProvider",
    [
        F("name", STRING),
        Oneof(
            "provider",
            F("envoy_ext_authz_http", _msg(_EP_EXT_AUTHZ_HTTP)),
            F("envoy_ext_authz_grpc", _msg(_EP_EXT_AUTHZ_GRPC)),
            F("zipkin", _msg(_EP_ZIPKIN)),
            F("lightstep", _msg(_EP_LIGHTSTEP)),
            F("datadog", _msg(_EP_DATADOG)),
            F("stackdriver", _msg(_EP_STACKDRIVER)),
            F("opencensus", _msg(_EP_OPENCENSUS)),
            F("skywalking", _msg(_EP_SKYWALKING)),
            F("opentelemetry", _msg(OPENTELEMETRY_PROVIDER)),
            F("prometheus", _msg(_EP_PROMETHEUS)),
            F("envoy_file_access_log", _msg(_EP_FILE_ACCESS_LOG)),
            F("envoy_http_als", _msg(_EP_HTTP_ALS)),
            F("envoy_tcp_als", _msg(_EP_TCP_ALS)),
            F("envoy_otel_als", _msg(_EP_OTEL_ALS)),
            F("sds", _msg(_EP_SDS)),
        ),
    ],
)

_DEFAULT_PROVIDERS: Final = _mesh(
    "MeshConfig.DefaultProviders",
    [
        F("tracing", _STRINGS),
        F("metrics", _STRINGS),
        F("access_logging", _STRINGS),
    ],
)
_PATH_NORMALIZATION: Final = _mesh(
    "MeshConfig.ProxyPathNormalization",
    [
        F("normalization", enum_kind(_NORMALIZATION)),
    ],
)
_TLS_CONFIG: Final = _mesh(
    "MeshConfig.TLSConfig",
    [
        F("min_protocol_version", enum_kind(_TLS_PROTOCOL)),
        F("ecdh_curves", _STRINGS),
        F("cipher_suites", _STRINGS),
    ],
)
_DEFAULT_TRAFFIC_POLICY: Final = _mesh(
    "MeshConfig.DefaultTrafficPolicy",
    [
        F("connection_pool", _msg(_CONNECTION_POOL)),
        F("outlier_detection", _msg(_OUTLIER_DETECTION)),
    ],
)

MESH_CONFIG: Final = _mesh(
    "MeshConfig",
    [
        F("proxy_listen_port", INT32),
        F("proxy_inbound_listen_port", INT32),
        F("proxy_http_port", INT32),
        F("connect_timeout", DURATION),
        F("hbone_idle_timeout", DURATION),
        F("protocol_detection_timeout", DURATION),
        F("tcp_keepalive", _msg(TCP_KEEPALIVE)),
        F("ingress_class", STRING),
        F("ingress_service", STRING),
        F("ingress_controller_mode", enum_kind(_INGRESS_CONTROLLER_MODE)),
        F("ingress_selector", STRING),
        F("enable_tracing", BOOL),
        F("access_log_file", STRING),
        F("access_log_format", STRING),
        F("access_log_encoding", enum_kind(_ACCESS_LOG_ENCODING)),
        F("enable_envoy_access_log_service", BOOL),
        F("disable_envoy_listener_log", BOOL),
        F("default_config", _msg(PROXY_CONFIG)),
        F("outbound_traffic_policy", _msg(_OUTBOUND_TRAFFIC_POLICY)),
        F("inbound_traffic_policy", _msg(_INBOUND_TRAFFIC_POLICY)),
        F("config_sources", _rep(CONFIG_SOURCE)),
        F("enable_auto_mtls", _BOOL_VALUE),
        F("trust_domain", STRING),
        F("trust_domain_aliases", _STRINGS),
        F("ca_certificates", _rep(_CERTIFICATE_DATA)),
        F("default_service_export_to", _STRINGS),
        F("default_virtual_service_export_to", _STRINGS),
        F("default_destination_rule_export_to", _STRINGS),
        F("root_namespace", STRING),
        F("locality_lb_setting", _msg(LOCALITY_LB_SETTING)),
        F("zone_aware_lb_setting", _msg(_ZONE_AWARE_LB)),
        F("dns_refresh_rate", DURATION),
        F("h2_upgrade_policy", enum_kind(_H2_UPGRADE_POLICY)),
        F("inbound_cluster_stat_name", STRING),
        F("outbound_cluster_stat_name", STRING),
        F("certificates", _rep(CERTIFICATE)),
        F("service_settings", _rep(_SERVICE_SETTINGS)),
        F("service_scope_configs", _rep(_SERVICE_SCOPE_CONFIGS)),
        F("enable_prometheus_merge", _BOOL_VALUE),
        F("verify_certificate_at_client", _BOOL_VALUE),
        F("ca", _msg(_CA)),
        F("extension_providers", _rep(EXTENSION_PROVIDER)),
        F("default_providers", _msg(_DEFAULT_PROVIDERS)),
        F("discovery_selectors", _rep(LABEL_SELECTOR)),
        F("path_normalization", _msg(_PATH_NORMALIZATION)),
        F("default_http_retry_policy", _msg(_HTTP_RETRY)),
        F("mesh_mTLS", _msg(_TLS_CONFIG)),
        F("tls_defaults", _msg(_TLS_CONFIG)),
        F("default_traffic_policy", _msg(_DEFAULT_TRAFFIC_POLICY)),
        F("service_entry_visibility", _msg(SERVICE_ENTRY_VISIBILITY)),
    ],
)

#: Istio's built-in ProxyConfig defaults (``mesh.DefaultProxyConfig()``), proto-JSON.
DEFAULT_PROXY_CONFIG: Final[Mapping[str, Any]] = {
    "configPath": "./etc/istio/proxy",
    "binaryPath": "/usr/local/bin/envoy",
    "serviceCluster": "istio-proxy",
    "drainDuration": "45s",
    "discoveryAddress": "istiod.istio-system.svc:15012",
    "proxyAdminPort": 15000,
    "controlPlaneAuthPolicy": "MUTUAL_TLS",
    "statNameLength": 189,
    "statusPort": 15020,
    "terminationDrainDuration": "5s",
}

# ------------------------------------------------------------------------------------------------------------
# Kubernetes (k8s.io/api/core/v1, k8s.io/apimachinery meta/v1 and types)


def G(go_name: str, json_name: str, kind: Kind, *, omitempty: bool = True) -> GoField:
    return GoField(go_name, json_name, kind, omitempty=omitempty)


def _loose(go_type: str) -> Kind:
    return loose_kind(go_type)


_INT32_PTR: Final = pointer_to(INT32)
_INT64_PTR: Final = pointer_to(INT64)
_BOOL_PTR: Final = pointer_to(BOOL)
_STRING_PTR: Final = pointer_to(STRING)
_RESOURCE_LIST: Final = map_of(named_string("resource.Quantity"), "v1.ResourceName")


def _named(go_type: str) -> Kind:
    return named_string(go_type)


def _strings(go_type: str = "string") -> Kind:
    return list_of(named_string(go_type))


def _ptr_named(go_type: str) -> Kind:
    return pointer_to(named_string(go_type))


TYPE_META: Final = StructType(
    "v1.TypeMeta",
    [
        G("Kind", "kind", STRING),
        G("APIVersion", "apiVersion", STRING),
    ],
)

OWNER_REFERENCE: Final = StructType(
    "v1.OwnerReference",
    [
        G("APIVersion", "apiVersion", STRING, omitempty=False),
        G("Kind", "kind", STRING, omitempty=False),
        G("Name", "name", STRING, omitempty=False),
        G("UID", "uid", _named("types.UID"), omitempty=False),
        G("Controller", "controller", _BOOL_PTR),
        G("BlockOwnerDeletion", "blockOwnerDeletion", _BOOL_PTR),
    ],
)

_OBJECT_META_FIELDS: Final = (
    "Name",
    "GenerateName",
    "Namespace",
    "SelfLink",
    "UID",
    "ResourceVersion",
    "Generation",
    "CreationTimestamp",
    "DeletionTimestamp",
    "DeletionGracePeriodSeconds",
    "Labels",
    "Annotations",
    "OwnerReferences",
    "Finalizers",
    "ManagedFields",
)

OBJECT_META: Final = StructType(
    "v1.ObjectMeta",
    [
        G("Name", "name", STRING),
        G("GenerateName", "generateName", STRING),
        G("Namespace", "namespace", STRING),
        G("SelfLink", "selfLink", STRING),
        G("UID", "uid", _named("types.UID")),
        G("ResourceVersion", "resourceVersion", STRING),
        G("Generation", "generation", INT64),
        # A zero metav1.Time is dropped (omitzero); a set one is its RFC 3339 text.
        G("CreationTimestamp", "creationTimestamp", _named("v1.Time")),
        G("DeletionTimestamp", "deletionTimestamp", _ptr_named("v1.Time")),
        G("DeletionGracePeriodSeconds", "deletionGracePeriodSeconds", _INT64_PTR),
        G("Labels", "labels", _STRING_MAP),
        G("Annotations", "annotations", _STRING_MAP),
        G("OwnerReferences", "ownerReferences", list_of(struct_kind(OWNER_REFERENCE))),
        G("Finalizers", "finalizers", _STRINGS),
        G("ManagedFields", "managedFields", list_of(_loose("v1.ManagedFieldsEntry"))),
    ],
    getters=_OBJECT_META_FIELDS,
)

NAMESPACED_NAME: Final = StructType(
    "types.NamespacedName",
    [
        G("Namespace", "Namespace", STRING, omitempty=False),
        G("Name", "Name", STRING, omitempty=False),
    ],
    stringer=lambda s: f"{s.go_field('Namespace')}/{s.go_field('Name')}",
)

CONTAINER_PORT: Final = StructType(
    "v1.ContainerPort",
    [
        G("Name", "name", STRING),
        G("HostPort", "hostPort", INT32),
        G("ContainerPort", "containerPort", INT32, omitempty=False),
        G("Protocol", "protocol", _named("v1.Protocol")),
        G("HostIP", "hostIP", STRING),
    ],
)

OBJECT_FIELD_SELECTOR: Final = StructType(
    "v1.ObjectFieldSelector",
    [
        G("APIVersion", "apiVersion", STRING),
        G("FieldPath", "fieldPath", STRING, omitempty=False),
    ],
)
RESOURCE_FIELD_SELECTOR: Final = StructType(
    "v1.ResourceFieldSelector",
    [
        G("ContainerName", "containerName", STRING),
        G("Resource", "resource", STRING, omitempty=False),
        G("Divisor", "divisor", _named("resource.Quantity")),
    ],
)
ENV_VAR_SOURCE: Final = StructType(
    "v1.EnvVarSource",
    [
        G("FieldRef", "fieldRef", struct_kind(OBJECT_FIELD_SELECTOR, pointer=True)),
        G("ResourceFieldRef", "resourceFieldRef", struct_kind(RESOURCE_FIELD_SELECTOR, pointer=True)),
        G("ConfigMapKeyRef", "configMapKeyRef", _loose("*v1.ConfigMapKeySelector")),
        G("SecretKeyRef", "secretKeyRef", _loose("*v1.SecretKeySelector")),
        G("FileKeyRef", "fileKeyRef", _loose("*v1.FileKeySelector")),
    ],
)
ENV_VAR: Final = StructType(
    "v1.EnvVar",
    [
        G("Name", "name", STRING, omitempty=False),
        G("Value", "value", STRING),
        G("ValueFrom", "valueFrom", struct_kind(ENV_VAR_SOURCE, pointer=True)),
    ],
)

RESOURCE_REQUIREMENTS: Final = StructType(
    "v1.ResourceRequirements",
    [
        G("Limits", "limits", _RESOURCE_LIST),
        G("Requests", "requests", _RESOURCE_LIST),
        G("Claims", "claims", list_of(_loose("v1.ResourceClaim"))),
    ],
)

VOLUME_MOUNT: Final = StructType(
    "v1.VolumeMount",
    [
        G("Name", "name", STRING, omitempty=False),
        G("ReadOnly", "readOnly", BOOL),
        G("RecursiveReadOnly", "recursiveReadOnly", _ptr_named("v1.RecursiveReadOnlyMode")),
        G("MountPath", "mountPath", STRING, omitempty=False),
        G("SubPath", "subPath", STRING),
        G("MountPropagation", "mountPropagation", _ptr_named("v1.MountPropagationMode")),
        G("SubPathExpr", "subPathExpr", STRING),
        G("BindMountOptions", "bindMountOptions", _STRINGS),
    ],
)

CAPABILITIES: Final = StructType(
    "v1.Capabilities",
    [
        G("Add", "add", _strings("v1.Capability")),
        G("Drop", "drop", _strings("v1.Capability")),
    ],
)
SECCOMP_PROFILE: Final = StructType(
    "v1.SeccompProfile",
    [
        G("Type", "type", _named("v1.SeccompProfileType"), omitempty=False),
        G("LocalhostProfile", "localhostProfile", _STRING_PTR),
    ],
)
SECURITY_CONTEXT: Final = StructType(
    "v1.SecurityContext",
    [
        G("Capabilities", "capabilities", struct_kind(CAPABILITIES, pointer=True)),
        G("Privileged", "privileged", _BOOL_PTR),
        G("SELinuxOptions", "seLinuxOptions", _loose("*v1.SELinuxOptions")),
        G("WindowsOptions", "windowsOptions", _loose("*v1.WindowsSecurityContextOptions")),
        G("RunAsUser", "runAsUser", _INT64_PTR),
        G("RunAsGroup", "runAsGroup", _INT64_PTR),
        G("RunAsNonRoot", "runAsNonRoot", _BOOL_PTR),
        G("ReadOnlyRootFilesystem", "readOnlyRootFilesystem", _BOOL_PTR),
        G("AllowPrivilegeEscalation", "allowPrivilegeEscalation", _BOOL_PTR),
        G("ProcMount", "procMount", _ptr_named("v1.ProcMountType")),
        G("SeccompProfile", "seccompProfile", struct_kind(SECCOMP_PROFILE, pointer=True)),
        G("AppArmorProfile", "appArmorProfile", _loose("*v1.AppArmorProfile")),
    ],
)
POD_SECURITY_CONTEXT: Final = StructType(
    "v1.PodSecurityContext",
    [
        G("SELinuxOptions", "seLinuxOptions", _loose("*v1.SELinuxOptions")),
        G("WindowsOptions", "windowsOptions", _loose("*v1.WindowsSecurityContextOptions")),
        G("RunAsUser", "runAsUser", _INT64_PTR),
        G("RunAsGroup", "runAsGroup", _INT64_PTR),
        G("RunAsNonRoot", "runAsNonRoot", _BOOL_PTR),
        G("SupplementalGroups", "supplementalGroups", list_of(INT64)),
        G("SupplementalGroupsPolicy", "supplementalGroupsPolicy", _ptr_named("v1.SupplementalGroupsPolicy")),
        G("FSGroup", "fsGroup", _INT64_PTR),
        G("Sysctls", "sysctls", list_of(_loose("v1.Sysctl"))),
        G("FSGroupChangePolicy", "fsGroupChangePolicy", _ptr_named("v1.PodFSGroupChangePolicy")),
        G("SeccompProfile", "seccompProfile", struct_kind(SECCOMP_PROFILE, pointer=True)),
        G("AppArmorProfile", "appArmorProfile", _loose("*v1.AppArmorProfile")),
        G("SELinuxChangePolicy", "seLinuxChangePolicy", _ptr_named("v1.PodSELinuxChangePolicy")),
    ],
)

# Probe embeds ProbeHandler: its fields are promoted into Probe (and its JSON object).
PROBE: Final = StructType(
    "v1.Probe",
    [
        G("Exec", "exec", _loose("*v1.ExecAction")),
        G("HTTPGet", "httpGet", _loose("*v1.HTTPGetAction")),
        G("TCPSocket", "tcpSocket", _loose("*v1.TCPSocketAction")),
        G("GRPC", "grpc", _loose("*v1.GRPCAction")),
        G("InitialDelaySeconds", "initialDelaySeconds", INT32),
        G("TimeoutSeconds", "timeoutSeconds", INT32),
        G("PeriodSeconds", "periodSeconds", INT32),
        G("SuccessThreshold", "successThreshold", INT32),
        G("FailureThreshold", "failureThreshold", INT32),
        G("TerminationGracePeriodSeconds", "terminationGracePeriodSeconds", _INT64_PTR),
    ],
)

CONTAINER: Final = StructType(
    "v1.Container",
    [
        G("Name", "name", STRING, omitempty=False),
        G("Image", "image", STRING),
        G("Command", "command", _STRINGS),
        G("Args", "args", _STRINGS),
        G("WorkingDir", "workingDir", STRING),
        G("Ports", "ports", list_of(struct_kind(CONTAINER_PORT))),
        G("EnvFrom", "envFrom", list_of(_loose("v1.EnvFromSource"))),
        G("Env", "env", list_of(struct_kind(ENV_VAR))),
        # A struct value: omitempty never drops it, so it is always written (as {} when empty).
        G("Resources", "resources", struct_kind(RESOURCE_REQUIREMENTS)),
        G("ResizePolicy", "resizePolicy", list_of(_loose("v1.ContainerResizePolicy"))),
        G("RestartPolicy", "restartPolicy", _ptr_named("v1.ContainerRestartPolicy")),
        G("RestartPolicyRules", "restartPolicyRules", list_of(_loose("v1.ContainerRestartRule"))),
        G("VolumeMounts", "volumeMounts", list_of(struct_kind(VOLUME_MOUNT))),
        G("VolumeDevices", "volumeDevices", list_of(_loose("v1.VolumeDevice"))),
        G("LivenessProbe", "livenessProbe", struct_kind(PROBE, pointer=True)),
        G("ReadinessProbe", "readinessProbe", struct_kind(PROBE, pointer=True)),
        G("StartupProbe", "startupProbe", struct_kind(PROBE, pointer=True)),
        G("Lifecycle", "lifecycle", _loose("*v1.Lifecycle")),
        G("TerminationMessagePath", "terminationMessagePath", STRING),
        G("TerminationMessagePolicy", "terminationMessagePolicy", _named("v1.TerminationMessagePolicy")),
        G("ImagePullPolicy", "imagePullPolicy", _named("v1.PullPolicy")),
        G("SecurityContext", "securityContext", struct_kind(SECURITY_CONTEXT, pointer=True)),
        G("Stdin", "stdin", BOOL),
        G("StdinOnce", "stdinOnce", BOOL),
        G("TTY", "tty", BOOL),
    ],
)

LOCAL_OBJECT_REFERENCE: Final = StructType("v1.LocalObjectReference", [G("Name", "name", STRING)])

# Volume embeds VolumeSource; its many source types are read loosely.
_VOLUME_SOURCES: Final = (
    ("HostPath", "hostPath"),
    ("EmptyDir", "emptyDir"),
    ("GCEPersistentDisk", "gcePersistentDisk"),
    ("AWSElasticBlockStore", "awsElasticBlockStore"),
    ("GitRepo", "gitRepo"),
    ("Secret", "secret"),
    ("NFS", "nfs"),
    ("ISCSI", "iscsi"),
    ("Glusterfs", "glusterfs"),
    ("PersistentVolumeClaim", "persistentVolumeClaim"),
    ("RBD", "rbd"),
    ("FlexVolume", "flexVolume"),
    ("Cinder", "cinder"),
    ("CephFS", "cephfs"),
    ("Flocker", "flocker"),
    ("DownwardAPI", "downwardAPI"),
    ("FC", "fc"),
    ("AzureFile", "azureFile"),
    ("ConfigMap", "configMap"),
    ("VsphereVolume", "vsphereVolume"),
    ("Quobyte", "quobyte"),
    ("AzureDisk", "azureDisk"),
    ("PhotonPersistentDisk", "photonPersistentDisk"),
    ("Projected", "projected"),
    ("PortworxVolume", "portworxVolume"),
    ("ScaleIO", "scaleIO"),
    ("StorageOS", "storageos"),
    ("CSI", "csi"),
    ("Ephemeral", "ephemeral"),
    ("Image", "image"),
)
VOLUME: Final = StructType(
    "v1.Volume",
    [
        G("Name", "name", STRING, omitempty=False),
        *(G(go, js, _loose(f"*v1.{go}VolumeSource")) for go, js in _VOLUME_SOURCES),
    ],
)

POD_SPEC: Final = StructType(
    "v1.PodSpec",
    [
        G("Volumes", "volumes", list_of(struct_kind(VOLUME))),
        G("InitContainers", "initContainers", list_of(struct_kind(CONTAINER))),
        G("Containers", "containers", list_of(struct_kind(CONTAINER)), omitempty=False),
        G("EphemeralContainers", "ephemeralContainers", list_of(_loose("v1.EphemeralContainer"))),
        G("RestartPolicy", "restartPolicy", _named("v1.RestartPolicy")),
        G("TerminationGracePeriodSeconds", "terminationGracePeriodSeconds", _INT64_PTR),
        G("ActiveDeadlineSeconds", "activeDeadlineSeconds", _INT64_PTR),
        G("DNSPolicy", "dnsPolicy", _named("v1.DNSPolicy")),
        G("NodeSelector", "nodeSelector", _STRING_MAP),
        G("ServiceAccountName", "serviceAccountName", STRING),
        G("DeprecatedServiceAccount", "serviceAccount", STRING),
        G("AutomountServiceAccountToken", "automountServiceAccountToken", _BOOL_PTR),
        G("NodeName", "nodeName", STRING),
        G("HostNetwork", "hostNetwork", BOOL),
        G("HostPID", "hostPID", BOOL),
        G("HostIPC", "hostIPC", BOOL),
        G("ShareProcessNamespace", "shareProcessNamespace", _BOOL_PTR),
        G("SecurityContext", "securityContext", struct_kind(POD_SECURITY_CONTEXT, pointer=True)),
        G("ImagePullSecrets", "imagePullSecrets", list_of(struct_kind(LOCAL_OBJECT_REFERENCE))),
        G("Hostname", "hostname", STRING),
        G("Subdomain", "subdomain", STRING),
        G("Affinity", "affinity", _loose("*v1.Affinity")),
        G("SchedulerName", "schedulerName", STRING),
        G("Tolerations", "tolerations", list_of(_loose("v1.Toleration"))),
        G("HostAliases", "hostAliases", list_of(_loose("v1.HostAlias"))),
        G("PriorityClassName", "priorityClassName", STRING),
        G("Priority", "priority", _INT32_PTR),
        G("DNSConfig", "dnsConfig", _loose("*v1.PodDNSConfig")),
        G("ReadinessGates", "readinessGates", list_of(_loose("v1.PodReadinessGate"))),
        G("RuntimeClassName", "runtimeClassName", _STRING_PTR),
        G("EnableServiceLinks", "enableServiceLinks", _BOOL_PTR),
        G("PreemptionPolicy", "preemptionPolicy", _ptr_named("v1.PreemptionPolicy")),
        G("Overhead", "overhead", _RESOURCE_LIST),
        G(
            "TopologySpreadConstraints",
            "topologySpreadConstraints",
            list_of(_loose("v1.TopologySpreadConstraint")),
        ),
        G("SetHostnameAsFQDN", "setHostnameAsFQDN", _BOOL_PTR),
        G("OS", "os", _loose("*v1.PodOS")),
        G("HostUsers", "hostUsers", _BOOL_PTR),
        G("SchedulingGates", "schedulingGates", list_of(_loose("v1.PodSchedulingGate"))),
        G("ResourceClaims", "resourceClaims", list_of(_loose("v1.PodResourceClaim"))),
        G("Resources", "resources", struct_kind(RESOURCE_REQUIREMENTS, pointer=True)),
        G("HostnameOverride", "hostnameOverride", _STRING_PTR),
    ],
)

# ------------------------------------------------------------------------------------------------------------
# The template data

# Go struct without json tags: encoding/json uses the Go field names.
SIDECAR_TEMPLATE_DATA: Final = StructType(
    "inject.SidecarTemplateData",
    [
        G("TypeMeta", "TypeMeta", struct_kind(TYPE_META), omitempty=False),
        G("DeploymentMeta", "DeploymentMeta", struct_kind(NAMESPACED_NAME), omitempty=False),
        G("ObjectMeta", "ObjectMeta", struct_kind(OBJECT_META), omitempty=False),
        G("Spec", "Spec", struct_kind(POD_SPEC), omitempty=False),
        G("ProxyConfig", "ProxyConfig", message_kind(PROXY_CONFIG), omitempty=False),
        G("MeshConfig", "MeshConfig", message_kind(MESH_CONFIG), omitempty=False),
        G("Values", "Values", AnyKind("map[string]interface {}"), omitempty=False),
        G("Revision", "Revision", STRING, omitempty=False),
        G("NativeSidecars", "NativeSidecars", BOOL, omitempty=False),
        G("ProxyImage", "ProxyImage", STRING, omitempty=False),
        G("ProxyInitImage", "ProxyInitImage", STRING, omitempty=False),
        G("ProxyUID", "ProxyUID", INT64, omitempty=False),
        G("ProxyGID", "ProxyGID", INT64, omitempty=False),
        G("InboundTrafficPolicyMode", "InboundTrafficPolicyMode", STRING, omitempty=False),
        G("CompliancePolicy", "CompliancePolicy", STRING, omitempty=False),
    ],
)


def proxy_config(data: Mapping[str, Any] | None) -> ProtoMessage:
    """A ``*ProxyConfig`` over proto-JSON data (``None``: a nil pointer)."""
    return PROXY_CONFIG.new(data)


def mesh_config(data: Mapping[str, Any] | None) -> ProtoMessage:
    """A ``*MeshConfig`` over proto-JSON data (``None``: a nil pointer)."""
    return MESH_CONFIG.new(data)


def inbound_traffic_policy_mode(mesh: Mapping[str, Any] | ProtoMessage | None) -> str:
    """What Istio passes as ``.InboundTrafficPolicyMode``: ``localhost`` or ``passthrough``."""
    msg = mesh if isinstance(mesh, ProtoMessage) else MESH_CONFIG.new(mesh)
    policy = msg.go_method("GetInboundTrafficPolicy")
    assert policy is not None
    mode = policy().go_method("GetMode")()
    return "localhost" if mode.name == "LOCALHOST" else "passthrough"


def json_numbers_as_float(value: Any) -> Any:
    """Decoded JSON as Go decodes it into ``interface{}``: every number a float64 (bools stay bools)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, Mapping):
        return {k: json_numbers_as_float(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_numbers_as_float(v) for v in value]
    return value


_IMAGE_TYPE_ANNOTATION: Final = "sidecar.istio.io/proxyImageType"
_KNOWN_IMAGE_TYPES: Final = ("distroless", "debug")


def _image_url(values: Mapping[str, Any], image_name: str, image_type: str, annotations: Mapping[str, Any]) -> str:
    """Istio's proxyImageURL: ``hub/name:tag`` with the image type (variant) applied to the tag."""
    glob = values.get("global") or {}
    tag_raw = glob.get("tag")
    tag = "" if tag_raw is None else gofmt.sprint(json_numbers_as_float(tag_raw))
    if image_type == "":
        image_type = str(glob.get("variant") or "")
    if _IMAGE_TYPE_ANNOTATION in annotations:
        image_type = str(annotations[_IMAGE_TYPE_ANNOTATION])
    if image_type:
        for known in _KNOWN_IMAGE_TYPES:
            if tag.endswith("-" + known):
                tag = tag[: -len(known) - 1]
                break
        if image_type != "default":
            tag = tag + "-" + image_type
    return f"{glob.get('hub') or ''}/{image_name}:{tag}"


def proxy_image_for(values: Mapping[str, Any], image_type: str, annotations: Mapping[str, Any]) -> str:
    """``.ProxyImage``: ``hub/<global.proxy.image or proxyv2>:tag[-type]`` (Istio's ProxyImage).

    ``image_type`` is the ProxyConfig's ``image.imageType``; the pod annotation
    ``sidecar.istio.io/proxyImageType`` overrides it, and ``global.variant`` applies when both are empty.
    """
    name = str(((values.get("global") or {}).get("proxy") or {}).get("image") or "proxyv2")
    return _image_url(values, name, image_type, annotations)


def proxy_init_image_for(values: Mapping[str, Any], annotations: Mapping[str, Any]) -> str:
    """``.ProxyInitImage``: like proxy_image_for with ``global.proxy_init.image``."""
    name = str(((values.get("global") or {}).get("proxy_init") or {}).get("image") or "proxyv2")
    return _image_url(values, name, "", annotations)


def _pair(meta: Mapping[str, Any] | tuple[str, str] | None) -> tuple[str, str]:
    if meta is None:
        return "", ""
    if isinstance(meta, tuple):
        return meta
    return str(meta.get("namespace") or meta.get("Namespace") or ""), str(meta.get("name") or meta.get("Name") or "")


def sidecar_template_data(
    *,
    pod: Mapping[str, Any] | None = None,
    object_meta: Mapping[str, Any] | None = None,
    spec: Mapping[str, Any] | None = None,
    type_meta: Mapping[str, Any] | None = None,
    deploy_meta: Mapping[str, Any] | tuple[str, str] | None = None,
    proxy_config: Mapping[str, Any] | ProtoMessage | None = None,
    mesh_config: Mapping[str, Any] | ProtoMessage | None = None,
    values: Mapping[str, Any] | None = None,
    revision: str = "",
    native_sidecars: bool = False,
    proxy_image: str | None = None,
    proxy_init_image: str | None = None,
    proxy_uid: int = 1337,
    proxy_gid: int = 1337,
    compliance_policy: str = "",
    inbound_traffic_policy: str | None = None,
    values_numbers_as_float: bool = True,
    go_values: Any = None,
) -> GoStruct:
    """The dot of an injection template: a ``*inject.SidecarTemplateData``.

    The pod is given whole (``pod``: its Kubernetes JSON) or as ``object_meta`` and ``spec``. ``type_meta`` is
    ``{"kind", "apiVersion"}``; ``deploy_meta`` the owning workload, ``{"namespace", "name"}`` or a
    ``(namespace, name)`` pair. ``proxy_config`` and ``mesh_config`` are proto-JSON (or wrapped messages);
    ``values`` the decoded values JSON, whose numbers become float64 as in Go unless
    ``values_numbers_as_float`` is false (the caller already converted them). Left out, ``proxy_image`` and
    ``proxy_init_image`` are computed from the values, the ProxyConfig's image type and the pod's annotations
    as Istio does, and ``inbound_traffic_policy`` is read from the MeshConfig. ``go_values``, when given, is
    used as ``.Values`` as it is (``values`` already in Go's form, e.g. converted once per configuration).
    """
    if pod is not None:
        object_meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
    meta = dict(object_meta or {})
    mesh = mesh_config if isinstance(mesh_config, ProtoMessage) else MESH_CONFIG.new(mesh_config)
    pc = proxy_config if isinstance(proxy_config, ProtoMessage) else PROXY_CONFIG.new(proxy_config)
    raw_values = values or {}
    annotations = meta.get("annotations") or {}
    if proxy_image is None:
        image = (pc.data or {}).get("image") or {}
        proxy_image = proxy_image_for(raw_values, str(image.get("imageType") or ""), annotations)
    if proxy_init_image is None:
        proxy_init_image = proxy_init_image_for(raw_values, annotations)
    vals: Any = go_values
    if vals is None and values is not None:
        vals = json_numbers_as_float(values) if values_numbers_as_float else values
    namespace, name = _pair(deploy_meta)
    data: dict[str, Any] = {
        "TypeMeta": dict(type_meta or {}),
        "DeploymentMeta": {"Namespace": namespace, "Name": name},
        "ObjectMeta": meta,
        "Spec": dict(spec or {}),
        "ProxyConfig": pc,
        "MeshConfig": mesh,
        "Values": vals,
        "Revision": revision,
        "NativeSidecars": native_sidecars,
        "ProxyImage": proxy_image,
        "ProxyInitImage": proxy_init_image,
        "ProxyUID": proxy_uid,
        "ProxyGID": proxy_gid,
        "InboundTrafficPolicyMode": (
            inbound_traffic_policy if inbound_traffic_policy is not None else inbound_traffic_policy_mode(mesh)
        ),
        "CompliancePolicy": compliance_policy,
    }
    return SIDECAR_TEMPLATE_DATA.new(data, pointer=True)
