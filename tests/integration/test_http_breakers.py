"""Circuit breakers through the gateway: max_connections, max_pending_requests and max_requests hold, overflow is
Envoy's 503 (UO, its body, x-envoy-overloaded) and the cluster stats carry Envoy's names; the seed config's
thresholds are parsed as written."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.config import loads
from gateway.server.options import ServerOptions
from gateway.server.run import Server
from tests.integration.harness import Client, Response, basic_config, gateway, port_of
from tests.integration.http_support import eventually, read_head, stat, tcp_upstream

OVERFLOW_BODY = b"upstream connect error or disconnect/reset before headers. reset reason: overflow"
C = "cluster.upstream."
ROOT = Path(__file__).resolve().parents[2]


class HeldUpstream:
    """An upstream that answers each request only when the test releases one."""

    def __init__(self) -> None:
        self.arrived = 0
        self.releases: asyncio.Queue[None] = asyncio.Queue()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_head(reader)
            self.arrived += 1
            await self.releases.get()
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()


def breakers(**thresholds: int) -> str:
    values = ", ".join(f"{k}: {v}" for k, v in thresholds.items())
    return f"    circuit_breakers: {{thresholds: [{{priority: DEFAULT, {values}}}]}}"


async def start(port: int) -> tuple[Client, asyncio.Task[Response]]:
    client = await Client.connect(port)
    return client, asyncio.create_task(client.request("GET", "/"))


def assert_overflow(r: Response) -> None:
    assert r.status == 503 and r.body == OVERFLOW_BODY
    assert r.headers["x-envoy-overloaded"] == "true"


async def test_max_connections_queues_then_max_pending_overflows() -> None:
    held = HeldUpstream()
    clusters = breakers(max_connections=1, max_pending_requests=1)
    async with tcp_upstream(held) as up, gateway(basic_config(up, clusters=clusters)) as gw:
        port = port_of(gw)
        first, first_r = await start(port)
        await eventually(lambda: held.arrived == 1)
        second, second_r = await start(port)  # no second connection allowed: it waits as pending
        await eventually(lambda: stat(gw, C + "upstream_rq_pending_active") == 1)
        assert stat(gw, C + "upstream_cx_overflow") == 1
        assert stat(gw, C + "circuit_breakers.default.cx_open") == 1
        assert stat(gw, C + "circuit_breakers.default.rq_pending_open") == 1
        third = await Client.connect(port)
        assert_overflow(await third.request("GET", "/"))
        assert stat(gw, C + "upstream_rq_pending_overflow") == 1
        held.releases.put_nowait(None)
        held.releases.put_nowait(None)
        assert (await first_r).status == 200 and (await second_r).status == 200
        assert stat(gw, C + "upstream_cx_total") == 1  # the pending request reused the one connection
        assert stat(gw, C + "circuit_breakers.default.rq_pending_open") == 0
        for client in (first, second, third):
            await client.close()
        assert stat(gw, "http.ingress_http.downstream_rq_5xx") == 1


async def test_max_requests_overflows() -> None:
    held = HeldUpstream()
    async with tcp_upstream(held) as up, gateway(basic_config(up, clusters=breakers(max_requests=1))) as gw:
        port = port_of(gw)
        first, first_r = await start(port)
        await eventually(lambda: held.arrived == 1)
        assert stat(gw, C + "circuit_breakers.default.rq_open") == 1
        second = await Client.connect(port)
        assert_overflow(await second.request("GET", "/"))
        assert stat(gw, C + "upstream_rq_pending_overflow") == 1
        assert stat(gw, C + "upstream_rq_503") == 1
        held.releases.put_nowait(None)
        assert (await first_r).status == 200
        assert stat(gw, C + "circuit_breakers.default.rq_open") == 0
        # The breaker closed again: the next request goes through.
        held.releases.put_nowait(None)
        assert (await second.request("GET", "/")).status == 200
        await first.close()
        await second.close()


async def test_the_seed_configs_thresholds_are_parsed_and_enforced() -> None:
    seed = (ROOT / "configs" / "envoy-seed.yaml").read_text()
    assert "cart-service.prod.svc.cluster.local" in seed and "max_requests: 300" in seed
    local = seed.replace("cart-service.prod.svc.cluster.local", "127.0.0.1").replace(
        "port_value: 80\n", "port_value: 0\n"
    )
    server = Server(loads(local), ServerOptions(None))
    await server.start()
    try:
        (cluster,) = server.clusters()
        assert cluster.circuit_breaker_thresholds() == {
            "max_connections": 100,
            "max_pending_requests": 200,
            "max_requests": 300,
            "max_retries": 5,
        }
    finally:
        await server.close()
