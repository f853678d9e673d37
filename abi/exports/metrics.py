"""Metrics (reference §7.8, §12.4). abi keeps ids and types (id ≡ type mod 4, first ids 4, 5, 6); the
values live in the sinks the embedder returns from `PluginHost.define_metric`."""

from __future__ import annotations

from typing import Final

from abi.context import AbiState
from abi.exports.base import env
from abi.types import MetricType, Status
from abi.vm import HostFunction

_SIGN: Final = 1 << 63
# Plain names: an enum member looked up through its class is a generic attribute read on every call.
_OK: Final = Status.OK
_NOT_FOUND: Final = Status.NOT_FOUND
_BAD_ARGUMENT: Final = Status.BAD_ARGUMENT
_COUNTER: Final = MetricType.COUNTER
_GAUGE: Final = MetricType.GAUGE
_HISTOGRAM: Final = MetricType.HISTOGRAM


def proxy_define_metric(state: AbiState, metric_type: int, name_ptr: int, name_len: int, id_out: int) -> int:
    name = state.memory.read(name_ptr, name_len).decode("utf-8", "replace")
    if metric_type > _HISTOGRAM:
        return _BAD_ARGUMENT
    kind = MetricType(metric_type)
    sink = state.metric_sinks.get((kind, name))
    if sink is None:
        sink = state.metric_sinks[(kind, name)] = state.plugin_host().define_metric(kind, name)
    state.next_metric[kind] += 4  # every define allocates a new id, even for a known name
    metric_id = state.next_metric[kind]
    state.metrics[metric_id] = (kind, sink)
    state.memory.write_u32(id_out, metric_id)
    return _OK


def proxy_increment_metric(state: AbiState, metric_id: int, delta: int) -> int:
    metric = state.metrics.get(metric_id)
    if metric is None:
        return _NOT_FOUND
    kind, sink = metric
    delta = delta - (1 << 64) if delta & _SIGN else delta  # i64: signed
    if kind == _COUNTER:
        if delta <= 0:
            return _BAD_ARGUMENT
        sink.add(delta)
    elif kind == _GAUGE:
        sink.add(delta)
    else:
        return _BAD_ARGUMENT
    return _OK


def proxy_record_metric(state: AbiState, metric_id: int, value: int) -> int:
    metric = state.metrics.get(metric_id)
    if metric is None:
        return _NOT_FOUND
    kind, sink = metric
    if kind == _COUNTER:
        sink.add(value)
    elif kind == _GAUGE:
        sink.set(value)
    else:
        sink.record(value)
    return _OK


def proxy_get_metric(state: AbiState, metric_id: int, value_out: int) -> int:
    metric = state.metrics.get(metric_id)
    if metric is None:
        return _NOT_FOUND
    kind, sink = metric
    if kind == _HISTOGRAM:
        return _BAD_ARGUMENT
    state.memory.write_u64(value_out, sink.value())
    return _OK


FUNCTIONS: list[HostFunction] = [
    env("proxy_define_metric", "iiii", proxy_define_metric),
    env("proxy_increment_metric", "iI", proxy_increment_metric),
    env("proxy_record_metric", "iI", proxy_record_metric),
    env("proxy_get_metric", "ii", proxy_get_metric),
]
