"""Properties and foreign functions (reference §7.9, §13, §14).

`proxy_set_property` stores into the stream's filter state (readable back by path); the foreign functions
offered are Envoy's cheap ones — `compress`/`uncompress` (zlib) and `clear_route_cache` — then whatever
the embedder's `PluginHost.foreign_function` knows."""

from __future__ import annotations

import zlib
from typing import Final

from abi.context import AbiState
from abi.exports.base import env
from abi.properties import lookup
from abi.types import Status
from abi.vm import HostFunction

_OK: Final = int(Status.OK)


def proxy_get_property(state: AbiState, path_ptr: int, path_len: int, ptr_out: int, len_out: int) -> int:
    path = state.memory.read(path_ptr, path_len)
    value = lookup(state, path)
    if not isinstance(value, bytes):
        return value  # a Status
    state.memory.write_out_buf(value, ptr_out, len_out)
    return _OK


def proxy_set_property(state: AbiState, path_ptr: int, path_len: int, value_ptr: int, value_len: int) -> int:
    path = state.memory.read(path_ptr, path_len)
    value = state.memory.read(value_ptr, value_len)
    stream = state.stream()
    if stream is None:
        return Status.NOT_FOUND
    if stream.filter_state is None:
        stream.filter_state = {}
    stream.filter_state[path] = value
    return Status.OK


def _builtin(state: AbiState, name: str, arguments: bytes) -> tuple[Status, bytes] | None:
    if name == "compress":
        return Status.OK, zlib.compress(arguments)
    if name == "uncompress":
        try:
            return Status.OK, zlib.decompress(arguments)
        except zlib.error:
            return Status.SERIALIZATION_FAILURE, b""
    if name == "clear_route_cache":
        stream = state.stream()
        if stream is not None:
            stream.host.clear_route_cache()
        return Status.OK, b""
    return None


def proxy_call_foreign_function(
    state: AbiState, name_ptr: int, name_len: int, args_ptr: int, args_len: int, ptr_out: int, len_out: int
) -> int:
    name = state.memory.read(name_ptr, name_len).decode("utf-8", "replace")
    arguments = state.memory.read(args_ptr, args_len)
    answer = _builtin(state, name, arguments)
    if answer is None:
        answer = state.plugin_host().foreign_function(name, arguments)
    if answer is None:
        return Status.NOT_FOUND
    status, result = answer
    if ptr_out:
        state.memory.write_out_buf(result, ptr_out, len_out)
    return status


FUNCTIONS: list[HostFunction] = [
    env("proxy_get_property", "iiii", proxy_get_property),
    env("proxy_set_property", "iiii", proxy_set_property),
    env("proxy_call_foreign_function", "iiiiii", proxy_call_foreign_function),
]
