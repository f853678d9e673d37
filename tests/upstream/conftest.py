"""Fixtures for the upstream tests (on uvloop, from the suite's conftest): real servers, cluster configs and a
router-side callbacks recorder."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.codec import make_client_codec
from gateway.config.model import (
    Address,
    CircuitBreakers,
    Cluster,
    ClusterLoadAssignment,
    DiscoveryType,
    Endpoint,
    HealthStatus,
    HttpProtocolOptions,
    LbEndpoint,
    LocalityLbEndpoints,
    SocketAddress,
    Thresholds,
    UpstreamHttpProtocolOptions,
)
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.stats.store import Store
from gateway.upstream.api import Cancellable, LoadBalancerContext, UpstreamStream
from gateway.upstream.cluster import ClusterImpl
from gateway.upstream.manager import ClusterManagerImpl, build_cluster_manager
from tests.upstream.servers import UpstreamServer


@dataclass
class Ep:
    """One endpoint for ``cluster_config``."""

    address: str
    port: int
    weight: int = 1
    priority: int = 0
    health: HealthStatus = HealthStatus.UNKNOWN
    hostname: str = ""


def cluster_config(
    name: str,
    endpoints: list[Ep],
    *,
    type: DiscoveryType = DiscoveryType.STATIC,
    thresholds: Thresholds | None = None,
    idle_timeout: float = 3600.0,
    max_requests_per_connection: int = 0,
    **kwargs: Any,
) -> Cluster:
    groups: dict[int, list[LbEndpoint]] = {}
    for ep in endpoints:
        groups.setdefault(ep.priority, []).append(
            LbEndpoint(
                endpoint=Endpoint(address=Address(SocketAddress(ep.address, ep.port)), hostname=ep.hostname),
                health_status=ep.health,
                load_balancing_weight=ep.weight,
            )
        )
    return Cluster(
        name=name,
        type=type,
        load_assignment=ClusterLoadAssignment(
            cluster_name=name,
            endpoints=tuple(LocalityLbEndpoints(lb_endpoints=tuple(v), priority=p) for p, v in groups.items()),
        ),
        circuit_breakers=CircuitBreakers(thresholds=(thresholds,) if thresholds else ()),
        http_options=UpstreamHttpProtocolOptions(
            common_http_protocol_options=HttpProtocolOptions(
                idle_timeout=idle_timeout, max_requests_per_connection=max_requests_per_connection
            )
        ),
        **kwargs,
    )


@dataclass
class Exchange:
    """Router-side callbacks: records what the upstream side reports and sends the request when ready."""

    path: bytes = b"/"
    body: bytes = b""
    stream: UpstreamStream | None = None
    failure: tuple[ResetReason, ResponseFlag, str, str] | None = None
    reset: tuple[ResetReason, str] | None = None
    headers: HeaderMap | None = None
    data: bytearray = field(default_factory=bytearray)
    ended: bool = False
    above_high_watermark: int = 0
    below_low_watermark: int = 0
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    handle: Cancellable | None = None

    def on_pool_ready(self, stream: UpstreamStream) -> None:
        self.stream = stream
        request = HeaderMap(
            [(b":method", b"POST" if self.body else b"GET"), (b":scheme", b"http"), (b":authority", b"test")]
        )
        request.add(b":path", self.path)
        stream.send_headers(request, end_stream=not self.body)
        if self.body:
            stream.send_data(self.body, end_stream=True)

    def on_pool_failure(self, reason: ResetReason, flag: ResponseFlag, detail: str, host_address: str) -> None:
        self.failure = (reason, flag, detail, host_address)
        self._finish()

    def on_upstream_1xx_headers(self, headers: HeaderMap) -> None:
        pass

    def on_upstream_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        self.headers = headers
        if end_stream:
            self.ended = True
            self._finish()

    def on_upstream_data(self, data: bytes, end_stream: bool) -> None:
        self.data += data
        if end_stream:
            self.ended = True
            self._finish()

    def on_upstream_trailers(self, trailers: HeaderMap) -> None:
        self.ended = True
        self._finish()

    def on_upstream_reset(self, reason: ResetReason, detail: str) -> None:
        self.reset = (reason, detail)
        self._finish()

    def on_upstream_above_write_buffer_high_watermark(self) -> None:
        self.above_high_watermark += 1

    def on_upstream_below_write_buffer_low_watermark(self) -> None:
        self.below_low_watermark += 1

    def _finish(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    @property
    def text(self) -> str:
        return self.data.decode()

    async def wait(self) -> Exchange:
        await asyncio.wait_for(asyncio.shield(self.done), 10)
        return self


def start(cluster: ClusterImpl, path: bytes = b"/", body: bytes = b"") -> Exchange:
    ex = Exchange(path=path, body=body)
    ex.handle = cluster.new_stream(ex, LoadBalancerContext())
    return ex


async def fetch(cluster: ClusterImpl, path: bytes = b"/", body: bytes = b"") -> Exchange:
    return await start(cluster, path, body).wait()


@pytest.fixture(autouse=True)
async def no_loop_errors() -> AsyncIterator[None]:
    """An exception that reaches the loop's handler (a callback that raised) fails the test."""
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
    yield
    assert errors == []


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
async def servers() -> AsyncIterator[Callable[..., Awaitable[UpstreamServer]]]:
    started: list[UpstreamServer] = []

    async def make(name: str = "up", host: str = "127.0.0.1", port: int = 0) -> UpstreamServer:
        server = await UpstreamServer(name, host, port).start()
        started.append(server)
        return server

    yield make
    for server in started:
        await server.close()


@pytest.fixture
async def managers(store: Store) -> AsyncIterator[Callable[..., Awaitable[ClusterManagerImpl]]]:
    built: list[ClusterManagerImpl] = []

    async def make(*clusters: Cluster, seed: int = 1) -> ClusterManagerImpl:
        manager = build_cluster_manager(
            clusters, store, asyncio.get_running_loop(), codec_factory=make_client_codec, rng=random.Random(seed)
        )
        built.append(manager)
        await manager.start()
        return manager

    yield make
    for manager in built:
        await manager.close()


@pytest.fixture
def counter(store: Store) -> Iterator[Callable[[str], int]]:
    def value(name: str) -> int:
        if name in store.counters:
            return store.counters[name].value
        return store.gauges[name].value

    yield value
