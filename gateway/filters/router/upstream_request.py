"""One attempt to send the downstream request to a cluster: the upstream half of the router.

State machine (``state``)::

    PENDING --on_pool_ready--> OPEN --response ends / on_upstream_reset--> DONE
       |                        |
       +--on_pool_failure-------+----------- reset() (timeout, early response, stream destroyed) --> DONE

PENDING: ``Cluster.new_stream`` was called and no stream is there yet (the callback may also come synchronously,
inside ``new_stream``). Request parts arriving meanwhile are kept: the headers, the body in one buffer (past the
decoder buffer limit the downstream is paused, as Envoy's router does), the trailers.
OPEN: the held parts were written in order; later parts are written through. Backpressure both ways is passed on:
the upstream's write watermarks pause/resume reading the downstream, the downstream's pause/resume reading the
upstream response (counted, so a pause that arrives while PENDING is applied once the stream exists).
DONE: every late call is ignored; a stream handed over after a cancel is reset. The stream is dropped (it refers
back to this request through its callbacks), so a finished exchange leaves no reference cycle behind.

Response events are handed to the router as they come; whether the response has started is the router's business.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from gateway.core.clock import monotonic
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.upstream.api import Cancellable, Cluster, LoadBalancerContext, UpstreamStream

if TYPE_CHECKING:
    from gateway.filters.router.filter import Router


class State(Enum):
    PENDING = 0
    OPEN = 1
    DONE = 2


class UpstreamRequest:
    """Implements ``upstream.api.UpstreamCallbacks``."""

    __slots__ = (
        "_router",
        "_info",
        "state",
        "_handle",
        "stream",
        "headers",
        "_headers_end",
        "_body",
        "_body_end",
        "_trailers",
        "_buffer_limit",
        "_buffer_paused",
        "_read_disabled",
        "awaiting_headers",
    )

    def __init__(
        self, router: Router, info: StreamInfo, headers: HeaderMap, end_stream: bool, buffer_limit: int
    ) -> None:
        self._router = router
        self._info = info
        self.state = State.PENDING
        self._handle: Cancellable | None = None
        self.stream: UpstreamStream | None = None
        self.headers = headers
        self._headers_end = end_stream
        self._body: bytearray | None = None
        self._body_end = False
        self._trailers: HeaderMap | None = None
        self._buffer_limit = buffer_limit
        self._buffer_paused = False
        self._read_disabled = 0
        self.awaiting_headers = True

    def start(self, cluster: Cluster, lb_context: LoadBalancerContext) -> None:
        handle = cluster.new_stream(self, lb_context)
        if self.state is State.PENDING:
            self._handle = handle

    # -- request parts from the router --
    def send_data(self, data: bytearray, end_stream: bool) -> None:
        if self.state is State.OPEN:
            assert self.stream is not None
            self.stream.send_data(data, end_stream)
            if end_stream:
                self._info.last_upstream_tx_byte = monotonic()
        elif self.state is State.PENDING:
            if self._body is None:
                self._body = bytearray(data)
            else:
                self._body += data
            self._body_end = end_stream
            if not self._buffer_paused and len(self._body) > self._buffer_limit:
                self._buffer_paused = True
                self._router.decoder_watermark(True)

    def send_trailers(self, trailers: HeaderMap) -> None:
        if self.state is State.OPEN:
            assert self.stream is not None
            self.stream.send_trailers(trailers)
            self._info.last_upstream_tx_byte = monotonic()
        elif self.state is State.PENDING:
            self._trailers = trailers

    def reset(self) -> None:
        """Abandon the attempt: cancel the pending connection request or reset the stream."""
        state = self.state
        self.state = State.DONE
        if state is State.PENDING:
            if self._handle is not None:
                self._handle.cancel()
                self._handle = None
        elif state is State.OPEN:
            assert self.stream is not None
            self.stream.reset()
            self.stream = None
        self._release_buffer()

    def finish(self) -> None:
        """The response ended normally; the stream goes back to its pool (the upstream side decides)."""
        self.state = State.DONE
        self.stream = None  # it points back here (its callbacks): no cycle left for the garbage collector

    def read_disable(self, disabled: bool) -> None:
        """Downstream backpressure: pause/resume reading the response (counted)."""
        self._read_disabled += 1 if disabled else -1
        if self.state is State.OPEN:
            assert self.stream is not None
            self.stream.read_disable(disabled)

    # -- UpstreamCallbacks --
    def on_pool_ready(self, stream: UpstreamStream) -> None:
        if self.state is not State.PENDING:
            stream.reset()
            return
        self.state = State.OPEN
        self._handle = None
        self.stream = stream
        router = self._router
        router.on_pool_ready(stream)
        info = self._info
        body, trailers = self._body, self._trailers
        self._body = self._trailers = None
        now = monotonic()
        info.first_upstream_tx_byte = now
        only_headers = body is None and trailers is None
        stream.send_headers(self.headers, self._headers_end and only_headers)
        if body is not None:
            stream.send_data(body, self._body_end and trailers is None)
        if trailers is not None:
            stream.send_trailers(trailers)
        if self._headers_end or self._body_end or trailers is not None:
            info.last_upstream_tx_byte = now
        if self._buffer_paused:
            self._release_buffer()
        if self._read_disabled:
            for _ in range(self._read_disabled):
                stream.read_disable(True)

    def on_pool_failure(self, reason: ResetReason, flag: ResponseFlag, detail: str, host_address: str) -> None:
        if self.state is not State.PENDING:
            return
        self.state = State.DONE
        self._handle = None
        self._release_buffer()
        self._router.on_pool_failure(reason, flag, detail, host_address)

    def on_upstream_1xx_headers(self, headers: HeaderMap) -> None:
        if self.state is State.OPEN:
            self._router.on_upstream_1xx_headers(headers)

    def on_upstream_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        if self.state is State.OPEN:
            self.awaiting_headers = False
            self._router.on_upstream_headers(headers, end_stream)

    def on_upstream_data(self, data: bytes, end_stream: bool) -> None:
        if self.state is State.OPEN:
            self._router.on_upstream_data(data, end_stream)

    def on_upstream_trailers(self, trailers: HeaderMap) -> None:
        if self.state is State.OPEN:
            self._router.on_upstream_trailers(trailers)

    def on_upstream_reset(self, reason: ResetReason, detail: str) -> None:
        if self.state is State.OPEN:
            self.state = State.DONE
            self.stream = None
            self._router.on_upstream_reset(reason, detail)

    def on_upstream_above_write_buffer_high_watermark(self) -> None:
        if self.state is State.OPEN:
            self._router.decoder_watermark(True)

    def on_upstream_below_write_buffer_low_watermark(self) -> None:
        if self.state is State.OPEN:
            self._router.decoder_watermark(False)

    def _release_buffer(self) -> None:
        self._body = None
        if self._buffer_paused:
            self._buffer_paused = False
            self._router.decoder_watermark(False)
