"""The wasmtime adapter and guest memory: compile cache, fast calls, traps, host errors, bounds, pairs codec."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from abi import memory as memory_module
from abi import vm as vm_module
from abi.cache import ModuleCache
from abi.errors import MemoryAccessError, TrapKind, VmTrap
from abi.memory import decode_pairs, encode_pairs
from abi.vm import HostFunction, WasmEngine

MODULE = wasmtime.wat2wasm("""(module
  (import "env" "host" (func $host (param i32 i32) (result i32)))
  (import "env" "wide" (func $wide (param i32 i64)))
  (memory (export "memory") 1)
  (func (export "call_host") (param i32 i32) (result i32) (call $host (local.get 0) (local.get 1)))
  (func $entry)
  (func (export "host_then_entry") (param i32 i32) (result i32)
    (call $host (local.get 0) (local.get 1)) (call $entry))  ;; a function entry checks the epoch deadline
  (func (export "call_wide") (param i32) (result i32) (call $wide (local.get 0) (i64.const -2)) (i32.const 0))
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0))
  (func (export "wrong_type") (param i64) (result i32) (i32.const 0)))""")


class Env:
    def __init__(self) -> None:
        self.seen: list[tuple[int, ...]] = []
        self.vm = None


def make_engine(
    tmp_path: Path | None, raise_in_host: BaseException | None = None, host_sleep_s: float = 0.0
) -> WasmEngine:
    def host(env: Env, a: int, b: int) -> int:
        env.seen.append((a, b))
        if raise_in_host is not None:
            raise raise_in_host
        time.sleep(host_sleep_s)
        return len(env.vm.memory.read(a, b))

    def wide(env: Env, a: int, b: int) -> None:
        env.seen.append((a, b))

    return WasmEngine(
        [HostFunction("env", "host", "ii", "i", host, fault=6), HostFunction("env", "wide", "iI", "", wide)],
        ModuleCache(tmp_path) if tmp_path else None,
        epoch_tick_ms=2,
    )


def instance(engine: WasmEngine, deadline_ms: int = 20):
    env = Env()
    vm = engine.compile(MODULE).instantiate(env, 1 << 24, deadline_ms)
    env.vm = vm
    return env, vm


def test_arguments_are_unsigned_and_bounds_checked() -> None:
    env, vm = instance(make_engine(None))
    call = vm.export("call_host", 2, 1)
    assert call(8, 5) == 5
    assert call(-1, 1) == 6  # 0xFFFFFFFF: INVALID_MEMORY_ACCESS, not "the last byte"
    assert call(65530, 100) == 6
    assert env.seen == [(8, 5), (0xFFFFFFFF, 1), (65530, 100)]
    vm.export("call_wide", 1, 1)(3)
    assert env.seen[-1] == (3, 0xFFFFFFFFFFFFFFFE)  # i64 arrives whole, as unsigned
    assert vm.export("wrong_type", 1, 1) is None  # a mistyped export is absent
    assert vm.export("missing", 0, 0) is None


def test_deadline_interrupts_and_the_vm_stays_dead() -> None:
    _, vm = instance(make_engine(None), deadline_ms=10)
    with pytest.raises(VmTrap) as info:
        vm.export("spin", 0, 1)()
    assert info.value.kind == TrapKind.DEADLINE
    with pytest.raises(VmTrap):
        vm.export("call_host", 2, 1)(0, 0)


def test_time_blocked_in_the_host_is_not_charged_to_the_guest() -> None:
    _, vm = instance(make_engine(None, host_sleep_s=0.05), deadline_ms=10)  # 5x the deadline, asleep
    assert vm.export("host_then_entry", 2, 1)(0, 4) == 4


def test_the_ticker_parks_when_idle_and_a_call_wakes_it() -> None:
    engine = make_engine(None)
    _, vm = instance(engine, deadline_ms=10)
    call = vm.export("call_host", 2, 1)
    assert call(0, 1) == 1
    for _ in range(500):
        if engine.ticker.parked:
            break
        time.sleep(0.01)
    assert engine.ticker.parked
    with pytest.raises(VmTrap) as info:  # the spinning call unparks it, so the deadline still fires
        vm.export("spin", 0, 1)()
    assert info.value.kind == TrapKind.DEADLINE


def test_deadlines_hold_for_vms_spinning_on_several_threads() -> None:
    engine = make_engine(None)
    kinds: list[TrapKind] = []

    def spin() -> None:
        _, vm = instance(engine, deadline_ms=10)
        try:
            vm.export("spin", 0, 1)()
        except VmTrap as trap:
            kinds.append(trap.kind)

    threads = [threading.Thread(target=spin) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert kinds == [TrapKind.DEADLINE] * 3


def test_host_exception_becomes_a_contained_trap() -> None:
    _, vm = instance(make_engine(None, raise_in_host=KeyError("boom")))
    with pytest.raises(VmTrap) as info:
        vm.export("call_host", 2, 1)(0, 1)
    assert info.value.kind == TrapKind.HOST and "env.host" in info.value.message and "boom" in info.value.message


def test_a_start_section_reaches_its_env_and_memory() -> None:
    """Host calls made while the instance is created (its start section) run before any guest call: they find
    the env being built, and the VM's memory through the caller, before the instance exists."""
    module = wasmtime.wat2wasm("""(module
      (import "env" "host" (func $host (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 16) "hello")
      (func $init (drop (call $host (i32.const 16) (i32.const 5))))
      (start $init))""")
    seen: list[tuple[Env, bytes]] = []

    def host(env: Env, ptr: int, size: int) -> int:
        seen.append((env, vm_module.crossing.current_vm().memory.read(ptr, size)))
        return 0

    env = Env()
    engine = WasmEngine([HostFunction("env", "host", "ii", "i", host)])
    engine.compile(module).instantiate(env, 1 << 24, 20)
    assert seen == [(env, b"hello")]
    assert vm_module.crossing.current_vm() is None  # left as it was


def test_compile_cache_round_trip_and_corrupt_artifact(tmp_path: Path) -> None:
    first = make_engine(tmp_path).compile(MODULE)
    assert not first.from_cache
    [artifact] = list(tmp_path.glob("*.cwasm"))
    second = make_engine(tmp_path).compile(MODULE)
    assert second.from_cache
    _, vm = instance(make_engine(tmp_path))
    assert vm.export("call_host", 2, 1)(0, 3) == 3
    # A new file replaces it (a running module mmaps the old one: never overwrite it in place).
    (tmp_path / "corrupt").write_bytes(b"not a compiled module")
    (tmp_path / "corrupt").replace(artifact)
    third = make_engine(tmp_path).compile(MODULE)
    assert not third.from_cache  # recompiled and rewritten
    assert make_engine(tmp_path).compile(MODULE).from_cache


def test_memory_limit_refuses_instantiation() -> None:
    engine = make_engine(None)
    big = wasmtime.wat2wasm('(module (memory (export "memory") 300))')
    with pytest.raises(VmTrap, match="memory"):
        engine.compile(big).instantiate(Env(), 1 << 20, 20)


def test_guest_memory_checks_and_grows(tmp_path: Path) -> None:
    _, vm = instance(make_engine(None))
    memory = vm.memory
    memory.write(100, b"abc")
    assert memory.read(100, 3) == b"abc" and memory.read_u32(100) == int.from_bytes(b"abc\0", "little")
    with pytest.raises(MemoryAccessError):
        memory.read(65535, 2)
    with pytest.raises(MemoryAccessError):
        memory.write(-4, b"x")  # -4 masks to 0xFFFFFFFC: out of range, never the end of memory
    with pytest.raises(MemoryAccessError, match="no allocator"):
        memory.put(b"x")
    vm.instance.exports(vm.store)["memory"].grow(vm.store, 1)
    memory.write(65536 + 10, b"grown")  # a miss refreshes the view
    assert memory.read(65546, 5) == b"grown"
    memory.write_u32(131068, 0xFFFFFFFF + 8)  # the last word; the value is masked to u32
    assert memory.read_u32(131068) == 7
    with pytest.raises(MemoryAccessError):
        memory.write_u32(131069, 1)


@given(st.lists(st.tuples(st.binary(max_size=40), st.binary(max_size=40)), max_size=30))
def test_pairs_codec_round_trips(pairs: list[tuple[bytes, bytes]]) -> None:
    encoded = encode_pairs(pairs)
    assert decode_pairs(encoded, 1 << 20, 1024) == pairs
    assert encode_pairs([(bytearray(k), memoryview(v)) for k, v in pairs]) == encoded  # any bytes-like
    assert memory_module._encode_pairs(pairs) == encoded  # the C encoder, when built, matches the Python one
    if pairs:
        assert len(encoded) == 4 + sum(8 + len(k) + len(v) + 2 for k, v in pairs)


@given(st.binary(max_size=200))
def test_pairs_decoder_never_fails_on_garbage(data: bytes) -> None:
    result = decode_pairs(data, 1 << 20, 1024)
    assert isinstance(result, list)


def test_pairs_limits_and_forms_of_empty() -> None:
    assert decode_pairs(b"", 100, 10) == [] and decode_pairs(b"\0", 100, 10) == []
    assert decode_pairs(b"\0\0\0\0", 100, 10) == []
    many = encode_pairs([(b"k", b"v")] * 11)
    assert decode_pairs(many, 1 << 20, 10) == []  # more than max_count pairs
    assert decode_pairs(many, 20, 1024) == []  # more than max_bytes
    assert decode_pairs(encode_pairs([(b"a", b"b")]) + b"x", 100, 10) == []  # trailing bytes
    assert decode_pairs(b"\xff\xff\xff\x7f", 100, 10) == []  # a lying count allocates nothing
