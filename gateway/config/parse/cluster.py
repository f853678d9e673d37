"""Parsers of ``config.cluster.v3.Cluster``, its endpoints and circuit breakers, and the upstream
``HttpProtocolOptions`` extension."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping

from gateway.config.fields import Fields, Invalid
from gateway.config.model.cluster import (
    UPSTREAM_HTTP_PROTOCOL_OPTIONS,
    CircuitBreakers,
    Cluster,
    ClusterLoadAssignment,
    DiscoveryType,
    DnsLookupFamily,
    Endpoint,
    HealthStatus,
    LbEndpoint,
    LbPolicy,
    LeastRequestLbConfig,
    LocalityLbEndpoints,
    Thresholds,
    UpstreamHttpProtocolOptions,
)
from gateway.config.model.core import HttpProtocolOptions, RoutingPriority
from gateway.config.parse.common import (
    parse_address,
    parse_http1_protocol_options,
    parse_http_protocol_options,
    parse_locality,
    parse_metadata,
)
from gateway.config.registry import REGISTRY, Category

_DEPRECATED_HTTP_OPTIONS = ("common_http_protocol_options", "http_protocol_options", "max_requests_per_connection")


def parse_cluster(f: Fields) -> Cluster:
    f.unsupported(
        "transport_socket_matches", "cluster_type", "eds_cluster_config", "health_checks",
        "upstream_http_protocol_options", "http2_protocol_options", "dns_jitter", "dns_failure_refresh_rate",
        "dns_resolvers", "use_tcp_for_dns_lookups", "dns_resolution_config", "typed_dns_resolver_config",
        "wait_for_warm_on_init", "outlier_detection", "upstream_bind_config", "lb_subset_config",
        "ring_hash_lb_config", "maglev_lb_config", "original_dst_lb_config", "round_robin_lb_config",
        "common_lb_config", "transport_socket", "protocol_selection", "upstream_connection_options", "filters",
        "load_balancing_policy", "lrs_server", "lrs_report_endpoint_metrics", "track_timeout_budgets",
        "upstream_config", "track_cluster_stats", "preconnect_policy", "connection_pool_per_downstream_connection",
        "respect_dns_ttl", "close_connections_on_host_health_failure", "ignore_health_on_host_removal",
    )  # fmt: skip
    name = f.string("name", required=True)
    f.ctx.cluster_names.add(name)
    written = f.opt_enum("type", DiscoveryType, unsupported=(DiscoveryType.EDS, DiscoveryType.ORIGINAL_DST))
    # A faulty type is reported once; the endpoints are then read without the checks of any type.
    kind = written if written is not None or f.has("type") else DiscoveryType.STATIC
    load_assignment = f.message("load_assignment", lambda g: parse_load_assignment(g, kind))
    cluster = Cluster(
        name=name,
        type=kind or DiscoveryType.STATIC,
        alt_stat_name=f.string("alt_stat_name"),
        connect_timeout=f.duration("connect_timeout", 5.0, positive=True),
        per_connection_buffer_limit_bytes=f.uint32("per_connection_buffer_limit_bytes", 1024 * 1024, wrapped=True),
        lb_policy=f.enum(
            "lb_policy",
            LbPolicy,
            LbPolicy.ROUND_ROBIN,
            unsupported=[
                p for p in LbPolicy if p not in (LbPolicy.ROUND_ROBIN, LbPolicy.LEAST_REQUEST, LbPolicy.RANDOM)
            ],
        ),
        least_request_lb_config=f.message("least_request_lb_config", _parse_least_request_lb_config)
        or LeastRequestLbConfig(),
        load_assignment=load_assignment,
        circuit_breakers=f.message("circuit_breakers", parse_circuit_breakers) or CircuitBreakers(),
        http_options=_parse_http_options(f),
        dns_refresh_rate=f.duration("dns_refresh_rate", 5.0, positive=True),
        dns_lookup_family=f.enum("dns_lookup_family", DnsLookupFamily, DnsLookupFamily.AUTO),
    )
    # Accepted, no effect, as in Envoy for these cluster types: cleanup_interval is for ORIGINAL_DST clusters,
    # metadata for subset load balancing and extensions.
    f.duration("cleanup_interval", 5.0, positive=True)
    f.message("metadata", parse_metadata)
    if kind is DiscoveryType.LOGICAL_DNS and (load_assignment is not None or not f.has("load_assignment")):
        hosts = sum(len(loc.lb_endpoints) for loc in load_assignment.endpoints) if load_assignment else 0
        if hosts != 1:
            f.error("load_assignment", f"a LOGICAL_DNS cluster needs exactly one endpoint, not {hosts}")
    if not name:
        raise Invalid
    return cluster


def _parse_least_request_lb_config(f: Fields) -> LeastRequestLbConfig:
    f.unsupported("active_request_bias", "slow_start_config")
    return LeastRequestLbConfig(choice_count=f.uint32("choice_count", 2, wrapped=True, lo=2))


def _parse_http_options(f: Fields) -> UpstreamHttpProtocolOptions:
    """The effective upstream HTTP options: the typed extension, or else the deprecated cluster fields."""
    typed = _parse_typed_extension_protocol_options(f)
    common = f.message("common_http_protocol_options", _parse_upstream_common_options)
    f.message("http_protocol_options", parse_http1_protocol_options)
    max_requests = f.opt_uint32("max_requests_per_connection", wrapped=True)
    if typed is not None:
        for field in _DEPRECATED_HTTP_OPTIONS:
            if f.has(field):
                f.error(field, f"deprecated; it may not be combined with {UPSTREAM_HTTP_PROTOCOL_OPTIONS}")
        return typed
    common = common or HttpProtocolOptions()
    if max_requests is not None:
        common = dataclasses.replace(common, max_requests_per_connection=max_requests)
    return UpstreamHttpProtocolOptions(common_http_protocol_options=common)


def _parse_upstream_common_options(f: Fields) -> HttpProtocolOptions:
    return parse_http_protocol_options(f, downstream=False)


def _parse_typed_extension_protocol_options(f: Fields) -> UpstreamHttpProtocolOptions | None:
    raw = f.raw("typed_extension_protocol_options")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        f.error("typed_extension_protocol_options", "expected an object")
        return None
    found: UpstreamHttpProtocolOptions | None = None
    for key, value in raw.items():
        path = f"{f.at('typed_extension_protocol_options')}.{key}"
        options = f.ctx.parse(value, path, lambda g: REGISTRY.parse_any(g, Category.PROTOCOL_OPTIONS))
        if isinstance(options, UpstreamHttpProtocolOptions):
            found = options
    return found


def parse_upstream_http_protocol_options(f: Fields) -> UpstreamHttpProtocolOptions:
    """``envoy.extensions.upstreams.http.v3.HttpProtocolOptions``; only HTTP/1.1 upstreams for now."""
    f.unsupported(
        "use_downstream_protocol_config", "auto_config", "upstream_http_protocol_options", "http_filters",
        "header_validation_config", "outlier_detection",
    )  # fmt: skip
    f.message("explicit_http_config", _parse_explicit_http_config)
    return UpstreamHttpProtocolOptions(
        common_http_protocol_options=f.message("common_http_protocol_options", _parse_upstream_common_options)
        or HttpProtocolOptions(),
    )


def _parse_explicit_http_config(f: Fields) -> None:
    """Upstreams are always HTTP/1.1; of its options only the defaults (and ``accept_http_10``, ``enable_trailers``,
    which change nothing upstream) are accepted."""
    f.unsupported("http2_protocol_options", "http3_protocol_options")
    f.message("http_protocol_options", parse_http1_protocol_options)


def parse_load_assignment(f: Fields, kind: DiscoveryType | None) -> ClusterLoadAssignment:
    f.unsupported("named_endpoints", "policy")
    name = f.string("cluster_name", required=True)
    endpoints = f.repeated("endpoints", lambda g: parse_locality_lb_endpoints(g, kind))
    return ClusterLoadAssignment(cluster_name=name, endpoints=endpoints)


def parse_locality_lb_endpoints(f: Fields, kind: DiscoveryType | None) -> LocalityLbEndpoints:
    f.unsupported("metadata", "proximity", "leds_cluster_locality_config")
    return LocalityLbEndpoints(
        lb_endpoints=f.repeated("lb_endpoints", lambda g: parse_lb_endpoint(g, kind)),
        locality=f.message("locality", parse_locality),
        load_balancing_weight=f.opt_uint32("load_balancing_weight", wrapped=True, lo=1),
        priority=f.uint32("priority", hi=128),
    )


def parse_lb_endpoint(f: Fields, kind: DiscoveryType | None) -> LbEndpoint:
    f.unsupported("endpoint_name")
    endpoint = f.message("endpoint", lambda g: parse_endpoint(g, kind), required=not f.has("endpoint_name"))
    health_status = f.enum("health_status", HealthStatus, HealthStatus.UNKNOWN)
    weight = f.uint32("load_balancing_weight", 1, wrapped=True, lo=1)
    f.message("metadata", parse_metadata)  # for subset load balancing and extensions: accepted, no effect
    if endpoint is None:
        raise Invalid
    return LbEndpoint(endpoint=endpoint, health_status=health_status, load_balancing_weight=weight)


def parse_endpoint(f: Fields, kind: DiscoveryType | None) -> Endpoint:
    f.unsupported("health_check_config", "additional_addresses")
    address = f.message("address", parse_address, required=True)
    hostname = f.string("hostname")
    if address is None:
        raise Invalid
    if kind is DiscoveryType.STATIC and not _is_ip(address.socket_address.address):
        f.ctx.sink.add(
            f"{f.at('address')}.socket_address.address",
            f"a STATIC cluster needs IP addresses, not {address.socket_address.address!r} (use STRICT_DNS)",
        )
    return Endpoint(address=address, hostname=hostname)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_circuit_breakers(f: Fields) -> CircuitBreakers:
    f.unsupported("per_host_thresholds")
    return CircuitBreakers(thresholds=f.repeated("thresholds", parse_thresholds))


def parse_thresholds(f: Fields) -> Thresholds:
    f.unsupported("retry_budget")
    if f.opt_uint32("max_connection_pools", wrapped=True) is not None:  # a UInt32Value: even 0 is a limit
        f.error("max_connection_pools", "not supported")
    return Thresholds(
        priority=f.enum("priority", RoutingPriority, RoutingPriority.DEFAULT),
        max_connections=f.uint32("max_connections", 1024, wrapped=True),
        max_pending_requests=f.uint32("max_pending_requests", 1024, wrapped=True),
        max_requests=f.uint32("max_requests", 1024, wrapped=True),
        max_retries=f.uint32("max_retries", 3, wrapped=True),
        track_remaining=f.boolean("track_remaining"),
    )
