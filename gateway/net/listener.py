"""Listening sockets and the set of live downstream connections behind each.

Sockets are bound once by the server (with SO_REUSEPORT so several worker processes can share a port); each
worker's loop serves them. Draining stops accepting and lets the handlers finish what they have.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

from gateway.net.connection import DownstreamConnection, HandlerFactory


def bind_socket(
    host: str, port: int, backlog: int = 1024, reuse_port: bool = False, ipv4_compat: bool = False
) -> socket.socket:
    """Bind a listening TCP socket; port 0 picks a free port (read it back from ``getsockname``). An IPv6 socket
    takes IPv4 connections too only with ``ipv4_compat``, as Envoy's listeners."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if ipv4_compat else 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass(eq=False)
class Listener:
    """One listening socket serving connections with one handler factory."""

    name: str
    sock: socket.socket
    factory: HandlerFactory
    buffer_limit: int
    connections: set[DownstreamConnection] = field(default_factory=set)
    _server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: DownstreamConnection(self.factory, self.buffer_limit, self.connections), sock=self.sock
        )

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()

    async def close(self) -> None:
        """Stop accepting and close every connection at once."""
        self.stop_accepting()
        for conn in list(self.connections):
            conn.close(abort=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
