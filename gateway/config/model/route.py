"""Route configuration: ``config.route.v3`` RouteConfiguration, VirtualHost, Route and their parts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.config.model.core import (
    HeaderValueOption,
    RegexMatcher,
    StringMatcher,
)


@dataclass(frozen=True, slots=True)
class HeaderMatcher:
    """``route.v3.HeaderMatcher``, normalised: the deprecated ``exact_match`` / ``prefix_match`` /
    ``suffix_match`` / ``contains_match`` / ``safe_regex_match`` arrive here as ``string_match``.

    Exactly one of ``string_match`` / ``present_match`` is set; with no specifier in the config Envoy matches on
    presence, so ``present_match`` is True then.
    """

    name: str
    string_match: StringMatcher | None = None
    present_match: bool | None = None
    invert_match: bool = False
    treat_missing_header_as_empty: bool = False


@dataclass(frozen=True, slots=True)
class QueryParameterMatcher:
    """``route.v3.QueryParameterMatcher``: with no ``string_match`` the parameter only has to be present."""

    name: str
    string_match: StringMatcher | None = None
    present_match: bool = False


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """``route.v3.RouteMatch``; oneof path_specifier: exactly one of ``prefix``, ``path``, ``safe_regex``,
    ``path_separated_prefix`` is set (``safe_regex`` must match the whole path)."""

    prefix: str | None = None
    path: str | None = None
    safe_regex: RegexMatcher | None = None
    path_separated_prefix: str | None = None
    case_sensitive: bool = True
    headers: tuple[HeaderMatcher, ...] = ()
    query_parameters: tuple[QueryParameterMatcher, ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterWeight:
    name: str
    weight: int = 0
    host_rewrite_literal: str | None = None
    request_headers_to_add: tuple[HeaderValueOption, ...] = ()
    request_headers_to_remove: tuple[str, ...] = ()
    response_headers_to_add: tuple[HeaderValueOption, ...] = ()
    response_headers_to_remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WeightedCluster:
    """``route.v3.WeightedCluster``. ``total_weight`` is the deprecated field (None when unset; when set the
    weights must add up to it); the weights always add up to more than 0."""

    clusters: tuple[ClusterWeight, ...]
    total_weight: int | None = None


@dataclass(frozen=True, slots=True)
class RegexMatchAndSubstitute:
    pattern: RegexMatcher
    substitution: str = ""


@dataclass(frozen=True, slots=True)
class UpgradeConfig:
    """``RouteAction.UpgradeConfig`` (per route) and ``HttpConnectionManager.UpgradeConfig`` (per listener)."""

    upgrade_type: str
    enabled: bool = True


class ClusterNotFoundResponseCode(Enum):
    SERVICE_UNAVAILABLE = 0
    NOT_FOUND = 1
    INTERNAL_SERVER_ERROR = 2

    @property
    def status(self) -> int:
        return _CLUSTER_NOT_FOUND_STATUS[self]


_CLUSTER_NOT_FOUND_STATUS = {
    ClusterNotFoundResponseCode.SERVICE_UNAVAILABLE: 503,
    ClusterNotFoundResponseCode.NOT_FOUND: 404,
    ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR: 500,
}


@dataclass(frozen=True, slots=True)
class RouteAction:
    """``route.v3.RouteAction``.

    oneof cluster_specifier: exactly one of ``cluster``, ``cluster_header``, ``weighted_clusters``.
    At most one of ``prefix_rewrite`` / ``regex_rewrite``; oneof host_rewrite_specifier: at most one of
    ``host_rewrite_literal`` / ``auto_host_rewrite``.
    ``timeout`` 0 disables the route timeout; ``idle_timeout`` None means "not set" (the connection manager's
    ``stream_idle_timeout`` applies) and 0 disables it.
    """

    cluster: str | None = None
    cluster_header: str | None = None
    weighted_clusters: WeightedCluster | None = None
    cluster_not_found_response_code: ClusterNotFoundResponseCode = ClusterNotFoundResponseCode.SERVICE_UNAVAILABLE
    prefix_rewrite: str | None = None
    regex_rewrite: RegexMatchAndSubstitute | None = None
    host_rewrite_literal: str | None = None
    auto_host_rewrite: bool = False
    timeout: float = 15.0
    idle_timeout: float | None = None
    upgrade_configs: tuple[UpgradeConfig, ...] = ()


class RedirectResponseCode(Enum):
    MOVED_PERMANENTLY = 0
    FOUND = 1
    SEE_OTHER = 2
    TEMPORARY_REDIRECT = 3
    PERMANENT_REDIRECT = 4

    @property
    def status(self) -> int:
        return _REDIRECT_STATUS[self]


_REDIRECT_STATUS = {
    RedirectResponseCode.MOVED_PERMANENTLY: 301,
    RedirectResponseCode.FOUND: 302,
    RedirectResponseCode.SEE_OTHER: 303,
    RedirectResponseCode.TEMPORARY_REDIRECT: 307,
    RedirectResponseCode.PERMANENT_REDIRECT: 308,
}


@dataclass(frozen=True, slots=True)
class RedirectAction:
    """``route.v3.RedirectAction``. oneof scheme_rewrite_specifier: ``scheme_redirect`` / ``https_redirect``
    (the loader stores ``https_redirect: true`` as is; it means scheme "https"); oneof path_rewrite_specifier:
    ``path_redirect`` / ``prefix_rewrite`` / ``regex_rewrite``. ``port_redirect`` 0 means unchanged."""

    scheme_redirect: str | None = None
    https_redirect: bool = False
    host_redirect: str | None = None
    port_redirect: int = 0
    path_redirect: str | None = None
    prefix_rewrite: str | None = None
    regex_rewrite: RegexMatchAndSubstitute | None = None
    response_code: RedirectResponseCode = RedirectResponseCode.MOVED_PERMANENTLY
    strip_query: bool = False


@dataclass(frozen=True, slots=True)
class DirectResponseAction:
    """``route.v3.DirectResponseAction``; ``body`` is resolved at load (a ``filename`` is read then), as Envoy
    does, and limited by ``RouteConfiguration.max_direct_response_body_size_bytes``."""

    status: int
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """``route.v3.Route``; oneof action: exactly one of ``route``, ``redirect``, ``direct_response``."""

    match: RouteMatch
    name: str = ""
    route: RouteAction | None = None
    redirect: RedirectAction | None = None
    direct_response: DirectResponseAction | None = None
    request_headers_to_add: tuple[HeaderValueOption, ...] = ()
    request_headers_to_remove: tuple[str, ...] = ()
    response_headers_to_add: tuple[HeaderValueOption, ...] = ()
    response_headers_to_remove: tuple[str, ...] = ()
    stat_prefix: str = ""


@dataclass(frozen=True, slots=True)
class VirtualHost:
    name: str
    domains: tuple[str, ...]
    routes: tuple[Route, ...] = ()
    request_headers_to_add: tuple[HeaderValueOption, ...] = ()
    request_headers_to_remove: tuple[str, ...] = ()
    response_headers_to_add: tuple[HeaderValueOption, ...] = ()
    response_headers_to_remove: tuple[str, ...] = ()
    include_request_attempt_count: bool = False
    include_attempt_count_in_response: bool = False


@dataclass(frozen=True, slots=True)
class RouteConfiguration:
    """``route.v3.RouteConfiguration``. ``validate_clusters`` defaults to true for an inline (static) route
    config, as in Envoy: then a route to an undefined cluster is a load error, otherwise a 404 at run time."""

    name: str = ""
    virtual_hosts: tuple[VirtualHost, ...] = ()
    request_headers_to_add: tuple[HeaderValueOption, ...] = ()
    request_headers_to_remove: tuple[str, ...] = ()
    response_headers_to_add: tuple[HeaderValueOption, ...] = ()
    response_headers_to_remove: tuple[str, ...] = ()
    most_specific_header_mutations_wins: bool = False
    validate_clusters: bool = True
    max_direct_response_body_size_bytes: int = 4096
    ignore_port_in_host_matching: bool = False
