"""The HTTP/1.1 connection pool against real servers on 127.0.0.1: reuse, timeouts, failures, stats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from gateway.config.model import Thresholds
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.upstream.cluster import ClusterImpl
from gateway.upstream.connection import UpstreamRequest
from gateway.upstream.manager import ClusterManagerImpl
from tests.upstream.conftest import Ep, cluster_config, fetch, start
from tests.upstream.servers import BlackHole, UpstreamServer, closed_port

Servers = Callable[..., Awaitable[UpstreamServer]]
Managers = Callable[..., Awaitable[ClusterManagerImpl]]
Stat = Callable[[str], int]


async def one_cluster(managers: Managers, port: int, **kwargs: object) -> ClusterImpl:
    manager = await managers(cluster_config("c", [Ep("127.0.0.1", port)], **kwargs))
    cluster = manager.get("c")
    assert cluster is not None
    return cluster


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for a condition driven by the other side of a socket (bounded only to avoid hanging)."""
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_keep_alive_connection_is_reused(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    bodies = [(await fetch(cluster)).text for _ in range(3)]
    assert bodies == ["up conn=1 req=1", "up conn=1 req=2", "up conn=1 req=3"]
    assert server.connections == 1
    assert counter("cluster.c.upstream_cx_total") == 1
    assert counter("cluster.c.upstream_cx_http1_total") == 1
    assert counter("cluster.c.upstream_cx_active") == 1
    assert counter("cluster.c.upstream_rq_total") == 3
    assert counter("cluster.c.upstream_rq_active") == 0
    assert counter("cluster.c.upstream_rq_pending_total") == 1  # only the first waited for a connection
    host = cluster.hosts()[0]
    assert host.address == f"127.0.0.1:{server.port}"
    assert host.host_stats() == {
        "cx_total": 1,
        "cx_active": 1,
        "cx_connect_fail": 0,
        "rq_total": 3,
        "rq_active": 0,
        "rq_error": 0,
        "rq_success": 3,
        "rq_timeout": 0,
    }


async def test_stream_reports_addresses_and_bytes_match_the_wire(
    servers: Servers, managers: Managers, counter: Stat
) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    ex = await fetch(cluster, b"/echo", body=b"x" * 1000)
    assert ex.headers is not None and ex.headers.status == 200
    assert ex.stream is not None
    # a finished stream is detached from its connection
    assert ex.stream.host_address == ""
    ex2 = start(cluster, b"/hold")
    await server.wait_held(1)
    assert ex2.stream is not None
    assert ex2.stream.host_address == f"127.0.0.1:{server.port}"
    assert ex2.stream.local_address.startswith("127.0.0.1:")
    server.release_held()
    await ex2.wait()
    assert counter("cluster.c.upstream_cx_tx_bytes_total") == server.bytes_received
    assert counter("cluster.c.upstream_cx_rx_bytes_total") == server.bytes_sent


async def test_idle_connections_are_reused_last_in_first_out(servers: Servers, managers: Managers) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    first, second = start(cluster, b"/hold"), start(cluster, b"/hold")
    await server.wait_held(2)
    server.release_held(1)
    await first.wait()
    server.release_held(1)
    await second.wait()
    # the connection returned last is taken first
    last_returned = second.text.split()[1]
    assert (await fetch(cluster)).text.split()[1] == last_returned
    assert server.connections == 2


async def test_idle_timeout_closes_the_connection(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, idle_timeout=0.1)
    assert (await fetch(cluster)).text == "up conn=1 req=1"
    await until(lambda: counter("cluster.c.upstream_cx_idle_timeout") == 1)
    await server.wait_closed_connections()
    assert counter("cluster.c.upstream_cx_destroy_local") == 1
    assert counter("cluster.c.upstream_cx_active") == 0
    assert (await fetch(cluster)).text == "up conn=2 req=1"


async def test_busy_connection_outlives_idle_timeout(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, idle_timeout=0.05)
    ex = start(cluster, b"/hold")
    await server.wait_held(1)
    await asyncio.sleep(0.2)  # several idle periods pass while the request is active
    assert counter("cluster.c.upstream_cx_idle_timeout") == 0
    assert len(server.open) == 1
    server.release_held()
    assert (await ex.wait()).text == "up conn=1 req=1"
    # once idle, it does time out
    await until(lambda: counter("cluster.c.upstream_cx_idle_timeout") == 1)
    await server.wait_closed_connections()


async def test_max_requests_per_connection(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, max_requests_per_connection=2)
    bodies = [(await fetch(cluster)).text for _ in range(3)]
    assert bodies == ["up conn=1 req=1", "up conn=1 req=2", "up conn=2 req=1"]
    assert counter("cluster.c.upstream_cx_max_requests") == 1
    await until(lambda: counter("cluster.c.upstream_cx_destroy_local") == 1)
    assert counter("cluster.c.upstream_cx_active") == 1


async def test_connect_refused_is_a_connection_failure(managers: Managers, counter: Stat) -> None:
    port = closed_port()
    cluster = await one_cluster(managers, port)
    ex = await start(cluster).wait()
    assert ex.failure == (
        ResetReason.CONNECTION_FAILURE,
        ResponseFlag.UPSTREAM_CONNECTION_FAILURE,
        "",
        f"127.0.0.1:{port}",
    )
    assert counter("cluster.c.upstream_cx_connect_fail") == 1
    assert counter("cluster.c.upstream_cx_connect_timeout") == 0
    assert counter("cluster.c.upstream_cx_destroy_remote") == 1
    assert counter("cluster.c.upstream_cx_active") == 0
    assert counter("cluster.c.upstream_rq_pending_failure_eject") == 1
    assert counter("cluster.c.upstream_rq_pending_active") == 0
    assert counter("cluster.c.circuit_breakers.default.cx_open") == 0
    stats = cluster.hosts()[0].host_stats()
    assert (stats["cx_total"], stats["cx_connect_fail"], stats["cx_active"]) == (1, 1, 0)


async def test_connect_timeout(managers: Managers, counter: Stat) -> None:
    hole = BlackHole()
    try:
        cluster = await one_cluster(managers, hole.port, connect_timeout=0.1)
        ex = await start(cluster).wait()
    finally:
        hole.close()
    assert ex.failure is not None
    assert ex.failure[:2] == (ResetReason.CONNECTION_TIMEOUT, ResponseFlag.UPSTREAM_CONNECTION_FAILURE)
    assert counter("cluster.c.upstream_cx_connect_timeout") == 1
    assert counter("cluster.c.upstream_cx_connect_fail") == 1
    assert counter("cluster.c.upstream_cx_destroy_local") == 1
    assert counter("cluster.c.upstream_cx_active") == 0


async def test_connect_failure_fails_every_pending_request(managers: Managers, counter: Stat) -> None:
    cluster = await one_cluster(managers, closed_port(), thresholds=Thresholds(max_connections=1))
    exchanges = [start(cluster) for _ in range(3)]
    assert counter("cluster.c.upstream_rq_pending_active") == 3
    for ex in exchanges:
        await ex.wait()
        assert ex.failure is not None and ex.failure[1] is ResponseFlag.UPSTREAM_CONNECTION_FAILURE
    assert counter("cluster.c.upstream_cx_total") == 1
    assert counter("cluster.c.upstream_rq_pending_failure_eject") == 3
    assert counter("cluster.c.upstream_rq_pending_active") == 0


async def test_max_connections_queues_requests_as_pending(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, thresholds=Thresholds(max_connections=1))
    first = start(cluster, b"/hold")
    await server.wait_held(1)
    second = start(cluster)
    assert second.handle is not None  # waiting, cancellable
    assert counter("cluster.c.upstream_cx_overflow") == 1
    assert counter("cluster.c.upstream_rq_pending_active") == 1
    assert counter("cluster.c.circuit_breakers.default.cx_open") == 1
    server.release_held()
    assert (await first.wait()).text == "up conn=1 req=1"
    assert (await second.wait()).text == "up conn=1 req=2"
    assert server.connections == 1
    assert counter("cluster.c.upstream_rq_pending_active") == 0


async def test_max_pending_requests_overflow(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, thresholds=Thresholds(max_connections=1, max_pending_requests=1))
    active = start(cluster, b"/hold")
    await server.wait_held(1)
    pending = start(cluster, b"/hold")
    assert counter("cluster.c.circuit_breakers.default.rq_pending_open") == 1
    rejected = start(cluster)
    assert rejected.failure == (ResetReason.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW, "", f"127.0.0.1:{server.port}")
    assert rejected.handle is None
    assert counter("cluster.c.upstream_rq_pending_overflow") == 1
    server.release_held()
    await active.wait()
    await server.wait_held(1)
    server.release_held()
    assert (await pending.wait()).text == "up conn=1 req=2"


async def test_max_requests_overflow(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, thresholds=Thresholds(max_requests=1))
    active = start(cluster, b"/hold")
    await server.wait_held(1)
    assert counter("cluster.c.circuit_breakers.default.rq_open") == 1
    # a second connection opens, but the request may not use it: Envoy checks max_requests on attach
    second = await start(cluster).wait()
    assert second.failure is not None and second.failure[:2] == (ResetReason.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW)
    assert counter("cluster.c.upstream_rq_pending_overflow") == 1
    # with an idle connection now available, the check fails fast too
    third = start(cluster)
    assert third.failure is not None and third.failure[1] is ResponseFlag.UPSTREAM_OVERFLOW
    assert counter("cluster.c.upstream_rq_pending_overflow") == 2
    server.release_held()
    await active.wait()
    assert counter("cluster.c.circuit_breakers.default.rq_open") == 0
    assert (await fetch(cluster)).ended


async def test_cancel_pending_request(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, thresholds=Thresholds(max_connections=1))
    active = start(cluster, b"/hold")
    await server.wait_held(1)
    cancelled = start(cluster)
    assert cancelled.handle is not None
    cancelled.handle.cancel()
    cancelled.handle.cancel()  # idempotent
    assert counter("cluster.c.upstream_rq_cancelled") == 1
    assert counter("cluster.c.upstream_rq_pending_active") == 0
    server.release_held()
    await active.wait()
    assert (await fetch(cluster)).text == "up conn=1 req=2"  # the cancelled request never reached the server
    assert not cancelled.done.done()


async def test_track_remaining_gauges(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(
        managers,
        server.port,
        thresholds=Thresholds(
            max_connections=3, max_pending_requests=4, max_requests=5, max_retries=2, track_remaining=True
        ),
    )
    cb = "cluster.c.circuit_breakers.default."
    assert [counter(cb + g) for g in ("remaining_cx", "remaining_pending", "remaining_rq", "remaining_retries")] == [
        3,
        4,
        5,
        2,
    ]
    held = [start(cluster, b"/hold") for _ in range(2)]
    await server.wait_held(2)
    assert counter(cb + "remaining_cx") == 1
    assert counter(cb + "remaining_rq") == 3
    assert counter(cb + "remaining_pending") == 4
    server.release_held()
    for ex in held:
        await ex.wait()
    assert counter(cb + "remaining_rq") == 5
    assert cluster.circuit_breaker_thresholds() == {
        "max_connections": 3,
        "max_pending_requests": 4,
        "max_requests": 5,
        "max_retries": 2,
    }


async def test_retry_breaker(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, thresholds=Thresholds(max_retries=2))
    assert cluster.try_acquire_retry()
    assert cluster.try_acquire_retry()
    assert counter("cluster.c.circuit_breakers.default.rq_retry_open") == 1
    assert not cluster.try_acquire_retry()
    assert counter("cluster.c.upstream_rq_retry_overflow") == 1
    cluster.release_retry()
    assert counter("cluster.c.circuit_breakers.default.rq_retry_open") == 0
    assert cluster.try_acquire_retry()


async def test_response_cut_short_resets_the_stream(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    ex = await fetch(cluster, b"/cut")
    assert ex.headers is not None and ex.headers.status == 200
    assert bytes(ex.data) == b"abc"
    assert ex.reset == (ResetReason.CONNECTION_TERMINATION, "")
    assert not ex.ended
    await until(lambda: counter("cluster.c.upstream_cx_active") == 0)
    assert counter("cluster.c.upstream_cx_destroy_remote_with_active_rq") == 1
    assert cluster.hosts()[0].host_stats()["rq_error"] == 1
    assert (await fetch(cluster)).text == "up conn=2 req=1"


async def test_reset_before_response_is_a_connection_termination(servers: Servers, managers: Managers) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    ex = await fetch(cluster, b"/reset")
    assert ex.headers is None
    assert ex.reset is not None and ex.reset[0] is ResetReason.CONNECTION_TERMINATION


async def test_server_closing_an_idle_connection_drops_it(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    assert (await fetch(cluster, b"/drop")).text == "up conn=1 req=1"
    await until(lambda: counter("cluster.c.upstream_cx_destroy_remote") == 1)
    assert counter("cluster.c.upstream_cx_active") == 0
    ex = await fetch(cluster)
    assert ex.text == "up conn=2 req=1"
    assert ex.reset is None


async def test_connection_close_response_is_not_reused(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    assert (await fetch(cluster, b"/close")).text == "up conn=1 req=1"
    assert (await fetch(cluster)).text == "up conn=2 req=1"
    assert counter("cluster.c.upstream_cx_destroy_local") + counter("cluster.c.upstream_cx_destroy_remote") == 1


async def test_garbage_from_upstream_is_a_protocol_error(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    ex = await fetch(cluster, b"/garbage")
    assert ex.reset is not None and ex.reset[0] is ResetReason.PROTOCOL_ERROR
    assert counter("cluster.c.upstream_cx_protocol_error") == 1
    assert (await fetch(cluster)).text == "up conn=2 req=1"


async def test_unsolicited_bytes_close_the_idle_connection(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    assert (await fetch(cluster, b"/extra")).text == "up conn=1 req=1"
    await until(lambda: counter("cluster.c.upstream_cx_active") == 0)
    assert (await fetch(cluster)).text == "up conn=2 req=1"


async def test_router_reset_closes_the_connection(servers: Servers, managers: Managers, counter: Stat) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    ex = start(cluster, b"/hold")
    await server.wait_held(1)
    assert ex.stream is not None
    ex.stream.record_timeout()
    ex.stream.reset()
    ex.stream.reset()  # a no-op once detached
    await until(lambda: counter("cluster.c.upstream_cx_active") == 0)
    assert counter("cluster.c.upstream_cx_destroy_local_with_active_rq") == 1
    assert counter("cluster.c.upstream_rq_active") == 0
    assert ex.reset is None  # the router reset it: no callback back
    stats = cluster.hosts()[0].host_stats()
    assert (stats["rq_timeout"], stats["rq_error"], stats["rq_active"]) == (1, 1, 0)


async def test_write_watermarks_follow_the_buffer_limit(servers: Servers, managers: Managers) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port, per_connection_buffer_limit_bytes=16384)
    ex = start(cluster, b"/slowread", body=b"z" * (8 * 1024 * 1024))
    await until(lambda: ex.above_high_watermark == 1)
    assert ex.below_low_watermark == 0
    server.resume_reading()
    await ex.wait()
    assert ex.below_low_watermark == 1
    assert ex.text == "up conn=1 req=1"


async def test_read_disable_pauses_the_connection(servers: Servers, managers: Managers) -> None:
    server = await servers()
    cluster = await one_cluster(managers, server.port)
    ex = start(cluster, b"/hold")
    await server.wait_held(1)
    stream = ex.stream
    assert isinstance(stream, UpstreamRequest)
    pool = cluster.hosts()[0].pool  # type: ignore[attr-defined]
    (conn,) = pool.connections
    assert conn.transport.is_reading()
    stream.read_disable(True)
    stream.read_disable(True)
    stream.read_disable(False)
    assert not conn.transport.is_reading()  # disables are counted
    stream.read_disable(False)
    assert conn.transport.is_reading()
    stream.read_disable(True)
    server.release_held()
    # bytes wait in the socket until reading resumes; completion then re-enables reading for the next request
    stream.read_disable(False)
    await ex.wait()
    assert conn.transport.is_reading()


async def test_close_resets_active_and_fails_pending(servers: Servers, managers: Managers) -> None:
    server = await servers()
    manager = await managers(
        cluster_config("c", [Ep("127.0.0.1", server.port)], thresholds=Thresholds(max_connections=1))
    )
    cluster = manager.get("c")
    assert cluster is not None
    active = start(cluster, b"/hold")
    await server.wait_held(1)
    pending = start(cluster)
    await manager.close()
    assert active.reset is not None and active.reset[0] is ResetReason.LOCAL_RESET
    assert pending.failure is not None and pending.failure[0] is ResetReason.LOCAL_RESET
    await server.wait_closed_connections()


async def test_close_while_connecting(managers: Managers, counter: Stat) -> None:
    hole = BlackHole()
    try:
        manager = await managers(cluster_config("c", [Ep("127.0.0.1", hole.port)], connect_timeout=30))
        cluster = manager.get("c")
        assert cluster is not None
        pending = start(cluster)
        assert counter("cluster.c.upstream_cx_active") == 1
        await manager.close()
    finally:
        hole.close()
    assert pending.failure is not None and pending.failure[0] is ResetReason.LOCAL_RESET
    assert counter("cluster.c.upstream_cx_active") == 0
    assert counter("cluster.c.upstream_cx_destroy_local") == 1
    assert counter("cluster.c.circuit_breakers.default.cx_open") == 0


async def test_a_stream_knows_its_hosts_name_until_it_ends(servers: Servers, managers: Managers) -> None:
    """What the router's auto_host_rewrite reads."""
    server = await servers()
    manager = await managers(cluster_config("c", [Ep("127.0.0.1", server.port, hostname="api.example")]))
    cluster = manager.get("c")
    assert isinstance(cluster, ClusterImpl)
    ex = start(cluster, b"/hold")
    await server.wait_held(1)
    stream = ex.stream
    assert stream is not None and stream.hostname == "api.example"
    server.release_held()
    await ex.wait()
    assert stream.hostname == ""  # detached: nothing of the connection's next exchange
