"""Typed errors of the proxy-wasm host; every foreign exception is translated to one of these."""

from __future__ import annotations

from enum import Enum


class AbiError(Exception):
    """Base of every error raised by `abi`."""


class PluginLoadError(AbiError):
    """A plugin cannot be accepted: bad wasm, unknown import, trap or refusal during start/configure."""

    def __init__(self, plugin: str, cause: str) -> None:
        super().__init__(f"wasm plugin {plugin!r}: {cause}")
        self.plugin = plugin
        self.cause = cause


class TrapKind(Enum):
    TRAP = "trap"  # the guest trapped (panic, unreachable, out of bounds, ...)
    DEADLINE = "deadline"  # the callback overran its CPU deadline
    MEMORY = "memory"  # the guest ran out of its memory limit
    HOST = "host"  # a host function failed unexpectedly (a bug on our side, contained like a trap)


class VmTrap(AbiError):
    """A guest call did not complete; the VM must not be called again."""

    def __init__(self, kind: TrapKind, message: str) -> None:
        super().__init__(f"{kind.value}: {message}")
        self.kind = kind
        self.message = message


class MemoryAccessError(AbiError):
    """A guest pointer/length pair outside linear memory (mapped to INVALID_MEMORY_ACCESS / EFAULT)."""


class GuestTrap(AbiError):
    """Raised by a host function to trap the guest on purpose (e.g. AssemblyScript `abort`)."""
