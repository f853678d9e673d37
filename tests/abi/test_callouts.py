"""HTTP callouts and the gRPC family (reference §7.5, §7.6, §10)."""

from __future__ import annotations

from abi_probe import GET, Probe, wat

from abi.memory import encode_pairs
from abi.types import BufferType, MapType, Status

CALL_HEADERS = [(b":method", b"GET"), (b":path", b"/check"), (b":authority", b"auth")]


def http_call(
    probe: Probe,
    headers=CALL_HEADERS,
    body: bytes = b"",
    cluster: bytes = b"auth",
    timeout_ms: int = 1000,
    ctx=None,
    token_out: int | None = None,
) -> tuple[int, int]:
    pairs = encode_pairs(headers)
    token = token_out if token_out is not None else probe.out(4)
    status = probe.call(
        "proxy_http_call",
        probe.put(cluster),
        len(cluster),
        probe.put(pairs),
        len(pairs),
        probe.put(body),
        len(body),
        0,
        0,
        timeout_ms,
        token,
        ctx=ctx,
    )
    return status, probe.u32(token) if token_out is None else 0


def test_call_is_started_with_tokens_like_the_cpp_host(probe: Probe) -> None:
    assert http_call(probe, body=b"{}") == (Status.OK, 4)
    assert http_call(probe) == (Status.OK, 8)
    [first, _] = probe.h.http_calls
    assert first.cluster == "auth" and first.request.body == b"{}" and first.header("content-length") == "2"
    assert first.request.timeout_ms == 1000


def test_required_pseudo_headers_and_timeout(probe: Probe) -> None:
    for missing in (b":method", b":path", b":authority"):
        headers = [h for h in CALL_HEADERS if h[0] != missing]
        assert http_call(probe, headers=headers)[0] == Status.BAD_ARGUMENT
    assert http_call(probe, timeout_ms=0x80000000)[0] == Status.BAD_ARGUMENT  # negative as i32
    assert http_call(probe, token_out=0xFFFFFFFE)[0] == Status.INVALID_MEMORY_ACCESS
    assert probe.h.http_calls == []


def test_unknown_cluster_is_bad_argument(make_probe) -> None:
    probe = make_probe(clusters={"auth"})
    assert http_call(probe, cluster=b"nope")[0] == Status.BAD_ARGUMENT
    assert http_call(probe)[0] == Status.OK


def test_response_goes_to_the_root_with_maps_and_body_only_then(probe: Probe) -> None:
    probe.export("set_action", 1)
    s = probe.h.stream()
    s.send_request_headers(GET)
    status, token = http_call(probe, ctx=s)  # started from a stream: still the root's callout
    assert status == Status.OK
    probe.h.http_calls[0].respond(200, {"x-auth": "ok"}, b"allowed", {"x-t": "1"})
    name, context_id, arg = probe.events()[-1]
    assert (name, context_id, arg) == ("http_call_response", probe.h.plugin.root.id, token)
    # outside the callback the response is gone again
    out = probe.out()
    assert (
        probe.call("proxy_get_buffer_bytes", BufferType.HTTP_CALL_RESPONSE_BODY, 0, 10, out, out + 4)
        == Status.NOT_FOUND
    )
    assert probe.call("proxy_get_header_map_pairs", MapType.HTTP_CALL_RESPONSE_HEADERS, out, out + 4) == Status.OK
    assert probe.out_buf(out) is None


def test_response_data_during_the_callback(probe: Probe) -> None:
    """Read the callout's headers, body and trailers from inside the delivery, as a plugin does."""
    seen: dict[str, object] = {}
    vm = probe.vm
    http_call(probe)
    call = probe.h.http_calls[0]
    original = call._deliver  # the host's answer (wrapped here: the VM's own methods may be compiled)

    def deliver(response):  # type: ignore[no-untyped-def]
        out = probe.out()
        vm.callout = response  # what _deliver sets for the callback (each probe call clears it on return)
        probe.call("proxy_get_header_map_pairs", MapType.HTTP_CALL_RESPONSE_HEADERS, out, out + 4)
        seen["headers"] = probe.out_buf(out)
        vm.callout = response
        probe.call("proxy_get_buffer_bytes", BufferType.HTTP_CALL_RESPONSE_BODY, 0, 0xFFFFFFFF, out, out + 4)
        seen["body"] = probe.out_buf(out)
        key = probe.put(b"x")
        vm.callout = response
        seen["write"] = probe.call("proxy_add_header_map_value", MapType.HTTP_CALL_RESPONSE_HEADERS, key, 1, key, 1)
        original(response)

    call._deliver = deliver
    call.respond(201, {"a": "b"}, b"payload")
    assert seen["headers"] == encode_pairs([(b":status", b"201"), (b"a", b"b")])
    assert seen["body"] == b"payload"
    assert seen["write"] == Status.BAD_ARGUMENT  # callout maps are read-only


def test_failure_delivers_zeros_and_sets_the_status(probe: Probe) -> None:
    _, token = http_call(probe)
    probe.h.http_calls[0].fail()
    assert probe.events()[-1] == ("http_call_response", probe.h.plugin.root.id, token)
    out = probe.out(12)
    assert probe.call("proxy_get_status", out, out + 4, out + 8) == Status.OK
    assert probe.u32(out) == Status.BROKEN_CONNECTION
    assert probe.read(probe.u32(out + 4), probe.u32(out + 8)) == b"reset"


def test_timeout_is_answered_504_like_envoy(probe: Probe) -> None:
    http_call(probe, timeout_ms=200)
    probe.h.advance_time(0.1)
    assert probe.h.pending_http_calls()
    probe.h.advance_time(0.2)
    assert not probe.h.pending_http_calls()
    assert probe.event_names()[-1] == "http_call_response"


def test_grpc_is_linked_and_unimplemented(probe: Probe) -> None:
    out = probe.out(4)
    assert probe.call("proxy_grpc_call", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000, out) == Status.UNIMPLEMENTED
    assert probe.call("proxy_grpc_stream", 0, 0, 0, 0, 0, 0, 0, 0, out) == Status.UNIMPLEMENTED
    assert probe.call("proxy_grpc_send", 5, 0, 0, 1) == Status.UNIMPLEMENTED
    assert probe.call("proxy_grpc_cancel", 5) == Status.UNIMPLEMENTED
    assert probe.call("proxy_grpc_close", 6) == Status.UNIMPLEMENTED
    assert probe.call("proxy_grpc_send", 5, 0xFFFFFFF0, 100, 1) == Status.INVALID_MEMORY_ACCESS


def test_assemblyscript_grpc_declarations_link_with_their_own_shape() -> None:
    """The AssemblyScript SDK imports proxy_grpc_call/stream without metadata (10 and 7 parameters)."""
    import wasmtime

    from abi.testing import Harness

    module = wasmtime.wat2wasm("""(module
      (import "env" "proxy_grpc_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_grpc_stream" (func $stream (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "grpc_call") (result i32)
        (call $call (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                    (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 64)))
      (func (export "grpc_stream") (result i32)
        (call $stream (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                      (i32.const 64))))""")
    h = Harness(module)
    vm = h.plugin.vm
    assert vm is not None
    for name in ("grpc_call", "grpc_stream"):
        func = vm.vm.export(name, 0, 1)
        assert func is not None and vm.call(h.plugin.root, func) == Status.UNIMPLEMENTED
    # the standard shapes still link for everyone else
    Harness(wat("probe"))
