"""Field spelling, scalars, durations, wrappers and enums as Envoy's JSON parser reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config import Bootstrap, build, load_bootstrap, loads
from gateway.config.model import HttpConnectionManager, LbPolicy, ServerHeaderTransformation
from gateway.config.paths import json_name
from tests.config.helpers import CLUSTER, HCM, cluster, errors, hcm, seed

CAMEL_SEED = """
staticResources:
  listeners:
  - address: {socketAddress: {address: 127.0.0.1, portValue: 8080}}
    perConnectionBufferLimitBytes: 32768
    filterChains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typedConfig:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          statPrefix: ingress
          useRemoteAddress: true
          xffNumTrustedHops: 2
          serverHeaderTransformation: PASS_THROUGH
          commonHttpProtocolOptions: {idleTimeout: 30s, maxHeadersCount: 50}
          httpProtocolOptions: {acceptHttp10: true, allowAbsoluteUrl: true}
          routeConfig:
            virtualHosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {pathSeparatedPrefix: /api, caseSensitive: false}
                route: {cluster: api, prefixRewrite: /, idleTimeout: 0s}
          httpFilters:
          - name: envoy.filters.http.router
  clusters:
  - name: api
    connectTimeout: 0.25s
    lbPolicy: LEAST_REQUEST
    leastRequestLbConfig: {choiceCount: 3}
    loadAssignment:
      clusterName: api
      endpoints:
      - lbEndpoints:
        - endpoint: {address: {socketAddress: {address: 127.0.0.1, portValue: 9000}}}
          loadBalancingWeight: 7
"""


def test_lower_camel_case_names() -> None:
    bootstrap = loads(CAMEL_SEED)
    (listener,) = bootstrap.static_resources.listeners
    assert listener.per_connection_buffer_limit_bytes == 32768
    manager = listener.filter_chains[0].filters[0].typed_config
    assert isinstance(manager, HttpConnectionManager)
    assert (manager.stat_prefix, manager.use_remote_address, manager.xff_num_trusted_hops) == ("ingress", True, 2)
    assert manager.server_header_transformation is ServerHeaderTransformation.PASS_THROUGH
    assert manager.common_http_protocol_options.idle_timeout == 30.0
    assert manager.common_http_protocol_options.max_headers_count == 50
    assert manager.http_protocol_options.accept_http_10 is True
    route = manager.route_config.virtual_hosts[0].routes[0]
    assert route.match.path_separated_prefix == "/api" and route.match.case_sensitive is False
    assert route.route is not None and route.route.idle_timeout == 0.0 and route.route.prefix_rewrite == "/"
    (api,) = bootstrap.static_resources.clusters
    assert api.connect_timeout == 0.25
    assert api.lb_policy is LbPolicy.LEAST_REQUEST and api.least_request_lb_config.choice_count == 3
    assert api.load_assignment is not None
    assert api.load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight == 7


def test_errors_use_the_spelling_of_the_config() -> None:
    text = CAMEL_SEED.replace("xffNumTrustedHops: 2", "xffNumTrustedHops: two")
    assert errors(_yaml(text)) == [
        "staticResources.listeners[0].filterChains[0].filters[0].typedConfig.xffNumTrustedHops: "
        "expected an integer, got a string"
    ]


def test_both_spellings_of_one_field() -> None:
    doc = seed()
    hcm(doc)["statPrefix"] = "other"
    assert errors(doc) == [f"{HCM}.statPrefix: duplicate of stat_prefix"]


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("stat_prefix", "statPrefix"),
        ("accept_http_10", "acceptHttp10"),
        ("max_request_headers_kb", "maxRequestHeadersKb"),
        ("proxy_100_continue", "proxy100Continue"),
        ("http2_protocol_options", "http2ProtocolOptions"),
    ],
)
def test_json_names_follow_protobuf(field: str, name: str) -> None:
    assert json_name(field) == name


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1s", 1.0), ("0.25s", 0.25), ("1.5s", 1.5), ("0s", 0.0), ("3600s", 3600.0), ("0.000000001s", 1e-9),
     ({"seconds": 2, "nanos": 500_000_000}, 2.5), ({"nanos": 1000}, 1e-6), ({"seconds": "3"}, 3.0)],
)  # fmt: skip
def test_durations(value: object, seconds: float) -> None:
    doc = seed()
    hcm(doc)["request_timeout"] = value
    manager = _manager(doc)
    assert manager.request_timeout == pytest.approx(seconds)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(0, 999_999_999))
def test_duration_text_and_object_agree(seconds: int, nanos: int) -> None:
    text, obj = seed(), seed()
    hcm(text)["request_timeout"] = f"{seconds}.{nanos:09d}s"
    hcm(obj)["request_timeout"] = {"seconds": seconds, "nanos": nanos}
    assert _manager(text).request_timeout == pytest.approx(_manager(obj).request_timeout)
    assert _manager(text).request_timeout == pytest.approx(seconds + nanos / 1e9)


@pytest.mark.parametrize("value", [1000, {"value": 1000}, "1000", {"value": "1000"}])
def test_wrappers_bare_or_boxed(value: object) -> None:
    doc = seed()
    cluster(doc)["circuit_breakers"]["thresholds"][0]["max_requests"] = value
    hcm(doc)["generate_request_id"] = {"value": False}
    bootstrap = _load(doc)
    assert bootstrap.static_resources.clusters[0].circuit_breakers.thresholds[0].max_requests == 1000
    assert _manager(doc).generate_request_id is False


def test_boxed_wrapper_with_other_keys() -> None:
    doc = seed()
    hcm(doc)["max_request_headers_kb"] = {"value": 10, "extra": 1}
    assert errors(doc) == [f"{HCM}.max_request_headers_kb: expected a value or {{value: ...}}, got an object"]


def test_max_request_headers_kb_limit() -> None:
    doc = seed()
    hcm(doc)["max_request_headers_kb"] = 8193
    assert errors(doc) == [f"{HCM}.max_request_headers_kb: 8193 is out of range [1, 8192]"]


def test_plain_bool_is_not_boxed() -> None:
    doc = seed()
    hcm(doc)["skip_xff_append"] = {"value": True}
    assert errors(doc) == [f"{HCM}.skip_xff_append: expected a boolean, got an object"]


def test_enum_by_number() -> None:
    doc = seed()
    cluster(doc)["lb_policy"] = 3
    assert _load(doc).static_resources.clusters[0].lb_policy is LbPolicy.RANDOM


def test_unknown_enum_value() -> None:
    doc = seed()
    cluster(doc)["dns_lookup_family"] = "V5_ONLY"
    assert errors(doc) == [
        f"{CLUSTER}.dns_lookup_family: unknown value 'V5_ONLY' (expected one of AUTO, V4_ONLY, V6_ONLY, "
        "V4_PREFERRED, ALL)"
    ]


def test_null_is_unset() -> None:
    doc = seed()
    hcm(doc)["server_name"] = None
    assert _manager(doc).server_name == "gateway"


def test_json_config_file(tmp_path: Path) -> None:
    path = tmp_path / "envoy.json"
    path.write_text(json.dumps(seed()))
    assert load_bootstrap(str(path)).static_resources.clusters[0].name == "cart_cluster"


def _yaml(text: str) -> object:
    return yaml.safe_load(text)


def _load(doc: object) -> Bootstrap:
    return build(doc)


def _manager(doc: object) -> HttpConnectionManager:
    manager = _load(doc).static_resources.listeners[0].filter_chains[0].filters[0].typed_config
    assert isinstance(manager, HttpConnectionManager)
    return manager
