"""Property tests: what one codec writes, the other reads back identically, however the bytes are split."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.codec import BACKENDS, make_client_codec, make_server_codec
from gateway.codec.api import ClientCodec, ServerCodec
from gateway.core.events import DataReceived, HeadersReceived, StreamEvent, TrailersReceived
from gateway.core.headers import HeaderMap

TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
FRAMING = {"connection", "transfer-encoding", "keep-alive", "proxy-connection", "upgrade", "content-length", "host"}

names = st.text(TOKEN, min_size=1, max_size=12).filter(lambda n: n not in FRAMING).map(str.encode)
# Field values: visible ASCII and obs-text, inner spaces and tabs; no surrounding whitespace (it is stripped).
_inner = st.binary(max_size=20).map(lambda b: bytes(c for c in b if c == 9 or 32 <= c <= 126 or c >= 128))
values = _inner.map(lambda v: v.strip(b" \t"))
fields = st.lists(st.tuples(names, values), max_size=8)
bodies = st.lists(st.binary(min_size=1, max_size=64), max_size=4)
backends = st.sampled_from(BACKENDS)
splits = st.lists(st.integers(min_value=1, max_value=64), max_size=12)
paths = st.text("abcXYZ019-._~!$&'()*+,;=:@/%?", max_size=20).map(lambda p: ("/" + p).encode())
authorities = st.from_regex(r"\A[a-z0-9.-]{1,20}(:[0-9]{1,5})?\Z").map(str.encode)


def split_feed(codec: ServerCodec | ClientCodec, data: bytes, cuts: list[int]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    pos = 0
    for cut in cuts:
        events += codec.receive_data(data[pos : pos + cut])
        pos += cut
    return events + (codec.receive_data(data[pos:]) if pos < len(data) else [])


def fold(events: list[StreamEvent]) -> tuple[HeaderMap | None, bytes, HeaderMap | None, bool]:
    """(headers, body, trailers, ended) of the first stream."""
    headers = trailers = None
    body = b""
    ended = False
    for event in events:
        if isinstance(event, HeadersReceived):
            headers, ended = event.headers, event.end_stream
        elif isinstance(event, DataReceived):
            body += event.data
            ended = event.end_stream
        elif isinstance(event, TrailersReceived):
            trailers, ended = event.trailers, True
        else:
            raise AssertionError(f"unexpected {event}")
    return headers, body, trailers, ended


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    writer=backends,
    reader=backends,
    method=st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS"]),
    path=paths,
    authority=authorities,
    extra=fields,
    body=bodies,
    framing=st.sampled_from(["length", "chunked"]),
    trailers=fields,
    cuts=splits,
)
def test_request_round_trip(
    writer: str,
    reader: str,
    method: bytes,
    path: bytes,
    authority: bytes,
    extra: list[tuple[bytes, bytes]],
    body: list[bytes],
    framing: str,
    trailers: list[tuple[bytes, bytes]],
    cuts: list[int],
) -> None:
    client = make_client_codec(writer)
    server = make_server_codec(reader)
    pseudo = [(b":method", method), (b":scheme", b"http"), (b":authority", authority), (b":path", path)]
    sent = HeaderMap(pseudo + extra)
    whole = b"".join(body)
    if framing == "length":
        sent.add(b"content-length", b"%d" % len(whole))
    sid = client.next_stream_id()
    client.send_headers(sid, sent, not body and not trailers)
    for chunk in body:
        client.send_data(sid, chunk, False)
    if trailers:
        client.send_trailers(sid, HeaderMap(trailers))
    elif body:
        client.send_data(sid, b"", True)
    wire = client.data_to_send()

    headers, got, got_trailers, ended = fold(split_feed(server, wire, cuts))
    expected = pseudo + extra
    if framing == "length":
        expected.append((b"content-length", b"%d" % len(whole)))
    elif body or trailers:
        expected.append((b"transfer-encoding", b"chunked"))
    elif method in (b"POST", b"PUT", b"PATCH"):
        expected.append((b"content-length", b"0"))
    assert headers == HeaderMap(expected)
    assert got == whole and ended
    chunked_trailers = trailers if framing == "chunked" and (body or trailers) else []
    assert got_trailers == (HeaderMap(chunked_trailers) if chunked_trailers else None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    writer=backends,
    reader=backends,
    status=st.integers(min_value=200, max_value=599),
    head=st.booleans(),
    extra=fields,
    body=bodies,
    framing=st.sampled_from(["length", "chunked"]),
    trailers=fields,
    cuts=splits,
)
def test_response_round_trip(
    writer: str,
    reader: str,
    status: int,
    head: bool,
    extra: list[tuple[bytes, bytes]],
    body: list[bytes],
    framing: str,
    trailers: list[tuple[bytes, bytes]],
    cuts: list[int],
) -> None:
    method = b"HEAD" if head else b"GET"
    server = make_server_codec(writer)
    client = make_client_codec(reader)
    sid = client.next_stream_id()
    client.send_headers(sid, HeaderMap([(b":method", method), (b":authority", b"h"), (b":path", b"/")]), True)
    server.receive_data(client.data_to_send())
    no_body = head or status in (204, 304)
    if status in (204, 304):
        body, trailers = [], []
    whole = b"".join(body)
    sent = HeaderMap([(b":status", b"%d" % status), *extra])
    if framing == "length" and status != 204:
        sent.add(b"content-length", b"%d" % len(whole))
    server.send_headers(sid, sent, not body and not trailers)
    for chunk in body:
        server.send_data(sid, chunk, False)
    if trailers:
        server.send_trailers(sid, HeaderMap(trailers))
    elif body:
        server.send_data(sid, b"", True)
    wire = server.data_to_send()

    headers, got, got_trailers, ended = fold(split_feed(client, wire, cuts))
    expected = [(b":status", b"%d" % status), *extra]
    if framing == "length" and status != 204:
        expected.append((b"content-length", b"%d" % len(whole)))
    elif not no_body and (body or trailers):
        expected.append((b"transfer-encoding", b"chunked"))
    elif not no_body:
        expected.append((b"content-length", b"0"))
    assert headers == HeaderMap(expected)
    assert ended
    assert got == (b"" if no_body else whole)
    chunked_trailers = trailers if framing == "chunked" and not no_body and (body or trailers) else []
    assert got_trailers == (HeaderMap(chunked_trailers) if chunked_trailers else None)
    assert client.reusable and not server.should_close


def _ends(event: StreamEvent) -> bool:
    return isinstance(event, TrailersReceived) or bool(getattr(event, "end_stream", False))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    backend=backends,
    requests=st.lists(st.tuples(paths, bodies, st.booleans()), min_size=1, max_size=4),
    cuts=st.lists(st.integers(min_value=1, max_value=40), max_size=30),
)
def test_pipelined_requests_come_out_one_at_a_time(
    backend: str, requests: list[tuple[bytes, list[bytes], bool]], cuts: list[int]
) -> None:
    wire = b""
    for path, body, chunked in requests:
        client = make_client_codec(backend)
        sid = client.next_stream_id()
        extra = [] if chunked else [(b"content-length", b"%d" % len(b"".join(body)))]
        client.send_headers(
            sid, HeaderMap([(b":method", b"POST"), (b":authority", b"h"), (b":path", path), *extra]), False
        )
        for chunk in body:
            client.send_data(sid, chunk, False)
        client.send_data(sid, b"", True)
        wire += client.data_to_send()

    server = make_server_codec(backend)
    seen: list[StreamEvent] = []

    def take(events: list[StreamEvent]) -> None:
        # Answer each request as soon as it is complete, then let the codec release the next one.
        while events:
            seen.extend(events)
            assert len({e.stream_id for e in events}) == 1, events  # type: ignore[union-attr]
            if not _ends(events[-1]):
                return
            server.send_headers(events[-1].stream_id, HeaderMap([(b":status", b"200")]), True)  # type: ignore[union-attr]
            events = server.resume()

    pos = 0
    for cut in [*cuts, len(wire)]:
        take(server.receive_data(wire[pos : pos + cut]))
        pos += cut
        if pos >= len(wire):
            break
    by_stream: dict[int, list[StreamEvent]] = {}
    for event in seen:
        by_stream.setdefault(event.stream_id, []).append(event)  # type: ignore[union-attr]
    assert sorted(by_stream) == [1 + 2 * i for i in range(len(requests))]
    for (path, body, _), stream_id in zip(requests, sorted(by_stream), strict=True):
        headers, got, _, ended = fold(by_stream[stream_id])
        assert headers is not None and headers.path == path
        assert got == b"".join(body) and ended
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n" * len(requests)
    assert not server.should_close
