"""Differential tests: slightly broken messages must get the same verdict from both backends.

Valid messages are mutated (a byte inserted, deleted or replaced with one that matters to HTTP framing) and fed
to an httptools and an h11 codec. Both must accept with identical events or both reject. Excluded: the shapes
parser_h11's docstring lists as known differences, and messages still incomplete for either backend (one of
them may fail earlier than the other).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.codec import make_client_codec, make_server_codec
from gateway.codec.api import ClientCodec, ServerCodec
from gateway.core.events import HeadersReceived, ProtocolErrorReceived, StreamEvent, TrailersReceived
from gateway.core.headers import HeaderMap

REQUESTS = [
    b"POST /p?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-A: b, c\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    b"GET http://a.example/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
]
RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\n",
]
BYTES = [
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b":",
    b",",
    b";",
    b"=",
    b'"',
    b"0",
    b"a",
    b"A",
    b"\x00",
    b"\x7f",
    b"\xff",
    b"/",
]

mutations = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=1), st.sampled_from(["insert", "delete", "replace"]), st.sampled_from(BYTES)
    ),
    min_size=1,
    max_size=2,
)


def mutate(data: bytes, edits: list[tuple[float, str, bytes]]) -> bytes:
    out = bytearray(data)
    for where, op, byte in edits:
        pos = min(int(where * len(out)), len(out) - 1)
        if op == "insert":
            out[pos:pos] = byte
        elif op == "delete":
            del out[pos]
        else:
            out[pos : pos + 1] = byte
    return bytes(out)


def verdict(codec: ServerCodec | ClientCodec, data: bytes) -> tuple[list[StreamEvent] | str, bool]:
    """("rejected", True), or (events, whether the last message is complete)."""
    events = codec.receive_data(data)
    if any(isinstance(e, ProtocolErrorReceived) for e in events):
        return "rejected", True
    last = events[-1] if events else None
    complete = isinstance(last, TrailersReceived) or bool(getattr(last, "end_stream", False))
    upgrade = isinstance(last, HeadersReceived) and last.headers.get(b"upgrade") is not None
    return events, complete or upgrade


def known_difference(data: bytes) -> bool:
    return (
        b"  " in data.split(b"\r\n", 1)[0]
        or b"chunked\t" in data.lower()
        or re.match(rb"HTTP/1\.1 1\d\d [^\r\n]*\r\n\r\n[\r\n]", data) is not None
    )


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(REQUESTS), edits=mutations)
def test_requests_get_the_same_verdict(base: bytes, edits: list[tuple[float, str, bytes]]) -> None:
    data = mutate(base, edits)
    fast, fast_done = verdict(make_server_codec("httptools"), data)
    slow, slow_done = verdict(make_server_codec("h11"), data)
    if fast_done and slow_done and not known_difference(data):
        assert fast == slow, data


def _client(backend: str) -> ClientCodec:
    client = make_client_codec(backend)
    client.send_headers(
        client.next_stream_id(), HeaderMap([(b":method", b"GET"), (b":path", b"/"), (b"host", b"h")]), True
    )
    return client


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(RESPONSES), edits=mutations)
def test_responses_get_the_same_verdict(base: bytes, edits: list[tuple[float, str, bytes]]) -> None:
    data = mutate(base, edits)
    fast, fast_done = verdict(_client("httptools"), data)
    slow, slow_done = verdict(_client("h11"), data)
    if fast_done and slow_done and not known_difference(data):
        assert fast == slow, data
