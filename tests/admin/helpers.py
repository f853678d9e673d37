"""A fake server behind the admin (a real Store; clusters and hosts as plain objects) and a raw HTTP/1.1 client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gateway.admin import ListenerInfo, ServerState
from gateway.config.model import Locality, Node
from gateway.stats.store import Store
from gateway.upstream.api import ClusterView, HostView


@dataclass
class FakeHost:
    address: str
    hostname: str = ""
    weight: int = 1
    priority: int = 0
    healthy: bool = True
    stats: dict[str, int] = field(default_factory=dict)

    def host_stats(self) -> dict[str, int]:
        return self.stats


@dataclass
class FakeCluster:
    name: str
    members: list[FakeHost]
    thresholds: dict[str, int]

    def hosts(self) -> list[HostView]:
        return list(self.members)

    def circuit_breaker_thresholds(self) -> dict[str, int]:
        return self.thresholds


@dataclass
class FakeServer:
    stats: Store = field(default_factory=Store)
    cluster_views: list[FakeCluster] = field(default_factory=list)
    listener_infos: list[ListenerInfo] = field(default_factory=list)
    raw_config: Mapping[str, object] = field(default_factory=dict)
    node: Node = field(default_factory=Node)
    version: str = "gateway/0.1.0"
    start_time: float = field(default_factory=lambda: time.time() - 42)
    state: ServerState = ServerState.LIVE
    command_line_options: Mapping[str, object] = field(default_factory=dict)
    health_check_failed: bool = False
    quit_calls: int = 0
    refreshes: int = 0

    def refresh_stats(self) -> None:
        self.refreshes += 1
        self.stats.gauge("server.uptime").set(int(time.time() - self.start_time))

    def clusters(self) -> Sequence[ClusterView]:
        return self.cluster_views

    def listeners(self) -> Sequence[ListenerInfo]:
        return self.listener_infos

    def set_health_check_failed(self, failed: bool) -> None:
        self.health_check_failed = failed

    def quit(self) -> None:
        self.quit_calls += 1


def make_server() -> FakeServer:
    server = FakeServer(
        raw_config={
            "node": {"id": "edge-1"},
            "static_resources": {
                "listeners": [{"name": "ingress", "address": {"socket_address": {"port_value": 80}}}],
                "clusters": [{"name": "cart_cluster", "connect_timeout": "1s"}],
            },
        },
        node=Node(id="edge-1", cluster="edge", locality=Locality(region="eu", zone="eu-1a")),
        command_line_options={"config_path": "envoy.yaml", "log_level": "info", "mode": "Serve"},
        listener_infos=[ListenerInfo("ingress", ("0.0.0.0", 10000)), ListenerInfo("v6", ("::1", 10001))],
        cluster_views=[
            FakeCluster(
                "cart_cluster",
                [
                    FakeHost(
                        "10.0.0.7:8080",
                        "cart-service.prod",
                        weight=3,
                        stats={"cx_active": 2, "cx_total": 9, "rq_total": 12, "rq_error": 0},
                    ),
                    FakeHost("[fd00::1]:8080", healthy=False, priority=1, stats={"cx_active": 0, "rq_total": 1}),
                ],
                {"max_connections": 100, "max_pending_requests": 200, "max_requests": 300, "max_retries": 5},
            )
        ],
    )
    server.stats.counter("cluster.cart_cluster.upstream_rq_total").add(12)
    server.stats.counter("cluster.cart_cluster.upstream_rq_200").add(11)
    server.stats.counter("cluster.cart_cluster.upstream_cx_connect_fail")
    server.stats.gauge("server.live").set(1)
    server.stats.histogram("cluster.cart_cluster.upstream_rq_time").record(4)
    return server


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


async def request(port: int, method: str, target: str, extra: bytes = b"", *, keep_alive: bool = False) -> Reply:
    """One request on a new connection (``Connection: close``), read to EOF."""
    replies = await exchange(
        port, f"{method} {target} HTTP/1.1\r\nhost: admin\r\nconnection: close\r\n".encode() + extra + b"\r\n"
    )
    assert len(replies) == 1
    return replies[0]


async def exchange(port: int, raw: bytes) -> list[Reply]:
    """Send raw bytes, read until the server closes, split the responses."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    return parse_responses(data)


def parse_responses(data: bytes) -> list[Reply]:
    replies = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        replies.append(Reply(status, headers, rest[:length].decode()))
        data = rest[length:]
    return replies
