"""The connection manager's stats, under Envoy's ``http.<stat_prefix>.`` names, resolved once per config."""

from __future__ import annotations

from gateway.stats.store import Counter, Gauge, Histogram, Store


class HcmStats:
    __slots__ = (
        "cx_total",
        "cx_active",
        "cx_http1_total",
        "cx_http1_active",
        "cx_destroy",
        "cx_destroy_remote",
        "cx_destroy_local",
        "cx_destroy_active_rq",
        "cx_destroy_remote_active_rq",
        "cx_destroy_local_active_rq",
        "cx_idle_timeout",
        "cx_max_duration_reached",
        "cx_protocol_error",
        "cx_upgrades_total",
        "cx_upgrades_active",
        "cx_rx_bytes_total",
        "cx_tx_bytes_total",
        "cx_length_ms",
        "rq_total",
        "rq_http1_total",
        "rq_active",
        "rq_xx",
        "rq_completed",
        "rq_time",
        "rq_rx_reset",
        "rq_tx_reset",
        "rq_too_large",
        "rq_idle_timeout",
        "rq_timeout",
        "rq_header_timeout",
        "rq_response_before_rq_complete",
        "rq_max_duration_reached",
        "rq_ws_on_non_ws_route",
        "rs_too_large",
    )

    def __init__(self, store: Store, stat_prefix: str) -> None:
        s = store.scope(f"http.{stat_prefix}.")
        c = s.counter
        self.cx_total: Counter = c("downstream_cx_total")
        self.cx_active: Gauge = s.gauge("downstream_cx_active")
        self.cx_http1_total = c("downstream_cx_http1_total")
        self.cx_http1_active: Gauge = s.gauge("downstream_cx_http1_active")
        self.cx_destroy = c("downstream_cx_destroy")
        self.cx_destroy_remote = c("downstream_cx_destroy_remote")
        self.cx_destroy_local = c("downstream_cx_destroy_local")
        self.cx_destroy_active_rq = c("downstream_cx_destroy_active_rq")
        self.cx_destroy_remote_active_rq = c("downstream_cx_destroy_remote_active_rq")
        self.cx_destroy_local_active_rq = c("downstream_cx_destroy_local_active_rq")
        self.cx_idle_timeout = c("downstream_cx_idle_timeout")
        self.cx_max_duration_reached = c("downstream_cx_max_duration_reached")
        self.cx_protocol_error = c("downstream_cx_protocol_error")
        self.cx_upgrades_total = c("downstream_cx_upgrades_total")
        self.cx_upgrades_active: Gauge = s.gauge("downstream_cx_upgrades_active")
        self.cx_rx_bytes_total = c("downstream_cx_rx_bytes_total")
        self.cx_tx_bytes_total = c("downstream_cx_tx_bytes_total")
        self.cx_length_ms: Histogram = s.histogram("downstream_cx_length_ms")
        self.rq_total = c("downstream_rq_total")
        self.rq_http1_total = c("downstream_rq_http1_total")
        self.rq_active: Gauge = s.gauge("downstream_rq_active")
        # Index by status // 100: downstream_rq_1xx .. downstream_rq_5xx.
        self.rq_xx: tuple[Counter, ...] = tuple(c(f"downstream_rq_{n}xx") for n in range(1, 6))
        self.rq_completed = c("downstream_rq_completed")
        self.rq_time: Histogram = s.histogram("downstream_rq_time")
        self.rq_rx_reset = c("downstream_rq_rx_reset")
        self.rq_tx_reset = c("downstream_rq_tx_reset")
        self.rq_too_large = c("downstream_rq_too_large")
        self.rq_idle_timeout = c("downstream_rq_idle_timeout")
        self.rq_timeout = c("downstream_rq_timeout")
        self.rq_header_timeout = c("downstream_rq_header_timeout")
        self.rq_response_before_rq_complete = c("downstream_rq_response_before_rq_complete")
        self.rq_max_duration_reached = c("downstream_rq_max_duration_reached")
        self.rq_ws_on_non_ws_route = c("downstream_rq_ws_on_non_ws_route")
        self.rs_too_large = c("rs_too_large")

    # Per request, one call each instead of one per stat; a counter's inc() is its two assignments.
    def request_started(self) -> None:
        """``downstream_rq_total``, ``downstream_rq_http1_total`` and ``downstream_rq_active`` up by one."""
        total, http1, active = self.rq_total, self.rq_http1_total, self.rq_active
        total.value += 1
        total.used = True
        http1.value += 1
        http1.used = True
        active.value += 1
        active.used = True

    def request_ended(self, status: int, ms: float) -> None:
        """An active stream ended with ``status`` (0: none sent) after ``ms`` milliseconds."""
        active, completed = self.rq_active, self.rq_completed
        active.value -= 1
        active.used = True
        if 100 <= status < 600:
            xx = self.rq_xx[status // 100 - 1]
            xx.value += 1
            xx.used = True
        completed.value += 1
        completed.used = True
        self.rq_time.record(ms)

    def record_status(self, status: int) -> None:
        cls = status // 100
        if 1 <= cls <= 5:
            self.rq_xx[cls - 1].inc()
