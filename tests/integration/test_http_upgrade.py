"""Upgrade (WebSocket-style) through the gateway: the upstream answers 101, then bytes flow both ways untouched;
the HCM's ``upgrade_configs`` allow it, a route's override it, anything else is Envoy's 403."""

from __future__ import annotations

import asyncio

from tests.integration.harness import basic_config, gateway, port_of
from tests.integration.http_support import hcm, raw_exchange, read_head, stat, tcp_upstream

P = "http.ingress_http."
UPGRADE_REQUEST = b"GET /chat HTTP/1.1\r\nhost: a\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
WEBSOCKET = hcm("upgrade_configs: [{upgrade_type: websocket}]")


async def upgrade_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers an Upgrade with 101 and a greeting, then echoes every byte upper-cased; a plain request gets 200."""
    _, fields = await read_head(reader)
    if fields.get(b"upgrade", b"").lower() != b"websocket" or b"upgrade" not in fields.get(b"connection", b""):
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nno-upgr")
        await writer.drain()
        return
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\nhello")
    while data := await reader.read(65536):
        writer.write(data.upper())
        await writer.drain()


async def test_websocket_upgrade_tunnels_bytes_both_ways() -> None:
    async with tcp_upstream(upgrade_server) as up, gateway(basic_config(up, extra_hcm=WEBSOCKET)) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
        writer.write(UPGRADE_REQUEST + b"early")  # bytes right behind the head belong to the tunnel
        status, fields = await read_head(reader)
        assert status == b"HTTP/1.1 101 Switching Protocols"
        assert fields[b"upgrade"] == b"websocket" and fields[b"connection"].lower() == b"upgrade"
        assert await asyncio.wait_for(reader.readexactly(5), 10) == b"hello"
        assert await asyncio.wait_for(reader.readexactly(5), 10) == b"EARLY"
        for message in (b"ping", b"\x00\x01binary\r\n\r\nGET / HTTP/1.1\r\n\r\n", b"x" * 200_000):
            writer.write(message)
            assert await asyncio.wait_for(reader.readexactly(len(message)), 10) == message.upper()
        writer.close()
        await writer.wait_closed()
        assert stat(gw, P + "downstream_cx_upgrades_total") == 1


async def test_upgrade_ends_when_either_side_closes() -> None:
    async def close_after_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\nbye")

    async with tcp_upstream(close_after_greeting) as up, gateway(basic_config(up, extra_hcm=WEBSOCKET)) as gw:
        out = await raw_exchange(port_of(gw), UPGRADE_REQUEST)
        assert out.startswith(b"HTTP/1.1 101 ") and out.endswith(b"\r\n\r\nbye")
        assert stat(gw, P + "downstream_cx_upgrades_active") == 0


async def test_upgrade_not_configured_is_403() -> None:
    async with tcp_upstream(upgrade_server) as up, gateway(basic_config(up)) as gw:
        out = await raw_exchange(port_of(gw), UPGRADE_REQUEST)
        assert out.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        assert stat(gw, P + "downstream_rq_ws_on_non_ws_route") == 1
        assert stat(gw, P + "downstream_rq_4xx") == 1


async def test_route_upgrade_configs_override_the_connection_managers() -> None:
    routes = """              - match: {prefix: "/no-ws"}
                route: {cluster: upstream, upgrade_configs: [{upgrade_type: websocket, enabled: false}]}
              - match: {prefix: "/ws-only-here"}
                route: {cluster: upstream, upgrade_configs: [{upgrade_type: WebSocket}]}"""
    async with tcp_upstream(upgrade_server) as up:
        async with gateway(basic_config(up, routes=routes, extra_hcm=WEBSOCKET)) as gw:
            denied = await raw_exchange(port_of(gw), UPGRADE_REQUEST.replace(b"/chat", b"/no-ws"))
            assert denied.startswith(b"HTTP/1.1 403 Forbidden\r\n")
        async with gateway(basic_config(up, routes=routes)) as gw:
            reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
            writer.write(UPGRADE_REQUEST.replace(b"/chat", b"/ws-only-here"))
            status, _ = await read_head(reader)
            assert status == b"HTTP/1.1 101 Switching Protocols"
            writer.write(b"abc")
            assert await asyncio.wait_for(reader.readexactly(8), 10) == b"helloABC"
            writer.close()
            await writer.wait_closed()
            assert (await raw_exchange(port_of(gw), UPGRADE_REQUEST)).startswith(b"HTTP/1.1 403 ")


async def test_upstream_declining_the_upgrade_is_a_normal_response() -> None:
    async def decline(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b"HTTP/1.1 426 Upgrade Required\r\ncontent-length: 4\r\n\r\nnope")
        await writer.drain()
        await reader.read()

    async with tcp_upstream(decline) as up, gateway(basic_config(up, extra_hcm=WEBSOCKET)) as gw:
        out = await raw_exchange(port_of(gw), UPGRADE_REQUEST)
        assert out.startswith(b"HTTP/1.1 426 Upgrade Required\r\n") and out.endswith(b"\r\n\r\nnope")
        assert stat(gw, P + "downstream_cx_upgrades_total") == 0
