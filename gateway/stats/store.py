"""The stats store: counters, gauges and histograms under Envoy's dotted names, one store per process.

Components ask for their stats once, at config time, and keep the objects; the hot path only does ``inc()``.
Rendering (text, JSON, Prometheus with Envoy's tag extraction) lives beside this module and reads ``snapshot``.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Final


class Counter:
    __slots__ = ("name", "value", "used")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value = 0
        self.used = False

    def inc(self) -> None:
        self.value += 1
        self.used = True

    def add(self, amount: int) -> None:
        self.value += amount
        self.used = True


class Gauge:
    __slots__ = ("name", "value", "used")

    def __init__(self, name: str) -> None:
        self.name = name
        self.value = 0
        self.used = False

    def inc(self) -> None:
        self.value += 1
        self.used = True

    def dec(self) -> None:
        self.value -= 1
        self.used = True

    def set(self, value: int) -> None:
        self.value = value
        self.used = True

    def add(self, amount: int) -> None:
        self.value += amount
        self.used = True

    def sub(self, amount: int) -> None:
        self.value -= amount
        self.used = True


# Envoy's default histogram bucket bounds (milliseconds for *_time stats).
DEFAULT_BUCKETS: Final[tuple[float, ...]] = (
    0.5,
    1,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    600000,
    1800000,
    3600000,
)


class Histogram:
    """Bucket counts plus sum, count, min and max; quantiles are estimated from them when rendered
    (``gateway.stats.quantiles``). A value lands in the first bucket whose bound is >= it (Prometheus ``le``)."""

    __slots__ = ("name", "bounds", "counts", "sum", "count", "min", "max", "used")

    def __init__(self, name: str, bounds: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name = name
        self.bounds = tuple(float(bound) for bound in bounds)  # floats: record() unboxes them, an int costs a call
        self.counts = [0] * (len(bounds) + 1)  # last slot: above the largest bound
        self.sum = 0.0
        self.count = 0
        self.min = math.inf
        self.max = -math.inf
        self.used = False

    def record(self, value: float) -> None:
        # bisect_left's search, written out: compiled, it compares C doubles, where bisect's C code compares Python
        # objects for several times the instructions.
        bounds = self.bounds
        lo, hi = 0, len(bounds)
        while lo < hi:
            mid = (lo + hi) >> 1
            if bounds[mid] < value:
                lo = mid + 1
            else:
                hi = mid
        self.counts[lo] += 1
        self.sum += value
        self.count += 1
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self.used = True


@dataclass
class Store:
    """All stats of a process, by full name. Creating a stat twice returns the same object."""

    counters: dict[str, Counter] = field(default_factory=dict)
    gauges: dict[str, Gauge] = field(default_factory=dict)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def counter(self, name: str) -> Counter:
        stat = self.counters.get(name)
        if stat is None:
            with self._lock:
                stat = self.counters.setdefault(name, Counter(name))
        return stat

    def gauge(self, name: str) -> Gauge:
        stat = self.gauges.get(name)
        if stat is None:
            with self._lock:
                stat = self.gauges.setdefault(name, Gauge(name))
        return stat

    def histogram(self, name: str) -> Histogram:
        stat = self.histograms.get(name)
        if stat is None:
            with self._lock:
                stat = self.histograms.setdefault(name, Histogram(name))
        return stat

    def scope(self, prefix: str) -> Scope:
        return Scope(self, prefix)


class Scope:
    """A view of the store that prefixes names: ``store.scope("cluster.cart.").counter("upstream_rq_total")``."""

    __slots__ = ("prefix", "store")

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix if not prefix or prefix.endswith(".") else prefix + "."

    def counter(self, name: str) -> Counter:
        return self.store.counter(self.prefix + name)

    def gauge(self, name: str) -> Gauge:
        return self.store.gauge(self.prefix + name)

    def histogram(self, name: str) -> Histogram:
        return self.store.histogram(self.prefix + name)

    def scope(self, prefix: str) -> Scope:
        return Scope(self.store, self.prefix + prefix)
