"""The per-call crossings between Python and wasmtime, in ctypes: a guest call (`Caller`) and a host function's
entry from the guest (`HostEntry`). `abi/_crossing.c` is the same interface in C, built with the compiled hot
path (scripts/build_native.py) and about twice as fast for a plugin; `abi/vm.py` uses it when it is there and
this module otherwise (GATEWAY_NATIVE=0, or no C compiler). Stays plain Python: it generates its callbacks.

A host function finds the VM whose guest called it in a thread-local "current VM", set by every guest call
and by `enter()` (an instance being created runs its start section before any guest call).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any

_VP = ctypes.c_void_p
# (env, caller, args_and_results, count) -> trap pointer or 0
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_size_t, _VP, _VP, ctypes.POINTER(ctypes.c_uint32), ctypes.c_size_t)


class _Current(threading.local):
    def __init__(self) -> None:
        # [vm, env, binder]: items of a list cost a fraction of a thread-local's attributes.
        self.state: list[Any] = [None, None, None]


_current = _Current()
_MAX_DEPTH = 8  # as abi.vm's nesting limit
_call_unchecked: Any = None
_memory_error: type[BaseException] = Exception


def init(call_unchecked: int, trap_new: int, memory_error: type[BaseException]) -> None:
    """wasmtime's `wasmtime_func_call_unchecked` and `wasmtime_trap_new` (addresses), and the exception that
    makes a host function answer its fault code."""
    global _call_unchecked, _memory_error
    # Without argtypes: every argument is a prebuilt ctypes object, so ctypes has nothing to convert.
    _call_unchecked = ctypes.CFUNCTYPE(_VP)(call_unchecked)
    _memory_error = memory_error


def enter(vm: object, env: object, binder: Callable[[int], bool] | None) -> object:
    """Make `vm` current outside a guest call; `binder(caller)` runs before each host function until it returns
    True (it binds the memory of an instance still being created). Returns the token for `leave()`."""
    state = _current.state
    token = state[:]
    state[:] = [vm, env, binder]
    return token


def leave(token: object) -> None:
    _current.state[:] = token  # type: ignore[call-overload]


def current_vm() -> Any:
    """The VM whose guest runs on this thread, or None."""
    return _current.state[0]


class Caller:
    """One guest export: `caller(*i32 args)` returns its result as u32, or -1 when the call failed (then
    `failure()` hands over wasmtime's error and trap pointers)."""

    def __init__(self, vm: object, env: object, context: int, func: int, buf: int, count: int) -> None:
        self._vm = vm
        self._env = env
        # wasmtime_val_raw_t is 16 bytes: slot i is uint32 index 4*i (an i32 is read from its low half).
        self._slots = (ctypes.c_uint32 * (4 * count)).from_address(buf)
        # One trap out-slot per nesting depth, each call's C arguments built once: a nested call must not write
        # where an outer call's trap is read, and ctypes converts nothing when every argument is a ctypes object.
        self._traps = [_VP() for _ in range(_MAX_DEPTH)]
        fixed = (_VP(context), _VP(func), _VP(buf), ctypes.c_size_t(count))
        self._calls = [(*fixed, ctypes.byref(trap)) for trap in self._traps]
        self._depth = 0
        self._failure = (0, 0)

    def __call__(self, *args: int) -> int:
        slots = self._slots
        for i, value in enumerate(args):
            slots[4 * i] = value
        state = _current.state
        saved = state[:]
        state[0], state[1], state[2] = self._vm, self._env, None
        depth = self._depth
        self._depth = depth + 1
        try:
            error = _call_unchecked(*self._calls[depth])
        finally:
            self._depth = depth
            state[:] = saved
        trap = self._traps[depth]
        if error or trap.value:
            self._failure = (error or 0, trap.value or 0)
            trap.value = None
            return -1
        return int(slots[0])

    def failure(self) -> tuple[int, int]:
        failure, self._failure = self._failure, (0, 0)
        return failure


# The i32-only entry, specialised per import: explicit `raw[0], raw[4], ...` indexing costs ~0.25 µs for three
# arguments where a strided slice of the ctypes pointer costs ~1.3 µs (parameter i is uint32 slot 4*i; reading
# the slots as unsigned is the ABI's u32 masking).
_I32_ENTRY = """
def entry(env, caller, raw, count):
    state = cell.state
    try:
        if state[2] is not None and state[2](caller or 0):
            state[2] = None
        {store}impl(state[1]{args})
    except memory_error:
        {on_fault}
    except BaseException as exc:  # contained: becomes a trap of this VM only (a nested guest trap too)
        return on_failure(state[0], exc)
    return 0
"""


class HostEntry:
    """One host function's entry from the guest: wasmtime calls `callback` with `env`; it calls
    `impl(env object of the current VM, *args)`. A `memory_error` makes the result `fault`; any other exception
    traps the guest with the pointer `on_failure(vm, exception)` returns."""

    def __init__(
        self, impl: Callable[..., Any], params: str, result: str, fault: int, on_failure: Callable[..., int]
    ) -> None:
        if result in ("", "i") and all(p == "i" for p in params):
            source = _I32_ENTRY.format(
                store="raw[0] = " if result else "",
                args="".join(f", raw[{4 * i}]" for i in range(len(params))),
                on_fault="raw[0] = fault" if result else "pass",
            )
            namespace: dict[str, Any] = {
                "cell": _current,
                "impl": impl,
                "fault": fault,
                "on_failure": on_failure,
                "memory_error": _memory_error,
            }
            exec(source, namespace)
            self._function = _CALLBACK(namespace["entry"])
        else:
            self._function = _CALLBACK(_generic_entry(impl, params, result, fault, on_failure))
        self.callback = int(ctypes.cast(self._function, _VP).value or 0)
        self.env = 0


def _generic_entry(
    impl: Callable[..., Any], params: str, result: str, fault: int, on_failure: Callable[..., int]
) -> Callable[..., int]:
    """Slower path for the few imports with i64/f64 values (metrics, WASI clocks, AssemblyScript seed)."""

    def entry(env: int | None, caller: int | None, raw: Any, count: int) -> int:
        state = _current.state
        try:
            binder = state[2]
            if binder is not None and binder(caller or 0):
                state[2] = None
            address = int(ctypes.cast(raw, _VP).value or 0)
            args: list[Any] = []
            for i, kind in enumerate(params):
                if kind == "i":
                    args.append(raw[4 * i])
                elif kind == "I":
                    args.append(raw[4 * i] | (raw[4 * i + 1] << 32))
                else:
                    args.append(ctypes.c_double.from_address(address + 16 * i).value)
            value = impl(state[1], *args)
            if result == "i":
                raw[0] = value
            elif result == "F":
                ctypes.c_double.from_address(address).value = value
        except _memory_error:
            if result == "i":
                raw[0] = fault
        except BaseException as exc:
            return on_failure(state[0], exc)
        return 0

    return entry
