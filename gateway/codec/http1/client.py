"""The HTTP/1.1 client (upstream) codec: requests out as bytes, responses in as stream events.

State machine, one exchange at a time (no pipelining upstream):

    IDLE --send_headers--> request:  body mode (_LENGTH | _CHUNKED | _RAW for an Upgrade) -> DONE
                           response: AWAITING (1xx -> InformationalReceived, repeatable) -> BODY -> DONE
                                     or, on 101 to an Upgrade request, TUNNEL (raw bytes both ways)
    both DONE -> IDLE, and the connection is ``reusable`` unless it became BROKEN: the response said close or
    was close-delimited, it came before the request was fully sent, a protocol error, a reset, unexpected
    bytes, a refused Upgrade. Once a BROKEN connection's response is done, nothing more is parsed.

The response body's framing depends on the request: a response to HEAD has none, whatever its headers say.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Final

from gateway.codec.api import CodecLimits
from gateway.codec.http1.common import (
    BODY_METHODS,
    FORBIDDEN_IN_VALUE,
    FRAMING,
    Pair,
    ResponseParser,
    SkipBody,
    connection_tokens,
    field_collector,
    is_length,
    length_to_send,
    over_limits,
    parse_content_length,
    request_head,
    trailers_block,
)
from gateway.core.errors import CodecError, ResetReason, Source
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

# Request body modes.
_LENGTH: Final = 0
_CHUNKED: Final = 1
_RAW: Final = 2
_DONE: Final = 3

_WATCHED: Final = frozenset((b"content-length", b"transfer-encoding", b"connection"))
# The :status field of a response head, by code (the usual ones; others are formatted).
_STATUS: Final = {code: (b":status", b"%d" % code) for code in range(100, 600)}
_REQUEST_SPECIAL: Final = FRAMING | {b"host", b":method", b":scheme", b":authority", b":path"}
_CONTENT_LENGTH_0: Final = (b"content-length", b"0")
_CHUNKED_TE: Final = (b"transfer-encoding", b"chunked")
_CONNECTION_CLOSE: Final = (b"connection", b"close")
# The registered reason phrases ("OK", "Not Found"...): a set lookup spares most responses the search.
_REASONS: Final = frozenset(status.phrase.encode() for status in HTTPStatus)


def _upstream_error(message: str) -> CodecError:
    return CodecError(message, 502, Source.UPSTREAM)


class Http1ClientCodec:
    """HTTP/1.1 client codec over a response tokenizer built by ``parser_factory`` (httptools or h11)."""

    __slots__ = (
        "_broken",
        "_eof_body",
        "_ended",
        "_events",
        "_failed",
        "_fed",
        "_feed_start",
        "_fields",
        "_head",
        "_head_buf",
        "_head_start",
        "_informational",
        "_interim",
        "_keep_alive",
        "_max_bytes",
        "_max_count",
        "_next_id",
        "_out",
        "_parser",
        "_parser_factory",
        "_feed",
        "_status_code",
        "_http_version",
        "_handles_head",
        "_remaining",
        "_req_done",
        "_req_mode",
        "_resp_done",
        "_resp_started",
        "_stopped",
        "_stream_id",
        "_tunnel",
        "_upgrade",
        "on_header",
        "protocol",
    )

    def __init__(self, parser_factory: Callable[[Http1ClientCodec], ResponseParser], limits: CodecLimits) -> None:
        self.protocol = "HTTP/1.1"
        self._max_bytes = limits.max_headers_kb * 1024
        self._max_count = limits.max_headers_count
        self._next_id = 1
        self._stream_id = 0  # the exchange in progress; 0 when idle
        self._out: list[bytes] = []
        self._events: list[StreamEvent] = []
        self._broken = False  # never reusable again (see the module docstring)
        self._failed = False  # a ProtocolErrorReceived was emitted
        self._stopped = False  # nothing more is parsed: an error, or a broken connection's last response is done
        self._tunnel = False  # after a 101: raw bytes both ways
        self._req_mode = _DONE
        self._remaining = 0
        self._req_done = True
        self._resp_done = True
        self._resp_started = False
        self._head = False
        self._upgrade = False
        self._keep_alive = True
        self._eof_body = False
        self._informational = 0  # 1xx heads seen for the current request
        # The bytes of a response to HEAD, when the parser cannot skip its body (see _skipped_body).
        self._head_buf: bytearray | None = None
        self._ended = False  # the response being parsed has no body (or its end is known)
        self._interim = False  # the response being parsed is a 1xx
        # The parser's per-field callback only collects (a closure: no method frame); the head is checked once,
        # at on_headers_complete, trailers at on_message_complete.
        self._fields: list[Pair] = []
        self.on_header = field_collector(self._fields)
        # Bytes fed so far, at the start of the current feed, and at the start of the feed the current message
        # began in: a head that came in fewer bytes than the size limit cannot be over it (no need to count).
        self._fed = 0
        self._feed_start = 0
        self._head_start = 0
        self._parser_factory = parser_factory
        self._new_parser()

    def _new_parser(self) -> None:
        # What is called per message is kept bound here: through the Protocol-typed parser, every call would be a
        # generic method call (a lookup on the parser's type).
        parser = self._parser = self._parser_factory(self)
        self._feed: Callable[[bytes], bytes | None] = parser.feed
        self._status_code: Callable[[], int] = parser.status_code
        self._http_version: Callable[[], str] = parser.http_version
        self._handles_head = parser.handles_head

    def next_stream_id(self) -> int:
        stream_id = self._next_id
        self._next_id += 2
        return stream_id

    @property
    def reusable(self) -> bool:
        return self._stream_id == 0 and not self._broken

    # -- output --
    def send_headers(self, stream_id: int, headers: HeaderMap, end_stream: bool) -> None:
        if self._stream_id != 0 or self._broken:
            raise ValueError("the connection cannot carry another request now")
        if stream_id != self._next_id - 2:
            raise ValueError(f"stream {stream_id} was not handed out by next_stream_id()")
        method = path = authority = host = cl = conn = up = None
        fields: list[tuple[bytes, bytes]] = []
        for pair in headers.pairs():  # one pass picks out what the codec writes itself
            name = pair[0]
            if name in _REQUEST_SPECIAL:
                # In the order a request map holds them (pseudo-headers first): fewest comparisons.
                if name == b":method":
                    method = pair[1]
                elif name == b":scheme":
                    pass  # not written
                elif name == b":authority":
                    authority = pair[1]
                elif name == b":path":
                    path = pair[1]
                elif name == b"host":
                    host = pair[1]
                elif name == b"content-length":
                    cl = pair[1]
                elif name == b"connection":
                    conn = pair[1]
                elif name == b"upgrade":
                    up = pair[1]
                # the other hop-by-hop framing fields are not written
            else:
                fields.append(pair)  # other pseudo-headers too: request_head leaves them out
        if not method or not path:
            raise ValueError("request headers need :method and :path")
        if method == b"CONNECT":
            raise ValueError("CONNECT is not supported")
        host = authority if authority is not None else host
        if host is not None:
            fields.insert(0, (b"host", host))
        tokens = connection_tokens(conn) if conn is not None else ()
        upgrade = up is not None and b"upgrade" in tokens
        if upgrade:
            assert up is not None
            fields += ((b"connection", b"upgrade"), (b"upgrade", up))
            mode = _RAW
        elif cl is not None:
            self._remaining = length_to_send(cl)
            fields.append((b"content-length", cl))
            mode = _LENGTH if self._remaining else _DONE
        elif end_stream:
            if method in BODY_METHODS:
                fields.append(_CONTENT_LENGTH_0)
            mode = _DONE
        else:
            fields.append(_CHUNKED_TE)
            mode = _CHUNKED
        if b"close" in tokens:
            fields.append(_CONNECTION_CLOSE)
        self._out.append(request_head(method, path, fields))
        if b"close" in tokens:
            self._broken = True  # the caller wants this to be the last request
        self._stream_id = stream_id
        self._req_mode = mode
        self._req_done = end_stream and not upgrade
        self._resp_done = False
        self._resp_started = False
        self._head = method == b"HEAD"
        self._upgrade = upgrade
        self._keep_alive = True
        self._eof_body = False
        self._informational = 0
        if self._handles_head:
            self._parser.expect_response(method, upgrade)
        else:
            self._head_buf = bytearray() if self._head else None
        if end_stream and mode == _LENGTH:
            self._broken = True  # content-length promised a body that will never come

    def _request_exchange(self, stream_id: int) -> None:
        if stream_id != self._stream_id or self._stream_id == 0:
            raise ValueError(f"stream {stream_id} has no request in progress")

    def send_data(self, stream_id: int, data: bytes | bytearray, end_stream: bool) -> None:
        self._request_exchange(stream_id)
        mode = self._req_mode
        if type(data) is not bytes:
            data = bytes(data)  # callers may reuse their buffer once we return
        if mode == _CHUNKED:
            if data:
                self._out += (b"%x\r\n" % len(data), data, b"\r\n")
            if end_stream:
                self._out.append(b"0\r\n\r\n")
        elif mode == _LENGTH:
            if len(data) > self._remaining:
                raise ValueError(f"request body longer than its content-length on stream {stream_id}")
            self._remaining -= len(data)
            if data:
                self._out.append(data)
            if end_stream and self._remaining:
                self._broken = True
        elif mode == _RAW:
            if data:
                self._out.append(data)
            if end_stream:
                self._broken = True  # a tunnel's end closes the connection
        elif data or not end_stream:
            raise ValueError(f"no request body can be sent on stream {stream_id} now")
        if end_stream:
            self._request_done()

    def send_trailers(self, stream_id: int, trailers: HeaderMap) -> None:
        self._request_exchange(stream_id)
        if self._req_mode == _CHUNKED:
            self._out.append(trailers_block(trailers))
        elif self._req_mode == _LENGTH and self._remaining:
            self._broken = True
        self._request_done()

    def _request_done(self) -> None:
        self._req_mode = _DONE
        self._req_done = True
        if self._resp_done:
            self._stream_id = 0

    def reset_stream(self, stream_id: int, reason: ResetReason) -> None:
        self._broken = True
        self._stopped = True
        self._stream_id = 0

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    # -- input --
    def receive_data(self, data: bytes) -> list[StreamEvent]:
        if self._tunnel:
            return [DataReceived(self._stream_id, data, False)] if data else []
        if self._stopped or not data:
            return []
        if self._stream_id == 0 or self._resp_done:
            # Bytes no request asked for (a stray 408, garbage): the connection cannot be trusted again.
            self._broken = True
            self._stopped = True
            return []
        events: list[StreamEvent] = []
        self._events = events
        if self._head_buf is not None:
            self._head_buf += data
        fed = self._feed_start = self._fed
        self._fed = fed + len(data)
        try:
            try:
                tail = self._feed(data)
            except self._parser.errors as error:
                tail = self._parser.failed(error, data)
            if self._fields and self._over_limits():
                raise _upstream_error("response headers too large")  # a head (or trailers) still arriving
        except SkipBody:
            self._skipped_body()
        except CodecError as error:
            if not self._resp_done:  # else: junk after a complete response, which only spoils the connection
                events.append(ProtocolErrorReceived(error, self._stream_id))
                self._failed = True
            self._broken = True
            self._stopped = True
        else:
            if tail is not None and self._tunnel and tail:
                events.append(DataReceived(self._stream_id, tail, False))
        return events

    def receive_eof(self) -> list[StreamEvent]:
        self._broken = True
        if self._tunnel:
            self._tunnel = False
            self._stopped = True
            return [DataReceived(self._stream_id, b"", True)]
        if self._failed:
            return []  # the stream already got its ProtocolErrorReceived
        self._stopped = True
        stream_id = self._stream_id
        if stream_id == 0 or self._resp_done:
            return [ConnectionTerminated(stream_id)]
        if self._resp_started and self._eof_body:
            self._response_done()
            return [DataReceived(stream_id, b"", True)]
        self._stream_id = 0
        return [StreamReset(stream_id, ResetReason.CONNECTION_TERMINATION)]

    def _skipped_body(self) -> None:
        """After the head of a response to HEAD ended parsing early: was anything sent after it?"""
        buf = self._head_buf
        assert buf is not None
        self._head_buf = None
        ends = buf.count(b"\r\n\r\n")
        if not buf.endswith(b"\r\n\r\n") or ends != self._informational + 1:
            self._broken = True
            self._stopped = True
        self._new_parser()  # the old one stopped mid-message

    # -- parser callbacks --
    def on_message_begin(self) -> None:
        if self._resp_done:
            raise _upstream_error("unexpected data after the response")
        self._head_start = self._feed_start

    def _over_limits(self) -> bool:
        return over_limits(self._fields, 0, self._max_bytes, self._max_count)

    def on_status(self, reason: bytes) -> None:
        # llhttp lets control characters through in a reason phrase (h11's backend checks the raw head).
        if reason not in _REASONS and FORBIDDEN_IN_VALUE.search(reason) is not None:
            raise _upstream_error("invalid character in the reason phrase")

    def on_headers_complete(self) -> None:
        fields = self._fields
        if (self._fed - self._head_start > self._max_bytes or len(fields) > self._max_count) and self._over_limits():
            raise _upstream_error("response headers too large")
        # One pass picks out the framing and connection fields, in order: the first fault decides the error.
        cl = conn = None
        chunked = False
        for name, value in fields:
            if name in _WATCHED:
                if name == b"content-length":
                    if cl is not None:
                        raise _upstream_error("multiple content-length headers")
                    cl = int(value) if is_length(value) else parse_content_length(value, Source.UPSTREAM)
                elif name == b"transfer-encoding":
                    if chunked or value.lower() != b"chunked":
                        raise _upstream_error("unsupported transfer encoding")
                    chunked = True
                else:
                    conn = value if conn is None else conn + b"," + value
        code = self._status_code()
        version = self._http_version()
        if version != "1.1" and version != "1.0":
            raise _upstream_error("unsupported HTTP version")
        status = _STATUS.get(code)
        pairs = [status if status is not None else (b":status", b"%d" % code)]
        pairs += fields
        fields.clear()  # from here on, fields are trailers (or the next 1xx's)
        stream_id = self._stream_id
        if code < 200 and code != 101:
            self._events.append(InformationalReceived(stream_id, HeaderMap.from_list(pairs)))
            self._informational += 1
            self._interim = True
            return
        self._resp_started = True
        if chunked and cl is not None:
            raise _upstream_error("both content-length and transfer-encoding")
        tokens = connection_tokens(conn) if conn is not None else ()
        self._keep_alive = (b"close" not in tokens) if version == "1.1" else (b"keep-alive" in tokens)
        if code == 101:
            if not self._upgrade:
                raise _upstream_error("101 response to a request that did not ask to upgrade")
            self._tunnel = True
            self._broken = True  # a tunnel never returns to HTTP
            self._req_mode = _RAW
            self._events.append(HeadersReceived(stream_id, HeaderMap.from_list(pairs), False))
            return
        if self._upgrade:
            self._broken = True  # a refused Upgrade: the request's end is unknown to the peer
        if self._head or code == 204 or code == 304:
            end_stream = True
        elif chunked:
            end_stream = False
        elif cl is not None:
            end_stream = cl == 0
        else:
            end_stream = False
            self._eof_body = True
            self._keep_alive = False
        self._ended = end_stream
        self._events.append(HeadersReceived(stream_id, HeaderMap.from_list(pairs), end_stream))
        if self._head and self._head_buf is not None:
            self._response_done()
            raise SkipBody

    def on_body(self, body: bytes) -> None:
        self._events.append(DataReceived(self._stream_id, body, False))

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        if self._tunnel:
            return
        if not self._ended:
            events = self._events
            stream_id = self._stream_id
            fields = self._fields
            if fields:
                # Trailers are counted against a fresh budget, as Envoy does.
                if self._over_limits():
                    raise _upstream_error("response headers too large")
                events.append(TrailersReceived(stream_id, HeaderMap.from_list(fields[:])))
                fields.clear()
            else:
                last = events[-1] if events else None
                if type(last) is DataReceived and last.stream_id == stream_id:
                    last.end_stream = True
                else:
                    events.append(DataReceived(stream_id, b"", True))
        self._response_done()

    def _response_done(self) -> None:
        self._resp_done = True
        if not self._keep_alive or not self._req_done:
            self._broken = True  # closing, or the request was cut short by an early response
        if self._broken:
            self._stopped = True
        if self._req_done:
            self._stream_id = 0
