"""A running plugin VM: ABI detection, start functions, root contexts, timers, callouts and queues.

`WasmVm` is one instance shared by every plugin with the same vm_id + code + VM configuration in a worker
(`VmRegistry`). Bring-up follows the C++ host (reference §6.1): instantiate (start section), `_initialize`
(+ `main(0, 0)` or `__main_void`) or else `_start`; then per plugin `proxy_on_context_create(root, 0)`,
`proxy_on_vm_start`, `proxy_on_configure`. Once any guest call fails (trap, deadline, memory, host error)
the VM is dead: every live stream on it is told (`StreamOwner.vm_failed`), each attached plugin counts and
reports it, and the registry hands out a fresh VM to the next caller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from abi.cache import ModuleCache
from abi.context import AbiState, Context, RootContext, StreamContext
from abi.errors import PluginLoadError, VmTrap
from abi.exports import HOST_FUNCTIONS, VARIANTS
from abi.host import HttpCallRequest, HttpCallResponse, PluginFailure, PluginHost
from abi.limits import EPOCH_TICK_MS, MAX_QUEUE_ITEMS, MAX_SHARED_DATA_BYTES, Limits
from abi.shared import SharedStore
from abi.types import AbiVersion, LogLevel, Status
from abi.vm import CompiledModule, GuestFunc, WasmEngine

log = logging.getLogger("abi")

_MARKERS = {
    "proxy_abi_version_0_1_0": AbiVersion.V0_1_0,
    "proxy_abi_version_0_2_0": AbiVersion.V0_2_0,
    "proxy_abi_version_0_2_1": AbiVersion.V0_2_1,
}

# Callbacks and their arity (all i32 -> i32 or nothing). Headers callbacks lose end_of_stream in 0.1.0.
_CALLBACKS: dict[str, tuple[int, int]] = {
    "proxy_on_context_create": (2, 0),
    "proxy_on_vm_start": (2, 1),
    "proxy_on_configure": (2, 1),
    "proxy_on_tick": (1, 0),
    "proxy_on_queue_ready": (2, 0),
    "proxy_on_foreign_function": (3, 0),
    "proxy_on_done": (1, 1),
    "proxy_on_log": (1, 0),
    "proxy_on_delete": (1, 0),
    "proxy_on_request_headers": (3, 1),
    "proxy_on_request_body": (3, 1),
    "proxy_on_request_trailers": (2, 1),
    "proxy_on_response_headers": (3, 1),
    "proxy_on_response_body": (3, 1),
    "proxy_on_response_trailers": (2, 1),
    "proxy_on_http_call_response": (5, 0),
}

# A stream's callbacks, in the order of `WasmVm.stream_callbacks` (indexed by the `abi.stream` constants).
STREAM_CALLBACKS = (
    "proxy_on_request_headers",
    "proxy_on_request_body",
    "proxy_on_request_trailers",
    "proxy_on_response_headers",
    "proxy_on_response_body",
    "proxy_on_response_trailers",
    "proxy_on_log",
    "proxy_on_done",
    "proxy_on_delete",
)

_engine: WasmEngine | None = None
_engine_lock = threading.Lock()
SHARED = SharedStore(MAX_SHARED_DATA_BYTES, MAX_QUEUE_ITEMS)


def default_engine() -> WasmEngine:
    """The process-wide engine (compile cache in $XDG_CACHE_HOME/gateway/wasm unless configured)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = WasmEngine(HOST_FUNCTIONS, ModuleCache(ModuleCache.default_directory()), EPOCH_TICK_MS, VARIANTS)
        return _engine


def configure_engine(cache_dir: str | None, epoch_tick_ms: int = EPOCH_TICK_MS) -> WasmEngine:
    """Replace the process-wide engine (call before loading plugins); `cache_dir=None` disables the cache."""
    global _engine
    from pathlib import Path

    with _engine_lock:
        _engine = WasmEngine(
            HOST_FUNCTIONS, ModuleCache(Path(cache_dir) if cache_dir else None), epoch_tick_ms, VARIANTS
        )
        return _engine


def load_module(code: bytes | bytearray, plugin: str, engine: WasmEngine | None = None) -> CompiledModule:
    """Compile (or load from cache) and check a proxy-wasm module: ABI marker, allocator, imports."""
    try:
        module = (engine or default_engine()).compile(code)
    except ValueError as exc:
        raise PluginLoadError(plugin, str(exc)) from None
    if not any(name in module.exports for name in _MARKERS):
        raise PluginLoadError(
            plugin, "missing or unknown proxy-wasm ABI version (export proxy_abi_version_0_2_1, _0_2_0 or _0_1_0)"
        )
    if "proxy_on_memory_allocate" not in module.exports and "malloc" not in module.exports:
        raise PluginLoadError(plugin, "the module exports no allocator (proxy_on_memory_allocate or malloc)")
    if "memory" not in module.exports:
        raise PluginLoadError(plugin, "the module exports no memory")
    return module


def abi_version(module: CompiledModule) -> AbiVersion:
    return next(version for name, version in _MARKERS.items() if name in module.exports)


class FailureListener(Protocol):
    def vm_failed(self, failure: PluginFailure) -> None: ...


@dataclass(frozen=True, slots=True)
class VmSpec:
    vm_id: str
    vm_configuration: bytes
    environment: tuple[tuple[str, str], ...]
    limits: Limits


class WasmVm(AbiState):
    def __init__(
        self, module: CompiledModule, spec: VmSpec, default_host: PluginHost, shared: SharedStore = SHARED
    ) -> None:
        super().__init__(
            abi_version(module), spec.limits, spec.vm_id, spec.vm_configuration, dict(spec.environment), shared
        )
        self._default_host = default_host
        self.listeners: list[tuple[RootContext, FailureListener]] = []
        self._notifiers: dict[int, Callable[[int], None]] = {}
        self.vm = module.instantiate(self, spec.limits.max_memory_bytes, spec.limits.start_deadline_ms)
        # Only the callbacks the module exports (with the right signature): an absent one costs nothing.
        self.callbacks: dict[str, GuestFunc] = {}
        for name, (params, results) in _CALLBACKS.items():
            if self.abi_version == AbiVersion.V0_1_0 and name.endswith("_headers"):
                params = 2
            if self.abi_version == AbiVersion.V0_1_0 and name == "proxy_on_foreign_function":
                continue
            func = self.vm.export(name, params, results)
            if func is not None:
                self.callbacks[name] = func
        self.stream_callbacks = tuple(self.callbacks.get(name) for name in STREAM_CALLBACKS)
        self.context_create = self.callbacks.get("proxy_on_context_create")
        self.headers_end_of_stream = self.abi_version != AbiVersion.V0_1_0  # 0.1.0 headers callbacks lack it
        # The spec's order: proxy_on_memory_allocate first, the deprecated malloc as fallback.
        allocator = self.vm.export("proxy_on_memory_allocate", 1, 1) or self.vm.export("malloc", 1, 1)
        if allocator is not None and self.vm.memory is not None:
            self.vm.memory.set_allocator(allocator.nested)
        self._start()
        self.vm.set_deadline(spec.limits.callback_deadline_ms)

    @property
    def default_host(self) -> PluginHost:
        return self._default_host

    def _start(self) -> None:
        vm = self.vm
        initialize = vm.export("_initialize", 0, 0)
        if initialize is not None:
            self.call(self.vm_context, initialize)
            main = vm.export("main", 2, 1)
            main_void = vm.export("__main_void", 0, 1)
            if main is not None:
                self.call(self.vm_context, main, 0, 0)
            elif main_void is not None:
                self.call(self.vm_context, main_void)
        else:
            start = vm.export("_start", 0, 0)
            if start is not None:
                self.call(self.vm_context, start)

    # -- root contexts ------------------------------------------------------------------------------

    def add_root(
        self, name: str, root_id: str, configuration: bytes, host: PluginHost, listener: FailureListener
    ) -> RootContext:
        """Create and configure one plugin's root context; PluginLoadError if it refuses or traps."""
        root = RootContext(self.new_id(), name, root_id, self.vm_id, configuration, host)
        self.contexts[root.id] = root
        self.listeners.append((root, listener))
        self.vm.set_deadline(self.limits.start_deadline_ms)
        try:
            # The plugin configuration is readable during the root's creation too (C++ SDK, AssemblyScript).
            root.configuring = True
            self._callback(root, "proxy_on_context_create", root.id, 0)
            root.configuring = False
            if not self._callback(root, "proxy_on_vm_start", root.id, len(self.vm_configuration), default=1):
                raise PluginLoadError(name, "proxy_on_vm_start returned false")
            root.configuring = True
            ok = self._callback(root, "proxy_on_configure", root.id, len(configuration), default=1)
            root.configuring = False
            if not ok:
                raise PluginLoadError(name, "proxy_on_configure returned false (configuration rejected)")
        except VmTrap as trap:
            self._forget(root)
            raise PluginLoadError(name, f"{trap.kind.value} during start/configure: {trap.message}") from None
        except PluginLoadError:
            self._forget(root)
            raise
        finally:
            root.configuring = False
            self.vm.set_deadline(self.limits.callback_deadline_ms)
        return root

    def _forget(self, root: RootContext) -> None:
        """A root whose plugin was refused: no callbacks, no failure reports for it any more."""
        self.contexts.pop(root.id, None)
        self.listeners = [(r, listener) for r, listener in self.listeners if r is not root]
        self._cancel_timer(root)

    def remove_root(self, root: RootContext) -> None:
        """Envoy's shutdown of a plugin: proxy_on_done; delete now, or once the plugin calls proxy_done."""
        self.listeners = [(r, listener) for r, listener in self.listeners if r is not root]
        self._cancel_timer(root)
        notify = self._notifiers.pop(root.id, None)
        if notify is not None:
            self.shared.unregister_notify(notify)
        if root.id not in self.contexts or self.vm.failed is not None:
            return
        if self.guarded(root, "proxy_on_done", root.id, default=1) == 0:
            root.pending_done = True
        else:
            self.finish_root(root)

    def finish_root(self, root: RootContext) -> None:
        root.pending_done = False
        self.guarded(root, "proxy_on_delete", root.id)
        self.contexts.pop(root.id, None)

    # -- calling the guest --------------------------------------------------------------------------

    def _callback(self, context: Context, name: str, *args: int, default: int = 0) -> int:
        """Call a callback if exported (absent = the permissive `default`). Raises VmTrap."""
        func = self.callbacks.get(name)
        if func is None:
            return default
        return self.call(context, func, *args)

    def guarded(self, context: Context, name: str, *args: int, default: int = 0) -> int | None:
        """Like `_callback`, but a failure is handled here (reported, streams told); returns None then."""
        func = self.callbacks.get(name)
        if func is None:
            return default if self.vm.failed is None else None
        return self.run(context, func, args)

    def run(self, context: Context, func: GuestFunc, args: tuple[int, ...]) -> int | None:
        """Call `func` for `context`, handling a failure here (reported, streams told): None then.
        (`AbiState.call` inlined: this is every stream callback's path.)"""
        vm = self.vm
        if vm.failed is not None:
            return None
        current, effective = self.current, self.effective
        self.current = context
        self.effective = None
        try:
            return func.call_with(args)
        except VmTrap as trap:
            failure = trap
        finally:
            self.current = current
            self.effective = effective
            if not vm.depth:
                self.returned()
        self.fail(failure, func.name)
        return None

    def fail(self, trap: VmTrap, phase: str) -> None:
        """Report a dead VM once per attached plugin and tell every live stream on it."""
        for root, listener in self.listeners:
            failure = PluginFailure(root.name, trap.kind.value, trap.message, phase)
            log.error(
                "wasm plugin %r (vm %r) failed in %s: %s: %s",
                root.name,
                self.vm_id,
                phase,
                trap.kind.value,
                trap.message,
            )
            listener.vm_failed(failure)
            root.host.plugin_failed(failure)
            self._cancel_timer(root)
        streams = [c for c in self.contexts.values() if isinstance(c, StreamContext)]
        self.contexts.clear()
        for stream in streams:
            stream.owner.vm_failed()
        self.vm.close()

    def alive(self, context: Context) -> bool:
        return self.vm.failed is None and self.contexts.get(context.id) is context

    # -- AbiState services --------------------------------------------------------------------------

    def log(self, level: LogLevel, message: str) -> None:
        self.plugin_host().log(level, message)

    def set_tick_period(self, root: RootContext, period_ms: int) -> None:
        self._cancel_timer(root)
        root.tick_period_ms = period_ms
        if period_ms:
            self._arm(root)

    def _arm(self, root: RootContext) -> None:
        def tick() -> None:
            root.timer = None
            if not self.alive(root) or not root.tick_period_ms:
                return
            self.guarded(root, "proxy_on_tick", root.id)
            if root.timer is None and root.tick_period_ms and self.alive(root):
                self._arm(root)  # one-shot re-armed after the callback, as Envoy does

        root.timer = root.host.call_later(root.tick_period_ms / 1000, tick)

    def _cancel_timer(self, root: RootContext) -> None:
        timer, root.timer = root.timer, None
        if timer is not None:
            timer.cancel()  # type: ignore[attr-defined]

    def http_call(self, root: RootContext, request: HttpCallRequest) -> tuple[Status, int]:
        if len(root.http_calls) >= self.limits.max_http_calls:
            return Status.INTERNAL_FAILURE, 0
        self.next_token += 4
        token = self.next_token
        delivered = False

        def on_response(response: HttpCallResponse | None) -> None:
            nonlocal delivered
            if delivered:
                return
            delivered = True
            if self.vm.depth:  # never re-enter the guest: deliver after the current call returns
                self.defer(lambda: self._deliver(root, token, response))
            else:
                self._deliver(root, token, response)

        root.http_calls.add(token)
        status = root.host.http_call(request, on_response)
        if status != Status.OK:
            root.http_calls.discard(token)
            delivered = True
        return status, token

    def _deliver(self, root: RootContext, token: int, response: HttpCallResponse | None) -> None:
        root.http_calls.discard(token)
        if not self.alive(root):
            return
        if response is None:
            root.status = (Status.BROKEN_CONNECTION, b"reset")
            self.guarded(root, "proxy_on_http_call_response", root.id, token, 0, 0, 0)
            return
        self.callout = response  # maps 6/7 and buffer 4 exist only during this callback
        self.guarded(
            root,
            "proxy_on_http_call_response",
            root.id,
            token,
            len(response.headers),
            len(response.body),
            len(response.trailers),
        )

    def queue_notifier(self, root: RootContext) -> Callable[[int], None]:
        notify = self._notifiers.get(root.id)
        if notify is None:

            def notify(token: int) -> None:
                if self.alive(root):
                    self.guarded(root, "proxy_on_queue_ready", root.id, token)

            self._notifiers[root.id] = notify
        return notify

    def call_foreign(self, context: Context, function_id: int, arguments: bytes) -> None:
        """Deliver `proxy_on_foreign_function` (0.2.x) with the arguments readable as buffer 8."""
        self.foreign_args = arguments
        self.guarded(context, "proxy_on_foreign_function", context.id, function_id, len(arguments))


class VmRegistry:
    """One live VM per (vm_id, code hash, VM configuration) per worker; a failed one is replaced."""

    def __init__(self) -> None:
        self._vms: dict[tuple[str, str, VmSpec], WasmVm] = {}

    def get(self, module: CompiledModule, spec: VmSpec, default_host: PluginHost) -> WasmVm:
        key = (spec.vm_id, module.sha256, spec)
        vm = self._vms.get(key)
        if vm is None or vm.vm.failed is not None:
            vm = WasmVm(module, spec, default_host)
            self._vms[key] = vm
        return vm

    def release(self, vm: WasmVm) -> None:
        """Drop a VM nobody uses any more."""
        if not vm.listeners and not any(isinstance(c, RootContext) for c in vm.contexts.values()):
            for key, value in list(self._vms.items()):
                if value is vm:
                    del self._vms[key]
            vm.vm.close()
