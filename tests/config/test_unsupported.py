"""Known Envoy fields and values we do not implement yet are errors that say so, never silently ignored."""

from __future__ import annotations

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
