"""The one stream-event vocabulary every codec emits, for HTTP/1.1 and HTTP/2, downstream and upstream alike.

A codec's ``receive_data(bytes)`` returns a list of these. HTTP/1.1 numbers its streams 1, 3, 5... in arrival
order on a connection so that a pipelined request and its response share an id, as HTTP/2 streams do.

Each event writes its own ``__init__``: the one a dataclass generates would stay interpreted Python in the compiled
build (gateway/native.py), and events are made per message.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.errors import CodecError, ResetReason
from gateway.core.headers import HeaderMap


@dataclass(slots=True, init=False)
class HeadersReceived:
    """Request headers (server side) or final response headers (client side), pseudo-headers included."""

    stream_id: int
    headers: HeaderMap
    end_stream: bool

    def __init__(self, stream_id: int, headers: HeaderMap, end_stream: bool) -> None:
        self.stream_id = stream_id
        self.headers = headers
        self.end_stream = end_stream


@dataclass(slots=True, init=False)
class InformationalReceived:
    """A 1xx response (100 Continue, 103 Early Hints); never ends the stream. 101 is final: see HeadersReceived."""

    stream_id: int
    headers: HeaderMap

    def __init__(self, stream_id: int, headers: HeaderMap) -> None:
        self.stream_id = stream_id
        self.headers = headers


@dataclass(slots=True, init=False)
class DataReceived:
    """Body bytes; after an accepted Upgrade, tunnelled bytes in either direction."""

    stream_id: int
    data: bytes
    end_stream: bool

    def __init__(self, stream_id: int, data: bytes, end_stream: bool) -> None:
        self.stream_id = stream_id
        self.data = data
        self.end_stream = end_stream


@dataclass(slots=True, init=False)
class TrailersReceived:
    """Trailers; always end the stream."""

    stream_id: int
    trailers: HeaderMap

    def __init__(self, stream_id: int, trailers: HeaderMap) -> None:
        self.stream_id = stream_id
        self.trailers = trailers


@dataclass(slots=True, init=False)
class StreamReset:
    """The peer reset one stream (HTTP/2 RST_STREAM, or the HTTP/1.1 connection closed mid-message)."""

    stream_id: int
    reason: ResetReason

    def __init__(self, stream_id: int, reason: ResetReason) -> None:
        self.stream_id = stream_id
        self.reason = reason


@dataclass(slots=True, init=False)
class ProtocolErrorReceived:
    """The peer broke the protocol; for HTTP/1.1 the connection must close after the local reply, if any."""

    error: CodecError
    stream_id: int = 0

    def __init__(self, error: CodecError, stream_id: int = 0) -> None:
        self.error = error
        self.stream_id = stream_id


@dataclass(slots=True, init=False)
class ConnectionTerminated:
    """The peer ended the connection cleanly (EOF between messages, HTTP/2 GOAWAY)."""

    last_stream_id: int = 0

    def __init__(self, last_stream_id: int = 0) -> None:
        self.last_stream_id = last_stream_id


StreamEvent = (
    HeadersReceived
    | InformationalReceived
    | DataReceived
    | TrailersReceived
    | StreamReset
    | ProtocolErrorReceived
    | ConnectionTerminated
)
