"""Circuit breakers: the cluster-wide counts of connections, pending requests, active requests and active retries,
each against its DEFAULT-priority threshold (Envoy's defaults 1024/1024/1024/3).

Each resource publishes ``circuit_breakers.default.<x>_open`` (1 while the count is at its limit) and, with
``track_remaining``, ``circuit_breakers.default.remaining_<x>``. Callers check ``can_create()`` and then
``inc()``; every ``inc()`` is paired with one ``dec()``.
"""

from __future__ import annotations

from gateway.config.model import Thresholds
from gateway.stats.store import Gauge, Scope


class Resource:
    __slots__ = ("limit", "count", "_open", "_remaining")

    def __init__(self, limit: int, open_gauge: Gauge, remaining: Gauge | None) -> None:
        self.limit = limit
        self.count = 0
        self._open = open_gauge
        self._remaining = remaining
        self._publish()

    def can_create(self) -> bool:
        return self.count < self.limit

    def inc(self) -> None:
        self.count += 1
        # Per request: publish only when a gauge would change (the open gauge flips only at the limit).
        if self._remaining is not None or self.count == self.limit:
            self._publish()

    def dec(self) -> None:
        self.count -= 1
        if self._remaining is not None or self.count == self.limit - 1:
            self._publish()

    def _publish(self) -> None:
        self._open.set(1 if self.count >= self.limit else 0)
        if self._remaining is not None:
            self._remaining.set(max(0, self.limit - self.count))


class CircuitBreakers:
    __slots__ = ("thresholds", "connections", "pending_requests", "requests", "retries")

    def __init__(self, thresholds: Thresholds, scope: Scope) -> None:
        self.thresholds = thresholds
        cb = scope.scope("circuit_breakers.default.")

        def resource(limit: int, open_name: str, remaining_name: str) -> Resource:
            remaining = cb.gauge(remaining_name) if thresholds.track_remaining else None
            return Resource(limit, cb.gauge(open_name), remaining)

        self.connections = resource(thresholds.max_connections, "cx_open", "remaining_cx")
        self.pending_requests = resource(thresholds.max_pending_requests, "rq_pending_open", "remaining_pending")
        self.requests = resource(thresholds.max_requests, "rq_open", "remaining_rq")
        self.retries = resource(thresholds.max_retries, "rq_retry_open", "remaining_retries")

    def as_dict(self) -> dict[str, int]:
        t = self.thresholds
        return {
            "max_connections": t.max_connections,
            "max_pending_requests": t.max_pending_requests,
            "max_requests": t.max_requests,
            "max_retries": t.max_retries,
        }
