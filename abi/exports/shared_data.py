"""Shared key-value data with CAS and shared queues (reference §7.7, §12.2-12.3), scoped by vm_id."""

from __future__ import annotations

from typing import Final

from abi.context import AbiState
from abi.exports.base import env
from abi.types import Status
from abi.vm import HostFunction

_OK: Final = Status.OK
_NOT_FOUND: Final = Status.NOT_FOUND


def proxy_get_shared_data(state: AbiState, key_ptr: int, key_len: int, ptr_out: int, len_out: int, cas_out: int) -> int:
    key = state.memory.read(key_ptr, key_len)
    entry = state.shared.get(state.vm_id, key)
    if entry is None:
        return _NOT_FOUND
    state.memory.write_out_buf(entry[0], ptr_out, len_out)
    state.memory.write_u32(cas_out, entry[1])
    return _OK


def proxy_set_shared_data(state: AbiState, key_ptr: int, key_len: int, value_ptr: int, value_len: int, cas: int) -> int:
    key = state.memory.read(key_ptr, key_len)
    value = state.memory.read(value_ptr, value_len)
    return state.shared.set(state.vm_id, key, value, cas)


def proxy_register_shared_queue(state: AbiState, name_ptr: int, name_len: int, token_out: int) -> int:
    name = state.memory.read(name_ptr, name_len)
    root = state.root()
    if root is None:
        return _NOT_FOUND
    token = state.shared.register_queue(state.vm_id, name, root.host.post, state.queue_notifier(root))
    state.memory.write_u32(token_out, token)
    return _OK


def proxy_resolve_shared_queue(
    state: AbiState, vm_ptr: int, vm_len: int, name_ptr: int, name_len: int, token_out: int
) -> int:
    vm_id = state.memory.read(vm_ptr, vm_len).decode("utf-8", "replace") or state.vm_id
    name = state.memory.read(name_ptr, name_len)
    token = state.shared.resolve_queue(vm_id, name)
    if token is None:
        return _NOT_FOUND
    state.memory.write_u32(token_out, token)
    return _OK


def proxy_enqueue_shared_queue(state: AbiState, token: int, value_ptr: int, value_len: int) -> int:
    return state.shared.enqueue(token, state.memory.read(value_ptr, value_len))


def proxy_dequeue_shared_queue(state: AbiState, token: int, ptr_out: int, len_out: int) -> int:
    item = state.shared.dequeue(token)
    if isinstance(item, Status):
        return item
    state.memory.write_out_buf(item, ptr_out, len_out)
    return _OK


FUNCTIONS: list[HostFunction] = [
    env("proxy_get_shared_data", "iiiii", proxy_get_shared_data),
    env("proxy_set_shared_data", "iiiii", proxy_set_shared_data),
    env("proxy_register_shared_queue", "iii", proxy_register_shared_queue),
    env("proxy_resolve_shared_queue", "iiiii", proxy_resolve_shared_queue),
    env("proxy_enqueue_shared_queue", "iii", proxy_enqueue_shared_queue),
    env("proxy_dequeue_shared_queue", "iii", proxy_dequeue_shared_queue),
]
