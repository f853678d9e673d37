"""The router: the last HTTP filter. It answers from the route (no route, direct response, redirect, unknown
cluster) or sends the request to the route's cluster and streams the response back, as Envoy's router does.

Per stream: ``decode_headers`` resolves the route and, for an upstream route, finalizes the request headers
(timeout headers, header mutations, host and path rewrites) and starts an ``UpstreamRequest``. The route timeout
(default 15 s, 0 disables) starts when the downstream request has ended and runs until the response has ended:
before response headers it becomes a 504 ``upstream request timeout`` (UT), after them a reset. Failures before
response headers become a local reply with Envoy's body, flag and details; after them the downstream is reset.
``x-envoy-upstream-service-time`` is the time from the end of the downstream request to the response headers.
``RouterFactory`` makes the Router of each stream and holds what they share.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from gateway.config.model import Router as RouterConfig
from gateway.core.clock import monotonic
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.filters.api import DataStatus, HeadersStatus, HttpFilter, TrailersStatus
from gateway.filters.router.stats import ClusterRouterStats, RouterStats, RouteStats, StatsCache
from gateway.filters.router.table import CompiledRoute, RouteMatch
from gateway.filters.router.timeouts import RouteTimeouts, TimeoutQueue
from gateway.filters.router.upstream_request import State, UpstreamRequest
from gateway.stats.store import Store
from gateway.upstream.api import Cluster, ClusterManager, LoadBalancerContext, UpstreamStream

_STOP: Final = HeadersStatus.STOP_ITERATION
_TAKEN: Final = DataStatus.STOP_ITERATION_NO_BUFFER

_SERVICE_TIME: Final = b"x-envoy-upstream-service-time"
_EXPECTED_TIMEOUT: Final = b"x-envoy-expected-rq-timeout-ms"
_RQ_TIMEOUT: Final = b"x-envoy-upstream-rq-timeout-ms"
_ORIGINAL_PATH: Final = b"x-envoy-original-path"
_ATTEMPT_COUNT: Final = b"x-envoy-attempt-count"
_INTERNAL: Final = b"x-envoy-internal"
_READ_BY_ROUTER: Final = frozenset((_INTERNAL, _EXPECTED_TIMEOUT, _RQ_TIMEOUT))
_RESET_BODY: Final = "upstream connect error or disconnect/reset before headers. reset reason: "

_RESET_FLAGS: Final = {
    ResetReason.CONNECTION_FAILURE: ResponseFlag.UPSTREAM_CONNECTION_FAILURE,
    ResetReason.CONNECTION_TIMEOUT: ResponseFlag.UPSTREAM_CONNECTION_FAILURE,
    ResetReason.CONNECTION_TERMINATION: ResponseFlag.UPSTREAM_CONNECTION_TERMINATION,
    ResetReason.LOCAL_RESET: ResponseFlag.LOCAL_RESET,
    ResetReason.LOCAL_REFUSED_STREAM_RESET: ResponseFlag.LOCAL_RESET,
    ResetReason.OVERFLOW: ResponseFlag.UPSTREAM_OVERFLOW,
    ResetReason.REMOTE_RESET: ResponseFlag.UPSTREAM_REMOTE_RESET,
    ResetReason.REMOTE_REFUSED_STREAM_RESET: ResponseFlag.UPSTREAM_REMOTE_RESET,
    ResetReason.PROTOCOL_ERROR: ResponseFlag.UPSTREAM_PROTOCOL_ERROR,
    ResetReason.OVERLOAD_MANAGER: ResponseFlag.OVERLOAD_MANAGER,
}
_SPACES: Final = re.compile(r"\s")
_PathFn = Callable[[bytes], bytes]


def reset_details(phase: str, reason: ResetReason, detail: str) -> str:
    """Envoy's response code details for an upstream reset: ``<phase>{<reason>[,<detail>]}``, spaces as ``_``."""
    inner = f"{reason.value},{detail}" if detail else reason.value
    return _SPACES.sub("_", f"{phase}{{{inner}}}")


class RouterFactory:
    """``envoy.filters.http.router``'s factory for one connection manager, built once at config time; calling it
    makes the Router of one stream (``filters.api.FilterFactory``). It holds the state every Router of the
    connection manager shares and reads per request (compiled with the filter: reads of it are direct).

    ``stat_prefix`` is the connection manager's: the router's own stats live under ``http.<stat_prefix>.``.
    """

    __slots__ = (
        "cluster_manager",
        "stats",
        "stats_cache",
        "dynamic_stats",
        "suppress_envoy_headers",
        "respect_expected_rq_timeout",
        "timeouts",
        "clusters",
    )

    def __init__(self, config: RouterConfig, cluster_manager: ClusterManager, store: Store, stat_prefix: str) -> None:
        self.cluster_manager = cluster_manager
        self.stats = RouterStats(store.scope(f"http.{stat_prefix}."))
        self.stats_cache = StatsCache(store)
        self.dynamic_stats = config.dynamic_stats
        self.suppress_envoy_headers = config.suppress_envoy_headers
        self.respect_expected_rq_timeout = config.respect_expected_rq_timeout
        self.timeouts = RouteTimeouts()
        # Cluster name -> the cluster and its router stats, filled on first use. The cluster manager's clusters
        # are fixed for the life of a config (no CDS), so a found cluster stays valid; unknown names are not kept.
        self.clusters: dict[str, tuple[Cluster, ClusterRouterStats]] = {}

    def __call__(self) -> Router:
        return Router(self)

    def cluster(self, name: str) -> tuple[Cluster, ClusterRouterStats] | None:
        """``clusters[name]``, looked up and kept on a miss; None for an unknown cluster."""
        cluster = self.cluster_manager.get(name)
        if cluster is None:
            return None
        found = self.clusters[name] = (cluster, self.stats_cache.cluster(cluster.stat_name))
        return found


class Router(HttpFilter):
    __slots__ = (
        "_cfg",
        "_info",
        "_match",
        "_upstream",
        "_cluster_stats",
        "_route_stats",
        "_internal",
        "_timeout",
        "_timer",
        "_request_done_at",
        "_response_started",
        "_decoder_paused",
    )

    _info: StreamInfo  # the stream's, from decode_headers on (no upstream callback comes before it)

    def __init__(self, cfg: RouterFactory) -> None:
        self._cfg = cfg
        self._match: RouteMatch | None = None
        self._upstream: UpstreamRequest | None = None
        self._cluster_stats: ClusterRouterStats | None = None
        self._route_stats: RouteStats | None = None
        self._internal = False
        self._timeout = 0.0
        self._timer: TimeoutQueue | None = None  # where the route timeout is armed
        self._request_done_at: float | None = None
        self._response_started = False
        self._decoder_paused = 0

    # -- decode path --
    def decode_headers(self, headers: HeaderMap, end_stream: bool) -> HeadersStatus:
        cfg = self._cfg
        cfg.stats.rq_total.inc()
        callbacks = self.callbacks
        match = callbacks.route()
        if not isinstance(match, RouteMatch):
            cfg.stats.no_route.inc()
            callbacks.send_local_reply(404, details="route_not_found", flag=ResponseFlag.NO_ROUTE_FOUND)
            return _STOP
        route = match.route
        if route.direct_status or route.redirect is not None:
            self._direct_response(match, headers)
            return _STOP
        target = cfg.clusters.get(match.cluster_name) or cfg.cluster(match.cluster_name)
        if target is None:
            cfg.stats.no_cluster.inc()
            callbacks.send_local_reply(
                route.cluster_not_found_status, details="cluster_not_found", flag=ResponseFlag.NO_CLUSTER_FOUND
            )
            return _STOP
        self._match = match
        # Read from every later callback: kept here rather than asked of the stream each time.
        info = self._info = callbacks.stream_info
        info.route_name = match.name
        info.virtual_host_name = route.virtual_host.name
        info.cluster_name = match.cluster_name
        info.attempt_count = 1
        cluster, self._cluster_stats = target
        if route.stat_prefix:
            self._route_stats = cfg.stats_cache.route(route.virtual_host.name, route.stat_prefix)
        self._timeout = self._final_timeout(route, headers)
        if match.rewrites_request:
            self._finalize_request_headers(match, headers, info)
        upstream = self._upstream = UpstreamRequest(self, info, headers, end_stream, callbacks.decoder_buffer_limit)
        callbacks.add_downstream_watermark_callbacks(self)
        remote = info.downstream_remote_address or info.connection.remote_address
        upstream.start(cluster, LoadBalancerContext(downstream_address=remote[0]))
        if end_stream:
            # A request sent upstream in this same call stamped that moment already: one clock reading serves.
            self._request_complete(info.last_upstream_tx_byte or monotonic())
        return _STOP

    def decode_data(self, data: bytearray, end_stream: bool) -> DataStatus:
        upstream = self._upstream
        if upstream is not None:
            upstream.send_data(data, end_stream)
            if end_stream:
                self._request_complete(monotonic())
        return _TAKEN

    def decode_trailers(self, trailers: HeaderMap) -> TrailersStatus:
        upstream = self._upstream
        if upstream is not None:
            upstream.send_trailers(trailers)
            self._request_complete(monotonic())
        return TrailersStatus.STOP_ITERATION

    def on_destroy(self) -> None:
        timer = self._timer
        if timer is not None:
            timer.cancel(self)
            self._timer = None
        upstream = self._upstream
        if upstream is not None and upstream.state is not State.DONE:
            upstream.reset()
        self._upstream = None

    # -- request preparation --
    def _final_timeout(self, route: CompiledRoute, headers: HeaderMap) -> float:
        """The route timeout, overridden by ``x-envoy-upstream-rq-timeout-ms`` (consumed here), or by
        ``x-envoy-expected-rq-timeout-ms`` when ``respect_expected_rq_timeout``; announced upstream in
        ``x-envoy-expected-rq-timeout-ms`` unless ``suppress_envoy_headers``. Sets ``_internal`` from
        ``x-envoy-internal`` on the way: one pass over the headers finds all three."""
        internal = expected = requested = None
        for name, value in headers.pairs():
            if name in _READ_BY_ROUTER:  # the first value of each counts
                if name == _INTERNAL:
                    if internal is None:
                        internal = value
                elif name == _EXPECTED_TIMEOUT:
                    if expected is None:
                        expected = value
                elif requested is None:
                    requested = value
        self._internal = internal == b"true"
        cfg = self._cfg
        timeout = route.timeout
        if expected is not None and cfg.respect_expected_rq_timeout:
            if expected.isdigit():
                timeout = int(expected) / 1000
        elif requested is not None:
            if requested.isdigit():
                timeout = int(requested) / 1000
            headers.remove(_RQ_TIMEOUT)
        if timeout > 0 and not cfg.suppress_envoy_headers:
            value = route.timeout_ms if timeout == route.timeout else b"%d" % round(timeout * 1000)
            if expected is None:
                headers.add(_EXPECTED_TIMEOUT, value)  # what set() does when the name is absent, without a search
            else:
                headers.set(_EXPECTED_TIMEOUT, value)
        return timeout

    def _finalize_request_headers(self, match: RouteMatch, headers: HeaderMap, info: StreamInfo) -> None:
        """In Envoy's order: attempt count, header mutations, host rewrite, path rewrite."""
        route = match.route
        if route.virtual_host.attempt_count_in_request:
            headers.set(_ATTEMPT_COUNT, b"1")
        for mutation in match.request_mutations:
            mutation.apply(headers, info)
        if match.host_rewrite is not None:
            headers.set(b":authority", match.host_rewrite)
        if route.path_rewrite is not None:
            self._rewrite_path(route.path_rewrite.apply, headers)

    def _rewrite_path(self, rewrite: _PathFn, headers: HeaderMap) -> None:
        path = headers.path
        if path is not None:
            if not self._cfg.suppress_envoy_headers:
                headers.set(_ORIGINAL_PATH, path)
            headers.set(b":path", rewrite(path))

    def _direct_response(self, match: RouteMatch, headers: HeaderMap) -> None:
        route = match.route
        self._cfg.stats.rq_direct_response.inc()
        extra = HeaderMap()
        redirect = route.redirect
        if redirect is not None:
            if redirect.path_rewrite is not None:
                self._rewrite_path(redirect.path_rewrite.apply, headers)
            extra.add(b"location", redirect.location(headers))
        info = self.callbacks.stream_info
        status = route.direct_status or (redirect.status if redirect is not None else 200)
        info.response_code = status  # for %RESPONSE_CODE% in the response headers added below
        for mutation in match.response_mutations:
            mutation.apply(extra, info)
        self.callbacks.send_local_reply(status, route.direct_body, extra, details="direct_response")

    def _request_complete(self, now: float) -> None:
        self._request_done_at = now
        upstream = self._upstream
        if self._timeout > 0 and upstream is not None and upstream.state is not State.DONE:
            self._timer = self._cfg.timeouts.arm(self.callbacks.loop, self._timeout, self, now)

    # -- from the UpstreamRequest --
    def on_pool_ready(self, stream: UpstreamStream) -> None:
        info = self._info
        info.upstream_host = stream.host_address
        info.upstream_local_address = stream.local_address
        if self._route_stats is not None:
            self._route_stats.total.inc()
        match, upstream = self._match, self._upstream
        assert match is not None and upstream is not None
        if match.route.auto_host_rewrite:
            hostname = stream.hostname
            if hostname:
                upstream.headers.set(b":authority", hostname.encode())

    def on_pool_failure(self, reason: ResetReason, flag: ResponseFlag, detail: str, host_address: str) -> None:
        if host_address:
            self._info.upstream_host = host_address
        if flag & ResponseFlag.NO_HEALTHY_UPSTREAM:
            self._finish_upstream()
            self._charge(503)
            self.callbacks.send_local_reply(503, b"no healthy upstream", details="no_healthy_upstream", flag=flag)
            return
        self._abort(reason, detail, flag)

    def on_upstream_1xx_headers(self, headers: HeaderMap) -> None:
        info = self._info
        if info.first_upstream_rx_byte is None:
            info.first_upstream_rx_byte = monotonic()
        self._charge(headers.status or 0)
        self.callbacks.encode_1xx_headers(headers)

    def on_upstream_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        match = self._match
        assert match is not None
        info = self._info
        now = monotonic()
        if info.first_upstream_rx_byte is None:
            info.first_upstream_rx_byte = now
        if match.route.virtual_host.attempt_count_in_response:
            headers.set(_ATTEMPT_COUNT, b"1")
        done_at = self._request_done_at
        if done_at is not None and not self._cfg.suppress_envoy_headers:
            headers.set(_SERVICE_TIME, b"%d" % int((now - done_at) * 1000))
        status = headers.status or 0
        self._charge(status)
        info.response_code_details = "via_upstream"
        if match.response_mutations:
            info.response_headers = headers  # for %RESP(...)% in the values
            info.response_code = status  # for %RESPONSE_CODE%: Envoy knows it when response headers are added
            for mutation in match.response_mutations:
                mutation.apply(headers, info)
        self._response_started = True
        if end_stream:
            self._upstream_complete(now)
        self.callbacks.encode_headers(headers, end_stream)

    def on_upstream_data(self, data: bytes, end_stream: bool) -> None:
        if end_stream:
            self._upstream_complete(monotonic())
        self.callbacks.encode_data(data, end_stream)

    def on_upstream_trailers(self, trailers: HeaderMap) -> None:
        self._upstream_complete(monotonic())
        self.callbacks.encode_trailers(trailers)

    def on_upstream_reset(self, reason: ResetReason, detail: str) -> None:
        self._abort(reason, detail, _RESET_FLAGS.get(reason, ResponseFlag.UPSTREAM_REMOTE_RESET))

    def decoder_watermark(self, above: bool) -> None:
        """The upstream cannot take more of the request body (or can again): the connection manager pauses
        (resumes) reading the downstream; calls to it come balanced."""
        flow = self.callbacks
        if above:
            self._decoder_paused += 1
            flow.on_decoder_filter_above_write_buffer_high_watermark()
        elif self._decoder_paused:
            self._decoder_paused -= 1
            flow.on_decoder_filter_below_write_buffer_low_watermark()

    # -- downstream backpressure on the response (DownstreamWatermarkCallbacks) --
    def on_above_write_buffer_high_watermark(self) -> None:
        if self._upstream is not None:
            self._upstream.read_disable(True)

    def on_below_write_buffer_low_watermark(self) -> None:
        if self._upstream is not None:
            self._upstream.read_disable(False)

    # -- endings --
    def _upstream_complete(self, now: float) -> None:
        upstream = self._upstream
        assert upstream is not None
        self._info.last_upstream_rx_byte = now
        done_at = self._request_done_at
        if done_at is None:
            upstream.reset()  # answered before the request ended: the rest of the request has nowhere to go
        else:
            upstream.finish()
            if self._cfg.dynamic_stats:
                ms = (now - done_at) * 1000
                assert self._cluster_stats is not None
                self._cluster_stats.record_time(ms, self._internal)
                if self._route_stats is not None:
                    self._route_stats.rq_time.record(ms)
        self._finish_upstream()

    def _finish_upstream(self) -> None:
        timer = self._timer
        if timer is not None:
            timer.cancel(self)
            self._timer = None
        while self._decoder_paused:
            self.decoder_watermark(False)

    def on_timeout(self) -> None:
        """The route timeout expired (called by the ``TimeoutQueue`` it was armed in)."""
        self._timer = None
        upstream = self._upstream
        assert upstream is not None and self._cluster_stats is not None
        self._cluster_stats.timeout.inc()
        if self._route_stats is not None:
            self._route_stats.timeout.inc()
        if upstream.stream is not None:
            upstream.stream.record_timeout()  # the host's rq_timeout
        if upstream.awaiting_headers:
            self._charge(504)
        upstream.reset()
        self._finish_upstream()
        self.callbacks.send_local_reply(
            504,
            b"upstream request timeout",
            details="upstream_response_timeout",
            flag=ResponseFlag.UPSTREAM_REQUEST_TIMEOUT,
        )

    def _abort(self, reason: ResetReason, detail: str, flag: ResponseFlag) -> None:
        """The upstream failed: a local reply before the response started, a reset after (the connection manager
        turns a local reply after response headers into a reset)."""
        self._finish_upstream()
        if detail:
            self._info.upstream_transport_failure_reason = detail
        code = 502 if reason is ResetReason.PROTOCOL_ERROR else 503
        if self._response_started:
            self._cfg.stats.rq_reset_after_downstream_response_started.inc()
            details = reset_details("upstream_reset_after_response_started", reason, detail)
        else:
            self._charge(code)
            details = reset_details("upstream_reset_before_response_started", reason, detail)
        body = _RESET_BODY + reason.value
        if detail:
            body += ", transport failure reason: " + detail
        extra = None
        if reason is ResetReason.OVERFLOW and not self._cfg.suppress_envoy_headers:
            extra = HeaderMap([(b"x-envoy-overloaded", b"true")])
        self.callbacks.send_local_reply(code, body.encode(), extra, details=details, flag=flag)

    def _charge(self, code: int) -> None:
        if self._cfg.dynamic_stats and self._cluster_stats is not None:
            self._cluster_stats.charge(code, self._internal)
            if self._route_stats is not None:
                self._route_stats.charge(code)
