"""Where a cluster's hosts come from: STATIC (the load assignment, once), STRICT_DNS and LOGICAL_DNS.

STRICT_DNS resolves every endpoint's name and makes every address a host (with the endpoint's weight,
priority, locality and health); LOGICAL_DNS has a single endpoint and a single host at the first address, which
follows the name's latest first address (new connections go there, open ones stay). Both resolve with
``loop.getaddrinfo`` (never blocking the loop) at ``start()`` and then every ``dns_refresh_rate``; a failed
resolution keeps that endpoint's last good addresses. Stats: ``update_attempt`` per endpoint resolution, then
``update_success`` or ``update_failure``; ``update_no_rebuild`` when a success changed nothing.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.config.model import Cluster, DiscoveryType, DnsLookupFamily, HealthStatus
from gateway.upstream.cluster import ClusterImpl
from gateway.upstream.host import Host

# (first family, fallback family or None) per dns_lookup_family; ALL asks for both at once.
_FAMILIES: dict[DnsLookupFamily, tuple[int, int | None]] = {
    DnsLookupFamily.AUTO: (socket.AF_INET6, socket.AF_INET),
    DnsLookupFamily.V4_ONLY: (socket.AF_INET, None),
    DnsLookupFamily.V6_ONLY: (socket.AF_INET6, None),
    DnsLookupFamily.V4_PREFERRED: (socket.AF_INET, socket.AF_INET6),
    DnsLookupFamily.ALL: (socket.AF_UNSPEC, None),
}


async def resolve(loop: asyncio.AbstractEventLoop, name: str, family: DnsLookupFamily) -> list[str]:
    """The distinct addresses of ``name`` in resolver order; raises OSError when there are none."""
    first, fallback = _FAMILIES[family]
    try:
        return await _lookup(loop, name, first)
    except OSError:
        if fallback is None:
            raise
    return await _lookup(loop, name, fallback)


Resolver = Callable[[asyncio.AbstractEventLoop, str, DnsLookupFamily], Awaitable[list[str]]]


async def _lookup(loop: asyncio.AbstractEventLoop, name: str, family: int) -> list[str]:
    infos = await loop.getaddrinfo(name, None, family=family, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OSError(f"no addresses for {name}")
    return addresses


@dataclass(frozen=True, slots=True)
class _Target:
    """One endpoint of the load assignment, with what its hosts inherit."""

    name: str
    port: int
    hostname: str
    weight: int
    priority: int
    locality: int
    health: HealthStatus


def _targets(config: Cluster) -> list[_Target]:
    if config.load_assignment is None:
        return []
    return [
        _Target(
            lb.endpoint.address.socket_address.address,
            lb.endpoint.address.socket_address.port_value,
            lb.endpoint.hostname,
            lb.load_balancing_weight,
            group.priority,
            index,
            lb.health_status,
        )
        for index, group in enumerate(config.load_assignment.endpoints)
        for lb in group.lb_endpoints
    ]


class Discovery:
    """Populates a cluster. STATIC does it all in the constructor; the DNS types in ``start`` and after."""

    def __init__(
        self, cluster: ClusterImpl, config: Cluster, loop: asyncio.AbstractEventLoop, resolver: Resolver = resolve
    ) -> None:
        self.cluster = cluster
        self.loop = loop
        self.resolver = resolver
        self.targets = _targets(config)
        self.family = config.dns_lookup_family
        self.refresh_rate = config.dns_refresh_rate
        self.logical = config.type is DiscoveryType.LOGICAL_DNS
        self.dns = config.type is not DiscoveryType.STATIC
        # Per target, its hosts by address (LOGICAL_DNS: its one host under the name, as its address moves).
        self.resolved: list[dict[str, Host]] = [{} for _ in self.targets]
        self._task: asyncio.Task[None] | None = None
        if not self.dns:
            for i, target in enumerate(self.targets):
                self.resolved[i][target.name] = self._host(target, target.name)
            cluster.set_hosts(self._all_hosts())

    def _host(self, target: _Target, ip: str) -> Host:
        return self.cluster.new_host(
            ip,
            target.port,
            hostname=target.hostname or (target.name if self.dns else ""),
            weight=target.weight,
            priority=target.priority,
            locality=target.locality,
            health=target.health,
        )

    def _all_hosts(self) -> list[Host]:
        return [host for by_address in self.resolved for host in by_address.values()]

    async def start(self) -> None:
        """First resolution (awaited: the cluster warms before traffic), then the refresh loop."""
        if self.dns:
            await self.refresh()
            self._task = self.loop.create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_rate)
            await self.refresh()

    async def refresh(self) -> None:
        results = await asyncio.gather(*(self._resolve_one(t) for t in self.targets), return_exceptions=True)
        changed = False
        for i, (target, result) in enumerate(zip(self.targets, results, strict=True)):
            if isinstance(result, BaseException):
                continue  # counted in _resolve_one; the last good addresses stay
            changed |= self._apply(i, target, result)
        if changed:
            self.cluster.set_hosts(self._all_hosts())

    async def _resolve_one(self, target: _Target) -> list[str]:
        stats = self.cluster.stats
        stats.update_attempt.inc()
        try:
            addresses = await self.resolver(self.loop, target.name, self.family)
        except (OSError, UnicodeError):  # UnicodeError: a name IDNA cannot encode
            stats.update_failure.inc()
            raise
        stats.update_success.inc()
        return addresses

    def _apply(self, index: int, target: _Target, addresses: list[str]) -> bool:
        """Fold a successful resolution into the target's hosts; True when membership changed."""
        current = self.resolved[index]
        if self.logical:
            if current:
                host = next(iter(current.values()))
                if host.ip != addresses[0]:
                    host.set_address(addresses[0], target.port)
                self.cluster.stats.update_no_rebuild.inc()
                return False
            current[target.name] = self._host(target, addresses[0])
            return True
        if list(current) == addresses:
            self.cluster.stats.update_no_rebuild.inc()
            return False
        self.resolved[index] = {ip: current.get(ip) or self._host(target, ip) for ip in addresses}
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
