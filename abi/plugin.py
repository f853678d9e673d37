"""Plugins: one configured plugin (root context) per worker, its VM, and the failure policy across streams.

A `Plugin` is accepted only once a VM started and configured it (`validate_plugin` runs Envoy's throwaway
canary the same way). A VM failure later fails only the streams that were on it (see `abi.stream`), and the
next stream gets a rebuilt VM — immediately after one failure, then with exponential backoff while failures
repeat (streams arriving during the backoff fail per the policy). A stream that completes cleanly resets it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from abi.context import RootContext
from abi.errors import PluginLoadError, VmTrap
from abi.host import PluginFailure, PluginHost, StreamHost
from abi.limits import DEFAULT_LIMITS, Limits
from abi.runtime import VmRegistry, VmSpec, WasmVm, load_module
from abi.stream import FAIL_DETAILS, HttpStream
from abi.types import (
    FailurePolicy,
    LogLevel,
)
from abi.vm import CompiledModule

log = logging.getLogger("abi")


@dataclass(frozen=True)
class PluginConfig:
    """Envoy's `PluginConfig`/`VmConfig` fields that matter to the host."""

    name: str
    root_id: str = ""
    vm_id: str = ""
    configuration: bytes = b""
    vm_configuration: bytes = b""
    environment: Mapping[str, str] = field(default_factory=dict)
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED
    allow_on_headers_stop_iteration: bool = False
    limits: Limits = DEFAULT_LIMITS

    def vm_spec(self) -> VmSpec:
        return VmSpec(self.vm_id, self.vm_configuration, tuple(sorted(self.environment.items())), self.limits)


@dataclass
class PluginStats:
    vm_failures: int = 0  # traps, deadline overruns, memory exhaustion, host errors
    vm_rebuilds: int = 0
    rebuild_failures: int = 0
    streams_failed_closed: int = 0
    streams_failed_open: int = 0
    last_failure: PluginFailure | None = None


class Plugin:
    """One plugin in one worker. Construction starts and configures it, or raises PluginLoadError."""

    def __init__(
        self, module: CompiledModule, config: PluginConfig, host: PluginHost, registry: VmRegistry | None = None
    ) -> None:
        self.module = module
        self.config = config
        self.host = host
        self.registry = registry or VmRegistry()
        self.stats = PluginStats()
        self._consecutive_failures = 0
        self._retry_at_ns = 0
        self.vm: WasmVm | None = None
        self.root: RootContext | None = None
        self.fail_open = config.failure_policy == FailurePolicy.FAIL_OPEN
        # Which stream callbacks the module exports (`abi.stream` indexes), whether it learns of new
        # contexts, and so which phases of a new stream make its context: a stream skips whatever the guest
        # cannot see.
        self.exports: tuple[bool, ...] = ()
        self.creates_contexts = False
        self.makes_context: tuple[bool, ...] = ()
        self._attach()

    def _attach(self) -> tuple[WasmVm, RootContext]:
        config = self.config
        try:
            vm = self.registry.get(self.module, config.vm_spec(), self.host)
        except VmTrap as trap:
            raise PluginLoadError(config.name, f"VM start failed ({trap.kind.value}): {trap.message}") from None
        root = self.root = vm.add_root(config.name, config.root_id, config.configuration, self.host, self)
        self.vm = vm
        self.exports = tuple(func is not None for func in vm.stream_callbacks)
        self.creates_contexts = vm.context_create is not None
        self.makes_context = tuple(exported or self.creates_contexts for exported in self.exports)
        return vm, root

    def vm_failed(self, failure: PluginFailure) -> None:
        """Called by the VM when it dies (already logged)."""
        self.stats.vm_failures += 1
        self.stats.last_failure = failure
        self._consecutive_failures += 1
        backoff = 0.0
        if self._consecutive_failures > 1:
            limits = self.config.limits
            backoff = min(
                limits.reload_backoff_base_s * 2 ** (self._consecutive_failures - 2), limits.reload_backoff_max_s
            )
        self._retry_at_ns = self.host.monotonic_ns() + int(backoff * 1e9)

    def live_vm(self) -> tuple[WasmVm, RootContext] | None:
        """The healthy VM and root for a new stream, rebuilding a failed one once its backoff expired."""
        vm, root = self.vm, self.root
        if vm is not None and root is not None and vm.alive(root):
            return vm, root
        if self.host.monotonic_ns() < self._retry_at_ns:
            return None
        self.vm = self.root = None
        try:
            live = self._attach()  # (returned, not read back: mypy would take `self.vm` for the None set above)
        except PluginLoadError as exc:
            log.error("%s", exc)
            self.stats.rebuild_failures += 1
            self.vm_failed(PluginFailure(self.config.name, "trap", exc.cause, "rebuild"))
            return None
        self.stats.vm_rebuilds += 1
        return live

    def stream_succeeded(self) -> None:
        self._consecutive_failures = 0

    def new_stream(self, host: StreamHost) -> HttpStream:
        return HttpStream(self, host)

    def close(self) -> None:
        """Shut the plugin down: proxy_on_done/proxy_on_delete of its root (unless the VM is dead). Close it
        once its streams ended (Envoy drains them on the old configuration); a stream still running on a
        closed VM is failed per the policy."""
        vm, root = self.vm, self.root
        self.vm = self.root = None
        if vm is not None and root is not None:
            vm.remove_root(root)
            self.registry.release(vm)


def validate_plugin(code: bytes | bytearray, config: PluginConfig, host: PluginHost | None = None) -> CompiledModule:
    """Accept a plugin config only if a throwaway VM compiles, starts and configures it (Envoy's canary).
    Raises PluginLoadError naming the plugin and the cause; returns the compiled module for reuse."""
    module = load_module(code, config.name)
    canary = Plugin(module, config, host or _QuietHost(), VmRegistry())
    canary.close()
    return module


class _QuietHost(PluginHost):
    """The canary's host: the canary's log lines are not the plugin's traffic."""

    def log(self, level: LogLevel, message: str) -> None:
        log.debug("wasm canary: %s", message)


__all__ = ["FAIL_DETAILS", "HttpStream", "Plugin", "PluginConfig", "PluginStats", "validate_plugin"]
