"""The one stream-event vocabulary every codec emits, for HTTP/1.1 and HTTP/2, downstream and upstream alike.

A codec's ``receive_data(bytes)`` returns a list of these. HTTP/1.1 numbers its streams 1, 3, 5... in arrival
order on a connection so that a pipelined request and its response share an id, as HTTP/2 streams do.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.errors import CodecError, ResetReason
from gateway.core.headers import HeaderMap


@dataclass(slots=True)
class HeadersReceived:
    """Request headers (server side) or final response headers (client side), pseudo-headers included."""

    stream_id: int
    headers: HeaderMap
    end_stream: bool


@dataclass(slots=True)
class InformationalReceived:
    """A 1xx response (100 Continue, 103 Early Hints); never ends the stream. 101 is final: see HeadersReceived."""

    stream_id: int
    headers: HeaderMap


@dataclass(slots=True)
class DataReceived:
    """Body bytes; after an accepted Upgrade, tunnelled bytes in either direction."""

    stream_id: int
    data: bytes
    end_stream: bool


@dataclass(slots=True)
class TrailersReceived:
    """Trailers; always end the stream."""

    stream_id: int
    trailers: HeaderMap


@dataclass(slots=True)
class StreamReset:
    """The peer reset one stream (HTTP/2 RST_STREAM, or the HTTP/1.1 connection closed mid-message)."""

    stream_id: int
    reason: ResetReason


@dataclass(slots=True)
class ProtocolErrorReceived:
    """The peer broke the protocol; for HTTP/1.1 the connection must close after the local reply, if any."""

    error: CodecError
    stream_id: int = 0


@dataclass(slots=True)
class ConnectionTerminated:
    """The peer ended the connection cleanly (EOF between messages, HTTP/2 GOAWAY)."""

    last_stream_id: int = 0


StreamEvent = (
    HeadersReceived
    | InformationalReceived
    | DataReceived
    | TrailersReceived
    | StreamReset
    | ProtocolErrorReceived
    | ConnectionTerminated
)
