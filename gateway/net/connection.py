"""A downstream TCP connection: the asyncio Protocol that owns the socket and hands bytes to one handler.

The handler is the connection's terminal network filter (the HTTP connection manager today). The Protocol adds
what every handler needs: write watermarks (``per_connection_buffer_limit_bytes``) turned into pause/resume
callbacks, read pausing for backpressure, and a close that is safe to call twice.

States: open -> closed by us (``close``; possibly lingering, see there) or by the peer -> gone
(``connection_lost``). Once closed, writes are dropped silently and input is discarded: the stream that produced
or awaited them has already been told the connection is going.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable
from typing import Final, Protocol, cast

from gateway.core.stream_info import ConnectionInfo

_connection_ids: Final = itertools.count(1)


class ConnectionHandler(Protocol):
    """The network filter at the end of a connection's chain."""

    def on_data(self, data: bytes) -> None: ...

    def on_eof(self) -> None:
        """The peer half-closed its side."""
        ...

    def on_close(self) -> None:
        """The connection is gone (either side closed it, or it failed); release everything."""
        ...

    def on_above_write_high_watermark(self) -> None: ...

    def on_below_write_low_watermark(self) -> None: ...

    def start_drain(self) -> None:
        """The server is shutting down: finish the exchange in progress, then close."""
        ...


HandlerFactory = Callable[["DownstreamConnection"], ConnectionHandler]


class DownstreamConnection(asyncio.Protocol):
    __slots__ = (
        "_factory",
        "_handler",
        "_transport",
        "_buffer_limit",
        "info",
        "closed",
        "_read_paused",
        "_on_gone",
        "_linger_timer",
    )

    def __init__(self, factory: HandlerFactory, buffer_limit: int, on_gone: ConnectionTracker) -> None:
        self._factory = factory
        self._buffer_limit = buffer_limit
        self._on_gone = on_gone
        self._transport: asyncio.Transport | None = None
        self._handler: ConnectionHandler | None = None
        self._read_paused = False
        self._linger_timer: asyncio.TimerHandle | None = None
        self.closed = False
        self.info = ConnectionInfo(0, ("", 0), ("", 0))

    # -- asyncio.Protocol --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport implements asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername") or ("", 0)
        local = transport.get_extra_info("sockname") or ("", 0)
        self.info = ConnectionInfo(next(_connection_ids), (peer[0], peer[1]), (local[0], local[1]))
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.info.tls = True
            self.info.requested_server_name = ssl_object.server_hostname or ""
            self.info.tls_version = ssl_object.version() or ""
            self.info.alpn = ssl_object.selected_alpn_protocol() or ""
        # Envoy's buffer limit is a soft watermark: above it we stop feeding the connection, below half we resume.
        self._transport.set_write_buffer_limits(high=self._buffer_limit, low=self._buffer_limit // 2)
        self._on_gone.add(self)
        self._handler = self._factory(self)

    def data_received(self, data: bytes) -> None:
        if self._handler is not None and not self.closed:
            self._handler.on_data(data)

    def eof_received(self) -> bool:
        if self.closed:
            return False  # lingering after our close: the peer is done too, so close now
        if self._handler is not None:
            self._handler.on_eof()
        # Keep the transport open only if the handler still has something to write; it closes when done.
        return not self.closed

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        self._on_gone.discard(self)
        handler, self._handler = self._handler, None
        if handler is not None:
            handler.on_close()

    def pause_writing(self) -> None:
        if self._handler is not None:
            self._handler.on_above_write_high_watermark()

    def resume_writing(self) -> None:
        if self._handler is not None:
            self._handler.on_below_write_low_watermark()

    @property
    def handler(self) -> ConnectionHandler | None:
        return self._handler

    # -- what the handler may do --
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed and self._transport is not None:
            self._transport.write(data)

    def read_disable(self, disabled: bool) -> None:
        if self.closed or self._transport is None or disabled == self._read_paused:
            return
        self._read_paused = disabled
        if disabled:
            self._transport.pause_reading()
        else:
            self._transport.resume_reading()

    def close(self, abort: bool = False, linger: float = 0.0) -> None:
        """Close after flushing what was written (or at once with ``abort``).

        With ``linger`` (Envoy's delayed_close_timeout), only our side is shut once the writes are out; input is
        read and dropped until the peer closes too or ``linger`` seconds pass. Closing at once with unread input
        makes the kernel answer with a reset, which can destroy the response the peer has not read yet (a 413
        to an upload still arriving, say).
        """
        transport = self._transport
        if self.closed or transport is None:
            return
        self.closed = True
        if abort:
            transport.abort()
        elif linger > 0 and transport.can_write_eof():
            transport.write_eof()
            if self._read_paused:
                self._read_paused = False
                transport.resume_reading()
            self._linger_timer = asyncio.get_running_loop().call_later(linger, transport.close)
        else:
            transport.close()


class ConnectionTracker(Protocol):
    def add(self, connection: DownstreamConnection) -> None: ...

    def discard(self, connection: DownstreamConnection) -> None: ...
