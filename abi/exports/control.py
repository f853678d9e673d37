"""Logging, time, tick timers, context control, callout status, and the small non-proxy `env` helpers
(Emscripten's memory-growth notice and `pthread_equal`, AssemblyScript's abort/trace/seed)."""

from __future__ import annotations

import random
from typing import Final

from abi.context import AbiState
from abi.errors import GuestTrap
from abi.exports.base import env
from abi.types import LogLevel, Status
from abi.vm import HostFunction

OK: Final = Status.OK
NOT_FOUND: Final = Status.NOT_FOUND
BAD_ARGUMENT: Final = Status.BAD_ARGUMENT
_LOG_LEVELS: Final = tuple(LogLevel)  # by value: constructing an enum member per log line costs ~0.5 µs


def proxy_log(state: AbiState, level: int, ptr: int, size: int) -> int:
    if level >= len(_LOG_LEVELS):
        return BAD_ARGUMENT
    message = state.memory.read(ptr, min(size, state.limits.max_log_message_bytes))
    state.log(_LOG_LEVELS[level], message.decode("utf-8", "replace"))
    return OK


def proxy_get_log_level(state: AbiState, out: int) -> int:
    level = state.plugin_host().log_level()
    state.memory.write_u32(out, min(int(level), LogLevel.CRITICAL))  # Envoy's "off" (6) clamps to 5
    return OK


def proxy_get_current_time_nanoseconds(state: AbiState, out: int) -> int:
    state.memory.write_u64(out, state.plugin_host().wall_time_ns())
    return OK


def proxy_set_tick_period_milliseconds(state: AbiState, period_ms: int) -> int:
    root = state.root()
    if root is not None:
        state.set_tick_period(root, period_ms)
    return OK


def proxy_set_effective_context(state: AbiState, context_id: int) -> int:
    context = state.contexts.get(context_id)
    if context is None:
        return BAD_ARGUMENT
    state.effective = context
    return OK


def proxy_done(state: AbiState) -> int:
    root = state.root()
    if root is None or not root.pending_done:
        return NOT_FOUND
    state.defer(lambda: state.finish_root(root))
    return OK


def proxy_get_status(state: AbiState, code_out: int, ptr_out: int, len_out: int) -> int:
    root = state.root()
    code, message = root.status if root is not None else (0, b"")
    state.memory.write_u32(code_out, code)
    state.memory.write_out_buf(message, ptr_out, len_out)
    return OK


def envoy_resolve_dns(state: AbiState, ptr: int, size: int, token_out: int) -> int:
    state.memory.read(ptr, size)
    return Status.UNIMPLEMENTED


def emscripten_notify_memory_growth(state: AbiState, index: int) -> None:
    """Emscripten's growth notice: our view refreshes itself on demand."""


def pthread_equal(state: AbiState, a: int, b: int) -> int:
    return 1 if a == b else 0


def _as_string(state: AbiState, ptr: int) -> str:
    """An AssemblyScript string: UTF-16LE, its byte length stored just before it."""
    if ptr < 4:
        return ""
    size = state.memory.read_u32(ptr - 4)
    return state.memory.read(ptr, min(size, 4096)).decode("utf-16-le", "replace")


def as_abort(state: AbiState, message: int, file: int, line: int, column: int) -> None:
    raise GuestTrap(f"abort: {_as_string(state, message)} at {_as_string(state, file)}:{line}:{column}")


def as_trace(state: AbiState, message: int, count: int, *values: float) -> None:
    state.log(LogLevel.TRACE, f"trace: {_as_string(state, message)}")


def as_seed(state: AbiState) -> float:
    return random.random() * 2.0**52


FUNCTIONS: list[HostFunction] = [
    env("proxy_log", "iii", proxy_log),
    env("proxy_get_log_level", "i", proxy_get_log_level),
    env("proxy_get_current_time_nanoseconds", "i", proxy_get_current_time_nanoseconds),
    env("proxy_set_tick_period_milliseconds", "i", proxy_set_tick_period_milliseconds),
    env("proxy_set_effective_context", "i", proxy_set_effective_context),
    env("proxy_done", "", proxy_done),
    env("proxy_get_status", "iii", proxy_get_status),
    env("envoy_resolve_dns", "iii", envoy_resolve_dns),
    env("emscripten_notify_memory_growth", "i", emscripten_notify_memory_growth, ""),
    env("pthread_equal", "ii", pthread_equal),
    env("abort", "iiii", as_abort, ""),
    env("trace", "iiFFFFF", as_trace, ""),
    env("seed", "", as_seed, "F"),
]
