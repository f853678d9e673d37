"""A real HTTP/1.1 upstream on 127.0.0.1 for the router tests, built on h11 (not on our codec).

The path picks the behaviour:
- ``/slow/<ms>``: the response after ``<ms>`` milliseconds;
- ``/stream``: 200, then three chunks 30 ms apart;
- ``/close``: the connection closes without a response;
- ``/cut``: headers promising 100 bytes, 5 of them, then the connection closes;
- ``/upgrade``: ``101 Switching Protocols``, then the connection echoes every byte it gets, uppercased;
- anything else: 200 echoing the request: ``<METHOD> <target>``, one ``name: value`` line per header, then
  ``body=<bytes received>``.
"""

from __future__ import annotations

import asyncio
from typing import cast

import h11


class EchoServer:
    def __init__(self) -> None:
        self.port = 0
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._transports: set[asyncio.Transport] = set()

    async def start(self) -> EchoServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        for transport in list(self._transports):
            transport.abort()
        await self._server.wait_closed()


class _Connection(asyncio.Protocol):
    def __init__(self, server: EchoServer) -> None:
        self.server = server
        self.h11 = h11.Connection(h11.SERVER)
        self.transport: asyncio.Transport
        self.request: h11.Request | None = None
        self.body = bytearray()
        self.tunnel = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self.server._transports.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._transports.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.tunnel:
            self.transport.write(data.upper())
            return
        self.h11.receive_data(data)
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.request = event
                self.body = bytearray()
            elif isinstance(event, h11.Data):
                self.body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self.server.requests += 1
                task = asyncio.get_running_loop().create_task(self._respond())
                self.server._tasks.add(task)
                task.add_done_callback(self.server._tasks.discard)
            elif isinstance(event, h11.ConnectionClosed):
                return

    def _send(self, event: h11.Event) -> None:
        data = self.h11.send(event)
        if data:
            self.transport.write(data)

    async def _respond(self) -> None:
        request = self.request
        assert request is not None
        target = request.target.decode()
        if target.startswith("/slow/"):
            await asyncio.sleep(int(target.split("/")[2]) / 1000)
        if target == "/upgrade":
            self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: test\r\n\r\n")
            self.tunnel = True
            return
        if target == "/close":
            self.transport.close()
            return
        if target == "/cut":
            self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello")
            await asyncio.sleep(0.02)
            self.transport.close()
            return
        if target == "/stream":
            self._send(h11.Response(status_code=200, headers=[("transfer-encoding", "chunked")]))
            for i in range(3):
                self._send(h11.Data(data=f"chunk{i};".encode()))
                await asyncio.sleep(0.03)
            self._send(h11.EndOfMessage())
        else:
            lines = [f"{request.method.decode()} {target}"]
            lines += [f"{k.decode()}: {v.decode()}" for k, v in request.headers]
            lines.append(f"body={len(self.body)}")
            payload = "\n".join(lines).encode()
            self._send(h11.Response(status_code=200, headers=[("content-length", str(len(payload)))]))
            self._send(h11.Data(data=payload))
            self._send(h11.EndOfMessage())
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
