"""One upstream HTTP/1.1 connection: an asyncio Protocol driving a sans-IO ClientCodec, and the stream handle
(``UpstreamRequest``) the router writes the request to.

State machine of a connection (``state``)::

    CONNECTING --connected--> IDLE <--attach / stream done, reusable--> BUSY
        |                      |                                         |
        |                      +-- idle timeout, server close, drain ----+-- stream reset, not reusable,
        |                                                                |   max requests reached, server close
        +-- refused / timed out -------------------------------------> CLOSED

Only the pool moves a connection between IDLE and BUSY (``Http1Pool.attach``/``release``); this module moves
it to CLOSED. Every close, local or remote, ends in ``connection_lost`` (or, for a failed connect, in the pool's
connect task), which is where the pool and the stats learn of it: exactly once per connection.

A stream handle is detached (``_conn = None``) the moment its exchange ends, so a router that still holds it
cannot touch the next request on the same connection: its calls become no-ops.
"""

from __future__ import annotations

import asyncio
import socket
from enum import Enum
from typing import TYPE_CHECKING, cast

from gateway.codec.http1.client import Http1ClientCodec
from gateway.core.errors import ResetReason
from gateway.core.events import (
    ConnectionTerminated,
    DataReceived,
    HeadersReceived,
    InformationalReceived,
    ProtocolErrorReceived,
    StreamEvent,
    StreamReset,
    TrailersReceived,
)
from gateway.core.headers import HeaderMap
from gateway.core.write_batch import BATCH
from gateway.upstream.api import UpstreamCallbacks, UpstreamStream

if TYPE_CHECKING:
    from gateway.upstream.pool import Http1Pool


class State(Enum):
    CONNECTING = 0
    IDLE = 1
    BUSY = 2
    CLOSED = 3


class UpstreamRequest(UpstreamStream):
    """One request/response exchange on a connection."""

    __slots__ = (
        "_conn",
        "callbacks",
        "stream_id",
        "request_complete",
        "status",
        "_read_disabled",
    )

    def __init__(self, conn: UpstreamConnection, callbacks: UpstreamCallbacks, stream_id: int) -> None:
        self._conn: UpstreamConnection | None = conn
        self.callbacks = callbacks
        self.stream_id = stream_id
        # Plain attributes, not properties: read per request. Cleared when the exchange ends.
        self.host_address = conn.address
        self.local_address = conn.local_address
        self.request_complete = False
        self.status = 0
        self._read_disabled = 0

    def send_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        conn = self._conn
        if conn is not None:
            conn.codec.send_headers(self.stream_id, headers, end_stream)
            self.request_complete = end_stream
            conn.flush()

    def send_data(self, data: bytes | bytearray, end_stream: bool) -> None:
        conn = self._conn
        if conn is not None:
            conn.codec.send_data(self.stream_id, data, end_stream)  # the codec copies what it must keep
            self.request_complete = end_stream
            conn.flush()

    def send_trailers(self, trailers: HeaderMap) -> None:
        conn = self._conn
        if conn is not None:
            conn.codec.send_trailers(self.stream_id, trailers)
            self.request_complete = True
            conn.flush()

    @property
    def hostname(self) -> str:
        conn = self._conn
        return conn.pool.host.hostname if conn is not None else ""

    def reset(self) -> None:
        conn = self._conn
        if conn is not None:
            conn.abandon(self)

    def read_disable(self, disabled: bool) -> None:
        # Counted, as Envoy's readDisable: nested disables need as many enables.
        conn = self._conn
        if conn is None:
            return
        if disabled:
            self._read_disabled += 1
            if self._read_disabled == 1:
                conn.pause_reading()
        elif self._read_disabled > 0:
            self._read_disabled -= 1
            if self._read_disabled == 0:
                conn.resume_reading()

    def record_timeout(self) -> None:
        conn = self._conn
        if conn is not None:
            conn.pool.host.stats.rq_timeout += 1

    def detach(self) -> bool:
        """Called when the exchange ends; True when reading was left paused by this stream."""
        self._conn = None
        self.host_address = self.local_address = ""
        return self._read_disabled > 0


class UpstreamConnection(asyncio.Protocol):
    __slots__ = (
        "pool",
        "codec",
        "state",
        "address",
        "local_address",
        "transport",
        "stream",
        "remaining_requests",
        "draining",
        "closing",
        "peer_closed",
        "closed_locally",
        "closed_with_stream",
        "write_paused",
        "idle_since",
        "idle_timer",
        "connect_task",
        "created_at",
        "lost",
    )

    def __init__(self, pool: Http1Pool, codec: Http1ClientCodec, address: str, remaining_requests: int) -> None:
        self.pool = pool
        self.codec = codec
        self.state = State.CONNECTING
        self.address = address  # where this connection goes (a LOGICAL_DNS host may move on later)
        self.local_address = ""
        self.transport: asyncio.Transport | None = None
        self.stream: UpstreamRequest | None = None
        self.remaining_requests = remaining_requests  # -1: unlimited
        self.draining = False  # close once the current stream ends
        self.closing = False
        self.peer_closed = False  # the server sent EOF: whatever follows, it closed first
        self.closed_locally = False
        self.closed_with_stream = False
        self.write_paused = False
        self.idle_since = 0.0
        self.idle_timer: asyncio.TimerHandle | None = None
        self.connect_task: asyncio.Task[None] | None = None
        self.created_at = pool.ctx.loop.time()
        self.lost: asyncio.Future[None] | None = None  # resolved when closed, for a pool that waits on it

    # -- asyncio.Protocol -------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        transport = self.transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Requests are small writes that must leave now, not wait for the previous segment's ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        local = transport.get_extra_info("sockname")
        if local:
            self.local_address = f"[{local[0]}]:{local[1]}" if ":" in local[0] else f"{local[0]}:{local[1]}"
        limit = self.pool.ctx.buffer_limit
        if limit > 0:
            transport.set_write_buffer_limits(high=limit, low=limit // 2)

    def data_received(self, data: bytes) -> None:
        self.pool.ctx.stats.upstream_cx_rx_bytes_total.add(len(data))
        if self.stream is None:
            # An HTTP/1.1 server never speaks first: bytes on an idle connection mean it cannot be trusted.
            self.close(abort=True)
            return
        # The response writes this read causes downstream are held to its end (core/write_batch.py).
        BATCH.open()
        try:
            self._dispatch(self.codec.receive_data(data))
        finally:
            BATCH.close()

    def eof_received(self) -> bool:
        self.peer_closed = True
        if self.stream is not None:
            # Ends a close-delimited body, or reports the response cut short.
            self._dispatch(self.codec.receive_eof())
        else:
            self.close()  # out of the idle list now, not when the transport gets round to connection_lost
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state is State.CONNECTING:
            # The connect task saw the handshake fail or time out; it reports that.
            self.transport = None
            return
        stream = self.stream
        if stream is not None:
            self.closed_with_stream = True
            self.end_stream(stream, success=False)
            reason = ResetReason.LOCAL_RESET if self.closed_locally else ResetReason.CONNECTION_TERMINATION
            stream.callbacks.on_upstream_reset(reason, "")
        self._closed()

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.stream is not None:
            self.stream.callbacks.on_upstream_above_write_buffer_high_watermark()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.stream is not None:
            self.stream.callbacks.on_upstream_below_write_buffer_low_watermark()

    # -- used by the stream and the pool ----------------------------------------------------------------------

    def flush(self) -> None:
        data = self.codec.data_to_send()
        if data and self.transport is not None:
            self.pool.ctx.stats.upstream_cx_tx_bytes_total.add(len(data))
            self.transport.write(data)

    def pause_reading(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None:
            self.transport.resume_reading()

    def attach(self, callbacks: UpstreamCallbacks) -> UpstreamRequest:
        self.state = State.BUSY
        stream = self.stream = UpstreamRequest(self, callbacks, self.codec.next_stream_id())
        if self.remaining_requests > 0:
            self.remaining_requests -= 1
            if self.remaining_requests == 0:
                self.draining = True
                self.pool.ctx.stats.upstream_cx_max_requests.inc()
        return stream

    def end_stream(self, stream: UpstreamRequest, success: bool) -> None:
        """Detach ``stream`` and settle its accounting; the connection's fate is up to the caller."""
        self.stream = None
        if stream.detach():
            self.resume_reading()
        self.pool.stream_done(success)

    def close(self, abort: bool = False) -> None:
        """Close locally; the pool hears of it in ``connection_lost``."""
        if self.state is State.CLOSED or self.closing:
            return
        self.closing = True
        self.closed_locally = not self.peer_closed
        self.pool.forget_idle(self)
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def arm_idle_timer(self, timeout: float) -> None:
        """Lazy idle timer: armed once, it re-arms itself instead of being cancelled on every reuse."""
        if self.idle_timer is None:
            self.idle_timer = self.pool.ctx.loop.call_later(timeout, self._idle_check, timeout)

    def _idle_check(self, timeout: float) -> None:
        self.idle_timer = None
        if self.state is State.CLOSED or self.closing:
            return
        loop = self.pool.ctx.loop
        if self.state is State.IDLE:
            idle_for = loop.time() - self.idle_since
            if idle_for >= timeout:
                self.pool.ctx.stats.upstream_cx_idle_timeout.inc()
                self.close()
                return
            self.idle_timer = loop.call_later(timeout - idle_for, self._idle_check, timeout)
        else:
            self.idle_timer = loop.call_later(timeout, self._idle_check, timeout)

    def _closed(self) -> None:
        self.transport = None
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.pool.connection_closed(self)  # while still IDLE, so that it leaves the idle list
        self.state = State.CLOSED
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)

    # -- response events --------------------------------------------------------------------------------------

    def _dispatch(self, events: list[StreamEvent]) -> None:
        stream = self.stream
        for event in events:
            if self.stream is not stream or stream is None:
                break  # the exchange ended (or was reset by a callback): what follows is not its
            callbacks = stream.callbacks
            # Exact types (events are final classes), most frequent first: a response is mostly body chunks.
            if type(event) is DataReceived:
                if event.end_stream:
                    self._complete(stream)
                callbacks.on_upstream_data(event.data, event.end_stream)
            elif type(event) is HeadersReceived:
                stream.status = event.headers.status or 0
                if event.end_stream:
                    self._complete(stream)
                callbacks.on_upstream_headers(event.headers, event.end_stream)
            elif isinstance(event, InformationalReceived):
                callbacks.on_upstream_1xx_headers(event.headers)
            elif isinstance(event, TrailersReceived):
                self._complete(stream)
                callbacks.on_upstream_trailers(event.trailers)
            elif isinstance(event, StreamReset):
                self._fail(stream, event.reason, "")
            elif isinstance(event, ProtocolErrorReceived):
                self.pool.ctx.stats.upstream_cx_protocol_error.inc()
                self._fail(stream, ResetReason.PROTOCOL_ERROR, str(event.error))
            elif isinstance(event, ConnectionTerminated):
                self._fail(stream, ResetReason.CONNECTION_TERMINATION, "")

    def _complete(self, stream: UpstreamRequest) -> None:
        """The response ended: give the connection back before the router hears of it, so a request the
        router starts from that callback can reuse it."""
        self.end_stream(stream, success=stream.status < 500)
        if self.draining or not stream.request_complete or not self.codec.reusable:
            # A request still being sent, Connection: close, or the last request allowed: not reusable.
            self.close()
        else:
            self.pool.release(self)

    def abandon(self, stream: UpstreamRequest) -> None:
        """End ``stream`` unfinished. HTTP/1.1 cannot drop one exchange and keep the connection: both go,
        without flushing what is still queued."""
        self.closed_with_stream = True
        self.end_stream(stream, success=False)
        self.close(abort=True)

    def _fail(self, stream: UpstreamRequest, reason: ResetReason, detail: str) -> None:
        self.abandon(stream)
        stream.callbacks.on_upstream_reset(reason, detail)
