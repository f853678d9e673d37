"""The h11 tokenizer: the pure-Python reference backend, driving the same codec callbacks as httptools.

h11 is a connection state machine, not a bare parser: it only reads the next request after a response was sent,
and only reads a response after a request. The adapters feed it stand-ins (an empty 200 after each request, a
bodiless request before each response, with the real method so HEAD is understood); the codecs write the real
messages themselves.

h11 is more lenient than llhttp's strict mode in places, so the raw bytes are checked before h11 reads them:
heads (bare CR or LF, control characters, obs-fold, repeated or list-valued Content-Length, unknown methods)
and chunked framing (size lines and extensions, chunk ends, trailer lines); values and methods after. Both
backends then accept and reject the same shapes. Known remaining differences, none of which lets the two
disagree on where a message ends: h11 refuses double spaces in the request line and llhttp accepts them;
llhttp refuses a tab after ``chunked`` (not a space) and h11 takes it as whitespace; llhttp fails some
errors earlier (the events before a ProtocolErrorReceived can differ); the status of a message with two
faults can differ (400 or 501) as each parser meets a different one first; llhttp skips empty lines between
an interim (1xx) response and the next one, h11 refuses them.
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
_BARE_CR_LF = re.compile(rb"\r(?!\n)|(?<!\r)\n")
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9a-zA-Z]+"
_QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
_EXT_VALUE = rb"(?:" + _TOKEN + rb"|" + _QUOTED + rb")?"
# llhttp's strict chunk-size line, quirks included (it accepts ``;=v`` and ``;n=``, refuses ``;`` and spaces).
_CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]+)(?:;+(?:" + _TOKEN + rb"(?:=" + _EXT_VALUE + rb")?|=" + _EXT_VALUE + rb"))*\r\n"
)
_TRAILER_LINE = re.compile(_TOKEN + rb":[^\x00-\x08\x0a-\x1f\x7f]*\r\n")
_SIZE, _DATA, _DATA_END, _TRAILERS, _DONE = range(5)
# Stand-in messages h11 is told we sent (see the module docstring); events are immutable, so built once.
_STAND_IN_RESPONSE = h11.Response(status_code=200, headers=[(b"content-length", b"0")])
_END = h11.EndOfMessage()
_STAND_IN_REQUESTS: dict[tuple[bytes, bool], h11.Request] = {}  # by method and upgrade
_MAX_LINE = 64 * 1024


def _head_cap(limits: CodecLimits) -> int:
    """h11's raw buffer cap: the codec's own limit on names and values, plus room for the punctuation
    (``: `` and CRLF per field), the start line and some whitespace, so the codec's exact count decides."""
    return limits.max_headers_kb * 1024 + 4 * (limits.max_headers_count + 1) + 4096


class _ChunkedChecker:
    """llhttp's strict chunked framing, checked on the raw body bytes before h11 reads them: h11 accepts looser
    chunk extensions and whitespace after a chunk size, bare LF, folding and controls in trailers.

    States: _SIZE (a size line) -> _DATA (that many bytes) -> _DATA_END (CRLF) -> _SIZE ...; a zero size goes
    to _TRAILERS (field lines until an empty one) -> _DONE, after which bytes belong to the next message.
    """

    __slots__ = ("_left", "_line", "_state")

    def __init__(self) -> None:
        self._state = _SIZE
        self._left = 0
        self._line = bytearray()

    def feed(self, data: bytes) -> str | None:
        """The first framing error in ``data``, if any."""
        pos, end = 0, len(data)
        while pos < end and self._state != _DONE:
            if self._state == _DATA:
                take = min(self._left, end - pos)
                pos += take
                self._left -= take
                if not self._left:
                    self._state = _DATA_END
                continue
            lf = data.find(b"\n", pos)
            stop = end if lf == -1 else lf + 1
            self._line += data[pos:stop]
            pos = stop
            if len(self._line) > _MAX_LINE:
                return "chunk size line or trailer too long"
            if lf != -1:
                error = self._complete_line(bytes(self._line))
                self._line.clear()
                if error is not None:
                    return error
        return None

    def _complete_line(self, line: bytes) -> str | None:
        if self._state == _SIZE:
            match = _CHUNK_LINE.fullmatch(line)
            if match is None:
                return "invalid chunk size line"
            if len(match.group(1).lstrip(b"0")) > 16:
                return "chunk size overflow"
            self._left = int(match.group(1), 16)
            self._state = _DATA if self._left else _TRAILERS
        elif self._state == _DATA_END:
            if line != b"\r\n":
                return "missing CRLF after chunk data"
            self._state = _SIZE
        elif line == b"\r\n":
            self._state = _DONE
        elif _TRAILER_LINE.fullmatch(line) is None:
            return "invalid trailer line"
        return None


class _H11Parser:
    __slots__ = ("_cap", "_chunks", "_codec", "_coding", "_conn", "_head", "_scanned", "_version")
    _role: type[h11.CLIENT] | type[h11.SERVER]
    _source: Source

    def __init__(self, codec: Any, limits: CodecLimits) -> None:
        self._codec = codec
        self._cap = _head_cap(limits)
        self._conn = self._new_connection(b"")
        self._version = "1.1"
        self._head: bytearray | None = None  # raw bytes of the head h11 is reading next, from its first byte
        self._scanned = 0
        self._chunks: _ChunkedChecker | None = None  # while a chunked body is read
        self._coding: bytes | None = None  # the Transfer-Encoding value of the last head, as received

    def _new_connection(self, pending: bytes) -> h11.Connection:
        """A fresh h11 state machine that has already received ``pending``."""
        conn = h11.Connection(self._role, max_incomplete_event_size=self._cap)
        if pending:
            conn.receive_data(pending)
        return conn

    def _receive(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            if not head:
                data = data.lstrip(b"\r\n")
            head += data
        elif self._chunks is not None:
            self._check_chunks(data)
        if data:
            self._conn.receive_data(data)

    def _start_body(self, fields: list[tuple[bytes, bytes]]) -> None:
        """After a head with a body: check a chunked one from its first byte (h11 already holds some)."""
        if any(name.lower() == b"transfer-encoding" for name, _ in fields):
            self._chunks = _ChunkedChecker()
            self._check_chunks(self._conn.trailing_data[0])

    def _check_chunks(self, data: bytes) -> None:
        assert self._chunks is not None
        error = self._chunks.feed(data)
        if error is not None:
            raise self._error(error)

    def http_version(self) -> str:
        return self._version

    errors = (h11.RemoteProtocolError,)  # what h11's next_event raises on a malformed message

    def failed(self, error: Exception, data: bytes) -> bytes:
        assert isinstance(error, h11.RemoteProtocolError)
        raise self._error(str(error), error.error_status_hint) from None

    def _error(self, message: str, status: int = 400) -> CodecError:
        if self._source is Source.UPSTREAM:
            status = 502
        return CodecError(message, status, self._source)

    def _head_ok(self) -> None:
        """Check the head h11 reads next, as its bytes arrive, for what h11 would quietly accept.

        Raw bytes are mirrored from the head's first byte (h11's unparsed buffer when it starts waiting for one);
        bare CR/LF and control characters fail as soon as they arrive, as in llhttp; folding and Content-Length
        shapes once the head is complete. May replace ``self._conn`` (skipping empty lines before a request).
        """
        head = self._head
        if head is None:
            pending = self._conn.trailing_data[0]
            if self._role is h11.SERVER and pending[:1] in (b"\r", b"\n"):
                pending = pending.lstrip(b"\r\n")  # llhttp skips empty lines before a request line; h11 refuses
                self._conn = self._new_connection(pending)
            head = self._head = bytearray(pending)
            self._scanned = 0
        start = max(0, self._scanned - 1)
        match = _HEAD_END.search(head, max(0, self._scanned - 2))
        end = match.end() if match is not None else len(head)
        bare = _BARE_CR_LF.search(head, start, end)
        if bare is not None and (match is not None or bare.start() != len(head) - 1 or head[-1] != 13):
            raise self._error("bare CR or LF in the message head")  # (a CR still awaiting its LF is fine)
        if _CONTROL.search(head, start, end) is not None:
            raise self._error("invalid character in the message head")
        self._scanned = end
        if match is None:
            return
        block = bytes(head[:end])
        if self._role is h11.SERVER and block.partition(b" ")[0] not in METHODS:
            raise self._error("invalid method")  # before h11 judges the fields, as llhttp fails on it first
        if _OBS_FOLD.search(block, 0, len(block) - 2):
            raise self._error("obsolete line folding in the message head")
        lengths = 0
        self._coding = None
        for line in block.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                lengths += 1
                if lengths > 1 or not value.strip(b" \t").isdigit():
                    raise self._error("invalid or repeated content-length")
            elif name == b"transfer-encoding":
                self._coding = value.strip(b" \t")  # h11 lowercases it; values are kept as received

    def _fields(self, fields: list[tuple[bytes, bytes]]) -> None:
        # Every value checked in one search (joined by a tab, which values may hold) before any is handed on.
        if invalid_value(b"\t".join([value for _, value in fields])):
            raise self._error("invalid character in a header value")
        on_header = self._codec.on_header
        for name, value in fields:
            if self._coding is not None and name.lower() == b"transfer-encoding":
                value = self._coding
            on_header(name, value)


class H11RequestParser(_H11Parser):
    __slots__ = ("_keep_alive_10", "_method", "_upgrade")
    _role = h11.SERVER
    _source = Source.DOWNSTREAM

    def __init__(self, codec: Any, limits: CodecLimits) -> None:
        super().__init__(codec, limits)
        self._method = b""
        self._upgrade = False
        self._keep_alive_10 = False

    def method(self) -> bytes:
        return self._method

    def feed(self, data: bytes) -> bytes | None:
        if not data:
            return None  # to h11, empty data means end of input
        self._receive(data)
        codec = self._codec
        while True:
            if self._conn.their_state is h11.IDLE:
                self._head_ok()
            conn = self._conn
            event = conn.next_event()
            if isinstance(event, h11.Data):
                codec.on_body(bytes(event.data))
            elif isinstance(event, h11.Request):
                self._head = None
                self._method = event.method
                self._version = event.http_version.decode()
                # A list, where iterating event.headers goes through Sequence.__getitem__ per field.
                fields = event.headers.raw_items()
                connection = []
                upgrade = []
                for name, value in fields:
                    name = name.lower()
                    if name == b"connection":
                        connection.append(value)
                    elif name == b"upgrade":
                        upgrade.append(value)
                tokens = connection_tokens(b",".join(connection))
                # The codec's (and llhttp's) rule; h11 would switch on an Upgrade header alone.
                self._upgrade = b"upgrade" in tokens and bool(upgrade) and upgrade[0].lower() != b"h2c"
                self._keep_alive_10 = self._version == "1.0" and b"keep-alive" in tokens
                codec.on_message_begin()
                codec.on_url(event.target)
                self._fields(fields)
                codec.on_headers_complete()
                self._start_body(fields)
            elif isinstance(event, h11.EndOfMessage):
                self._chunks = None
                self._fields(event.headers.raw_items())
                codec.on_message_complete()
                if self._upgrade:  # h11 now waits for our answer to its switch proposal
                    return bytes(conn.trailing_data[0])
                # The stand-in response lets h11 read the next pipelined request; the codec writes the real one.
                conn.send(_STAND_IN_RESPONSE)
                conn.send(_END)
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                elif self._keep_alive_10:
                    # h11 has no HTTP/1.0 keep-alive: a fresh state machine reads on from where this one stopped.
                    self._conn = self._new_connection(conn.trailing_data[0])
                else:
                    return None  # the request closes the connection: nothing after it is read
            else:
                return None  # NEED_DATA or PAUSED


class H11ResponseParser(_H11Parser):
    __slots__ = ("_bodiless", "_status")
    _role = h11.CLIENT
    _source = Source.UPSTREAM
    handles_head = True

    def __init__(self, codec: Any, limits: CodecLimits) -> None:
        super().__init__(codec, limits)
        self._status = 0
        self._bodiless = False  # the response answers HEAD

    def status_code(self) -> int:
        return self._status

    def expect_response(self, method: bytes, upgrade: bool) -> None:
        conn = self._conn
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        elif conn.their_state is not h11.IDLE:
            # h11 has no HTTP/1.0 keep-alive; the codec only sends again on a connection it judged reusable.
            conn = self._conn = self._new_connection(b"")
        request = _STAND_IN_REQUESTS.get((method, upgrade))
        if request is None:
            headers = [(b"host", b"upstream")]
            if upgrade:
                headers += [(b"connection", b"upgrade"), (b"upgrade", b"tunnel")]
            request = h11.Request(method=method, target=b"/", headers=headers)
            if method in METHODS:  # a bounded cache: a filter may set any method
                _STAND_IN_REQUESTS[method, upgrade] = request
        conn.send(request)
        self._bodiless = method == b"HEAD"
        conn.send(_END)
        self._head = bytearray()  # h11 holds nothing yet: empty lines before the response are skipped, as llhttp
        self._scanned = 0  # the previous response's offset means nothing in this head

    def feed(self, data: bytes) -> bytes | None:
        if not data:
            return None  # to h11, empty data means end of input
        self._receive(data)
        conn = self._conn
        codec = self._codec
        while True:
            if conn.their_state is h11.SEND_RESPONSE:
                self._head_ok()
            event = conn.next_event()
            if isinstance(event, h11.Data):
                codec.on_body(bytes(event.data))
            elif isinstance(event, h11.Response | h11.InformationalResponse):
                self._head = None
                self._status = event.status_code
                self._version = event.http_version.decode()
                codec.on_message_begin()
                fields = event.headers.raw_items()
                self._fields(fields)
                codec.on_headers_complete()
                if isinstance(event, h11.InformationalResponse):
                    if conn.their_state is h11.SWITCHED_PROTOCOL:
                        return bytes(conn.trailing_data[0])
                    codec.on_message_complete()
                elif not self._bodiless and event.status_code not in (204, 304):
                    self._start_body(fields)
            elif isinstance(event, h11.EndOfMessage):
                self._chunks = None
                self._fields(event.headers.raw_items())
                codec.on_message_complete()
                if conn.trailing_data[0]:
                    raise self._error("unexpected data after the response")
                return None
            else:
                return None  # NEED_DATA or PAUSED
