"""The compiled route table: virtual host selection, route order and match conditions, cluster choice, header
mutations and their precedence, path rewrites and the Location of redirects."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from gateway.config.model import (
    ClusterWeight,
    DirectResponseAction,
    HeaderAppendAction,
    HeaderMatcher,
    QueryParameterMatcher,
    RedirectAction,
    RedirectResponseCode,
    RegexMatchAndSubstitute,
    Route,
    RouteAction,
    RouteMatch,
    UpgradeConfig,
    WeightedCluster,
)
from gateway.core.errors import ConfigError
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo, StreamInfo
from gateway.filters.router.table import RouteTable

from .builders import config, hvo, regex, request, route, sm, vhost


def _cluster(table: RouteTable, **kwargs: str) -> str | None:
    match = table.route(request(**kwargs))
    return None if match is None else match.cluster_name


def _info(headers: HeaderMap | None = None) -> StreamInfo:
    info = StreamInfo(ConnectionInfo(1, ("10.0.0.1", 5555), ("127.0.0.1", 80)))
    info.request_headers = headers
    return info


# -- virtual hosts --


def _domains_table(**kwargs: object) -> RouteTable:
    return RouteTable(
        config(
            vhost("exact", ["foo.com", "Mixed.Example"], [route("exact")]),
            vhost("suffix-short", ["*.com"], [route("suffix-short")]),
            vhost("suffix-long", ["*.bar.com"], [route("suffix-long")]),
            vhost("suffix-dash", ["*-bar.baz.com"], [route("suffix-dash")]),
            vhost("prefix-short", ["foo.*"], [route("prefix-short")]),
            vhost("prefix-long", ["foo.bar.*"], [route("prefix-long")]),
            vhost("port", ["ported.org:*"], [route("port")]),
            vhost("default", ["*"], [route("default")]),
            **kwargs,  # type: ignore[arg-type]
        )
    )


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        ("foo.com", "exact"),
        ("FOO.com", "exact"),  # hosts are case-insensitive
        ("mixed.example", "exact"),  # so are configured domains
        ("x.bar.com", "suffix-long"),  # longest suffix first
        ("x.baz.com", "suffix-short"),
        ("a-bar.baz.com", "suffix-dash"),
        ("-bar.baz.com", "suffix-short"),  # a wildcard never matches the empty string
        ("foo.bar.org", "prefix-long"),  # suffix wildcards come before prefix wildcards, longest prefix first
        ("foo.org", "prefix-short"),
        ("ported.org:8080", "port"),
        ("other.org", "default"),
        ("foo.com:8080", "prefix-short"),  # the port is part of the host unless ignore_port_in_host_matching
    ],
)
def test_virtual_host_precedence(authority: str, expected: str) -> None:
    assert _cluster(_domains_table(), authority=authority) == expected


def test_ignore_port_in_host_matching() -> None:
    table = _domains_table(ignore_port_in_host_matching=True)
    assert _cluster(table, authority="foo.com:8080") == "exact"
    assert _cluster(table, authority="[::1]:80") == "default"


def test_no_default_virtual_host_means_no_route() -> None:
    table = RouteTable(config(vhost("a", ["a.com"], [route("a")])))
    assert _cluster(table, authority="a.com") == "a"
    assert _cluster(table, authority="b.com") is None
    headers = request()
    headers.remove(b":authority")
    assert table.route(headers) is None


def test_only_default_virtual_host_ignores_authority() -> None:
    table = RouteTable(config(vhost("a", ["*"], [route("a")])))
    headers = request()
    headers.remove(b":authority")
    match = table.route(headers)
    assert match is not None and match.cluster_name == "a"


@pytest.mark.parametrize(
    "domains",
    [[["*"], ["*"]], [["a.com"], ["a.com"]], [["*.a.com"], ["*.a.com"]], [["a.*"], ["a.*"]]],
)
def test_duplicate_domains_are_config_errors(domains: list[list[str]]) -> None:
    with pytest.raises(ConfigError, match=r"virtual_hosts\[1\]\.domains\[0\]"):
        RouteTable(config(vhost("x", domains[0], [route()]), vhost("y", domains[1], [route()])))


# -- routes --


def test_first_matching_route_wins_and_query_is_ignored_for_paths() -> None:
    table = RouteTable(
        config(
            vhost(
                "v",
                ["*"],
                [
                    route("exact", path="/api/health"),
                    route("regex", safe_regex="/api/v[0-9]+/.*"),
                    route("api", prefix="/api"),
                    route("sep", path_separated_prefix="/static"),
                    route("root", prefix="/"),
                ],
            )
        )
    )
    assert _cluster(table, path="/api/health?verbose=1") == "exact"
    assert _cluster(table, path="/api/health#top") == "exact"
    assert _cluster(table, path="/api/v2/users?x=1") == "regex"
    assert _cluster(table, path="/api/other") == "api"
    assert _cluster(table, path="/static/app.js") == "sep"
    assert _cluster(table, path="/staticx") == "root"
    headers = request()
    headers.remove(b":path")
    assert table.route(headers) is None


def test_header_and_query_conditions() -> None:
    r1 = Route(
        match=RouteMatch(
            prefix="/",
            headers=(HeaderMatcher("x-canary", string_match=sm(exact="1")),),
            query_parameters=(QueryParameterMatcher("debug"),),
        ),
        route=RouteAction(cluster="both"),
    )
    r2 = Route(
        match=RouteMatch(prefix="/", headers=(HeaderMatcher("x-canary", string_match=sm(exact="1")),)),
        route=RouteAction(cluster="header"),
    )
    table = RouteTable(config(vhost("v", ["*"], [r1, r2, route("rest")])))
    assert _cluster(table, path="/?debug", x_canary="1") == "both"
    assert _cluster(table, path="/?other", x_canary="1") == "header"
    assert _cluster(table, path="/?debug", x_canary="2") == "rest"


def test_route_names_and_virtual_host() -> None:
    table = RouteTable(config(vhost("v", ["*"], [route("c", name="my-route")])))
    match = table.route(request())
    assert match is not None
    assert (match.name, match.cluster_name, match.virtual_host_name) == ("my-route", "c", "v")


def test_cluster_header() -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster_header="X-Cluster"))
    table = RouteTable(config(vhost("v", ["*"], [r])))
    assert _cluster(table, x_cluster="blue") == "blue"
    assert _cluster(table) == ""  # absent header: no cluster, the router answers 503 NC


def test_weighted_clusters_follow_the_weights() -> None:
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(
            weighted_clusters=WeightedCluster((ClusterWeight("a", 1), ClusterWeight("b", 3), ClusterWeight("z", 0)))
        ),
    )
    table = RouteTable(config(vhost("v", ["*"], [r])))
    random.seed(7)
    counts = Counter(_cluster(table) for _ in range(4000))
    assert counts["z"] == 0
    assert 0.2 < counts["a"] / 4000 < 0.3
    assert counts["a"] + counts["b"] == 4000


def test_route_action_settings() -> None:
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(
            cluster="c",
            timeout=2.5,
            idle_timeout=0.0,
            upgrade_configs=(UpgradeConfig("WebSocket"), UpgradeConfig("h2c", enabled=False)),
        ),
    )
    match = RouteTable(config(vhost("v", ["*"], [r]))).route(request())
    assert match is not None
    assert match.route.timeout == 2.5
    assert match.idle_timeout == 0.0
    assert match.upgrade_map == {"websocket": True, "h2c": False}
    plain = RouteTable(config(vhost("v", ["*"], [route("c")]))).route(request())
    assert plain is not None and (plain.idle_timeout, plain.upgrade_map, plain.route.timeout) == (None, {}, 15.0)


# -- header mutations --


def _mutated(table: RouteTable, headers: HeaderMap) -> HeaderMap:
    match = table.route(headers)
    assert match is not None
    for mutation in match.request_mutations:
        mutation.apply(headers, _info(headers))
    return headers


def _levels_table(most_specific_wins: bool) -> RouteTable:
    overwrite = HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(cluster="c"),
        request_headers_to_add=(hvo("x-level", "route", overwrite), hvo("x-all", "route")),
    )
    v = vhost(
        "v",
        ["*"],
        [r],
        request_headers_to_add=(hvo("x-level", "vhost", overwrite), hvo("x-all", "vhost")),
    )
    return RouteTable(
        config(
            v,
            request_headers_to_add=(hvo("x-level", "config", overwrite), hvo("x-all", "config")),
            most_specific_header_mutations_wins=most_specific_wins,
        )
    )


def test_least_specific_level_wins_by_default() -> None:
    headers = _mutated(_levels_table(False), request())
    assert headers.get_all(b"x-level") == [b"config"]
    assert headers.get_all(b"x-all") == [b"route", b"vhost", b"config"]


def test_most_specific_header_mutations_wins() -> None:
    headers = _mutated(_levels_table(True), request())
    assert headers.get_all(b"x-level") == [b"route"]
    assert headers.get_all(b"x-all") == [b"config", b"vhost", b"route"]


def test_append_actions_remove_and_empty_values() -> None:
    a = HeaderAppendAction
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(cluster="c"),
        request_headers_to_add=(
            hvo("x-append", "new"),
            hvo("x-absent", "new", a.ADD_IF_ABSENT),
            hvo("x-present", "new", a.ADD_IF_ABSENT),
            hvo("x-overwrite", "new", a.OVERWRITE_IF_EXISTS_OR_ADD),
            hvo("x-if-exists", "new", a.OVERWRITE_IF_EXISTS),
            hvo("x-if-exists-missing", "new", a.OVERWRITE_IF_EXISTS),
            hvo("x-empty", ""),
            hvo("x-kept-empty", "", keep_empty=True),
            hvo("x-removed", "added back"),
        ),
        request_headers_to_remove=("x-removed", "x-gone"),
    )
    table = RouteTable(config(vhost("v", ["*"], [r])))
    headers = _mutated(
        table,
        request(
            x_append="old",
            x_present="old",
            x_overwrite="old",
            x_if_exists="old",
            x_removed="old",
            x_gone="old",
        ),
    )
    assert headers.get_all(b"x-append") == [b"old", b"new"]
    assert headers.get_all(b"x-absent") == [b"new"]
    assert headers.get_all(b"x-present") == [b"old"]
    assert headers.get_all(b"x-overwrite") == [b"new"]
    assert headers.get_all(b"x-if-exists") == [b"new"]
    assert b"x-if-exists-missing" not in headers
    assert b"x-empty" not in headers
    assert headers.get_all(b"x-kept-empty") == [b""]
    # Removal comes first within a level, so an add of the same name survives it.
    assert headers.get_all(b"x-removed") == [b"added back"]
    assert b"x-gone" not in headers


def test_formatter_values_see_the_headers_before_the_level_writes() -> None:
    overwrite = HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(cluster="c"),
        request_headers_to_add=(
            hvo("x-a", "set", overwrite),
            hvo("x-copy", "%REQ(x-a)%"),
            hvo("x-client", "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"),
            hvo("x-missing", "%REQ(x-nope)%"),
        ),
    )
    table = RouteTable(config(vhost("v", ["*"], [r])))
    headers = _mutated(table, request(x_a="original"))
    assert headers.get(b"x-a") == b"set"
    assert headers.get(b"x-copy") == b"original"
    assert headers.get(b"x-client") == b"10.0.0.1"
    assert b"x-missing" not in headers  # an empty value is not added


def test_weighted_cluster_mutations_apply_first_and_per_cluster() -> None:
    overwrite = HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(
            weighted_clusters=WeightedCluster(
                (
                    ClusterWeight(
                        "a",
                        1,
                        host_rewrite_literal="a.internal",
                        request_headers_to_add=(hvo("x-w", "cluster-a", overwrite),),
                        response_headers_to_add=(hvo("x-resp", "a"),),
                    ),
                )
            )
        ),
        request_headers_to_add=(hvo("x-w", "route", overwrite),),
    )
    match = RouteTable(config(vhost("v", ["*"], [r]))).route(request())
    assert match is not None and match.cluster_name == "a"
    assert match.host_rewrite == b"a.internal"
    headers = request()
    for mutation in match.request_mutations:
        mutation.apply(headers, _info(headers))
    assert headers.get_all(b"x-w") == [b"route"]  # the route level is applied after the cluster's
    response = HeaderMap([(b":status", b"200")])
    for mutation in match.response_mutations:
        mutation.apply(response, _info())
    assert response.get(b"x-resp") == b"a"


@pytest.mark.parametrize("name", [":path", "Host", ":authority"])
def test_pseudo_headers_and_host_cannot_be_mutated(name: str) -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster="c"), request_headers_to_add=(hvo(name, "x"),))
    with pytest.raises(ConfigError, match=r"virtual_hosts\[0\]\.routes\[0\]"):
        RouteTable(config(vhost("v", ["*"], [r])))


# -- rewrites --


def _rewrite(match_kwargs: dict[str, object], action: RouteAction, path: str) -> bytes:
    r = Route(match=RouteMatch(**match_kwargs), route=action)  # type: ignore[arg-type]
    m = RouteTable(config(vhost("v", ["*"], [r]))).route(request(path=path))
    assert m is not None and m.route.path_rewrite is not None
    return m.route.path_rewrite.apply(path.encode())


@pytest.mark.parametrize(
    ("match_kwargs", "rewrite", "path", "expected"),
    [
        ({"prefix": "/api"}, "/v2", "/api/users?x=1", b"/v2/users?x=1"),
        ({"prefix": "/api/"}, "/", "/api/users", b"/users"),
        ({"prefix": "/API", "case_sensitive": False}, "/x", "/api/users", b"/x/users"),
        ({"path": "/old"}, "/new", "/old?q=1", b"/new?q=1"),
        ({"path_separated_prefix": "/svc"}, "/", "/svc/a", b"//a"),
        ({"safe_regex": regex("/v[0-9]/.*")}, "/all", "/v1/a/b?k=v", b"/all?k=v"),
    ],
)
def test_prefix_rewrite(match_kwargs: dict[str, object], rewrite: str, path: str, expected: bytes) -> None:
    assert _rewrite(match_kwargs, RouteAction(cluster="c", prefix_rewrite=rewrite), path) == expected


def test_regex_rewrite_keeps_the_query_and_uses_re2_groups() -> None:
    action = RouteAction(
        cluster="c",
        regex_rewrite=RegexMatchAndSubstitute(regex("^/service/([^/]+)(/.*)$"), "\\2/instance/\\1"),
    )
    assert _rewrite({"prefix": "/service"}, action, "/service/foo/v1/api?x=1") == b"/v1/api/instance/foo?x=1"
    every = RouteAction(cluster="c", regex_rewrite=RegexMatchAndSubstitute(regex("a"), "\\0\\0"))
    assert _rewrite({"prefix": "/"}, every, "/banana?a=a") == b"/baanaanaa?a=a"


def test_regex_invalid_as_bytes_pattern_is_a_config_error() -> None:
    # Valid for a str pattern (as the loader checked it), not for the bytes pattern the router matches with.
    r = Route(match=RouteMatch(safe_regex=regex("/\\N{DIGIT ONE}")), route=RouteAction(cluster="c"))
    with pytest.raises(ConfigError, match="invalid regex"):
        RouteTable(config(vhost("v", ["*"], [r])))


def test_invalid_regex_substitution_is_a_config_error() -> None:
    action = RouteAction(cluster="c", regex_rewrite=RegexMatchAndSubstitute(regex("a"), "\\n"))
    with pytest.raises(ConfigError):
        RouteTable(config(vhost("v", ["*"], [Route(match=RouteMatch(prefix="/"), route=action)])))


# -- redirects and direct responses --


def _location(action: RedirectAction, path: str = "/a/b?q=1", authority: str = "example.com", **hdrs: str) -> bytes:
    r = Route(match=RouteMatch(prefix="/a"), redirect=action)
    match = RouteTable(config(vhost("v", ["*"], [r]))).route(request(path=path, authority=authority))
    assert match is not None and match.route.redirect is not None
    headers = request(path=path, authority=authority, **hdrs)
    redirect = match.route.redirect
    if redirect.path_rewrite is not None:
        headers.set(b":path", redirect.path_rewrite.apply(headers.path or b""))
    return redirect.location(headers)


@pytest.mark.parametrize(
    ("action", "kwargs", "expected"),
    [
        (RedirectAction(host_redirect="new.com"), {}, b"http://new.com/a/b?q=1"),
        (RedirectAction(path_redirect="/x"), {}, b"http://example.com/x?q=1"),
        (RedirectAction(path_redirect="/x?own=1"), {}, b"http://example.com/x?own=1"),
        (RedirectAction(path_redirect="/x?own=1", strip_query=True), {}, b"http://example.com/x?own=1"),
        (RedirectAction(path_redirect="x"), {}, b"http://example.com/x?q=1"),
        (RedirectAction(strip_query=True), {}, b"http://example.com/a/b"),
        (RedirectAction(prefix_rewrite="/z"), {}, b"http://example.com/z/b?q=1"),
        (
            RedirectAction(regex_rewrite=RegexMatchAndSubstitute(regex("/a/(.*)"), "/moved/\\1")),
            {},
            b"http://example.com/moved/b?q=1",
        ),
        (RedirectAction(https_redirect=True), {}, b"https://example.com/a/b?q=1"),
        (RedirectAction(scheme_redirect="HTTPS"), {}, b"https://example.com/a/b?q=1"),
        # The default port of the old scheme is dropped when the scheme changes (judged by x-forwarded-proto).
        (
            RedirectAction(https_redirect=True),
            {"authority": "example.com:80", "x_forwarded_proto": "http"},
            b"https://example.com/a/b?q=1",
        ),
        (
            RedirectAction(https_redirect=True),
            {"authority": "example.com:8080", "x_forwarded_proto": "http"},
            b"https://example.com:8080/a/b?q=1",
        ),
        (RedirectAction(port_redirect=8443), {"authority": "example.com:8080"}, b"http://example.com:8443/a/b?q=1"),
        (RedirectAction(port_redirect=8443), {"authority": "[::1]:8080"}, b"http://[::1]:8443/a/b?q=1"),
        (RedirectAction(host_redirect="h.com", port_redirect=81), {}, b"http://h.com:81/a/b?q=1"),
    ],
)
def test_redirect_location(action: RedirectAction, kwargs: dict[str, str], expected: bytes) -> None:
    assert _location(action, **kwargs) == expected


def test_redirect_status_defaults_to_301() -> None:
    for action, status in (
        (RedirectAction(), 301),
        (RedirectAction(response_code=RedirectResponseCode.FOUND), 302),
        (RedirectAction(response_code=RedirectResponseCode.PERMANENT_REDIRECT), 308),
    ):
        r = Route(match=RouteMatch(prefix="/"), redirect=action)
        match = RouteTable(config(vhost("v", ["*"], [r]))).route(request())
        assert match is not None and match.route.redirect is not None
        assert match.route.redirect.status == status


def test_direct_response() -> None:
    routes = [
        Route(match=RouteMatch(path="/ok"), direct_response=DirectResponseAction(200, b"hi")),
        Route(match=RouteMatch(path="/gone"), direct_response=DirectResponseAction(302)),
    ]
    table = RouteTable(config(vhost("v", ["*"], routes)))
    ok = table.route(request(path="/ok"))
    assert ok is not None
    assert (ok.route.direct_status, ok.route.direct_body, ok.route.redirect) == (200, b"hi", None)
    gone = table.route(request(path="/gone?x"))
    assert gone is not None and gone.route.redirect is not None
    # A 3xx direct response carries the request's own URL as Location, as Envoy's.
    assert gone.route.redirect.location(request(path="/gone?x")) == b"http://example.com/gone?x"
