"""Backpressure end to end, measured on the gateway's transports (never by timing): a client that does not read
makes the gateway stop reading the upstream, and an upstream that does not read makes it stop reading the client,
so the gateway holds about ``per_connection_buffer_limit_bytes`` per side, not the whole body."""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from gateway.server.run import Server
from tests.integration.harness import basic_config, echo_upstream, gateway, port_of
from tests.integration.http_support import eventually, read_head, tcp_upstream

LIMIT = 64 * 1024
BODY = 32 * 1024 * 1024
# One socket read (uvloop reads up to 256 KiB) may land above the high-water mark before the pause takes effect.
SLACK = 512 * 1024


def limited_config(upstream_port: int) -> str:
    config = basic_config(upstream_port, clusters=f"    per_connection_buffer_limit_bytes: {LIMIT}")
    return config.replace(
        "    filter_chains:", f"    per_connection_buffer_limit_bytes: {LIMIT}\n    filter_chains:", 1
    )


def downstream_transports(gw: Server) -> list[asyncio.Transport]:
    conns = [c for listener in gw._listeners for c in listener.connections]
    return [c._transport for c in conns if c._transport is not None]


def upstream_transports(gw: Server) -> list[asyncio.Transport]:
    cluster = gw.built.cluster_manager.get("upstream")  # type: ignore[union-attr]
    assert cluster is not None
    pools = [host.pool for host in cluster.hosts()]  # type: ignore[attr-defined]
    return [c.transport for pool in pools for c in pool.connections if c.transport is not None]


def small_receive_buffer_socket() -> socket.socket:
    """A client socket whose kernel buffer is small, so the gateway's writes back up quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.setblocking(False)
    return sock


async def test_slow_reading_client_pauses_the_upstream() -> None:
    async with echo_upstream() as up, gateway(limited_config(up)) as gw:
        sock = small_receive_buffer_socket()
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port_of(gw)))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(b"GET /big HTTP/1.1\r\nhost: a\r\nx-echo-body-bytes: %d\r\n\r\n" % BODY)

        def paused_or_flooded() -> bool:
            ups = upstream_transports(gw)
            paused = bool(ups) and not any(t.is_reading() for t in ups)
            return paused or sum(t.get_write_buffer_size() for t in downstream_transports(gw)) > 8 * LIMIT + SLACK

        # Without backpressure the downstream buffer floods (the echo upstream wrote all 32 MiB at once).
        await eventually(paused_or_flooded, timeout=20)
        (down,) = downstream_transports(gw)
        assert down.get_write_buffer_size() <= LIMIT + SLACK
        assert not any(t.is_reading() for t in upstream_transports(gw))

        status, fields = await read_head(reader)
        assert status == b"HTTP/1.1 200 OK" and int(fields[b"content-length"]) == BODY
        received = 0
        while received < BODY:
            chunk = await asyncio.wait_for(reader.read(1024 * 1024), 20)
            assert chunk and chunk.count(b"x") == len(chunk)
            received += len(chunk)
            # Reading drains the gateway's buffer; it never grows past the limit while the client reads.
            assert sum(t.get_write_buffer_size() for t in downstream_transports(gw)) <= LIMIT + SLACK
        assert received == BODY
        writer.close()
        await writer.wait_closed()


async def test_slow_reading_upstream_pauses_the_client() -> None:
    release = asyncio.Event()
    got = asyncio.get_running_loop().create_future()

    async def slow_reader(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, fields = await read_head(reader)
        await release.wait()
        body = await reader.readexactly(int(fields[b"content-length"]))
        got.set_result(len(body))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        await reader.read()

    async with tcp_upstream(slow_reader) as up, gateway(limited_config(up)) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
        writer.write(b"POST /upload HTTP/1.1\r\nhost: a\r\ncontent-length: %d\r\n\r\n" % BODY)

        async def upload() -> None:
            chunk = b"u" * (1024 * 1024)
            for _ in range(BODY // len(chunk)):
                writer.write(chunk)
                await writer.drain()

        sending = asyncio.create_task(upload())

        def client_paused_or_flooded() -> bool:
            downs = downstream_transports(gw)
            paused = bool(downs) and not any(t.is_reading() for t in downs)
            return paused or sum(t.get_write_buffer_size() for t in upstream_transports(gw)) > 8 * LIMIT + SLACK

        await eventually(client_paused_or_flooded, timeout=20)
        assert not any(t.is_reading() for t in downstream_transports(gw))
        (to_upstream,) = upstream_transports(gw)
        assert to_upstream.get_write_buffer_size() <= LIMIT + SLACK
        assert not sending.done()  # the client is held back by the full socket, not finished

        release.set()
        await asyncio.wait_for(sending, 30)
        status, _ = await read_head(reader)
        assert status == b"HTTP/1.1 200 OK"
        assert await asyncio.wait_for(got, 10) == BODY
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()
