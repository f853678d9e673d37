"""A cluster: its hosts by priority, the load balancer, the circuit breakers, and a pool per host.

``new_stream`` is the per-request path: priority level and host (``PrioritySet.choose``), then that host's pool.
Membership changes arrive from discovery through ``set_hosts``; hosts that leave have their pools drained.
"""

from __future__ import annotations

from typing import Final

from gateway.config.model import HealthStatus
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.upstream.api import Cancellable, Cluster, HostView, LoadBalancerContext, UpstreamCallbacks
from gateway.upstream.breakers import CircuitBreakers
from gateway.upstream.host import Host
from gateway.upstream.pool import Http1Pool, PoolContext
from gateway.upstream.priority import PrioritySet
from gateway.upstream.stats import ClusterStats

# Envoy takes hosts in these states out of load balancing.
UNHEALTHY: Final = frozenset((HealthStatus.UNHEALTHY, HealthStatus.DRAINING, HealthStatus.TIMEOUT))


class ClusterImpl(Cluster):
    """Implements ``api.Cluster`` (for the router) and ``api.ClusterView`` (for the admin)."""

    __slots__ = ("ctx", "stats", "breakers", "priority_set", "_hosts", "_draining")

    def __init__(self, name: str, stat_name: str, ctx: PoolContext, priority_set: PrioritySet) -> None:
        self.name = name
        self.stat_name = stat_name
        self.ctx = ctx
        self.stats: ClusterStats = ctx.stats
        self.breakers: CircuitBreakers = ctx.breakers
        self.priority_set = priority_set
        self._hosts: list[Host] = []
        self._draining: list[Http1Pool] = []  # pools of departed hosts, until their last connection closes

    # -- api.Cluster ------------------------------------------------------------------------------------------

    def new_stream(self, callbacks: UpstreamCallbacks, lb_context: LoadBalancerContext) -> Cancellable | None:
        host = self.priority_set.choose()
        if host is None:
            self.stats.upstream_cx_none_healthy.inc()
            callbacks.on_pool_failure(
                ResetReason.CONNECTION_FAILURE, ResponseFlag.NO_HEALTHY_UPSTREAM, "no_healthy_upstream", ""
            )
            return None
        return host.pool.new_stream(callbacks)

    def try_acquire_retry(self) -> bool:
        """Take a slot of the max_retries breaker before a retry; False (and ``upstream_rq_retry_overflow``)
        when none is left. Every True is paired with one ``release_retry()`` when that retry ends."""
        retries = self.breakers.retries
        if retries.can_create():
            retries.inc()
            return True
        self.stats.upstream_rq_retry_overflow.inc()
        return False

    def release_retry(self) -> None:
        self.breakers.retries.dec()

    # -- membership -------------------------------------------------------------------------------------------

    def new_host(
        self, ip: str, port: int, *, hostname: str, weight: int, priority: int, locality: int, health: HealthStatus
    ) -> Host:
        host = Host(
            ip,
            port,
            hostname=hostname,
            weight=weight,
            priority=priority,
            locality=locality,
            healthy=health not in UNHEALTHY,
        )
        host.pool = Http1Pool(host, self.ctx)
        return host

    def set_hosts(self, hosts: list[Host]) -> None:
        """Replace the membership; hosts kept (same objects) keep their pools, departed ones drain."""
        kept = {id(h) for h in hosts}
        for host in self._hosts:
            if id(host) not in kept:
                host.pool.drain()
                self._draining.append(host.pool)
        self._draining = [p for p in self._draining if p.connections or p.pending]
        self.stats.membership_change.inc()
        self._hosts = hosts
        self.priority_set.update(hosts)
        self.stats.membership_total.set(len(hosts))
        self.stats.membership_healthy.set(self.priority_set.healthy_count())

    async def close(self) -> None:
        for pool in [h.pool for h in self._hosts] + self._draining:
            await pool.close()

    # -- api.ClusterView --------------------------------------------------------------------------------------

    def hosts(self) -> list[HostView]:
        return list(self._hosts)

    def circuit_breaker_thresholds(self) -> dict[str, int]:
        return self.breakers.as_dict()
