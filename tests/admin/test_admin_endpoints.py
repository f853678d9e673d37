"""Every admin endpoint over a real socket: status, content type, body; methods; 404/405/400."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from gateway.admin import AdminServer, ServerState

from .helpers import FakeServer, exchange, request

Admin = tuple[AdminServer, int]


async def test_stats_text(admin: Admin, fake: FakeServer) -> None:
    reply = await request(admin[1], "GET", "/stats")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/plain; charset=UTF-8"
    assert reply.headers["cache-control"] == "no-cache, max-age=0"
    assert reply.body.splitlines() == [
        "cluster.cart_cluster.upstream_cx_connect_fail: 0",
        "cluster.cart_cluster.upstream_rq_200: 11",
        "cluster.cart_cluster.upstream_rq_total: 12",
        "server.live: 1",
        "server.uptime: 42",
        "cluster.cart_cluster.upstream_rq_time: P0(nan,4) P25(nan,4) P50(nan,4) P75(nan,4) P90(nan,4) P95(nan,4) "
        "P99(nan,4) P99.5(nan,4) P99.9(nan,4) P100(nan,4)",
    ]
    assert fake.refreshes == 1


async def test_stats_filter_usedonly_and_json(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/stats?filter=cart_cluster&usedonly")
    assert reply.body.splitlines()[:2] == [
        "cluster.cart_cluster.upstream_rq_200: 11",
        "cluster.cart_cluster.upstream_rq_total: 12",
    ]
    reply = await request(admin[1], "GET", "/stats?format=json&filter=upstream_rq_%28total%7C200%29")
    assert reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body) == {
        "stats": [
            {"name": "cluster.cart_cluster.upstream_rq_200", "value": 11},
            {"name": "cluster.cart_cluster.upstream_rq_total", "value": 12},
        ]
    }


async def test_stats_bad_regex_and_bad_format_are_400(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/stats?filter=%28oops")
    assert reply.status == 400
    assert reply.body.startswith("Invalid regex: '(oops'")
    assert (await request(admin[1], "GET", "/stats/prometheus?filter=[")).status == 400
    reply = await request(admin[1], "GET", "/stats?format=xml")
    assert (reply.status, reply.body) == (400, "invalid format 'xml': use text, json or prometheus\n")


async def test_prometheus(admin: Admin) -> None:
    for target in ("/stats/prometheus", "/stats?format=prometheus"):
        reply = await request(admin[1], "GET", target)
        assert reply.status == 200
        assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
        lines = reply.body.splitlines()
        assert lines[:5] == [
            "# TYPE envoy_cluster_upstream_cx_connect_fail counter",
            'envoy_cluster_upstream_cx_connect_fail{envoy_cluster_name="cart_cluster"} 0',
            "",
            "# TYPE envoy_cluster_upstream_rq counter",
            'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="cart_cluster"} 11',
        ]
        assert 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="cart_cluster",le="5"} 1' in lines
        assert "envoy_server_live{} 1" in lines
    reply = await request(admin[1], "GET", "/stats/prometheus?usedonly&filter=rq_total")
    assert reply.body == (
        "# TYPE envoy_cluster_upstream_rq_total counter\n"
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="cart_cluster"} 12\n\n'
    )


async def test_clusters_text(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/clusters")
    assert reply.status == 200
    assert reply.body.splitlines() == [
        "cart_cluster::observability_name::cart_cluster",
        "cart_cluster::default_priority::max_connections::100",
        "cart_cluster::default_priority::max_pending_requests::200",
        "cart_cluster::default_priority::max_requests::300",
        "cart_cluster::default_priority::max_retries::5",
        "cart_cluster::added_via_api::false",
        "cart_cluster::10.0.0.7:8080::cx_active::2",
        "cart_cluster::10.0.0.7:8080::cx_total::9",
        "cart_cluster::10.0.0.7:8080::rq_error::0",
        "cart_cluster::10.0.0.7:8080::rq_total::12",
        "cart_cluster::10.0.0.7:8080::hostname::cart-service.prod",
        "cart_cluster::10.0.0.7:8080::health_flags::healthy",
        "cart_cluster::10.0.0.7:8080::weight::3",
        "cart_cluster::10.0.0.7:8080::region::",
        "cart_cluster::10.0.0.7:8080::zone::",
        "cart_cluster::10.0.0.7:8080::sub_zone::",
        "cart_cluster::10.0.0.7:8080::canary::false",
        "cart_cluster::10.0.0.7:8080::priority::0",
        "cart_cluster::10.0.0.7:8080::success_rate::-1",
        "cart_cluster::10.0.0.7:8080::local_origin_success_rate::-1",
        "cart_cluster::[fd00::1]:8080::cx_active::0",
        "cart_cluster::[fd00::1]:8080::rq_total::1",
        "cart_cluster::[fd00::1]:8080::hostname::",
        "cart_cluster::[fd00::1]:8080::health_flags::/failed_active_hc",
        "cart_cluster::[fd00::1]:8080::weight::1",
        "cart_cluster::[fd00::1]:8080::region::",
        "cart_cluster::[fd00::1]:8080::zone::",
        "cart_cluster::[fd00::1]:8080::sub_zone::",
        "cart_cluster::[fd00::1]:8080::canary::false",
        "cart_cluster::[fd00::1]:8080::priority::1",
        "cart_cluster::[fd00::1]:8080::success_rate::-1",
        "cart_cluster::[fd00::1]:8080::local_origin_success_rate::-1",
    ]


async def test_clusters_json(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/clusters?format=json")
    assert reply.headers["content-type"] == "application/json"
    (cluster,) = json.loads(reply.body)["cluster_statuses"]
    assert cluster["name"] == "cart_cluster"
    assert cluster["circuit_breakers"] == {
        "thresholds": [{"max_connections": 100, "max_pending_requests": 200, "max_requests": 300, "max_retries": 5}]
    }
    first, second = cluster["host_statuses"]
    assert first == {
        "address": {"socket_address": {"address": "10.0.0.7", "port_value": 8080}},
        "stats": [
            {"name": "cx_active", "value": "2", "type": "GAUGE"},
            {"name": "cx_total", "value": "9"},
            {"name": "rq_error"},
            {"name": "rq_total", "value": "12"},
        ],
        "health_status": {"eds_health_status": "HEALTHY"},
        "weight": 3,
        "hostname": "cart-service.prod",
    }
    assert second["address"] == {"socket_address": {"address": "fd00::1", "port_value": 8080}}
    assert second["health_status"] == {"eds_health_status": "HEALTHY", "failed_active_health_check": True}
    assert second["priority"] == 1
    assert (await request(admin[1], "GET", "/clusters?format=yaml")).status == 400


async def test_listeners(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/listeners")
    assert reply.body == "ingress::0.0.0.0:10000\nv6::[::1]:10001\n"
    reply = await request(admin[1], "GET", "/listeners?format=json")
    assert json.loads(reply.body) == {
        "listener_statuses": [
            {"name": "ingress", "local_address": {"socket_address": {"address": "0.0.0.0", "port_value": 10000}}},
            {"name": "v6", "local_address": {"socket_address": {"address": "::1", "port_value": 10001}}},
        ]
    }


async def test_config_dump(admin: Admin, fake: FakeServer) -> None:
    reply = await request(admin[1], "GET", "/config_dump")
    configs = json.loads(reply.body)["configs"]
    assert [c["@type"].rsplit(".", 1)[1] for c in configs] == [
        "BootstrapConfigDump",
        "ClustersConfigDump",
        "ListenersConfigDump",
    ]
    assert configs[0]["bootstrap"] == fake.raw_config
    assert configs[1]["static_clusters"][0]["cluster"] == {
        "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
        "name": "cart_cluster",
        "connect_timeout": "1s",
    }
    assert configs[2]["static_listeners"][0]["listener"]["name"] == "ingress"
    assert configs[2]["static_listeners"][0]["last_updated"].endswith("Z")


async def test_ready_follows_state_and_health_check(admin: Admin, fake: FakeServer) -> None:
    assert (await request(admin[1], "GET", "/ready")).body == "LIVE\n"
    fake.state = ServerState.PRE_INITIALIZING
    reply = await request(admin[1], "GET", "/ready")
    assert (reply.status, reply.body) == (503, "PRE_INITIALIZING\n")
    fake.state = ServerState.LIVE

    reply = await request(admin[1], "POST", "/healthcheck/fail")
    assert (reply.status, reply.body, fake.health_check_failed) == (200, "OK\n", True)
    reply = await request(admin[1], "GET", "/ready")
    assert (reply.status, reply.body) == (503, "DRAINING\n")
    assert json.loads((await request(admin[1], "GET", "/server_info")).body)["state"] == "DRAINING"

    reply = await request(admin[1], "POST", "/healthcheck/ok")
    assert (reply.status, fake.health_check_failed) == (200, False)
    assert (await request(admin[1], "GET", "/ready")).status == 200


async def test_server_info(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/server_info")
    assert reply.headers["content-type"] == "application/json"
    info = json.loads(reply.body)
    assert info["version"] == "gateway/0.1.0"
    assert info["state"] == "LIVE"
    assert info["command_line_options"] == {"config_path": "envoy.yaml", "log_level": "info", "mode": "Serve"}
    assert info["node"] == {"id": "edge-1", "cluster": "edge", "locality": {"region": "eu", "zone": "eu-1a"}}
    assert info["uptime_current_epoch"] in ("42s", "43s")
    assert info["uptime_all_epochs"] == info["uptime_current_epoch"]


@pytest.mark.parametrize("path", ["/healthcheck/fail", "/healthcheck/ok", "/quitquitquit"])
async def test_mutating_endpoints_refuse_get(admin: Admin, fake: FakeServer, path: str) -> None:
    reply = await request(admin[1], "GET", path)
    assert (reply.status, reply.body) == (405, "Method GET not allowed, POST required.\n")
    assert (fake.health_check_failed, fake.quit_calls) == (False, 0)


async def test_quitquitquit_answers_then_calls_the_hook(admin: Admin, fake: FakeServer) -> None:
    reply = await request(admin[1], "POST", "/quitquitquit")
    assert (reply.status, reply.body) == (200, "OK\n")
    await asyncio.sleep(0)
    assert fake.quit_calls == 1


async def test_unknown_path_is_404_with_help(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/nope")
    assert reply.status == 404
    assert reply.body.startswith("invalid path. admin commands are:\n")
    assert "  /stats/prometheus: " in reply.body


async def test_help_and_home_list_every_endpoint(admin: Admin) -> None:
    help_text = (await request(admin[1], "GET", "/help")).body
    assert (await request(admin[1], "GET", "/")).body == help_text
    listed = [line.split(":")[0].strip() for line in help_text.splitlines()[1:]]
    assert listed == [
        "/",
        "/clusters",
        "/config_dump",
        "/healthcheck/fail",
        "/healthcheck/ok",
        "/help",
        "/listeners",
        "/logging",
        "/quitquitquit",
        "/ready",
        "/server_info",
        "/stats",
        "/stats/prometheus",
    ]


@pytest.fixture
def restore_loggers() -> object:
    loggers = {name: logging.getLogger(name) for name in ("gateway", "abi", "gateway.admin.test_probe")}
    levels = {name: logger.level for name, logger in loggers.items()}
    yield loggers
    for name, logger in loggers.items():
        logger.setLevel(levels[name])


async def test_logging(admin: Admin, restore_loggers: dict[str, logging.Logger]) -> None:
    probe = restore_loggers["gateway.admin.test_probe"]
    reply = await request(admin[1], "GET", "/logging")
    assert reply.status == 200 and reply.body.startswith("active loggers:\n")
    assert "  gateway.admin.test_probe: " in reply.body

    reply = await request(admin[1], "POST", "/logging?level=debug")
    assert reply.status == 200
    assert "  gateway.admin.test_probe: debug\n" in reply.body
    assert probe.getEffectiveLevel() == logging.DEBUG

    reply = await request(admin[1], "POST", "/logging?gateway.admin.test_probe=error")
    assert "  gateway.admin.test_probe: error\n" in reply.body and "  gateway: debug\n" in reply.body
    reply = await request(admin[1], "POST", "/logging?paths=gateway.admin.test_probe:off,abi:warning")
    assert probe.getEffectiveLevel() > logging.CRITICAL
    assert "  abi: warning\n" in reply.body


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/logging?level=loud", "error: unknown level 'loud'"),
        ("/logging?no.such.logger=debug", "error: unknown logger 'no.such.logger'"),
        ("/logging?paths=gateway", "error: expected <logger>:<level> in paths"),
        ("/logging", "error: no level given"),
    ],
)
async def test_logging_bad_input_is_400(admin: Admin, target: str, message: str) -> None:
    before = logging.getLogger("gateway").level
    reply = await request(admin[1], "POST", target)
    assert reply.status == 400
    assert reply.body.startswith(message)
    assert "usage: POST /logging" in reply.body
    assert logging.getLogger("gateway").level == before


async def test_logging_get_with_a_change_is_405(admin: Admin) -> None:
    reply = await request(admin[1], "GET", "/logging?level=debug")
    assert reply.status == 405


async def test_keep_alive_and_pipelined_requests(admin: Admin) -> None:
    raw = (
        b"GET /ready HTTP/1.1\r\nhost: a\r\n\r\n"
        b"POST /healthcheck/fail HTTP/1.1\r\nhost: a\r\ncontent-length: 5\r\n\r\nhello"
        b"GET /ready HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n"
    )
    replies = await exchange(admin[1], raw)
    assert [(r.status, r.body) for r in replies] == [(200, "LIVE\n"), (200, "OK\n"), (503, "DRAINING\n")]


async def test_head_gets_headers_only(admin: Admin) -> None:
    replies = await exchange(admin[1], b"HEAD /ready HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n")
    (reply,) = replies
    assert reply.status == 200 and reply.headers["content-length"] == "5"


async def test_malformed_request_gets_400_and_close(admin: Admin) -> None:
    replies = await exchange(admin[1], b"GET /ready HTTP/1.1\r\nbad header line\r\n\r\n")
    assert [r.status for r in replies] == [400]
    # The listener is still serving.
    assert (await request(admin[1], "GET", "/ready")).status == 200


async def test_stop_closes_open_connections(fake: FakeServer) -> None:
    server = AdminServer(fake)
    _, port = await server.start("127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /ready HTTP/1.1\r\nhost: a\r\n\r\n")
        await reader.readuntil(b"LIVE\n")
        await server.stop()
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()
        await writer.wait_closed()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
