"""Buffers (reference §7.2, §8.3, §8.4): bodies with Envoy's start/size rules, callout body, VM and plugin
configuration, foreign-function arguments, and 0.1.0's `proxy_get_configuration`."""

from __future__ import annotations

from typing import Final

from abi.context import AbiState, Body
from abi.exports.base import env
from abi.types import BufferType, Status
from abi.vm import HostFunction

OK: Final = Status.OK
NOT_FOUND: Final = Status.NOT_FOUND
BAD_ARGUMENT: Final = Status.BAD_ARGUMENT
_LAST_BUFFER: Final = max(BufferType)


def _body(state: AbiState, buffer_type: int) -> Body | None:
    stream = state.stream()
    return stream.body(buffer_type) if stream is not None else None


def _readable(state: AbiState, buffer_type: int) -> bytes | memoryview | None:
    """The buffer's bytes, or None when it does not exist here (NOT_FOUND)."""
    if buffer_type <= BufferType.HTTP_RESPONSE_BODY:
        body = _body(state, buffer_type)
        if body is None:
            return None
        return body.window() if body.available else b""  # Envoy: an unavailable body reads as empty
    if buffer_type == BufferType.HTTP_CALL_RESPONSE_BODY:
        return state.callout.body if state.callout is not None else None
    if buffer_type == BufferType.VM_CONFIGURATION:
        return state.vm_configuration
    if buffer_type == BufferType.PLUGIN_CONFIGURATION:
        root = state.root()
        return root.configuration if root is not None and root.configuring else None
    if buffer_type == BufferType.FOREIGN_FUNCTION_ARGUMENTS:
        return state.foreign_args
    return None  # network data and gRPC messages: this host has no TCP filter or gRPC client


def proxy_get_buffer_bytes(
    state: AbiState, buffer_type: int, start: int, max_size: int, ptr_out: int, len_out: int
) -> int:
    if buffer_type > _LAST_BUFFER:
        return BAD_ARGUMENT
    data = _readable(state, buffer_type)
    if data is None:
        return NOT_FOUND
    # Sizes are unsigned: SDKs pass 0xFFFFFFFF for "all of it"; clamp, never reject.
    chunk = data[start : start + max_size] if start < len(data) else b""
    state.memory.write_out_buf(chunk, ptr_out, len_out)
    return OK


def proxy_get_buffer_status(state: AbiState, buffer_type: int, size_out: int, flags_out: int) -> int:
    if buffer_type > _LAST_BUFFER:
        return BAD_ARGUMENT
    data = _readable(state, buffer_type)
    if data is None:
        return NOT_FOUND
    state.memory.write_u32(size_out, len(data))
    state.memory.write_u32(flags_out, 0)
    return OK


def proxy_set_buffer_bytes(state: AbiState, buffer_type: int, start: int, size: int, ptr: int, length: int) -> int:
    if buffer_type > _LAST_BUFFER:
        return BAD_ARGUMENT
    if buffer_type > BufferType.HTTP_RESPONSE_BODY:
        # Configuration, callout and argument buffers are not backed by the proxy: read-only.
        return NOT_FOUND if _readable(state, buffer_type) is None else BAD_ARGUMENT
    body = _body(state, buffer_type)
    if body is None:
        return NOT_FOUND
    data = state.memory.read(ptr, length)
    if not body.available:
        return BAD_ARGUMENT
    window = len(body.held) - body.start
    new_size = len(body.held) + len(data) - (min(size, window) if start == 0 else 0)
    if new_size > max(state.limits.max_buffer_bytes, len(body.held)):
        return BAD_ARGUMENT  # growth past what the host would hold for the proxy (a chunk may be larger)
    if start == 0:  # drop the first `size` bytes of the window, then prepend: (0, >=len) replaces all
        body.held[body.start : body.start + min(size, window)] = data
    elif start >= window:
        body.held += data
    else:
        return BAD_ARGUMENT  # Envoy refuses edits in the middle
    return OK


def proxy_get_configuration(state: AbiState, ptr_out: int, len_out: int) -> int:
    """0.1.0: the plugin configuration while configuring, the VM configuration otherwise."""
    root = state.root()
    data = root.configuration if root is not None and root.configuring else state.vm_configuration
    state.memory.write_out_buf(data, ptr_out, len_out)
    return OK


FUNCTIONS: list[HostFunction] = [
    env("proxy_get_buffer_bytes", "iiiii", proxy_get_buffer_bytes),
    env("proxy_get_buffer_status", "iii", proxy_get_buffer_status),
    env("proxy_set_buffer_bytes", "iiiii", proxy_set_buffer_bytes),
    env("proxy_get_configuration", "ii", proxy_get_configuration),
]
