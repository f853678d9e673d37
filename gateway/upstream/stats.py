"""A cluster's stats under ``cluster.<name>.``, with Envoy's names, created once at config time.

The router records the response-code stats (``upstream_rq_<code>``, ``upstream_rq_time``...); these are the
ones the cluster, its discovery and its pools own.
"""

from __future__ import annotations

from typing import Final

from gateway.stats.store import Counter, Gauge, Histogram, Scope

_COUNTERS: Final = (
    "upstream_cx_total",
    "upstream_cx_http1_total",
    "upstream_cx_connect_fail",
    "upstream_cx_connect_timeout",
    "upstream_cx_overflow",
    "upstream_cx_destroy",
    "upstream_cx_destroy_local",
    "upstream_cx_destroy_remote",
    "upstream_cx_destroy_with_active_rq",
    "upstream_cx_destroy_local_with_active_rq",
    "upstream_cx_destroy_remote_with_active_rq",
    "upstream_cx_max_requests",
    "upstream_cx_idle_timeout",
    "upstream_cx_protocol_error",
    "upstream_cx_none_healthy",
    "upstream_cx_rx_bytes_total",
    "upstream_cx_tx_bytes_total",
    "upstream_rq_total",
    "upstream_rq_cancelled",
    "upstream_rq_pending_total",
    "upstream_rq_pending_overflow",
    "upstream_rq_pending_failure_eject",
    "upstream_rq_retry_overflow",
    "membership_change",
    "update_attempt",
    "update_success",
    "update_failure",
    "update_no_rebuild",
)
_GAUGES: Final = (
    "upstream_cx_active",
    "upstream_rq_active",
    "upstream_rq_pending_active",
    "membership_total",
    "membership_healthy",
)
_HISTOGRAMS: Final = ("upstream_cx_connect_ms", "upstream_cx_length_ms")


class ClusterStats:
    """Attribute per stat (``stats.upstream_cx_total.inc()``): the hot path does no name lookups."""

    upstream_cx_total: Counter
    upstream_cx_http1_total: Counter
    upstream_cx_connect_fail: Counter
    upstream_cx_connect_timeout: Counter
    upstream_cx_overflow: Counter
    upstream_cx_destroy: Counter
    upstream_cx_destroy_local: Counter
    upstream_cx_destroy_remote: Counter
    upstream_cx_destroy_with_active_rq: Counter
    upstream_cx_destroy_local_with_active_rq: Counter
    upstream_cx_destroy_remote_with_active_rq: Counter
    upstream_cx_max_requests: Counter
    upstream_cx_idle_timeout: Counter
    upstream_cx_protocol_error: Counter
    upstream_cx_none_healthy: Counter
    upstream_cx_rx_bytes_total: Counter
    upstream_cx_tx_bytes_total: Counter
    upstream_rq_total: Counter
    upstream_rq_cancelled: Counter
    upstream_rq_pending_total: Counter
    upstream_rq_pending_overflow: Counter
    upstream_rq_pending_failure_eject: Counter
    upstream_rq_retry_overflow: Counter
    membership_change: Counter
    update_attempt: Counter
    update_success: Counter
    update_failure: Counter
    update_no_rebuild: Counter
    upstream_cx_active: Gauge
    upstream_rq_active: Gauge
    upstream_rq_pending_active: Gauge
    membership_total: Gauge
    membership_healthy: Gauge
    upstream_cx_connect_ms: Histogram
    upstream_cx_length_ms: Histogram

    __slots__ = (*_COUNTERS, *_GAUGES, *_HISTOGRAMS, "scope")

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        for name in _COUNTERS:
            setattr(self, name, scope.counter(name))
        for name in _GAUGES:
            setattr(self, name, scope.gauge(name))
        for name in _HISTOGRAMS:
            setattr(self, name, scope.histogram(name))
