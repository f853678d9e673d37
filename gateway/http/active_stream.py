"""One request/response exchange on a downstream connection, and the callbacks its filters use.

Lifecycle: created on request headers -> decode path runs through the filters (the router last) -> the response
enters the encode path through ``encode_*`` (from the router or a local reply) -> written through the codec ->
complete when both the request and the response have ended, or reset. Completion runs ``on_stream_complete``,
``on_log``, the access logs and ``on_destroy`` of every filter exactly once, then tells the connection.

A local reply replaces whatever response was in progress as long as no response headers went downstream; after
that, the only way to fail the stream is a reset (for HTTP/1.1: closing the connection).

A direction's ``FilterChain`` exists only when some filter has a hook in it (``filter_hooks``): with the router as
the only filter, as in most configs, request parts go straight to the router and response parts straight to the
codec, and a stream costs no chain objects or iteration.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Final

from gateway.core.clock import monotonic
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import StreamInfo
from gateway.filters.api import DownstreamWatermarkCallbacks, HttpFilter, RouteEntry, StreamFilterCallbacks
from gateway.http.filter_chain import ChainEnd, FilterChain
from gateway.http.filter_hooks import COMPLETES, DECODES, DESTROYS, ENCODES, LOGS, hooks_of
from gateway.http.header_policy import mutate_response_headers
from gateway.http.local_reply import local_reply_headers

if TYPE_CHECKING:
    from gateway.http.connection import HttpConnection

log: Final = logging.getLogger("gateway.http")

_NO_ROUTE: Final[object] = object()
_REQUEST_TOO_LARGE: Final = "request_payload_too_large"
_RESPONSE_TOO_LARGE: Final = "response_payload_too_large"


class _DecodeEnd(ChainEnd):
    """The decode chain's end: the router, its last filter, consumed every part already."""

    __slots__ = ("_stream",)

    def __init__(self, stream: ActiveStream) -> None:
        self._stream = stream

    def overflow(self) -> None:
        self._stream._request_too_large()

    def watermark(self, above: bool) -> None:
        self._stream._conn.read_disable_for_stream(above)


class _EncodeEnd(ChainEnd):
    """The encode chain's end: the codec, through the stream."""

    __slots__ = ("_stream",)

    def __init__(self, stream: ActiveStream) -> None:
        self._stream = stream

    def headers(self, headers: HeaderMap, end_stream: bool) -> None:
        self._stream._write_headers(headers, end_stream)

    def data(self, data: bytearray, end_stream: bool) -> None:
        self._stream._write_data(data, end_stream)

    def trailers(self, trailers: HeaderMap) -> None:
        self._stream._write_trailers(trailers)

    def overflow(self) -> None:
        self._stream._response_too_large()

    def watermark(self, above: bool) -> None:
        # A filter holding the response past the limit: the producer must stop, as for a slow downstream.
        self._stream.on_downstream_watermark(above)


class ActiveStream(StreamFilterCallbacks):
    __slots__ = (
        "_conn",
        "info",
        "filters",
        "_hooks",
        "decoder",
        "_terminal",
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
        settings = conn.settings
        # StreamFilterCallbacks' read-only values.
        self.stream_id = stream_id
        self.info = self.stream_info = info
        self.loop = conn.loop
        self.decoder_buffer_limit = self.encoder_buffer_limit = settings.buffer_limit
        filters = self.filters = [factory() for factory in settings.filter_factories]
        before_last = last = 0
        for f in filters:
            before_last |= last
            last = hooks_of(f)
        self._hooks = before_last | last
        # The chains only where a filter has a hook in them. Without a decoding filter ahead of it, the last
        # filter (the router) gets the request parts directly: it consumes them all, so its statuses never matter.
        self.decoder: FilterChain | None = None
        self._terminal: HttpFilter | None = None
        if before_last & DECODES:
            self.decoder = FilterChain(filters, True, _DecodeEnd(self), settings.buffer_limit, terminal=True)
        elif last & DECODES:
            self._terminal = filters[-1]
        self.encoder = self._new_encoder() if self._hooks & ENCODES else None
        self._route: object = None  # None: not resolved yet; _NO_ROUTE: resolved to nothing
        self._watermark_callbacks: list[DownstreamWatermarkCallbacks] | None = None
        self.request_complete = False
        self.response_started = False  # response headers went to the codec
        self._local_reply_in_progress = False
        self.done = False
        self.last_activity = info.start_monotonic
        self.idle_timeout = 0.0  # the stream idle timeout that applies (route's or connection manager's); 0: none
        self._timers: list[asyncio.TimerHandle] | None = None
        for f in filters:
            f.set_callbacks(self)

    def _new_encoder(self) -> FilterChain:
        return FilterChain(self.filters[::-1], False, _EncodeEnd(self), self._conn.settings.buffer_limit)

    # -- input from the connection --
    def decode_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        if end_stream:
            self.request_complete = True
            # The whole request came in the callback that made the stream: its clock reading serves.
            self.info.last_downstream_rx_byte = self.info.start_monotonic
        if self.decoder is not None:
            self.decoder.on_headers(headers, end_stream)
        elif self._terminal is not None:
            self._terminal.decode_headers(headers, end_stream)

    def decode_data(self, data: bytes, end_stream: bool) -> None:
        info = self.info
        info.bytes_received += len(data)
        now = self.last_activity = monotonic()
        if end_stream:
            self.request_complete = True
            info.last_downstream_rx_byte = now
        limit = self.decoder_buffer_limit
        if len(data) <= limit:
            self._decode_chunk(bytearray(data), end_stream)
            return
        # One read may hold more than the buffer limit; Envoy's reads never do, so filters see chunks of at most
        # the limit and a filter that buffers the body meets the limit the same way whatever the read size.
        view = memoryview(data)
        for start in range(0, len(data), limit):
            if self.done:
                return
            last = start + limit >= len(data)
            self._decode_chunk(bytearray(view[start : start + limit]), end_stream and last)

    def _decode_chunk(self, data: bytearray, end_stream: bool) -> None:
        if self.decoder is not None:
            self.decoder.on_data(data, end_stream)
        elif self._terminal is not None:
            self._terminal.decode_data(data, end_stream)

    def decode_trailers(self, trailers: HeaderMap) -> None:
        self.request_complete = True
        self.info.last_downstream_rx_byte = monotonic()
        if self.decoder is not None:
            self.decoder.on_trailers(trailers)
        elif self._terminal is not None:
            self._terminal.decode_trailers(trailers)

    # -- StreamFilterCallbacks --
    def route(self) -> RouteEntry | None:
        route = self._route
        if route is None:
            headers = self.info.request_headers
            resolved = self._conn.settings.route_resolver.route(headers) if headers is not None else None
            self._route = route = _NO_ROUTE if resolved is None else resolved
            if resolved is not None:
                self.info.route_name = resolved.name
        return None if route is _NO_ROUTE else route  # type: ignore[return-value]

    def clear_route_cache(self) -> None:
        self._route = None

    def continue_decoding(self) -> None:
        if self.decoder is not None:
            self.decoder.resume()

    def decoding_buffer(self) -> bytearray | None:
        return self.decoder.buffer if self.decoder is not None else None

    def add_decoded_data(self, data: bytes) -> None:
        if self.decoder is not None:
            self.decoder.add_held(data)

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
            log.debug("local reply %d after response start; resetting stream %d", status, self.stream_id)
            self.reset_stream(flag or ResponseFlag.LOCAL_RESET, details)
            return
        reply = local_reply_headers(status, body, headers)
        encoder = self.encoder
        if self._local_reply_in_progress or encoder is None:
            # Straight to the client: no filter encodes, or a filter answered a local reply's encoding with
            # another one, which goes past the filters as Envoy's sendDirectLocalReply, so a reply cannot recurse.
            if self.decoder is not None:
                self.decoder.aborted = True
            if encoder is not None:
                encoder.aborted = True
            self._local_reply_in_progress = True
            self._write_headers(reply, not body)
            if body and not self.done:
                self._write_data(body, True)
            return
        self._local_reply_in_progress = True
        if self.decoder is not None:
            self.decoder.aborted = True
        encoder.aborted = True
        encoder = self.encoder = self._new_encoder()
        if body:
            encoder.on_headers(reply, False)
            encoder = self.encoder
            if not self.done and encoder is not None and not encoder.aborted:
                encoder.on_data(bytearray(body), True)
        else:
            encoder.on_headers(reply, True)

    def encode_1xx_headers(self, headers: HeaderMap) -> None:
        if not self.response_started and not self.done:
            self._conn.write_informational(self.stream_id, headers)

    def encode_headers(self, headers: HeaderMap, end_stream: bool) -> None:
        if not self.done and not self._local_reply_in_progress:
            if self.encoder is None:
                self._write_headers(headers, end_stream)
            else:
                self.encoder.on_headers(headers, end_stream)

    def encode_data(self, data: bytes | bytearray, end_stream: bool) -> None:
        if not self.done and not self._local_reply_in_progress:
            if self.encoder is None:
                self._write_data(data, end_stream)  # no filter to see it: no mutable copy either
            else:
                self.encoder.on_data(data if isinstance(data, bytearray) else bytearray(data), end_stream)

    def encode_trailers(self, trailers: HeaderMap) -> None:
        if not self.done and not self._local_reply_in_progress:
            if self.encoder is None:
                self._write_trailers(trailers)
            else:
                self.encoder.on_trailers(trailers)

    def continue_encoding(self) -> None:
        if self.encoder is not None:
            self.encoder.resume()

    def encoding_buffer(self) -> bytearray | None:
        return self.encoder.buffer if self.encoder is not None else None

    def add_encoded_data(self, data: bytes) -> None:
        if self.encoder is not None:
            self.encoder.add_held(data)

    def reset_stream(self, flag: ResponseFlag = ResponseFlag.LOCAL_RESET, details: str = "") -> None:
        if self.done:
            return
        if flag:
            self.info.set_flag(flag)
        if details and not self.info.response_code_details:
            self.info.response_code_details = details
        self._conn.stats.rq_tx_reset.inc()
        self._abort_chains()
        self._finish()
        self._conn.reset_stream(self)

    def add_downstream_watermark_callbacks(self, callbacks: DownstreamWatermarkCallbacks) -> None:
        if self._watermark_callbacks is None:
            self._watermark_callbacks = [callbacks]
        else:
            self._watermark_callbacks.append(callbacks)

    def on_decoder_filter_above_write_buffer_high_watermark(self) -> None:
        """The upstream cannot take more of the request: stop reading the downstream."""
        self._conn.read_disable_for_stream(True)

    def on_decoder_filter_below_write_buffer_low_watermark(self) -> None:
        self._conn.read_disable_for_stream(False)

    def on_downstream_watermark(self, above: bool) -> None:
        for callbacks in self._watermark_callbacks or ():
            if above:
                callbacks.on_above_write_buffer_high_watermark()
            else:
                callbacks.on_below_write_buffer_low_watermark()

    # -- buffer overflows --
    def _request_too_large(self) -> None:
        self.send_local_reply(413, b"Payload Too Large", details=_REQUEST_TOO_LARGE)

    def _response_too_large(self) -> None:
        if self.response_started:
            self._conn.stats.rs_too_large.inc()
            self.reset_stream(ResponseFlag.LOCAL_RESET, _RESPONSE_TOO_LARGE)
        else:
            # The response's headers are in the encode chain already: as Envoy's sendDirectLocalReply, the 500 goes
            # past the filters (one holding every body would hold this one too, overflow again, and so on).
            self._local_reply_in_progress = True
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
        now = info.first_downstream_tx_byte = self.last_activity = monotonic()
        self._conn.write_headers(self, headers, end_stream)
        if end_stream:
            self._response_ended(now)

    def _write_data(self, data: bytes | bytearray, end_stream: bool) -> None:
        self.info.bytes_sent += len(data)
        now = self.last_activity = monotonic()
        self._conn.write_data(self, data, end_stream)
        if end_stream:
            self._response_ended(now)

    def _write_trailers(self, trailers: HeaderMap) -> None:
        self.info.response_trailers = trailers
        self._conn.write_trailers(self, trailers)
        self._response_ended(monotonic())

    def _response_ended(self, now: float) -> None:
        self.info.last_downstream_tx_byte = now
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
        self._abort_chains()
        self._finish()

    def _abort_chains(self) -> None:
        """The stream ends abnormally: an iteration in progress touches no more filters."""
        if self.decoder is not None:
            self.decoder.aborted = True
        if self.encoder is not None:
            self.encoder.aborted = True

    def add_timer(self, handle: asyncio.TimerHandle) -> None:
        if self._timers is None:
            self._timers = []
        self._timers.append(handle)

    def _finish(self) -> None:
        if self.done:
            return
        self.done = True
        info = self.info
        end = info.end_monotonic = info.last_downstream_tx_byte or monotonic()
        if self._timers is not None:
            for handle in self._timers:
                handle.cancel()
        conn = self._conn
        stats = conn.stats
        code = info.response_code
        stats.request_ended(code, (end - info.start_monotonic) * 1000.0)
        if code == 101:
            stats.cx_upgrades_active.dec()
        # Each hook is guarded: one failing at the end of a stream must not keep the others from running. Hooks
        # that no filter of the stream overrides are not called at all.
        filters = self.filters
        hooks = self._hooks
        if hooks & COMPLETES:
            for f in filters:
                try:
                    f.on_stream_complete()
                except Exception:
                    log.exception("on_stream_complete failed on stream %d", self.stream_id)
        if hooks & LOGS:
            for f in filters:
                try:
                    f.on_log(info)
                except Exception:
                    log.exception("on_log failed on stream %d", self.stream_id)
        for sink in conn.settings.access_logs:
            try:
                sink.log(info)
            except Exception:
                log.exception("access log failed on stream %d", self.stream_id)
        if hooks & DESTROYS:
            for f in filters:
                try:
                    f.on_destroy()
                except Exception:
                    log.exception("on_destroy failed on stream %d", self.stream_id)
        # Break the stream <-> chains <-> filters cycles now, so the stream is freed by reference counting rather
        # than by the cyclic garbage collector (which cost ~8% of the CPU under load).
        self.filters = []
        self._watermark_callbacks = None
        self.decoder = self.encoder = None
        self._terminal = None
