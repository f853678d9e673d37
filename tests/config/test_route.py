"""The route configuration: matchers (deprecated forms normalised), actions, header mutations, checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config import build
from gateway.config.model import (
    ClusterNotFoundResponseCode,
    HeaderAppendAction,
    HttpConnectionManager,
    RedirectResponseCode,
    Route,
    RouteConfiguration,
    StringMatcher,
)
from tests.config.helpers import HCM, ROUTE, errors, hcm, route, seed


def _route_config(doc: object) -> RouteConfiguration:
    manager = build(doc).static_resources.listeners[0].filter_chains[0].filters[0].typed_config
    assert isinstance(manager, HttpConnectionManager)
    return manager.route_config


def _route(doc: object) -> Route:
    return _route_config(doc).virtual_hosts[0].routes[0]


def _with_route(**fields: Any) -> dict[str, Any]:
    doc = seed()
    route(doc).clear()
    route(doc).update(fields)
    return doc


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        ({"exact_match": "GET"}, StringMatcher(exact="GET")),
        ({"prefix_match": "Bearer "}, StringMatcher(prefix="Bearer ")),
        ({"suffix_match": ".json"}, StringMatcher(suffix=".json")),
        ({"contains_match": "mobile"}, StringMatcher(contains="mobile")),
        ({"string_match": {"exact": "a", "ignore_case": True}}, StringMatcher(exact="a", ignore_case=True)),
    ],
)
def test_header_matchers_become_string_matchers(matcher: dict[str, Any], expected: StringMatcher) -> None:
    doc = _with_route(
        match={"prefix": "/", "headers": [{"name": "X-Thing", **matcher}]}, route={"cluster": "cart_cluster"}
    )
    (header,) = _route(doc).match.headers
    assert header.name == "x-thing"
    assert header.string_match == expected and header.present_match is None


def test_header_matcher_regex_and_presence() -> None:
    headers = [
        {"name": "a", "safe_regex_match": {"regex": "v[0-9]+"}},
        {"name": "b", "present_match": False, "invert_match": True},
        {"name": "c"},
        {"name": "d", "string_match": {"prefix": "x"}, "treat_missing_header_as_empty": True},
    ]
    doc = _with_route(match={"prefix": "/", "headers": headers}, route={"cluster": "cart_cluster"})
    a, b, c, d = _route(doc).match.headers
    assert a.string_match is not None and a.string_match.safe_regex is not None
    assert a.string_match.safe_regex.compiled.fullmatch("v12")
    assert (b.present_match, b.invert_match) == (False, True)
    assert c.present_match is True  # no specifier: the header must be present
    assert d.treat_missing_header_as_empty is True


def test_two_header_specifiers() -> None:
    doc = _with_route(
        match={"prefix": "/", "headers": [{"name": "a", "exact_match": "1", "prefix_match": "2"}]},
        route={"cluster": "cart_cluster"},
    )
    assert errors(doc) == [
        f"{ROUTE}.match.headers[0].prefix_match: only one of exact_match, prefix_match, suffix_match, "
        "contains_match, safe_regex_match, range_match, present_match, string_match may be set"
    ]


def test_query_parameters() -> None:
    params = [{"name": "debug"}, {"name": "v", "string_match": {"exact": "2"}}]
    doc = _with_route(match={"path": "/q", "query_parameters": params}, route={"cluster": "cart_cluster"})
    debug, v = _route(doc).match.query_parameters
    assert debug.string_match is None
    assert v.string_match == StringMatcher(exact="2")


@pytest.mark.parametrize("prefix", ["/api/", "", "/a?b"])
def test_path_separated_prefix_rules(prefix: str) -> None:
    doc = _with_route(match={"path_separated_prefix": prefix}, route={"cluster": "cart_cluster"})
    assert errors(doc) == [
        f"{ROUTE}.match.path_separated_prefix: {prefix!r} must not be empty, end with '/' or contain '?' or '#'"
    ]


def test_two_path_specifiers() -> None:
    doc = _with_route(match={"prefix": "/", "path": "/x"}, route={"cluster": "cart_cluster"})
    assert errors(doc) == [
        f"{ROUTE}.match.path: only one of prefix, path, safe_regex, path_separated_prefix, connect_matcher, "
        "path_match_policy may be set"
    ]


def test_route_action_fields() -> None:
    action = {
        "cluster": "cart_cluster",
        "regex_rewrite": {"pattern": {"regex": "^/cart/(.*)$"}, "substitution": "/\\1"},
        "host_rewrite_literal": "cart.internal",
        "timeout": "2.5s",
        "idle_timeout": "0s",
        "cluster_not_found_response_code": "NOT_FOUND",
        "upgrade_configs": [{"upgrade_type": "websocket"}, {"upgrade_type": "h2c", "enabled": False}],
    }
    doc = _with_route(match={"prefix": "/cart"}, route=action)
    action_model = _route(doc).route
    assert action_model is not None
    assert action_model.regex_rewrite is not None
    assert action_model.regex_rewrite.pattern.compiled.sub(action_model.regex_rewrite.substitution, "/cart/x") == "/x"
    assert action_model.host_rewrite_literal == "cart.internal"
    assert (action_model.timeout, action_model.idle_timeout) == (2.5, 0.0)
    assert action_model.cluster_not_found_response_code.status == 404
    assert action_model.cluster_not_found_response_code is ClusterNotFoundResponseCode.NOT_FOUND
    assert [(u.upgrade_type, u.enabled) for u in action_model.upgrade_configs] == [("websocket", True), ("h2c", False)]


def test_rewrite_conflicts() -> None:
    action: dict[str, object] = {"cluster": "cart_cluster", "prefix_rewrite": "/"}
    action |= {"regex_rewrite": {"pattern": {"regex": "x"}}, "host_rewrite_literal": "h", "auto_host_rewrite": True}
    doc = _with_route(match={"prefix": "/"}, route=action)
    assert errors(doc) == [
        f"{ROUTE}.route.regex_rewrite: only one of prefix_rewrite, regex_rewrite, path_rewrite_policy may be set",
        f"{ROUTE}.route.auto_host_rewrite: only one of host_rewrite_literal, auto_host_rewrite, "
        "host_rewrite_header, host_rewrite_path_regex may be set",
    ]


def test_action_is_required() -> None:
    doc = _with_route(match={"prefix": "/"})
    assert errors(doc) == [
        f"{ROUTE}: one of route, redirect, direct_response, filter_action, non_forwarding_action is required"
    ]


def test_redirect() -> None:
    redirect = {"https_redirect": True, "host_redirect": "example.com", "port_redirect": 8443}
    redirect |= {"prefix_rewrite": "/new", "response_code": "PERMANENT_REDIRECT", "strip_query": True}
    doc = _with_route(match={"prefix": "/old"}, redirect=redirect)
    model = _route(doc).redirect
    assert model is not None
    assert (model.https_redirect, model.host_redirect, model.port_redirect) == (True, "example.com", 8443)
    assert model.response_code is RedirectResponseCode.PERMANENT_REDIRECT and model.response_code.status == 308
    assert model.strip_query is True


def test_redirect_default_code() -> None:
    doc = _with_route(match={"prefix": "/"}, redirect={"path_redirect": "/x"})
    redirect = _route(doc).redirect
    assert redirect is not None and redirect.response_code.status == 301


def test_direct_response_bodies(tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("from a file")
    doc = seed()
    routes = hcm(doc)["route_config"]["virtual_hosts"][0]["routes"]
    routes[:] = [
        {"match": {"path": "/a"}, "direct_response": {"status": 200, "body": {"inline_string": "ok"}}},
        {"match": {"path": "/b"}, "direct_response": {"status": 503, "body": {"filename": str(body)}}},
        {"match": {"path": "/c"}, "direct_response": {"status": 204}},
    ]
    a, b, c = _route_config(doc).virtual_hosts[0].routes
    assert a.direct_response is not None and a.direct_response.body == b"ok"
    assert b.direct_response is not None and (b.direct_response.status, b.direct_response.body) == (503, b"from a file")
    assert c.direct_response is not None and c.direct_response.body is None


def test_direct_response_errors() -> None:
    doc = seed()
    hcm(doc)["route_config"]["max_direct_response_body_size_bytes"] = 4
    routes = hcm(doc)["route_config"]["virtual_hosts"][0]["routes"]
    routes[:] = [
        {"match": {"path": "/a"}, "direct_response": {"status": 700}},
        {"match": {"path": "/b"}, "direct_response": {"status": 200, "body": {"inline_string": "too long"}}},
        {"match": {"path": "/c"}, "direct_response": {"status": 200, "body": {"filename": "/nonexistent/x"}}},
        {"match": {"path": "/d"}, "direct_response": {}},
    ]
    base = f"{HCM}.route_config.virtual_hosts[0].routes"
    assert errors(doc) == [
        f"{base}[0].direct_response.status: 700 is out of range [100, 599]",
        f"{base}[1].direct_response.body: 8 bytes, more than max_direct_response_body_size_bytes (4)",
        f"{base}[2].direct_response.body: cannot read '/nonexistent/x': No such file or directory",
        f"{base}[3].direct_response.status: required field missing",
    ]


def test_header_mutations_at_every_level() -> None:
    doc = seed()
    rc = hcm(doc)["route_config"]
    rc["response_headers_to_add"] = [{"header": {"key": "x-rc", "value": "%HOSTNAME%"}, "append": False}]
    rc["request_headers_to_remove"] = ["X-Internal"]
    rc["virtual_hosts"][0]["request_headers_to_add"] = [
        {"header": {"key": "x-vh", "value": "1"}, "append_action": "ADD_IF_ABSENT", "keep_empty_value": True}
    ]
    route(doc)["response_headers_to_add"] = [{"header": {"key": "x-route", "value": "r"}}]
    config = _route_config(doc)
    (rc_add,) = config.response_headers_to_add
    assert rc_add.append_action is HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD and rc_add.append is False
    assert config.request_headers_to_remove == ("x-internal",)
    (vh_add,) = config.virtual_hosts[0].request_headers_to_add
    assert vh_add.append_action is HeaderAppendAction.ADD_IF_ABSENT and vh_add.keep_empty_value
    (route_add,) = config.virtual_hosts[0].routes[0].response_headers_to_add
    assert route_add.append_action is HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD


def test_header_mutation_errors() -> None:
    doc = seed()
    route(doc)["request_headers_to_add"] = [
        {"header": {"key": "x", "value": "a\r\nb"}},
        {"header": {"key": "", "value": "v"}},
        {"header": {"key": "y"}, "append": True, "append_action": "OVERWRITE_IF_EXISTS"},
    ]
    route(doc)["request_headers_to_remove"] = [""]
    add = f"{ROUTE}.request_headers_to_add"
    assert errors(doc) == [
        f"{add}[0].header.value: header value must not contain NUL, CR or LF",
        f"{add}[1].header.key: must not be empty",
        f"{add}[2].append: append and append_action may not both be set",
        f"{ROUTE}.request_headers_to_remove[0]: header name must not be empty",
    ]


def test_pseudo_headers_and_host_may_not_be_modified() -> None:
    doc = seed()
    route(doc)["request_headers_to_add"] = [{"header": {"key": ":path", "value": "/x"}}]
    route(doc)["request_headers_to_remove"] = ["Host", "x-ok"]
    assert errors(doc) == [
        f"{ROUTE}.request_headers_to_add[0].header.key: ':path': ':'-prefixed or host headers may not be modified",
        f"{ROUTE}.request_headers_to_remove[0]: 'Host': ':'-prefixed or host headers may not be modified",
    ]


def test_virtual_host_needs_domains() -> None:
    doc = seed()
    hcm(doc)["route_config"]["virtual_hosts"][0]["domains"] = []
    assert errors(doc) == [f"{HCM}.route_config.virtual_hosts[0].domains: at least one domain is required"]
