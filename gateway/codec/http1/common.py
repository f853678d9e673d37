"""Pieces shared by the HTTP/1.1 server and client codecs: the parser contract, framing rules, header writing.

Both parser backends drive the codecs through the same callbacks (httptools' protocol shape: ``on_message_begin``,
``on_url``/``on_status``, ``on_header``, ``on_headers_complete``, ``on_body``, ``on_message_complete``), so the
state machines, limits and smuggling checks live once, in the codecs, and a backend is only a tokenizer.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Protocol

from gateway.core.errors import CodecError, Source
from gateway.core.headers import HeaderMap


class Parser(Protocol):
    """A tokenizer that calls back into a codec. ``feed`` raises CodecError on malformed input."""

    def feed(self, data: bytes) -> bytes | None:
        """Parse ``data``; after an Upgrade/101 head it stops and returns the bytes that follow it, raw."""
        ...

    def http_version(self) -> str:
        """``"1.0"`` or ``"1.1"`` (or whatever else the peer sent) of the message whose head just completed."""
        ...


class RequestParser(Parser, Protocol):
    def method(self) -> bytes: ...


class ResponseParser(Parser, Protocol):
    handles_head: bool  # False: the codec ends a response to HEAD itself by raising SkipBody, then replaces it

    def status_code(self) -> int: ...

    def expect_response(self, method: bytes, upgrade: bool) -> None:
        """Announce the request a response will answer (its method decides whether a body follows)."""
        ...


class SkipBody(Exception):
    """Raised from ``on_headers_complete`` when the codec knows no body follows but the parser cannot (HEAD)."""


# Connection-level and framing fields the codec writes itself; copies in a header map are never forwarded.
FRAMING = frozenset(
    (b"connection", b"transfer-encoding", b"keep-alive", b"proxy-connection", b"upgrade", b"content-length")
)

# Methods llhttp knows: the h11 backend refuses the others too, so both backends accept the same requests.
METHODS = frozenset(
    b"GET HEAD POST PUT DELETE OPTIONS TRACE PATCH PURGE QUERY COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH "
    b"UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE "
    b"MKCALENDAR LINK UNLINK SOURCE CONNECT".split()
)

# Methods whose requests normally carry a body: an empty one is framed with content-length: 0, as Envoy does.
BODY_METHODS = frozenset((b"POST", b"PUT", b"PATCH"))

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9a-zA-Z]+"
_TOKEN_RUN = re.compile(_TOKEN)
_TOKEN_LIST = re.compile(_TOKEN + rb"(?:\x00" + _TOKEN + rb")*")
_FORBIDDEN_IN_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _status_line(code: int) -> bytes:
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = "Unknown"
    return b"HTTP/1.1 %d %s\r\n" % (code, reason.encode())


STATUS_LINES = {code: _status_line(code) for code in range(100, 600)}


def status_line(code: int) -> bytes:
    line = STATUS_LINES.get(code)
    if line is None:
        raise ValueError(f"invalid :status {code}")
    return line


def connection_tokens(value: bytes) -> set[bytes]:
    """The lowercase tokens of a Connection header value (``b"Keep-Alive, Upgrade"`` -> {keep-alive, upgrade})."""
    return {t.strip().lower() for t in value.split(b",")}


def parse_content_length(value: bytes, source: Source) -> int:
    """Digits only (no sign, no list, no spaces), as llhttp and Envoy accept it."""
    if not value.isdigit() or len(value) > 18:
        raise CodecError("invalid content-length", 400, source)
    return int(value)


def check_field(name: bytes, value: bytes) -> None:
    """Reject what would split or corrupt a message we write: a non-token name, or CR/LF/NUL/CTL in a value."""
    if _TOKEN_RUN.fullmatch(name) is None or _FORBIDDEN_IN_VALUE.search(value) is not None:
        raise ValueError(f"invalid header field {name!r}: {value!r} in a message to send")


def check_block(names: list[bytes], values: list[bytes]) -> None:
    """``check_field`` over a whole block: two regex scans per message instead of two per field (hot path).

    Names are joined with NUL, which no token contains, so an empty or bad name breaks the match; values are
    joined with a tab, which values may contain, so only a forbidden byte inside some value is found.
    """
    if (names and _TOKEN_LIST.fullmatch(b"\x00".join(names)) is None) or _FORBIDDEN_IN_VALUE.search(
        b"\t".join(values)
    ) is not None:
        for name, value in zip(names, values, strict=True):
            check_field(name, value)


def invalid_value(value: bytes) -> bool:
    """True when a received value holds a control character (tab excepted), as llhttp's strict mode rejects."""
    return _FORBIDDEN_IN_VALUE.search(value) is not None


def trailers_block(trailers: HeaderMap) -> bytes:
    """The last chunk and trailer section of a chunked body."""
    parts = [b"0\r\n"]
    for name, value in trailers.pairs():
        if name[:1] == b":" or name in FRAMING:
            continue
        check_field(name, value)
        parts.append(b"%s: %s\r\n" % (name, value))
    parts.append(b"\r\n")
    return b"".join(parts)
