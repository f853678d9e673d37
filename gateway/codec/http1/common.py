"""Pieces shared by the HTTP/1.1 server and client codecs: the parser contract, framing rules, header writing.

Both parser backends drive the codecs through the same callbacks (httptools' protocol shape: ``on_message_begin``,
``on_url`` (requests), ``on_header``, ``on_headers_complete``, ``on_body``, ``on_message_complete``), so the
state machines, limits and smuggling checks live once, in the codecs, and a backend is only a tokenizer.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Set
from http import HTTPStatus
from operator import itemgetter
from typing import Any, Final, Protocol

from gateway.core.errors import CodecError, Source
from gateway.core.headers import HeaderMap

Pair = tuple[bytes, bytes]


class Parser(Protocol):
    """A tokenizer that calls back into a codec.

    ``feed(data)`` parses; after an Upgrade/101 head it stops and returns the bytes that follow it, raw (else
    None). It raises CodecError on malformed input, or one of ``errors``, the backend's own exceptions, which
    ``failed`` turns into what ``feed`` should have returned or raised. So a codec calls httptools' C
    ``feed_data`` itself, with no Python frame between, and pays for translation only when something went wrong.
    """

    feed: Callable[[bytes], bytes | None]
    errors: tuple[type[Exception], ...]

    def failed(self, error: Exception, data: bytes) -> bytes:
        """For ``error`` raised by ``feed(data)``: the bytes after an Upgrade head, or raises a CodecError (or
        the exception a codec callback raised)."""
        ...

    def http_version(self) -> str:
        """``"1.0"`` or ``"1.1"`` (or whatever else the peer sent) of the message whose head just completed."""
        ...


class RequestParser(Parser, Protocol):
    def method(self) -> bytes: ...


class ResponseParser(Parser, Protocol):
    # True: the parser frames a response by its request, announced through expect_response (h11). False: the
    # codec never calls expect_response and ends a response to HEAD itself by raising SkipBody, then replaces it.
    handles_head: bool

    def status_code(self) -> int: ...

    def expect_response(self, method: bytes, upgrade: bool) -> None:
        """Announce the request a response will answer (its method decides whether a body follows)."""
        ...


class SkipBody(Exception):
    """Raised from ``on_headers_complete`` when the codec knows no body follows but the parser cannot (HEAD)."""


# Connection-level and framing fields the codec writes itself; copies in a header map are never forwarded.
FRAMING: Final = frozenset(
    (b"connection", b"transfer-encoding", b"keep-alive", b"proxy-connection", b"upgrade", b"content-length")
)

# Methods llhttp knows: the h11 backend refuses the others too, so both backends accept the same requests.
METHODS: Final = frozenset(
    b"GET HEAD POST PUT DELETE OPTIONS TRACE PATCH PURGE QUERY COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH "
    b"UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE "
    b"MKCALENDAR LINK UNLINK SOURCE CONNECT".split()
)

# Methods whose requests normally carry a body: an empty one is framed with content-length: 0, as Envoy does.
BODY_METHODS: Final = frozenset((b"POST", b"PUT", b"PATCH"))

_TOKEN: Final = rb"[!#$%&'*+\-.^_`|~0-9a-zA-Z]+"
# A control character but tab: what no field value or reason phrase may hold.
FORBIDDEN_IN_VALUE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_TARGET: Final = re.compile(rb"[\x21-\x7e]+")  # what llhttp and h11 accept in a request target
# Maps a space, a tab and every non-ASCII byte to another byte, the rest to itself: a target it leaves unchanged
# holds none of them (controls are the head check's).
_NOT_IN_TARGET: Final = bytes.maketrans(b" \t" + bytes(range(0x80, 0x100)), b"\0" * 130)
_IS_TOKEN: Final = re.compile(_TOKEN)  # a method or a field name
# What no name or value we write may hold (values may hold tabs). Deleting these from a block we joined removes
# exactly our own CRLFs unless a field held one: one C pass checks every value (a regex costs twice as much).
_CONTROLS: Final = bytes(range(0x09)) + bytes(range(0x0A, 0x20)) + b"\x7f"


def _count_controls(data: bytes) -> int:
    """How many of ``_CONTROLS`` ``data`` holds (``_scan.controls`` in C, when built)."""
    return len(data) - len(data.translate(None, _CONTROLS))


def _native_scan() -> Any:
    try:
        return importlib.import_module("gateway.codec.http1._scan")
    except ImportError:
        return None


_SCAN: Final = _native_scan()
_CONTROL_COUNT: Final[Callable[[bytes], int]] = _SCAN.controls if _SCAN else _count_controls
# Names already seen to be tokens, so that checking a block's names is one C-level superset test. Capped, as
# peers choose names; past the cap, new names are checked each time.
_TOKENS: Final[set[bytes]] = set()
_MAX_TOKENS: Final = 4096
_NAME: Final = itemgetter(0)


def _status_line(code: int) -> bytes:
    try:
        reason = HTTPStatus(code).phrase
    except ValueError:
        reason = "Unknown"
    return b"HTTP/1.1 %d %s\r\n" % (code, reason.encode())


# Keyed by the ``:status`` value as it sits in a header map, so writing a response needs no int().
STATUS_LINES: Final = {b"%d" % code: _status_line(code) for code in range(100, 600)}


def field_collector(fields: list[Pair]) -> Callable[[bytes, bytes], None]:
    """The ``on_header`` callback: appends each field to ``fields``, name lowercased, trailing OWS stripped.

    The parser calls it once per field, so it does the least it can: two C methods and an append (a list
    primitive once compiled). Limits and framing fields are checked once per head by the codec, not per field.
    """

    def on_header(name: bytes, value: bytes) -> None:
        lowered = _LOWERCASE.get(name)
        if lowered is None:
            lowered = name.lower()
        # llhttp strips leading OWS only; trailing OWS is rare, and a method call costs more than two byte tests.
        if value and (value[-1] == 32 or value[-1] == 9):
            value = value.rstrip(b" \t")
        fields.append((lowered, value))

    return on_header


# The usual field names in the spellings peers send, mapped to our shared lowercase constants: a dict lookup
# is cheaper than bytes.lower() in the compiled build, and the constant's hash is cached for every later set
# or dict lookup by name (a name fresh from the parser is hashed again each time).
_USUAL_NAMES: Final = (
    b"accept accept-encoding accept-language accept-ranges age authorization cache-control connection "
    b"content-encoding content-length content-type cookie date etag expect expires host if-match "
    b"if-modified-since if-none-match keep-alive last-modified location origin pragma proxy-connection "
    b"referer server set-cookie te trailer transfer-encoding upgrade user-agent vary via x-forwarded-for "
    b"x-forwarded-proto x-request-id"
).split()
_LOWERCASE: Final[dict[bytes, bytes]] = {
    spelling: name
    for name in _USUAL_NAMES
    for spelling in (name, name.upper(), b"-".join(part.capitalize() for part in name.split(b"-")))
}


def over_limits(fields: list[Pair], size: int, max_bytes: int, max_count: int) -> bool:
    """Whether a header block (``size`` bytes of request target plus ``fields``) exceeds the codec's limits;
    names and values count, as Envoy counts them against ``max_request_headers_kb``."""
    if len(fields) > max_count:
        return True
    for name, value in fields:
        size += len(name) + len(value)
    return size > max_bytes


# The usual Connection values, tokenized once (many peers send one on every message).
_USUAL_CONNECTION: Final = {
    value: frozenset((value.lower(),))
    for value in (b"keep-alive", b"Keep-Alive", b"close", b"Close", b"upgrade", b"Upgrade")
}


def connection_tokens(value: bytes) -> Set[bytes]:
    """The lowercase tokens of a Connection header value (``b"Keep-Alive, Upgrade"`` -> {keep-alive, upgrade})."""
    tokens = _USUAL_CONNECTION.get(value)
    return tokens if tokens is not None else {t.strip().lower() for t in value.split(b",")}


# A Content-Length is digits only (no sign, no list, no spaces), as llhttp and Envoy accept it; 18 digits at most.
# The codecs test it with is_length on their hot paths and call the functions below only when it fails (they raise).
MAX_LENGTH_DIGITS: Final = 18
# Maps every byte but an ASCII digit to another byte: a value it leaves unchanged is digits only.
_NOT_DIGIT: Final = bytes.maketrans(bytes(c for c in range(256) if not 0x30 <= c <= 0x39), b"0" * 246)


def is_length(value: bytes) -> bool:
    """Whether ``value`` is a valid Content-Length. A translate() primitive, where isdigit() would be a generic
    method call in the compiled build."""
    return 0 < len(value) <= MAX_LENGTH_DIGITS and value.translate(_NOT_DIGIT) == value


def parse_content_length(value: bytes, source: Source) -> int:
    """A received Content-Length."""
    if is_length(value):
        return int(value)
    raise CodecError("invalid content-length", 400 if source is Source.DOWNSTREAM else 502, source)


def length_to_send(value: bytes) -> int:
    """A Content-Length in a header map we are asked to write."""
    if is_length(value):
        return int(value)
    raise ValueError(f"invalid content-length {value!r} in a message to send")


def encode_fields(fields: list[Pair]) -> bytes:
    """``name: value`` lines (CRLF-terminated) for a message we write, refusing what would split or corrupt it."""
    if not fields:
        return b""
    parts: list[bytes] = []
    _field_lines(parts, fields)
    block = b"".join(parts)
    if not _sound(block, fields, len(fields)):
        raise _refused(fields)
    return block


def _field_lines(parts: list[bytes], fields: list[Pair]) -> bool:
    """Append the CRLF-ended ``name: value`` lines of ``fields`` to ``parts``; True when every name is a known token.

    One flat join of the parts costs a fraction of a join per field (an allocation each), and the names are
    checked in the same pass, against the set that already holds them with their hashes."""
    known = True
    for name, value in fields:
        parts.append(name)
        parts.append(b": ")
        parts.append(value)
        parts.append(b"\r\n")
        if name not in _TOKENS:
            known = False
    return known


def encode_head(start_line: bytes, fields: list[Pair]) -> bytes:
    """A head we write: ``start_line`` (ours, checked, CRLF-terminated), the field lines and the empty line."""
    if not fields:
        return start_line + b"\r\n"
    head = _usual_head(start_line, fields)
    return head if head is not None else _checked_head(start_line, fields)


def _usual_head(start_line: bytes, fields: list[Pair]) -> bytes | None:
    """The head when nothing in it is unusual (every name a known token, no control character but our line ends),
    else None: the exact checks then decide. In C when the build is there (``_scan.head``)."""
    if _SCAN is not None:
        built: bytes | None = _SCAN.head(start_line, fields)
        return built
    parts = [start_line]
    known = _field_lines(parts, fields)
    parts.append(b"\r\n")
    head = b"".join(parts)
    return head if known and _CONTROL_COUNT(head) == 2 * len(fields) + 4 else None


def _checked_head(start_line: bytes, fields: list[Pair]) -> bytes:
    """encode_head's exact checks: names may be tokens not seen before; anything else is refused."""
    parts = [start_line]
    _field_lines(parts, fields)
    parts.append(b"\r\n")
    head = b"".join(parts)
    if not _sound(head, fields, len(fields) + 2):
        raise _refused(fields)
    return head


def request_head(method: bytes, target: bytes, fields: list[Pair]) -> bytes:
    """An HTTP/1.1 request head, refusing a request line or fields that would split or corrupt it. Pseudo-header
    fields (``:name``) are left out: callers pass a map's fields unfiltered, as a pseudo-header name is never a
    known token, so only the slow path pays for dropping them."""
    # The head's control check covers the target too, which leaves of _TARGET's test: not empty, ASCII, no space,
    # no tab (a translate() primitive that changes only those, instead of a regex). Any doubt goes to the exact
    # checks, which raise the precise error.
    if fields and target and method in METHODS and target.translate(_NOT_IN_TARGET) == target:
        head = _usual_head(b" ".join((method, target, b"HTTP/1.1\r\n")), fields)
        if head is not None:
            return head
    return _checked_request_head(method, target, fields)


def _checked_request_head(method: bytes, target: bytes, fields: list[Pair]) -> bytes:
    """request_head's slow path: the exact checks in order (request line, then fields), each with its error."""
    if (method not in METHODS and _IS_TOKEN.fullmatch(method) is None) or _TARGET.fullmatch(target) is None:
        raise ValueError(f"invalid request line {method!r} {target!r}")
    return encode_head(b"%s %s HTTP/1.1\r\n" % (method, target), [p for p in fields if p[0][:1] != b":"])


def _sound(text: bytes, fields: list[Pair], crlfs: int) -> bool:
    """Whether ``text``, joined from ``fields`` with ``crlfs`` line ends of our own, holds no other control
    character and only tokens for names; two C calls when the names were seen before."""
    if _CONTROL_COUNT(text) != 2 * crlfs:
        return False
    if _TOKENS.issuperset(map(_NAME, fields)):
        return True
    for name, _ in fields:
        if name not in _TOKENS:
            if _IS_TOKEN.fullmatch(name) is None:
                return False
            if len(_TOKENS) < _MAX_TOKENS:
                _TOKENS.add(name)
    return True


def _refused(fields: list[Pair]) -> ValueError:
    """The error for a header block that failed the checks, naming the first bad field."""
    bad = [f for f in fields if _IS_TOKEN.fullmatch(f[0]) is None or FORBIDDEN_IN_VALUE.search(f[1]) is not None]
    return ValueError(f"invalid header field {bad[:1]!r} in a message to send")


def invalid_value(value: bytes) -> bool:
    """True when a received value holds a control character (tab excepted), as llhttp's strict mode rejects."""
    return FORBIDDEN_IN_VALUE.search(value) is not None


def trailers_block(trailers: HeaderMap) -> bytes:
    """The last chunk and trailer section of a chunked body."""
    fields = [p for p in trailers.pairs() if p[0][:1] != b":" and p[0] not in FRAMING]
    return b"0\r\n" + encode_fields(fields) + b"\r\n"
