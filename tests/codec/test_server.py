"""Server (downstream) codec conformance: valid requests, framing of responses, pipelining, upgrade, limits."""

from __future__ import annotations

import pytest

from gateway.codec import make_server_codec
from gateway.codec.api import CodecLimits, ServerCodec
from gateway.core.errors import ResetReason
from gateway.core.events import (
    ConnectionTerminated,
    DataReceived,
    HeadersReceived,
    ProtocolErrorReceived,
    StreamReset,
    TrailersReceived,
)
from gateway.core.headers import HeaderMap

from .helpers import feed, merged, response

GET = b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n"


@pytest.fixture
def server(backend: str) -> ServerCodec:
    return make_server_codec(backend)


@pytest.mark.parametrize("bytewise", [False, True])
def test_simple_get(server: ServerCodec, bytewise: bool) -> None:
    events = feed(server, GET, bytewise)
    assert events == [
        HeadersReceived(
            1,
            HeaderMap(
                [
                    (b":method", b"GET"),
                    (b":scheme", b"http"),
                    (b":authority", b"example.com"),
                    (b":path", b"/a?b=1"),
                    (b"user-agent", b"t"),
                ]
            ),
            True,
        )
    ]
    assert server.protocol == "HTTP/1.1"
    assert not server.should_close


def test_names_lowercased_values_kept_ows_stripped(server: ServerCodec) -> None:
    (event,) = server.receive_data(b"GET / HTTP/1.1\r\nHOST: h\r\nX-Mixed:  \tA b\xff  \t\r\nX-Empty:\r\n\r\n")
    assert isinstance(event, HeadersReceived)
    assert event.headers.pairs()[3:] == [(b":path", b"/"), (b"x-mixed", b"A b\xff"), (b"x-empty", b"")]
    assert event.headers.authority == b"h"


def test_absolute_form_target_overrides_host(server: ServerCodec) -> None:
    (event,) = server.receive_data(b"GET HTTP://Up.example:8080?q=1 HTTP/1.1\r\nHost: other\r\n\r\n")
    assert isinstance(event, HeadersReceived)
    assert event.headers.pairs()[:4] == [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", b"Up.example:8080"),
        (b":path", b"/?q=1"),
    ]


def test_absolute_form_https_ipv6(server: ServerCodec) -> None:
    (event,) = server.receive_data(b"GET https://[::1]:8443/x/y HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n")
    assert isinstance(event, HeadersReceived)
    assert event.headers.pairs()[1:4] == [(b":scheme", b"https"), (b":authority", b"[::1]:8443"), (b":path", b"/x/y")]


def test_options_asterisk(server: ServerCodec) -> None:
    (event,) = server.receive_data(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
    assert isinstance(event, HeadersReceived)
    assert event.headers.path == b"*"


@pytest.mark.parametrize("bytewise", [False, True])
def test_content_length_body_streams(server: ServerCodec, bytewise: bool) -> None:
    head = b"POST /u HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"
    events = feed(server, head, bytewise)
    assert len(events) == 1 and isinstance(events[0], HeadersReceived) and not events[0].end_stream
    assert events[0].headers.get(b"content-length") == b"10"
    assert merged(feed(server, b"01234", bytewise)) == [DataReceived(1, b"01234", False)]
    assert merged(feed(server, b"56789", bytewise)) == [DataReceived(1, b"56789", True)]


@pytest.mark.parametrize("bytewise", [False, True])
def test_chunked_with_extensions_and_trailers(server: ServerCodec, bytewise: bool) -> None:
    data = (
        b"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value;flag\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc \r\nX-Other: 1\r\n\r\n"
    )
    events = merged(feed(server, data, bytewise))
    assert isinstance(events[0], HeadersReceived) and not events[0].end_stream
    assert events[1:] == [
        DataReceived(1, b"hello0123456789", False),
        TrailersReceived(1, HeaderMap([(b"x-checksum", b"abc"), (b"x-other", b"1")])),
    ]


def test_chunked_without_trailers_ends_with_data(server: ServerCodec) -> None:
    data = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    assert server.receive_data(data)[1:] == [DataReceived(1, b"abc", True)]


def test_pipelined_requests_are_held_until_the_response_is_sent(server: ServerCodec) -> None:
    second = b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody"
    third = b"GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
    events = server.receive_data(GET + second + third[:10])
    assert [type(e) for e in events] == [HeadersReceived]
    assert server.resume() == []  # the first response is not written yet
    assert server.receive_data(third[10:]) == []
    server.send_headers(1, response(200, (b"content-length", b"2")), False)
    assert server.resume() == []
    server.send_data(1, b"ok", True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    events = server.resume()
    assert [(type(e), e.stream_id) for e in events] == [(HeadersReceived, 3), (DataReceived, 3)]
    assert isinstance(events[1], DataReceived) and events[1].data == b"body" and events[1].end_stream
    assert server.resume() == []
    server.send_headers(3, response(204), True)
    (event,) = server.resume()
    assert isinstance(event, HeadersReceived) and event.stream_id == 5 and event.headers.path == b"/3"
    assert server.resume() == []


def test_pipelined_request_still_arriving_streams_after_resume(server: ServerCodec) -> None:
    server.receive_data(GET + b"POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nab")
    server.send_headers(1, response(200), True)
    events = server.resume()
    assert [type(e) for e in events] == [HeadersReceived, DataReceived]
    assert server.receive_data(b"cdef") == [DataReceived(3, b"cdef", True)]


def test_keep_alive_by_default_then_connection_close(server: ServerCodec) -> None:
    server.receive_data(GET)
    server.send_headers(1, response(200), True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    assert not server.should_close
    (event,) = server.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert event.stream_id == 3
    server.send_headers(3, response(200), True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    assert server.should_close


def test_response_connection_close_is_honoured(server: ServerCodec) -> None:
    server.receive_data(GET)
    server.send_headers(1, response(200, (b"connection", b"close"), (b"content-length", b"0")), True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    assert server.should_close


def test_http10_closes_unless_keep_alive(server: ServerCodec) -> None:
    (event,) = server.receive_data(b"GET / HTTP/1.0\r\n\r\n")
    assert isinstance(event, HeadersReceived)
    assert event.headers.authority is None and event.headers.pairs()[:3] == [
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":path", b"/"),
    ]
    assert server.protocol == "HTTP/1.0"
    server.send_headers(1, response(200), False)
    server.send_data(1, b"close-delimited", True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nclose-delimited"
    assert server.should_close


def test_http10_keep_alive(server: ServerCodec) -> None:
    server.receive_data(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    server.send_headers(1, response(200, (b"content-length", b"2")), False)
    server.send_data(1, b"ok", True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok"
    assert not server.should_close
    (event,) = server.receive_data(b"GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert event.stream_id == 3


def test_head_response_carries_length_but_no_body(server: ServerCodec) -> None:
    server.receive_data(b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
    server.send_headers(1, response(200, (b"content-length", b"1234")), False)
    server.send_data(1, b"", True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n"
    assert not server.should_close


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(server: ServerCodec, status: int) -> None:
    server.receive_data(GET)
    server.send_headers(1, response(status, (b"transfer-encoding", b"chunked")), False)
    server.send_data(1, b"", True)
    assert server.data_to_send() == b"HTTP/1.1 %d %s\r\n\r\n" % (
        status,
        b"No Content" if status == 204 else b"Not Modified",
    )


def test_hop_by_hop_framing_is_the_codecs_job(server: ServerCodec) -> None:
    server.receive_data(GET)
    headers = response(
        200, (b"transfer-encoding", b"gzip"), (b"keep-alive", b"timeout=5"), (b"x", b"1"), (b"connection", b"te")
    )
    server.send_headers(1, headers, False)
    server.send_data(1, b"abc", False)
    server.send_trailers(1, HeaderMap([(b"grpc-status", b"0")]))
    assert server.data_to_send() == (
        b"HTTP/1.1 200 OK\r\nx: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ngrpc-status: 0\r\n\r\n"
    )


def test_100_continue(server: ServerCodec) -> None:
    (event,) = server.receive_data(b"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    assert isinstance(event, HeadersReceived) and event.headers.get(b"expect") == b"100-continue"
    server.send_informational(1, response(100))
    assert server.data_to_send() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert server.receive_data(b"abc") == [DataReceived(1, b"abc", True)]
    server.send_headers(1, response(201), True)
    assert server.data_to_send() == b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"


def test_no_informational_to_http10(server: ServerCodec) -> None:
    server.receive_data(b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
    server.send_informational(1, response(100))
    assert server.data_to_send() == b""


def test_early_response_closes(server: ServerCodec) -> None:
    server.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\npart")
    server.send_headers(1, response(413), True)
    assert server.should_close
    assert server.receive_data(b"more") == []


def test_websocket_upgrade_becomes_a_tunnel(server: ServerCodec) -> None:
    head = b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n"
    events = server.receive_data(head + b"\x81\x01a")
    assert len(events) == 1 and isinstance(events[0], HeadersReceived)
    assert not events[0].end_stream
    assert events[0].headers.get(b"upgrade") == b"websocket"
    assert events[0].headers.get(b"connection") == b"Upgrade"
    assert server.receive_data(b"early") == []
    server.send_headers(1, response(101, (b"upgrade", b"websocket"), (b"sec-websocket-accept", b"x")), False)
    assert server.data_to_send() == (
        b"HTTP/1.1 101 Switching Protocols\r\nsec-websocket-accept: x\r\n"
        b"connection: upgrade\r\nupgrade: websocket\r\n\r\n"
    )
    assert server.resume() == [DataReceived(1, b"\x81\x01aearly", False)]
    assert server.receive_data(b"GET / HTTP/1.1\r\n\r\n") == [DataReceived(1, b"GET / HTTP/1.1\r\n\r\n", False)]
    server.send_data(1, b"\x82\x00raw", False)
    assert server.data_to_send() == b"\x82\x00raw"
    assert server.receive_eof() == [DataReceived(1, b"", True)]


def test_refused_upgrade_closes(server: ServerCodec) -> None:
    server.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
    server.send_headers(1, response(403), True)
    assert server.data_to_send() == b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    assert server.should_close


def test_upgrade_header_without_connection_token_is_a_plain_request(server: ServerCodec) -> None:
    events = server.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n" + GET)
    assert len(events) == 1 and isinstance(events[0], HeadersReceived) and events[0].end_stream
    server.send_headers(1, response(200), True)
    assert [e.stream_id for e in server.resume()] == [3]


def test_eof_mid_request_resets_the_stream(server: ServerCodec) -> None:
    server.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab")
    assert server.receive_eof() == [StreamReset(1, ResetReason.CONNECTION_TERMINATION)]


def test_eof_between_requests_terminates(server: ServerCodec) -> None:
    server.receive_data(GET)
    server.send_headers(1, response(200), True)
    assert server.receive_eof() == [ConnectionTerminated(1)]


def test_eof_before_anything(server: ServerCodec) -> None:
    assert server.receive_eof() == [ConnectionTerminated(0)]


def test_response_field_injection_is_refused(server: ServerCodec) -> None:
    server.receive_data(GET)
    with pytest.raises(ValueError, match="invalid header"):
        server.send_headers(1, response(200, (b"x", b"a\r\nset-cookie: evil")), True)
    with pytest.raises(ValueError, match="invalid header"):
        server.send_headers(1, response(200, (b"bad name", b"v")), True)
    with pytest.raises(ValueError, match=r"invalid header field \[\(b'x: y'"):
        server.send_headers(1, response(200, (b"x: y", b"v")), True)  # would read as x = "y: v"
    assert server.data_to_send() == b""
    server.send_headers(1, response(200), True)  # the codec is still usable
    assert server.data_to_send().startswith(b"HTTP/1.1 200 OK\r\n")


def test_body_beyond_content_length_is_refused(server: ServerCodec) -> None:
    server.receive_data(GET)
    server.send_headers(1, response(200, (b"content-length", b"2")), False)
    with pytest.raises(ValueError, match="longer than its content-length"):
        server.send_data(1, b"abc", True)
    server.send_data(1, b"ab", True)
    assert server.data_to_send().endswith(b"\r\n\r\nab")


def test_short_body_closes(server: ServerCodec) -> None:
    server.receive_data(GET)
    server.send_headers(1, response(200, (b"content-length", b"5")), False)
    server.send_data(1, b"ab", True)
    assert server.should_close


def test_wrong_stream_is_refused(server: ServerCodec) -> None:
    server.receive_data(GET)
    with pytest.raises(ValueError, match="stream 3"):
        server.send_headers(3, response(200), True)


def test_reset_closes(server: ServerCodec) -> None:
    server.receive_data(GET)
    server.reset_stream(1, ResetReason.LOCAL_RESET)
    assert server.should_close
    assert server.receive_data(GET) == []


@pytest.mark.parametrize("limit_kb", [1, 60])
def test_header_block_size_limit(backend: str, limit_kb: int) -> None:
    # Envoy counts names and values (and we count the request target): exactly at the limit passes.
    fixed = len(b"/") + len(b"host") + len(b"h") + len(b"x-big")
    value = b"v" * (limit_kb * 1024 - fixed)
    ok = make_server_codec(backend, CodecLimits(max_headers_kb=limit_kb))
    (event,) = ok.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + value + b"\r\n\r\n")
    assert isinstance(event, HeadersReceived)
    over = make_server_codec(backend, CodecLimits(max_headers_kb=limit_kb))
    (error,) = over.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + value + b"v\r\n\r\n")
    assert isinstance(error, ProtocolErrorReceived) and error.error.status == 431 and error.stream_id == 1
    assert over.should_close


def test_header_count_limit(backend: str) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(9))
    ok = make_server_codec(backend, CodecLimits(max_headers_count=10))
    assert isinstance(ok.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\n" + fields + b"\r\n")[0], HeadersReceived)
    over = make_server_codec(backend, CodecLimits(max_headers_count=10))
    (error,) = over.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n" + fields + b"\r\n")
    assert isinstance(error, ProtocolErrorReceived) and error.error.status == 431


def test_trailer_limits(backend: str) -> None:
    server = make_server_codec(backend, CodecLimits(max_headers_count=3))
    trailers = b"".join(b"T-%d: v\r\n" % i for i in range(4))
    events = server.receive_data(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + trailers + b"\r\n"
    )
    assert isinstance(events[-1], ProtocolErrorReceived) and events[-1].error.status == 431


def test_h2c_upgrade_offer_is_declined_and_served_as_http11(server: ServerCodec) -> None:
    h2c = (
        b"GET /h2c HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings, TE\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: AAA\r\nAccept: */*\r\n\r\n"
    )
    events = server.receive_data(h2c + GET)
    assert len(events) == 1 and isinstance(events[0], HeadersReceived) and events[0].end_stream
    assert events[0].headers.pairs()[4:] == [(b"connection", b"TE"), (b"accept", b"*/*")]
    server.send_headers(1, response(200), True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    (event,) = server.resume()
    assert isinstance(event, HeadersReceived) and event.stream_id == 3 and event.headers.path == b"/a?b=1"
    server.send_headers(3, response(200), True)
    # A real upgrade later on the same connection still works.
    events = server.receive_data(b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nX")
    assert len(events) == 1 and not events[0].end_stream  # type: ignore[union-attr]
    server.send_headers(5, response(101, (b"upgrade", b"websocket")), False)
    assert server.resume() == [DataReceived(5, b"X", False)]


def test_empty_reads_are_harmless(server: ServerCodec) -> None:
    assert server.receive_data(b"") == []
    server.receive_data(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n")
    assert server.receive_data(b"") == []
    assert server.receive_data(b"ok") == [DataReceived(1, b"ok", True)]


def test_protocol_follows_each_request(server: ServerCodec) -> None:
    server.receive_data(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert server.protocol == "HTTP/1.0"
    server.send_headers(1, response(200), True)
    server.receive_data(GET)
    assert server.protocol == "HTTP/1.1"


def test_invalid_content_length_to_send_is_refused(server: ServerCodec) -> None:
    server.receive_data(GET)
    with pytest.raises(ValueError, match="content-length"):
        server.send_headers(1, response(200, (b"content-length", b"1, 1")), False)
    assert server.data_to_send() == b""


def test_http10_chunked_request_is_served_then_closed(server: ServerCodec) -> None:
    events = server.receive_data(
        b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    assert [type(e) for e in events] == [HeadersReceived, DataReceived]
    server.send_headers(1, response(200), True)
    assert server.should_close


def test_trailers_without_chunked_framing_are_dropped(server: ServerCodec) -> None:
    server.receive_data(GET)
    server.send_headers(1, response(200, (b"content-length", b"2")), False)
    server.send_data(1, b"ok", False)
    server.send_trailers(1, HeaderMap([(b"x-t", b"1")]))
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
    assert not server.should_close


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown HTTP/1\.1 codec backend 'picohttp'"):
        make_server_codec("picohttp")
