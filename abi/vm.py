"""The wasmtime adapter: engine, on-disk compile cache, instances, and the fast call paths.

Nothing outside this module, `memory.py` and the crossings sees ctypes. Setup (compile, link, instantiate)
uses the package's public API; the per-call paths use the C API it ships (`wasmtime._ffi`), through a
crossing: `abi/_crossing.c` when the compiled build is in use, its ctypes twin `abi/crossing.py` otherwise:
  * guest calls go through `wasmtime_func_call_unchecked` with a preallocated raw argument buffer;
  * host functions are defined once per engine with `wasmtime_linker_define_func_unchecked`; their entries
    read the raw i32/i64 slots, mask them to unsigned and call a plain Python function.
A host function reaches its VM through the crossing's thread-local "current VM", set on every entry into the
guest, so one linker (and one set of entries) serves every VM of the engine. A Python exception in a host
function is recorded on that VM and turned into a guest trap; the call then raises `VmTrap` with the cause.

CPU deadlines use epoch interruption (see `_Ticker`): a watchdog thread ticks the engine every
`epoch_tick_ms` while a guest call runs long, and parks when no calls happen; each tick runs the store's
epoch-deadline callback, which charges the call only for the CPU time of its thread, so time the host
blocks (or the OS preempts the thread) never counts. Guest code releases the GIL, so the ticker runs while
the guest spins. Memory is capped per store with `Store.set_limits`.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import wasmtime
from mypy_extensions import mypyc_attr
from wasmtime import _ffi as ffi

try:
    from abi import _crossing as crossing  # C, built with the compiled hot path
except ImportError:
    from abi import crossing  # type: ignore[no-redef]  # the same interface in ctypes

from abi.cache import ModuleCache
from abi.errors import GuestTrap, MemoryAccessError, TrapKind, VmTrap
from abi.memory import GuestMemory

log = logging.getLogger("abi.vm")

_VALTYPE = {"i": "i32", "I": "i64", "F": "f64"}

# Private ctypes handles (our own argtypes, plain ints in and out) for the calls made outside the per-call
# crossings (abi/crossing.py, abi/_crossing.c).
_VP = ctypes.c_void_p


def _address_of(name: str) -> int:
    """The address of one of wasmtime's C functions."""
    address = ctypes.cast(getattr(ffi.dll, name), _VP).value
    assert address is not None, name
    return address


def _c_function(name: str, restype: Any, *argtypes: Any) -> Any:
    return ctypes.CFUNCTYPE(restype, *argtypes)(_address_of(name))


_set_deadline = _c_function("wasmtime_context_set_epoch_deadline", None, _VP, ctypes.c_uint64)
_increment_epoch = _c_function("wasmtime_engine_increment_epoch", None, _VP)
_error_new = _c_function("wasmtime_error_new", _VP, ctypes.c_char_p)
_set_deadline_callback = _c_function("wasmtime_store_epoch_deadline_callback", None, _VP, _VP, _VP, _VP)
# (context, env, *deadline delta out, *update kind out) -> error pointer or 0
_DEADLINE_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_size_t, _VP, _VP, ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint8)
)
_trap_new = _c_function("wasmtime_trap_new", _VP, ctypes.c_char_p, ctypes.c_size_t)
_define_unchecked = _c_function(
    "wasmtime_linker_define_func_unchecked",
    _VP,
    _VP,
    ctypes.c_char_p,
    ctypes.c_size_t,
    ctypes.c_char_p,
    ctypes.c_size_t,
    _VP,
    _VP,
    _VP,
    _VP,
)
_memory_data = _c_function("wasmtime_memory_data", _VP, _VP, _VP)
_memory_size = _c_function("wasmtime_memory_data_size", ctypes.c_size_t, _VP, _VP)
_caller_export_get = _c_function(
    "wasmtime_caller_export_get", ctypes.c_bool, _VP, ctypes.c_char_p, ctypes.c_size_t, _VP
)

crossing.init(_address_of("wasmtime_func_call_unchecked"), _address_of("wasmtime_trap_new"), MemoryAccessError)
_MAX_NESTING: Final = 8  # guest -> host -> guest (allocator) is 2; nothing legitimate goes deeper


def _address(pointer: Any) -> int:
    return int(ctypes.cast(pointer, _VP).value or 0)


@dataclass(frozen=True, slots=True)
class HostFunction:
    """One import the host provides. `params`/`results` use 'i' (i32), 'I' (i64), 'F' (f64).

    `impl(env, *args)` receives the VM's `env` object and the arguments masked to unsigned; it returns
    the result (or None). A `MemoryAccessError` it raises becomes `fault` as the result.
    """

    module: str
    name: str
    params: str
    results: str
    impl: Callable[..., Any]
    fault: int = 0

    def signature(self) -> str:
        params = ", ".join(_VALTYPE[p] for p in self.params)
        results = ", ".join(_VALTYPE[r] for r in self.results)
        return f"({params}) -> ({results})"

    def failed(self, vm: Vm, exc: BaseException) -> int:
        """The trap for an exception this function raised in `vm` (its entry's `on_failure`)."""
        return vm.host_failure(self, exc)


def _on_deadline(context: int | None, env: int | None, delta: Any, kind: Any) -> int:
    try:
        vm = crossing.current_vm()
        assert isinstance(vm, Vm)
        return vm.deadline_reached(delta)
    except BaseException as exc:  # never let a ctypes callback swallow an error: fail the call
        return int(_error_new(f"epoch deadline check failed: {exc!r}".encode()) or 0)


_ON_DEADLINE = _DEADLINE_CALLBACK(_on_deadline)
_ON_DEADLINE_ADDRESS = ctypes.cast(_ON_DEADLINE, _VP).value


def _engine_config() -> tuple[wasmtime.Config, str]:
    config = wasmtime.Config()
    config.epoch_interruption = True
    # The memoryview over guest memory relies on the base never moving when memory grows.
    config.memory_may_move = False
    config.cranelift_opt_level = "speed"
    return config, "epoch=1;may_move=0;opt=speed"


class WasmEngine:
    """One wasmtime engine, its ticker thread, compile cache and linker with every host function."""

    def __init__(
        self,
        functions: Iterable[HostFunction],
        cache: ModuleCache | None = None,
        epoch_tick_ms: int = 5,
        variants: Iterable[HostFunction] = (),
    ) -> None:
        """`variants` are other signatures of some imports, linked only for modules that import them so
        (an SDK's mistyped declarations); a linker holds one definition per name, so each set of variants
        gets its own linker, built on first use."""
        config, self._engine_key = _engine_config()
        self.engine = wasmtime.Engine(config)
        self.cache = cache or ModuleCache(None)
        self.epoch_tick_ms = epoch_tick_ms
        self.functions = {(fn.module, fn.name): fn for fn in functions}
        self.variants = {(fn.module, fn.name, fn.signature()): fn for fn in variants}
        self._callbacks: list[Any] = []  # the C side holds raw pointers to these
        self._lock = threading.Lock()
        self.linker = self._build_linker(())
        self._linkers: dict[frozenset[HostFunction], wasmtime.Linker] = {frozenset(): self.linker}
        self.ticker = _Ticker(self.engine, epoch_tick_ms)

    def _build_linker(self, variants: Iterable[HostFunction]) -> wasmtime.Linker:
        linker = wasmtime.Linker(self.engine)
        linker.allow_shadowing = True
        for fn in (*self.functions.values(), *variants):
            self._define(linker, fn)
        return linker

    def _define(self, linker: wasmtime.Linker, fn: HostFunction) -> None:
        functype = wasmtime.FuncType(
            [
                wasmtime.ValType.i32() if p == "i" else wasmtime.ValType.i64() if p == "I" else wasmtime.ValType.f64()
                for p in fn.params
            ],
            [wasmtime.ValType.i32() if r == "i" else wasmtime.ValType.f64() for r in fn.results],
        )
        entry = crossing.HostEntry(fn.impl, fn.params, fn.results, fn.fault, fn.failed)
        # Kept referenced until after the C call: compiled (mypyc) code drops a local at its last use, and the
        # functype would be freed while wasmtime reads it.
        keep = (entry, functype)
        module, name = fn.module.encode(), fn.name.encode()
        error = _define_unchecked(
            _address(linker.ptr()),
            module,
            len(module),
            name,
            len(name),
            _address(functype.ptr()),
            entry.callback,
            entry.env or None,
            None,
        )
        if error:
            raise wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))
        self._callbacks.append(keep)

    def compile(self, code: bytes | bytearray) -> CompiledModule:
        """Compile (or load from the cache) and check every import; raises ValueError with the cause."""
        try:
            module, cached = self.cache.load(self.engine, bytes(code), self._engine_key)
        except wasmtime.WasmtimeError as exc:
            raise ValueError(f"invalid wasm module: {_first_line(str(exc))}") from None
        needed: set[HostFunction] = set()
        for imp in module.imports:
            fn = self.functions.get((imp.module, imp.name or ""))
            sig = _signature_of(imp.type)
            if fn is None:
                raise ValueError(f"unknown import {imp.module}.{imp.name} {sig}")
            if fn.signature() != sig:
                variant = self.variants.get((imp.module, imp.name or "", sig))
                if variant is None:
                    raise ValueError(
                        f"import {imp.module}.{imp.name} has type {sig}, the host provides {fn.signature()}"
                    )
                needed.add(variant)
        key = frozenset(needed)
        with self._lock:
            linker = self._linkers.get(key)
            if linker is None:
                linker = self._linkers[key] = self._build_linker(key)
        return CompiledModule(self, module, hashlib.sha256(code).hexdigest(), cached, linker)

    def start_ticker(self) -> None:
        self.ticker.start()

    def close(self) -> None:
        self.ticker.stop()


class _Ticker:
    """The engine's epoch ticker: a watchdog that ticks only while a guest call runs long.

    Every outermost guest call counts itself in its VM's `calls`. The thread wakes every `watch` (4 ticks)
    and looks for a VM inside the same call as at its previous wake; only then does it increment the epoch,
    once per tick while such a call lasts. Each increment reaches the running guest's epoch-deadline
    callback, which charges the call with its thread's CPU time (`Vm.deadline_reached`). Ordinary traffic
    thus costs one wake per watch period, and a wake with no call since the previous one parks the thread
    (nothing at all while idle) until the next call unparks it. Both sides publish first and check second
    (a VM its depth and count before reading `parked`, the ticker `parked` before reading them), so a call
    is never left running unwatched.
    """

    def __init__(self, engine: wasmtime.Engine, period_ms: int) -> None:
        self.period_ms = period_ms
        self.parked = False
        self._engine = weakref.ref(engine)  # an engine nobody uses stops its ticker
        self._vms: weakref.WeakSet[_Watch] = weakref.WeakSet()
        self._mutex = threading.Lock()
        self._wake = threading.Lock()  # held while no wake-up is pending
        self._wake.acquire()
        self._worker: threading.Thread | None = None
        self._stopped = False
        weakref.finalize(engine, self._release)  # a parked thread must not outlive its engine

    def _release(self) -> None:
        self._stopped = True
        self.unpark()

    def start(self) -> None:
        with self._mutex:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="wasm-epoch", daemon=True)
                self._worker.start()

    def register(self, watch: _Watch) -> None:
        with self._mutex:
            self._vms.add(watch)

    def unpark(self) -> None:
        with self._mutex:
            if self.parked:
                self.parked = False
                self._wake.release()

    def stop(self) -> None:
        self._release()
        thread = self._worker
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _calls(self) -> dict[int, tuple[int, int]]:
        """id(vm) -> (outermost calls so far, depth now), for every live VM."""
        with self._mutex:
            vms = [watch.vm for watch in self._vms]
            return {id(vm): (vm.calls, vm.depth) for vm in vms}

    def _run(self) -> None:
        tick = self.period_ms / 1000
        watch = 4 * tick
        seen = self._calls()
        long_call = False
        while not self._stopped:
            time.sleep(tick if long_call else watch)
            now = self._calls()
            long_call = any(depth and seen.get(key, (-1, 0))[0] == calls for key, (calls, depth) in now.items())
            if long_call:
                engine = self._engine()
                if engine is None:
                    return
                _increment_epoch(_address(engine.ptr()))
                del engine
            elif now == seen:
                self._park()
                now = self._calls()
            seen = now

    def _park(self) -> None:
        with self._mutex:
            self.parked = True
        before = self._calls()
        if any(depth for _, depth in before.values()):  # a call began meanwhile (it may have seen parked)
            with self._mutex:
                if self.parked:
                    self.parked = False
                else:
                    self._wake.acquire()  # consume the wake-up it gave
            return
        self._wake.acquire()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _summarize(text: str) -> str:
    """wasmtime's "error while executing at wasm backtrace: ... Caused by: <why>" as "<why> (at <frame>)"."""
    head, sep, cause = text.partition("Caused by:")
    if not sep:
        return _first_line(text)
    frames = [line.split(" - ", 1)[1].strip() for line in head.splitlines() if " - " in line]
    reason = _first_line(cause)
    return f"{reason} (at {frames[0]})" if frames else reason


def _signature_of(ty: Any) -> str:
    if not isinstance(ty, wasmtime.FuncType):
        return f"<{type(ty).__name__}>"
    params = ", ".join(str(p) for p in ty.params)
    results = ", ".join(str(r) for r in ty.results)
    return f"({params}) -> ({results})"


class CompiledModule:
    """A compiled module plus what was learned from its exports (signatures by name)."""

    def __init__(
        self, engine: WasmEngine, module: wasmtime.Module, sha256: str, cached: bool, linker: wasmtime.Linker
    ) -> None:
        self.engine = engine
        self.module = module
        self.sha256 = sha256
        self.from_cache = cached
        self.exports: dict[str, str] = {e.name: _signature_of(e.type) for e in module.exports}
        self._pre = linker.instantiate_pre(module)

    def instantiate(self, env: Any, max_memory_bytes: int, deadline_ms: int) -> Vm:
        return Vm(self, env, max_memory_bytes, deadline_ms)


@mypyc_attr(native_class=False)
class _Watch:
    """What the ticker holds of a VM, weakly: the compiled build's `Vm` cannot be weakly referenced (the VM
    and its watch form a cycle, as the VM and its `env` already do: collected together)."""

    def __init__(self, vm: Vm) -> None:
        self.vm = vm


class Vm:
    """One store + instance. Not thread-safe: one thread at a time, as wasmtime requires."""

    def __init__(self, compiled: CompiledModule, env: Any, max_memory_bytes: int, deadline_ms: int) -> None:
        engine = compiled.engine
        engine.start_ticker()
        self._ticker = engine.ticker
        self.env = env
        self.compiled = compiled
        self.failed: VmTrap | None = None
        self.memory: GuestMemory | None = None
        self.max_memory_bytes = max_memory_bytes
        self.calls = 0  # outermost guest calls so far (the ticker watches it)
        self.depth = 0
        self._budget_ns = 0
        self.set_deadline(deadline_ms)
        self._checked_call = -1  # the call whose CPU time the deadline callback measures...
        self._call_cpu_ns = 0  # ...from this thread CPU time on
        self._deadline_hit = False
        self._host_error: BaseException | None = None
        self._memory_struct = ffi.wasmtime_memory_t()
        self.store = wasmtime.Store(engine.engine)
        self.store.set_limits(memory_size=max_memory_bytes)
        self._ctx = _address(self.store._context())
        _set_deadline(self._ctx, 1)  # the next epoch increment runs the deadline callback
        _set_deadline_callback(_address(self.store.ptr()), _ON_DEADLINE_ADDRESS, None, None)
        self._watch = _Watch(self)
        self._ticker.register(self._watch)
        self._exports: dict[str, Any] = {}
        token = crossing.enter(self, env, self.bind_memory_from_caller)  # for the start section's host calls
        try:
            self.instance = compiled._pre.instantiate(self.store)  # runs the start section, if any
        except wasmtime.WasmtimeError as exc:
            raise self._translate(exc) from None
        finally:
            crossing.leave(token)
        self._instance_exports = self.instance.exports(self.store)  # wrapping them all is slow: once
        mem = self._instance_exports.get("memory")
        if isinstance(mem, wasmtime.Memory):
            self._bind_memory(mem._memory)

    def set_deadline(self, deadline_ms: int) -> None:
        """CPU budget of each outermost guest call from now on."""
        self._budget_ns = deadline_ms * 1_000_000

    def deadline_reached(self, delta: Any) -> int:
        """The epoch moved during a call (the ticker saw it run long): start measuring its CPU time, or
        fail it once that exceeds the budget; otherwise check again at the next tick."""
        now = time.thread_time_ns()
        if self._checked_call != self.calls:
            self._checked_call = self.calls
            self._call_cpu_ns = now
        elif now - self._call_cpu_ns >= self._budget_ns:
            self._deadline_hit = True
            return int(_error_new(b"callback exceeded its CPU deadline") or 0)
        delta[0] = 1
        return 0

    def _bind_memory(self, struct: Any) -> None:
        ctypes.memmove(
            ctypes.addressof(self._memory_struct), ctypes.addressof(struct), ctypes.sizeof(self._memory_struct)
        )
        mem_address = ctypes.addressof(self._memory_struct)
        ctx = self._ctx

        def locate() -> tuple[int, int]:
            return int(_memory_data(ctx, mem_address) or 0), int(_memory_size(ctx, mem_address))

        self.memory = GuestMemory(locate)

    def bind_memory_from_caller(self, caller: int) -> bool:
        """Host calls made by a start section run before the instance exists: find memory via the caller.
        Whether it is bound now."""
        if self.memory is not None:
            return True
        extern = ffi.wasmtime_extern_t()
        found = caller and _caller_export_get(caller, b"memory", 6, ctypes.addressof(extern))
        if found and int(extern.kind) == ffi.WASMTIME_EXTERN_MEMORY.value:
            self._bind_memory(extern.of.memory)
            return True
        return False

    def export(self, name: str, params: int, results: int) -> GuestFunc | None:
        """An exported function of exactly (i32 x params) -> (i32 x results), else None (treated as absent)."""
        sig = "(" + ", ".join(["i32"] * params) + ") -> (" + ", ".join(["i32"] * results) + ")"
        if self.compiled.exports.get(name) != sig:
            return None
        func = self._exports.get(name)
        if func is None:
            func = self._instance_exports[name]
            assert isinstance(func, wasmtime.Func)
            self._exports[name] = func
        return GuestFunc(self, func, name, params, results)

    def host_failure(self, fn: HostFunction, exc: BaseException) -> int:
        """Called from a callback: remember why, and trap the guest."""
        self._host_error = exc
        if isinstance(exc, GuestTrap | VmTrap):
            message = str(exc).encode()
        else:
            message = f"host function {fn.module}.{fn.name} failed: {type(exc).__name__}: {exc}".encode()
        return int(_trap_new(message, len(message)) or 0)

    def _fail_call(self, failure: tuple[int, int]) -> VmTrap:
        """A guest call failed with wasmtime's (error, trap) pointers: the VM is dead from now on."""
        error, trap = failure
        self.failed = self._failure(error or None, trap or None)
        return self.failed

    def _failure(self, error: int | None, trap: int | None) -> VmTrap:
        host_error, self._host_error = self._host_error, None
        if trap:
            wt = wasmtime.Trap._from_ptr(ctypes.cast(trap, ctypes.POINTER(ffi.wasm_trap_t)))
            return self._classify(wt.trap_code, wt.message, host_error)
        assert error is not None
        wt_error = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))
        return self._classify(None, str(wt_error), host_error)

    def _translate(self, exc: wasmtime.WasmtimeError) -> VmTrap:
        host_error, self._host_error = self._host_error, None
        code: Any = exc.trap_code if isinstance(exc, wasmtime.Trap) else None
        return self._classify(code, str(exc), host_error)

    def _classify(self, code: Any, message: str, host_error: BaseException | None) -> VmTrap:
        if isinstance(host_error, VmTrap):
            return host_error  # the guest trapped in a nested call (e.g. its allocator): report that trap
        if self._deadline_hit:
            return VmTrap(TrapKind.DEADLINE, "callback exceeded its CPU deadline")
        message = _summarize(message)
        if host_error is not None and not isinstance(host_error, GuestTrap):
            return VmTrap(TrapKind.HOST, message)
        if self.memory is not None:
            # wasmtime does not say that a grow was refused; a trap with memory within an eighth of the
            # limit is taken as exhaustion (allocators abort right after a refused grow).
            self.memory.refresh()
            if self.memory.size + max(65536, self.max_memory_bytes // 8) >= self.max_memory_bytes:
                return VmTrap(TrapKind.MEMORY, f"{message} (memory limit of {self.max_memory_bytes} bytes)")
        return VmTrap(TrapKind.TRAP, message)

    def close(self) -> None:
        """Free the store; the memoryview is released first so nothing can read freed memory."""
        if self.memory is not None:
            self.memory.release()
        self._exports.clear()
        self.failed = self.failed or VmTrap(TrapKind.HOST, "VM closed")


class GuestFunc:
    """A guest export called through the crossing's `Caller` with a preallocated raw buffer. Arguments and
    results are i32 slots read and written as u32 (the ABI's masking comes free)."""

    __slots__ = ("_buf", "_caller", "_func", "_vm", "name")

    def __init__(self, vm: Vm, func: wasmtime.Func, name: str, params: int, results: int) -> None:
        self._vm = vm
        self._func = func  # keeps the wasmtime_func_t alive
        self.name = name
        count = max(params, results, 1)
        self._buf = (ctypes.c_uint64 * (2 * count))()  # wasmtime_val_raw_t: 16 bytes per argument
        self._caller = crossing.Caller(
            vm, vm.env, vm._ctx, ctypes.addressof(func._func), ctypes.addressof(self._buf), count
        )

    def nested(self, arg: int) -> int:
        """Call a one-argument export from inside a host function of the same VM (the allocator): no
        deadline or ticker bookkeeping, the thread's current VM is already this one."""
        vm = self._vm
        depth = vm.depth
        if vm.failed is not None or not depth or depth >= _MAX_NESTING:
            return self.call_with((arg,))  # the general path raises or does the bookkeeping
        vm.depth = depth + 1
        try:
            result = self._caller(arg)
        finally:
            vm.depth = depth
        if result < 0:
            raise vm._fail_call(self._caller.failure())
        return result

    def call_with(self, args: tuple[int, ...]) -> int:
        """Run the export with `args` (i32 each); raises the VM's VmTrap if it fails (or failed before). The
        arguments travel as one tuple: each `*args` hop of the stream's path would build another."""
        vm = self._vm
        if vm.failed is not None:
            raise vm.failed
        depth = vm.depth
        if depth >= _MAX_NESTING:
            raise VmTrap(TrapKind.HOST, "guest calls nested too deeply")
        vm.depth = depth + 1
        if not depth:
            vm.calls += 1
            if vm._ticker.parked:  # read after publishing depth and calls (see _Ticker)
                vm._ticker.unpark()
        try:
            result = self._caller(*args)
        finally:
            vm.depth = depth
        if result < 0:
            raise vm._fail_call(self._caller.failure())
        return result

    def __call__(self, *args: int) -> int:
        """`call_with(args)`, for setup code and tests."""
        return self.call_with(args)
