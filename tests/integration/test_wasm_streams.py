"""What plugins do to streams, through the gateway on real sockets: bodies buffered and rewritten in both
directions, local replies from the request and the response phase, plugin metrics in /stats and
/stats/prometheus, and the properties plugins read."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.integration.harness import Client, basic_config, echo_upstream, gateway, port_of, request
from tests.integration.wasm_fixtures import BODY_REWRITE, HOLD_BODY_THEN_RESUME
from tests.integration.wasm_support import (
    ADMIN,
    WAT,
    Answer,
    admin_get,
    compile_wat,
    http_service,
    plugin,
    stats,
    wasm_filter,
)


async def test_bodies_are_buffered_and_rewritten_in_both_directions(tmp_path: Path) -> None:
    filters = wasm_filter("body_rewrite", compile_wat(BODY_REWRITE, tmp_path))
    async with echo_upstream() as up, gateway(ADMIN + basic_config(up, http_filters=filters)) as gw:
        client = await Client.connect(port_of(gw))
        # Three chunks, each its own write: the plugin holds them all and edits the whole body at the end.
        await client.send_raw(b"POST /upload HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n")
        for chunk in (b"hello", b" big", b" world"):
            await client.send_raw(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await client.send_raw(b"0\r\n\r\n")
        r = await client.read_response()
        await client.close()
        counters = await stats(gw)
        prometheus = (await admin_get(gw, "/stats/prometheus")).body.decode()
    assert r.status == 200
    assert r.body.startswith(b"rewritten:") and r.body.endswith(b"!")
    seen = json.loads(r.body[len(b"rewritten:") : -1])
    assert seen["body"] == "wrapped(hello big world)"
    assert "content-length" not in seen["headers"]
    assert counters["wasmcustom.body rewrite/bodies"] == 2
    assert "# TYPE body_rewrite_bodies counter\nbody_rewrite_bodies{} 2" in prometheus


async def test_a_body_held_past_the_buffer_limit_gets_413(tmp_path: Path) -> None:
    filters = wasm_filter("body_rewrite", compile_wat(BODY_REWRITE, tmp_path))
    async with echo_upstream() as up, gateway(basic_config(up, http_filters=filters)) as gw:
        r = await request(port_of(gw), "POST", "/", body=b"x" * (2 * 1024 * 1024))
    assert r.status == 413


def _local_response_config(tmp_path: Path, up: int) -> str:
    code = compile_wat(WAT / "adversarial" / "local_response_twice.wat", tmp_path)
    return basic_config(up, http_filters=wasm_filter("local_response_twice", code))


async def test_local_replies_from_the_request_and_the_response_phase(tmp_path: Path) -> None:
    async with echo_upstream() as up, gateway(_local_response_config(tmp_path, up)) as gw:
        port = port_of(gw)
        from_request = await request(port, "GET", "/", headers=[("x-trigger", "d")])
        from_response = await request(port, "GET", "/", headers=[("x-trigger", "r")])
        client = await Client.connect(port)
        await client.send_raw(b"GET / HTTP/1.1\r\nhost: a\r\nx-trigger: b\r\n\r\n")
        too_late_closed = await client.at_eof()  # headers went out: the only way left is a reset
        await client.close()
        after = await request(port, "GET", "/")
    assert (from_request.status, from_request.body) == (403, b"first")  # the first of two calls wins
    assert (from_response.status, from_response.body) == (502, b"replaced")
    assert too_late_closed
    assert after.json()["headers"]["x-survivor"] == "local_response_twice"  # type: ignore[index]


async def test_a_local_reply_from_the_response_path_of_a_local_reply_reaches_the_client(tmp_path: Path) -> None:
    async with echo_upstream() as up, gateway(_local_response_config(tmp_path, up)) as gw:
        recursive = await request(port_of(gw), "GET", "/", headers=[("x-trigger", "R")])
    assert (recursive.status, recursive.body) == (500, b"again")


async def test_a_body_held_at_end_of_stream_goes_upstream_when_the_plugin_resumes(tmp_path: Path) -> None:
    filters = wasm_filter("hold_body", compile_wat(HOLD_BODY_THEN_RESUME, tmp_path))
    async with echo_upstream() as up, gateway(basic_config(up, http_filters=filters)) as gw:
        r = await asyncio.wait_for(request(port_of(gw), "POST", "/", body=b"held until the tick"), 5)
    assert r.status == 200 and r.json()["body"] == "held until the tick"


async def test_properties_as_plugins_see_them() -> None:
    templates = {
        "x-path": "{request.path}",
        "x-url-path": "{request.url_path}",
        "x-source": "{source.address}",
        "x-route": "{xds.route_name}",
        "x-cluster": "{xds.cluster_name}",
        "x-node": "{xds.node.id}/{node.cluster}",
        "x-plugin": "{plugin_name}/{plugin_root_id}",
        "x-method": "{request.method}",
    }
    filters = wasm_filter("props", plugin("header_rewrite"), {"request": {"set": templates}}, root_id="header_rewrite")
    routes = """              - name: api_route
                match: {prefix: "/api"}
                route: {cluster: upstream}
"""
    node = "node: {id: gw-7, cluster: edge}\n"
    async with echo_upstream() as up, gateway(node + basic_config(up, http_filters=filters, routes=routes)) as gw:
        client = await Client.connect(port_of(gw))
        r = await client.request("GET", "/api/items?page=2")
        local_port = client.writer.get_extra_info("sockname")[1]
        await client.close()
    seen = r.json()["headers"]
    assert isinstance(seen, dict)
    assert seen["x-path"] == "/api/items?page=2"
    assert seen["x-url-path"] == "/api/items"
    assert seen["x-source"] == f"127.0.0.1:{local_port}"
    assert seen["x-route"] == "api_route"
    assert seen["x-cluster"] == "upstream"
    assert seen["x-node"] == "gw-7/edge"
    assert seen["x-plugin"] == "props/header_rewrite"
    assert seen["x-method"] == "GET"


async def test_a_body_held_until_trailers_goes_on_ahead_of_them(tmp_path: Path) -> None:
    """The plugin buffers the response body waiting for its end, which comes with trailers instead."""
    body = b'{"part": 1, "then": "part 2"}'
    filters = wasm_filter("body_rewrite", compile_wat(BODY_REWRITE, tmp_path))
    answer = Answer(200, body=body, trailers=[("x-checksum", "abc")])
    async with http_service(lambda seen: answer) as up, gateway(basic_config(up.port, http_filters=filters)) as gw:
        client = await Client.connect(port_of(gw))
        await client.send_raw(b"GET / HTTP/1.1\r\nhost: a\r\nte: trailers\r\n\r\n")
        head = await client.reader.readuntil(b"\r\n\r\n")
        chunked = await asyncio.wait_for(client.reader.readuntil(b"\r\n0\r\n"), 5)
        trailers = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
        await client.close()
    assert b"transfer-encoding: chunked" in head.lower()
    assert body in b"".join(chunked.split(b"\r\n")[1::2])  # unchanged: the plugin never saw an end of stream
    assert trailers == b"x-checksum: abc\r\n\r\n"
