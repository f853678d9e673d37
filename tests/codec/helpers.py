"""Small helpers for codec tests: feeding whole or byte at a time, and folding events into comparable shapes."""

from __future__ import annotations

from gateway.codec.api import ClientCodec, ServerCodec
from gateway.core.events import DataReceived, StreamEvent
from gateway.core.headers import HeaderMap


def feed(codec: ServerCodec | ClientCodec, data: bytes, bytewise: bool = False) -> list[StreamEvent]:
    if not bytewise:
        return codec.receive_data(data)
    events: list[StreamEvent] = []
    for i in range(len(data)):
        events += codec.receive_data(data[i : i + 1])
    return events


def merged(events: list[StreamEvent]) -> list[StreamEvent]:
    """Adjacent DataReceived of one stream joined, so whole and byte-at-a-time feeding compare equal."""
    out: list[StreamEvent] = []
    for event in events:
        last = out[-1] if out else None
        if (
            type(event) is DataReceived
            and type(last) is DataReceived
            and last.stream_id == event.stream_id
            and not last.end_stream
        ):
            out[-1] = DataReceived(event.stream_id, last.data + event.data, event.end_stream)
        else:
            out.append(event)
    return out


def request(
    method: bytes = b"GET", path: bytes = b"/", authority: bytes = b"example.com", *extra: tuple[bytes, bytes]
) -> HeaderMap:
    return HeaderMap(
        [(b":method", method), (b":scheme", b"http"), (b":authority", authority), (b":path", path), *extra]
    )


def response(status: int = 200, *extra: tuple[bytes, bytes]) -> HeaderMap:
    return HeaderMap([(b":status", str(status).encode()), *extra])
