"""The HTTP connection manager for one downstream connection: codec events in, streams out.

HTTP/1.1 carries one stream at a time; the codec holds pipelined requests back until the current response is
complete, and ``stream_complete`` asks it for them. States of the connection:
- idle: no stream; the idle timer runs; draining closes it. Bytes of an unfinished head start the
  request_headers_timeout (408 when it fires).
- active: one stream; request and response may interleave (the response can start before the request ends,
  and then the connection closes after it, with ``connection: close``). The stream idle, request and
  max_stream_duration timeouts answer 408 while the request is arriving, 504 once it is in, or reset the
  stream once the response started.
- closing: the codec, a timeout, a reset or the peer's EOF (Envoy has no half-close here: the stream ends
  with DC) decided the connection must close; local closes linger (``delayed_close_timeout``) so the peer
  reads the last response before the socket goes.

Timers are lazy: the idle and stream idle timers are armed once per connection and re-armed from their own
callbacks by comparing timestamps, never created and cancelled per request.

Writes: response headers that do not end the stream wait for the end of the upstream read being handled (or of
the loop iteration, outside one: core/write_batch.py), so headers and a body that arrive together from upstream
leave in one send. Body data is written at once: libuv reads a socket
up to 32 times per iteration, and only a write lets the transport's high-water mark pause the producer.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Final, Protocol

from gateway.codec import make_server_codec
from gateway.codec.http1.common import STATUS_LINES, encode_fields
from gateway.core.clock import monotonic
from gateway.core.errors import CodecError
from gateway.core.events import (
    ConnectionTerminated,
    DataReceived,
    HeadersReceived,
    ProtocolErrorReceived,
    StreamEvent,
    StreamReset,
    TrailersReceived,
)
from gateway.core.flags import ResponseFlag
from gateway.core.headers import HeaderMap
from gateway.core.stream_info import ConnectionInfo, StreamInfo
from gateway.core.write_batch import BATCH
from gateway.filters.api import RouteEntry
from gateway.http.active_stream import ActiveStream
from gateway.http.header_policy import mutate_request_headers, mutate_response_headers
from gateway.http.local_reply import local_reply_headers
from gateway.http.settings import HcmSettings
from gateway.http.stats import HcmStats

log: Final = logging.getLogger("gateway.http")

_CONTINUE_100: Final = HeaderMap.from_list([(b":status", b"100")])
# Envoy's response code details for the codec's refusals, by the status they get.
_CODEC_ERROR_DETAILS: Final = {431: "http1.headers_too_large", 501: "http1.invalid_transfer_encoding"}


class Downstream(Protocol):
    """The socket side, as the network layer offers it."""

    info: ConnectionInfo
    closed: bool

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def read_disable(self, disabled: bool) -> None: ...

    def close(self, abort: bool = False, linger: float = 0.0) -> None: ...


class HttpConnection:
    __slots__ = (
        "settings",
        "stats",
        "loop",
        "_downstream",
        "_codec",
        "_stream",
        "_flush_scheduled",
        "_flush_later",
        "_closing",
        "_draining",
        "_started",
        "_idle_timer",
        "_idle_since",
        "_stream_idle_timer",
        "_stream_idle_due",
        "_stream_idle_armed",
        "_duration_timer",
        "_headers_timer",
        "_read_disabled_by",
    )

    def __init__(self, downstream: Downstream, settings: HcmSettings, stats: HcmStats) -> None:
        self.settings = settings
        self.stats = stats
        self.loop = asyncio.get_running_loop()
        self._downstream = downstream
        self._codec = make_server_codec(settings.codec_backend, settings.codec_limits)
        self._stream: ActiveStream | None = None
        self._flush_scheduled = False
        # Bound once per connection, not per response (the cycle it makes, the connection's timers make already).
        self._flush_later = self._scheduled_flush
        self._closing = False
        self._draining = False
        self._started = monotonic()
        self._read_disabled_by = 0
        stats.cx_total.inc()
        stats.cx_active.inc()
        stats.cx_http1_total.inc()
        stats.cx_http1_active.inc()
        # Lazy timers: armed once and re-armed from their callbacks, never cancelled and re-created per request
        # (a uvloop timer costs ~2.5 µs to create and cancel).
        self._idle_timer: asyncio.TimerHandle | None = None
        self._idle_since = self._started
        self._stream_idle_timer: asyncio.TimerHandle | None = None
        self._stream_idle_due = 0.0
        self._stream_idle_armed = 0.0  # the timeout the stream idle timer was armed with
        self._headers_timer: asyncio.TimerHandle | None = None
        self._duration_timer: asyncio.TimerHandle | None = None
        if settings.max_connection_duration > 0:
            self._duration_timer = self.loop.call_later(settings.max_connection_duration, self._on_max_duration)
        self._arm_idle()

    # -- ConnectionHandler --
    def on_data(self, data: bytes) -> None:
        self.stats.cx_rx_bytes_total.add(len(data))
        if self._closing:
            return
        # Every write flushes (or schedules a flush) itself, so nothing is left to flush here.
        self._dispatch(self._codec.receive_data(data))
        if self._stream is None and self._headers_timer is None and not self._closing:
            # A request head is still arriving (a complete one made a stream): only now is a timer worth it.
            timeout = self.settings.request_headers_timeout
            if timeout > 0:
                self._headers_timer = self.loop.call_later(timeout, self._on_request_headers_timeout)

    def on_eof(self) -> None:
        # As Envoy's HTTP connections (no half-close): the peer's FIN ends the connection and the stream in it
        # (DC), rather than keeping an upstream busy for a client that left.
        self._close(remote=True)

    def on_close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None and not stream.done:
            stream.on_downstream_reset()
            self.stats.cx_destroy_active_rq.inc()
            self.stats.cx_destroy_remote_active_rq.inc()
        for timer in (self._idle_timer, self._stream_idle_timer, self._headers_timer, self._duration_timer):
            if timer is not None:
                timer.cancel()
        stats = self.stats
        stats.cx_active.dec()
        stats.cx_http1_active.dec()
        stats.cx_destroy.inc()
        if not self._closing:
            stats.cx_destroy_remote.inc()
        stats.cx_length_ms.record((monotonic() - self._started) * 1000.0)

    def on_above_write_high_watermark(self) -> None:
        if self._stream is not None:
            self._stream.on_downstream_watermark(True)

    def on_below_write_low_watermark(self) -> None:
        if self._stream is not None:
            self._stream.on_downstream_watermark(False)

    def start_drain(self) -> None:
        """Server draining: finish the current exchange, then close (``connection: close`` on the response)."""
        self._draining = True
        if self._stream is None:
            self._close(remote=False)

    # -- codec events --
    def _dispatch(self, events: list[StreamEvent]) -> None:
        for event in events:
            if self._closing and not isinstance(event, (DataReceived, TrailersReceived)):
                return
            stream = self._stream
            if type(event) is DataReceived:
                if stream is not None:
                    stream.decode_data(event.data, event.end_stream)
            elif type(event) is HeadersReceived:
                self._new_stream(event)
            elif type(event) is TrailersReceived:
                if stream is not None:
                    stream.decode_trailers(event.trailers)
            elif type(event) is ProtocolErrorReceived:
                self._protocol_error(event.error, event.stream_id)
                return
            elif type(event) is StreamReset:
                if stream is not None:
                    stream.on_downstream_reset()
                self._close(remote=True)
                return
            elif type(event) is ConnectionTerminated:
                if stream is None:
                    self._close(remote=True)
                return

    def _new_stream(self, event: HeadersReceived) -> None:
        settings = self.settings
        stats = self.stats
        stats.request_started()
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None
        headers = event.headers
        codec = self._codec
        info = StreamInfo(self._downstream.info, protocol=codec.protocol)
        stream = ActiveStream(self, event.stream_id, info)
        self._stream = stream
        upgrade, expect_continue = mutate_request_headers(headers, info, settings)
        info.request_headers = headers
        route = stream.route()  # resolved before the filters run, as Envoy's route cache is
        idle_timeout = settings.stream_idle_timeout
        if route is not None and route.idle_timeout is not None:
            idle_timeout = route.idle_timeout
        stream.idle_timeout = idle_timeout
        if idle_timeout > 0:
            self._watch_stream_idle(idle_timeout)
        if settings.request_timeout > 0:
            stream.add_timer(self.loop.call_later(settings.request_timeout, self._on_request_timeout, stream))
        if settings.max_stream_duration > 0:
            stream.add_timer(self.loop.call_later(settings.max_stream_duration, self._on_max_stream_duration, stream))
        if codec.protocol == "HTTP/1.0" and not settings.accept_http_10:
            stream.send_local_reply(426, b"Upgrade Required", details="low_version")
            return
        if upgrade is not None:
            upgrade_type = upgrade.lower().decode("latin-1")
            if not self._upgrade_allowed(upgrade_type, route):
                if upgrade_type == "websocket":
                    stats.rq_ws_on_non_ws_route.inc()
                stream.send_local_reply(403, details="upgrade_failed")
                return
        if expect_continue and not event.end_stream:
            # Envoy answers 100-continue itself, counted as a 1xx response.
            stats.record_status(100)
            codec.send_informational(event.stream_id, _CONTINUE_100)
            self._flush()
        stream.decode_headers(headers, event.end_stream)

    def _upgrade_allowed(self, upgrade_type: str, route: RouteEntry | None) -> bool:
        """The route's upgrade_configs decide when they name the type; otherwise the connection manager's."""
        if route is not None:
            enabled = route.upgrade_map.get(upgrade_type)
            if enabled is not None:
                return enabled
        return upgrade_type in self.settings.upgrade_types

    def _protocol_error(self, error: CodecError, stream_id: int) -> None:
        self.stats.cx_protocol_error.inc()
        stream = self._stream
        # As Envoy's codec: the reason phrase as the body, the kind of fault in the details.
        status = error.status
        body = HTTPStatus(status).phrase.encode()
        details = _CODEC_ERROR_DETAILS.get(status, "http1.codec_error")
        if stream is not None and not stream.done:
            stream.info.set_flag(ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR)
            if not stream.response_started:
                stream.send_local_reply(status, body, details=details)
            else:
                stream.reset_stream(ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR, details)
        elif stream is None:
            self._bare_reply(stream_id, status, body, details)
        self._flush()
        self._close(remote=False)

    def _bare_reply(self, stream_id: int, status: int, body: bytes, details: str) -> None:
        """A reply to bytes that never became a request (a bad head): no filters, no stream."""
        info, headers = self._bare_info(status, body, details, ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR)
        try:
            self._codec.send_headers(stream_id, headers, not body)
            if body:
                self._codec.send_data(stream_id, body, True)
        except Exception:
            log.debug("could not write a bare %d reply", status, exc_info=True)
        self._log_bare(info)

    def _bare_info(self, status: int, body: bytes, details: str, flag: ResponseFlag) -> tuple[StreamInfo, HeaderMap]:
        info = StreamInfo(self._downstream.info, protocol=self._codec.protocol)
        info.response_code = status
        info.response_code_details = details
        info.set_flag(flag)
        headers = local_reply_headers(status, body, None)
        mutate_response_headers(headers, status, info, self.settings)
        headers.add(b"connection", b"close")
        info.response_headers = headers
        info.bytes_sent = len(body)
        return info, headers

    def _log_bare(self, info: StreamInfo) -> None:
        # Counted as a request, as Envoy's HTTP/1 codec opens its stream at the first byte of a request.
        stats = self.stats
        stats.rq_total.inc()
        stats.rq_http1_total.inc()
        stats.rq_completed.inc()
        stats.record_status(info.response_code)
        info.end_monotonic = monotonic()
        for sink in self.settings.access_logs:
            try:
                sink.log(info)
            except Exception:
                log.exception("access log failed")

    # -- writes from the stream --
    def write_informational(self, stream_id: int, headers: HeaderMap) -> None:
        self._codec.send_informational(stream_id, headers)
        self._schedule_flush()

    def write_headers(self, stream: ActiveStream, headers: HeaderMap, end_stream: bool) -> None:
        upgraded = stream.info.response_code == 101
        if not stream.request_complete and not upgraded:
            # Answered before the request ended: the rest of it cannot be skipped reliably, so the connection
            # closes after this response, and says so (as Envoy does).
            self._closing = True
        if self._draining or self._closing:
            headers.set(b"connection", b"close")
        self._codec.send_headers(stream.stream_id, headers, end_stream)
        if upgraded:
            self.stats.cx_upgrades_total.inc()
            self.stats.cx_upgrades_active.inc()
            # Tunnel bytes that arrived behind the request head are released by the codec now; they go upstream
            # from the loop, not from inside this response callback.
            self.loop.call_soon(self._resume_tunnel, stream)
        if end_stream:
            self._flush()
        else:
            self._schedule_flush()

    def write_data(self, stream: ActiveStream, data: bytes | bytearray, end_stream: bool) -> None:
        self._codec.send_data(stream.stream_id, data, end_stream)
        self._flush()

    def write_trailers(self, stream: ActiveStream, trailers: HeaderMap) -> None:
        self._codec.send_trailers(stream.stream_id, trailers)
        self._flush()

    def _resume_tunnel(self, stream: ActiveStream) -> None:
        if self._stream is stream and not stream.done:
            self._dispatch(self._codec.resume())
            self._flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            if BATCH.depth:  # an upstream read is being handled: flush at its end (core/write_batch.py)
                BATCH.pending.append(self._flush_later)
            else:
                self.loop.call_soon(self._flush_later)

    def _scheduled_flush(self) -> None:
        if self._flush_scheduled:  # else a body write has flushed the headers already
            self._flush()

    def _flush(self) -> None:
        self._flush_scheduled = False
        out = self._codec.data_to_send()
        if out:
            self.stats.cx_tx_bytes_total.add(len(out))
            self._downstream.write(out)

    # -- stream ends --
    def stream_complete(self, stream: ActiveStream) -> None:
        """The response is fully written (the stream may still be receiving the request: see below)."""
        if self._stream is not stream:
            return
        self._stream = None
        if self._read_disabled_by:
            self._read_disabled_by = 0
            self._downstream.read_disable(False)
        if not stream.request_complete or self._codec.should_close or self._draining or self._closing:
            # An early response leaves unread request bytes behind: the connection cannot be reused.
            self._close(remote=False)
            return
        self._idle_since = stream.info.end_monotonic or monotonic()
        if self._idle_timer is None:
            self._arm_idle()
        events = self._codec.resume()
        if events:
            self._dispatch(events)
            self._flush()

    def reset_stream(self, stream: ActiveStream) -> None:
        """HTTP/1.1 has no stream reset: the connection goes, destroyed locally with its request active."""
        if self._stream is stream:
            self._stream = None
        self.stats.cx_destroy_active_rq.inc()
        self.stats.cx_destroy_local_active_rq.inc()
        self._flush()
        self._close(remote=False, abort=True)

    def read_disable_for_stream(self, disabled: bool) -> None:
        """Counted: the router (upstream full) and the filter chain (a watermark buffer) pause independently,
        and reading resumes only when every pause was lifted."""
        before = self._read_disabled_by
        self._read_disabled_by = before + 1 if disabled else max(0, before - 1)
        if (before == 0) != (self._read_disabled_by == 0):
            self._downstream.read_disable(disabled)

    def _close(self, remote: bool, abort: bool = False) -> None:
        if not self._closing:
            self._closing = True
            (self.stats.cx_destroy_remote if remote else self.stats.cx_destroy_local).inc()
        self._downstream.close(abort, 0.0 if remote else self.settings.delayed_close_timeout)

    # -- timers --
    def _arm_idle(self) -> None:
        timeout = self.settings.idle_timeout
        if timeout > 0 and self._idle_timer is None:
            self._idle_timer = self.loop.call_later(timeout, self._on_idle_timeout)

    def _on_idle_timeout(self) -> None:
        self._idle_timer = None
        if self._stream is not None or self._closing:
            return  # busy: stream_complete arms it again
        remaining = self.settings.idle_timeout - (monotonic() - self._idle_since)
        if remaining > 0.001:
            self._idle_timer = self.loop.call_later(remaining, self._on_idle_timeout)
            return
        self.stats.cx_idle_timeout.inc()
        self._close(remote=False)

    def _on_max_duration(self) -> None:
        self._duration_timer = None
        self.stats.cx_max_duration_reached.inc()
        self._draining = True
        if self._stream is None:
            self._close(remote=False)

    def _on_request_headers_timeout(self) -> None:
        """A request head began but did not finish in time: Envoy's 408, then close. The codec holds no stream
        for an unfinished head, so the reply is written here, directly."""
        self._headers_timer = None
        if self._stream is not None or self._closing:
            return
        self.stats.rq_header_timeout.inc()
        body = b"request header timeout"
        info, headers = self._bare_info(408, body, "request_header_timeout", ResponseFlag.NONE)
        fields = [pair for pair in headers.pairs() if pair[0] != b":status"]
        out = STATUS_LINES[b"408"] + encode_fields(fields) + b"\r\n" + body
        self.stats.cx_tx_bytes_total.add(len(out))
        self._downstream.write(out)
        self._log_bare(info)
        self._close(remote=False)

    def _watch_stream_idle(self, timeout: float) -> None:
        """Make sure the stream idle check runs within ``timeout``; one timer serves the connection's streams."""
        timer = self._stream_idle_timer
        if timer is not None and self._stream_idle_armed <= timeout:
            return  # armed earlier for no longer: it fires in time, and re-arms for what is left
        due = self.loop.time() + timeout
        if timer is not None:
            if self._stream_idle_due <= due:
                return
            timer.cancel()
        self._stream_idle_due = due
        self._stream_idle_armed = timeout
        self._stream_idle_timer = self.loop.call_later(timeout, self._check_stream_idle)

    def _check_stream_idle(self) -> None:
        self._stream_idle_timer = None
        stream = self._stream
        if stream is None or stream.done or stream.idle_timeout <= 0:
            return  # the next stream arms it again
        remaining = stream.idle_timeout - (monotonic() - stream.last_activity)
        if remaining > 0.001:
            # Activity since arming: wait for the rest instead of resetting a timer on every chunk.
            self._watch_stream_idle(remaining)
            return
        self.stats.rq_idle_timeout.inc()
        self._timeout_stream(stream, b"stream timeout", "stream_idle_timeout", ResponseFlag.STREAM_IDLE_TIMEOUT)

    def _on_request_timeout(self, stream: ActiveStream) -> None:
        if stream.done or stream.request_complete:
            return
        self.stats.rq_timeout.inc()
        self._timeout_stream(stream, b"request timeout", "request_overall_timeout", ResponseFlag.NONE)

    def _on_max_stream_duration(self, stream: ActiveStream) -> None:
        if stream.done:
            return
        self.stats.rq_max_duration_reached.inc()
        self._timeout_stream(
            stream, b"downstream duration timeout", "max_duration_timeout", ResponseFlag.DURATION_TIMEOUT
        )

    def _timeout_stream(self, stream: ActiveStream, body: bytes, details: str, flag: ResponseFlag) -> None:
        if stream.response_started:
            stream.reset_stream(flag, details)
        else:
            # Envoy: 504 when the whole request is in (the connection stays usable), 408 while it is arriving.
            status = 504 if stream.request_complete else 408
            stream.send_local_reply(status, body, details=details, flag=flag)
