"""Client (upstream) codec conformance: request serialisation, response parsing, reuse, limits, invalid responses."""

from __future__ import annotations

import pytest

from gateway.codec import make_client_codec
from gateway.codec.api import ClientCodec, CodecLimits
from gateway.core.errors import ResetReason, Source
from gateway.core.events import (
    ConnectionTerminated,
    DataReceived,
    HeadersReceived,
    InformationalReceived,
    ProtocolErrorReceived,
    StreamReset,
    TrailersReceived,
)
from gateway.core.headers import HeaderMap

from .helpers import feed, merged, request


@pytest.fixture
def client(backend: str) -> ClientCodec:
    return make_client_codec(backend)


def start(client: ClientCodec, headers: HeaderMap | None = None, end_stream: bool = True) -> int:
    stream_id = client.next_stream_id()
    client.send_headers(stream_id, headers or request(), end_stream)
    return stream_id


# -- serialisation --
def test_get_request_line_and_host(client: ClientCodec) -> None:
    start(client, request(b"GET", b"/p?q=1", b"up:8080", (b"accept", b"*/*")))
    assert client.data_to_send() == b"GET /p?q=1 HTTP/1.1\r\nhost: up:8080\r\naccept: */*\r\n\r\n"
    assert not client.reusable  # an exchange is in progress


def test_empty_post_gets_content_length_zero(client: ClientCodec) -> None:
    start(client, request(b"POST"))
    assert client.data_to_send() == b"POST / HTTP/1.1\r\nhost: example.com\r\ncontent-length: 0\r\n\r\n"


def test_streamed_body_is_chunked_with_trailers(client: ClientCodec) -> None:
    sid = start(client, request(b"POST"), end_stream=False)
    client.send_data(sid, b"hello", False)
    client.send_data(sid, b"", False)
    client.send_trailers(sid, HeaderMap([(b"x-sum", b"1")]))
    assert client.data_to_send() == (
        b"POST / HTTP/1.1\r\nhost: example.com\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 1\r\n\r\n"
    )


def test_content_length_body_is_raw(client: ClientCodec) -> None:
    sid = start(client, request(b"PUT", b"/", b"h", (b"content-length", b"4")), end_stream=False)
    client.send_data(sid, bytearray(b"ab"), False)
    client.send_data(sid, b"cd", True)
    assert client.data_to_send() == b"PUT / HTTP/1.1\r\nhost: h\r\ncontent-length: 4\r\n\r\nabcd"
    with pytest.raises(ValueError):
        client.send_data(sid, b"x", True)


def test_hop_by_hop_framing_headers_are_not_forwarded(client: ClientCodec) -> None:
    headers = request(
        b"GET",
        b"/",
        b"h",
        (b"host", b"stale"),
        (b"transfer-encoding", b"chunked"),
        (b"keep-alive", b"timeout=1"),
        (b"proxy-connection", b"keep-alive"),
        (b"connection", b"keep-alive"),
        (b"x", b"y"),
    )
    start(client, headers)
    assert client.data_to_send() == b"GET / HTTP/1.1\r\nhost: h\r\nx: y\r\n\r\n"


def test_host_header_used_without_authority(client: ClientCodec) -> None:
    start(client, HeaderMap([(b":method", b"GET"), (b":path", b"/"), (b"host", b"h")]))
    assert client.data_to_send() == b"GET / HTTP/1.1\r\nhost: h\r\n\r\n"


def test_connection_close_request_is_the_last(client: ClientCodec) -> None:
    sid = start(client, request(b"GET", b"/", b"h", (b"connection", b"close")))
    assert client.data_to_send() == b"GET / HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n"
    client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert sid == 1 and not client.reusable


def test_other_pseudo_headers_are_not_written(client: ClientCodec) -> None:
    # Wherever a filter left them, and also beside a field that must be refused.
    start(client, request(b"GET", b"/", b"h", (b":protocol", b"websocket"), (b"x", b"y"), (b":odd", b"z")))
    assert client.data_to_send() == b"GET / HTTP/1.1\r\nhost: h\r\nx: y\r\n\r\n"
    client.receive_data(b"HTTP/1.1 204 No Content\r\n\r\n")
    with pytest.raises(ValueError, match="invalid header"):
        start(client, request(b"GET", b"/", b"h", (b":protocol", b"websocket"), (b"x", b"a\nb")))


def test_request_line_is_checked_before_fields(client: ClientCodec) -> None:
    sid = client.next_stream_id()
    for method, target in ((b"GET", b"/a\tb"), (b"GET", b"/\xff"), (b"GET", b"/a\r\nb"), (b"G T", b"/")):
        with pytest.raises(ValueError, match="request line"):
            client.send_headers(sid, request(method, target, b"h", (b"x y", b"v")), True)
    assert client.data_to_send() == b""


def test_invalid_requests_are_refused(client: ClientCodec) -> None:
    with pytest.raises(ValueError, match="stream"):
        client.send_headers(1, request(), True)  # not handed out
    sid = client.next_stream_id()
    with pytest.raises(ValueError, match=":method"):
        client.send_headers(sid, HeaderMap([(b":path", b"/")]), True)
    with pytest.raises(ValueError, match="invalid header"):
        client.send_headers(sid, request(b"GET", b"/", b"h", (b"x", b"a\r\nevil: 1")), True)
    with pytest.raises(ValueError, match="invalid header"):
        client.send_headers(sid, request(b"GET", b"/", b"h", (b"x: y", b"v")), True)
    with pytest.raises(ValueError, match="request line"):
        client.send_headers(sid, request(b"GET", b"/a b"), True)
    with pytest.raises(ValueError, match="CONNECT"):
        client.send_headers(sid, request(b"CONNECT", b"h:443"), True)
    assert client.data_to_send() == b""
    client.send_headers(sid, request(), True)
    with pytest.raises(ValueError, match="cannot carry"):
        client.send_headers(client.next_stream_id(), request(), True)


# -- responses --
@pytest.mark.parametrize("bytewise", [False, True])
def test_content_length_response_and_reuse(client: ClientCodec, bytewise: bool) -> None:
    sid = start(client)
    events = merged(feed(client, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello", bytewise))
    assert events == [
        HeadersReceived(sid, HeaderMap([(b":status", b"200"), (b"content-length", b"5"), (b"x-a", b"b")]), False),
        DataReceived(sid, b"hello", True),
    ]
    assert client.reusable
    sid2 = start(client)
    assert sid2 == 3
    assert client.receive_data(b"HTTP/1.1 204 No Content\r\n\r\n") == [
        HeadersReceived(3, HeaderMap([(b":status", b"204")]), True)
    ]
    assert client.reusable


def test_keep_alive_responses_as_nginx_sends_them(client: ClientCodec) -> None:
    # Each head is checked from its own start: a scan position carried over from the previous response once made
    # every second response on a reused connection a "bare CR or LF" error (h11 backend).
    response = (
        b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 22:34:13 GMT\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 20\r\nConnection: keep-alive\r\n\r\nhello from upstream\n"
    )
    for _ in range(4):
        sid = start(client)
        events = client.receive_data(response)
        assert [type(e) for e in events] == [HeadersReceived, DataReceived], events
        assert events[0].stream_id == sid and client.reusable


@pytest.mark.parametrize("bytewise", [False, True])
def test_chunked_response_with_trailers(client: ClientCodec, bytewise: bool) -> None:
    sid = start(client)
    data = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nGrpc-Status: 0\r\n\r\n"
    )
    events = merged(feed(client, data, bytewise))
    assert isinstance(events[0], HeadersReceived) and not events[0].end_stream
    assert events[1:] == [
        DataReceived(sid, b"abcde", False),
        TrailersReceived(sid, HeaderMap([(b"grpc-status", b"0")])),
    ]
    assert client.reusable


def test_close_delimited_response_ends_at_eof(client: ClientCodec) -> None:
    sid = start(client)
    events = client.receive_data(b"HTTP/1.1 200 OK\r\n\r\nsome")
    assert events[1:] == [DataReceived(sid, b"some", False)]
    assert client.receive_data(b" more") == [DataReceived(sid, b" more", False)]
    assert client.receive_eof() == [DataReceived(sid, b"", True)]
    assert not client.reusable


@pytest.mark.parametrize("bytewise", [False, True])
def test_head_response_has_no_body(client: ClientCodec, bytewise: bool) -> None:
    sid = start(client, request(b"HEAD"))
    events = feed(client, b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", bytewise)
    assert events == [HeadersReceived(sid, HeaderMap([(b":status", b"200"), (b"content-length", b"1234")]), True)]
    assert client.reusable
    sid = start(client)
    assert client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")[1:] == [
        DataReceived(sid, b"ok", True)
    ]
    assert client.reusable


def test_head_response_followed_by_junk_is_not_reused(client: ClientCodec) -> None:
    start(client, request(b"HEAD"))
    events = client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    assert [type(e) for e in events] == [HeadersReceived]
    assert not client.reusable


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_ignore_content_length(client: ClientCodec, status: int) -> None:
    sid = start(client)
    events = client.receive_data(b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status)
    assert events == [HeadersReceived(sid, HeaderMap([(b":status", b"%d" % status), (b"content-length", b"10")]), True)]
    assert client.reusable


@pytest.mark.parametrize("bytewise", [False, True])
def test_informational_responses(client: ClientCodec, bytewise: bool) -> None:
    sid = start(client, request(b"POST", b"/", b"h", (b"expect", b"100-continue")), end_stream=False)
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    )
    events = feed(client, data, bytewise)
    assert events == [
        InformationalReceived(sid, HeaderMap([(b":status", b"100")])),
        InformationalReceived(sid, HeaderMap([(b":status", b"103"), (b"link", b"</s.css>")])),
        HeadersReceived(sid, HeaderMap([(b":status", b"200"), (b"content-length", b"0")]), True),
    ]
    assert not client.reusable  # the response came before the request body ended
    assert client.data_to_send().endswith(b"expect: 100-continue\r\ntransfer-encoding: chunked\r\n\r\n")


def test_head_response_after_an_informational_one(client: ClientCodec) -> None:
    sid = start(client, request(b"HEAD"))
    events = client.receive_data(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
    assert [type(e) for e in events] == [InformationalReceived, HeadersReceived]
    assert events[-1].stream_id == sid and client.reusable


def test_upgrade_tunnel(client: ClientCodec) -> None:
    headers = request(b"GET", b"/ws", b"h", (b"connection", b"Upgrade"), (b"upgrade", b"websocket"))
    sid = start(client, headers, end_stream=False)
    assert client.data_to_send() == b"GET /ws HTTP/1.1\r\nhost: h\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n"
    events = client.receive_data(
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nRAW"
    )
    assert isinstance(events[0], HeadersReceived) and not events[0].end_stream and events[0].headers.status == 101
    assert events[1:] == [DataReceived(sid, b"RAW", False)]
    assert client.receive_data(b"HTTP/1.1 more") == [DataReceived(sid, b"HTTP/1.1 more", False)]
    client.send_data(sid, b"\x81\x00", False)
    assert client.data_to_send() == b"\x81\x00"
    assert client.receive_eof() == [DataReceived(sid, b"", True)]
    assert not client.reusable


def test_refused_upgrade_is_not_reused(client: ClientCodec) -> None:
    headers = request(b"GET", b"/ws", b"h", (b"connection", b"upgrade"), (b"upgrade", b"websocket"))
    sid = start(client, headers, end_stream=False)
    events = client.receive_data(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert events == [HeadersReceived(sid, HeaderMap([(b":status", b"404"), (b"content-length", b"0")]), True)]
    assert not client.reusable


@pytest.mark.parametrize(
    ("head", "reusable"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
    ],
)
def test_reusable_follows_the_response(backend: str, head: bytes, reusable: bool) -> None:
    client = make_client_codec(backend)
    start(client)
    events = client.receive_data(head)
    assert isinstance(events[-1], HeadersReceived) and events[-1].end_stream
    assert client.reusable is reusable
    if reusable:
        start(client)
        assert client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")[-1] == DataReceived(3, b"x", True)


def test_unexpected_bytes_spoil_the_connection(client: ClientCodec) -> None:
    start(client)
    client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert client.reusable
    assert client.receive_data(b"HTTP/1.1 408 Request Timeout\r\n\r\n") == []
    assert not client.reusable


def test_unexpected_bytes_after_a_response_in_the_same_read(client: ClientCodec) -> None:
    sid = start(client)
    events = client.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxJUNK")
    assert events[1:] == [DataReceived(sid, b"x", True)]
    assert not client.reusable


@pytest.mark.parametrize(
    "partial",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nCont",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
    ],
)
def test_eof_before_the_response_ends_resets(client: ClientCodec, partial: bytes) -> None:
    sid = start(client)
    client.receive_data(partial)
    assert client.receive_eof() == [StreamReset(sid, ResetReason.CONNECTION_TERMINATION)]
    assert not client.reusable


def test_eof_when_idle(client: ClientCodec) -> None:
    assert client.receive_eof() == [ConnectionTerminated(0)]
    assert not client.reusable


def test_response_header_limits_are_upstream_errors(backend: str) -> None:
    client = make_client_codec(backend, CodecLimits(max_headers_kb=1, max_headers_count=5))
    sid = start(client)
    (error,) = client.receive_data(b"HTTP/1.1 200 OK\r\nX: " + b"v" * 1100 + b"\r\n\r\n")
    assert isinstance(error, ProtocolErrorReceived) and error.stream_id == sid
    assert error.error.source is Source.UPSTREAM and error.error.status == 502
    assert not client.reusable
    client = make_client_codec(backend, CodecLimits(max_headers_kb=1, max_headers_count=5))
    start(client)
    (error,) = client.receive_data(b"HTTP/1.1 200 OK\r\n" + b"X: v\r\n" * 6 + b"\r\n")
    assert isinstance(error, ProtocolErrorReceived) and error.error.source is Source.UPSTREAM


INVALID_RESPONSES = {
    "cl_and_te": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    "cl_differing": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    "cl_repeated": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
    "cl_list": b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n",
    "te_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "te_gzip_chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "bad_chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "status_two_digits": b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
    "not_http": b"SSH-2.0-OpenSSH\r\n\r\n",
    "http_2_0": b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "space_before_colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "nul_in_value": b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n",
    "ctl_in_value": b"HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 0\r\n\r\n",
    "nul_in_reason": b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n",
    "unrequested_101": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
}


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("shape", sorted(INVALID_RESPONSES))
def test_invalid_response_is_an_upstream_protocol_error(backend: str, shape: str, bytewise: bool) -> None:
    client = make_client_codec(backend)
    sid = start(client)
    events = feed(client, INVALID_RESPONSES[shape], bytewise)
    errors = [e for e in events if isinstance(e, ProtocolErrorReceived)]
    assert len(errors) == 1 and events[-1] is errors[0], events
    assert errors[0].stream_id == sid and errors[0].error.source is Source.UPSTREAM
    assert not client.reusable
    assert client.receive_data(b"HTTP/1.1 200 OK\r\n\r\n") == []
    assert client.receive_eof() == []


def test_invalid_content_length_to_send_is_refused(client: ClientCodec) -> None:
    sid = client.next_stream_id()
    with pytest.raises(ValueError, match="content-length"):
        client.send_headers(sid, request(b"POST", b"/", b"h", (b"content-length", b"-1")), False)
    assert client.data_to_send() == b""


def test_default_response_head_limit_is_envoys_80_kib(backend: str) -> None:
    big = b"v" * (70 * 1024)
    client = make_client_codec(backend)
    start(client)
    events = client.receive_data(b"HTTP/1.1 200 OK\r\nX-Big: " + big + b"\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(events[0], HeadersReceived) and events[0].headers.get(b"x-big") == big
    client = make_client_codec(backend)
    start(client)
    (error,) = client.receive_data(b"HTTP/1.1 200 OK\r\nX-Big: " + big * 2 + b"\r\n\r\n")
    assert isinstance(error, ProtocolErrorReceived)
