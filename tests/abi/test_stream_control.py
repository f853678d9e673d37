"""Stream control, local responses, effective context and proxy_done (reference §6.5, §6.6, §7.1, §7.4, §8)."""

from __future__ import annotations

from abi_probe import GET, Probe

from abi.memory import encode_pairs
from abi.types import FilterDataStatus, FilterHeadersStatus, Status, StreamType


def local_response(
    probe: Probe,
    s,
    status: int = 403,
    details: bytes = b"denied by plugin",
    body: bytes = b"no",
    headers: list[tuple[bytes, bytes]] | None = None,
    grpc: int = 0xFFFFFFFF,
) -> int:
    pairs = encode_pairs(headers or [(b"X-Reason", b"test")])
    return probe.call(
        "proxy_send_local_response",
        status,
        probe.put(details),
        len(details),
        probe.put(body),
        len(body),
        probe.put(pairs),
        len(pairs),
        grpc,
        ctx=s,
    )


def test_local_response_is_deferred_then_runs_the_response_path(probe: Probe) -> None:
    probe.export("set_action", 1)
    s = probe.h.stream()
    s.send_request_headers(GET)
    assert local_response(probe, s) == Status.OK
    # the call returned before the reply went out: effects wait for the outermost guest call to finish,
    # which the probe's call already did, so the reply has now been sent and run through the plugin
    assert s.local_reply is not None
    assert (s.local_reply.status, s.local_reply.body, s.local_reply.details) == (403, b"no", "denied_by_plugin")
    assert s.local_reply.headers == [(b"x-reason", b"test")] and s.local_reply.grpc_status is None
    assert s.status == 403 and s.response_header("x-reason") == "test"
    assert "response_headers" in probe.event_names()  # the plugin saw its own reply


def test_grpc_status_only_in_range(probe: Probe) -> None:
    probe.export("set_action", 1)
    s = probe.h.stream()
    s.send_request_headers(GET)
    local_response(probe, s, status=200, grpc=7)
    assert s.local_reply is not None and s.local_reply.grpc_status == 7
    assert s.response_header("grpc-status") == "7"


def test_local_response_forces_stop_results() -> None:
    """A plugin that replies and then returns Continue must still stop the chain (reference §8.1)."""
    import wasmtime

    from abi.testing import Harness

    module = wasmtime.wat2wasm("""(module
      (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (drop (call $reply (i32.const 401) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                           (i32.const 0) (i32.const 0) (i32.const -1)))
        (i32.const 0))
      (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
        (drop (call $reply (i32.const 400) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                           (i32.const 0) (i32.const 0) (i32.const -1)))
        (i32.const 0)))""")
    h = Harness(module)
    s = h.stream()
    assert s.send_request_headers(GET) == FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK
    assert s.status == 401
    s2 = h.stream()
    s2.http.on_request_headers([(b":path", b"/")], False)  # no embedder behind: the reply goes nowhere
    status, forwarded = s2.http.on_request_body(b"body", True)
    assert status == FilterDataStatus.STOP_ITERATION_NO_BUFFER and forwarded == b""


def test_continue_and_close(probe: Probe) -> None:
    probe.export("set_action", 1)
    s = probe.h.stream()
    assert s.send_request_headers(GET) == FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK
    assert s.send_request_body(b"held", end_of_stream=True) is None  # held behind the paused headers
    probe.export("set_action", 0)
    assert probe.call("proxy_continue_stream", StreamType.HTTP_REQUEST, ctx=s) == Status.OK
    assert s.continued == [1, 0] and s.forwarded_request_body == b"held"
    assert probe.call("proxy_continue_stream", StreamType.UPSTREAM, ctx=s) == Status.UNIMPLEMENTED
    assert probe.call("proxy_continue_stream", StreamType.DOWNSTREAM, ctx=s) == Status.OK
    assert probe.call("proxy_continue_stream", 4, ctx=s) == Status.BAD_ARGUMENT
    assert probe.call("proxy_close_stream", 4, ctx=s) == Status.BAD_ARGUMENT
    assert probe.call("proxy_close_stream", StreamType.HTTP_RESPONSE, ctx=s) == Status.OK
    assert s.reset_details == "wasm_close_stream"
    # from a root context there is nothing to act on
    assert probe.call("proxy_continue_stream", StreamType.HTTP_REQUEST) == Status.OK


def test_stop_iteration_is_rewritten_unless_allowed(make_probe) -> None:
    probe = make_probe(allow_on_headers_stop_iteration=True)
    probe.export("set_action", 1)
    s = probe.h.stream()
    assert s.send_request_headers(GET) == FilterHeadersStatus.STOP_ITERATION
    probe.export("set_action", 0)
    assert s.send_request_body(b"x") == FilterDataStatus.CONTINUE  # body still reaches the plugin


def test_header_result_mapping(probe: Probe) -> None:
    expected = {
        0: FilterHeadersStatus.CONTINUE,
        1: FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK,
        2: FilterHeadersStatus.CONTINUE,
        3: FilterHeadersStatus.STOP_ALL_ITERATION_AND_BUFFER,
        4: FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK,
        99: FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK,
    }
    for raw, status in expected.items():
        probe.export("set_action", raw)
        assert probe.h.stream().send_request_headers(GET) == status, raw


def test_effective_context(probe: Probe) -> None:
    probe.export("set_action", 1)
    s = probe.h.stream()
    s.send_request_headers(GET)
    ctx = s.http._ctx
    assert probe.call("proxy_set_effective_context", 12345) == Status.BAD_ARGUMENT
    assert probe.call("proxy_set_effective_context", ctx.id) == Status.OK
    vm = probe.vm
    assert vm.effective is None  # reset when the guest call returned


def test_proxy_done_only_for_a_pending_root(probe: Probe) -> None:
    assert probe.call("proxy_done") == Status.NOT_FOUND
    probe.export("set_done_result", 0)
    plugin = probe.h.plugin
    vm, root = plugin.vm, plugin.root
    vm.remove_root(root)  # proxy_on_done answers 0: the root is kept until proxy_done
    assert root.pending_done and root.id in vm.contexts
    assert probe.call("proxy_done", ctx=root) == Status.OK
    assert root.id not in vm.contexts
    assert probe.event_names()[-2:] == ["done", "delete"]
