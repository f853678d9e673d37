"""Guest linear memory: bounds-checked access through a cached writable memoryview, and the pairs codec.

Every pointer and length from the guest is an i32 that wasmtime hands over signed; it is masked to u32
here before any check, so 0xFFFFFFFF is a huge (out-of-range) length, never "minus one".
The view covers the memory as it was when last refreshed; memory only grows and the engine is configured
with `memory_may_move = False`, so the base stays put and a miss past the cached length just re-reads
the size (one FFI call) — the hot path never calls into wasmtime.
"""

from __future__ import annotations

import ctypes
import importlib
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from abi.errors import MemoryAccessError

U32: Final = 0xFFFFFFFF
U64: Final = 0xFFFFFFFFFFFFFFFF

Pairs = list[tuple[bytes, bytes]]

_PyMemoryView_FromMemory = ctypes.pythonapi.PyMemoryView_FromMemory
_PyMemoryView_FromMemory.restype = ctypes.py_object
_PyMemoryView_FromMemory.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int]
_PYBUF_WRITE: Final = 0x200

_U32: Final = struct.Struct("<I")
_pack_u32: Final = _U32.pack_into
_U64: Final = struct.Struct("<Q")
_I64: Final = struct.Struct("<q")


def _read(view: memoryview, ptr: int, n: int) -> bytes:
    return view[ptr : ptr + n].tobytes()


def _write(view: memoryview, ptr: int, data: bytes | bytearray | memoryview) -> None:
    view[ptr : ptr + len(data)] = data


def _write_out(view: memoryview, ptr_out: int, address: int, len_out: int, length: int) -> None:
    _pack_u32(view, ptr_out, address)
    _pack_u32(view, len_out, length)


class GuestMemory:
    """One instance's exported memory. `locate()` returns (data address, size in bytes)."""

    __slots__ = ("_allocate", "_locate", "size", "view")

    def __init__(self, locate: Callable[[], tuple[int, int]]) -> None:
        self._locate = locate
        self._allocate: Callable[[int], int] | None = None
        self.view = memoryview(b"")
        self.size = 0
        self.refresh()

    def refresh(self) -> None:
        address, size = self._locate()
        if size != self.size or not self.size:
            self.view = _PyMemoryView_FromMemory(address, size, _PYBUF_WRITE) if size else memoryview(b"")
            self.size = size

    def set_allocator(self, allocate: Callable[[int], int]) -> None:
        """The guest's `proxy_on_memory_allocate`/`malloc`, called re-entrantly for host-allocated results."""
        self._allocate = allocate

    def release(self) -> None:
        """Drop the view before the store is freed, so nothing can touch freed memory."""
        self.view.release()
        self.view = memoryview(b"")
        self.size = 0

    def _check(self, ptr: int, n: int) -> int:
        end = ptr + n
        if end > self.size:
            self.refresh()
            if end > self.size:
                raise MemoryAccessError(f"guest range {ptr:#x}+{n} is outside memory of {self.size} bytes")
        return end

    # The accessors test the cached size inline and call `_check` only on a miss (it may replace the view
    # after the memory grew, so the view is read after it).
    def read(self, ptr: int, n: int) -> bytes:
        ptr &= U32
        end = ptr + (n & U32)
        if end > self.size:
            self._check(ptr, n & U32)
        return _READ(self.view, ptr, end - ptr)

    def peek(self, ptr: int, n: int) -> memoryview:
        """Zero-copy view, valid only until the guest runs again."""
        ptr &= U32
        end = ptr + (n & U32)
        if end > self.size:
            self._check(ptr, n & U32)
        return self.view[ptr:end]

    def write(self, ptr: int, data: bytes | bytearray | memoryview) -> None:
        ptr &= U32
        end = ptr + len(data)
        if end > self.size:
            self._check(ptr, len(data))
        _WRITE(self.view, ptr, data)

    def read_u32(self, ptr: int) -> int:
        ptr &= U32
        self._check(ptr, 4)
        return int(_U32.unpack_from(self.view, ptr)[0])

    def write_u32(self, ptr: int, value: int) -> None:
        ptr &= U32
        if ptr + 4 > self.size:
            self._check(ptr, 4)
        _WRITE_U32(self.view, ptr, value & U32)

    def write_u64(self, ptr: int, value: int) -> None:
        ptr &= U32
        self._check(ptr, 8)
        _U64.pack_into(self.view, ptr, value & U64)

    def put(self, data: bytes | bytearray | memoryview) -> int:
        """Copy `data` into a fresh guest allocation; returns its address (never called for empty data)."""
        allocate = self._allocate
        if allocate is None:
            raise MemoryAccessError("the plugin exports no allocator")
        size = len(data)
        address = allocate(size)  # (an unsigned i32)
        if address == 0:
            raise MemoryAccessError(f"the plugin's allocator failed for {size} bytes")
        if address + size > self.size:  # (the allocation may have grown the memory: `_check` refreshes the view)
            self._check(address, size)
        _WRITE(self.view, address, data)
        return address

    def write_out_buf(self, data: bytes | bytearray | memoryview, ptr_out: int, len_out: int) -> None:
        """The ABI's "out buf": allocate in the guest, copy, store (address, length); (0, 0) when empty."""
        address = self.put(data) if data else 0
        ptr_out &= U32
        len_out &= U32
        if ptr_out + 4 > self.size or len_out + 4 > self.size:
            self._check(ptr_out, 4)
            self._check(len_out, 4)
        _WRITE_OUT(self.view, ptr_out, address, len_out, len(data))


def _encode_pairs(pairs: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Serialize a header/trailer/metadata map (reference §3.1); an empty map is b"" (written as (0, 0))."""
    count = len(pairs)
    if not count:
        return b""
    # One plain loop (list.append is specialised): fewer instructions than chain/map(len) pipelines.
    sizes = [count]
    parts = []
    for key, value in pairs:
        sizes.append(len(key))
        sizes.append(len(value))
        parts.append(key)
        parts.append(value)
    parts.append(b"")
    table = _SIZES.get(count)
    if table is None:
        table = _SIZES[count] = struct.Struct(f"<{2 * count + 1}I")
    return table.pack(*sizes) + b"\0".join(parts)


_SIZES: dict[int, struct.Struct] = {}  # the size table's format by pair count (a dict: cheaper than a cache call)


def _native() -> Any:
    """abi/_memory.c, the C versions of the accessors and of the encoder, when the compiled build is in use."""
    try:
        return importlib.import_module("abi._memory")
    except ImportError:
        return None


_C: Final = _native()
_READ: Final[Callable[[memoryview, int, int], bytes]] = _C.read if _C else _read
_WRITE: Final[Callable[[memoryview, int, bytes | bytearray | memoryview], None]] = _C.write if _C else _write
_WRITE_U32: Final[Callable[[memoryview, int, int], None]] = _C.write_u32 if _C else _pack_u32
_WRITE_OUT: Final[Callable[[memoryview, int, int, int, int], None]] = _C.write_out if _C else _write_out
encode_pairs: Final[Callable[[Sequence[tuple[bytes, bytes]]], bytes]] = _C.encode_pairs if _C else _encode_pairs


def decode_pairs(data: bytes | memoryview, max_bytes: int, max_count: int) -> Pairs:
    """Parse a guest-supplied map the way the C++ host does: anything malformed decodes to an empty list."""
    total = len(data)
    if total < 4 or total > max_bytes:
        return []
    (count,) = _U32.unpack_from(data, 0)
    if count > max_count or 4 + 8 * count > total:
        return []
    lengths = struct.unpack_from(f"<{2 * count}I", data, 4)
    pos = 4 + 8 * count
    pairs: Pairs = []
    raw = bytes(data)
    for i in range(count):
        klen = lengths[2 * i]
        vlen = lengths[2 * i + 1]
        vpos = pos + klen + 1
        end = vpos + vlen
        if end + 1 > total or raw[vpos - 1] != 0 or raw[end] != 0:
            return []
        pairs.append((raw[pos : vpos - 1], raw[vpos:end]))
        pos = end + 1
    return pairs if pos == total else []


def encode_list(items: Iterable[bytes]) -> bytes:
    """Envoy's list property encoding: pairs whose keys are the elements and values are empty."""
    return encode_pairs([(item, b"") for item in items])


def pack_u64(value: int) -> bytes:
    return _U64.pack(value & U64)


def pack_i64(value: int) -> bytes:
    return _I64.pack(value)
