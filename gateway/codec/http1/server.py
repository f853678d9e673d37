"""The HTTP/1.1 server (downstream) codec: requests in as stream events, responses out as bytes.

State machine. Every request begins an *exchange* with the next odd stream id (1, 3, 5...). The exchange whose
response is unfinished is *active*; a request that completes while its response is pending switches the codec to
*holding*: the parser keeps tokenizing pipelined bytes, but their events are queued, not returned. When the active
response has been sent in full, ``resume()`` releases the queued events of the next request (up to its end, or all
of them if it is still arriving; then holding stops). Per exchange:

    request:   HEADERS -> BODY -> COMPLETE            (events: HeadersReceived, DataReceived*, TrailersReceived?)
    response:  NOT_STARTED -> one body mode -> DONE   (_NONE for HEAD/204/304, _LENGTH, _CHUNKED, _EOF, _TUNNEL)

The connection itself goes OPEN -> CLOSING (``should_close``) on Connection: close, HTTP/1.0 without keep-alive,
a close-delimited response, a response that ends before its request, a reset or a protocol error; once closing
and the active response is done, input is ignored. An Upgrade request (``upgrade`` + ``connection: upgrade``)
stops the parser: the bytes after its head are kept raw; a 101 response turns the connection into a TUNNEL
(raw bytes both ways; call ``resume()`` after the 101 for bytes that arrived early), any other response closes.
An ``h2c`` offer is declined as Envoy does (its fields dropped, the request served as HTTP/1.1); an Upgrade
request with a body is refused (400). CONNECT is rejected with 400 (tunnelling CONNECT is not supported yet).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from typing import Final

from gateway.codec.api import CodecLimits
from gateway.codec.http1.common import (
    FRAMING,
    STATUS_LINES,
    Pair,
    RequestParser,
    connection_tokens,
    encode_head,
    field_collector,
    is_length,
    length_to_send,
    over_limits,
    parse_content_length,
    trailers_block,
)
from gateway.core.errors import CodecError, ResetReason, Source
from gateway.core.events import (
    ConnectionTerminated,
    DataReceived,
    HeadersReceived,
    ProtocolErrorReceived,
    StreamEvent,
    StreamReset,
    TrailersReceived,
)
from gateway.core.headers import HeaderMap

# Response body modes.
_NOT_STARTED: Final = 0
_NONE: Final = 1
_LENGTH: Final = 2
_CHUNKED: Final = 3
_EOF: Final = 4
_TUNNEL: Final = 5
_DONE: Final = 6

# host[:port] of an absolute-form target: llhttp's characters, without userinfo (no "@").
_AUTHORITY: Final = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:\[\]%]+")
_H2C_TOKENS: Final = frozenset((b"upgrade", b"http2-settings"))
_WATCHED: Final = frozenset((b"host", b"content-length", b"transfer-encoding", b"connection", b"upgrade"))
_RESPONSE_SKIP: Final = FRAMING | {b":status"}
_NO_PSEUDO: Final = (b"", b"")
_CONTENT_LENGTH_0: Final = (b"content-length", b"0")
_CHUNKED_TE: Final = (b"transfer-encoding", b"chunked")
_CONNECTION_CLOSE: Final = (b"connection", b"close")
_CONNECTION_KEEP_ALIVE: Final = (b"connection", b"keep-alive")
_CONNECTION_UPGRADE: Final = (b"connection", b"upgrade")


class _Exchange:
    """One request and its response."""

    __slots__ = ("head", "http11", "keep_alive", "request_complete", "stream_id", "upgrade")

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        self.http11 = True
        self.keep_alive = False  # decided at the request's headers; a request cut short never keeps the connection
        self.head = False
        self.upgrade = False
        self.request_complete = False


class Http1ServerCodec:
    """HTTP/1.1 server codec over a tokenizer built by ``parser_factory`` (httptools or h11)."""

    __slots__ = (
        "_active",
        "_close",
        "_ended",
        "_fed",
        "_feed_start",
        "_fields",
        "_head_start",
        "_held",
        "_hold",
        "_max_bytes",
        "_max_count",
        "_mode",
        "_next_id",
        "_out",
        "_parser",
        "_parser_factory",
        "_feed",
        "_http_version",
        "_method",
        "_parsing",
        "_queue",
        "_raw",
        "_remaining",
        "_sink",
        "_stopped",
        "_tunnel_id",
        "_upgrade_declined",
        "_url_parts",
        "on_header",
        "on_url",
        "protocol",
    )

    def __init__(self, parser_factory: Callable[[Http1ServerCodec], RequestParser], limits: CodecLimits) -> None:
        self.protocol = "HTTP/1.1"
        self._max_bytes = limits.max_headers_kb * 1024
        self._max_count = limits.max_headers_count
        self._next_id = 1
        self._active: _Exchange | None = None  # the exchange whose response is being written
        self._parsing: _Exchange | None = None  # the exchange whose request is being parsed
        self._queue: deque[_Exchange] = deque()  # pipelined exchanges behind the active one
        self._held: deque[StreamEvent] = deque()
        self._hold = False
        # Where parsed events go: the list receive_data returns, or _held while a response is in flight.
        self._sink: list[StreamEvent] | deque[StreamEvent] = []
        self._out: list[bytes] = []
        self._mode = _NOT_STARTED
        self._remaining = 0
        self._close = False
        self._stopped = False  # no more input is parsed (error, closing, upgrade)
        self._raw: bytearray | None = None  # bytes after an Upgrade request's head
        self._tunnel_id = 0
        self._upgrade_declined = False
        self._ended = False  # the request being parsed has no body
        # The parser's per-field and request-target callbacks only collect (a closure, a bound list.append: no
        # method frames); the head is checked once, at on_headers_complete, trailers at on_message_complete.
        self._fields: list[Pair] = []
        self.on_header = field_collector(self._fields)
        self._url_parts: list[bytes] = []
        self.on_url: Callable[[bytes], None] = self._url_parts.append
        # Bytes fed so far, at the start of the current feed, and at the start of the feed the current message
        # began in: a head that came in fewer bytes than the size limit cannot be over it (no need to count).
        self._fed = 0
        self._feed_start = 0
        self._head_start = 0
        self._parser_factory = parser_factory
        self._new_parser()

    def _new_parser(self) -> RequestParser:
        # What is called per message is kept bound here: through the Protocol-typed parser, every call would be a
        # generic method call (a lookup on the parser's type).
        parser = self._parser = self._parser_factory(self)
        self._feed: Callable[[bytes], bytes | None] = parser.feed
        self._http_version: Callable[[], str] = parser.http_version
        self._method: Callable[[], bytes] = parser.method
        return parser

    # -- input --
    def receive_data(self, data: bytes) -> list[StreamEvent]:
        if self._raw is not None:
            if self._mode == _TUNNEL:
                return [DataReceived(self._tunnel_id, data, False)] if data else []
            self._raw += data
            return []
        if self._stopped:
            return []
        events: list[StreamEvent] = []
        if not self._hold:
            self._sink = events
        fed = self._feed_start = self._fed
        self._fed = fed + len(data)
        parser = self._parser
        try:
            while True:
                try:
                    tail = self._feed(data)
                except parser.errors as error:
                    tail = parser.failed(error, data)
                if tail is None or not self._upgrade_declined:
                    break
                # llhttp stopped after an Upgrade head the codec declined (h2c): read on with a fresh parser.
                self._upgrade_declined = False
                parser = self._new_parser()
                data = tail
            if (self._fields or self._url_parts) and self._over_limits():
                raise CodecError("request headers too large", 431)  # a head (or trailers) still arriving
        except CodecError as error:
            self._fail(error)
        else:
            if tail is not None:
                self._upgraded(tail)
        return events

    def receive_eof(self) -> list[StreamEvent]:
        if self._mode == _TUNNEL:
            self._stopped = True
            return [DataReceived(self._tunnel_id, b"", True)]
        self._stopped = True
        self._close = True
        active = self._active
        if active is not None:
            self._active = None
            return [StreamReset(active.stream_id, ResetReason.CONNECTION_TERMINATION)]
        return [ConnectionTerminated(self._next_id - 2 if self._next_id > 1 else 0)]

    def resume(self) -> list[StreamEvent]:
        if self._mode == _TUNNEL:
            raw, self._raw = self._raw, bytearray()
            return [DataReceived(self._tunnel_id, bytes(raw), False)] if raw else []
        if self._active is not None or self._close or not self._queue:
            return []
        self._active = self._queue.popleft()
        self._mode = _NOT_STARTED
        held = self._held
        out: list[StreamEvent] = []
        while held:
            event = held.popleft()
            out.append(event)
            if type(event) is ProtocolErrorReceived:
                self._close = True
                break
            if type(event) is TrailersReceived or getattr(event, "end_stream", False):
                break
        else:
            # The released request is still arriving: its next events go straight out again.
            self._hold = False
        return out

    # -- parser callbacks --
    def on_message_begin(self) -> None:
        self._upgrade_declined = False  # h11 never stops for a declined Upgrade; llhttp did before this message
        self._head_start = self._feed_start
        if self._active is None and not self._queue:  # _begin_exchange's usual case, inline
            self._parsing = self._active = _Exchange(self._next_id)
            self._next_id += 2
            self._mode = _NOT_STARTED
        else:
            self._parsing = self._begin_exchange()

    def _over_limits(self) -> bool:
        """The size and count limits on the request target and fields collected (trailers: fields alone)."""
        return over_limits(self._fields, sum(map(len, self._url_parts)), self._max_bytes, self._max_count)

    def on_headers_complete(self) -> None:
        ex = self._parsing
        assert ex is not None
        fields = self._fields
        if (self._fed - self._head_start > self._max_bytes or len(fields) > self._max_count) and self._over_limits():
            raise CodecError("request headers too large", 431)
        parts = self._url_parts
        url = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        # One pass picks out the framing and connection fields, in order: the first fault decides the error.
        host = cl = conn = up = None
        host_at = 0
        chunked = False
        for index, (name, value) in enumerate(fields):
            if name in _WATCHED:
                if name == b"host":
                    if host is not None:
                        raise CodecError("multiple host headers")
                    host = value
                    host_at = index
                elif name == b"content-length":
                    if cl is not None:
                        raise CodecError("multiple content-length headers")
                    cl = int(value) if is_length(value) else parse_content_length(value, Source.DOWNSTREAM)
                elif name == b"transfer-encoding":
                    if chunked:
                        raise CodecError("multiple transfer-encoding headers", 501)
                    if value.lower() != b"chunked":
                        raise CodecError("unsupported transfer encoding", 501)
                    chunked = True
                elif name == b"connection":
                    conn = value if conn is None else conn + b"," + value
                else:
                    up = value
        version = self._http_version()
        if version == "1.1":
            http11 = True
        elif version == "1.0":
            http11 = False
        else:
            raise CodecError("unsupported HTTP version")
        self.protocol = "HTTP/1.1" if http11 else "HTTP/1.0"
        if chunked and cl is not None:
            raise CodecError("both content-length and transfer-encoding")
        method = self._method()
        if method == b"CONNECT":
            raise CodecError("CONNECT is not supported")
        tokens = connection_tokens(conn) if conn is not None else ()
        upgrade = up is not None and b"upgrade" in tokens
        declined = False
        if upgrade:
            if chunked or cl:
                raise CodecError("upgrade request with a body")
            if up is not None and up.lower() == b"h2c":
                # As Envoy: h2c is not spoken here, so the offer is dropped and the request served as HTTP/1.1.
                upgrade = False
                declined = self._upgrade_declined = True
        ex.http11 = http11
        # RFC 9112 6.1: a 1.0 message with transfer-encoding has faulty framing; answer it, then close.
        ex.keep_alive = (b"close" not in tokens) if http11 else (b"keep-alive" in tokens and not chunked)
        ex.head = method == b"HEAD"
        ex.upgrade = upgrade

        authority = host
        scheme = b"http"
        if authority is None and http11:
            raise CodecError("missing host header")  # RFC 9112 3.2: even with an absolute-form target
        if url[:1] == b"/" or (url == b"*" and method == b"OPTIONS"):
            path = url
        else:
            scheme, authority, path = _absolute_form(url)
        if authority is None:
            pairs = [(b":method", method), (b":scheme", scheme), (b":path", path)]
        else:
            pairs = [(b":method", method), (b":scheme", scheme), (b":authority", authority), (b":path", path)]
        if host is not None:
            del fields[host_at]  # it became :authority (or an absolute-form target overrode it)
        pairs += _decline_h2c(fields) if declined else fields
        fields.clear()  # from here on, fields are trailers
        end_stream = not (upgrade or chunked or cl)
        self._ended = end_stream
        self._sink.append(HeadersReceived(ex.stream_id, HeaderMap.from_list(pairs), end_stream))

    def on_body(self, body: bytes) -> None:
        ex = self._parsing
        assert ex is not None
        self._sink.append(DataReceived(ex.stream_id, body, False))

    def on_message_complete(self) -> None:
        ex = self._parsing
        assert ex is not None
        ex.request_complete = True
        self._parsing = None
        if not ex.keep_alive:
            self._stopped = True  # bytes after a closing request are never parsed
        if not ex.upgrade and not self._ended:
            sink = self._sink
            fields = self._fields
            if fields:
                # Trailers are counted against a fresh budget, as Envoy does.
                if self._over_limits():
                    raise CodecError("request headers too large", 431)
                sink.append(TrailersReceived(ex.stream_id, HeaderMap.from_list(fields[:])))
                fields.clear()
            else:
                last = sink[-1] if sink else None
                if type(last) is DataReceived and last.stream_id == ex.stream_id:
                    last.end_stream = True
                else:
                    sink.append(DataReceived(ex.stream_id, b"", True))
        if self._active is not None:
            self._hold = True
            self._sink = self._held

    def _begin_exchange(self) -> _Exchange:
        ex = _Exchange(self._next_id)
        self._next_id += 2
        if self._active is None and not self._queue:
            self._active = ex
            self._mode = _NOT_STARTED
        else:
            self._queue.append(ex)
        return ex

    def _fail(self, error: CodecError) -> None:
        ex = self._parsing or self._begin_exchange()
        self._stopped = True
        self._sink.append(ProtocolErrorReceived(error, ex.stream_id))
        if not self._hold:
            self._close = True

    def _upgraded(self, tail: bytes) -> None:
        self._stopped = True
        self._raw = bytearray(tail)

    # -- output --
    def _response_exchange(self, stream_id: int) -> _Exchange:
        ex = self._active
        if ex is None or ex.stream_id != stream_id:
            raise _no_response(stream_id)
        return ex

    def send_informational(self, stream_id: int, headers: HeaderMap) -> None:
        ex = self._response_exchange(stream_id)
        status = headers.get(b":status")
        if status is None or status[:1] != b"1" or status == b"101" or self._mode != _NOT_STARTED:
            raise ValueError(f"invalid informational response {status!r} on stream {stream_id}")
        if not ex.http11:
            return  # RFC 9110 15.2: never send 1xx to an HTTP/1.0 client
        fields = [p for p in headers.pairs() if p[0] not in _RESPONSE_SKIP]
        self._out.append(encode_head(_status_line(status), fields))

    def send_headers(self, stream_id: int, headers: HeaderMap, end_stream: bool) -> None:
        ex = self._active
        if ex is None or ex.stream_id != stream_id:
            raise _no_response(stream_id)
        if self._mode != _NOT_STARTED:
            raise ValueError(f"response headers already sent on stream {stream_id}")
        pairs = headers.pairs()
        first = pairs[0] if pairs else _NO_PSEUDO
        status = first[1] if first[0] == b":status" else headers.get(b":status")
        if status is None:
            raise ValueError("response headers without :status")
        head = STATUS_LINES.get(status)
        if head is None:
            raise ValueError(f"invalid :status {status!r}")
        if status[:1] == b"1" and status != b"101":
            self.send_informational(stream_id, headers)
            return
        # Framing fields found are kept as pairs: written again at the end, as they are (no new tuple).
        cl: Pair | None = None
        up: Pair | None = None
        conn = None
        fields = []
        for pair in pairs:
            name = pair[0]
            if name in _RESPONSE_SKIP:
                if name == b"content-length":
                    cl = pair
                elif name == b"connection":
                    conn = pair[1]
                elif name == b"upgrade":
                    up = pair
            else:
                fields.append(pair)
        close = self._close or not ex.keep_alive or (conn is not None and b"close" in connection_tokens(conn))
        if status == b"101":
            if not ex.upgrade or up is None:
                raise ValueError("101 response to a request that did not ask to upgrade")
            mode = _TUNNEL
            fields += (_CONNECTION_UPGRADE, up)
        else:
            if ex.upgrade:
                close = True  # the bytes after a refused Upgrade cannot be read as HTTP
            if status == b"204" or status == b"304" or ex.head:
                mode = _NONE
                if cl is not None and status != b"204":
                    length_to_send(cl[1])
                    fields.append(cl)
            elif cl is not None:
                mode = _LENGTH
                length = cl[1]
                self._remaining = int(length) if is_length(length) else length_to_send(length)
                fields.append(cl)
            elif end_stream:
                mode = _LENGTH
                self._remaining = 0
                fields.append(_CONTENT_LENGTH_0)
            elif ex.http11:
                mode = _CHUNKED
                fields.append(_CHUNKED_TE)
            else:
                mode = _EOF
                close = True
            if close:
                fields.append(_CONNECTION_CLOSE)
            elif not ex.http11:
                fields.append(_CONNECTION_KEEP_ALIVE)
        self._out.append(encode_head(head, fields))
        self._mode = mode
        if close:
            self._close = True
        if mode == _TUNNEL:
            self._tunnel_id = stream_id
            if self._raw is None:
                self._raw = bytearray()
        elif end_stream:
            self._finish_response()

    def send_data(self, stream_id: int, data: bytes | bytearray, end_stream: bool) -> None:
        ex = self._active
        if ex is None or ex.stream_id != stream_id:
            raise _no_response(stream_id)
        mode = self._mode
        if type(data) is not bytes:
            data = bytes(data)  # callers may reuse their buffer once we return
        if mode == _CHUNKED:
            if data:
                self._out += (b"%x\r\n" % len(data), data, b"\r\n")
            if end_stream:
                self._out.append(b"0\r\n\r\n")
        elif mode == _LENGTH:
            if len(data) > self._remaining:
                raise ValueError(f"response body longer than its content-length on stream {stream_id}")
            self._remaining -= len(data)
            if data:
                self._out.append(data)
            if end_stream and self._remaining:
                self._close = True  # a short body: the peer can only learn the truth from the close
        elif mode in (_EOF, _TUNNEL):
            if data:
                self._out.append(data)
        elif mode != _NONE:
            raise ValueError(f"no response body can be sent on stream {stream_id} now")
        if end_stream:
            if mode == _TUNNEL:
                self._close = True
            else:
                self._finish_response()

    def send_trailers(self, stream_id: int, trailers: HeaderMap) -> None:
        self._response_exchange(stream_id)
        if self._mode == _CHUNKED:
            self._out.append(trailers_block(trailers))
        elif self._mode in (_NOT_STARTED, _TUNNEL, _DONE):
            raise ValueError(f"trailers cannot be sent on stream {stream_id} now")
        elif self._mode == _LENGTH and self._remaining:
            self._close = True
        # Other framings have nowhere to put trailers: they are dropped and the body ends.
        self._finish_response()

    def _finish_response(self) -> None:
        ex = self._active
        assert ex is not None
        self._mode = _DONE
        self._active = None
        if not ex.request_complete:
            self._close = True  # unread request bytes follow: the connection cannot be reused
        if not self._queue:
            self._hold = False  # nothing pipelined yet: the next request's events go straight out
        if self._close:
            self._stopped = True

    def reset_stream(self, stream_id: int, reason: ResetReason) -> None:
        self._close = True
        self._stopped = True
        self._active = None
        self._mode = _DONE

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    @property
    def should_close(self) -> bool:
        return self._close


def _no_response(stream_id: int) -> ValueError:
    return ValueError(f"stream {stream_id} has no response in progress")


def _status_line(status: bytes) -> bytes:
    line = STATUS_LINES.get(status)
    if line is None:
        raise ValueError(f"invalid :status {status!r}")
    return line


def _decline_h2c(pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The request without its h2c offer: no upgrade or http2-settings fields, nor their Connection tokens."""
    out = []
    for name, value in pairs:
        if name == b"connection":
            kept = [t.strip() for t in value.split(b",") if t.strip().lower() not in _H2C_TOKENS]
            if kept:
                out.append((name, b", ".join(kept)))
        elif name not in _H2C_TOKENS:
            out.append((name, value))
    return out


def _absolute_form(url: bytes) -> tuple[bytes, bytes, bytes]:
    """Scheme, authority and path of an absolute-form target (its authority overrides Host, RFC 9112 3.2.2)."""
    scheme, sep, rest = url.partition(b"://")
    scheme = scheme.lower()
    if not sep or scheme not in (b"http", b"https"):
        raise CodecError("invalid request target")
    end = len(rest)
    for stop in (b"/", b"?"):
        index = rest.find(stop)
        if index != -1 and index < end:
            end = index
    authority, path = rest[:end], rest[end:]
    if _AUTHORITY.fullmatch(authority) is None:
        raise CodecError("invalid request target")
    if path[:1] != b"/":
        path = b"/" + path
    return scheme, authority, path
