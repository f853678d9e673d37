"""The connection manager's timeouts and limits end to end, with Envoy's statuses, bodies, stats and close
behaviour: a real echo upstream (or a raw one that stalls on purpose), the gateway in the test's loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of
from tests.integration.http_support import eventually, hcm, raw_exchange, stat, tcp_upstream
from tests.integration.wasm_support import compile_wat, wasm_filter

P = "http.ingress_http."
IDLE = hcm("common_http_protocol_options: {idle_timeout: 0.2s}")


async def test_idle_timeout_closes_an_idle_connection() -> None:
    async with echo_upstream() as up, gateway(basic_config(up, extra_hcm=IDLE)) as gw:
        client = await Client.connect(port_of(gw))
        assert (await client.request("GET", "/")).status == 200
        assert await client.at_eof()
        await client.close()
        assert stat(gw, P + "downstream_cx_idle_timeout") == 1
        assert stat(gw, P + "downstream_cx_destroy_local") == 1


async def test_idle_timeout_does_not_cut_an_active_request() -> None:
    async with echo_upstream() as up, gateway(basic_config(up, extra_hcm=IDLE)) as gw:
        client = await Client.connect(port_of(gw))
        r = await client.request("GET", "/", headers=[("x-echo-delay-ms", "500")])
        assert r.status == 200
        await client.close()
        assert stat(gw, P + "downstream_cx_idle_timeout") == 0


async def test_request_headers_timeout_is_408_for_a_partial_head() -> None:
    async with echo_upstream() as up:
        config = basic_config(up, extra_hcm=hcm("request_headers_timeout: 0.2s"))
        async with gateway(config) as gw:
            silent = await Client.connect(port_of(gw))  # no bytes: only the idle timeout applies to it
            out = await raw_exchange(port_of(gw), b"GET / HTTP/1.1\r\nhost: a\r\n")
            assert out.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
            assert out.endswith(b"\r\n\r\nrequest header timeout")
            assert b"connection: close" in out
            assert stat(gw, P + "downstream_rq_header_timeout") == 1
            assert (await silent.request("GET", "/still-open")).status == 200
            await silent.close()


async def test_request_timeout_is_408_while_the_body_is_arriving() -> None:
    async with echo_upstream() as up:
        config = basic_config(up, extra_hcm=hcm("request_timeout: 0.2s"))
        async with gateway(config) as gw:
            client = await Client.connect(port_of(gw))
            await client.send_raw(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nhalf")
            r = await client.read_response()
            assert r.status == 408 and r.body == b"request timeout"
            assert r.headers["connection"] == "close"
            assert await client.at_eof()
            await client.close()
            assert stat(gw, P + "downstream_rq_timeout") == 1
            # A request that completes in time is not affected, even if the response is slow.
            client = await Client.connect(port_of(gw))
            assert (await client.request("GET", "/", headers=[("x-echo-delay-ms", "400")])).status == 200
            await client.close()


async def test_stream_idle_timeout_before_the_response() -> None:
    async with echo_upstream() as up:
        config = basic_config(up, extra_hcm=hcm("stream_idle_timeout: 0.2s"))
        async with gateway(config) as gw:
            # The request is complete: Envoy answers 504 (the client may reuse the connection).
            client = await Client.connect(port_of(gw))
            r = await client.request("GET", "/", headers=[("x-echo-delay-ms", "3000")])
            assert r.status == 504 and r.body == b"stream timeout"
            # The request is still arriving: 408, and the connection closes.
            await client.send_raw(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nhalf")
            r = await client.read_response()
            assert r.status == 408 and r.body == b"stream timeout"
            assert await client.at_eof()
            await client.close()
            assert stat(gw, P + "downstream_rq_idle_timeout") == 2


async def test_stream_idle_timeout_after_the_response_started_resets() -> None:
    async def stall_after_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc")
        await asyncio.sleep(30)

    async with tcp_upstream(stall_after_head) as up:
        config = basic_config(up, extra_hcm=hcm("stream_idle_timeout: 0.2s"))
        async with gateway(config) as gw:
            out = await raw_exchange(port_of(gw), b"GET / HTTP/1.1\r\nhost: a\r\n\r\n")
            assert out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(b"\r\n\r\nabc")
            assert stat(gw, P + "downstream_rq_idle_timeout") == 1
            assert stat(gw, P + "downstream_rq_tx_reset") == 1
            assert stat(gw, P + "downstream_cx_destroy_local_active_rq") == 1
            assert stat(gw, P + "downstream_cx_destroy_remote_active_rq") == 0


async def test_stream_idle_timeout_activity_keeps_the_stream_alive() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n")
        for _ in range(6):
            await asyncio.sleep(0.1)
            writer.write(b"x")
        await reader.read()

    async with tcp_upstream(trickle) as up:
        config = basic_config(up, extra_hcm=hcm("stream_idle_timeout: 0.3s"))
        async with gateway(config) as gw:
            client = await Client.connect(port_of(gw))
            r = await client.request("GET", "/")
            assert r.status == 200 and r.body == b"xxxxxx"
            await client.close()
            assert stat(gw, P + "downstream_rq_idle_timeout") == 0


async def test_route_idle_timeout_overrides_the_connection_managers() -> None:
    routes = """              - match: {prefix: "/patient"}
                route: {cluster: upstream, idle_timeout: 5s}
              - match: {prefix: "/impatient"}
                route: {cluster: upstream, idle_timeout: 0.2s}"""
    async with echo_upstream() as up:
        config = basic_config(up, routes=routes, extra_hcm=hcm("stream_idle_timeout: 0.2s"))
        async with gateway(config) as gw:
            client = await Client.connect(port_of(gw))
            assert (await client.request("GET", "/patient", headers=[("x-echo-delay-ms", "500")])).status == 200
            await client.close()
        no_hcm_limit = basic_config(up, routes=routes)
        async with gateway(no_hcm_limit) as gw:
            client = await Client.connect(port_of(gw))
            assert (await client.request("GET", "/patient")).status == 200
            # On the same connection, a stream with a shorter idle timeout than the one before it.
            await client.send_raw(b"GET /impatient HTTP/1.1\r\nhost: a\r\nx-echo-delay-ms: 5000\r\n\r\n")
            r = await client.read_response(timeout=3)
            assert r.status == 504 and r.body == b"stream timeout"
            await client.close()


async def test_max_connection_duration_drains_with_connection_close() -> None:
    async with echo_upstream() as up:
        config = basic_config(up, extra_hcm=hcm("common_http_protocol_options: {max_connection_duration: 0.2s}"))
        async with gateway(config) as gw:
            client = await Client.connect(port_of(gw))
            first = await client.request("GET", "/")
            assert first.status == 200 and "connection" not in first.headers
            # In flight when the duration is reached: answered, with connection: close, then closed.
            r = await client.request("GET", "/", headers=[("x-echo-delay-ms", "400")])
            assert r.status == 200 and r.headers["connection"] == "close"
            assert await client.at_eof()
            await client.close()
            assert stat(gw, P + "downstream_cx_max_duration_reached") == 1
            # Idle when it is reached: closed at once.
            idle = await Client.connect(port_of(gw))
            assert await idle.at_eof()
            await idle.close()
            assert stat(gw, P + "downstream_cx_max_duration_reached") == 2


async def test_max_stream_duration() -> None:
    async with echo_upstream() as up:
        config = basic_config(up, extra_hcm=hcm("common_http_protocol_options: {max_stream_duration: 0.2s}"))
        async with gateway(config) as gw:
            client = await Client.connect(port_of(gw))
            r = await client.request("GET", "/", headers=[("x-echo-delay-ms", "3000")])
            assert r.status == 504 and r.body == b"downstream duration timeout"
            await client.send_raw(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\nhalf")
            r = await client.read_response()
            assert r.status == 408 and r.body == b"downstream duration timeout"
            assert await client.at_eof()
            await client.close()
            assert stat(gw, P + "downstream_rq_max_duration_reached") == 2


async def test_header_limits_are_431() -> None:
    extra = hcm("max_request_headers_kb: 2", "common_http_protocol_options: {max_headers_count: 5}")
    async with echo_upstream() as up, gateway(basic_config(up, extra_hcm=extra)) as gw:
        port = port_of(gw)
        fine = await Client.connect(port)
        assert (await fine.request("GET", "/", headers=[(f"x-{i}", "v") for i in range(4)])).status == 200
        for headers in ([(f"x-{i}", "v") for i in range(5)], [("x-big", "a" * 2100)]):
            client = await Client.connect(port)
            r = await client.request("GET", "/", headers=headers)
            assert r.status == 431 and r.body == b"Request Header Fields Too Large"
            assert await client.at_eof()
            await client.close()
        assert (await fine.request("GET", "/after")).status == 200
        await fine.close()


async def test_pipelined_requests_keep_alive_and_keep_order() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        client = await Client.connect(port_of(gw))
        # The first is slow, so the others wait in the gateway; then a POST with a body, then a HEAD.
        await client.send_raw(
            b"GET /slow HTTP/1.1\r\nhost: a\r\nx-echo-delay-ms: 200\r\n\r\n"
            b"POST /post HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\nabc"
            b"HEAD /head HTTP/1.1\r\nhost: a\r\n\r\n"
            b"GET /last HTTP/1.1\r\nhost: a\r\n\r\n"
        )
        assert (await client.read_response()).json()["path"] == "/slow"
        post = (await client.read_response()).json()
        assert post["path"] == "/post" and post["body"] == "abc"
        head = await client.read_response(head=True)
        assert head.status == 200 and head.body == b""
        assert (await client.read_response()).json()["path"] == "/last"
        assert (await client.request("GET", "/again")).status == 200
        await client.close()
        assert stat(gw, P + "downstream_rq_total") == 5
        assert stat(gw, P + "downstream_cx_total") == 1


async def test_http10_is_426_unless_accepted() -> None:
    async with echo_upstream() as up:
        async with gateway(basic_config(up)) as gw:
            out = await raw_exchange(port_of(gw), b"GET / HTTP/1.0\r\nhost: a\r\n\r\n")
            assert out.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
            assert out.endswith(b"\r\n\r\nUpgrade Required")
        accepting = basic_config(up, extra_hcm=hcm("http_protocol_options: {accept_http_10: true}"))
        async with gateway(accepting) as gw:
            # Answered, then closed (no keep-alive asked for).
            out = await raw_exchange(port_of(gw), b"GET /ten HTTP/1.0\r\nhost: a\r\n\r\n")
            assert out.startswith(b"HTTP/1.0 200 OK\r\n") or out.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b'"path": "/ten"' in out


async def test_expect_100_continue_then_body_and_stats() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
        writer.write(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).startswith(b"HTTP/1.1 100 Continue\r\n")
        writer.write(b"data")
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert final.startswith(b"HTTP/1.1 200")
        length = int(final.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        seen = await asyncio.wait_for(reader.readexactly(length), 10)
        assert b'"expect"' not in seen and b'"body": "data"' in seen
        writer.close()
        await writer.wait_closed()
        await eventually(lambda: stat(gw, P + "downstream_rq_2xx") == 1)
        assert stat(gw, P + "downstream_rq_1xx") == 1


# A filter that buffers the whole request body (proxy-wasm: StopIterationAndBuffer until the end of the stream).
BUFFER_BODY_WAT = """
(module
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (select (i32.const 0) (i32.const 1) (local.get 2))))
"""


async def test_a_buffering_filter_over_the_buffer_limit_is_413(tmp_path: Path) -> None:
    code = compile_wat(BUFFER_BODY_WAT, tmp_path)
    async with echo_upstream() as up:
        config = basic_config(up, http_filters=wasm_filter("buffer", code))
        async with gateway(config) as gw:
            client = await Client.connect(port_of(gw))
            small = await client.request("POST", "/", body=b"a" * 100_000)
            assert small.status == 200 and small.json()["body_bytes"] == 100_000
            big = await client.request("POST", "/", body=b"a" * (2 * 1024 * 1024))
            assert big.status == 413 and big.body == b"Payload Too Large"
            assert big.headers["connection"] == "close"
            assert await client.at_eof()
            await client.close()


async def test_connection_close_from_the_client_is_honoured() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        out = await raw_exchange(port_of(gw), b"GET /bye HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nconnection: close\r\n" in out
        assert stat(gw, P + "downstream_cx_destroy_local") == 1


async def test_a_buffering_filter_uses_the_listeners_buffer_limit(tmp_path: Path) -> None:
    code = compile_wat(BUFFER_BODY_WAT, tmp_path)
    async with echo_upstream() as up:
        config = basic_config(up, http_filters=wasm_filter("buffer", code)).replace(
            "    filter_chains:", "    per_connection_buffer_limit_bytes: 65536\n    filter_chains:", 1
        )
        async with gateway(config) as gw:
            client = await Client.connect(port_of(gw))
            r = await client.request("POST", "/", body=b"a" * 200_000)
            await client.close()
            assert r.status == 413
            assert stat(gw, P + "downstream_rq_too_large") == 1
