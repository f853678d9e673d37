"""The router against the real cluster manager, pools and codec, with real upstream servers on 127.0.0.1:
the request and response on the wire, connect failures, overflow, timeouts, streaming and resets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from gateway.codec import make_client_codec
from gateway.config.model import (
    Address,
    CircuitBreakers,
    Cluster,
    ClusterLoadAssignment,
    Endpoint,
    LbEndpoint,
    LocalityLbEndpoints,
    Route,
    RouteAction,
    RouteMatch,
    SocketAddress,
    Thresholds,
)
from gateway.core.flags import format_flags
from gateway.filters.router.filter import Router
from gateway.stats.store import Store
from gateway.upstream.manager import ClusterManagerImpl, build_cluster_manager

from .builders import config, hvo, request, vhost
from .fakes import FakeCallbacks, make_router
from .upstream import EchoServer


def _cluster(name: str, port: int, connect_timeout: float = 1.0, thresholds: Thresholds | None = None) -> Cluster:
    endpoint = LbEndpoint(endpoint=Endpoint(address=Address(SocketAddress("127.0.0.1", port))))
    return Cluster(
        name=name,
        connect_timeout=connect_timeout,
        load_assignment=ClusterLoadAssignment(
            cluster_name=name, endpoints=(LocalityLbEndpoints(lb_endpoints=(endpoint,)),)
        ),
        circuit_breakers=CircuitBreakers(thresholds=(thresholds,) if thresholds else ()),
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def echo() -> AsyncIterator[EchoServer]:
    server = await EchoServer().start()
    yield server
    await server.close()


@pytest.fixture
async def stack(echo: EchoServer) -> AsyncIterator[Callable[..., tuple[Router, FakeCallbacks, Store]]]:
    """Builds routers (one per call, i.e. per stream) over one real cluster manager, closed at the end."""
    store = Store()
    managers: list[ClusterManagerImpl] = []

    def build(routes: list[Route], clusters: list[Cluster] | None = None) -> tuple[Router, FakeCallbacks, Store]:
        if not managers:
            loop = asyncio.get_running_loop()
            clusters = clusters or [_cluster("echo", echo.port)]
            managers.append(build_cluster_manager(clusters, store, loop, codec_factory=make_client_codec))
        rc = config(vhost("v", ["*"], routes))
        return make_router(rc, managers[0], asyncio.get_running_loop(), store=store)  # type: ignore[arg-type]

    yield build
    for cm in managers:
        await cm.close()


async def _until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


def _route(cluster: str = "echo", **action: object) -> Route:
    return Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster=cluster, **action))  # type: ignore[arg-type]


def _begin(router: Router, cb: FakeCallbacks, end_stream: bool = True, **kwargs: str) -> None:
    headers = request(**kwargs)
    cb.info.request_headers = headers
    router.decode_headers(headers, end_stream)


async def test_request_and_response_on_the_wire(stack: Callable[..., tuple[Router, FakeCallbacks, Store]]) -> None:
    r = Route(
        match=RouteMatch(prefix="/api"),
        route=RouteAction(cluster="echo", prefix_rewrite="/v2", host_rewrite_literal="svc.local"),
        request_headers_to_add=(hvo("x-added", "yes"),),
        response_headers_to_add=(hvo("x-resp", "%UPSTREAM_HOST%"),),
    )
    router, cb, store = stack([r])
    _begin(router, cb, path="/api/things?x=1", method="POST", end_stream=False)
    router.decode_data(bytearray(b"12345"), False)
    router.decode_data(bytearray(b"678"), True)
    await _until(lambda: cb.response_end)
    assert cb.response_headers is not None and cb.response_headers.status == 200
    echoed = bytes(cb.body).decode().split("\n")
    assert echoed[0] == "POST /v2/things?x=1"
    assert "host: svc.local" in echoed
    assert "x-added: yes" in echoed
    assert "x-envoy-original-path: /api/things?x=1" in echoed
    assert "x-envoy-expected-rq-timeout-ms: 15000" in echoed
    assert echoed[-1] == "body=8"
    service_time = cb.response_headers.get(b"x-envoy-upstream-service-time")
    assert service_time is not None and service_time.isdigit()
    host = cb.info.upstream_host
    assert host.startswith("127.0.0.1:")
    assert cb.response_headers.get(b"x-resp") == host.encode()
    assert store.counters["cluster.echo.upstream_rq_200"].value == 1
    assert store.counters["cluster.echo.upstream_rq_total"].value == 1
    assert store.histograms["cluster.echo.upstream_rq_time"].count == 1


async def test_keep_alive_reuse_across_routers(
    stack: Callable[..., tuple[Router, FakeCallbacks, Store]], echo: EchoServer
) -> None:
    router, cb, store = stack([_route()])
    _begin(router, cb)
    await _until(lambda: cb.response_end)
    router.on_destroy()
    # A second stream through the same cluster manager reuses the idle connection.
    router2, cb2, _ = stack([_route()])
    _begin(router2, cb2)
    await _until(lambda: cb2.response_end)
    assert store.counters["cluster.echo.upstream_cx_total"].value == 1
    assert store.counters["cluster.echo.upstream_rq_200"].value == 2
    assert echo.requests == 2


async def test_connect_failure_is_a_503_uf(stack: Callable[..., tuple[Router, FakeCallbacks, Store]]) -> None:
    router, cb, store = stack([_route("dead")], [_cluster("dead", _closed_port())])
    _begin(router, cb)
    await _until(lambda: cb.local_replies)
    reply = cb.reply
    assert reply.status == 503
    assert reply.body.startswith(
        b"upstream connect error or disconnect/reset before headers. reset reason: connection failure"
    )
    assert reply.details.startswith("upstream_reset_before_response_started{connection_failure")
    assert format_flags(cb.info.response_flags) == "UF"
    assert store.counters["cluster.dead.upstream_cx_connect_fail"].value == 1
    assert store.counters["cluster.dead.upstream_rq_503"].value == 1


async def test_pending_overflow_is_a_503_uo(
    stack: Callable[..., tuple[Router, FakeCallbacks, Store]], echo: EchoServer
) -> None:
    limited = _cluster("echo", echo.port, thresholds=Thresholds(max_pending_requests=0))
    router, cb, _ = stack([_route()], [limited])
    _begin(router, cb)
    reply = cb.reply  # the breaker answers at once
    assert reply.status == 503
    assert reply.body.endswith(b"reset reason: overflow")
    assert reply.headers is not None and reply.headers.get(b"x-envoy-overloaded") == b"true"
    assert format_flags(cb.info.response_flags) == "UO"


async def test_route_timeout_is_a_504_and_closes_the_upstream_connection(
    stack: Callable[..., tuple[Router, FakeCallbacks, Store]], echo: EchoServer
) -> None:
    router, cb, store = stack([_route(timeout=0.1)])
    _begin(router, cb, path="/slow/2000")
    await _until(lambda: cb.local_replies)
    assert (cb.reply.status, cb.reply.body) == (504, b"upstream request timeout")
    assert format_flags(cb.info.response_flags) == "UT"
    assert store.counters["cluster.echo.upstream_rq_timeout"].value == 1
    await _until(lambda: not echo._transports)  # the abandoned HTTP/1.1 connection is closed, not reused


async def test_response_body_is_streamed_as_it_arrives(
    stack: Callable[..., tuple[Router, FakeCallbacks, Store]],
) -> None:
    router, cb, _ = stack([_route()])
    _begin(router, cb, path="/stream")
    await _until(lambda: cb.response_headers is not None)
    assert not cb.response_end
    await _until(lambda: b"chunk0;" in cb.body)
    assert b"chunk2;" not in cb.body  # the first chunk came through before the last one was written
    await _until(lambda: cb.response_end)
    assert bytes(cb.body) == b"chunk0;chunk1;chunk2;"


async def test_upstream_closing_before_headers_is_a_503_uc(
    stack: Callable[..., tuple[Router, FakeCallbacks, Store]],
) -> None:
    router, cb, _ = stack([_route()])
    _begin(router, cb, path="/close")
    await _until(lambda: cb.local_replies)
    assert cb.reply.status == 503
    assert cb.reply.body.endswith(b"reset reason: connection termination")
    assert format_flags(cb.info.response_flags) == "UC"


async def test_upstream_closing_mid_body_resets_the_downstream(
    stack: Callable[..., tuple[Router, FakeCallbacks, Store]],
) -> None:
    router, cb, _ = stack([_route()])
    _begin(router, cb, path="/cut")
    await _until(lambda: cb.resets)
    assert cb.response_headers is not None and cb.local_replies == []
    assert bytes(cb.body) == b"hello"
    assert format_flags(cb.info.response_flags) == "UC"
    assert cb.resets[0][1] == "upstream_reset_after_response_started{connection_termination}"


async def test_upgrade_tunnels_both_ways_and_outlives_the_route_timeout(
    stack: Callable[..., tuple[Router, FakeCallbacks, Store]],
) -> None:
    router, cb, _ = stack([_route(timeout=0.05)])
    _begin(router, cb, path="/upgrade", end_stream=False, connection="upgrade", upgrade="test")
    await _until(lambda: cb.response_headers is not None)
    assert cb.response_headers is not None and cb.response_headers.status == 101
    router.decode_data(bytearray(b"hello"), False)
    await _until(lambda: cb.body == b"HELLO")
    # The request never ends in a tunnel, so the route timeout never starts.
    await asyncio.sleep(0.1)
    router.decode_data(bytearray(b" again"), False)
    await _until(lambda: cb.body == b"HELLO AGAIN")
    assert cb.local_replies == [] and cb.resets == []
    router.on_destroy()
