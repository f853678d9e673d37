"""Envoy attributes for `proxy_get_property` (reference §13): path resolution and Envoy's value encoding.

The embedder supplies Python values by attribute name (`StreamHost.attribute`, `PluginHost.attribute`);
abi walks the remaining path segments into maps/lists and encodes the result as Envoy does: strings raw,
ints as 8-byte little-endian (signed, or unsigned for the few uint attributes), bools as one byte,
timestamps/durations as int64 nanoseconds, maps and lists in the pairs format.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from abi.context import AbiState
from abi.memory import encode_list, encode_pairs, pack_i64, pack_u64
from abi.types import Status

# Top-level names whose attributes are "<group>.<field>" in Envoy's attribute vocabulary.
_GROUPS: Final = frozenset(("request", "response", "source", "destination", "connection", "upstream", "xds"))
_UINT: Final = frozenset(("connection.id", "connection_id", "upstream.request_attempt_count", "upstream.num_endpoints"))
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_PLUGIN_NAMES: Final = frozenset(("plugin_name", "plugin_root_id", "plugin_vm_id"))


def attribute_name(segments: Sequence[bytes]) -> tuple[str, tuple[bytes, ...]]:
    """(`request.path`, rest) from [b"request", b"path", ...]."""
    first = segments[0].decode("utf-8", "replace")
    if first in _GROUPS and len(segments) > 1:
        return f"{first}.{segments[1].decode('utf-8', 'replace')}", tuple(segments[2:])
    return first, tuple(segments[1:])


def _parsed(path: bytes) -> tuple[str, tuple[bytes, ...], bool]:
    """The attribute name, the rest of the path and whether the first segment holds a dot, parsed once per path
    (a plugin asks for the same few on every request; the cache is bounded: the paths come from the guest)."""
    parsed = _PARSED.get(path)
    if parsed is None:
        segments = path.split(b"\0")
        name, rest = attribute_name(segments)
        parsed = (name, rest, segments[0].find(b".") >= 0)
        if len(_PARSED) >= _MAX_PARSED:
            _PARSED.clear()
        _PARSED[path] = parsed
    return parsed


_PARSED: Final[dict[bytes, tuple[str, tuple[bytes, ...], bool]]] = {}
_MAX_PARSED: Final = 256


def encode(value: object, name: str = "") -> bytes | None:
    """Envoy's serialization of an attribute value; None when the type cannot be serialized."""
    # The common types first, and tuples of types: a union (`bytes | str`) is built anew at each test.
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return pack_u64(value) if name in _UINT else pack_i64(value)
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)  # naive = UTC
        delta = moment - _EPOCH
        return pack_i64((delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000)
    if isinstance(value, timedelta):
        return pack_i64((value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1000)
    if isinstance(value, Mapping):
        pairs = []
        for key, item in value.items():
            encoded_key, encoded_item = encode(key), encode(item)
            if encoded_key is None or encoded_item is None:
                return None
            pairs.append((encoded_key, encoded_item))
        return encode_pairs(pairs)
    if isinstance(value, (list, tuple)):
        items = [encode(item) for item in value]
        if any(item is None for item in items):
            return None
        return encode_list([item for item in items if item is not None])
    return None


def _walk(value: object, rest: tuple[bytes, ...]) -> object | None:
    for segment in rest:
        if isinstance(value, Mapping):
            key = segment.decode("utf-8", "replace")
            value = value.get(key, value.get(segment))
        elif isinstance(value, (list, tuple)) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return None
        if value is None:
            return None
    return value


def lookup(state: AbiState, path: bytes) -> bytes | Status:
    """Resolve a NUL-separated property path in the current context."""
    if not path:
        return Status.NOT_FOUND
    name, rest, dotted = _parsed(path)
    root = state.root()
    stream = state.stream()
    value: object | None = None
    if root is not None and name in _PLUGIN_NAMES:
        value = {"plugin_name": root.name, "plugin_root_id": root.root_id, "plugin_vm_id": root.vm_id}[name]
    elif stream is not None and stream.filter_state is not None and path in stream.filter_state:
        return stream.filter_state[path]
    elif not dotted:  # Envoy does not split "request.path": it is an unknown name
        if stream is not None:
            value = stream.host.attribute(name)
        if value is None:
            value = state.plugin_host().attribute(name)
    value = _walk(value, rest) if value is not None else None
    if value is None:
        return Status.NOT_FOUND
    encoded = encode(value, name if not rest else "")
    return Status.SERIALIZATION_FAILURE if encoded is None else encoded
