"""Every kind of fault is reported with the YAML path of the offending node, and all of them at once."""

from __future__ import annotations

import copy

import pytest

from gateway.config import ConfigErrors, load_bootstrap, loads
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


def test_unknown_field_names_its_path() -> None:
    doc = seed()
    route(doc)["match"]["prefx"] = "/x"
    assert errors(doc) == [f"{ROUTE}.match.prefx: unknown field"]


def test_wrong_type() -> None:
    doc = seed()
    hcm(doc)["stat_prefix"] = 5
    listener(doc)["address"]["socket_address"]["port_value"] = "eighty"
    cluster(doc)["circuit_breakers"]["thresholds"][0]["max_connections"] = [1]
    assert errors(doc) == [
        f"{CLUSTER}.circuit_breakers.thresholds[0].max_connections: expected an integer, got a list",
        f"{LISTENER}.address.socket_address.port_value: expected an integer, got a string",
        f"{HCM}.stat_prefix: expected a string, got a number",
    ]


def test_clusters_are_read_before_listeners() -> None:
    doc = seed()
    hcm(doc)["stat_prefix"] = 5
    cluster(doc)["lb_policy"] = "FASTEST"
    assert errors(doc) == [
        f"{CLUSTER}.lb_policy: unknown value 'FASTEST' (expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, "
        "RANDOM, MAGLEV, CLUSTER_PROVIDED, LOAD_BALANCING_POLICY_CONFIG)",
        f"{HCM}.stat_prefix: expected a string, got a number",
    ]


def test_required_field_missing() -> None:
    doc = seed()
    del hcm(doc)["stat_prefix"]
    del cluster(doc)["load_assignment"]["cluster_name"]
    assert errors(doc) == [
        f"{CLUSTER}.load_assignment.cluster_name: required field missing",
        f"{HCM}.stat_prefix: required field missing",
    ]


def test_an_invalid_cluster_is_still_a_known_cluster() -> None:
    doc = seed()
    cluster(doc)["connect_timeout"] = "-"
    cluster(doc)["lb_policy"] = "MAGLEV"
    assert errors(doc) == [
        f"{CLUSTER}.connect_timeout: invalid duration '-' (expected e.g. '1s', '0.25s' or {{seconds, nanos}})",
        f"{CLUSTER}.lb_policy: MAGLEV: not supported",
    ]


def test_a_cluster_without_a_name_is_unknown() -> None:
    doc = seed()
    del cluster(doc)["name"]
    assert errors(doc) == [
        f"{CLUSTER}.name: required field missing",
        f"{ROUTE}.route.cluster: unknown cluster 'cart_cluster'",
    ]


def test_empty_required_string() -> None:
    doc = seed()
    vhost(doc)["name"] = ""
    assert errors(doc) == [f"{VHOST}.name: must not be empty"]


def test_route_to_undefined_cluster() -> None:
    doc = seed()
    route(doc)["route"]["cluster"] = "nope"
    assert errors(doc) == [f"{ROUTE}.route.cluster: unknown cluster 'nope'"]


def test_weighted_cluster_to_undefined_cluster() -> None:
    doc = seed()
    route(doc)["route"] = {"weighted_clusters": {"clusters": [{"name": "cart_cluster", "weight": 1}, {"name": "b"}]}}
    assert errors(doc) == [f"{ROUTE}.route.weighted_clusters.clusters[1].name: unknown cluster 'b'"]


def test_cluster_header_is_not_checked_against_clusters() -> None:
    doc = seed()
    route(doc)["route"] = {"cluster_header": "X-Cluster"}
    assert errors(doc) == []


def test_validate_clusters_false_allows_undefined_clusters() -> None:
    doc = seed()
    hcm(doc)["route_config"]["validate_clusters"] = False
    route(doc)["route"]["cluster"] = "later"
    assert errors(doc) == []


def test_duplicate_cluster_names() -> None:
    doc = seed()
    doc["static_resources"]["clusters"].append(copy.deepcopy(cluster(doc)))
    assert errors(doc) == [
        "static_resources.clusters[1].name: duplicate cluster name 'cart_cluster' "
        "(first in static_resources.clusters[0])"
    ]


def test_duplicate_listener_names() -> None:
    doc = seed()
    second = copy.deepcopy(listener(doc))
    second["address"]["socket_address"]["port_value"] = 81
    listener(doc)["name"] = second["name"] = "ingress"
    doc["static_resources"]["listeners"].append(second)
    assert errors(doc) == [
        "static_resources.listeners[1].name: duplicate listener name 'ingress' (first in static_resources.listeners[0])"
    ]


def test_duplicate_listener_addresses() -> None:
    doc = seed()
    second = copy.deepcopy(listener(doc))
    listener(doc)["name"], second["name"] = "a", "b"
    doc["static_resources"]["listeners"].append(second)
    assert errors(doc) == [
        "static_resources.listeners[1].address: duplicate listener address 0.0.0.0:80 "
        "(first in static_resources.listeners[0])"
    ]


def test_port_zero_listeners_do_not_clash() -> None:
    doc = seed()
    listener(doc)["address"]["socket_address"]["port_value"] = 0
    second = copy.deepcopy(listener(doc))
    listener(doc)["name"], second["name"] = "a", "b"
    doc["static_resources"]["listeners"].append(second)
    assert errors(doc) == []


def test_duplicate_virtual_host_names_and_domains() -> None:
    doc = seed()
    other = copy.deepcopy(vhost(doc))
    other["domains"] = ["example.com", "EXAMPLE.com"]
    hcm(doc)["route_config"]["virtual_hosts"].append(other)
    second = f"{HCM}.route_config.virtual_hosts[1]"
    assert errors(doc) == [
        f"{second}.name: duplicate virtual host name 'cart_service' (first in {VHOST})",
        f"{second}.domains[1]: duplicate domain 'EXAMPLE.com' (first in {second})",
    ]


def test_weights_summing_to_zero() -> None:
    doc = seed()
    route(doc)["route"] = {"weighted_clusters": {"clusters": [{"name": "cart_cluster", "weight": 0}]}}
    assert errors(doc) == [
        f"{ROUTE}.route.weighted_clusters.clusters: the weights add up to 0; at least one must be positive"
    ]


def test_weights_must_match_the_deprecated_total_weight() -> None:
    doc = seed()
    clusters = [{"name": "cart_cluster", "weight": 30}, {"name": "cart_cluster", "weight": 30}]
    route(doc)["route"] = {"weighted_clusters": {"clusters": clusters, "total_weight": 100}}
    assert errors(doc) == [
        f"{ROUTE}.route.weighted_clusters.total_weight: the weights add up to 60, not total_weight 100"
    ]


@pytest.mark.parametrize(
    ("regex", "why"),
    [
        ("(unclosed", "missing ), unterminated subpattern"),
        ("(?=look)ahead", "look-ahead is not supported by RE2"),
        ("(?<!x)y", "look-behind is not supported by RE2"),
        (r"(a)\1", "back-references are not supported by RE2"),
    ],
)
def test_invalid_regex(regex: str, why: str) -> None:
    doc = seed()
    route(doc)["match"] = {"safe_regex": {"regex": regex}}
    assert errors(doc) == [f"{ROUTE}.match.safe_regex.regex: invalid regex {regex!r}: {why}"]


def test_invalid_regex_in_header_matcher() -> None:
    doc = seed()
    route(doc)["match"]["headers"] = [{"name": "x", "string_match": {"safe_regex": {"regex": "["}}}]
    assert errors(doc) == [
        f"{ROUTE}.match.headers[0].string_match.safe_regex.regex: invalid regex '[': unterminated character set"
    ]


def test_router_missing() -> None:
    doc = seed()
    hcm(doc)["http_filters"] = []
    assert errors(doc) == [
        f"{HCM}.http_filters: the router (envoy.filters.http.router) must be the last HTTP filter; there is none"
    ]


def test_router_not_last() -> None:
    doc = seed()
    hcm(doc)["http_filters"].append(_wasm_filter())
    assert errors(doc) == [
        f"{HCM}.http_filters[0]: the router (envoy.filters.http.router) must be the last HTTP filter",
        f"{HCM}.http_filters[1]: the last HTTP filter must be the router (envoy.filters.http.router), "
        "not 'envoy.filters.http.wasm'",
    ]


def test_port_out_of_range() -> None:
    doc = seed()
    listener(doc)["address"]["socket_address"]["port_value"] = 70000
    assert errors(doc) == [f"{LISTENER}.address.socket_address.port_value: 70000 is out of range [0, 65535]"]


@pytest.mark.parametrize("value", ["1x", "1", "1.5", "s", "1.1234567891s", 5])
def test_bad_duration(value: object) -> None:
    doc = seed()
    cluster(doc)["connect_timeout"] = value
    assert errors(doc) == [
        f"{CLUSTER}.connect_timeout: invalid duration {value!r} (expected e.g. '1s', '0.25s' or {{seconds, nanos}})"
    ]


def test_negative_and_zero_durations() -> None:
    doc = seed()
    cluster(doc)["connect_timeout"] = "0s"
    hcm(doc)["stream_idle_timeout"] = "-1s"
    assert errors(doc) == [
        f"{CLUSTER}.connect_timeout: duration must be greater than 0s",
        f"{HCM}.stream_idle_timeout: duration must be at least 0s",
    ]


def test_static_cluster_needs_ip_addresses() -> None:
    doc = seed()
    cluster(doc)["type"] = "STATIC"
    assert errors(doc) == [
        f"{CLUSTER}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "
        "a STATIC cluster needs IP addresses, not 'cart-service.prod.svc.cluster.local' (use STRICT_DNS)"
    ]


def test_logical_dns_cluster_needs_one_endpoint() -> None:
    doc = seed()
    cluster(doc)["type"] = "LOGICAL_DNS"
    hosts = cluster(doc)["load_assignment"]["endpoints"][0]["lb_endpoints"]
    hosts.append(copy.deepcopy(hosts[0]))
    assert errors(doc) == [f"{CLUSTER}.load_assignment: a LOGICAL_DNS cluster needs exactly one endpoint, not 2"]


def test_logical_dns_cluster_without_endpoints() -> None:
    doc = seed()
    cluster(doc)["type"] = "LOGICAL_DNS"
    del cluster(doc)["load_assignment"]
    assert errors(doc) == [f"{CLUSTER}.load_assignment: a LOGICAL_DNS cluster needs exactly one endpoint, not 0"]


def test_every_error_is_collected() -> None:
    doc = seed()
    route(doc)["match"]["prefx"] = "/x"
    route(doc)["route"]["cluster"] = "nope"
    listener(doc)["address"]["socket_address"]["port_value"] = -1
    cluster(doc)["connect_timeout"] = "soon"
    doc["static_resources"]["secrets"] = [{"name": "s"}]
    assert len(errors(doc)) == 5


def test_invalid_entries_are_left_out_but_the_rest_is_checked() -> None:
    doc = seed()
    doc["static_resources"]["clusters"].insert(0, {"name": "broken", "type": "NOPE", "bogus": 1})
    assert errors(doc) == [
        "static_resources.clusters[0].type: unknown value 'NOPE' (expected one of STATIC, STRICT_DNS, LOGICAL_DNS, "
        "EDS, ORIGINAL_DST)",
        "static_resources.clusters[0].bogus: unknown field",
    ]


def test_top_level_must_be_an_object() -> None:
    assert errors(["not", "a", "bootstrap"]) == ["expected an object, got a list"]


def test_yaml_syntax_error_has_line_and_column() -> None:
    with pytest.raises(ConfigErrors) as info:
        loads("static_resources:\n  listeners: [\n")
    (error,) = info.value.errors
    assert error.message.startswith("config: invalid YAML at line 3, column 1")


def test_duplicate_yaml_keys_are_an_error() -> None:
    with pytest.raises(ConfigErrors) as info:
        loads("node:\n  id: a\n  id: b\n")
    assert info.value.errors[0].message == "config: invalid YAML at line 3, column 3: duplicate key 'id'"


def test_yaml_anchors_and_merge_keys_still_work() -> None:
    bootstrap = loads("node:\n  <<: &defaults {id: a, cluster: b}\n  cluster: c\n  metadata: *defaults\n")
    assert (bootstrap.node.id, bootstrap.node.cluster) == ("a", "c")
    assert bootstrap.node.metadata == {"id": "a", "cluster": "b"}


def test_unreadable_file() -> None:
    with pytest.raises(ConfigErrors) as info:
        load_bootstrap("/nonexistent/envoy.yaml")
    assert info.value.errors[0].message.startswith("cannot read config '/nonexistent/envoy.yaml'")


def test_no_config_at_all() -> None:
    with pytest.raises(ConfigErrors, match="no config"):
        load_bootstrap(None, None)


def _wasm_filter() -> dict[str, object]:
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {"vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"local": {"inline_string": "x"}}}},
        },
    }


def test_known_fields_without_effect_are_refused_when_set() -> None:
    doc = seed()
    hcm(doc).update(normalize_path=True, tracing={}, proxy_100_continue=False, merge_slashes=False)
    hcm(doc)["route_config"]["internal_only_headers"] = ["x-internal"]
    assert sorted(errors(doc)) == [
        f"{HCM}.normalize_path: not supported",
        f"{HCM}.route_config.internal_only_headers: not supported",
        f"{HCM}.tracing: not supported",
    ]


def test_remote_wasm_code_is_refused_not_dropped() -> None:
    doc = seed()
    hcm(doc)["http_filters"].insert(
        0,
        {
            "name": "envoy.filters.http.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": {"vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"remote": {}}}},
            },
        },
    )
    assert errors(doc) == [f"{HCM}.http_filters[0].typed_config.config.vm_config.code.remote: not supported"]
