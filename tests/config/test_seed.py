"""The issue's seed config loads as written, with Envoy's defaults filled in."""

from __future__ import annotations

from gateway.config import load_bootstrap
from gateway.config.model import (
    CodecType,
    DiscoveryType,
    HttpConnectionManager,
    LbPolicy,
    Router,
    RoutingPriority,
)
from tests.config.helpers import SEED


def test_seed_loads_as_written() -> None:
    bootstrap = load_bootstrap(str(SEED))
    (listener,) = bootstrap.static_resources.listeners
    assert str(listener.address) == "0.0.0.0:80"
    assert listener.name == "0.0.0.0_80"
    assert listener.per_connection_buffer_limit_bytes == 1024 * 1024
    (chain,) = listener.filter_chains
    (network_filter,) = chain.filters
    assert network_filter.name == "envoy.http_connection_manager"
    manager = network_filter.typed_config
    assert isinstance(manager, HttpConnectionManager)
    assert manager.codec_type is CodecType.AUTO
    assert manager.stat_prefix == "ingress_http"
    (vhost,) = manager.route_config.virtual_hosts
    assert (vhost.name, vhost.domains) == ("cart_service", ("*",))
    (route,) = vhost.routes
    assert route.match.prefix == "/cart"
    assert route.route is not None and route.route.cluster == "cart_cluster"
    assert route.route.timeout == 15.0
    (router,) = manager.http_filters
    assert isinstance(router.typed_config, Router)

    (cluster,) = bootstrap.static_resources.clusters
    assert cluster.name == "cart_cluster"
    assert cluster.type is DiscoveryType.STRICT_DNS
    assert cluster.connect_timeout == 1.0
    assert cluster.lb_policy is LbPolicy.ROUND_ROBIN
    assert cluster.load_assignment is not None
    (locality,) = cluster.load_assignment.endpoints
    (host,) = locality.lb_endpoints
    assert str(host.endpoint.address) == "cart-service.prod.svc.cluster.local:8080"
    limits = cluster.circuit_breakers.for_priority(RoutingPriority.DEFAULT)
    assert (limits.max_connections, limits.max_pending_requests, limits.max_requests, limits.max_retries) == (
        100,
        200,
        300,
        5,
    )
    assert cluster.circuit_breakers.for_priority(RoutingPriority.HIGH).max_connections == 1024


def test_envoy_defaults() -> None:
    manager = load_bootstrap(str(SEED)).static_resources.listeners[0].filter_chains[0].filters[0].typed_config
    assert isinstance(manager, HttpConnectionManager)
    assert manager.generate_request_id is True
    assert manager.server_name == "gateway"
    assert manager.max_request_headers_kb == 60
    assert manager.common_http_protocol_options.idle_timeout == 3600.0
    assert manager.common_http_protocol_options.max_headers_count == 100
    assert manager.stream_idle_timeout == 300.0
    assert manager.request_timeout == 0.0
    assert manager.drain_timeout == 5.0
    assert manager.route_config.validate_clusters is True


def test_raw_document_is_kept_for_config_dump() -> None:
    bootstrap = load_bootstrap(str(SEED))
    assert bootstrap.raw["static_resources"]["clusters"][0]["name"] == "cart_cluster"  # type: ignore[index]
