"""Known Envoy fields and values we do not implement yet are errors that say so, never silently ignored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.config.helpers import (
    CLUSTER,
    HCM,
    LISTENER,
    ROUTE,
    VHOST,
    cluster,
    errors,
    hcm,
    listener,
    route,
    seed,
    vhost,
)


@pytest.mark.parametrize(
    ("where", "field", "value", "path"),
    [
        (hcm, "rds", {"route_config_name": "r"}, f"{HCM}.rds"),
        (hcm, "tracing", {"verbose": True}, f"{HCM}.tracing"),
        (hcm, "http2_protocol_options", {"max_concurrent_streams": 10}, f"{HCM}.http2_protocol_options"),
        (hcm, "local_reply_config", {"mappers": [{}]}, f"{HCM}.local_reply_config"),
        (
            listener,
            "listener_filters",
            [{"name": "envoy.filters.listener.tls_inspector"}],
            f"{LISTENER}.listener_filters",
        ),
        (listener, "socket_options", [{"level": 1}], f"{LISTENER}.socket_options"),
        (cluster, "health_checks", [{"timeout": "1s"}], f"{CLUSTER}.health_checks"),
        (cluster, "outlier_detection", {"consecutive_5xx": 5}, f"{CLUSTER}.outlier_detection"),
        (cluster, "transport_socket", {"name": "envoy.transport_sockets.tls"}, f"{CLUSTER}.transport_socket"),
        (vhost, "retry_policy", {"retry_on": "5xx"}, f"{VHOST}.retry_policy"),
        (vhost, "cors", {"allow_methods": "GET"}, f"{VHOST}.cors"),
        (lambda d: d, "layered_runtime", {"layers": [{}]}, "layered_runtime"),
        (lambda d: d, "dynamic_resources", {"lds_config": {}}, "dynamic_resources"),
    ],
)
def test_unsupported_fields(where: Any, field: str, value: object, path: str) -> None:
    doc = seed()
    where(doc)[field] = value
    assert f"{path}: not supported" in errors(doc)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("retry_policy", {"retry_on": "5xx", "num_retries": 3}),
        ("hash_policy", [{"header": {"header_name": "x-user"}}]),
        ("request_mirror_policies", [{"cluster": "cart_cluster"}]),
        ("max_stream_duration", {"max_stream_duration": "1s"}),
    ],
)
def test_unsupported_route_action_fields(field: str, value: object) -> None:
    doc = seed()
    route(doc)["route"][field] = value
    assert errors(doc) == [f"{ROUTE}.route.{field}: not supported"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("type", "EDS", "type: EDS: not supported"),
        ("type", "ORIGINAL_DST", "type: ORIGINAL_DST: not supported"),
        ("lb_policy", "RING_HASH", "lb_policy: RING_HASH: not supported"),
        ("lb_policy", "MAGLEV", "lb_policy: MAGLEV: not supported"),
    ],
)
def test_unsupported_cluster_enums(field: str, value: str, message: str) -> None:
    doc = seed()
    cluster(doc)[field] = value
    assert errors(doc) == [f"{CLUSTER}.{message}"]


def test_unsupported_codec() -> None:
    doc = seed()
    hcm(doc)["codec_type"] = "HTTP3"
    assert errors(doc) == [f"{HCM}.codec_type: HTTP3: not supported"]


def test_filter_chain_match_only_when_empty() -> None:
    doc = seed()
    listener(doc)["filter_chains"][0]["filter_chain_match"] = {}
    assert errors(doc) == []
    listener(doc)["filter_chains"][0]["filter_chain_match"] = {"server_names": ["example.com"]}
    assert errors(doc) == [f"{LISTENER}.filter_chains[0].filter_chain_match.server_names: not supported"]


def test_a_second_filter_chain_is_not_supported() -> None:
    doc = seed()
    chains = listener(doc)["filter_chains"]
    chains.append(chains[0])
    assert errors(doc) == [
        f"{LISTENER}.filter_chains[1]: a second filter chain needs filter_chain_match, which is not supported yet"
    ]


def test_proto_defaults_of_unsupported_fields_are_accepted() -> None:
    doc = seed()
    listener(doc)["listener_filters"] = []
    listener(doc)["use_original_dst"] = False
    cluster(doc)["health_checks"] = []
    assert errors(doc) == []


def test_udp_is_not_supported() -> None:
    doc = seed()
    listener(doc)["address"]["socket_address"]["protocol"] = "UDP"
    assert errors(doc) == [f"{LISTENER}.address.socket_address.protocol: UDP: not supported"]


def test_pipe_addresses_are_not_supported() -> None:
    doc = seed()
    listener(doc)["address"] = {"pipe": {"path": "/tmp/gw.sock"}}
    assert errors(doc) == [
        f"{LISTENER}.address.pipe: not supported",
        f"{LISTENER}.address.socket_address: required field missing",
    ]


def test_a_known_field_in_the_wrong_message_is_unknown() -> None:
    doc = seed()
    vhost(doc)["stat_prefix"] = "x"  # a Route field, not a VirtualHost one
    assert errors(doc) == [f"{VHOST}.stat_prefix: unknown field"]


HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
UPSTREAM = f"{CLUSTER}.typed_extension_protocol_options.{HTTP_OPTIONS}"
ROUTER = f"{HCM}.http_filters[0].typed_config"


def _admin(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = doc.setdefault("admin", {})
    return result


def _router(doc: dict[str, Any]) -> dict[str, Any]:
    config = {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
    hcm(doc)["http_filters"][0]["typed_config"] = config
    return config


def _upstream(doc: dict[str, Any]) -> dict[str, Any]:
    options = {"@type": f"type.googleapis.com/{HTTP_OPTIONS}"}
    cluster(doc)["typed_extension_protocol_options"] = {HTTP_OPTIONS: options}
    return options


def _thresholds(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = cluster(doc)["circuit_breakers"]["thresholds"][0]
    return result


def _action(doc: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = route(doc)["route"]
    return result


_COMMON = "common_http_protocol_options"
_HTTP1 = "http_protocol_options"


@pytest.mark.parametrize(
    ("where", "field", "value", "error"),
    [
        (_admin, "ignore_global_conn_limit", True, "admin.ignore_global_conn_limit: not supported"),
        (listener, "stat_prefix", "edge", f"{LISTENER}.stat_prefix: not supported"),
        (listener, "drain_type", "MODIFY_ONLY", f"{LISTENER}.drain_type: MODIFY_ONLY: not supported"),
        (hcm, "drain_timeout", "10s", f"{HCM}.drain_timeout: not supported"),
        (
            hcm,
            _COMMON,
            {"max_requests_per_connection": 5},
            f"{HCM}.{_COMMON}.max_requests_per_connection: not supported",
        ),
        (
            hcm,
            _COMMON,
            {"headers_with_underscores_action": "DROP_HEADER"},
            f"{HCM}.{_COMMON}.headers_with_underscores_action: DROP_HEADER: not supported",
        ),
        (hcm, _HTTP1, {"allow_absolute_url": False}, f"{HCM}.{_HTTP1}.allow_absolute_url: false: not supported"),
        (hcm, _HTTP1, {"default_host_for_http_10": "a"}, f"{HCM}.{_HTTP1}.default_host_for_http_10: not supported"),
        (hcm, _HTTP1, {"allow_chunked_length": True}, f"{HCM}.{_HTTP1}.allow_chunked_length: not supported"),
        (
            hcm,
            _HTTP1,
            {"override_stream_error_on_invalid_http_message": {"value": True}},
            f"{HCM}.{_HTTP1}.override_stream_error_on_invalid_http_message: true: not supported",
        ),
        (_action, "priority", "HIGH", f"{ROUTE}.route.priority: HIGH: not supported"),
        (_router, "start_child_span", True, f"{ROUTER}.start_child_span: not supported"),
        (
            cluster,
            "close_connections_on_host_health_failure",
            True,
            f"{CLUSTER}.close_connections_on_host_health_failure: not supported",
        ),
        (cluster, "ignore_health_on_host_removal", True, f"{CLUSTER}.ignore_health_on_host_removal: not supported"),
        (
            _thresholds,
            "max_connection_pools",
            {"value": 0},
            f"{CLUSTER}.circuit_breakers.thresholds[0].max_connection_pools: not supported",
        ),
        (_upstream, _COMMON, {"max_stream_duration": "1s"}, f"{UPSTREAM}.{_COMMON}.max_stream_duration: not supported"),
        (
            _upstream,
            _COMMON,
            {"max_connection_duration": "60s"},
            f"{UPSTREAM}.{_COMMON}.max_connection_duration: not supported",
        ),
        (_upstream, _COMMON, {"max_headers_count": 50}, f"{UPSTREAM}.{_COMMON}.max_headers_count: not supported"),
        (
            _upstream,
            "explicit_http_config",
            {_HTTP1: {"allow_chunked_length": True}},
            f"{UPSTREAM}.explicit_http_config.{_HTTP1}.allow_chunked_length: not supported",
        ),
        (cluster, _COMMON, {"max_stream_duration": "1s"}, f"{CLUSTER}.{_COMMON}.max_stream_duration: not supported"),
    ],
)
def test_fields_without_effect_are_refused_when_set(
    where: Callable[[dict[str, Any]], dict[str, Any]], field: str, value: object, error: str
) -> None:
    doc = seed()
    where(doc)[field] = value
    assert errors(doc) == [error]


def test_defaults_of_refused_fields_are_accepted() -> None:
    doc = seed()
    _admin(doc)["ignore_global_conn_limit"] = False
    listener(doc).update(stat_prefix="", drain_type="DEFAULT")
    hcm(doc).update(
        drain_timeout="5s",
        common_http_protocol_options={"max_requests_per_connection": 0, "headers_with_underscores_action": "ALLOW"},
        http_protocol_options={
            "allow_absolute_url": {"value": True},
            "override_stream_error_on_invalid_http_message": {"value": False},
        },
    )
    _action(doc)["priority"] = "DEFAULT"
    _router(doc)["start_child_span"] = False
    _thresholds(doc)["max_connection_pools"] = None
    _upstream(doc).update(
        common_http_protocol_options={"max_stream_duration": "0s", "max_headers_count": 100},
        explicit_http_config={"http_protocol_options": {}},
    )
    assert errors(doc) == []


def test_fields_without_effect_in_envoy_either_are_accepted() -> None:
    """Fields that change nothing here, as in Envoy without the feature they serve: any valid value loads."""
    doc = seed()
    _admin(doc)["profile_path"] = "/tmp/envoy.prof"
    listener(doc)["traffic_direction"] = "OUTBOUND"
    listener(doc)["address"]["socket_address"]["ipv4_compat"] = True
    hcm(doc)["http_protocol_options"] = {"enable_trailers": True}
    cluster(doc).update(cleanup_interval="10s", metadata={"filter_metadata": {"team": {"name": "cart"}}})
    endpoint = cluster(doc)["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
    endpoint["metadata"] = {"filter_metadata": {"envoy.lb": {"canary": True}}}
    cluster(doc)["circuit_breakers"]["thresholds"].append({"priority": "HIGH", "max_connections": 10})
    _upstream(doc)["explicit_http_config"] = {
        "http_protocol_options": {"accept_http_10": True, "enable_trailers": True}
    }
    assert errors(doc) == []
    listener(doc)["traffic_direction"] = "SIDEWAYS"  # still checked
    assert errors(doc) == [
        f"{LISTENER}.traffic_direction: unknown value 'SIDEWAYS' (expected one of UNSPECIFIED, INBOUND, OUTBOUND)"
    ]
