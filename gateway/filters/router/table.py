"""The route table: a RouteConfiguration compiled for matching, and the match a request resolves to.

Compiled once per config: virtual hosts go into a dict of exact domains, suffix and prefix wildcards grouped by
length (longest first) and the ``*`` default; each route keeps one predicate for its path specifier, its header and
query matchers, and the resolved targets (the cluster and the chain of header mutations that apply with it). Per
request: one dict lookup (or a few for wildcards), then a scan of the virtual host's routes in order.

Virtual host selection is Envoy's: the ``:authority`` is lowercased and looked up as is, port included, unless
``ignore_port_in_host_matching`` strips the port first (``foo.com:*`` as a prefix wildcard matches any port); then
suffix wildcards ``*.foo.com`` (longest first, never matching the empty label), prefix wildcards ``foo.*``
(longest first), then ``*``.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from typing import Final

from gateway.config.model import Route, RouteAction, RouteConfiguration, VirtualHost
from gateway.core.errors import ConfigError
from gateway.core.headers import HeaderMap
from gateway.filters.api import RouteEntry, RouteResolver
from gateway.filters.router.matchers import (
    BytesPredicate,
    CompiledHeaderMatcher,
    CompiledQueryMatcher,
    compile_path_matcher,
    parse_query,
    strip_query,
)
from gateway.filters.router.mutation import HeaderMutation
from gateway.filters.router.rewrite import PathRewrite, Redirect, compile_path_rewrite

_QUERY_MARKS: Final = bytes.maketrans(b"?#", b"\0\0")

Chain = tuple[HeaderMutation, ...]
Level = tuple[HeaderMutation, HeaderMutation]  # one config level's request and response mutations


class RouteMatch(RouteEntry):
    """What a request resolved to: the route, the cluster chosen for this request and the header mutations that
    go with it, in the order they apply."""

    __slots__ = ("route", "request_mutations", "response_mutations", "host_rewrite", "rewrites_request")

    def __init__(
        self, route: CompiledRoute, cluster_name: str, request: Chain, response: Chain, host_rewrite: bytes | None
    ) -> None:
        self.route = route
        self.name = route.name
        self.cluster_name = cluster_name
        self.request_mutations = request
        self.response_mutations = response
        self.host_rewrite = host_rewrite
        # Whether the router has anything to change in the request headers (most routes have not).
        self.rewrites_request = (
            bool(request) or host_rewrite is not None or route.path_rewrite is not None
        ) or route.virtual_host.attempt_count_in_request
        # For the connection manager: the route's stream idle timeout (None: the connection manager's applies;
        # 0: none) and which upgrade types it allows or forbids (lowercase; absent types follow the connection
        # manager). Copied, not properties: read per request.
        self.idle_timeout = route.idle_timeout
        self.upgrade_map = route.upgrade_map

    @property
    def virtual_host_name(self) -> str:
        return self.route.virtual_host.name


class VirtualHostEntry:
    __slots__ = ("name", "routes", "attempt_count_in_request", "attempt_count_in_response")

    def __init__(self, config: VirtualHost) -> None:
        self.name = config.name
        self.routes: tuple[CompiledRoute, ...] = ()
        self.attempt_count_in_request = config.include_request_attempt_count
        self.attempt_count_in_response = config.include_attempt_count_in_response

    def route(self, headers: HeaderMap) -> RouteMatch | None:
        raw = headers.get(b":path")
        if raw is None:
            return None
        # The query or fragment test is a translate() that changes only "?" and "#" (a compiled primitive: find()
        # is a generic method call, two of them cost ten times as much on a short path).
        path = strip_query(raw) if raw.translate(_QUERY_MARKS) != raw else raw
        for route in self.routes:
            prefix = route.prefix
            if (path.startswith(prefix) if prefix is not None else route.path_match(path)) and (
                not route.filtered or route.match_filters(headers, raw)
            ):
                fixed = route.fixed
                return fixed if fixed is not None else route.pick(headers)
        return None


class CompiledRoute:
    """One ``route.v3.Route``: how it matches, and its action (exactly one of upstream / redirect / direct)."""

    __slots__ = (
        "name",
        "stat_prefix",
        "virtual_host",
        "path_match",
        "prefix",
        "filtered",
        "_headers",
        "_queries",
        "pick",
        "fixed",
        "_target",
        "_targets",
        "_ends",
        "_cluster_header",
        "redirect",
        "direct_status",
        "direct_body",
        "path_rewrite",
        "auto_host_rewrite",
        "timeout",
        "timeout_ms",
        "idle_timeout",
        "upgrade_map",
        "cluster_not_found_status",
    )

    def __init__(self, config: Route, vhost: VirtualHostEntry, levels: _Levels) -> None:
        self.name = config.name
        self.stat_prefix = config.stat_prefix
        self.virtual_host = vhost
        self.path_match: BytesPredicate
        matched: bytes | None
        self.path_match, matched = compile_path_matcher(config.match)
        # A case-sensitive prefix, the usual matcher, is tested inline by the table: no predicate call.
        match = config.match
        self.prefix: bytes | None = matched if match.prefix is not None and match.case_sensitive else None
        self._headers = tuple(CompiledHeaderMatcher(h) for h in config.match.headers)
        self._queries = tuple(CompiledQueryMatcher(q) for q in config.match.query_parameters)
        self.filtered = bool(self._headers or self._queries)
        route_level = (
            HeaderMutation(config.request_headers_to_add, config.request_headers_to_remove),
            HeaderMutation(config.response_headers_to_add, config.response_headers_to_remove),
        )
        self.redirect: Redirect | None = None
        self.direct_status = 0
        self.direct_body = b""
        self.path_rewrite: PathRewrite | None = None
        self.auto_host_rewrite = False
        self.timeout = 0.0
        self.timeout_ms = b"0"  # the timeout in x-envoy-expected-rq-timeout-ms's form, made once
        self.idle_timeout: float | None = None
        self.upgrade_map: dict[str, bool] = {}
        self.cluster_not_found_status = 503
        self._target: RouteMatch | None = None
        # The target when it does not depend on the request (most routes): the per-request shortcut past pick().
        self.fixed: RouteMatch | None = None
        self._targets: tuple[RouteMatch, ...] = ()
        self._ends: list[int] = []
        self._cluster_header = b""
        # Bound at config time to one of the pickers below.
        self.pick: Callable[[HeaderMap], RouteMatch] = self._fixed
        action = config.route
        if action is None:
            self._compile_local_answer(config, matched, *levels.chains(route_level, None))
        else:
            self._compile_upstream(action, matched, levels, route_level)

    def _compile_local_answer(self, config: Route, matched: bytes | None, request: Chain, response: Chain) -> None:
        """A redirect, or a direct response (whose 201 and 3xx carry the request's URL as Location, as Envoy's)."""
        if config.redirect is not None:
            self.redirect = Redirect(config.redirect.response_code.status, config.redirect, matched)
        else:
            assert config.direct_response is not None
            self.direct_status = config.direct_response.status
            self.direct_body = config.direct_response.body or b""
            if self.direct_status == 201 or 300 <= self.direct_status < 400:
                self.redirect = Redirect(self.direct_status)
        self._target = self.fixed = RouteMatch(self, "", request, response, None)

    def _compile_upstream(
        self, action: RouteAction, matched: bytes | None, levels: _Levels, route_level: Level
    ) -> None:
        self.path_rewrite = compile_path_rewrite(action.prefix_rewrite, action.regex_rewrite, matched)
        host_rewrite = action.host_rewrite_literal.encode() if action.host_rewrite_literal else None
        self.auto_host_rewrite = action.auto_host_rewrite
        self.timeout = action.timeout
        self.timeout_ms = b"%d" % round(action.timeout * 1000)
        self.idle_timeout = action.idle_timeout
        self.upgrade_map = {u.upgrade_type.lower(): u.enabled for u in action.upgrade_configs}
        self.cluster_not_found_status = action.cluster_not_found_response_code.status
        if action.weighted_clusters is None:
            request, response = levels.chains(route_level, None)
            self._target = RouteMatch(self, action.cluster or "", request, response, host_rewrite)
            if action.cluster_header is not None:
                self._cluster_header = action.cluster_header.lower().encode()
                self.pick = self._from_header
            else:
                self.fixed = self._target
            return
        targets: list[RouteMatch] = []
        total = 0
        for cw in action.weighted_clusters.clusters:
            own = (
                HeaderMutation(cw.request_headers_to_add, cw.request_headers_to_remove),
                HeaderMutation(cw.response_headers_to_add, cw.response_headers_to_remove),
            )
            request, response = levels.chains(route_level, own)
            # The route's host rewrite is applied after the weighted cluster's, so it wins.
            own_host = cw.host_rewrite_literal.encode() if cw.host_rewrite_literal else None
            targets.append(RouteMatch(self, cw.name, request, response, host_rewrite or own_host))
            total += cw.weight
            self._ends.append(total)
        self._targets = tuple(targets)
        self.pick = self._weighted

    def match_filters(self, headers: HeaderMap, raw_path: bytes) -> bool:
        for h in self._headers:
            if not h.matches(headers):
                return False
        if self._queries:
            params = parse_query(raw_path)
            for q in self._queries:
                if not q.matches(params):
                    return False
        return True

    # -- target pickers (one is chosen at config time) --
    def _fixed(self, headers: HeaderMap) -> RouteMatch:
        assert self._target is not None
        return self._target

    def _from_header(self, headers: HeaderMap) -> RouteMatch:
        """``cluster_header``: only the first value is used (the header is untrusted); absent -> no cluster."""
        t = self._target
        assert t is not None
        value = headers.get(self._cluster_header)
        name = value.decode("utf-8", "surrogateescape") if value else ""
        return RouteMatch(self, name, t.request_mutations, t.response_mutations, t.host_rewrite)

    def _weighted(self, headers: HeaderMap) -> RouteMatch:
        ends = self._ends
        return self._targets[bisect.bisect_right(ends, random.randrange(ends[-1]))]


class _Levels:
    """The virtual host and route configuration levels of header mutations, and the order they apply in."""

    __slots__ = ("_vhost", "_config", "_most_specific_wins")

    def __init__(self, vhost: Level, config: Level, msw: bool) -> None:
        self._vhost = vhost
        self._config = config
        self._most_specific_wins = msw

    def chains(self, route: Level, cluster: Level | None) -> tuple[Chain, Chain]:
        # Applied in order, the last one wins: least specific last by default, most specific last when asked.
        order = [route, self._vhost, self._config]
        if self._most_specific_wins:
            order.reverse()
        if cluster is not None:
            order.insert(0, cluster)
        return (
            tuple(level[0] for level in order if level[0]),
            tuple(level[1] for level in order if level[1]),
        )


class RouteTable(RouteResolver):
    """A compiled RouteConfiguration. ``route(headers)`` is what ``StreamFilterCallbacks.route()`` calls."""

    __slots__ = ("name", "_exact", "_suffixes", "_prefixes", "_default", "_ignore_port", "_only_default")

    def __init__(self, config: RouteConfiguration, path: str = "route_config") -> None:
        self.name = config.name
        self._exact: dict[bytes, VirtualHostEntry] = {}
        suffixes: dict[int, dict[bytes, VirtualHostEntry]] = {}
        prefixes: dict[int, dict[bytes, VirtualHostEntry]] = {}
        self._default: VirtualHostEntry | None = None
        self._ignore_port = config.ignore_port_in_host_matching
        try:
            config_level = (
                HeaderMutation(config.request_headers_to_add, config.request_headers_to_remove),
                HeaderMutation(config.response_headers_to_add, config.response_headers_to_remove),
            )
        except ValueError as exc:
            raise ConfigError(path, str(exc)) from None
        for i, vh in enumerate(config.virtual_hosts):
            vpath = f"{path}.virtual_hosts[{i}]"
            entry = VirtualHostEntry(vh)
            try:
                levels = _Levels(
                    (
                        HeaderMutation(vh.request_headers_to_add, vh.request_headers_to_remove),
                        HeaderMutation(vh.response_headers_to_add, vh.response_headers_to_remove),
                    ),
                    config_level,
                    config.most_specific_header_mutations_wins,
                )
            except ValueError as exc:
                raise ConfigError(vpath, str(exc)) from None
            routes = []
            for j, r in enumerate(vh.routes):
                try:
                    routes.append(CompiledRoute(r, entry, levels))
                except ValueError as exc:
                    raise ConfigError(f"{vpath}.routes[{j}]", str(exc)) from None
            entry.routes = tuple(routes)
            for k, domain in enumerate(vh.domains):
                self._add_domain(domain.lower(), entry, suffixes, prefixes, f"{vpath}.domains[{k}]")
        # Longest wildcard first.
        self._suffixes = sorted(suffixes.items(), reverse=True)
        self._prefixes = sorted(prefixes.items(), reverse=True)
        self._only_default = not (self._exact or self._suffixes or self._prefixes)

    def _add_domain(
        self,
        domain: str,
        entry: VirtualHostEntry,
        suffixes: dict[int, dict[bytes, VirtualHostEntry]],
        prefixes: dict[int, dict[bytes, VirtualHostEntry]],
        path: str,
    ) -> None:
        key = domain.encode()
        if domain == "*":
            if self._default is not None:
                raise ConfigError(path, f"only a single wildcard domain is permitted in route {self.name!r}")
            self._default = entry
            return
        if domain.startswith("*"):
            table = suffixes.setdefault(len(key) - 1, {})
            key = key[1:]
        elif domain.endswith("*"):
            table = prefixes.setdefault(len(key) - 1, {})
            key = key[:-1]
        else:
            table = self._exact
        if key in table:
            raise ConfigError(path, f"duplicate domain {domain!r} in route {self.name!r}")
        table[key] = entry

    def virtual_host(self, headers: HeaderMap) -> VirtualHostEntry | None:
        if self._only_default:
            return self._default
        host = headers.authority
        if host is None:
            return None
        if self._ignore_port:
            host = _strip_port(host)
        host = host.lower()
        entry = self._exact.get(host)
        if entry is not None:
            return entry
        size = len(host)
        for length, table in self._suffixes:
            # ">": a wildcard never matches the empty label ("*.foo.com" does not match ".foo.com").
            if length < size:
                entry = table.get(host[size - length :])
                if entry is not None:
                    return entry
        for length, table in self._prefixes:
            if length < size:
                entry = table.get(host[:length])
                if entry is not None:
                    return entry
        return self._default

    def route(self, headers: HeaderMap) -> RouteMatch | None:
        vhost = self.virtual_host(headers)
        return vhost.route(headers) if vhost is not None else None


def _strip_port(host: bytes) -> bytes:
    if host.startswith(b"["):
        end = host.rfind(b"]:")
        return host[: end + 1] if end >= 0 else host
    end = host.rfind(b":")
    return host[:end] if end >= 0 else host
