"""End to end through the gateway on real sockets: a real echo upstream, the gateway in the test's loop."""

from __future__ import annotations

import asyncio

from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of, request


async def test_get_is_proxied_with_envoy_headers() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        r = await request(port_of(gw), "GET", "/hello?x=1", headers=[("x-custom", "v")])
        assert r.status == 200
        seen = r.json()
        assert seen["method"] == "GET" and seen["path"] == "/hello?x=1"
        upstream_headers = seen["headers"]
        assert isinstance(upstream_headers, dict)
        assert upstream_headers["x-custom"] == "v"
        assert upstream_headers["host"] == "example.com"
        assert len(upstream_headers["x-request-id"]) == 36
        assert upstream_headers["x-forwarded-proto"] == "http"
        assert r.headers["server"] == "gateway"
        assert int(r.headers["x-envoy-upstream-service-time"]) >= 0


async def test_request_id_is_kept_when_present() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        r = await request(port_of(gw), "GET", "/", headers=[("x-request-id", "abc-123")])
        assert r.json()["headers"]["x-request-id"] == "abc-123"  # type: ignore[index]


async def test_use_remote_address_appends_xff() -> None:
    async with echo_upstream() as up, gateway(basic_config(up, extra_hcm="          use_remote_address: true")) as gw:
        r = await request(port_of(gw), "GET", "/", headers=[("x-forwarded-for", "10.0.0.1")])
        headers = r.json()["headers"]
        assert headers["x-forwarded-for"] == "10.0.0.1,127.0.0.1"  # type: ignore[index]


async def test_hop_by_hop_headers_are_not_forwarded() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        r = await request(
            port_of(gw),
            "GET",
            "/",
            headers=[
                ("connection", "keep-alive, x-secret"),
                ("x-secret", "1"),
                ("keep-alive", "timeout=5"),
                ("te", "trailers"),
            ],
        )
        headers = r.json()["headers"]
        assert isinstance(headers, dict)
        assert "x-secret" not in headers and "keep-alive" not in headers
        assert headers.get("connection") in (None, "keep-alive")


async def test_post_body_is_streamed_both_ways() -> None:
    body = b"a" * 300_000
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        r = await request(port_of(gw), "POST", "/upload", body=body)
        assert r.status == 200
        assert r.json()["body_bytes"] == len(body)
        big = await request(port_of(gw), "GET", "/", headers=[("x-echo-body-bytes", "2000000")])
        assert big.status == 200 and len(big.body) == 2_000_000


async def test_chunked_request_body() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        client = await Client.connect(port_of(gw))
        await client.send_raw(
            b"POST /c HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        r = await client.read_response()
        await client.close()
        assert r.status == 200 and r.json()["body"] == "hello world"


async def test_keep_alive_reuses_the_connection_and_pipelining_keeps_order() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        client = await Client.connect(port_of(gw))
        for i in range(3):
            r = await client.request("GET", f"/k{i}")
            assert r.json()["path"] == f"/k{i}"
        await client.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
        writer.write(b"".join(f"GET /p{i} HTTP/1.1\r\nhost: a\r\n\r\n".encode() for i in range(3)))
        data = b""
        while data.count(b'"path": "/p') < 3:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            assert chunk
            data += chunk
        writer.close()
        await writer.wait_closed()
        assert data.index(b"/p0") < data.index(b"/p1") < data.index(b"/p2")


async def test_head_request_gets_no_body() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        client = await Client.connect(port_of(gw))
        r = await client.request("HEAD", "/")
        assert r.status == 200 and r.body == b""
        r2 = await client.request("GET", "/after-head")
        assert r2.json()["path"] == "/after-head"
        await client.close()


async def test_expect_100_continue_is_answered_by_the_gateway() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(gw))
        writer.write(b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 4\r\nexpect: 100-continue\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"data")
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert final.startswith(b"HTTP/1.1 200")
        writer.close()
        await writer.wait_closed()


async def test_no_route_is_404_and_direct_response_and_redirect() -> None:
    routes = """              - match: {path: "/direct"}
                direct_response: {status: 202, body: {inline_string: "from the gateway"}}
              - match: {prefix: "/old"}
                redirect: {path_redirect: "/new", response_code: FOUND}"""
    config = basic_config(1, routes=routes).replace(
        '              - match: {prefix: "/"}\n                route: {cluster: upstream}\n',
        '              - match: {prefix: "/api"}\n                route: {cluster: upstream}\n',
    )
    async with gateway(config) as gw:
        port = port_of(gw)
        r = await request(port, "GET", "/nothing")
        assert r.status == 404 and r.body == b""
        d = await request(port, "GET", "/direct")
        assert d.status == 202 and d.body == b"from the gateway"
        redirect = await request(port, "GET", "/old/x")
        assert redirect.status == 302 and redirect.headers["location"] == "http://example.com/new"


async def test_upstream_down_is_503_with_envoy_body() -> None:
    async with echo_upstream() as up:
        pass  # the port is closed now
    async with gateway(basic_config(up)) as gw:
        r = await request(port_of(gw), "GET", "/")
        assert r.status == 503
        assert r.body.startswith(b"upstream connect error or disconnect/reset before headers. reset reason:")


async def test_route_timeout_is_504() -> None:
    async with echo_upstream() as up:
        config = basic_config(up).replace("route: {cluster: upstream}", "route: {cluster: upstream, timeout: 0.2s}")
        async with gateway(config) as gw:
            r = await request(port_of(gw), "GET", "/", headers=[("x-echo-delay-ms", "3000")])
            assert r.status == 504 and r.body == b"upstream request timeout"


async def test_malformed_request_gets_400_and_only_its_connection_closes() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        port = port_of(gw)
        good = await Client.connect(port)
        assert (await good.request("GET", "/before")).status == 200
        bad = await Client.connect(port)
        await bad.send_raw(b"GET / HTTP/1.1\r\nhost: a\r\nbad header\r\n\r\n")
        r = await bad.read_response()
        assert r.status == 400
        assert await bad.at_eof()
        await bad.close()
        assert (await good.request("GET", "/after")).status == 200
        await good.close()


async def test_smuggling_shapes_are_rejected() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        for raw in (
            b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd",
            b"POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: gzip, chunked, identity\r\n\r\n",
        ):
            client = await Client.connect(port_of(gw))
            await client.send_raw(raw)
            r = await client.read_response()
            assert r.status in (400, 501), raw
            assert await client.at_eof()
            await client.close()


async def test_oversized_headers_get_431() -> None:
    config = basic_config(1, extra_hcm="          max_request_headers_kb: 1")
    async with gateway(config) as gw:
        client = await Client.connect(port_of(gw))
        r = await client.request("GET", "/", headers=[("x-big", "a" * 2000)])
        assert r.status == 431
        await client.close()


async def test_stats_count_requests_by_class() -> None:
    async with echo_upstream() as up, gateway(basic_config(up)) as gw:
        port = port_of(gw)
        await request(port, "GET", "/", headers=[("x-echo-status", "201")])
        await request(port, "GET", "/", headers=[("x-echo-status", "503")])
        stats = gw.built.stats  # type: ignore[union-attr]
        counters = {name: c.value for name, c in stats.counters.items()}
        assert counters["http.ingress_http.downstream_rq_total"] == 2
        assert counters["http.ingress_http.downstream_rq_2xx"] == 1
        assert counters["http.ingress_http.downstream_rq_5xx"] == 1
        assert counters["cluster.upstream.upstream_rq_201"] == 1
        assert counters["cluster.upstream.upstream_rq_503"] == 1


async def test_the_h11_backend_proxies_keep_alive_traffic_both_ways() -> None:
    async with echo_upstream() as up, gateway(basic_config(up), http1_codec="h11") as gw:
        client = await Client.connect(port_of(gw))
        for i in range(4):  # every request after the first reuses the upstream connection too
            r = await client.request("POST", f"/h11/{i}", body=b"x" * (i * 1000))
            assert r.status == 200, r.body
            assert r.json()["path"] == f"/h11/{i}" and r.json()["body_bytes"] == i * 1000
        await client.close()


async def test_alt_stat_name_names_every_stat_of_the_cluster() -> None:
    async with echo_upstream() as up:
        config = basic_config(up).replace("  - name: upstream\n", "  - name: upstream\n    alt_stat_name: shown\n", 1)
        async with gateway(config) as gw:
            await request(port_of(gw), "GET", "/")
            names = set(gw.stats.counters)
        assert "cluster.shown.upstream_rq_200" in names and "cluster.shown.upstream_cx_total" in names
        assert not any(name.startswith("cluster.upstream.") for name in names)


async def test_response_code_in_response_headers_to_add() -> None:
    routes = """              - match: {path: "/direct"}
                direct_response: {status: 202, body: {inline_string: "x"}}
                response_headers_to_add: [{header: {key: x-rc, value: "%RESPONSE_CODE%"}}]
              - match: {prefix: "/proxied"}
                route: {cluster: upstream}
                response_headers_to_add: [{header: {key: x-rc, value: "%RESPONSE_CODE%"}}]"""
    async with echo_upstream() as up, gateway(basic_config(up, routes=routes)) as gw:
        direct = await request(port_of(gw), "GET", "/direct")
        proxied = await request(port_of(gw), "GET", "/proxied", headers=[("x-echo-status", "201")])
    assert (direct.status, direct.headers["x-rc"]) == (202, "202")
    assert (proxied.status, proxied.headers["x-rc"]) == (201, "201")
