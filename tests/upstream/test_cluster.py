"""Clusters end to end on real servers: discovery (STATIC, STRICT_DNS, LOGICAL_DNS), health, priorities,
weights, and the manager's views for the admin."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.codec import make_client_codec
from gateway.config.model import (
    Address,
    Cluster,
    ClusterLoadAssignment,
    DiscoveryType,
    DnsLookupFamily,
    Endpoint,
    HealthStatus,
    LbEndpoint,
    LbPolicy,
    Locality,
    LocalityLbEndpoints,
    SocketAddress,
)
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.stats.store import Store
from gateway.upstream.cluster import ClusterImpl
from gateway.upstream.discovery import resolve
from gateway.upstream.manager import ClusterManagerImpl, build_cluster_manager
from tests.upstream.conftest import Ep, cluster_config, fetch, start
from tests.upstream.servers import UpstreamServer

Servers = Callable[..., Awaitable[UpstreamServer]]
Managers = Callable[..., Awaitable[ClusterManagerImpl]]
Stat = Callable[[str], int]


def get(manager: ClusterManagerImpl, name: str) -> ClusterImpl:
    cluster = manager.get(name)
    assert cluster is not None
    return cluster


async def names_of_servers(cluster: ClusterImpl, n: int) -> Counter[str]:
    return Counter([(await fetch(cluster)).text.split()[0] for _ in range(n)])


async def test_weighted_round_robin_across_real_hosts(servers: Servers, managers: Managers) -> None:
    a, b = await servers("a"), await servers("b")
    manager = await managers(
        cluster_config("w", [Ep("127.0.0.1", a.port, weight=3), Ep("127.0.0.1", b.port, weight=1)])
    )
    assert await names_of_servers(get(manager, "w"), 40) == {"a": 30, "b": 10}


async def test_random_spreads_over_hosts(servers: Servers, managers: Managers) -> None:
    a, b = await servers("a"), await servers("b")
    manager = await managers(
        cluster_config("r", [Ep("127.0.0.1", a.port), Ep("127.0.0.1", b.port)], lb_policy=LbPolicy.RANDOM), seed=9
    )
    counts = await names_of_servers(get(manager, "r"), 200)
    assert 70 <= counts["a"] <= 130


async def test_least_request_prefers_the_idle_host(servers: Servers, managers: Managers) -> None:
    a, b = await servers("a"), await servers("b")
    manager = await managers(
        cluster_config("lr", [Ep("127.0.0.1", a.port), Ep("127.0.0.1", b.port)], lb_policy=LbPolicy.LEAST_REQUEST),
        seed=3,
    )
    cluster = get(manager, "lr")
    held = start(cluster, b"/hold")  # one active request on one host
    async with asyncio.timeout(10):
        while not (a.held or b.held):
            await asyncio.sleep(0.005)
    idle = b if a.held else a
    counts = await names_of_servers(cluster, 100)
    # two draws with replacement: the busy host wins only when drawn twice (1/4); uniform would be 1/2
    assert 60 <= counts[idle.name] <= 90
    a.release_held()
    b.release_held()
    await held.wait()


async def test_unhealthy_hosts_get_no_traffic(servers: Servers, managers: Managers) -> None:
    a, b = await servers("a"), await servers("b")
    manager = await managers(
        cluster_config(
            "h",
            [
                Ep("127.0.0.1", a.port, health=HealthStatus.UNHEALTHY),
                Ep("127.0.0.1", b.port, health=HealthStatus.HEALTHY),
            ],
        )
    )
    cluster = get(manager, "h")
    assert await names_of_servers(cluster, 10) == {"b": 10}
    assert [h.healthy for h in cluster.hosts()] == [False, True]


async def test_priority_failover_to_the_next_level(servers: Servers, managers: Managers, counter: Stat) -> None:
    p0, p1 = await servers("p0"), await servers("p1")
    manager = await managers(
        cluster_config(
            "p",
            [
                Ep("127.0.0.1", p0.port, priority=0, health=HealthStatus.DRAINING),
                Ep("127.0.0.1", p1.port, priority=1),
            ],
        ),
        cluster_config("q", [Ep("127.0.0.1", p0.port, priority=0), Ep("127.0.0.1", p1.port, priority=1)]),
    )
    assert await names_of_servers(get(manager, "p"), 10) == {"p1": 10}
    assert await names_of_servers(get(manager, "q"), 10) == {"p0": 10}
    assert counter("cluster.p.membership_total") == 2
    assert counter("cluster.p.membership_healthy") == 1
    assert [h.priority for h in get(manager, "p").hosts()] == [0, 1]


async def test_no_healthy_upstream(managers: Managers, counter: Stat) -> None:
    manager = await managers(
        cluster_config("none", [Ep("127.0.0.1", 1, health=HealthStatus.TIMEOUT)]),
        cluster_config("empty", []),
    )
    for name in ("none", "empty"):
        ex = start(get(manager, name))
        assert ex.handle is None
        assert ex.failure == (
            ResetReason.CONNECTION_FAILURE,
            ResponseFlag.NO_HEALTHY_UPSTREAM,
            "no_healthy_upstream",
            "",
        )
        assert counter(f"cluster.{name}.upstream_cx_none_healthy") == 1
        assert counter(f"cluster.{name}.upstream_cx_total") == 0


async def test_strict_dns_resolves_localhost(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    manager = await managers(
        cluster_config(
            "dns",
            [Ep("localhost", server.port)],
            type=DiscoveryType.STRICT_DNS,
            dns_lookup_family=DnsLookupFamily.V4_ONLY,
        )
    )
    cluster = get(manager, "dns")
    expected = await resolve(asyncio.get_running_loop(), "localhost", DnsLookupFamily.V4_ONLY)
    assert [h.address for h in cluster.hosts()] == [f"{ip}:{server.port}" for ip in expected]
    assert all(h.hostname == "localhost" for h in cluster.hosts())
    assert (await fetch(cluster)).text == "up conn=1 req=1"
    assert counter("cluster.dns.update_attempt") == 1
    assert counter("cluster.dns.update_success") == 1
    assert counter("cluster.dns.membership_total") == len(expected)


async def test_logical_dns_uses_the_first_address(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    manager = await managers(
        cluster_config(
            "logical",
            [Ep("localhost", server.port)],
            type=DiscoveryType.LOGICAL_DNS,
            dns_lookup_family=DnsLookupFamily.V4_ONLY,
        )
    )
    cluster = get(manager, "logical")
    first = (await resolve(asyncio.get_running_loop(), "localhost", DnsLookupFamily.V4_ONLY))[0]
    assert [h.address for h in cluster.hosts()] == [f"{first}:{server.port}"]
    assert (await fetch(cluster)).text == "up conn=1 req=1"
    assert counter("cluster.logical.membership_total") == 1


async def test_unresolvable_name_has_no_hosts(managers: Managers, counter: Stat) -> None:
    manager = await managers(cluster_config("bad", [Ep("no-such-host.invalid", 80)], type=DiscoveryType.STRICT_DNS))
    cluster = get(manager, "bad")
    assert cluster.hosts() == []
    assert counter("cluster.bad.update_failure") == 1
    assert start(cluster).failure is not None


class Zone:
    """A resolver answering from a table the test edits, in place of the system's DNS (which a test cannot
    change); the addresses it returns are real loopback addresses with real servers behind them."""

    def __init__(self, records: dict[str, list[str]]) -> None:
        self.records = records
        self.queries = 0
        self.queried = asyncio.Event()

    async def __call__(self, loop: asyncio.AbstractEventLoop, name: str, family: DnsLookupFamily) -> list[str]:
        self.queries += 1
        self.queried.set()
        if name not in self.records:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return list(self.records[name])

    async def wait_queries(self, count: int) -> None:
        """Until ``count`` more resolutions have completed."""
        target = self.queries + count
        async with asyncio.timeout(10):
            while self.queries < target:
                self.queried.clear()
                await self.queried.wait()
        await asyncio.sleep(0)  # let the refresh apply the last answer


@pytest.fixture
async def zone_managers(store: Store) -> AsyncIterator[Callable[..., Awaitable[ClusterManagerImpl]]]:
    built: list[ClusterManagerImpl] = []

    async def make(zone: Zone, *clusters: Cluster) -> ClusterManagerImpl:
        manager = build_cluster_manager(
            clusters, store, asyncio.get_running_loop(), codec_factory=make_client_codec, resolver=zone
        )
        built.append(manager)
        await manager.start()
        return manager

    yield make
    for manager in built:
        await manager.close()


async def test_strict_dns_refresh_follows_the_name(
    servers: Servers, zone_managers: Callable[..., Awaitable[ClusterManagerImpl]], counter: Stat
) -> None:
    one = await servers("one", "127.0.0.1")
    two = await servers("two", "127.0.0.2", one.port)  # same port, another loopback address
    port = one.port
    zone = Zone({"svc.test": ["127.0.0.1"]})
    manager = await zone_managers(
        zone, cluster_config("s", [Ep("svc.test", port)], type=DiscoveryType.STRICT_DNS, dns_refresh_rate=0.02)
    )
    cluster = get(manager, "s")
    assert (await fetch(cluster)).text.startswith("one ")
    kept = cluster.hosts()[0]
    # the same answer again: nothing rebuilt, the host (and its warm connection) kept
    await zone.wait_queries(2)
    assert counter("cluster.s.update_no_rebuild") >= 1
    assert cluster.hosts() == [kept]
    # the name gains an address: a new host, the old one kept
    zone.records["svc.test"] = ["127.0.0.2", "127.0.0.1"]
    await zone.wait_queries(2)
    assert [h.address for h in cluster.hosts()] == [f"127.0.0.2:{port}", f"127.0.0.1:{port}"]
    assert cluster.hosts()[1] is kept
    assert counter("cluster.s.membership_total") == 2
    # the old address goes: its host leaves and its idle connection is closed
    zone.records["svc.test"] = ["127.0.0.2"]
    await zone.wait_queries(2)
    assert [h.address for h in cluster.hosts()] == [f"127.0.0.2:{port}"]
    await one.wait_closed_connections()
    assert (await fetch(cluster)).text.startswith("two ")
    # resolution fails: the last good hosts stay
    failures = counter("cluster.s.update_failure")
    del zone.records["svc.test"]
    await zone.wait_queries(2)
    assert counter("cluster.s.update_failure") > failures
    assert [h.address for h in cluster.hosts()] == [f"127.0.0.2:{port}"]
    assert (await fetch(cluster)).text.startswith("two ")
    assert counter("cluster.s.update_attempt") == counter("cluster.s.update_success") + counter(
        "cluster.s.update_failure"
    )
    assert two.connections == 1


async def test_logical_dns_moves_new_connections_to_the_latest_address(
    servers: Servers, zone_managers: Callable[..., Awaitable[ClusterManagerImpl]], counter: Stat
) -> None:
    one = await servers("one", "127.0.0.1")
    await servers("two", "127.0.0.2", one.port)
    zone = Zone({"svc.test": ["127.0.0.1", "127.0.0.2"]})
    manager = await zone_managers(
        zone, cluster_config("l", [Ep("svc.test", one.port)], type=DiscoveryType.LOGICAL_DNS, dns_refresh_rate=0.02)
    )
    cluster = get(manager, "l")
    (host,) = cluster.hosts()
    assert host.address == f"127.0.0.1:{one.port}"
    held = start(cluster, b"/hold")
    await one.wait_held(1)
    zone.records["svc.test"] = ["127.0.0.2"]
    await zone.wait_queries(2)
    assert cluster.hosts() == [host]  # still one host, now at the new address
    assert host.address == f"127.0.0.2:{one.port}"
    assert counter("cluster.l.membership_total") == 1
    # a new connection goes to the new address; the open one stays where it is
    assert (await fetch(cluster)).text.startswith("two ")
    one.release_held()
    assert (await held.wait()).text.startswith("one ")


async def test_admin_views(servers: Servers, managers: Managers) -> None:
    a = await servers("a")
    manager = await managers(cluster_config("v", [Ep("127.0.0.1", a.port, weight=7, priority=0)]))
    (view,) = manager.all_clusters()
    assert view.name == "v"
    (host,) = view.hosts()
    assert (host.address, host.weight, host.priority, host.healthy) == (f"127.0.0.1:{a.port}", 7, 0, True)
    assert view.circuit_breaker_thresholds() == {
        "max_connections": 1024,
        "max_pending_requests": 1024,
        "max_requests": 1024,
        "max_retries": 3,
    }
    assert manager.get("missing") is None


async def test_locality_weights_from_the_load_assignment(servers: Servers, managers: Managers) -> None:
    a, b, c = await servers("a"), await servers("b"), await servers("c")

    def endpoint(port: int) -> LbEndpoint:
        return LbEndpoint(endpoint=Endpoint(address=Address(SocketAddress("127.0.0.1", port))))

    config = Cluster(
        name="loc",
        load_assignment=ClusterLoadAssignment(
            cluster_name="loc",
            endpoints=(
                # two hosts share weight 1, the lone host of the other locality has weight 2
                LocalityLbEndpoints(
                    lb_endpoints=(endpoint(a.port), endpoint(b.port)),
                    locality=Locality(zone="z1"),
                    load_balancing_weight=1,
                ),
                LocalityLbEndpoints(
                    lb_endpoints=(endpoint(c.port),), locality=Locality(zone="z2"), load_balancing_weight=2
                ),
            ),
        ),
    )
    manager = await managers(config)
    assert await names_of_servers(get(manager, "loc"), 60) == {"a": 10, "b": 10, "c": 40}


async def test_departed_host_finishes_its_requests_then_closes(
    servers: Servers, zone_managers: Callable[..., Awaitable[ClusterManagerImpl]], counter: Stat
) -> None:
    one = await servers("one", "127.0.0.1")
    await servers("two", "127.0.0.2", one.port)
    zone = Zone({"svc.test": ["127.0.0.1"]})
    manager = await zone_managers(
        zone, cluster_config("d", [Ep("svc.test", one.port)], type=DiscoveryType.STRICT_DNS, dns_refresh_rate=0.02)
    )
    cluster = get(manager, "d")
    held = start(cluster, b"/hold")
    await one.wait_held(1)
    zone.records["svc.test"] = ["127.0.0.2"]
    await zone.wait_queries(2)
    assert [h.address for h in cluster.hosts()] == [f"127.0.0.2:{one.port}"]
    assert len(one.open) == 1  # the busy connection survives its host's departure
    one.release_held()
    assert (await held.wait()).text == "one conn=1 req=1"
    await one.wait_closed_connections()  # and closes once its exchange is done
    assert counter("cluster.d.upstream_cx_destroy_local") == 1


async def test_alt_stat_name_names_the_stats(servers: Servers, managers: Managers, counter: Stat) -> None:
    a = await servers("a")
    manager = await managers(cluster_config("real", [Ep("127.0.0.1", a.port)], alt_stat_name="shown"))
    cluster = get(manager, "real")
    assert (cluster.name, cluster.stat_name) == ("real", "shown")
    await fetch(cluster)
    assert counter("cluster.shown.upstream_rq_total") == 1


async def test_lookup_families_on_literals() -> None:
    loop = asyncio.get_running_loop()
    assert await resolve(loop, "127.0.0.5", DnsLookupFamily.V4_ONLY) == ["127.0.0.5"]
    assert await resolve(loop, "::1", DnsLookupFamily.V6_ONLY) == ["::1"]
    # AUTO asks for IPv6 first and falls back to IPv4; V4_PREFERRED the other way round
    assert await resolve(loop, "127.0.0.5", DnsLookupFamily.AUTO) == ["127.0.0.5"]
    assert await resolve(loop, "::1", DnsLookupFamily.V4_PREFERRED) == ["::1"]
    for name, family in (("::1", DnsLookupFamily.V4_ONLY), ("127.0.0.5", DnsLookupFamily.V6_ONLY)):
        with pytest.raises(OSError):
            await resolve(loop, name, family)


async def test_ipv6_host(servers: Servers, managers: Managers) -> None:
    server = await servers("six", "::1")
    manager = await managers(cluster_config("v6", [Ep("::1", server.port)]))
    cluster = get(manager, "v6")
    assert cluster.hosts()[0].address == f"[::1]:{server.port}"
    ex = start(cluster, b"/hold")
    await server.wait_held(1)
    assert ex.stream is not None and ex.stream.local_address.startswith("[::1]:")
    server.release_held()
    assert (await ex.wait()).text == "six conn=1 req=1"
