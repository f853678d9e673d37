"""Malformed requests and smuggling shapes through the whole proxy, on both HTTP/1.1 codec backends: each gets its
4xx/501, only its own connection closes, nothing reaches the upstream, and other connections carry on."""

from __future__ import annotations

import pytest

from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of
from tests.integration.http_support import hcm, raw_exchange, stat

BACKENDS = ["httptools", "h11"]
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nhost: a\r\n\r\n"
# A valid head goes upstream before the body is parsed, as in Envoy; the body's fault then resets it.
BODY_ERRORS = {"chunk-size-junk", "chunk-size-huge", "chunk-no-crlf"}

SHAPES: list[tuple[str, bytes, int]] = [
    (
        "cl-and-te",
        b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te-and-cl",
        b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ncontent-length: 4\r\n\r\n0\r\n\r\n",
        400,
    ),
    ("two-cl", b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ncontent-length: 40\r\n\r\nabc", 400),
    ("cl-list", b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3, 3\r\n\r\nabc", 400),
    ("cl-sign", b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: +3\r\n\r\nabc", 400),
    ("cl-negative", b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: -1\r\n\r\n", 400),
    ("cl-hex", b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 0x3\r\n\r\nabc", 400),
    ("te-gzip-chunked", b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("te-unknown", b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: xchunked\r\n\r\n0\r\n\r\n", 501),
    (
        "te-twice",
        b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n",
        501,
    ),
    ("chunk-size-junk", b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    (
        "chunk-size-huge",
        b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
        400,
    ),
    ("chunk-no-crlf", b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\nhost: a\r\nx-a : b\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nhost: a\r\nx-a: b\r\n c\r\n\r\n", 400),
    ("nul-in-value", b"GET / HTTP/1.1\r\nhost: a\r\nx-a: b\x00c\r\n\r\n", 400),
    ("no-colon", b"GET / HTTP/1.1\r\nhost: a\r\nbad header\r\n\r\n", 400),
    ("bad-method", b"G(T / HTTP/1.1\r\nhost: a\r\n\r\n", 400),
    ("bad-target", b"GET foo HTTP/1.1\r\nhost: a\r\n\r\n", 400),
    ("space-in-target", b"GET /a b HTTP/1.1\r\nhost: a\r\n\r\n", 400),
    ("no-host", b"GET / HTTP/1.1\r\nx-a: b\r\n\r\n", 400),
    ("two-hosts", b"GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n", 400),
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    (
        "upgrade-with-body",
        b"POST / HTTP/1.1\r\nhost: a\r\nupgrade: x\r\nconnection: upgrade\r\ncontent-length: 1\r\n\r\na",
        400,
    ),
    ("huge-head", b"GET / HTTP/1.1\r\nhost: a\r\nx-a: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ("many-fields", b"GET / HTTP/1.1\r\nhost: a\r\n" + b"x-a: b\r\n" * 101 + b"\r\n", 431),
]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_each_shape_gets_its_status_and_closes_only_its_connection(backend: str) -> None:
    async with echo_upstream() as up, gateway(basic_config(up), http1_codec=backend) as gw:
        port = port_of(gw)
        bystander = await Client.connect(port)
        assert (await bystander.request("GET", "/before")).status == 200
        for name, raw, status in SHAPES:
            before = stat(gw, "cluster.upstream.upstream_rq_total")
            out = await raw_exchange(port, raw + SMUGGLED)  # read until the gateway closes: only one answer
            if name not in BODY_ERRORS:  # a bad head never reaches the upstream
                assert stat(gw, "cluster.upstream.upstream_rq_total") == before, name
            assert out.startswith(b"HTTP/1.1 %d " % status), (name, out[:80])
            assert out.count(b"HTTP/1.1 ") == 1, name
            assert b"\r\nconnection: close\r\n" in out, name
        assert (await bystander.request("GET", "/after")).status == 200
        await bystander.close()
        assert stat(gw, "http.ingress_http.downstream_cx_protocol_error") == len(SHAPES)
        # Each refused request counts as one, whether its head was complete or not, as in Envoy.
        assert stat(gw, "http.ingress_http.downstream_rq_total") == 2 + len(SHAPES)
        assert stat(gw, "http.ingress_http.downstream_rq_completed") == 2 + len(SHAPES)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_bad_request_after_a_good_one_on_the_same_connection(backend: str) -> None:
    async with echo_upstream() as up, gateway(basic_config(up), http1_codec=backend) as gw:
        client = await Client.connect(port_of(gw))
        assert (await client.request("GET", "/good")).status == 200
        await client.send_raw(b"GET / HTTP/1.1\r\nhost: a\r\nbad header\r\n\r\n")
        r = await client.read_response()
        assert r.status == 400 and r.body == b"Bad Request" and r.headers["connection"] == "close"
        assert await client.at_eof()
        await client.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_pipelined_request_behind_a_bad_one_is_never_served(backend: str) -> None:
    async with echo_upstream() as up, gateway(basic_config(up), http1_codec=backend) as gw:
        out = await raw_exchange(port_of(gw), b"GET /first HTTP/1.1\r\nhost: a\r\n\r\n" + SHAPES[0][1] + SMUGGLED)
        assert out.count(b"HTTP/1.1 200 ") == 1 and out.count(b"HTTP/1.1 400 ") == 1
        assert b"/smuggled" not in out
        assert stat(gw, "cluster.upstream.upstream_rq_total") == 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_head_that_never_ends_is_408(backend: str) -> None:
    config = basic_config(1, extra_hcm=hcm("request_headers_timeout: 0.2s"))
    async with gateway(config, http1_codec=backend) as gw:
        out = await raw_exchange(port_of(gw), b"GET / HTTP/1.1\r\nhost: a\r\nx-a: b")
        assert out.startswith(b"HTTP/1.1 408 ")
