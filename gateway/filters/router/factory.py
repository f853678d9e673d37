"""``envoy.filters.http.router``: the factory of Router filters for one connection manager.

Built once at config time; calling it makes the filter of one stream (``filters.api.FilterFactory``).
"""

from __future__ import annotations

from gateway.config.model import Router as RouterConfig
from gateway.filters.router.filter import Router
from gateway.filters.router.stats import ClusterRouterStats, RouterStats, StatsCache
from gateway.filters.router.timeouts import RouteTimeouts
from gateway.stats.store import Store
from gateway.upstream.api import Cluster, ClusterManager


class RouterFactory:
    """Shared, read-only state of every Router of one connection manager.

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
