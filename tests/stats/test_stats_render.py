"""Text, JSON and Prometheus renderings of a known store, line for line."""

from __future__ import annotations

import json

import pytest

from gateway.stats.prometheus import render_prometheus
from gateway.stats.quantiles import estimate
from gateway.stats.render import Selection, render_json, render_text
from gateway.stats.server import ServerState, ServerStats
from gateway.stats.store import Histogram, Store
from gateway.stats.tags import TagExtractor


def known_store() -> Store:
    store = Store()
    cluster = store.scope("cluster.cart_cluster")
    cluster.counter("upstream_rq_total").add(5)
    cluster.counter("upstream_rq_200").add(4)
    cluster.counter("upstream_rq_503").inc()
    cluster.counter("upstream_rq_2xx").add(4)
    cluster.counter("upstream_cx_connect_fail")  # never incremented: not "used"
    cluster.gauge("upstream_rq_active").set(2)
    http = store.scope("http.ingress_http")
    http.counter("downstream_rq_2xx").add(3)
    http.counter("downstream_rq_5xx").inc()
    store.counter("listener.0.0.0.0_8080.downstream_cx_total").add(7)
    store.gauge("server.live").set(1)
    rq_time = cluster.histogram("upstream_rq_time")
    for value in (3, 7, 7, 120):
        rq_time.record(value)
    store.histogram("http.ingress_http.downstream_rq_time")  # declared, nothing recorded
    return store


def test_text_is_sorted_with_histogram_summaries() -> None:
    assert render_text(known_store()).splitlines() == [
        "cluster.cart_cluster.upstream_cx_connect_fail: 0",
        "cluster.cart_cluster.upstream_rq_200: 4",
        "cluster.cart_cluster.upstream_rq_2xx: 4",
        "cluster.cart_cluster.upstream_rq_503: 1",
        "cluster.cart_cluster.upstream_rq_active: 2",
        "cluster.cart_cluster.upstream_rq_total: 5",
        "http.ingress_http.downstream_rq_2xx: 3",
        "http.ingress_http.downstream_rq_5xx: 1",
        "listener.0.0.0.0_8080.downstream_cx_total: 7",
        "server.live: 1",
        # 3 in (1, 5], 7 and 7 in (5, 10], 120 in (100, 250]; outer buckets clamped to the min and max.
        "cluster.cart_cluster.upstream_rq_time: P0(nan,3) P25(nan,5) P50(nan,7.5) P75(nan,10) P90(nan,112) "
        "P95(nan,116) P99(nan,119.2) P99.5(nan,119.6) P99.9(nan,119.92) P100(nan,120)",
        "http.ingress_http.downstream_rq_time: No recorded values",
    ]


def test_filter_and_usedonly() -> None:
    store = known_store()
    assert render_text(store, Selection.parse(r"rq_\dxx$", False)).splitlines() == [
        "cluster.cart_cluster.upstream_rq_2xx: 4",
        "http.ingress_http.downstream_rq_2xx: 3",
        "http.ingress_http.downstream_rq_5xx: 1",
    ]
    used = render_text(store, Selection.parse(None, True))
    assert "upstream_cx_connect_fail" not in used
    assert "downstream_rq_time" not in used
    assert "cluster.cart_cluster.upstream_rq_time: P0" in used


def test_bad_filter_regex_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"Invalid regex: '\(unclosed'"):
        Selection.parse("(unclosed", False)


def test_json_shape() -> None:
    doc = json.loads(render_json(known_store(), Selection.parse("cart_cluster.upstream_rq_(total|time)", False)))
    assert doc == {
        "stats": [
            {"name": "cluster.cart_cluster.upstream_rq_total", "value": 5},
            {
                "histograms": {
                    "supported_quantiles": [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100],
                    "computed_quantiles": [
                        {
                            "name": "cluster.cart_cluster.upstream_rq_time",
                            "values": [
                                {"interval": None, "cumulative": c}
                                for c in (3, 5, 7.5, 10, 112, 116, 119.2, 119.6, 119.92, 120)
                            ],
                        }
                    ],
                }
            },
        ]
    }
    assert json.loads(render_json(Store())) == {"stats": []}


def test_prometheus_exposition() -> None:
    store = known_store()
    text = render_prometheus(store, Selection.parse("^(cluster|http|listener)", False))
    buckets = [
        ("0.5", 0), ("1", 0), ("5", 1), ("10", 3), ("25", 3), ("50", 3), ("100", 3), ("250", 4), ("500", 4),
        ("1000", 4), ("2500", 4), ("5000", 4), ("10000", 4), ("30000", 4), ("60000", 4), ("300000", 4),
        ("600000", 4), ("1800000", 4), ("3600000", 4), ("+Inf", 4),
    ]  # fmt: skip
    cart = 'envoy_cluster_name="cart_cluster"'
    assert text.split("\n") == [
        "# TYPE envoy_cluster_upstream_cx_connect_fail counter",
        f"envoy_cluster_upstream_cx_connect_fail{{{cart}}} 0",
        "",
        "# TYPE envoy_cluster_upstream_rq counter",
        f'envoy_cluster_upstream_rq{{envoy_response_code="200",{cart}}} 4',
        f'envoy_cluster_upstream_rq{{envoy_response_code="503",{cart}}} 1',
        "",
        "# TYPE envoy_cluster_upstream_rq_total counter",
        f"envoy_cluster_upstream_rq_total{{{cart}}} 5",
        "",
        "# TYPE envoy_cluster_upstream_rq_xx counter",
        f'envoy_cluster_upstream_rq_xx{{envoy_response_code_class="2",{cart}}} 4',
        "",
        "# TYPE envoy_http_downstream_rq_xx counter",
        'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress_http"} 3',
        'envoy_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress_http"} 1',
        "",
        "# TYPE envoy_listener_downstream_cx_total counter",
        'envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_8080"} 7',
        "",
        "# TYPE envoy_cluster_upstream_rq_active gauge",
        f"envoy_cluster_upstream_rq_active{{{cart}}} 2",
        "",
        "# TYPE envoy_cluster_upstream_rq_time histogram",
        *(f'envoy_cluster_upstream_rq_time_bucket{{{cart},le="{le}"}} {n}' for le, n in buckets),
        f"envoy_cluster_upstream_rq_time_sum{{{cart}}} 137",
        f"envoy_cluster_upstream_rq_time_count{{{cart}}} 4",
        "",
        "# TYPE envoy_http_downstream_rq_time histogram",
        *(
            f'envoy_http_downstream_rq_time_bucket{{envoy_http_conn_manager_prefix="ingress_http",le="{le}"}} 0'
            for le, _ in buckets
        ),
        'envoy_http_downstream_rq_time_sum{envoy_http_conn_manager_prefix="ingress_http"} 0',
        'envoy_http_downstream_rq_time_count{envoy_http_conn_manager_prefix="ingress_http"} 0',
        "",
        "",
    ]


def test_prometheus_sanitises_odd_names_and_label_values() -> None:
    store = Store()
    store.counter("wasmcustom.my_plugin.hits=ok;x").add(2)
    store.counter("wasmcustom.9lives").inc()  # cannot be a Prometheus name without the envoy_ prefix: left out
    store.gauge("weird-name.with/slash:colon").set(-3)
    store.counter('cluster.a"b\\c.upstream_rq_total').inc()
    assert render_prometheus(store).splitlines() == [
        "# TYPE envoy_cluster_upstream_rq_total counter",
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="a\\"b\\\\c"} 1',
        "",
        "# TYPE my_plugin_hits_ok_x counter",
        "my_plugin_hits_ok_x{} 2",
        "",
        "# TYPE envoy_weird_name_with_slash_colon gauge",
        "envoy_weird_name_with_slash_colon{} -3",
        "",
    ]


def test_prometheus_one_type_per_metric_name() -> None:
    store = Store()
    store.counter("a.b").inc()
    store.gauge("a_b").set(1)  # sanitises to the counter's name: dropped rather than break the exposition
    assert render_prometheus(store) == "# TYPE envoy_a_b counter\nenvoy_a_b{} 1\n\n"


@pytest.mark.parametrize(
    ("name", "base", "tags"),
    [
        (
            "cluster.cart.upstream_rq_200",
            "cluster.upstream_rq",
            (("envoy.response_code", "200"), ("envoy.cluster_name", "cart")),
        ),
        (
            "http.ingress_http.downstream_rq_5xx",
            "http.downstream_rq_xx",
            (("envoy.response_code_class", "5"), ("envoy.http_conn_manager_prefix", "ingress_http")),
        ),
        (
            "listener.[__1]_8080.downstream_cx_total",
            "listener.downstream_cx_total",
            (("envoy.listener_address", "[__1]_8080"),),
        ),
        (
            "listener.0.0.0.0_80.http.ingress.downstream_rq_2xx",
            "listener.http.downstream_rq_xx",
            (
                ("envoy.response_code_class", "2"),
                ("envoy.http_conn_manager_prefix", "ingress"),
                ("envoy.listener_address", "0.0.0.0_80"),
            ),
        ),
        (
            "vhost.shop.vcluster.api.upstream_rq_time",
            "vhost.vcluster.upstream_rq_time",
            (("envoy.virtual_cluster", "api"), ("envoy.virtual_host", "shop")),
        ),
        ("tcp.db_proxy.downstream_cx_total", "tcp.downstream_cx_total", (("envoy.tcp_prefix", "db_proxy"),)),
        (
            "listener_manager.worker_3.downstream_cx_active",
            "listener_manager.downstream_cx_active",
            (("envoy.worker_id", "worker_3"),),
        ),
        ("server.uptime", "server.uptime", ()),
    ],
)
def test_default_tag_extraction(name: str, base: str, tags: tuple[tuple[str, str], ...]) -> None:
    assert TagExtractor().extract(name) == (base, tags)


def test_quantiles_clamp_to_min_and_max() -> None:
    histogram = Histogram("h")
    assert estimate(histogram) is None
    histogram.record(42)
    assert estimate(histogram) == [42.0] * 10
    histogram.record(10_000_000)  # above the largest bound: the overflow bucket ends at the max
    values = estimate(histogram, (0, 50, 100))
    assert values == [42.0, 50.0, 10_000_000.0]


def test_server_stats() -> None:
    store = Store()
    server = ServerStats(store, start_time=1000.0, concurrency=2)
    assert (store.gauge("server.state").value, store.gauge("server.live").value) == (2, 0)
    server.set_state(ServerState.LIVE)
    server.refresh(now=1042.9)
    assert store.gauge("server.uptime").value == 42
    assert store.gauge("server.live").value == 1
    assert store.gauge("server.concurrency").value == 2
    assert store.gauge("server.memory_allocated").value > 1_000_000
    server.set_state(ServerState.DRAINING)
    assert (store.gauge("server.state").value, store.gauge("server.live").value) == (1, 0)
