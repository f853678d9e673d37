"""What the connection-manager integration tests share: HCM config snippets, stats by name, raw TCP upstreams
driven by a coroutine per connection (slow readers, upgrade servers, servers that misbehave on purpose), and a
raw client for reading what the gateway wrote before it closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

from gateway.server.run import Server

ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def hcm(*lines: str) -> str:
    """Lines of HCM config for ``basic_config(extra_hcm=...)``, indented to the HCM's level."""
    return "\n".join(f"          {line}" for line in lines)


def stat(server: Server, name: str) -> int:
    """A counter or gauge by its full name (0 when it was never created)."""
    store = server.built.stats  # type: ignore[union-attr]
    for metric in (store.counters.get(name), store.gauges.get(name)):
        if metric is not None:
            return metric.value
    return 0


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``check()`` holds: for effects that follow a close or a response (stats, log lines)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@asynccontextmanager
async def tcp_upstream(handler: ConnectionHandler) -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 running ``handler`` for each connection; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            writer.close()  # cancelled at teardown: end normally, so asyncio's server does not report it
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(run, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> tuple[bytes, dict[bytes, bytes]]:
    """A request or response head: its first line and its fields (lowercase names)."""
    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    first, *lines = raw[:-4].split(b"\r\n")
    fields = {}
    for line in lines:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    return first, fields


async def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the gateway closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        out = bytearray()
        while chunk := await asyncio.wait_for(reader.read(65536), timeout):
            out += chunk
        return bytes(out)
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()
