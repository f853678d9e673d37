"""Lifecycle order, missing callbacks, and the failure policy: traps, deadlines, memory, rebuild, backoff
(reference §5, §6, §16)."""

from __future__ import annotations

import pytest
import wasmtime
from abi_probe import GET, Probe, wat

from abi.errors import PluginLoadError
from abi.limits import Limits
from abi.plugin import FAIL_DETAILS
from abi.testing import Harness
from abi.types import FailurePolicy, FilterDataStatus, FilterHeadersStatus

FAST = Limits(callback_deadline_ms=20, max_memory_bytes=8 * 1024 * 1024, reload_backoff_base_s=1.0)


def test_envoy_callback_order(probe: Probe) -> None:
    root = probe.h.plugin.root.id
    s = probe.h.stream()
    s.send_request_headers(GET)
    ctx = s.http._ctx.id
    s.send_request_body(b"abc", end_of_stream=False)
    s.send_request_trailers({"t": "1"})
    s.send_response_headers({":status": "200"})
    s.send_response_body(b"xy", end_of_stream=True)
    s.complete()
    assert probe.events() == [
        ("context_create", root, 0),
        ("vm_start", root, 0),
        ("configure", root, 0),
        ("context_create", ctx, root),
        ("request_headers", ctx, len(GET)),
        ("request_body", ctx, 3),
        ("request_trailers", ctx, 1),
        ("response_headers", ctx, 1),
        ("response_body", ctx, 2),
        ("log", ctx, 0),
        ("done", ctx, 0),
        ("delete", ctx, 0),
    ]
    s.complete()  # idempotent: nothing is called twice
    assert probe.event_names().count("delete") == 1
    probe.vm.remove_root(probe.h.plugin.root)  # what Plugin.close does before releasing the VM
    assert probe.events()[-2:] == [("done", root, 0), ("delete", root, 0)]


def test_a_plugin_without_callbacks_passes_everything() -> None:
    h = Harness(wat("add_header"))
    s = h.stream()
    assert s.send_request_body(b"body") == FilterDataStatus.CONTINUE
    assert s.forwarded_request_body == b"body"
    s.complete()
    assert h.errors() == []


def test_vm_start_or_configure_refusal_is_a_load_error(make_probe) -> None:
    for setter in ("set_vm_start_result", "set_configure_result"):
        probe = make_probe()
        probe.export(setter, 0)
        with pytest.raises(PluginLoadError, match=r"'rejecting'.*returned false"):
            probe.h.plugin.vm.add_root("rejecting", "", b"", probe.h.host, probe.h.plugin)


def misbehaving_stream(probe: Probe, how: int):
    assert probe.h.plugin.live_vm() is not None  # rebuilds a failed VM, as a new stream would
    probe.export("set_misbehave", how)
    s = probe.h.stream()
    status = s.send_request_headers(GET)
    return s, status


@pytest.mark.parametrize(("how", "kind"), [(1, "trap"), (2, "deadline"), (3, "memory")])
def test_failure_fails_only_that_stream_then_the_vm_is_rebuilt(make_probe, how: int, kind: str) -> None:
    probe = make_probe(limits=FAST, name="bad-plugin")
    other = probe.h.stream()
    other.send_request_headers(GET)  # an unrelated stream in flight on the same VM
    s, status = misbehaving_stream(probe, how)
    assert status == FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK
    assert s.status == 503 and s.local_reply.details == FAIL_DETAILS and s.local_reply.grpc_status == 14
    [failure] = probe.h.failures
    assert (failure.plugin, failure.kind, failure.phase) == ("bad-plugin", kind, "proxy_on_request_headers")
    assert probe.h.stats.vm_failures == 1 and probe.h.stats.streams_failed_closed >= 1
    # the next stream runs on a rebuilt VM, with fresh memory and globals
    fresh = probe.h.stream()
    assert fresh.send_request_headers(GET) == FilterHeadersStatus.CONTINUE
    assert probe.h.stats.vm_rebuilds == 1
    fresh.complete()
    s.complete()  # the failed stream's end makes no guest call
    assert probe.h.stats.vm_failures == 1


def test_failure_message_is_logged_with_the_plugin_name(make_probe, caplog) -> None:
    probe = make_probe(limits=FAST, name="noisy")
    with caplog.at_level("ERROR", logger="abi"):
        misbehaving_stream(probe, 1)
    assert any("noisy" in r.getMessage() and "unreachable" in r.getMessage() for r in caplog.records)


def test_fail_open_skips_the_plugin(make_probe) -> None:
    probe = make_probe(limits=FAST, failure_policy=FailurePolicy.FAIL_OPEN)
    s, status = misbehaving_stream(probe, 1)
    assert status == FilterHeadersStatus.CONTINUE and s.local_reply is None
    assert s.send_request_body(b"data") == FilterDataStatus.CONTINUE and s.forwarded_request_body == b"data"
    assert probe.h.stats.streams_failed_open == 1


def test_fail_open_resumes_a_stream_paused_when_another_stream_broke_the_vm(make_probe) -> None:
    probe = make_probe(limits=FAST, failure_policy=FailurePolicy.FAIL_OPEN)
    probe.export("set_action", 1)
    paused = probe.h.stream()
    paused.send_request_headers(GET)
    paused.send_request_body(b"held")
    misbehaving_stream(probe, 1)
    assert paused.continued == [1, 0] and paused.forwarded_request_body == b"held"


def test_repeated_failures_back_off(make_probe) -> None:
    probe = make_probe(limits=FAST)
    misbehaving_stream(probe, 1)
    misbehaving_stream(probe, 1)  # second consecutive failure, on the rebuilt VM
    assert probe.h.stats.vm_rebuilds == 1
    during_backoff = probe.h.stream()
    during_backoff.send_request_headers(GET)
    assert during_backoff.status == 503 and probe.h.stats.vm_rebuilds == 1  # no rebuild yet
    probe.h.advance_time(FAST.reload_backoff_base_s)
    after = probe.h.stream()
    assert after.send_request_headers(GET) == FilterHeadersStatus.CONTINUE
    assert probe.h.stats.vm_rebuilds == 2


def test_trap_in_tick_or_callout_does_not_kill_the_process(make_probe) -> None:
    probe = make_probe(limits=FAST)
    probe.call("proxy_set_tick_period_milliseconds", 10)
    probe.export("set_misbehave", 1)  # only stream callbacks misbehave: ticks keep working
    probe.h.advance_time(0.05)
    assert probe.h.failures == [] and probe.event_names().count("tick") == 5


def test_validate_plugin_runs_a_canary_and_names_the_cause() -> None:
    from abi.plugin import PluginConfig, validate_plugin

    module = validate_plugin(wat("add_header"), PluginConfig("ok"))
    assert "proxy_on_request_headers" in module.exports
    with pytest.raises(PluginLoadError, match=r"'truncated': invalid wasm"):
        validate_plugin(wat("probe")[:-1], PluginConfig("truncated"))
    trapping = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))'
        ' (func (export "malloc") (param i32) (result i32) i32.const 8)'
        ' (func (export "_initialize") unreachable))'
    )
    with pytest.raises(PluginLoadError, match=r"'broken': VM start failed \(trap\): .*unreachable"):
        validate_plugin(trapping, PluginConfig("broken"))


def test_plugins_with_one_vm_id_share_a_vm_and_recover_together() -> None:
    from abi.plugin import Plugin, PluginConfig
    from abi.runtime import VmRegistry, load_module

    registry = VmRegistry()
    first, second = Harness(wat("probe")), Harness(wat("probe"))
    module = load_module(wat("probe"), "shared")
    a = Plugin(module, PluginConfig("a", root_id="ra", vm_id="edge", limits=FAST), first.host, registry)
    b = Plugin(module, PluginConfig("b", root_id="rb", vm_id="edge", limits=FAST), second.host, registry)
    assert a.vm is b.vm and a.root is not None and b.root is not None and a.root.id != b.root.id
    other = Plugin(module, PluginConfig("c", vm_id="other"), first.host, registry)
    assert other.vm is not a.vm
    probe = Probe(first)
    probe.h.plugin = a  # drive plugin a through the probe helpers
    assert a.vm is not None and a.live_vm() is not None
    misbehaving_stream(probe, 1)
    assert a.stats.vm_failures == 1 and b.stats.vm_failures == 1  # one VM: both plugins lost it
    assert a.live_vm() is not None and b.live_vm() is not None
    assert a.vm is b.vm and a.stats.vm_rebuilds == 1 and b.stats.vm_rebuilds == 1


def test_a_refused_plugin_leaves_no_root_behind(make_probe) -> None:
    probe = make_probe()
    vm = probe.vm
    probe.export("set_configure_result", 0)
    with pytest.raises(PluginLoadError):
        vm.add_root("refused", "", b"", probe.h.host, probe.h.plugin)
    assert [root.name for root, _ in vm.listeners] == ["test"]
    assert sorted(c.id for c in vm.contexts.values()) == [probe.h.plugin.root.id]


def test_a_stream_outliving_its_closed_plugin_fails_per_policy(make_probe) -> None:
    probe = make_probe()
    s = probe.h.stream()
    s.send_request_headers(GET)
    probe.h.close()
    assert s.send_response_headers({":status": "200"}) == FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK
    assert s.local_reply is not None and s.local_reply.details == FAIL_DETAILS
    s.complete()
