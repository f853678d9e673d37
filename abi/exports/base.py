"""Helpers to declare host functions: `env` imports answer INVALID_MEMORY_ACCESS on a bad pointer,
WASI imports answer EFAULT, and WASI functions are registered under both of their module names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from abi.types import Status
from abi.vm import HostFunction

WASI_MODULES = ("wasi_snapshot_preview1", "wasi_unstable")
WASI_FAULT = 21


def env(name: str, params: str, impl: Callable[..., Any], results: str = "i") -> HostFunction:
    return HostFunction("env", name, params, results, impl, Status.INVALID_MEMORY_ACCESS)


def wasi(name: str, params: str, impl: Callable[..., Any], results: str = "i") -> list[HostFunction]:
    return [HostFunction(module, name, params, results, impl, WASI_FAULT) for module in WASI_MODULES]
