"""Helpers for the abi tests: WAT fixtures compiled at test time, and `Probe`, which makes exact host calls
from inside the real probe module (tests/wasm/probe.wat) in a chosen context."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import wasmtime

from abi.context import Context
from abi.memory import U32
from abi.runtime import WasmVm
from abi.testing import Harness, Stream

WASM_DIR = Path(__file__).resolve().parents[1] / "wasm"
_compiled: dict[str, bytes] = {}


def wat(name: str) -> bytes:
    """tests/wasm/<name>.wat compiled to wasm (cached per session)."""
    if name not in _compiled:
        _compiled[name] = wasmtime.wat2wasm((WASM_DIR / f"{name}.wat").read_text())
    return _compiled[name]


class Probe:
    """The probe plugin loaded in a Harness, plus raw access to its guest memory."""

    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self._last_vm: WasmVm | None = None

    @property
    def vm(self) -> WasmVm:
        """The plugin's VM (the last one, once the plugin was closed)."""
        vm = self.h.plugin.vm or self._last_vm
        assert vm is not None
        self._last_vm = vm
        return vm

    def export(self, name: str, *args: int) -> int:
        func = self.vm.vm.export(name, len(args), 1)
        assert func is not None, name
        return self.vm.call(self.vm.vm_context, func, *args)

    def call(self, host_function: str, *args: int, ctx: Context | Stream | None = None) -> int:
        """Call `call_<host_function>` in the context `ctx` (a Stream means its context; default: the root)."""
        if isinstance(ctx, Stream):
            ctx = ctx.http._ctx
        context = ctx if ctx is not None else self.h.plugin.root
        assert context is not None
        signature = self.vm.vm.compiled.exports[f"call_{host_function}"]
        arity = signature.split(")")[0].count("i32")
        func = self.vm.vm.export(f"call_{host_function}", arity, 1)
        assert func is not None
        return self.vm.call(context, func, *[a & U32 for a in args]) & U32

    @property
    def memory(self) -> Any:
        return self.vm.vm.memory

    def put(self, data: bytes) -> int:
        return int(self.memory.put(data)) if data else 0

    def out(self, size: int = 8) -> int:
        """Scratch space for out-parameters, filled with 0xAA so untouched bytes show."""
        return self.put(b"\xaa" * size)

    def u32(self, ptr: int) -> int:
        return int(self.memory.read_u32(ptr))

    def u64(self, ptr: int) -> int:
        return int(struct.unpack("<Q", self.memory.read(ptr, 8))[0])

    def read(self, ptr: int, size: int) -> bytes:
        return bytes(self.memory.read(ptr, size))

    def out_buf(self, pair: int) -> bytes | None:
        """The bytes an "out buf" pair at `pair` points to; None when (0, 0) was written."""
        address, length = self.u32(pair), self.u32(pair + 4)
        if address == 0 and length == 0:
            return None
        return self.read(address, length)

    def events(self) -> list[tuple[str, int, int]]:
        """Callbacks the guest saw, in order: (name without proxy_on_, context id, second argument)."""
        count = self.export("event_count")
        names = {1024 + 32 * i: n for i, n in enumerate(_CALLBACK_NAMES)}
        result = []
        for i in range(count):
            at = 4096 + 12 * i
            result.append((names[self.u32(at)], self.u32(at + 4), self.u32(at + 8)))
        return result

    def event_names(self) -> list[str]:
        return [name for name, _, _ in self.events()]


_CALLBACK_NAMES = [
    "context_create",
    "vm_start",
    "configure",
    "tick",
    "queue_ready",
    "foreign_function",
    "done",
    "log",
    "delete",
    "request_headers",
    "request_body",
    "request_trailers",
    "response_headers",
    "response_body",
    "response_trailers",
    "http_call_response",
]


GET = {":method": "GET", ":path": "/p?q=1", ":authority": "example.com", ":scheme": "http"}
