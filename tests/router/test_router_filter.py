"""The Router filter driven through fake stream callbacks and a hand-driven cluster: local answers, the request
as sent upstream, the response as forwarded downstream, failures, timeouts, backpressure and stats."""

from __future__ import annotations

import asyncio

import pytest

from gateway.config.model import (
    ClusterNotFoundResponseCode,
    DirectResponseAction,
    HeaderAppendAction,
    RedirectAction,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
)
from gateway.config.model import Router as RouterConfig
from gateway.core.errors import ResetReason
from gateway.core.flags import ResponseFlag, format_flags
from gateway.core.headers import HeaderMap
from gateway.filters.api import DataStatus, HeadersStatus, TrailersStatus
from gateway.filters.router.filter import Router
from gateway.stats.store import Store

from .builders import config, hvo, request, route, vhost
from .fakes import FakeCallbacks, FakeCluster, FakeClusterManager, make_router


def _begin(router: Router, cb: FakeCallbacks, headers: HeaderMap, end_stream: bool = True) -> HeadersStatus:
    cb.info.request_headers = headers
    return router.decode_headers(headers, end_stream)


def _counter(store: Store, name: str) -> int:
    stat = store.counters.get(name)
    return stat.value if stat is not None else 0


def _one_route(r: Route, **kwargs: object) -> RouteConfiguration:
    return config(vhost("v", ["*"], [r]), **kwargs)  # type: ignore[arg-type]


def _response(status: int = 200, **headers: str) -> HeaderMap:
    return HeaderMap([(b":status", str(status).encode())] + [(k.encode(), v.encode()) for k, v in headers.items()])


# -- answered locally --


async def test_no_route_is_a_404_with_nr() -> None:
    rc = config(vhost("v", ["a.com"], [route("c")]))
    router, cb, store = make_router(rc, FakeClusterManager(), asyncio.get_running_loop())
    assert _begin(router, cb, request(authority="b.com")) == HeadersStatus.STOP_ITERATION
    assert (cb.reply.status, cb.reply.body, cb.reply.details) == (404, b"", "route_not_found")
    assert format_flags(cb.info.response_flags) == "NR"
    assert _counter(store, "http.ingress.no_route") == 1
    assert _counter(store, "http.ingress.rq_total") == 1


async def test_unknown_cluster_is_a_503_with_nc() -> None:
    router, cb, store = make_router(_one_route(route("nope")), FakeClusterManager(), asyncio.get_running_loop())
    _begin(router, cb, request())
    assert (cb.reply.status, cb.reply.body, cb.reply.details) == (503, b"", "cluster_not_found")
    assert format_flags(cb.info.response_flags) == "NC"
    assert _counter(store, "http.ingress.no_cluster") == 1


async def test_cluster_not_found_response_code() -> None:
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(cluster="nope", cluster_not_found_response_code=ClusterNotFoundResponseCode.NOT_FOUND),
    )
    router, cb, _ = make_router(_one_route(r), FakeClusterManager(), asyncio.get_running_loop())
    _begin(router, cb, request())
    assert cb.reply.status == 404


async def test_direct_response_with_body_and_response_headers() -> None:
    r = Route(
        match=RouteMatch(prefix="/"),
        direct_response=DirectResponseAction(403, b"denied"),
        response_headers_to_add=(hvo("x-route", "yes"),),
    )
    rc = _one_route(r, response_headers_to_add=(hvo("x-config", "%REQ(x-who)%"),))
    router, cb, store = make_router(rc, FakeClusterManager(), asyncio.get_running_loop())
    _begin(router, cb, request(x_who="me"))
    reply = cb.reply
    assert (reply.status, reply.body, reply.details, reply.flag) == (403, b"denied", "direct_response", 0)
    assert reply.headers is not None
    assert reply.headers.get(b"x-route") == b"yes"
    assert reply.headers.get(b"x-config") == b"me"
    assert b"location" not in reply.headers
    assert _counter(store, "http.ingress.rq_direct_response") == 1


async def test_redirect_answers_with_location_and_rewrites_the_request_path() -> None:
    r = Route(match=RouteMatch(prefix="/old"), redirect=RedirectAction(prefix_rewrite="/new", https_redirect=True))
    router, cb, _ = make_router(_one_route(r), FakeClusterManager(), asyncio.get_running_loop())
    headers = request(path="/old/page?x=1", authority="shop.example")
    _begin(router, cb, headers)
    assert cb.reply.status == 301
    assert cb.reply.headers is not None
    assert cb.reply.headers.get(b"location") == b"https://shop.example/new/page?x=1"
    assert headers.path == b"/new/page?x=1"
    assert headers.get(b"x-envoy-original-path") == b"/old/page?x=1"


# -- the request sent upstream --


async def test_request_headers_as_sent_upstream() -> None:
    overwrite = HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD
    r = Route(
        match=RouteMatch(prefix="/api"),
        route=RouteAction(cluster="c", prefix_rewrite="/v1", host_rewrite_literal="backend.internal"),
        request_headers_to_add=(hvo("x-route", "r", overwrite),),
        request_headers_to_remove=("x-secret",),
    )
    rc = config(
        vhost("v", ["*"], [r], include_request_attempt_count=True),
        request_headers_to_add=(hvo("x-global", "g"),),
    )
    cluster = FakeCluster("c")
    router, cb, _ = make_router(rc, FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request(path="/api/items?id=7", x_secret="s", x_route="client"))
    sent = cluster.stream.headers
    assert sent.path == b"/v1/items?id=7"
    assert sent.get(b"x-envoy-original-path") == b"/api/items?id=7"
    assert sent.authority == b"backend.internal"
    assert sent.get_all(b"x-route") == [b"r"]
    assert sent.get(b"x-global") == b"g"
    assert b"x-secret" not in sent
    assert sent.get(b"x-envoy-expected-rq-timeout-ms") == b"15000"
    assert sent.get(b"x-envoy-attempt-count") == b"1"
    assert cluster.stream.sent[0][2] is True  # headers-only request ends with its headers
    info = cb.info
    assert (info.route_name, info.cluster_name, info.virtual_host_name) == ("", "c", "v")
    assert (info.upstream_host, info.upstream_local_address, info.attempt_count) == (
        "10.0.0.9:8080",
        "10.0.0.1:33333",
        1,
    )
    assert info.first_upstream_tx_byte is not None and info.last_upstream_tx_byte is not None
    assert cluster.lb_contexts[0].downstream_address == "10.1.2.3"


async def test_suppress_envoy_headers() -> None:
    r = Route(match=RouteMatch(prefix="/a"), route=RouteAction(cluster="c", prefix_rewrite="/b"))
    cluster = FakeCluster("c")
    router, cb, _ = make_router(
        _one_route(r),
        FakeClusterManager(cluster),
        asyncio.get_running_loop(),
        RouterConfig(suppress_envoy_headers=True),
    )
    _begin(router, cb, request(path="/a"))
    sent = cluster.stream.headers
    assert sent.path == b"/b"
    assert b"x-envoy-original-path" not in sent
    assert b"x-envoy-expected-rq-timeout-ms" not in sent
    cluster.upstream.on_upstream_headers(_response(), True)
    assert cb.response_headers is not None
    assert b"x-envoy-upstream-service-time" not in cb.response_headers


async def test_auto_host_rewrite_uses_the_hostname_of_the_chosen_host() -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster="c", auto_host_rewrite=True))
    cluster = FakeCluster("c")
    cluster.stream.hostname = "api.upstream.example"
    router, cb, _ = make_router(_one_route(r), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    assert cluster.stream.headers.authority == b"api.upstream.example"


async def test_body_and_trailers_wait_for_the_pool_then_go_in_order() -> None:
    cluster = FakeCluster("c", ready_at_once=False)
    router, cb, _ = make_router(
        _one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop(), buffer_limit=5
    )
    assert _begin(router, cb, request(method="POST"), end_stream=False) == HeadersStatus.STOP_ITERATION
    assert router.decode_data(bytearray(b"abc"), False) == DataStatus.STOP_ITERATION_NO_BUFFER
    assert cb.decoder_paused == 0
    router.decode_data(bytearray(b"def"), False)
    assert cb.decoder_paused == 1  # past the buffer limit while waiting: stop reading the downstream
    assert router.decode_trailers(HeaderMap([(b"x-t", b"1")])) == TrailersStatus.STOP_ITERATION
    stream = cluster.ready()
    assert [(kind, end) for kind, _, end in stream.sent] == [("headers", False), ("data", False), ("trailers", True)]
    assert stream.sent[1][1] == b"abcdef"
    assert cb.decoder_paused == 0
    router.on_destroy()


async def test_upstream_write_watermarks_pause_the_downstream() -> None:
    cluster = FakeCluster("c")
    router, cb, _ = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request(method="POST"), end_stream=False)
    cluster.upstream.on_upstream_above_write_buffer_high_watermark()
    assert cb.decoder_paused == 1
    cluster.upstream.on_upstream_below_write_buffer_low_watermark()
    assert cb.decoder_paused == 0
    cluster.upstream.on_upstream_above_write_buffer_high_watermark()
    router.decode_data(bytearray(b"x"), True)
    cluster.upstream.on_upstream_headers(_response(), True)
    assert cb.decoder_paused == 0  # released when the exchange ends


async def test_downstream_watermarks_pause_reading_the_response() -> None:
    cluster = FakeCluster("c", ready_at_once=False)
    router, cb, _ = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    producer = cb.watermark_callbacks[0]
    producer.on_above_write_buffer_high_watermark()  # before the stream exists: applied when it arrives
    stream = cluster.ready()
    assert stream.read_disabled == 1
    producer.on_below_write_buffer_low_watermark()
    assert stream.read_disabled == 0
    producer.on_above_write_buffer_high_watermark()
    assert stream.read_disabled == 1
    router.on_destroy()


# -- the response sent downstream --


async def test_response_is_forwarded_with_service_time_mutations_and_stats() -> None:
    r = Route(
        match=RouteMatch(prefix="/"),
        route=RouteAction(cluster="c"),
        response_headers_to_add=(hvo("x-served-by", "%UPSTREAM_HOST%"),),
        response_headers_to_remove=("server",),
    )
    rc = config(vhost("v", ["*"], [r], include_attempt_count_in_response=True))
    cluster = FakeCluster("c")
    router, cb, store = make_router(rc, FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    upstream = cluster.upstream
    await asyncio.sleep(0.02)
    upstream.on_upstream_1xx_headers(_response(100))
    assert [h.status for h in cb.informational] == [100]
    upstream.on_upstream_headers(_response(201, server="upstream"), False)
    headers = cb.response_headers
    assert headers is not None and headers.status == 201
    service_time = headers.get(b"x-envoy-upstream-service-time")
    assert service_time is not None and 15 <= int(service_time) < 1000
    assert headers.get(b"x-served-by") == b"10.0.0.9:8080"
    assert b"server" not in headers
    assert headers.get(b"x-envoy-attempt-count") == b"1"
    assert cb.info.response_code_details == "via_upstream"
    upstream.on_upstream_data(b"hello ", False)
    upstream.on_upstream_data(b"world", False)
    upstream.on_upstream_trailers(HeaderMap([(b"grpc-status", b"0")]))
    assert bytes(cb.body) == b"hello world" and cb.trailers is not None and cb.response_end
    assert not cluster.stream.was_reset
    assert _counter(store, "cluster.c.upstream_rq_201") == 1
    assert _counter(store, "cluster.c.upstream_rq_2xx") == 1
    assert _counter(store, "cluster.c.upstream_rq_100") == 1
    assert _counter(store, "cluster.c.upstream_rq_completed") == 2  # Envoy charges 1xx too
    assert _counter(store, "cluster.c.external.upstream_rq_201") == 1
    assert _counter(store, "cluster.c.internal.upstream_rq_201") == 0
    rq_time = store.histograms["cluster.c.upstream_rq_time"]
    assert rq_time.count == 1 and rq_time.sum >= 15
    assert store.histograms["cluster.c.external.upstream_rq_time"].count == 1
    info = cb.info
    assert info.first_upstream_rx_byte is not None and info.last_upstream_rx_byte is not None
    router.on_destroy()
    assert not cluster.stream.was_reset


async def test_internal_requests_are_charged_as_internal() -> None:
    cluster = FakeCluster("c")
    router, cb, store = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request(x_envoy_internal="true"))
    cluster.upstream.on_upstream_headers(_response(404), True)
    assert _counter(store, "cluster.c.internal.upstream_rq_404") == 1
    assert _counter(store, "cluster.c.internal.upstream_rq_4xx") == 1
    assert _counter(store, "cluster.c.external.upstream_rq_404") == 0


async def test_dynamic_stats_off_charges_no_codes() -> None:
    cluster = FakeCluster("c")
    router, cb, store = make_router(
        _one_route(route("c")),
        FakeClusterManager(cluster),
        asyncio.get_running_loop(),
        RouterConfig(dynamic_stats=False),
    )
    _begin(router, cb, request())
    cluster.upstream.on_upstream_headers(_response(200), True)
    assert cb.response_headers is not None
    assert _counter(store, "cluster.c.upstream_rq_200") == 0
    assert store.histograms["cluster.c.upstream_rq_time"].count == 0


async def test_response_before_the_request_ends_resets_the_upstream() -> None:
    cluster = FakeCluster("c")
    router, cb, _ = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request(method="POST"), end_stream=False)
    router.decode_data(bytearray(b"part"), False)
    cluster.upstream.on_upstream_headers(_response(413), True)
    assert cluster.stream.was_reset
    assert cb.response_headers is not None
    assert b"x-envoy-upstream-service-time" not in cb.response_headers  # the request never completed
    sent_before = len(cluster.stream.sent)
    assert router.decode_data(bytearray(b"rest"), True) == DataStatus.STOP_ITERATION_NO_BUFFER
    assert len(cluster.stream.sent) == sent_before


# -- failures --


@pytest.mark.parametrize(
    ("reason", "flag", "detail", "status", "body", "details", "flags"),
    [
        (
            ResetReason.CONNECTION_FAILURE,
            ResponseFlag.UPSTREAM_CONNECTION_FAILURE,
            "",
            503,
            b"upstream connect error or disconnect/reset before headers. reset reason: connection failure",
            "upstream_reset_before_response_started{connection_failure}",
            "UF",
        ),
        (
            ResetReason.CONNECTION_FAILURE,
            ResponseFlag.UPSTREAM_CONNECTION_FAILURE,
            "delayed connect error: 111",
            503,
            b"upstream connect error or disconnect/reset before headers. reset reason: connection failure, "
            b"transport failure reason: delayed connect error: 111",
            "upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}",
            "UF",
        ),
        (
            ResetReason.CONNECTION_TIMEOUT,
            ResponseFlag.UPSTREAM_CONNECTION_FAILURE,
            "",
            503,
            b"upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
            "upstream_reset_before_response_started{connection_timeout}",
            "UF",
        ),
        (
            ResetReason.OVERFLOW,
            ResponseFlag.UPSTREAM_OVERFLOW,
            "",
            503,
            b"upstream connect error or disconnect/reset before headers. reset reason: overflow",
            "upstream_reset_before_response_started{overflow}",
            "UO",
        ),
        (
            ResetReason.CONNECTION_FAILURE,
            ResponseFlag.NO_HEALTHY_UPSTREAM,
            "no_healthy_upstream",
            503,
            b"no healthy upstream",
            "no_healthy_upstream",
            "UH",
        ),
    ],
)
async def test_pool_failures(
    reason: ResetReason, flag: ResponseFlag, detail: str, status: int, body: bytes, details: str, flags: str
) -> None:
    cluster = FakeCluster("c", ready_at_once=False)
    router, cb, store = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    cluster.fail(reason, flag, detail, "10.0.0.9:8080")
    reply = cb.reply
    assert (reply.status, reply.body, reply.details) == (status, body, details)
    assert format_flags(cb.info.response_flags) == flags
    assert cb.info.upstream_host == "10.0.0.9:8080"
    assert cb.info.upstream_transport_failure_reason == (detail if flags != "UH" else "")
    overloaded = reply.headers.get(b"x-envoy-overloaded") if reply.headers is not None else None
    assert overloaded == (b"true" if reason is ResetReason.OVERFLOW else None)
    assert _counter(store, "cluster.c.upstream_rq_503") == 1
    assert _counter(store, "cluster.c.upstream_rq_5xx") == 1
    await asyncio.sleep(0)
    router.on_destroy()
    assert cluster.pending is not None and not cluster.pending.cancelled  # nothing left to cancel


async def test_synchronous_pool_failure() -> None:
    class Failing(FakeCluster):
        def new_stream(self, callbacks, lb_context):  # type: ignore[no-untyped-def]
            callbacks.on_pool_failure(ResetReason.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW, "", "")
            return None

    router, cb, _ = make_router(_one_route(route("c")), FakeClusterManager(Failing("c")), asyncio.get_running_loop())
    _begin(router, cb, request())
    assert cb.reply.status == 503 and format_flags(cb.info.response_flags) == "UO"
    assert router._timer is None  # no route timeout for a request that already failed


async def test_upstream_reset_before_headers() -> None:
    cluster = FakeCluster("c")
    router, cb, _ = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    cluster.upstream.on_upstream_reset(ResetReason.CONNECTION_TERMINATION, "")
    assert cb.reply.status == 503
    assert cb.reply.body.endswith(b"reset reason: connection termination")
    assert cb.reply.details == "upstream_reset_before_response_started{connection_termination}"
    assert format_flags(cb.info.response_flags) == "UC"


async def test_upstream_protocol_error_is_a_502() -> None:
    cluster = FakeCluster("c")
    router, cb, _ = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    cluster.upstream.on_upstream_reset(ResetReason.PROTOCOL_ERROR, "")
    assert cb.reply.status == 502 and format_flags(cb.info.response_flags) == "UPE"


async def test_upstream_reset_after_headers_resets_the_downstream() -> None:
    cluster = FakeCluster("c")
    router, cb, store = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    cluster.upstream.on_upstream_headers(_response(200), False)
    cluster.upstream.on_upstream_data(b"partial", False)
    cluster.upstream.on_upstream_reset(ResetReason.REMOTE_RESET, "")
    assert cb.local_replies == []
    assert cb.resets == [
        (ResponseFlag.UPSTREAM_REMOTE_RESET, "upstream_reset_after_response_started{remote_reset}"),
    ]
    assert format_flags(cb.info.response_flags) == "UR"
    assert _counter(store, "http.ingress.rq_reset_after_downstream_response_started") == 1
    assert _counter(store, "cluster.c.upstream_rq_503") == 0


# -- timeouts --


async def test_route_timeout_before_response_headers_is_a_504() -> None:
    cluster = FakeCluster("c")
    router, cb, store = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request(x_envoy_upstream_rq_timeout_ms="30"))
    sent = cluster.stream.headers
    assert b"x-envoy-upstream-rq-timeout-ms" not in sent  # consumed by the router
    assert sent.get(b"x-envoy-expected-rq-timeout-ms") == b"30"
    await asyncio.sleep(0.01)
    assert cb.local_replies == []
    await asyncio.sleep(0.1)
    reply = cb.reply
    assert (reply.status, reply.body, reply.details) == (504, b"upstream request timeout", "upstream_response_timeout")
    assert format_flags(cb.info.response_flags) == "UT"
    assert cluster.stream.was_reset
    assert cluster.stream.timeouts == 1  # charged to the host, too
    assert _counter(store, "cluster.c.upstream_rq_timeout") == 1
    assert _counter(store, "cluster.c.upstream_rq_504") == 1
    # A late response is ignored.
    cluster.upstream.on_upstream_headers(_response(200), True)
    assert cb.response_headers is None


async def test_route_timeout_after_response_headers_resets() -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster="c", timeout=0.03))
    cluster = FakeCluster("c")
    router, cb, store = make_router(_one_route(r), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    cluster.upstream.on_upstream_headers(_response(200), False)
    await asyncio.sleep(0.1)
    assert cb.resets == [(ResponseFlag.UPSTREAM_REQUEST_TIMEOUT, "upstream_response_timeout")]
    assert cluster.stream.was_reset
    assert _counter(store, "cluster.c.upstream_rq_timeout") == 1
    assert _counter(store, "cluster.c.upstream_rq_504") == 0


async def test_timer_starts_when_the_request_ends() -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster="c", timeout=0.03))
    cluster = FakeCluster("c")
    router, cb, _ = make_router(_one_route(r), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request(method="POST"), end_stream=False)
    await asyncio.sleep(0.08)
    assert cb.local_replies == []
    router.decode_data(bytearray(b"body"), True)
    await asyncio.sleep(0.08)
    assert cb.reply.status == 504


async def test_timeout_zero_disables_the_route_timeout() -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster="c", timeout=0))
    cluster = FakeCluster("c")
    router, cb, _ = make_router(_one_route(r), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    assert b"x-envoy-expected-rq-timeout-ms" not in cluster.stream.headers
    assert router._timer is None
    router.on_destroy()


async def test_respect_expected_rq_timeout() -> None:
    cluster = FakeCluster("c")
    router, cb, _ = make_router(
        _one_route(route("c")),
        FakeClusterManager(cluster),
        asyncio.get_running_loop(),
        RouterConfig(respect_expected_rq_timeout=True),
    )
    _begin(router, cb, request(x_envoy_expected_rq_timeout_ms="20", x_envoy_upstream_rq_timeout_ms="5000"))
    await asyncio.sleep(0.1)
    assert cb.reply.status == 504


async def test_destroy_cancels_the_pending_request_and_the_timer() -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster="c", timeout=0.02))
    cluster = FakeCluster("c", ready_at_once=False)
    router, cb, _ = make_router(_one_route(r), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    router.on_destroy()
    assert cluster.pending is not None and cluster.pending.cancelled
    await asyncio.sleep(0.05)
    assert cb.local_replies == []
    # A stream handed over after the cancel is reset, not used.
    stream = cluster.ready()
    assert stream.was_reset and stream.sent == []


async def test_destroy_resets_an_open_stream() -> None:
    cluster = FakeCluster("c")
    router, cb, _ = make_router(_one_route(route("c")), FakeClusterManager(cluster), asyncio.get_running_loop())
    _begin(router, cb, request())
    cluster.upstream.on_upstream_headers(_response(200), False)
    router.on_destroy()
    assert cluster.stream.was_reset


async def test_route_stats_under_the_virtual_host() -> None:
    r = Route(match=RouteMatch(prefix="/"), route=RouteAction(cluster="c", timeout=0.02), stat_prefix="cart")
    cluster = FakeCluster("c")
    loop = asyncio.get_running_loop()
    store = Store()
    for path, status in (("/a", 200), ("/b", 503)):
        router, cb, _ = make_router(_one_route(r), FakeClusterManager(cluster), loop, store=store)
        _begin(router, cb, request(path=path))
        cluster.upstream.on_upstream_headers(_response(status), True)
    router, cb, _ = make_router(_one_route(r), FakeClusterManager(cluster), loop, store=store)
    _begin(router, cb, request())
    await asyncio.sleep(0.06)
    assert cb.reply.status == 504
    prefix = "vhost.v.route.cart."
    assert _counter(store, prefix + "upstream_rq_total") == 3
    assert _counter(store, prefix + "upstream_rq_200") == 1
    assert _counter(store, prefix + "upstream_rq_5xx") == 2
    assert _counter(store, prefix + "upstream_rq_completed") == 3
    assert _counter(store, prefix + "upstream_rq_timeout") == 1
    assert store.histograms[prefix + "upstream_rq_time"].count == 2
