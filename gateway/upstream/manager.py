"""The cluster manager: every cluster of the config, built once; ``start()`` resolves DNS, ``close()`` ends all.

Everything a request needs is settled here at config time (stats objects, breakers, timeouts, balancer
factories, codec factory), so ``Cluster.new_stream`` only picks and hands out.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence

from gateway.codec import make_client_codec
from gateway.codec.http1.client import Http1ClientCodec
from gateway.config.model import Cluster, RoutingPriority
from gateway.stats.store import Store
from gateway.upstream.api import ClusterView
from gateway.upstream.breakers import CircuitBreakers
from gateway.upstream.cluster import ClusterImpl
from gateway.upstream.discovery import Discovery, Resolver, resolve
from gateway.upstream.lb import LbFactory
from gateway.upstream.pool import PoolContext
from gateway.upstream.priority import PrioritySet
from gateway.upstream.stats import ClusterStats

CodecFactory = Callable[[], Http1ClientCodec]


class ClusterManagerImpl:
    """Implements ``api.ClusterManager``; ``all_clusters`` feeds the admin's ``/clusters``."""

    def __init__(self, clusters: dict[str, ClusterImpl], discoveries: list[Discovery]) -> None:
        self._clusters = clusters
        self._discoveries = discoveries

    def get(self, name: str) -> ClusterImpl | None:
        return self._clusters.get(name)

    def all_clusters(self) -> list[ClusterView]:
        return list(self._clusters.values())

    async def start(self) -> None:
        """Resolve the DNS clusters for the first time (concurrently) and start their refresh timers."""
        await asyncio.gather(*(d.start() for d in self._discoveries))

    async def close(self) -> None:
        """Stop DNS refreshes, fail pending requests, reset active ones, and wait for every socket to close."""
        await asyncio.gather(*(d.close() for d in self._discoveries))
        await asyncio.gather(*(c.close() for c in self._clusters.values()))


def build_cluster(
    config: Cluster,
    stats: Store,
    loop: asyncio.AbstractEventLoop,
    codec_factory: CodecFactory,
    rng: random.Random,
    resolver: Resolver = resolve,
) -> tuple[ClusterImpl, Discovery]:
    stat_name = config.alt_stat_name or config.name
    scope = stats.scope(f"cluster.{stat_name}.")
    http = config.http_options.common_http_protocol_options
    ctx = PoolContext(
        loop=loop,
        stats=ClusterStats(scope),
        breakers=CircuitBreakers(config.circuit_breakers.for_priority(RoutingPriority.DEFAULT), scope),
        codec_factory=codec_factory,
        connect_timeout=config.connect_timeout,
        idle_timeout=http.idle_timeout,
        max_requests_per_connection=http.max_requests_per_connection,
        buffer_limit=config.per_connection_buffer_limit_bytes,
    )
    factory = LbFactory(config.lb_policy, rng, config.least_request_lb_config.choice_count)
    cluster = ClusterImpl(config.name, stat_name, ctx, PrioritySet(factory, rng, _locality_weights(config)))
    return cluster, Discovery(cluster, config, loop, resolver)


def _locality_weights(config: Cluster) -> dict[tuple[int, int], int] | None:
    """Locality weights when the load assignment sets any (Envoy also wants ``locality_weighted_lb_config``,
    which the config model does not carry yet); None balances over hosts regardless of locality."""
    if config.load_assignment is None:
        return None
    groups = config.load_assignment.endpoints
    if all(g.load_balancing_weight is None for g in groups):
        return None
    # A locality without a weight gets none: Envoy sends it no traffic under locality-weighted balancing.
    return {(g.priority, i): g.load_balancing_weight or 0 for i, g in enumerate(groups)}


def build_cluster_manager(
    clusters: Sequence[Cluster],
    stats: Store,
    loop: asyncio.AbstractEventLoop,
    *,
    codec_factory: CodecFactory = make_client_codec,
    rng: random.Random | None = None,
    resolver: Resolver = resolve,
) -> ClusterManagerImpl:
    """Build every cluster (no I/O: DNS waits for ``start()``). ``codec_factory`` makes each connection's codec
    (default: the httptools backend); ``rng`` seeds balancing for reproducible runs;
    ``resolver`` replaces the system's getaddrinfo (a test zone, or a future async DNS client)."""
    rng = rng or random.Random()
    built: dict[str, ClusterImpl] = {}
    discoveries: list[Discovery] = []
    for config in clusters:
        cluster, discovery = build_cluster(config, stats, loop, codec_factory, rng, resolver)
        built[config.name] = cluster
        discoveries.append(discovery)
    return ClusterManagerImpl(built, discoveries)
