"""The gateway's side of a plugin: logging, timers, callouts, metrics and failures, for one plugin per worker.

Plugin metrics live in the gateway's stats store under Envoy's ``wasmcustom.`` prefix, so they show in
``/stats`` and ``/stats/prometheus`` beside everything else. VM failures are counted per plugin under
``wasm.<plugin name>.`` (vm_failures, and the failure kinds: trap, deadline, memory, host).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from abi.host import HttpCallRequest, HttpCallResponse, MetricSink, PluginFailure, PluginHost
from abi.types import LogLevel, MetricType, Status
from gateway.config.model import Node
from gateway.filters.wasm.callout import HttpCallout
from gateway.stats.store import Counter, Gauge, Histogram, Store
from gateway.upstream.api import Cancellable, ClusterManager

_LEVELS = {
    LogLevel.TRACE: 5,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFO: logging.INFO,
    LogLevel.WARN: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
    LogLevel.CRITICAL: logging.CRITICAL,
}
_FROM_PYTHON = sorted(((v, k) for k, v in _LEVELS.items()), reverse=True)


class StatMetric:
    """A plugin metric bound to a gateway stat."""

    __slots__ = ("_stat",)

    def __init__(self, stat: Counter | Gauge | Histogram) -> None:
        self._stat = stat

    def add(self, delta: int) -> None:
        stat = self._stat
        if isinstance(stat, Histogram):
            stat.record(delta)
        else:
            stat.add(delta)

    def set(self, value: int) -> None:
        if isinstance(self._stat, Gauge):
            self._stat.set(value)

    def record(self, value: int) -> None:
        stat = self._stat
        if isinstance(stat, Histogram):
            stat.record(value)
        else:
            stat.add(value)

    def value(self) -> int:
        stat = self._stat
        return 0 if isinstance(stat, Histogram) else stat.value


class GatewayPluginHost(PluginHost):
    def __init__(
        self,
        plugin_name: str,
        loop: asyncio.AbstractEventLoop,
        stats: Store,
        cluster_manager: ClusterManager,
        node: Node,
    ) -> None:
        self._name = plugin_name
        self._loop = loop
        self._stats = stats
        self._cluster_manager = cluster_manager
        self._node = {"id": node.id, "cluster": node.cluster, "metadata": dict(node.metadata)}
        self._logger = logging.getLogger(f"gateway.wasm.{plugin_name}")
        scope = stats.scope(f"wasm.{plugin_name}.")
        self._failures = scope.counter("vm_failures")
        self._failure_kinds = {
            kind: scope.counter(f"vm_failures_{kind}") for kind in ("trap", "deadline", "memory", "host")
        }

    def log(self, level: LogLevel, message: str) -> None:
        self._logger.log(_LEVELS[level], "%s", message)

    def log_level(self) -> LogLevel:
        effective = self._logger.getEffectiveLevel()
        for python_level, level in _FROM_PYTHON:
            if effective >= python_level:
                return level
        return LogLevel.TRACE

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Cancellable:
        return self._loop.call_later(delay_s, callback)

    def post(self, callback: Callable[[], None]) -> None:
        self._loop.call_soon_threadsafe(callback)

    def http_call(self, request: HttpCallRequest, on_response: Callable[[HttpCallResponse | None], None]) -> Status:
        cluster = self._cluster_manager.get(request.cluster)
        if cluster is None:
            return Status.BAD_ARGUMENT
        HttpCallout(cluster, request, on_response, self._loop)
        return Status.OK

    def define_metric(self, kind: MetricType, name: str) -> MetricSink:
        full = f"wasmcustom.{name}"
        stat: Counter | Gauge | Histogram
        if kind == MetricType.COUNTER:
            stat = self._stats.counter(full)
        elif kind == MetricType.GAUGE:
            stat = self._stats.gauge(full)
        else:
            stat = self._stats.histogram(full)
        return StatMetric(stat)

    def attribute(self, name: str) -> object | None:
        if name in ("node", "xds.node"):
            return self._node
        return None

    def plugin_failed(self, failure: PluginFailure) -> None:
        self._failures.inc()
        counter = self._failure_kinds.get(failure.kind)
        if counter is not None:
            counter.inc()
