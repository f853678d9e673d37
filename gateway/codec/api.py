"""The sans-IO codec interface: bytes in, stream events out; calls in, bytes to send out.

Codecs own no sockets and no timers. A Protocol in ``net``/``http``/``upstream`` feeds ``receive_data`` with
what it read and writes ``data_to_send()`` after every call. The HTTP/1.1 backends (httptools, h11) and the
HTTP/2 codec all implement these, so the connection manager and the pools never branch on protocol.

HTTP/1.1 server codecs hand out one request at a time: bytes of a pipelined request that follow a complete
request are held until the response to it has been sent in full; ``resume()`` then parses them. That keeps
responses in order and means a smuggled second request is never seen before the first is answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.core.errors import ResetReason
from gateway.core.events import StreamEvent
from gateway.core.headers import HeaderMap


@dataclass(frozen=True, slots=True)
class CodecLimits:
    """Caps a peer cannot push past; defaults are Envoy's."""

    max_headers_kb: int = 60  # request/response header block size; over it -> 431 (downstream)
    max_headers_count: int = 100  # over it -> 431 (downstream)
    # Whether to accept request targets in absolute form and other lenient shapes is never configurable: we reject.


class ServerCodec(Protocol):
    """The downstream side of a connection: parses requests, serialises responses."""

    protocol: str  # "HTTP/1.0", "HTTP/1.1" (updated from the request line), or "HTTP/2"

    def receive_data(self, data: bytes) -> list[StreamEvent]: ...

    def receive_eof(self) -> list[StreamEvent]:
        """The peer half-closed; yields StreamReset for a request cut short, else ConnectionTerminated."""
        ...

    def resume(self) -> list[StreamEvent]:
        """Events for pipelined bytes held back while the previous response was in flight (HTTP/1.1 only).

        Also call it right after sending a 101: bytes that followed the Upgrade request come out as tunnel data.
        """
        ...

    def send_informational(self, stream_id: int, headers: HeaderMap) -> None:
        """A 1xx response (``:status`` 100 or 103) before the final one."""
        ...

    def send_headers(self, stream_id: int, headers: HeaderMap, end_stream: bool) -> None:
        """Response headers with ``:status``; the codec adds framing (content-length or chunked) as needed."""
        ...

    def send_data(self, stream_id: int, data: bytes | bytearray, end_stream: bool) -> None: ...

    def send_trailers(self, stream_id: int, trailers: HeaderMap) -> None: ...

    def reset_stream(self, stream_id: int, reason: ResetReason) -> None:
        """Abort a response. HTTP/1.1 cannot reset one stream: the connection must then close."""
        ...

    def data_to_send(self) -> bytes:
        """Bytes produced since the last call (possibly empty)."""
        ...

    @property
    def should_close(self) -> bool:
        """True once the connection must close after what is queued (Connection: close, HTTP/1.0, errors)."""
        ...


class ClientCodec(Protocol):
    """The upstream side of a connection: serialises requests, parses responses."""

    protocol: str

    def send_headers(self, stream_id: int, headers: HeaderMap, end_stream: bool) -> None:
        """Request headers with pseudo-headers; the codec writes the request line and framing."""
        ...

    def send_data(self, stream_id: int, data: bytes | bytearray, end_stream: bool) -> None: ...

    def send_trailers(self, stream_id: int, trailers: HeaderMap) -> None: ...

    def reset_stream(self, stream_id: int, reason: ResetReason) -> None: ...

    def receive_data(self, data: bytes) -> list[StreamEvent]: ...

    def receive_eof(self) -> list[StreamEvent]:
        """Ends a close-delimited body, or yields StreamReset(CONNECTION_TERMINATION) for a response cut short."""
        ...

    def data_to_send(self) -> bytes: ...

    def next_stream_id(self) -> int: ...

    @property
    def reusable(self) -> bool:
        """True when the last exchange completed and the connection may carry another request."""
        ...
