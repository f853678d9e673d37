"""Header maps (reference §7.3, §8.3, §8.5): request/response headers and trailers of the stream, and the
callout response's headers/trailers. Keys are lower-cased; a repeated key yields its first value."""

from __future__ import annotations

from typing import Final

from abi.context import AbiState
from abi.exports.base import env
from abi.host import Pairs
from abi.memory import decode_pairs, encode_pairs
from abi.types import AbiVersion, MapType, Status
from abi.vm import HostFunction

# Plain ints: an enum member looked up through its class costs ~0.2 µs on every host call.
OK: Final = int(Status.OK)
NOT_FOUND: Final = int(Status.NOT_FOUND)
BAD_ARGUMENT: Final = int(Status.BAD_ARGUMENT)
_LAST_MAP: Final = int(max(MapType))
_LAST_STREAM_MAP: Final = int(MapType.HTTP_RESPONSE_TRAILERS)
_CALL_HEADERS: Final = int(MapType.HTTP_CALL_RESPONSE_HEADERS)
_CALL_TRAILERS: Final = int(MapType.HTTP_CALL_RESPONSE_TRAILERS)
_V0_1_0: Final = int(AbiVersion.V0_1_0)


def _map(state: AbiState, map_type: int) -> Pairs | None:
    """The map readable now, or None when unavailable."""
    if map_type <= _LAST_STREAM_MAP:
        stream = state.stream()
        return None if stream is None else stream.maps.get(map_type)
    callout = state.callout
    if callout is None:
        return None
    if map_type == _CALL_HEADERS:
        return callout.headers
    if map_type == _CALL_TRAILERS:
        return callout.trailers
    return None  # gRPC metadata: no gRPC client here


def _writable(state: AbiState, map_type: int) -> Pairs | None:
    stream = state.stream()
    if stream is None or not stream.writable >> map_type & 1:
        return None
    return stream.maps.get(map_type)


def proxy_get_header_map_pairs(state: AbiState, map_type: int, ptr_out: int, len_out: int) -> int:
    if map_type > _LAST_MAP:
        return BAD_ARGUMENT
    pairs = _map(state, map_type)
    state.memory.write_out_buf(encode_pairs(pairs) if pairs else b"", ptr_out, len_out)
    return OK


def proxy_set_header_map_pairs(state: AbiState, map_type: int, ptr: int, size: int) -> int:
    if map_type > _LAST_MAP:
        return BAD_ARGUMENT
    data = state.memory.peek(ptr, size)
    target = _writable(state, map_type)
    if target is None:
        return BAD_ARGUMENT
    limits = state.limits
    target[:] = [(k.lower(), v) for k, v in decode_pairs(data, limits.max_pairs_bytes, limits.max_pairs_count)]
    return OK


def proxy_get_header_map_size(state: AbiState, map_type: int, size_out: int) -> int:
    if map_type > _LAST_MAP:
        return BAD_ARGUMENT
    pairs = _map(state, map_type)
    if pairs is None:
        return BAD_ARGUMENT
    state.memory.write_u32(size_out, sum(len(k) + len(v) for k, v in pairs))  # Envoy's byte size
    return OK


def proxy_get_header_map_value(
    state: AbiState, map_type: int, key_ptr: int, key_len: int, ptr_out: int, len_out: int
) -> int:
    if map_type > _LAST_MAP:
        return BAD_ARGUMENT
    key = state.memory.read(key_ptr, key_len).lower()
    pairs = _map(state, map_type)
    if pairs is None:
        stream = state.stream()
        return NOT_FOUND if stream is not None and stream.logging else BAD_ARGUMENT
    for name, value in pairs:
        if name == key:
            state.memory.write_out_buf(value, ptr_out, len_out)
            return OK
    if state.abi_version == _V0_1_0:  # 0.1.0: a missing key is an empty value
        state.memory.write_out_buf(b"", ptr_out, len_out)
        return OK
    return NOT_FOUND


def _fits(state: AbiState, target: Pairs, key: bytes, value: bytes, replacing: bool) -> bool:
    """A plugin must not grow a map past the pairs limits (a header bomb)."""
    limits = state.limits
    if len(target) >= limits.max_pairs_count and not (replacing and any(k == key for k, _ in target)):
        return False
    size = len(key) + len(value)  # an upper bound: the replaced entries are counted too
    for k, v in target:
        size += len(k) + len(v)
    return size <= limits.max_pairs_bytes


def _key_value(state: AbiState, key_ptr: int, key_len: int, value_ptr: int, value_len: int) -> tuple[bytes, bytes]:
    memory = state.memory
    return memory.read(key_ptr, key_len).lower(), memory.read(value_ptr, value_len)


def proxy_add_header_map_value(
    state: AbiState, map_type: int, key_ptr: int, key_len: int, value_ptr: int, value_len: int
) -> int:
    if map_type > _LAST_MAP:
        return BAD_ARGUMENT
    memory = state.memory
    key = memory.read(key_ptr, key_len).lower()
    value = memory.read(value_ptr, value_len)
    target = _writable(state, map_type)
    if target is None or not _fits(state, target, key, value, replacing=False):
        return BAD_ARGUMENT
    target.append((key, value))
    return OK


def proxy_replace_header_map_value(
    state: AbiState, map_type: int, key_ptr: int, key_len: int, value_ptr: int, value_len: int
) -> int:
    if map_type > _LAST_MAP:
        return BAD_ARGUMENT
    key, value = _key_value(state, key_ptr, key_len, value_ptr, value_len)
    target = _writable(state, map_type)
    if target is None or not _fits(state, target, key, value, replacing=True):
        return BAD_ARGUMENT
    # The first entry keeps its position with the new value; later duplicates go.
    positions = [i for i, (name, _) in enumerate(target) if name == key]
    if not positions:
        target.append((key, value))
        return OK
    target[positions[0]] = (key, value)
    for i in reversed(positions[1:]):
        del target[i]
    return OK


def proxy_remove_header_map_value(state: AbiState, map_type: int, key_ptr: int, key_len: int) -> int:
    if map_type > _LAST_MAP:
        return BAD_ARGUMENT
    key = state.memory.read(key_ptr, key_len).lower()
    target = _writable(state, map_type)
    if target is None:
        return BAD_ARGUMENT
    target[:] = [(name, value) for name, value in target if name != key]
    return OK


FUNCTIONS: list[HostFunction] = [
    env("proxy_get_header_map_pairs", "iii", proxy_get_header_map_pairs),
    env("proxy_set_header_map_pairs", "iii", proxy_set_header_map_pairs),
    env("proxy_get_header_map_size", "ii", proxy_get_header_map_size),
    env("proxy_get_header_map_value", "iiiii", proxy_get_header_map_value),
    env("proxy_add_header_map_value", "iiiii", proxy_add_header_map_value),
    env("proxy_replace_header_map_value", "iiiii", proxy_replace_header_map_value),
    env("proxy_remove_header_map_value", "iii", proxy_remove_header_map_value),
]
