"""Parsers of the route configuration: RouteConfiguration, VirtualHost, Route and their matchers and actions."""

from __future__ import annotations

import re
from collections.abc import Callable

from gateway.config.fields import Fields, Invalid, RouteScope
from gateway.config.model.core import RegexMatcher, RoutingPriority, StringMatcher
from gateway.config.model.route import (
    ClusterNotFoundResponseCode,
    ClusterWeight,
    DirectResponseAction,
    HeaderMatcher,
    QueryParameterMatcher,
    RedirectAction,
    RedirectResponseCode,
    RegexMatchAndSubstitute,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    UpgradeConfig,
    VirtualHost,
    WeightedCluster,
)
from gateway.config.parse.common import (
    check_header_name,
    parse_data_source,
    parse_headers_to_add,
    parse_headers_to_remove,
    parse_regex_matcher,
    parse_string_matcher,
    read_data_source,
)

# RouteMatch.path_separated_prefix: no query or fragment, no trailing slash.
_PATH_SEPARATED_PREFIX = re.compile(r"[^?#]+[^?#/]")


def parse_route_configuration(f: Fields) -> RouteConfiguration:
    f.unsupported(
        "vhds", "cluster_specifier_plugins", "request_mirror_policies", "typed_per_filter_config", "metadata",
        "ignore_path_parameters_in_path_matching",
    )  # fmt: skip
    f.unsupported("internal_only_headers")
    scope = RouteScope(
        validate_clusters=f.boolean("validate_clusters", True, wrapped=True),
        max_direct_response_body_size_bytes=f.uint32("max_direct_response_body_size_bytes", 4096, wrapped=True),
    )
    with f.ctx.in_route_config(scope):
        virtual_hosts = f.repeated_at("virtual_hosts", parse_virtual_host)
    _check_unique_virtual_hosts(f, virtual_hosts)
    return RouteConfiguration(
        name=f.string("name"),
        virtual_hosts=tuple(vh for _, vh in virtual_hosts),
        request_headers_to_add=parse_headers_to_add(f, "request_headers_to_add"),
        request_headers_to_remove=parse_headers_to_remove(f, "request_headers_to_remove"),
        response_headers_to_add=parse_headers_to_add(f, "response_headers_to_add"),
        response_headers_to_remove=parse_headers_to_remove(f, "response_headers_to_remove"),
        most_specific_header_mutations_wins=f.boolean("most_specific_header_mutations_wins"),
        validate_clusters=scope.validate_clusters,
        max_direct_response_body_size_bytes=scope.max_direct_response_body_size_bytes,
        ignore_port_in_host_matching=f.boolean("ignore_port_in_host_matching"),
    )


def _check_unique_virtual_hosts(f: Fields, virtual_hosts: list[tuple[str, VirtualHost]]) -> None:
    """Envoy rejects a route configuration whose virtual hosts share a name or a domain (case-insensitive)."""
    names: dict[str, str] = {}
    domains: dict[str, str] = {}
    for path, vh in virtual_hosts:
        if vh.name in names:
            f.ctx.sink.add(f"{path}.name", f"duplicate virtual host name {vh.name!r} (first in {names[vh.name]})")
        names.setdefault(vh.name, path)
        for i, domain in enumerate(vh.domains):
            key = domain.lower()
            if key in domains:
                f.ctx.sink.add(f"{path}.domains[{i}]", f"duplicate domain {domain!r} (first in {domains[key]})")
            domains.setdefault(key, path)


def parse_virtual_host(f: Fields) -> VirtualHost:
    f.unsupported(
        "matcher", "require_tls", "virtual_clusters", "rate_limits", "cors", "typed_per_filter_config",
        "retry_policy", "retry_policy_typed_config", "hedge_policy", "include_is_timeout_retry_header",
        "per_request_buffer_limit_bytes", "request_mirror_policies", "metadata",
    )  # fmt: skip
    name = f.string("name", required=True)
    domains = f.strings("domains")
    if not domains and f.raw("domains") is not None:
        f.error("domains", "at least one domain is required")
    elif not f.has("domains"):
        f.error("domains", "required field missing")
    host = VirtualHost(
        name=name,
        domains=domains,
        routes=f.repeated("routes", parse_route),
        request_headers_to_add=parse_headers_to_add(f, "request_headers_to_add"),
        request_headers_to_remove=parse_headers_to_remove(f, "request_headers_to_remove"),
        response_headers_to_add=parse_headers_to_add(f, "response_headers_to_add"),
        response_headers_to_remove=parse_headers_to_remove(f, "response_headers_to_remove"),
        include_request_attempt_count=f.boolean("include_request_attempt_count"),
        include_attempt_count_in_response=f.boolean("include_attempt_count_in_response"),
    )
    if not name or not domains:
        raise Invalid
    return host


def parse_route(f: Fields) -> Route:
    f.unsupported(
        "filter_action", "non_forwarding_action", "metadata", "decorator", "typed_per_filter_config", "tracing",
        "per_request_buffer_limit_bytes",
    )  # fmt: skip
    action = f.oneof("route", "redirect", "direct_response", "filter_action", "non_forwarding_action", required=True)
    match = f.message("match", parse_route_match, required=True)
    route = Route(
        match=match or RouteMatch(),  # a placeholder, never returned: a route without a match is invalid
        name=f.string("name"),
        route=f.message("route", parse_route_action),
        redirect=f.message("redirect", parse_redirect_action),
        direct_response=f.message("direct_response", parse_direct_response_action),
        request_headers_to_add=parse_headers_to_add(f, "request_headers_to_add"),
        request_headers_to_remove=parse_headers_to_remove(f, "request_headers_to_remove"),
        response_headers_to_add=parse_headers_to_add(f, "response_headers_to_add"),
        response_headers_to_remove=parse_headers_to_remove(f, "response_headers_to_remove"),
        stat_prefix=f.string("stat_prefix"),
    )
    if match is None or action is None or getattr(route, action, None) is None:
        raise Invalid
    return route


def parse_route_match(f: Fields) -> RouteMatch:
    f.unsupported("connect_matcher", "path_match_policy", "runtime_fraction", "grpc", "tls_context", "dynamic_metadata")
    which = f.oneof(
        "prefix", "path", "safe_regex", "path_separated_prefix", "connect_matcher", "path_match_policy", required=True
    )
    separated = f.opt_string("path_separated_prefix")
    if separated is not None and not _PATH_SEPARATED_PREFIX.fullmatch(separated):
        f.error("path_separated_prefix", f"{separated!r} must not be empty, end with '/' or contain '?' or '#'")
        separated = None
    match = RouteMatch(
        prefix=f.opt_string("prefix"),
        path=f.opt_string("path"),
        safe_regex=f.message("safe_regex", parse_regex_matcher),
        path_separated_prefix=separated,
        case_sensitive=f.boolean("case_sensitive", True, wrapped=True),
        headers=f.repeated("headers", parse_header_matcher),
        query_parameters=f.repeated("query_parameters", parse_query_parameter_matcher),
    )
    if which is None or getattr(match, which, None) is None:
        raise Invalid
    return match


# The deprecated HeaderMatcher specifiers, as the StringMatcher each becomes.
_LEGACY_HEADER_MATCHES: dict[str, Callable[[str], StringMatcher]] = {
    "exact_match": lambda v: StringMatcher(exact=v),
    "prefix_match": lambda v: StringMatcher(prefix=v),
    "suffix_match": lambda v: StringMatcher(suffix=v),
    "contains_match": lambda v: StringMatcher(contains=v),
}


def parse_header_matcher(f: Fields) -> HeaderMatcher:
    f.unsupported("range_match")
    which = f.oneof(*_LEGACY_HEADER_MATCHES, "safe_regex_match", "range_match", "present_match", "string_match")
    name = f.string("name", required=True)
    string_match: StringMatcher | None = None
    for legacy, make in _LEGACY_HEADER_MATCHES.items():
        value = f.opt_string(legacy)
        if value == "" and legacy != "exact_match":
            f.error(legacy, "must not be empty")
        elif value is not None:
            string_match = make(value)
    regex = f.message("safe_regex_match", parse_regex_matcher)
    if regex is not None:
        string_match = StringMatcher(safe_regex=regex)
    string_match = f.message("string_match", parse_string_matcher) or string_match
    present = f.opt_bool("present_match")
    matcher = HeaderMatcher(
        name=name.lower(),
        string_match=string_match,
        present_match=True if which is None else present,
        invert_match=f.boolean("invert_match"),
        treat_missing_header_as_empty=f.boolean("treat_missing_header_as_empty"),
    )
    if not check_header_name(f, "name", name) or (matcher.string_match is None and matcher.present_match is None):
        raise Invalid
    return matcher


def parse_query_parameter_matcher(f: Fields) -> QueryParameterMatcher:
    f.oneof("string_match", "present_match")
    name = f.string("name", required=True)
    if len(name) > 1024:
        f.error("name", "longer than 1024 characters")
    matcher = QueryParameterMatcher(
        name=name,
        string_match=f.message("string_match", parse_string_matcher),
        present_match=f.boolean("present_match"),
    )
    if not name or (f.has("string_match") and matcher.string_match is None):
        raise Invalid
    return matcher


def parse_route_action(f: Fields) -> RouteAction:
    f.unsupported(
        "cluster_specifier_plugin", "inline_cluster_specifier_plugin", "metadata_match", "path_rewrite_policy",
        "host_rewrite_header", "host_rewrite_path_regex", "append_x_forwarded_host", "early_data_policy",
        "retry_policy", "retry_policy_typed_config", "request_mirror_policies", "rate_limits",
        "include_vh_rate_limits", "hash_policy", "cors", "max_grpc_timeout", "grpc_timeout_offset",
        "internal_redirect_policy", "internal_redirect_action", "max_internal_redirects", "hedge_policy",
        "max_stream_duration",
    )  # fmt: skip
    # Every request counts against the DEFAULT circuit breakers.
    f.enum("priority", RoutingPriority, RoutingPriority.DEFAULT, unsupported=(RoutingPriority.HIGH,))
    which = f.oneof(
        "cluster", "cluster_header", "weighted_clusters", "cluster_specifier_plugin",
        "inline_cluster_specifier_plugin", required=True,
    )  # fmt: skip
    f.oneof("prefix_rewrite", "regex_rewrite", "path_rewrite_policy")
    f.oneof("host_rewrite_literal", "auto_host_rewrite", "host_rewrite_header", "host_rewrite_path_regex")
    cluster = f.string("cluster", required=which == "cluster") or None
    if cluster is not None:
        f.ctx.refer_to_cluster(f.at("cluster"), cluster)
    cluster_header = f.string("cluster_header", required=which == "cluster_header") or None
    if cluster_header is not None and not check_header_name(f, "cluster_header", cluster_header):
        cluster_header = None
    action = RouteAction(
        cluster=cluster,
        cluster_header=cluster_header.lower() if cluster_header else None,
        weighted_clusters=f.message("weighted_clusters", parse_weighted_cluster),
        cluster_not_found_response_code=f.enum(
            "cluster_not_found_response_code",
            ClusterNotFoundResponseCode,
            ClusterNotFoundResponseCode.SERVICE_UNAVAILABLE,
        ),
        prefix_rewrite=f.opt_string("prefix_rewrite"),
        regex_rewrite=f.message("regex_rewrite", parse_regex_match_and_substitute),
        host_rewrite_literal=f.opt_string("host_rewrite_literal"),
        auto_host_rewrite=f.boolean("auto_host_rewrite", wrapped=True),
        timeout=f.duration("timeout", 15.0),
        idle_timeout=f.opt_duration("idle_timeout"),
        upgrade_configs=f.repeated("upgrade_configs", parse_route_upgrade_config),
    )
    if which is None or getattr(action, which, None) is None:
        raise Invalid
    return action


def parse_route_upgrade_config(f: Fields) -> UpgradeConfig:
    f.unsupported("connect_config")
    upgrade_type = f.string("upgrade_type", required=True)
    enabled = f.boolean("enabled", True, wrapped=True)
    if not upgrade_type:
        raise Invalid
    return UpgradeConfig(upgrade_type=upgrade_type, enabled=enabled)


def parse_weighted_cluster(f: Fields) -> WeightedCluster:
    f.unsupported("runtime_key_prefix", "header_name")
    faults = len(f.ctx.sink.errors)
    clusters = f.repeated_at("clusters", parse_cluster_weight)
    total_weight = f.opt_uint32("total_weight", wrapped=True, lo=1)
    if not f.count("clusters"):
        f.error("clusters", "at least one cluster is required")
        raise Invalid
    total = sum(c.weight for _, c in clusters)
    if len(f.ctx.sink.errors) == faults:  # with a faulty entry left out, the sum means nothing
        if total == 0:
            f.error("clusters", "the weights add up to 0; at least one must be positive")
        elif total_weight is not None and total != total_weight:
            f.error("total_weight", f"the weights add up to {total}, not total_weight {total_weight}")
    if total == 0:
        raise Invalid
    return WeightedCluster(clusters=tuple(c for _, c in clusters), total_weight=total_weight)


def parse_cluster_weight(f: Fields) -> ClusterWeight:
    f.unsupported("cluster_header", "metadata_match", "typed_per_filter_config")
    name = f.string("name", required=True)
    if name:
        f.ctx.refer_to_cluster(f.at("name"), name)
    weight = ClusterWeight(
        name=name,
        weight=f.uint32("weight", wrapped=True),
        host_rewrite_literal=f.opt_string("host_rewrite_literal"),
        request_headers_to_add=parse_headers_to_add(f, "request_headers_to_add"),
        request_headers_to_remove=parse_headers_to_remove(f, "request_headers_to_remove"),
        response_headers_to_add=parse_headers_to_add(f, "response_headers_to_add"),
        response_headers_to_remove=parse_headers_to_remove(f, "response_headers_to_remove"),
    )
    if not name:
        raise Invalid
    return weight


def parse_regex_match_and_substitute(f: Fields) -> RegexMatchAndSubstitute:
    pattern: RegexMatcher | None = f.message("pattern", parse_regex_matcher, required=True)
    substitution = f.string("substitution")
    if pattern is None:
        raise Invalid
    return RegexMatchAndSubstitute(pattern=pattern, substitution=substitution)


def parse_redirect_action(f: Fields) -> RedirectAction:
    f.oneof("scheme_redirect", "https_redirect")
    f.oneof("path_redirect", "prefix_rewrite", "regex_rewrite")
    redirect = RedirectAction(
        scheme_redirect=f.opt_string("scheme_redirect"),
        https_redirect=f.boolean("https_redirect"),
        host_redirect=f.opt_string("host_redirect"),
        port_redirect=f.uint32("port_redirect", hi=65535),
        path_redirect=f.opt_string("path_redirect"),
        prefix_rewrite=f.opt_string("prefix_rewrite"),
        regex_rewrite=f.message("regex_rewrite", parse_regex_match_and_substitute),
        response_code=f.enum("response_code", RedirectResponseCode, RedirectResponseCode.MOVED_PERMANENTLY),
        strip_query=f.boolean("strip_query"),
    )
    if redirect.path_redirect is not None and ("\r" in redirect.path_redirect or "\n" in redirect.path_redirect):
        f.error("path_redirect", "must not contain CR or LF")
    return redirect


def parse_direct_response_action(f: Fields) -> DirectResponseAction:
    f.unsupported("body_format")
    status = f.opt_uint32("status", lo=100, hi=599)
    if status is None and not f.has("status"):
        f.error("status", "required field missing")
    body: bytes | None = None
    source = f.message("body", parse_data_source)
    if source is not None:
        body = read_data_source(f, "body", source)
        limit = f.ctx.route_scope.max_direct_response_body_size_bytes
        if body is not None and len(body) > limit:
            f.error("body", f"{len(body)} bytes, more than max_direct_response_body_size_bytes ({limit})")
    if status is None:
        raise Invalid
    return DirectResponseAction(status=status, body=body)
