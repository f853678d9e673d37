"""Parser of ``envoy.filters.network.http_connection_manager`` and its HTTP filter list."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.config.fields import Fields, Invalid
from gateway.config.model.core import Http1ProtocolOptions, HttpProtocolOptions
from gateway.config.model.hcm import (
    CodecType,
    HttpConnectionManager,
    HttpFilter,
    PathWithEscapedSlashesAction,
    ServerHeaderTransformation,
)
from gateway.config.model.route import RouteConfiguration, UpgradeConfig
from gateway.config.model.router import Router
from gateway.config.parse.access_log import parse_access_log
from gateway.config.parse.common import parse_http1_protocol_options, parse_http_protocol_options
from gateway.config.parse.route import parse_route_configuration
from gateway.config.registry import REGISTRY, Category

ROUTER = "envoy.filters.http.router"
_DRAIN_TIMEOUT = 5.0


def parse_http_connection_manager(f: Fields) -> HttpConnectionManager:
    f.unsupported(
        "rds", "scoped_routes", "add_user_agent", "tracing", "http1_safe_max_connection_duration",
        "http2_protocol_options", "http3_protocol_options", "scheme_header_transformation",
        "access_log_flush_interval", "flush_access_log_on_new_request", "access_log_options",
        "original_ip_detection_extensions", "early_header_mutation_extensions", "forward_client_cert_details",
        "set_current_client_cert_details", "represent_ipv4_remote_address_as_ipv4_mapped_ipv6",
        "request_id_extension", "local_reply_config", "path_normalization_options", "proxy_status_config",
        "typed_header_validation_config", "append_local_overload", "add_proxy_protocol_connection_state",
    )  # fmt: skip
    # Known, not implemented yet: refused when set rather than silently ignored.
    f.unsupported(
        "internal_address_config", "normalize_path", "merge_slashes", "proxy_100_continue",
        "stream_error_on_invalid_http_message", "strip_matching_host_port", "strip_any_host_port",
        "strip_trailing_host_dot", "append_x_forwarded_port",
    )  # fmt: skip
    f.oneof("route_config", "rds", "scoped_routes", required=True)
    stat_prefix = f.string("stat_prefix", required=True)
    route_config = f.message("route_config", parse_route_configuration)
    faults = len(f.ctx.sink.errors)
    http_filters = f.repeated_at("http_filters", parse_http_filter)
    if len(f.ctx.sink.errors) == faults:  # with a faulty filter left out, the order means nothing
        _check_router_is_last(f, http_filters)
    manager = HttpConnectionManager(
        stat_prefix=stat_prefix,
        route_config=route_config or RouteConfiguration(),  # a placeholder: without one we raise below
        http_filters=tuple(hf for _, hf in http_filters),
        codec_type=f.enum("codec_type", CodecType, CodecType.AUTO, unsupported=(CodecType.HTTP2, CodecType.HTTP3)),
        access_log=f.repeated("access_log", parse_access_log),
        use_remote_address=f.boolean("use_remote_address", wrapped=True),
        xff_num_trusted_hops=f.uint32("xff_num_trusted_hops"),
        skip_xff_append=f.boolean("skip_xff_append"),
        via=f.string("via"),
        server_name=f.string("server_name") or "gateway",
        server_header_transformation=f.enum(
            "server_header_transformation", ServerHeaderTransformation, ServerHeaderTransformation.OVERWRITE
        ),
        generate_request_id=f.boolean("generate_request_id", True, wrapped=True),
        preserve_external_request_id=f.boolean("preserve_external_request_id"),
        always_set_request_id_in_response=f.boolean("always_set_request_id_in_response"),
        common_http_protocol_options=f.message(
            "common_http_protocol_options", lambda g: parse_http_protocol_options(g, downstream=True)
        )
        or HttpProtocolOptions(),
        http_protocol_options=f.message("http_protocol_options", parse_http1_protocol_options)
        or Http1ProtocolOptions(),
        max_request_headers_kb=f.uint32("max_request_headers_kb", 60, wrapped=True, lo=1, hi=8192),
        request_timeout=f.duration("request_timeout", 0.0),
        request_headers_timeout=f.duration("request_headers_timeout", 0.0),
        stream_idle_timeout=f.duration("stream_idle_timeout", 300.0),
        drain_timeout=_drain_timeout(f),
        delayed_close_timeout=f.duration("delayed_close_timeout", 1.0),
        upgrade_configs=f.repeated("upgrade_configs", _parse_upgrade_config),
        path_with_escaped_slashes_action=f.enum(
            "path_with_escaped_slashes_action",
            PathWithEscapedSlashesAction,
            PathWithEscapedSlashesAction.IMPLEMENTATION_SPECIFIC_DEFAULT,
            unsupported=(
                PathWithEscapedSlashesAction.REJECT_REQUEST,
                PathWithEscapedSlashesAction.UNESCAPE_AND_REDIRECT,
                PathWithEscapedSlashesAction.UNESCAPE_AND_FORWARD,
            ),
        ),
    )
    if not stat_prefix or route_config is None:
        raise Invalid
    return manager


def _drain_timeout(f: Fields) -> float:
    """Only Envoy's default: draining closes an idle HTTP/1 connection at once, with no grace period."""
    timeout = f.duration("drain_timeout", _DRAIN_TIMEOUT)
    if timeout != _DRAIN_TIMEOUT:
        f.error("drain_timeout", "not supported")
    return timeout


def _check_router_is_last(f: Fields, http_filters: list[tuple[str, HttpFilter]]) -> None:
    """The router is the terminal HTTP filter: it must be there, and last (as Envoy requires)."""
    if not http_filters:
        f.error("http_filters", f"the router ({ROUTER}) must be the last HTTP filter; there is none")
        return
    for path, hf in http_filters[:-1]:
        if isinstance(hf.typed_config, Router):
            f.ctx.sink.add(path, f"the router ({hf.name}) must be the last HTTP filter")
    path, last = http_filters[-1]
    if not isinstance(last.typed_config, Router):
        f.ctx.sink.add(path, f"the last HTTP filter must be the router ({ROUTER}), not {last.name!r}")


def parse_http_filter(f: Fields) -> HttpFilter:
    f.unsupported("config_discovery")
    name = f.string("name", required=True)
    is_optional = f.boolean("is_optional")
    if is_optional and not REGISTRY.knows(_typed_config(f), Category.HTTP_FILTER, name):
        f.ignore_rest()  # an optional filter we do not have is skipped, as in Envoy
        raise Invalid
    typed_config = REGISTRY.parse_typed_config(f, Category.HTTP_FILTER, name)
    disabled = f.boolean("disabled")
    if typed_config is None:
        raise Invalid
    return HttpFilter(name=name, typed_config=typed_config, is_optional=is_optional, disabled=disabled)


def _typed_config(f: Fields) -> Mapping[str, object] | None:
    value = f.raw("typed_config")
    return value if isinstance(value, Mapping) else None


def _parse_upgrade_config(f: Fields) -> UpgradeConfig:
    f.unsupported("filters")
    upgrade_type = f.string("upgrade_type", required=True)
    enabled = f.boolean("enabled", True, wrapped=True)
    if not upgrade_type:
        raise Invalid
    return UpgradeConfig(upgrade_type=upgrade_type, enabled=enabled)
