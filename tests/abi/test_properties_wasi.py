"""Properties with Envoy's encodings, foreign functions, and the WASI surface (reference §13, §14, §15)."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta

from abi_probe import GET, Probe

from abi.memory import decode_pairs, encode_pairs
from abi.types import Status


def prop(probe: Probe, path: bytes, ctx=None) -> tuple[int, bytes | None]:
    out = probe.out()
    status = probe.call("proxy_get_property", probe.put(path), len(path), out, out + 4, ctx=ctx)
    return status, probe.out_buf(out) if status == Status.OK else None


def stream(probe: Probe, **properties: object):
    probe.export("set_action", 1)
    s = probe.h.stream(properties=properties)
    s.send_request_headers(GET | {"x-id": "a"})
    s.request_headers.append((b"x-id", b"b"))
    return s


def test_plugin_properties_everywhere(make_probe) -> None:
    probe = make_probe(name="p1", root_id="root-a", vm_id="vm-a")
    assert prop(probe, b"plugin_name") == (Status.OK, b"p1")
    assert prop(probe, b"plugin_root_id") == (Status.OK, b"root-a")
    assert prop(probe, b"plugin_vm_id") == (Status.OK, b"vm-a")


def test_stream_attributes_and_encodings(probe: Probe) -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    s = stream(
        probe,
        **{
            "request.time": when,
            "request.duration": timedelta(milliseconds=1500),
            "connection.id": 7,
            "response.flags": 5,
            "connection.mtls": True,
        },
    )
    assert prop(probe, b"request\0path", s) == (Status.OK, b"/p?q=1")
    assert prop(probe, b"request\0url_path", s) == (Status.OK, b"/p")
    assert prop(probe, b"request\0query", s) == (Status.OK, b"q=1")
    assert prop(probe, b"request\0method", s) == (Status.OK, b"GET")
    assert prop(probe, b"request\0headers\0x-id", s) == (Status.OK, b"a,b")  # joined with commas
    assert prop(probe, b"source\0address", s) == (Status.OK, b"127.0.0.1:40000")
    assert prop(probe, b"source\0port", s) == (Status.OK, struct.pack("<q", 40000))
    assert prop(probe, b"connection\0id", s) == (Status.OK, struct.pack("<Q", 7))
    assert prop(probe, b"connection\0mtls", s) == (Status.OK, b"\x01")
    ns = int(when.timestamp()) * 1_000_000_000
    assert prop(probe, b"request\0time", s) == (Status.OK, struct.pack("<q", ns))
    assert prop(probe, b"request\0duration", s) == (Status.OK, struct.pack("<q", 1_500_000_000))
    status, raw = prop(probe, b"request\0headers", s)
    assert status == Status.OK and (b"x-id", b"a,b") in decode_pairs(raw, 1 << 20, 1024)
    assert prop(probe, b"request.path", s)[0] == Status.NOT_FOUND  # dotted names are not split
    assert prop(probe, b"request\0nope", s)[0] == Status.NOT_FOUND
    assert prop(probe, b"", s)[0] == Status.NOT_FOUND
    # stream attributes do not exist in a root context
    assert prop(probe, b"request\0path")[0] == Status.NOT_FOUND


def test_lists_maps_and_unsupported_values(make_probe) -> None:
    probe = make_probe(
        properties={
            "xds.node": {"id": "n1", "metadata": {"k": "v"}},
            "upstream.locality": ["a", "b"],
            "odd": object(),
            "cluster_name": "c1",
        }
    )
    assert prop(probe, b"xds\0node\0id") == (Status.OK, b"n1")
    assert prop(probe, b"xds\0node\0metadata\0k") == (Status.OK, b"v")
    assert prop(probe, b"cluster_name") == (Status.OK, b"c1")
    assert prop(probe, b"upstream\0locality") == (Status.OK, encode_pairs([(b"a", b""), (b"b", b"")]))
    assert prop(probe, b"upstream\0locality\x001") == (Status.OK, b"b")
    assert prop(probe, b"odd")[0] == Status.SERIALIZATION_FAILURE


def test_set_property_is_filter_state(probe: Probe) -> None:
    s = stream(probe)
    path, value = b"my_key", b"my value"
    assert probe.call("proxy_set_property", probe.put(path), 6, probe.put(value), 8, ctx=s) == Status.OK
    assert prop(probe, path, s) == (Status.OK, value)
    assert probe.call("proxy_set_property", probe.put(path), 6, probe.put(value), 8) == Status.NOT_FOUND


def foreign(probe: Probe, name: bytes, args: bytes, ctx=None, want_result: bool = True) -> tuple[int, bytes | None]:
    out = probe.out() if want_result else 0
    status = probe.call(
        "proxy_call_foreign_function",
        probe.put(name),
        len(name),
        probe.put(args),
        len(args),
        out,
        out + 4 if out else 0,
        ctx=ctx,
    )
    return status, probe.out_buf(out) if out and status == Status.OK else None


def test_foreign_functions(probe: Probe) -> None:
    status, packed = foreign(probe, b"compress", b"x" * 100)
    assert status == Status.OK and zlib.decompress(packed) == b"x" * 100
    assert foreign(probe, b"uncompress", packed) == (Status.OK, b"x" * 100)
    assert foreign(probe, b"uncompress", b"not zlib")[0] == Status.SERIALIZATION_FAILURE
    assert foreign(probe, b"compress", b"abc", want_result=False) == (Status.OK, None)
    s = stream(probe)
    assert foreign(probe, b"clear_route_cache", b"", ctx=s)[0] == Status.OK and s.route_cache_cleared == 1
    assert foreign(probe, b"no_such_function", b"")[0] == Status.NOT_FOUND
    probe.h.foreign_functions["echo"] = lambda args: (Status.OK, args[::-1])
    assert foreign(probe, b"echo", b"abc") == (Status.OK, b"cba")


def wasi(probe: Probe, name: str, *args: int) -> int:
    return probe.call(f"wasi_{name}", *args)


def test_wasi_stdio_becomes_log_lines(probe: Probe) -> None:
    text = b"hello from stdout\n"
    iov = probe.put(struct.pack("<II", probe.put(text), len(text)))
    written = probe.out(4)
    assert wasi(probe, "fd_write", 1, iov, 1, written) == 0 and probe.u32(written) == len(text)
    assert probe.h.logs[-1].message == "hello from stdout" and probe.h.logs[-1].level == 2
    assert wasi(probe, "fd_write", 2, iov, 1, written) == 0 and probe.h.logs[-1].level == 4
    assert wasi(probe, "fd_write", 3, iov, 1, written) == 8  # EBADF
    assert wasi(probe, "fd_write", 1, 0xFFFFFFF8, 1, written) == 21  # EFAULT


def test_wasi_environment_args_clocks_random(make_probe) -> None:
    probe = make_probe(environment={"A": "1", "BB": "22"})
    out = probe.out(8)
    assert wasi(probe, "environ_sizes_get", out, out + 4) == 0
    assert (probe.u32(out), probe.u32(out + 4)) == (2, len(b"A=1\0BB=22\0"))
    pointers, buf = probe.out(8), probe.out(16)
    assert wasi(probe, "environ_get", pointers, buf) == 0
    assert probe.read(probe.u32(pointers + 4), 6) == b"BB=22\0"
    assert wasi(probe, "args_sizes_get", out, out + 4) == 0 and probe.u32(out) == 0
    assert wasi(probe, "clock_time_get", 1, 0, 0, out) == 0
    first = probe.u64(out)
    probe.h.advance_time(0.25)
    wasi(probe, "clock_time_get", 1, 0, 0, out)
    assert probe.u64(out) - first == 250_000_000
    assert wasi(probe, "clock_time_get", 2, 0, 0, out) == 58  # CPU clocks: ENOTSUP
    assert wasi(probe, "clock_res_get", 0, out) == 0 and probe.u64(out) == 1
    rnd = probe.out(32)
    assert wasi(probe, "random_get", rnd, 32) == 0 and probe.read(rnd, 32) != b"\xaa" * 32
    assert wasi(probe, "random_get", rnd, 65537) == 28  # EINVAL beyond 64 KiB
    assert wasi(probe, "random_get", 0xFFFFFFF0, 32) == 21


def test_wasi_filesystem_and_sockets_are_denied(probe: Probe) -> None:
    out = probe.out(24)
    assert wasi(probe, "path_open", 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, out) == 44  # ENOENT
    assert wasi(probe, "fd_prestat_get", 3, out) == 8  # EBADF ends libc's preopen scan
    assert wasi(probe, "fd_read", 0, 0, 0, out) == 52  # ENOSYS
    assert wasi(probe, "sock_accept", 3, 0, out) == 58 and probe.u32(out) == 0
    assert wasi(probe, "path_unlink_file", 3, 0, 0) == 58
    assert wasi(probe, "fd_fdstat_get", 1, out) == 0 and probe.read(out, 24)[8:16] == struct.pack("<Q", 64)
    assert wasi(probe, "fd_fdstat_get", 5, out) == 8
    assert wasi(probe, "poll_oneoff", 0, 0, 0, out) == 0 and probe.u32(out) == 0
    assert wasi(probe, "sched_yield") == 0
    assert wasi(probe, "proc_exit", 3) == 0  # returns: the call only logs
    assert probe.h.logs[-1].message == "proc_exit(3) called; ignored"


def test_foreign_function_callback_gets_its_arguments_as_buffer_8(probe: Probe) -> None:
    from abi.types import BufferType

    root = probe.h.plugin.root
    out = probe.out()
    assert (
        probe.call("proxy_get_buffer_bytes", BufferType.FOREIGN_FUNCTION_ARGUMENTS, 0, 10, out, out + 4)
        == Status.NOT_FOUND
    )  # nothing was ever passed
    probe.vm.call_foreign(root, 7, b"payload")
    assert probe.events()[-1] == ("foreign_function", root.id, 7)
    status = probe.call("proxy_get_buffer_bytes", BufferType.FOREIGN_FUNCTION_ARGUMENTS, 0, 0xFFFFFFFF, out, out + 4)
    assert status == Status.OK and probe.out_buf(out) == b"payload"


def test_small_env_helpers(probe: Probe) -> None:
    assert probe.call("emscripten_notify_memory_growth", 0) == 0
    assert probe.call("pthread_equal", 3, 3) == 1 and probe.call("pthread_equal", 3, 4) == 0
    out = probe.out(4)
    assert probe.call("envoy_resolve_dns", probe.put(b"example.com"), 11, out) == Status.UNIMPLEMENTED


def test_assemblyscript_abort_traps_with_its_message() -> None:
    import wasmtime

    from abi.testing import Harness

    def as_string(text: str) -> bytes:  # AssemblyScript: byte length, then UTF-16LE
        data = text.encode("utf-16-le")
        return struct.pack("<I", len(data)) + data

    def wat_bytes(data: bytes) -> str:
        return "".join(f"\\{b:02x}" for b in data)

    message, file = wat_bytes(as_string("boom")), wat_bytes(as_string("index.ts"))
    module = wasmtime.wat2wasm(f'''(module
      (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
      (memory (export "memory") 1)
      (data (i32.const 96) "{message}")
      (data (i32.const 160) "{file}")
      (func (export "proxy_abi_version_0_2_0"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
        (call $abort (i32.const 100) (i32.const 164) (i32.const 7) (i32.const 3)) (i32.const 0)))''')
    h = Harness(module)
    s = h.stream()
    s.send_request_headers(GET)
    assert s.status == 503
    [failure] = h.failures
    assert failure.kind == "trap" and failure.message.startswith("abort: boom at index.ts:7:3")
