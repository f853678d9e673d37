"""Buffer host functions: start/length clamping, Envoy's replace rules, configuration buffers (§7.2, §8.4)."""

from __future__ import annotations

from abi_probe import GET, Probe

from abi.types import BufferType, FilterDataStatus, Status

BODY = BufferType.HTTP_REQUEST_BODY


def body_stream(probe: Probe, data: bytes = b"hello world", action: int = 1):
    stream = probe.h.stream()
    stream.send_request_headers(GET)
    probe.export("set_action", action)  # 1 = StopIterationAndBuffer: the body stays available
    stream.send_request_body(data, end_of_stream=False)
    return stream


def get(probe: Probe, s, buffer: int, start: int, size: int) -> tuple[int, bytes | None]:
    out = probe.out()
    status = probe.call("proxy_get_buffer_bytes", buffer, start, size, out, out + 4, ctx=s)
    return status, probe.out_buf(out) if status == Status.OK else None


def test_get_clamps_unsigned_lengths(probe: Probe) -> None:
    s = body_stream(probe)
    assert get(probe, s, BODY, 0, 0xFFFFFFFF) == (Status.OK, b"hello world")  # Rust's "everything"
    assert get(probe, s, BODY, 6, 3) == (Status.OK, b"wor")
    assert get(probe, s, BODY, 6, 0x7FFFFFFF) == (Status.OK, b"world")
    assert get(probe, s, BODY, 11, 5) == (Status.OK, None)  # start at the end: (0, 0)
    assert get(probe, s, BODY, 0xFFFFFFFF, 5) == (Status.OK, None)


def test_status_reports_size_and_zero_flags(probe: Probe) -> None:
    s = body_stream(probe)
    out = probe.out()
    assert probe.call("proxy_get_buffer_status", BODY, out, out + 4, ctx=s) == Status.OK
    assert (probe.u32(out), probe.u32(out + 4)) == (11, 0)
    assert probe.call("proxy_get_buffer_status", 9, out, out + 4, ctx=s) == Status.BAD_ARGUMENT


def set_body(probe: Probe, s, start: int, size: int, data: bytes) -> int:
    return probe.call("proxy_set_buffer_bytes", BODY, start, size, probe.put(data), len(data), ctx=s)


def body_now(probe: Probe, s) -> bytes | None:
    return get(probe, s, BODY, 0, 0xFFFFFFFF)[1]


def test_set_replace_prepend_append_and_refuse_middle(probe: Probe) -> None:
    s = body_stream(probe)
    assert set_body(probe, s, 0, 0xFFFFFFFF, b"new body") == Status.OK  # full replace
    assert body_now(probe, s) == b"new body"
    assert set_body(probe, s, 0, 0, b">") == Status.OK  # prepend
    assert set_body(probe, s, 0xFFFFFFFF, 0, b"<") == Status.OK  # append
    assert body_now(probe, s) == b">new body<"
    assert set_body(probe, s, 0, 4, b"OLD") == Status.OK  # replace only the first 4 bytes
    assert body_now(probe, s) == b"OLD body<"
    assert set_body(probe, s, 3, 1, b"x") == Status.BAD_ARGUMENT  # mid-buffer edits are refused
    assert body_now(probe, s) == b"OLD body<"


def test_modified_body_is_what_gets_forwarded(probe: Probe) -> None:
    s = body_stream(probe)
    set_body(probe, s, 0, 0xFFFFFFFF, b"rewritten")
    probe.export("set_action", 0)
    status = s.send_request_body(b"", end_of_stream=True)
    assert status == FilterDataStatus.CONTINUE
    assert s.forwarded_request_body == b"rewritten"


def test_body_outside_a_body_phase(probe: Probe) -> None:
    stream = probe.h.stream()
    stream.send_request_headers(GET)
    assert get(probe, stream, BODY, 0, 10) == (Status.OK, None)  # reads as empty
    assert set_body(probe, stream, 0, 0, b"x") == Status.BAD_ARGUMENT  # not writable
    assert get(probe, None, BODY, 0, 10)[0] == Status.NOT_FOUND  # no stream at all (root context)


def test_configuration_buffers(make_probe) -> None:
    probe = make_probe(configuration=b"plugin-conf", vm_configuration=b"vm-conf")
    assert get(probe, None, BufferType.VM_CONFIGURATION, 0, 100) == (Status.OK, b"vm-conf")
    # plugin configuration only while configuring
    assert get(probe, None, BufferType.PLUGIN_CONFIGURATION, 0, 100)[0] == Status.NOT_FOUND
    status = probe.call("proxy_set_buffer_bytes", BufferType.VM_CONFIGURATION, 0, 0, 0, 0)
    assert status == Status.BAD_ARGUMENT
    assert get(probe, None, BufferType.HTTP_CALL_RESPONSE_BODY, 0, 1)[0] == Status.NOT_FOUND
    assert get(probe, None, BufferType.DOWNSTREAM_DATA, 0, 1)[0] == Status.NOT_FOUND  # no TCP filter here
    assert get(probe, None, BufferType.GRPC_CALL_MESSAGE, 0, 1)[0] == Status.NOT_FOUND
    assert get(probe, None, 9, 0, 1)[0] == Status.BAD_ARGUMENT


def test_plugin_configuration_is_readable_during_configure(make_probe) -> None:
    probe = make_probe(configuration=b"conf!")
    names = probe.event_names()
    assert names[:3] == ["context_create", "vm_start", "configure"]
    assert probe.events()[2][2] == len(b"conf!")  # proxy_on_configure(root, size)
    root = probe.h.plugin.root
    root.configuring = True  # what the host sets while proxy_on_configure runs
    assert get(probe, None, BufferType.PLUGIN_CONFIGURATION, 0, 0xFFFFFFFF) == (Status.OK, b"conf!")


def test_body_modes_accumulate_or_show_only_new_chunks(probe: Probe) -> None:
    s = body_stream(probe, b"aaa", action=1)  # buffer: the next call sees everything
    s.send_request_body(b"bbb", end_of_stream=False)
    assert probe.events()[-1][0] == "request_body" and probe.events()[-1][2] == 6
    probe.export("set_action", 2)  # watermark: next call sees only its chunk, earlier data stays held
    s.send_request_body(b"cc", end_of_stream=False)
    s.send_request_body(b"dd", end_of_stream=False)
    assert probe.events()[-1][2] == 2
    probe.export("set_action", 0)
    assert s.send_request_body(b"e", end_of_stream=True) == FilterDataStatus.CONTINUE
    assert s.forwarded_request_body == b"aaabbbccdde"


def test_no_buffer_drops_the_chunk(probe: Probe) -> None:
    s = body_stream(probe, b"secret", action=3)
    probe.export("set_action", 0)
    s.send_request_body(b"rest", end_of_stream=True)
    assert s.forwarded_request_body == b"rest"


def test_buffer_limit_gives_413_for_requests_and_500_for_responses(make_probe) -> None:
    from abi.limits import Limits

    probe = make_probe(limits=Limits(max_buffer_bytes=8))
    s = body_stream(probe, b"12345", action=1)
    assert s.local_reply is None
    s.send_request_body(b"67890", end_of_stream=False)
    assert s.local_reply is not None and s.local_reply.status == 413
    assert s.local_reply.details == "request_payload_too_large"
    s2 = probe.h.stream()
    probe.export("set_action", 0)
    s2.send_request_headers(GET, end_of_stream=True)
    s2.send_response_headers({":status": "200"})
    probe.export("set_action", 1)
    s2.send_response_body(b"123456789", end_of_stream=False)
    assert s2.local_replies[-1].status == 500


def test_trailers_can_be_created_at_the_end_of_a_body() -> None:
    import wasmtime

    from abi.testing import Harness

    module = wasmtime.wat2wasm("""(module
      (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "x-checksum")
      (global $status (mut i32) (i32.const -1))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
        (global.set $status (call $add (i32.const 1) (i32.const 16) (i32.const 10) (i32.const 16) (i32.const 2)))
        (i32.const 0))
      (func (export "status") (result i32) (global.get $status)))""")
    h = Harness(module)
    s = h.stream()
    s.send_request_headers({":path": "/"})
    status = h.plugin.vm.vm.export("status", 0, 1)
    s.send_request_body(b"part", end_of_stream=False)
    assert status() == Status.BAD_ARGUMENT and s.request_trailers == []  # not before the end
    s.send_request_body(b"last", end_of_stream=True)
    assert status() == Status.OK
    assert s.request_trailers == [(b"x-checksum", b"x-")]


def test_a_body_cannot_be_grown_past_the_buffer_limit(make_probe) -> None:
    from abi.limits import Limits

    probe = make_probe(limits=Limits(max_buffer_bytes=16))
    s = body_stream(probe, b"0123456789")
    assert set_body(probe, s, 0xFFFFFFFF, 0, b"abcdef") == Status.OK  # exactly 16
    assert set_body(probe, s, 0xFFFFFFFF, 0, b"!") == Status.BAD_ARGUMENT
    assert set_body(probe, s, 0, 0xFFFFFFFF, b"x" * 16) == Status.OK  # replacing within the limit
    assert body_now(probe, s) == b"x" * 16
