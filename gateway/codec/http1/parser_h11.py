"""The h11 tokenizer: the pure-Python reference backend, driving the same codec callbacks as httptools.

h11 is a connection state machine, not a bare parser: it only reads the next request after a response was sent,
and only reads a response after a request. The adapters feed it stand-ins (an empty 200 after each request, a
bodiless request before each response, with the real method so HEAD is understood); the codecs write the real
messages themselves.

h11 is more lenient than llhttp's strict mode in a few places, so each head is checked raw before h11 parses it
(bare CR or LF, obs-fold, repeated or list-valued Content-Length), and values and methods after: both backends
reject the same shapes. Known remaining differences, none of which lets the two disagree on where a message
ends: llhttp skips empty lines before a request line and h11 refuses them; h11 refuses double spaces in the
request line and llhttp accepts them; h11 allows whitespace after a chunk size and llhttp does not.
"""

from __future__ import annotations

import re
from typing import Any

import h11

from gateway.codec.api import CodecLimits
from gateway.codec.http1.common import METHODS, connection_tokens, invalid_value
from gateway.core.errors import CodecError, Source

_HEAD_END = re.compile(rb"\n\r?\n")  # where h11 ends a head (it accepts bare LF)
_OBS_FOLD = re.compile(rb"\r\n[ \t]")


def _head_cap(limits: CodecLimits) -> int:
    """h11's raw buffer cap: the codec's own limit on names and values, plus room for the punctuation
    (``: `` and CRLF per field), the start line and some whitespace, so the codec's exact count decides."""
    return limits.max_headers_kb * 1024 + 4 * (limits.max_headers_count + 1) + 4096


class _H11Parser:
    __slots__ = ("_codec", "_conn", "_head", "_scanned", "_source", "_version")

    def __init__(self, codec: Any, conn: h11.Connection, source: Source) -> None:
        self._codec = codec
        self._conn = conn
        self._source = source
        self._version = "1.1"
        self._head: bytearray | None = None  # raw bytes of the head h11 is reading next, from its first byte
        self._scanned = 0

    def http_version(self) -> str:
        return self._version

    def _error(self, message: str, status: int = 400) -> CodecError:
        if self._source is Source.UPSTREAM:
            status = 502
        return CodecError(message, status, self._source)

    def _head_ok(self) -> None:
        """Check the next head raw, once complete, for what h11 would quietly accept."""
        head = self._head
        if head is None:
            head = self._head = bytearray(self._conn.trailing_data[0])
            self._scanned = 0
        match = _HEAD_END.search(head, max(0, self._scanned - 2))
        if match is None:
            self._scanned = len(head)
            return
        block = bytes(head[: match.end()])
        crlf = block.count(b"\r\n")
        if block.count(b"\n") != crlf or block.count(b"\r") != crlf:
            raise self._error("bare CR or LF in the message head")
        if _OBS_FOLD.search(block, 0, len(block) - 2):
            raise self._error("obsolete line folding in the message head")
        lengths = 0
        for line in block.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                lengths += 1
                if lengths > 1 or not value.strip(b" \t").isdigit():
                    raise self._error("invalid or repeated content-length")

    def _fields(self, fields: list[tuple[bytes, bytes]]) -> None:
        on_header = self._codec.on_header
        for name, value in fields:
            if invalid_value(value):
                raise self._error("invalid character in a header value")
            on_header(name, value)


class H11RequestParser(_H11Parser):
    __slots__ = ("_cap", "_keep_alive_10", "_method", "_upgrade")

    def __init__(self, codec: Any, limits: CodecLimits) -> None:
        self._cap = _head_cap(limits)
        super().__init__(codec, h11.Connection(h11.SERVER, max_incomplete_event_size=self._cap), Source.DOWNSTREAM)
        self._method = b""
        self._upgrade = False
        self._keep_alive_10 = False

    def method(self) -> bytes:
        return self._method

    def feed(self, data: bytes) -> bytes | None:
        if not data:
            return None  # to h11, empty data means end of input
        conn = self._conn
        if self._head is not None:
            self._head += data
        conn.receive_data(data)
        codec = self._codec
        while True:
            if conn.their_state is h11.IDLE:
                self._head_ok()
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as error:
                raise self._error(str(error), error.error_status_hint) from None
            if isinstance(event, h11.Data):
                codec.on_body(bytes(event.data))
            elif isinstance(event, h11.Request):
                self._head = None
                if event.method not in METHODS:
                    raise self._error("invalid method")
                self._method = event.method
                self._version = event.http_version.decode()
                tokens = connection_tokens(b",".join([v for n, v in event.headers if n == b"connection"]))
                # The codec's (and llhttp's) rule; h11 would switch on an Upgrade header alone.
                upgrade = [v for n, v in event.headers if n == b"upgrade"]
                self._upgrade = b"upgrade" in tokens and bool(upgrade) and upgrade[0].lower() != b"h2c"
                self._keep_alive_10 = self._version == "1.0" and b"keep-alive" in tokens
                codec.on_message_begin()
                codec.on_url(event.target)
                self._fields(event.headers.raw_items())
                codec.on_headers_complete()
            elif isinstance(event, h11.EndOfMessage):
                self._fields(event.headers.raw_items())
                codec.on_message_complete()
                if self._upgrade:  # h11 now waits for our answer to its switch proposal
                    return bytes(conn.trailing_data[0])
                # The stand-in response lets h11 read the next pipelined request; the codec writes the real one.
                conn.send(h11.Response(status_code=200, headers=[(b"content-length", b"0")]))
                conn.send(h11.EndOfMessage())
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                elif self._keep_alive_10:
                    # h11 has no HTTP/1.0 keep-alive: a fresh state machine reads on from where this one stopped.
                    rest = conn.trailing_data[0]
                    conn = self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self._cap)
                    if rest:
                        conn.receive_data(rest)
                else:
                    return None  # the request closes the connection: nothing after it is read
            else:
                return None  # NEED_DATA or PAUSED


class H11ResponseParser(_H11Parser):
    __slots__ = ("_cap", "_status")
    handles_head = True

    def __init__(self, codec: Any, limits: CodecLimits) -> None:
        self._cap = _head_cap(limits)
        super().__init__(codec, h11.Connection(h11.CLIENT, max_incomplete_event_size=self._cap), Source.UPSTREAM)
        self._status = 0

    def status_code(self) -> int:
        return self._status

    def expect_response(self, method: bytes, upgrade: bool) -> None:
        conn = self._conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        elif conn.their_state is not h11.IDLE:
            # h11 has no HTTP/1.0 keep-alive; the codec only sends again on a connection it judged reusable.
            conn = self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=self._cap)
        headers = [(b"host", b"upstream")]
        if upgrade:
            headers += [(b"connection", b"upgrade"), (b"upgrade", b"tunnel")]
        conn.send(h11.Request(method=method, target=b"/", headers=headers))
        conn.send(h11.EndOfMessage())
        self._head = None

    def feed(self, data: bytes) -> bytes | None:
        if not data:
            return None  # to h11, empty data means end of input
        conn = self._conn
        if self._head is not None:
            self._head += data
        conn.receive_data(data)
        codec = self._codec
        while True:
            if conn.their_state is h11.SEND_RESPONSE:
                self._head_ok()
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as error:
                raise self._error(str(error)) from None
            if isinstance(event, h11.Data):
                codec.on_body(bytes(event.data))
            elif isinstance(event, h11.Response | h11.InformationalResponse):
                self._head = None
                self._status = event.status_code
                self._version = event.http_version.decode()
                codec.on_message_begin()
                self._fields(event.headers.raw_items())
                codec.on_headers_complete()
                if isinstance(event, h11.InformationalResponse):
                    if conn.their_state is h11.SWITCHED_PROTOCOL:
                        return bytes(conn.trailing_data[0])
                    codec.on_message_complete()
            elif isinstance(event, h11.EndOfMessage):
                self._fields(event.headers.raw_items())
                codec.on_message_complete()
                if conn.trailing_data[0]:
                    raise self._error("unexpected data after the response")
                return None
            else:
                return None  # NEED_DATA or PAUSED
