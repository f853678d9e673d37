"""Real HTTP/1.1 upstream servers for the upstream tests, on 127.0.0.1, built on h11 (not on our codec, so a
codec bug cannot hide behind a matching server bug).

What a request gets is chosen by its path:
- ``/hold``: no response until ``release_held()``; lets tests keep requests active.
- ``/cut``: headers promising 10 bytes, then 3 bytes, then the connection closes.
- ``/close``: a response with ``connection: close``, then the connection closes.
- ``/drop``: a normal response, then the server closes the (keep-alive) connection while idle.
- ``/reset``: the connection closes without a response (RST).
- ``/garbage``: bytes that are not HTTP.
- ``/extra``: a normal response followed by bytes nobody asked for.
- ``/slowread``: stops reading the connection until ``resume_reading()``, then answers once the body is in.
- anything else: 200 with body ``<name> conn=<connection number> req=<request number on it>``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import cast

import h11


class UpstreamServer:
    def __init__(self, name: str = "up", host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.connections = 0  # accepted so far
        self.requests = 0
        self.bytes_received = 0
        self.bytes_sent = 0
        self.open: set[_ServerConnection] = set()
        self.paused: list[_ServerConnection] = []
        self.held: list[_ServerConnection] = []
        self.held_changed = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> UpstreamServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _ServerConnection(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def wait_held(self, count: int) -> None:
        while len(self.held) < count:
            self.held_changed.clear()
            await self.held_changed.wait()

    def release_held(self, count: int | None = None) -> None:
        """Answer the held requests, oldest first (``count`` of them, or all)."""
        count = len(self.held) if count is None else count
        release, self.held = self.held[:count], self.held[count:]
        for conn in release:
            conn.respond()

    def resume_reading(self) -> None:
        paused, self.paused = self.paused, []
        for conn in paused:
            conn.transport.resume_reading()

    async def wait_closed_connections(self) -> None:
        """Until every accepted connection has been closed (by either side)."""
        while self.open:
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for conn in list(self.open):
            conn.transport.abort()
        await self._server.wait_closed()


class _ServerConnection(asyncio.Protocol):
    def __init__(self, server: UpstreamServer) -> None:
        self.server = server
        self.h11 = h11.Connection(h11.SERVER)
        self.number = 0
        self.requests = 0
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.server.connections += 1
        self.number = self.server.connections
        self.server.open.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.open.discard(self)
        if self in self.server.held:
            self.server.held.remove(self)

    def data_received(self, data: bytes) -> None:
        self.server.bytes_received += len(data)
        self.h11.receive_data(data)
        self._drain_events()

    def write(self, data: bytes) -> None:
        self.server.bytes_sent += len(data)
        self.transport.write(data)

    def eof_received(self) -> bool:
        self.h11.receive_data(b"")
        return False

    def _drain_events(self) -> None:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError:
                self.transport.close()
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.target = event.target.decode()
                self.requests += 1
                self.server.requests += 1
                if self.target == "/slowread":
                    self.transport.pause_reading()
                    self.server.paused.append(self)
                    self.server.held_changed.set()
            elif isinstance(event, h11.EndOfMessage):
                self._handle()
                return
            elif isinstance(event, h11.ConnectionClosed):
                return

    def _handle(self) -> None:
        path = self.target
        if path == "/hold":
            self.server.held.append(self)
            self.server.held_changed.set()
        elif path == "/cut":
            self.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
            self.transport.close()
        elif path == "/garbage":
            self.write(b"SMTP READY\r\n\r\n")
        elif path == "/reset":
            sock = self.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
            self.transport.abort()
        elif path == "/close":
            self.respond(close=True)
        else:
            self.respond()
            if path == "/drop":
                self.transport.close()
            elif path == "/extra":
                self.write(b"surprise")

    def respond(self, close: bool = False) -> None:
        body = f"{self.server.name} conn={self.number} req={self.requests}".encode()
        headers = [("content-length", str(len(body)))]
        if close:
            headers.append(("connection", "close"))
        out = self.h11.send(h11.Response(status_code=200, headers=headers))
        out += self.h11.send(h11.Data(data=body))
        out += self.h11.send(h11.EndOfMessage())
        self.write(out)
        if close or self.h11.our_state is h11.MUST_CLOSE:
            self.transport.close()
            return
        self.h11.start_next_cycle()
        self._drain_events()


class BlackHole:
    """A listening socket that never accepts, its backlog filled: connecting to it hangs (for connect timeouts).
    Linux drops SYNs to a listener whose accept queue is full, so the client keeps retransmitting."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", self.port))  # in progress; the first may land in the queue
            self.fillers.append(filler)

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connecting is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
