"""One request/response exchange on a downstream connection, and the callbacks its filters use.

Lifecycle: created on request headers -> decode path runs through the filters (the router last) -> the response
enters the encode path through ``encode_*`` (from the router or a local reply) -> written through the codec ->
complete when both the request and the response have ended, or reset. Completion runs ``on_stream_complete``,
``on_log``, the access logs and ``on_destroy`` of every filter exactly once, then tells the connection.

A local reply replaces whatever response was in progress as long as no response headers went downstream; after
that, the only way to fail the stream is a reset (for HTTP/1.1: closing the connection).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.filters.api import HttpFilter, RouteEntry
from gateway.http.filter_chain import FilterChain
from gateway.http.header_policy import mutate_response_headers
from gateway.http.local_reply import local_reply_headers

if TYPE_CHECKING:
    from gateway.http.connection import HttpConnection

log = logging.getLogger("gateway.http")

_NO_ROUTE: object = object()
_REQUEST_TOO_LARGE = "request_payload_too_large"
_RESPONSE_TOO_LARGE = "response_payload_too_large"


def _noop_headers(headers: HeaderMap, end_stream: bool) -> None:
    """The decode path ends at the router, which consumes every part itself."""


def _noop_data(data: bytearray, end_stream: bool) -> None:
    pass


def _noop_trailers(trailers: HeaderMap) -> None:
    pass


def _ignore_flag(flag: bool) -> None:
    pass


# What a finished stream's chains become: no filters, nothing held, every input ignored.
_FINISHED_CHAIN = FilterChain((), True, _noop_headers, _noop_data, _noop_trailers, 0, lambda: None, _ignore_flag)
_FINISHED_CHAIN.aborted = True


class ActiveStream:
    __slots__ = (
        "_conn",
        "_stream_id",
        "info",
        "filters",
        "decoder",
        "encoder",
        "_route",
        "_watermark_callbacks",
        "request_complete",
        "response_started",
        "_local_reply_in_progress",
        "done",
        "last_activity",
        "idle_timeout",
        "_timers",
    )

    def __init__(self, conn: HttpConnection, stream_id: int, info: StreamInfo) -> None:
        self._conn = conn
        self._stream_id = stream_id
        self.info = info
        settings = conn.settings
        self.filters: list[HttpFilter] = [factory() for factory in settings.filter_factories]
        limit = settings.buffer_limit
        self.decoder = FilterChain(
            self.filters,
            True,
            _noop_headers,
            _noop_data,
            _noop_trailers,
            limit,
            self._request_too_large,
            conn.read_disable_for_stream,
            terminal=True,
        )
        self.encoder = self._new_encoder()
        self._route: object = None  # None: not resolved yet; _NO_ROUTE: resolved to nothing
        self._watermark_callbacks: list[tuple[Callable[[], None], Callable[[], None]]] | None = None
        self.request_complete = False
        self.response_started = False  # response headers went to the codec
        self._local_reply_in_progress = False
        self.done = False
        self.last_activity = info.start_monotonic
        self.idle_timeout = 0.0  # the stream idle timeout that applies (route's or connection manager's); 0: none
        self._timers: list[asyncio.TimerHandle] | None = None
        for f in self.filters:
            f.set_callbacks(self)

    def _new_encoder(self) -> FilterChain:
        return FilterChain(
            self.filters[::-1],
            False,
            self._write_headers,
            self._write_data,
            self._write_trailers,
            self._conn.settings.buffer_limit,
            self._response_too_large,
            self._encoder_watermark,
        )

    # -- input from the connection --
    def decode_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        if end_stream:
            self._request_ended()
        self.decoder.on_headers(headers, end_stream)

    def decode_data(self, data: bytes, end_stream: bool) -> None:
        self.info.bytes_received += len(data)
        self.last_activity = time.monotonic()
        if end_stream:
            self._request_ended()
        limit = self.decoder.buffer_limit
        if len(data) <= limit:
            self.decoder.on_data(bytearray(data), end_stream)
            return
        # One read may hold more than the buffer limit; Envoy's reads never do, so filters see chunks of at most
        # the limit and a filter that buffers the body meets the limit the same way whatever the read size.
        view = memoryview(data)
        for start in range(0, len(data), limit):
            if self.done:
                return
            last = start + limit >= len(data)
            self.decoder.on_data(bytearray(view[start : start + limit]), end_stream and last)

    def decode_trailers(self, trailers: HeaderMap) -> None:
        self._request_ended()
        self.decoder.on_trailers(trailers)

    def _request_ended(self) -> None:
        self.request_complete = True
        self.info.last_downstream_rx_byte = time.monotonic()

    # -- StreamFilterCallbacks --
    @property
    def stream_id(self) -> int:
        return self._stream_id

    @property
    def stream_info(self) -> StreamInfo:
        return self.info

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._conn.loop

    @property
    def request_headers(self) -> HeaderMap | None:
        return self.info.request_headers

    def route(self) -> RouteEntry | None:
        route = self._route
        if route is None:
            headers = self.info.request_headers
            resolved = self._conn.settings.route_resolver(headers) if headers is not None else None
            self._route = route = _NO_ROUTE if resolved is None else resolved
            if resolved is not None:
                self.info.route_name = resolved.name
        return None if route is _NO_ROUTE else route  # type: ignore[return-value]

    def clear_route_cache(self) -> None:
        self._route = None

    def continue_decoding(self) -> None:
        self.decoder.resume()

    def decoding_buffer(self) -> bytearray | None:
        return self.decoder.buffer

    def add_decoded_data(self, data: bytes) -> None:
        self.decoder.add_held(data)

    @property
    def decoder_buffer_limit(self) -> int:
        return self.decoder.buffer_limit

    def send_local_reply(
        self,
        status: int,
        body: bytes = b"",
        headers: HeaderMap | None = None,
        details: str = "",
        flag: ResponseFlag = ResponseFlag.NONE,
        grpc_status: int | None = None,
    ) -> None:
        if self.done:
            return
        info = self.info
        if flag:
            info.set_flag(flag)
        if details:
            info.response_code_details = details
            # Counted here whoever found the body too large: the chain's buffer, or a filter holding it (Wasm).
            if details == _REQUEST_TOO_LARGE:
                self._conn.stats.rq_too_large.inc()
            elif details == _RESPONSE_TOO_LARGE:
                self._conn.stats.rs_too_large.inc()
        if self.response_started:
            # Headers are gone: nothing left but to reset.
            log.debug("local reply %d after response start; resetting stream %d", status, self._stream_id)
            self.reset_stream(flag or ResponseFlag.LOCAL_RESET, details)
            return
        reply = local_reply_headers(status, body, headers)
        if self._local_reply_in_progress:
            # A filter answered a local reply's encoding with another one: as Envoy's sendDirectLocalReply, this one
            # goes straight to the client, past the filters, so a reply cannot recurse.
            self.encoder.aborted = True
            self._write_headers(reply, not body)
            if body and not self.done:
                self._write_data(bytearray(body), True)
            return
        self._local_reply_in_progress = True
        self.decoder.aborted = True
        self.encoder.aborted = True
        self.encoder = self._new_encoder()
        if body:
            self.encoder.on_headers(reply, False)
            if not self.done and not self.encoder.aborted:
                self.encoder.on_data(bytearray(body), True)
        else:
            self.encoder.on_headers(reply, True)

    def encode_1xx_headers(self, headers: HeaderMap) -> None:
        if not self.response_started and not self.done:
            self._conn.write_informational(self._stream_id, headers)

    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        if not self.done and not self._local_reply_in_progress:
            self.encoder.on_headers(headers, end_stream)

    def encode_data(self, data: bytearray, end_stream: bool) -> None:
        if not self.done and not self._local_reply_in_progress:
            self.encoder.on_data(data, end_stream)

    def encode_trailers(self, trailers: HeaderMap) -> None:
        if not self.done and not self._local_reply_in_progress:
            self.encoder.on_trailers(trailers)

    def continue_encoding(self) -> None:
        self.encoder.resume()

    def encoding_buffer(self) -> bytearray | None:
        return self.encoder.buffer

    def add_encoded_data(self, data: bytes) -> None:
        self.encoder.add_held(data)

    @property
    def encoder_buffer_limit(self) -> int:
        return self.encoder.buffer_limit

    def reset_stream(self, flag: ResponseFlag = ResponseFlag.LOCAL_RESET, details: str = "") -> None:
        if self.done:
            return
        if flag:
            self.info.set_flag(flag)
        if details and not self.info.response_code_details:
            self.info.response_code_details = details
        self._conn.stats.rq_tx_reset.inc()
        self.decoder.aborted = True
        self.encoder.aborted = True
        self._finish()
        self._conn.reset_stream(self)

    def add_downstream_watermark_callbacks(self, above: Callable[[], None], below: Callable[[], None]) -> None:
        if self._watermark_callbacks is None:
            self._watermark_callbacks = []
        self._watermark_callbacks.append((above, below))

    def on_decoder_filter_above_write_buffer_high_watermark(self) -> None:
        """The upstream cannot take more of the request: stop reading the downstream."""
        self._conn.read_disable_for_stream(True)

    def on_decoder_filter_below_write_buffer_low_watermark(self) -> None:
        self._conn.read_disable_for_stream(False)

    def on_downstream_watermark(self, above: bool) -> None:
        for cb_above, cb_below in self._watermark_callbacks or ():
            (cb_above if above else cb_below)()

    def _encoder_watermark(self, above: bool) -> None:
        # A filter holding the response past the limit: the producer must stop, as for a slow downstream.
        self.on_downstream_watermark(above)

    # -- buffer overflows --
    def _request_too_large(self) -> None:
        self.send_local_reply(413, b"Payload Too Large", details=_REQUEST_TOO_LARGE)

    def _response_too_large(self) -> None:
        if self.response_started:
            self._conn.stats.rs_too_large.inc()
            self.reset_stream(ResponseFlag.LOCAL_RESET, _RESPONSE_TOO_LARGE)
        else:
            self._local_reply_in_progress = False
            self.send_local_reply(500, b"Internal Server Error", details=_RESPONSE_TOO_LARGE)

    # -- the encode path's sink: the codec --
    def _write_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        info = self.info
        info.response_headers = headers
        status = headers.status or 0
        info.response_code = status
        if not info.response_code_details:
            info.response_code_details = "via_upstream"
        mutate_response_headers(headers, status, info, self._conn.settings)
        self.response_started = True
        info.first_downstream_tx_byte = self.last_activity = time.monotonic()
        self._conn.write_headers(self, headers, end_stream)
        if end_stream:
            self._response_ended()

    def _write_data(self, data: bytearray, end_stream: bool) -> None:
        self.info.bytes_sent += len(data)
        self.last_activity = time.monotonic()
        self._conn.write_data(self, data, end_stream)
        if end_stream:
            self._response_ended()

    def _write_trailers(self, trailers: HeaderMap) -> None:
        self.info.response_trailers = trailers
        self._conn.write_trailers(self, trailers)
        self._response_ended()

    def _response_ended(self) -> None:
        self.info.last_downstream_tx_byte = time.monotonic()
        if not self.request_complete:
            self._conn.stats.rq_response_before_rq_complete.inc()
        self._finish()
        self._conn.stream_complete(self)

    # -- the end --
    def on_downstream_reset(self) -> None:
        """The downstream went away (connection closed or reset) before the stream completed."""
        if self.done:
            return
        self.info.set_flag(ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION)
        self.info.response_code_details = "downstream_remote_disconnect"
        self._conn.stats.rq_rx_reset.inc()
        self.decoder.aborted = True
        self.encoder.aborted = True
        self._finish()

    def add_timer(self, handle: asyncio.TimerHandle) -> None:
        if self._timers is None:
            self._timers = []
        self._timers.append(handle)

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        info = self.info
        info.end_monotonic = info.last_downstream_tx_byte or time.monotonic()
        for handle in self._timers or ():
            handle.cancel()
        conn = self._conn
        stats = conn.stats
        stats.rq_active.dec()
        code = info.response_code
        if code:
            stats.record_status(code)
            if code == 101:
                stats.cx_upgrades_active.dec()
        stats.rq_completed.inc()
        stats.rq_time.record((info.end_monotonic - info.start_monotonic) * 1000.0)
        # Each hook is guarded: one failing at the end of a stream must not keep the others from running.
        filters = self.filters
        for f in filters:
            try:
                f.on_stream_complete()
            except Exception:
                log.exception("on_stream_complete failed on stream %d", self._stream_id)
        for f in filters:
            try:
                f.on_log(info)
            except Exception:
                log.exception("on_log failed on stream %d", self._stream_id)
        for sink in conn.settings.access_logs:
            try:
                sink.log(info)
            except Exception:
                log.exception("access log failed on stream %d", self._stream_id)
        for f in filters:
            try:
                f.on_destroy()
            except Exception:
                log.exception("on_destroy failed on stream %d", self._stream_id)
        # Break the stream <-> chains <-> filters cycles now, so the stream is freed by reference counting rather
        # than by the cyclic garbage collector (which cost ~8% of the CPU under load).
        self.filters = []
        self._watermark_callbacks = None
        self.decoder = self.encoder = _FINISHED_CHAIN
