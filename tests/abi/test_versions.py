"""ABI version markers, start functions, allocator choice and callback shapes (reference §1, §5.1, §6.1)."""

from __future__ import annotations

import pytest
import wasmtime
from abi_probe import GET, wat

from abi.errors import PluginLoadError
from abi.testing import Harness
from abi.types import AbiVersion, FilterHeadersStatus, Status


def test_abi_0_1_0_names_and_semantics() -> None:
    h = Harness(wat("abi_v0_1_0"), configuration=b"cfg-0.1")
    vm = h.plugin.vm
    assert vm is not None and vm.abi_version == AbiVersion.V0_1_0
    memory = vm.vm.memory
    # proxy_get_configuration returned the plugin configuration while configuring
    assert memory.read_u32(0x300) == Status.OK
    assert memory.read(0x400, memory.read_u32(0x304)) == b"cfg-0.1"
    s = h.stream()
    assert s.send_request_headers(GET) == FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK
    assert memory.read_u32(0x314) == len(GET)  # two-argument callback got the header count
    # 0.1.0: a missing header is OK with an empty value
    assert memory.read_u32(0x308) == Status.OK
    assert (memory.read_u32(0x30C), memory.read_u32(0x310)) == (0, 0)
    resume = vm.vm.export("resume", 0, 1)
    assert resume is not None
    assert vm.call(s.http._ctx, resume) == Status.OK
    assert s.continued == [1, 0]  # the deferred resume ran after the guest returned
    resume_response = vm.vm.export("resume_response", 0, 1)
    assert vm.call(s.http._ctx, resume_response) == Status.OK and s.continued == [1, 1]
    clear = vm.vm.export("clear_route_cache", 0, 1)
    assert vm.call(s.http._ctx, clear) == Status.OK and s.route_cache_cleared == 1


def test_initialize_then_main_and_mistyped_callbacks_are_absent() -> None:
    h = Harness(wat("start_functions"))
    assert h.log_messages() == ["_initialize", "main"]  # _start is not run when _initialize exists
    s = h.stream()
    assert s.send_request_headers(GET) == FilterHeadersStatus.CONTINUE
    assert "mistyped" not in h.log_messages()


def test_wasi_command_start_and_proc_exit_returns() -> None:
    h = Harness(wat("command"))
    assert h.log_messages() == ["started", "proc_exit(0) called; ignored"]
    assert h.stream().send_request_headers(GET) == FilterHeadersStatus.CONTINUE


def test_missing_marker_and_allocator_are_load_errors() -> None:
    no_marker = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) i32.const 0))'
    )
    with pytest.raises(PluginLoadError, match="missing or unknown proxy-wasm ABI version"):
        Harness(no_marker, name="nomark")
    no_alloc = wasmtime.wat2wasm('(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))')
    with pytest.raises(PluginLoadError, match=r"'noalloc'.*no allocator"):
        Harness(no_alloc, name="noalloc")
    vnext = wasmtime.wat2wasm(
        '(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_x_x"))'
        ' (func (export "malloc") (param i32) (result i32) i32.const 0))'
    )
    with pytest.raises(PluginLoadError, match="ABI version"):
        Harness(vnext)


def test_bad_wasm_and_unknown_or_mistyped_imports_name_the_cause() -> None:
    with pytest.raises(PluginLoadError, match="'junk': invalid wasm module"):
        Harness(b"\0asm\x01\0\0\0garbage", name="junk")
    mistyped = wasmtime.wat2wasm(
        '(module (import "env" "proxy_log" (func (param i32) (result i32)))'
        ' (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))'
        ' (func (export "malloc") (param i32) (result i32) i32.const 0))'
    )
    with pytest.raises(PluginLoadError, match=r"import env.proxy_log has type \(i32\) -> \(i32\)"):
        Harness(mistyped)
    unknown = wasmtime.wat2wasm(
        '(module (import "env" "proxy_nope" (func)) (memory (export "memory") 1)'
        ' (func (export "proxy_abi_version_0_2_1")))'
    )
    with pytest.raises(PluginLoadError, match=r"unknown import env\.proxy_nope"):
        Harness(unknown)


def test_wasi_unstable_names_are_linked() -> None:
    module = wasmtime.wat2wasm(
        '(module (import "wasi_unstable" "proc_exit" (func (param i32)))'
        ' (import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32)))'
        ' (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_0"))'
        ' (func (export "malloc") (param i32) (result i32) i32.const 64))'
    )
    h = Harness(module)
    assert h.stream().send_request_headers(GET) == FilterHeadersStatus.CONTINUE
