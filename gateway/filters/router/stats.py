"""The router's stats, under Envoy's names.

``http.<stat_prefix>.``: ``rq_total``, ``no_route``, ``no_cluster``, ``rq_direct_response``,
``rq_reset_after_downstream_response_started``.
``cluster.<name>.``: ``upstream_rq_<code>``, ``upstream_rq_<N>xx``, ``upstream_rq_completed`` (charged when response
headers arrive, or with the local reply's code when the request failed before them), ``upstream_rq_time`` (ms from
the end of the downstream request to the end of the response), ``upstream_rq_timeout``; each code and time stat
again under ``internal.`` or ``external.`` by the request's ``x-envoy-internal``, as Envoy's dynamic stats.
The upstream side records ``upstream_rq_total``/``active`` and the ``upstream_cx_*`` stats.
``vhost.<virtual host>.route.<route stat_prefix>.``, for routes with a ``stat_prefix``: the same code and time
stats (no internal/external split), ``upstream_rq_timeout`` and ``upstream_rq_total``.
"""

from __future__ import annotations

from gateway.stats.store import Counter, Scope, Store


class RouterStats:
    __slots__ = (
        "rq_total",
        "no_route",
        "no_cluster",
        "rq_direct_response",
        "rq_reset_after_downstream_response_started",
    )

    def __init__(self, scope: Scope) -> None:
        self.rq_total = scope.counter("rq_total")
        self.no_route = scope.counter("no_route")
        self.no_cluster = scope.counter("no_cluster")
        self.rq_direct_response = scope.counter("rq_direct_response")
        self.rq_reset_after_downstream_response_started = scope.counter("rq_reset_after_downstream_response_started")


class _CodeStats:
    """``upstream_rq_<code>``, ``_<N>xx``, ``_completed`` and ``upstream_rq_time`` under one prefix."""

    __slots__ = ("_scope", "_codes", "completed", "rq_time")

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._codes: dict[int, tuple[Counter, Counter]] = {}
        self.completed = scope.counter("upstream_rq_completed")
        self.rq_time = scope.histogram("upstream_rq_time")

    def charge(self, code: int) -> None:
        code_counter, class_counter = self._code_pair(code)
        code_counter.inc()
        class_counter.inc()
        self.completed.inc()

    def counters(self, code: int) -> tuple[Counter, Counter, Counter]:
        return (*self._code_pair(code), self.completed)

    def _code_pair(self, code: int) -> tuple[Counter, Counter]:
        pair = self._codes.get(code)
        if pair is None:
            pair = self._codes[code] = (
                self._scope.counter(f"upstream_rq_{code}"),
                self._scope.counter(f"upstream_rq_{code // 100}xx"),
            )
        return pair


class ClusterRouterStats:
    __slots__ = ("_all", "_internal", "_external", "_charged", "timeout")

    def __init__(self, scope: Scope) -> None:
        self._all = _CodeStats(scope)
        self._internal = _CodeStats(scope.scope("internal."))
        self._external = _CodeStats(scope.scope("external."))
        # (code, internal) -> the six counters one response charges: code, class and completed, overall and
        # again under internal./external.
        self._charged: dict[tuple[int, bool], tuple[Counter, ...]] = {}
        self.timeout = scope.counter("upstream_rq_timeout")

    def charge(self, code: int, internal: bool) -> None:
        counters = self._charged.get((code, internal))
        if counters is None:
            self._all.charge(code)
            split = self._internal if internal else self._external
            split.charge(code)
            self._charged[code, internal] = self._all.counters(code) + split.counters(code)
            return
        # Every counter of the group was charged once through inc(), so each is already marked used: a bare
        # increment is the whole job, without a call per counter on this per-response path.
        for counter in counters:
            counter.value += 1

    def record_time(self, ms: float, internal: bool) -> None:
        self._all.rq_time.record(ms)
        (self._internal if internal else self._external).rq_time.record(ms)


class RouteStats(_CodeStats):
    __slots__ = ("timeout", "total")

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope)
        self.timeout = scope.counter("upstream_rq_timeout")
        self.total = scope.counter("upstream_rq_total")


class StatsCache:
    """Per-cluster and per-route stats, created on first use and kept (their names are few)."""

    __slots__ = ("_store", "_by_cluster", "_by_route")

    def __init__(self, store: Store) -> None:
        self._store = store
        self._by_cluster: dict[str, ClusterRouterStats] = {}
        self._by_route: dict[tuple[str, str], RouteStats] = {}

    def cluster(self, cluster: str) -> ClusterRouterStats:
        stats = self._by_cluster.get(cluster)
        if stats is None:
            stats = self._by_cluster[cluster] = ClusterRouterStats(self._store.scope(f"cluster.{cluster}."))
        return stats

    def route(self, vhost: str, stat_prefix: str) -> RouteStats:
        key = (vhost, stat_prefix)
        stats = self._by_route.get(key)
        if stats is None:
            stats = self._by_route[key] = RouteStats(self._store.scope(f"vhost.{vhost}.route.{stat_prefix}."))
        return stats
