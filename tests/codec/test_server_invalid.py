"""Malformed and smuggling-shaped requests: both backends reject the same shapes with the same status, the error
names the stream the local reply goes to, and the connection closes; requests before the bad one are unharmed."""

from __future__ import annotations

import pytest

from gateway.codec import make_server_codec
from gateway.core.errors import Source
from gateway.core.events import HeadersReceived, ProtocolErrorReceived

from .helpers import feed, response

H = b"Host: h\r\n"

INVALID: dict[str, tuple[bytes, int]] = {
    # framing conflicts (request smuggling)
    "cl_and_te": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    "te_and_cl": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    "cl_differing": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
    "cl_repeated_equal": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\n", 400),
    "cl_list": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\n", 400),
    "cl_negative": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    "cl_plus": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: +1\r\n\r\n", 400),
    "cl_hex": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 0x10\r\n\r\n", 400),
    "cl_empty": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length:\r\n\r\n", 400),
    "cl_overflow": (b"POST / HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    "te_gzip_chunked": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
    "te_chunked_gzip": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n", 501),
    "te_identity": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n\r\n", 501),
    "te_twice": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
    "chunk_size_invalid": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    "chunk_size_negative": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n", 400),
    "chunk_missing_crlf": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n", 400),
    "chunk_bare_lf": (b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n\r\n", 400),
    # line endings and folding
    "bare_lf_everywhere": (b"GET / HTTP/1.1\nHost: h\n\n", 400),
    "bare_lf_in_headers": (b"GET / HTTP/1.1\r\nHost: h\nX: b\r\n\r\n", 400),
    "bare_cr": (b"GET / HTTP/1.1\r\nHost: h\rX: b\r\n\r\n", 400),
    "obs_fold": (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400),
    "leading_space_line": (b"GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400),
    # field syntax
    "space_before_colon": (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
    "tab_before_colon": (b"GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400),
    "empty_name": (b"GET / HTTP/1.1\r\n" + H + b": v\r\n\r\n", 400),
    "bad_name_char": (b"GET / HTTP/1.1\r\n" + H + b"X(y: v\r\n\r\n", 400),
    "no_colon": (b"GET / HTTP/1.1\r\n" + H + b"NoColon\r\n\r\n", 400),
    "nul_in_value": (b"GET / HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n", 400),
    "ctl_in_value": (b"GET / HTTP/1.1\r\n" + H + b"X: a\x01b\r\n\r\n", 400),
    "del_in_value": (b"GET / HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n", 400),
    "ctl_in_trailer": (
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\nT: a\x01\r\n\r\n",
        400,
    ),
    "space_in_trailer_name": (
        b"POST / HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0\r\nT : 1\r\n\r\n",
        400,
    ),
    # request line
    "unknown_method": (b"FOO / HTTP/1.1\r\n" + H + b"\r\n", 400),
    "lowercase_method": (b"get / HTTP/1.1\r\n" + H + b"\r\n", 400),
    "bad_method_char": (b"G(T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    "space_in_target": (b"GET /a b HTTP/1.1\r\n" + H + b"\r\n", 400),
    "ctl_in_target": (b"GET /a\x01 HTTP/1.1\r\n" + H + b"\r\n", 400),
    "high_byte_in_target": (b"GET /a\xff HTTP/1.1\r\n" + H + b"\r\n", 400),
    "relative_target": (b"GET a/b HTTP/1.1\r\n" + H + b"\r\n", 400),
    "asterisk_not_options": (b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400),
    "absolute_userinfo": (b"GET http://user@h/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    "absolute_other_scheme": (b"GET ftp://h/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    "absolute_bad_host_char": (b'GET http://a"b/ HTTP/1.1\r\n' + H + b"\r\n", 400),
    "absolute_no_authority": (b"GET http:///p HTTP/1.1\r\n" + H + b"\r\n", 400),
    "http_1_2": (b"GET / HTTP/1.2\r\n" + H + b"\r\n", 400),
    "http_2_0": (b"GET / HTTP/2.0\r\n" + H + b"\r\n", 400),
    "http_0_9": (b"GET /\r\n\r\n", 400),
    "no_version": (b"GET / \r\n" + H + b"\r\n", 400),
    "garbage": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
    # host
    "missing_host": (b"GET / HTTP/1.1\r\n\r\n", 400),
    "absolute_form_without_host": (b"GET http://a/ HTTP/1.1\r\n\r\n", 400),
    "two_hosts": (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    # unsupported
    "connect": (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400),
    "upgrade_with_body": (
        b"POST / HTTP/1.1\r\n" + H + b"Connection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc",
        400,
    ),
}


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("shape", sorted(INVALID))
def test_invalid_request_is_rejected(backend: str, shape: str, bytewise: bool) -> None:
    data, status = INVALID[shape]
    server = make_server_codec(backend)
    events = feed(server, data, bytewise)
    errors = [e for e in events if isinstance(e, ProtocolErrorReceived)]
    assert len(errors) == 1, events
    assert isinstance(events[-1], ProtocolErrorReceived)
    error = errors[0]
    assert error.error.status == status, error.error
    assert error.error.source is Source.DOWNSTREAM
    assert error.stream_id == 1
    assert server.should_close
    assert server.receive_data(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") == []
    # The local reply can still be written on the failed stream.
    server.send_headers(1, response(status), True)
    assert server.data_to_send().endswith(b"connection: close\r\n\r\n")


@pytest.mark.parametrize("shape", ["cl_and_te", "obs_fold", "bare_lf_in_headers", "chunk_size_invalid"])
def test_invalid_pipelined_request_waits_for_the_good_one(backend: str, shape: str) -> None:
    server = make_server_codec(backend)
    good = b"GET /ok HTTP/1.1\r\nHost: h\r\n\r\n"
    events = server.receive_data(good + INVALID[shape][0])
    assert len(events) == 1 and isinstance(events[0], HeadersReceived) and events[0].headers.path == b"/ok"
    assert not server.should_close
    server.send_headers(1, response(200), True)
    assert server.data_to_send() == b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    events = server.resume()
    error = events[-1]
    assert isinstance(error, ProtocolErrorReceived) and error.stream_id == 3
    assert all(e.stream_id == 3 for e in events)
    assert server.should_close
