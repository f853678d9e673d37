"""Short constructors of route config model objects for the router tests."""

from __future__ import annotations

import re
from typing import Any

from gateway.config.model import (
    HeaderAppendAction,
    HeaderValue,
    HeaderValueOption,
    RegexMatcher,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    StringMatcher,
    VirtualHost,
)
from gateway.core.headers import HeaderMap


def regex(pattern: str) -> RegexMatcher:
    return RegexMatcher(pattern, re.compile(pattern))


def sm(**kwargs: Any) -> StringMatcher:
    if "safe_regex" in kwargs:
        kwargs["safe_regex"] = regex(kwargs["safe_regex"])
    return StringMatcher(**kwargs)


def hvo(
    key: str,
    value: str,
    action: HeaderAppendAction = HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD,
    keep_empty: bool = False,
) -> HeaderValueOption:
    return HeaderValueOption(HeaderValue(key, value), append_action=action, keep_empty_value=keep_empty)


def route(cluster: str = "c", name: str = "", **match: Any) -> Route:
    if not any(k in match for k in ("prefix", "path", "safe_regex", "path_separated_prefix")):
        match["prefix"] = "/"
    if "safe_regex" in match:
        match["safe_regex"] = regex(match["safe_regex"])
    return Route(match=RouteMatch(**match), name=name or cluster, route=RouteAction(cluster=cluster))


def vhost(name: str, domains: list[str], routes: list[Route], **kwargs: Any) -> VirtualHost:
    return VirtualHost(name=name, domains=tuple(domains), routes=tuple(routes), **kwargs)


def config(*vhosts: VirtualHost, **kwargs: Any) -> RouteConfiguration:
    return RouteConfiguration(name="rc", virtual_hosts=tuple(vhosts), **kwargs)


def request(
    path: str = "/", authority: str = "example.com", method: str = "GET", scheme: str = "http", **headers: str
) -> HeaderMap:
    pairs = [
        (b":method", method.encode()),
        (b":scheme", scheme.encode()),
        (b":authority", authority.encode()),
        (b":path", path.encode()),
    ]
    pairs += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return HeaderMap(pairs)
