"""The HTTP/1.1 connection pool of one host: idle connections (LIFO), connections being opened, and requests
waiting for one (pending), under the cluster's circuit breakers.

``new_stream`` takes the most recently used idle connection (its socket is the likeliest to be warm and alive)
and calls ``on_pool_ready`` before returning. Without one, the request waits as pending (within
``max_pending_requests``) and a connection is opened for it if ``max_connections`` allows — or if the pool has
no connection at all, as Envoy guarantees every selected host one (``upstream_cx_overflow`` counts the refusals).
A connection that opens, or finishes an exchange and can be reused, goes to the oldest pending request first.
``max_requests`` is checked as a request is attached to a connection, as Envoy does; both request overflows
count ``upstream_rq_pending_overflow``. A failed connect fails every pending request of the pool (Envoy's purge:
the host is likely down and the router may retry elsewhere).

A pool whose host left the cluster drains: it keeps serving the requests it already accepted, then lets every
connection close as it becomes idle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gateway.codec.http1.client import Http1ClientCodec
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.upstream.api import Cancellable, UpstreamCallbacks
from gateway.upstream.breakers import CircuitBreakers
from gateway.upstream.connection import State, UpstreamConnection
from gateway.upstream.host import Host
from gateway.upstream.stats import ClusterStats


@dataclass(frozen=True, slots=True)
class PoolContext:
    """What every pool of a cluster shares, fixed at config time."""

    loop: asyncio.AbstractEventLoop
    stats: ClusterStats
    breakers: CircuitBreakers
    codec_factory: Callable[[], Http1ClientCodec]
    connect_timeout: float
    idle_timeout: float  # 0: never
    max_requests_per_connection: int  # 0: unlimited
    buffer_limit: int  # per_connection_buffer_limit_bytes: the write high-water mark; 0: asyncio's default


class PendingRequest:
    """A request waiting for a connection; the handle ``new_stream`` returns to cancel it."""

    __slots__ = ("pool", "callbacks")

    def __init__(self, pool: Http1Pool, callbacks: UpstreamCallbacks) -> None:
        self.pool = pool
        self.callbacks = callbacks

    def cancel(self) -> None:
        self.pool.cancel_pending(self)


class Http1Pool:
    __slots__ = ("host", "ctx", "idle", "pending", "connections", "connecting", "draining")

    def __init__(self, host: Host, ctx: PoolContext) -> None:
        self.host = host
        self.ctx = ctx
        self.idle: list[UpstreamConnection] = []
        self.pending: deque[PendingRequest] = deque()
        self.connections: set[UpstreamConnection] = set()  # every connection not yet closed
        self.connecting = 0
        self.draining = False

    # -- the request path -------------------------------------------------------------------------------------

    def new_stream(self, callbacks: UpstreamCallbacks) -> Cancellable | None:
        idle = self.idle
        if idle:
            requests = self.ctx.breakers.requests
            if requests.count < requests.limit:  # can_create(), inlined on the per-request path
                self._attach(idle.pop(), callbacks)
            else:
                self._overflow(callbacks)
            return None
        ctx = self.ctx
        pending_breaker = ctx.breakers.pending_requests
        if not pending_breaker.can_create():
            ctx.stats.upstream_rq_pending_overflow.inc()
            callbacks.on_pool_failure(ResetReason.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW, "", self.host.address)
            return None
        request = PendingRequest(self, callbacks)
        self.pending.append(request)
        pending_breaker.inc()
        ctx.stats.upstream_rq_pending_total.inc()
        ctx.stats.upstream_rq_pending_active.inc()
        self._connect_for_pending()
        return request

    def _overflow(self, callbacks: UpstreamCallbacks) -> None:
        """The max_requests breaker is open."""
        self.ctx.stats.upstream_rq_pending_overflow.inc()
        callbacks.on_pool_failure(ResetReason.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW, "", self.host.address)

    def _attach(self, conn: UpstreamConnection, callbacks: UpstreamCallbacks) -> None:
        ctx = self.ctx
        stats = ctx.stats
        stats.upstream_rq_total.inc()
        stats.upstream_rq_active.inc()
        ctx.breakers.requests.inc()
        host_stats = self.host.stats
        host_stats.rq_total += 1
        host_stats.rq_active += 1
        stream = conn.attach(callbacks)
        # Still above the high-water mark from the previous exchange: tell the new one once it has its stream.
        paused_before = conn.write_paused
        callbacks.on_pool_ready(stream)
        if paused_before and conn.write_paused and conn.stream is stream:
            callbacks.on_upstream_above_write_buffer_high_watermark()

    def stream_done(self, success: bool) -> None:
        ctx = self.ctx
        ctx.stats.upstream_rq_active.dec()
        ctx.breakers.requests.dec()
        host_stats = self.host.stats
        host_stats.rq_active -= 1
        if success:
            host_stats.rq_success += 1
        else:
            host_stats.rq_error += 1

    def release(self, conn: UpstreamConnection) -> None:
        """``conn`` finished an exchange and may carry another."""
        conn.state = State.IDLE
        if self.pending:
            self._serve_pending(conn)
        elif self.draining:
            conn.close()
        else:
            ctx = self.ctx
            conn.idle_since = ctx.loop.time()
            self.idle.append(conn)
            if ctx.idle_timeout > 0 and conn.idle_timer is None:
                conn.arm_idle_timer(ctx.idle_timeout)

    def _serve_pending(self, conn: UpstreamConnection) -> None:
        """Give ``conn`` to the oldest pending request that the max_requests breaker lets through."""
        while self.pending:
            request = self._pop_pending()
            if self.ctx.breakers.requests.can_create():
                self._attach(conn, request.callbacks)
                return
            self._overflow(request.callbacks)
        self.release(conn)

    def _pop_pending(self) -> PendingRequest:
        request = self.pending.popleft()
        self.ctx.breakers.pending_requests.dec()
        self.ctx.stats.upstream_rq_pending_active.dec()
        return request

    def cancel_pending(self, request: PendingRequest) -> None:
        try:
            self.pending.remove(request)
        except ValueError:
            return  # already served or failed
        self.ctx.breakers.pending_requests.dec()
        self.ctx.stats.upstream_rq_pending_active.dec()
        self.ctx.stats.upstream_rq_cancelled.inc()

    def forget_idle(self, conn: UpstreamConnection) -> None:
        if conn.state is State.IDLE:
            with contextlib.suppress(ValueError):  # not listed when it went idle only to close
                self.idle.remove(conn)

    # -- opening and closing connections ----------------------------------------------------------------------

    def _connect_for_pending(self) -> None:
        """Open connections until every pending request has one on its way, as far as max_connections lets."""
        breaker = self.ctx.breakers.connections
        while self.connecting < len(self.pending):
            if not breaker.can_create() and self.connections:
                self.ctx.stats.upstream_cx_overflow.inc()
                return
            self._open()

    def _open(self) -> None:
        ctx = self.ctx
        host = self.host
        remaining = ctx.max_requests_per_connection or -1
        conn = UpstreamConnection(self, ctx.codec_factory(), host.address, remaining)
        self.connections.add(conn)
        self.connecting += 1
        ctx.breakers.connections.inc()
        stats = ctx.stats
        stats.upstream_cx_total.inc()
        stats.upstream_cx_http1_total.inc()
        stats.upstream_cx_active.inc()
        host.stats.cx_total += 1
        host.stats.cx_active += 1
        conn.connect_task = ctx.loop.create_task(self._connect(conn, host.ip, host.port))

    async def _connect(self, conn: UpstreamConnection, ip: str, port: int) -> None:
        loop = self.ctx.loop
        failure: ResetReason | None = None
        try:
            async with asyncio.timeout(self.ctx.connect_timeout):
                await loop.create_connection(lambda: conn, ip, port)
        except TimeoutError:
            failure = ResetReason.CONNECTION_TIMEOUT
        except OSError:
            failure = ResetReason.CONNECTION_FAILURE
        except asyncio.CancelledError:  # the pool is closing
            self._connect_ended(conn)
            conn.closed_locally = True
            self._abandon(conn)
            raise
        self._connect_ended(conn)
        if failure is None and (conn.transport is None or conn.transport.is_closing()):
            failure = ResetReason.CONNECTION_FAILURE  # the peer hung up right after the handshake
        if failure is not None:
            self._connect_failed(conn, failure)
            return
        self.ctx.stats.upstream_cx_connect_ms.record((loop.time() - conn.created_at) * 1000)
        self.release(conn)

    def _connect_ended(self, conn: UpstreamConnection) -> None:
        conn.connect_task = None
        self.connecting -= 1

    def _abandon(self, conn: UpstreamConnection) -> None:
        if conn.transport is not None:
            # The handshake finished just as we gave up on it: that transport is ours to close.
            conn.transport.abort()
        conn.state = State.CLOSED
        self.connection_closed(conn)

    def _connect_failed(self, conn: UpstreamConnection, reason: ResetReason) -> None:
        stats = self.ctx.stats
        stats.upstream_cx_connect_fail.inc()
        self.host.stats.cx_connect_fail += 1
        if reason is ResetReason.CONNECTION_TIMEOUT:
            stats.upstream_cx_connect_timeout.inc()
            conn.closed_locally = True
        # Fail what is pending now (before the closed connection's slot would open another connection for it),
        # not what a retry adds from inside these callbacks.
        purged = [self._pop_pending() for _ in range(len(self.pending))]
        self._abandon(conn)
        address = self.host.address
        for request in purged:
            stats.upstream_rq_pending_failure_eject.inc()
            request.callbacks.on_pool_failure(reason, ResponseFlag.UPSTREAM_CONNECTION_FAILURE, "", address)

    def connection_closed(self, conn: UpstreamConnection) -> None:
        """Accounting for a connection that is gone, whoever closed it (called exactly once per connection)."""
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        self.forget_idle(conn)
        ctx = self.ctx
        stats = ctx.stats
        ctx.breakers.connections.dec()
        stats.upstream_cx_active.dec()
        self.host.stats.cx_active -= 1
        stats.upstream_cx_destroy.inc()
        stats.upstream_cx_length_ms.record((ctx.loop.time() - conn.created_at) * 1000)
        if conn.closed_locally:
            stats.upstream_cx_destroy_local.inc()
        else:
            stats.upstream_cx_destroy_remote.inc()
        if conn.closed_with_stream:
            stats.upstream_cx_destroy_with_active_rq.inc()
            if conn.closed_locally:
                stats.upstream_cx_destroy_local_with_active_rq.inc()
            else:
                stats.upstream_cx_destroy_remote_with_active_rq.inc()
        # A freed slot may let a waiting request have a connection.
        if self.pending:
            self._connect_for_pending()

    def drain(self) -> None:
        """The host left the cluster: close idle connections now, the others when their exchange ends."""
        self.draining = True
        for conn in list(self.idle):
            conn.close()

    async def close(self) -> None:
        """Shut down: fail pending requests, reset active ones, close everything and wait until it is closed."""
        self.draining = True
        while self.pending:
            request = self._pop_pending()
            request.callbacks.on_pool_failure(ResetReason.LOCAL_RESET, ResponseFlag.LOCAL_RESET, "", self.host.address)
        waits: list[asyncio.Future[None]] = []
        for conn in list(self.connections):
            if conn.connect_task is not None:
                conn.connect_task.cancel()
                waits.append(conn.connect_task)
            elif conn.transport is not None:
                conn.lost = self.ctx.loop.create_future()
                waits.append(conn.lost)
                conn.close(abort=True)
        if waits:
            await asyncio.gather(*waits, return_exceptions=True)
