"""Clusters: discovery types, load assignment, balancing, circuit breakers and upstream HTTP options."""

from __future__ import annotations

from typing import Any

from gateway.config import build
from gateway.config.model import (
    Cluster,
    DiscoveryType,
    DnsLookupFamily,
    HealthStatus,
    LbPolicy,
    RoutingPriority,
)
from tests.config.helpers import CLUSTER, cluster, errors, seed

HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def _cluster(doc: object) -> Cluster:
    return build(doc).static_resources.clusters[0]


def _static_cluster() -> dict[str, Any]:
    doc = seed()
    cluster(doc).update(
        type="STATIC",
        lb_policy="RANDOM",
        load_assignment={
            "cluster_name": "cart_cluster",
            "endpoints": [
                {
                    "priority": 1,
                    "load_balancing_weight": 3,
                    "locality": {"zone": "a"},
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}},
                                "hostname": "one",
                            },
                            "load_balancing_weight": 5,
                            "health_status": "DRAINING",
                        },
                        {"endpoint": {"address": {"socket_address": {"address": "::1", "port_value": 81}}}},
                    ],
                }
            ],
        },
    )
    return doc


def test_static_cluster() -> None:
    model = _cluster(_static_cluster())
    assert model.type is DiscoveryType.STATIC and model.lb_policy is LbPolicy.RANDOM
    assert model.load_assignment is not None
    (locality,) = model.load_assignment.endpoints
    assert (locality.priority, locality.load_balancing_weight) == (1, 3)
    assert locality.locality is not None and locality.locality.zone == "a"
    one, two = locality.lb_endpoints
    assert (one.endpoint.hostname, one.load_balancing_weight, one.health_status) == ("one", 5, HealthStatus.DRAINING)
    assert str(two.endpoint.address) == "[::1]:81" and two.load_balancing_weight == 1


def test_endpoint_weights_are_at_least_one() -> None:
    doc = _static_cluster()
    cluster(doc)["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["load_balancing_weight"] = 0
    assert errors(doc) == [
        f"{CLUSTER}.load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight: 0 is out of range "
        "[1, 4294967295]"
    ]


def test_dns_settings() -> None:
    doc = seed()
    cluster(doc).update(dns_refresh_rate="30s", dns_lookup_family="V4_ONLY")
    model = _cluster(doc)
    assert (model.dns_refresh_rate, model.dns_lookup_family) == (30.0, DnsLookupFamily.V4_ONLY)
    cluster(doc)["respect_dns_ttl"] = True
    assert errors(doc) == [f"{CLUSTER}.respect_dns_ttl: not supported"]


def test_least_request_choice_count() -> None:
    doc = seed()
    cluster(doc).update(lb_policy="LEAST_REQUEST", least_request_lb_config={"choice_count": 1})
    assert errors(doc) == [f"{CLUSTER}.least_request_lb_config.choice_count: 1 is out of range [2, 4294967295]"]


def test_circuit_breaker_defaults_and_high_priority() -> None:
    doc = seed()
    cluster(doc)["circuit_breakers"]["thresholds"].append({"priority": "HIGH", "track_remaining": True})
    breakers = _cluster(doc).circuit_breakers
    high = breakers.for_priority(RoutingPriority.HIGH)
    assert (high.max_connections, high.max_pending_requests, high.max_requests, high.max_retries) == (
        1024,
        1024,
        1024,
        3,
    )
    assert high.track_remaining is True


def test_typed_extension_protocol_options() -> None:
    doc = seed()
    cluster(doc)["typed_extension_protocol_options"] = {
        HTTP_OPTIONS: {
            "@type": f"type.googleapis.com/{HTTP_OPTIONS}",
            "common_http_protocol_options": {"idle_timeout": "10s", "max_requests_per_connection": 100},
            "explicit_http_config": {"http_protocol_options": {"enable_trailers": True}},
        }
    }
    options = _cluster(doc).http_options
    assert options.common_http_protocol_options.idle_timeout == 10.0
    assert options.common_http_protocol_options.max_requests_per_connection == 100


def test_deprecated_cluster_http_options() -> None:
    doc = seed()
    cluster(doc).update(
        max_requests_per_connection=7,
        common_http_protocol_options={"idle_timeout": "20s"},
        http_protocol_options={"accept_http_10": True},
    )
    options = _cluster(doc).http_options
    assert options.common_http_protocol_options.max_requests_per_connection == 7
    assert options.common_http_protocol_options.idle_timeout == 20.0


def test_default_http_options() -> None:
    options = _cluster(seed()).http_options
    assert options.common_http_protocol_options.idle_timeout == 3600.0
    assert options.common_http_protocol_options.max_requests_per_connection == 0


def test_deprecated_and_typed_options_together() -> None:
    doc = seed()
    cluster(doc)["max_requests_per_connection"] = 7
    cluster(doc)["typed_extension_protocol_options"] = {HTTP_OPTIONS: {"@type": f"type.googleapis.com/{HTTP_OPTIONS}"}}
    assert errors(doc) == [
        f"{CLUSTER}.max_requests_per_connection: deprecated; it may not be combined with {HTTP_OPTIONS}"
    ]


def test_http2_upstreams_are_not_supported() -> None:
    doc = seed()
    cluster(doc)["typed_extension_protocol_options"] = {
        HTTP_OPTIONS: {
            "@type": f"type.googleapis.com/{HTTP_OPTIONS}",
            "explicit_http_config": {"http2_protocol_options": {"max_concurrent_streams": 100}},
        }
    }
    assert errors(doc) == [
        f"{CLUSTER}.typed_extension_protocol_options.{HTTP_OPTIONS}.explicit_http_config.http2_protocol_options: "
        "not supported"
    ]


def test_unknown_protocol_options_type() -> None:
    doc = seed()
    cluster(doc)["typed_extension_protocol_options"] = {
        "envoy.filters.network.tcp_proxy": {"@type": "type.googleapis.com/some.Other"}
    }
    assert errors(doc) == [
        f"{CLUSTER}.typed_extension_protocol_options.envoy.filters.network.tcp_proxy.@type: "
        "unknown protocol options type 'some.Other'"
    ]


def test_connect_timeout_default() -> None:
    doc = seed()
    del cluster(doc)["connect_timeout"]
    assert _cluster(doc).connect_timeout == 5.0


def test_node() -> None:
    doc = seed()
    doc["node"] = {"id": "gw-1", "cluster": "edge", "metadata": {"team": "cart"}, "locality": {"region": "eu"}}
    node = build(doc).node
    assert (node.id, node.cluster, dict(node.metadata)) == ("gw-1", "edge", {"team": "cart"})
    assert node.locality is not None and node.locality.region == "eu"
