"""Shared data with CAS, shared queues, tick timers and metrics (reference §7.7, §7.8, §12)."""

from __future__ import annotations

import uuid

from abi_probe import Probe

from abi.types import MetricType, Status


def unique(prefix: str) -> bytes:
    return f"{prefix}-{uuid.uuid4().hex}".encode()


def set_data(probe: Probe, key: bytes, value: bytes, cas: int = 0) -> int:
    return probe.call("proxy_set_shared_data", probe.put(key), len(key), probe.put(value), len(value), cas)


def get_data(probe: Probe, key: bytes) -> tuple[int, bytes | None, int]:
    out = probe.out(12)
    status = probe.call("proxy_get_shared_data", probe.put(key), len(key), out, out + 4, out + 8)
    if status != Status.OK:
        return status, None, 0
    return status, probe.out_buf(out), probe.u32(out + 8)


def test_shared_data_cas_semantics(probe: Probe) -> None:
    key = unique("k")
    assert get_data(probe, key)[0] == Status.NOT_FOUND
    assert set_data(probe, key, b"v1", cas=1234) == Status.OK  # absent key: cas ignored
    status, value, cas = get_data(probe, key)
    assert (status, value) == (Status.OK, b"v1") and cas != 0
    assert set_data(probe, key, b"v2", cas=cas + 1) == Status.CAS_MISMATCH
    assert set_data(probe, key, b"v2", cas=cas) == Status.OK
    _, value, cas2 = get_data(probe, key)
    assert value == b"v2" and cas2 != cas
    assert set_data(probe, key, b"v3", cas=cas) == Status.CAS_MISMATCH  # stale
    assert set_data(probe, key, b"", cas=0) == Status.OK  # unconditional; empty value reads as (0, 0)
    assert get_data(probe, key)[:2] == (Status.OK, None)


def test_shared_data_is_shared_across_vms_of_one_vm_id_only(make_probe) -> None:
    vm_id = unique("vm").decode()
    a, b = make_probe(vm_id=vm_id), make_probe(vm_id=vm_id)
    other = make_probe(vm_id=vm_id + "-other")
    key = unique("k")
    set_data(a, key, b"from-a")
    assert get_data(b, key)[1] == b"from-a"
    assert get_data(other, key)[0] == Status.NOT_FOUND


def register(probe: Probe, name: bytes) -> tuple[int, int]:
    out = probe.out(4)
    status = probe.call("proxy_register_shared_queue", probe.put(name), len(name), out)
    return status, probe.u32(out)


def test_queues_register_resolve_enqueue_dequeue_and_notify(make_probe) -> None:
    vm_id = unique("vm").decode()
    consumer, producer = make_probe(vm_id=vm_id), make_probe(vm_id=vm_id)
    name = unique("q")
    status, token = register(consumer, name)
    assert status == Status.OK and token != 0
    assert register(consumer, name) == (Status.OK, token)  # registering again gives the same queue
    out = producer.out(4)
    vm = producer.put(vm_id.encode())
    assert producer.call("proxy_resolve_shared_queue", vm, len(vm_id), producer.put(name), len(name), out) == Status.OK
    assert producer.u32(out) == token
    missing = b"missing"
    assert producer.call("proxy_resolve_shared_queue", 0, 0, producer.put(missing), 7, out) == Status.NOT_FOUND
    for item in (b"one", b"two"):
        assert producer.call("proxy_enqueue_shared_queue", token, producer.put(item), len(item)) == Status.OK
    assert producer.call("proxy_enqueue_shared_queue", 999999, 0, 0) == Status.NOT_FOUND
    # one notification per enqueue, on the registrant's side, when its host runs posted work
    assert "queue_ready" not in consumer.event_names()
    consumer.h.run_pending()
    ready = [e for e in consumer.events() if e[0] == "queue_ready"]
    assert ready == [("queue_ready", consumer.h.plugin.root.id, token)] * 2
    got = consumer.out()
    assert consumer.call("proxy_dequeue_shared_queue", token, got, got + 4) == Status.OK
    assert consumer.out_buf(got) == b"one"
    assert consumer.call("proxy_dequeue_shared_queue", token, got, got + 4) == Status.OK
    assert consumer.out_buf(got) == b"two"
    assert consumer.call("proxy_dequeue_shared_queue", token, got, got + 4) == Status.EMPTY
    assert consumer.call("proxy_dequeue_shared_queue", 999999, got, got + 4) == Status.NOT_FOUND


def test_tick_period_fires_and_rearms_and_stops(probe: Probe) -> None:
    assert probe.call("proxy_set_tick_period_milliseconds", 100) == Status.OK
    probe.h.advance_time(0.35)
    root = probe.h.plugin.root.id
    assert [e for e in probe.events() if e[0] == "tick"] == [("tick", root, 0)] * 3
    probe.call("proxy_set_tick_period_milliseconds", 0)
    probe.h.advance_time(1)
    assert probe.event_names().count("tick") == 3


def test_time_and_log_level(make_probe) -> None:
    from abi.types import LogLevel

    probe = make_probe(log_level=LogLevel.WARN)
    out = probe.out(8)
    assert probe.call("proxy_get_current_time_nanoseconds", out) == Status.OK
    before = probe.u64(out)
    probe.h.advance_time(1.5)
    probe.call("proxy_get_current_time_nanoseconds", out)
    assert probe.u64(out) - before == 1_500_000_000
    assert probe.call("proxy_get_log_level", out) == Status.OK and probe.u32(out) == LogLevel.WARN


def test_log_levels_and_bad_level(probe: Probe) -> None:
    from abi.types import LogLevel

    message = b"hello \xff"
    ptr = probe.put(message)
    assert probe.call("proxy_log", LogLevel.ERROR, ptr, len(message)) == Status.OK
    assert probe.h.logs[-1].level == LogLevel.ERROR and probe.h.logs[-1].message == "hello \ufffd"
    assert probe.call("proxy_log", 6, ptr, len(message)) == Status.BAD_ARGUMENT
    assert probe.call("proxy_log", 2, 0xFFFFFFF0, 100) == Status.INVALID_MEMORY_ACCESS


def define(probe: Probe, kind: int, name: bytes) -> tuple[int, int]:
    out = probe.out(4)
    status = probe.call("proxy_define_metric", kind, probe.put(name), len(name), out)
    return status, probe.u32(out)


def value_of(probe: Probe, metric_id: int) -> tuple[int, int]:
    out = probe.out(8)
    status = probe.call("proxy_get_metric", metric_id, out)
    return status, probe.u64(out) if status == Status.OK else -1


def test_metric_ids_and_semantics(probe: Probe) -> None:
    assert define(probe, MetricType.COUNTER, b"requests") == (Status.OK, 4)
    assert define(probe, MetricType.GAUGE, b"active") == (Status.OK, 5)
    assert define(probe, MetricType.HISTOGRAM, b"latency") == (Status.OK, 6)
    assert define(probe, MetricType.COUNTER, b"requests") == (Status.OK, 8)  # new id, same stat
    assert define(probe, 3, b"bad")[0] == Status.BAD_ARGUMENT
    inc = "proxy_increment_metric"
    assert probe.call(inc, 4, 5, 0) == Status.OK
    assert probe.call(inc, 8, 1, 0) == Status.OK
    assert probe.call(inc, 4, 0, 0) == Status.BAD_ARGUMENT  # counters only grow
    assert probe.call(inc, 4, 0xFFFFFFFF, 0xFFFFFFFF) == Status.BAD_ARGUMENT  # -1
    assert value_of(probe, 4) == (Status.OK, 6) and probe.h.metric("requests") == 6
    assert probe.call(inc, 5, 10, 0) == Status.OK
    assert probe.call(inc, 5, 0xFFFFFFFD, 0xFFFFFFFF) == Status.OK  # gauge: -3
    assert value_of(probe, 5) == (Status.OK, 7)
    assert probe.call("proxy_record_metric", 5, 42, 0) == Status.OK  # gauge: set
    assert value_of(probe, 5) == (Status.OK, 42)
    assert probe.call("proxy_record_metric", 4, 4, 0) == Status.OK  # counter: add
    assert probe.h.metric("requests") == 10
    assert probe.call("proxy_record_metric", 6, 250, 0) == Status.OK
    assert probe.h.metrics["latency"].samples == [250]
    assert probe.call(inc, 6, 1, 0) == Status.BAD_ARGUMENT
    assert value_of(probe, 6)[0] == Status.BAD_ARGUMENT
    assert value_of(probe, 99)[0] == Status.NOT_FOUND
    assert probe.call(inc, 99, 1, 0) == Status.NOT_FOUND
    assert probe.call("proxy_record_metric", 99, 1, 0) == Status.NOT_FOUND
