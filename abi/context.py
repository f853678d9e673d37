"""Per-VM state that host functions act on: contexts, the current/effective context, deferred effects.

Context ids come from one counter per VM starting at 1 (0 is the VM context used by start functions and
the allocator). Each entry into the guest (`AbiState.call`) makes the called context current, resets the
effective context (reference §6.5) and restores both on return. Effects that would call back into the
guest (resume, close, local reply, `proxy_done`, queued deliveries) are deferred until the outermost guest
call returns (§6.6), so a plugin is never re-entered from inside one of its own host calls.

Map and buffer availability follows Envoy (§8.3): a stream exposes the maps/body of the callback running
now, or of the phase it is paused in; once that phase continues they are gone.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from abi.errors import MemoryAccessError
from abi.host import HttpCallRequest, HttpCallResponse, LocalReply, MetricSink, Pairs, PluginHost, StreamHost
from abi.limits import Limits
from abi.memory import GuestMemory
from abi.shared import SharedStore
from abi.types import AbiVersion, LogLevel, MetricType, Status

if TYPE_CHECKING:
    from abi.vm import GuestFunc, Vm

log = logging.getLogger("abi")


class Context:
    __slots__ = ("id", "root")

    def __init__(self, context_id: int, root: RootContext | None) -> None:
        self.id = context_id
        # A stream's plugin; a root context's is itself; the VM context (id 0, start functions) belongs to no
        # plugin and its root is itself too, a plain Context (hence the union: the compiled build checks it).
        self.root: RootContext | Context = root if root is not None else self


class RootContext(Context):
    """One plugin (root_id) in a VM: configuration, timers, callouts, the last callout status."""

    __slots__ = (
        "configuration",
        "configuring",
        "host",
        "http_calls",
        "name",
        "pending_done",
        "root_id",
        "status",
        "tick_period_ms",
        "timer",
        "vm_id",
    )

    def __init__(
        self, context_id: int, name: str, root_id: str, vm_id: str, configuration: bytes, host: PluginHost
    ) -> None:
        super().__init__(context_id, None)
        self.name = name
        self.root_id = root_id
        self.vm_id = vm_id
        self.configuration = configuration
        self.configuring = False
        self.host = host
        self.tick_period_ms = 0
        self.timer: object | None = None
        self.http_calls: set[int] = set()
        self.status: tuple[int, bytes] = (0, b"")
        self.pending_done = False


class Body:
    """A direction's body as the plugin sees it: `held` bytes not yet forwarded, the plugin's window
    starting at `start`, whether the plugin may touch it now, and the plugin's last answer for it
    (`FilterDataStatus`: whether the next window shows the whole accumulated body)."""

    __slots__ = ("available", "held", "mode", "start")

    def __init__(self) -> None:
        self.held = bytearray()
        self.start = 0
        self.available = False
        self.mode = 0

    def window(self) -> memoryview:
        return memoryview(self.held)[self.start :]


class StreamOwner(Protocol):
    """The plugin-layer object behind a stream context; receives the deferred stream effects."""

    def resume(self, direction: int) -> None: ...
    def close(self) -> None: ...
    def local_reply(self, reply: LocalReply) -> None: ...
    def vm_failed(self) -> None: ...


class StreamContext(Context):
    """One HTTP stream: the maps and bodies currently exposed, and its filter state."""

    __slots__ = (
        "bodies",
        "filter_state",
        "host",
        "local_reply",
        "logging",
        "maps",
        "owner",
        "reply_pending",
        "writable",
    )

    def __init__(self, context_id: int, root: RootContext, host: StreamHost, owner: StreamOwner) -> None:
        self.id = context_id  # (Context's fields set here: one frame less per stream)
        self.root = root
        self.host = host
        self.owner = owner
        self.maps: dict[int, Pairs] = {}  # readable now, by MapType value
        self.writable = 0  # the maps the plugin may change now: bit 1 << MapType value
        self.bodies: tuple[Body, Body] | None = None  # request, response; made by the first `body()`
        self.local_reply = 0  # proxy_send_local_response calls so far (a callback compares before/after)
        self.reply_pending = False  # a reply waits for the callback to return; later ones are ignored
        self.filter_state: dict[bytes, bytes] | None = None  # proxy_set_property values; made by the first
        self.logging = False  # in proxy_on_log: a map the stream never had is NOT_FOUND, not unavailable

    def expose(self, map_type: int, pairs: Pairs) -> None:
        """Make a stream map readable and writable for the phase now running."""
        self.maps[map_type] = pairs
        self.writable |= 1 << map_type

    def withdraw(self, map_type: int) -> None:
        """The phase continued: its map is gone for the plugin (Envoy)."""
        self.maps.pop(map_type, None)
        self.writable &= ~(1 << map_type)

    def body(self, direction: int) -> Body:
        bodies = self.bodies
        if bodies is None:
            bodies = self.bodies = (Body(), Body())
        return bodies[direction]


class AbiState(ABC):
    """Everything the export shims need, attached to a `Vm` as its `env`. The plugin layer implements
    the abstract methods (it owns scheduling and the guest callbacks)."""

    def __init__(
        self,
        abi_version: AbiVersion,
        limits: Limits,
        vm_id: str,
        vm_configuration: bytes,
        environment: dict[str, str],
        shared: SharedStore,
    ) -> None:
        self.vm: Vm
        self.abi_version = abi_version
        self.limits = limits
        self.vm_id = vm_id
        self.vm_configuration = vm_configuration
        self.environment = environment
        self.shared = shared
        self.contexts: dict[int, Context] = {}
        self.vm_context = Context(0, None)
        self.current: Context = self.vm_context
        self.effective: Context | None = None
        self.next_context_id = 1
        self.deferred: list[Callable[[], None]] = []
        self.callout: HttpCallResponse | None = None  # exposed only during proxy_on_http_call_response
        self.foreign_args: bytes | None = None
        self.next_token = 0  # HTTP callout tokens ≡ 0 (mod 4), first is 4 (C++ host numbering)
        self.metrics: dict[int, tuple[MetricType, MetricSink]] = {}
        self.metric_sinks: dict[tuple[MetricType, str], MetricSink] = {}
        self.next_metric = [0, 1, 2]  # per type; ids ≡ type (mod 4), first 4, 5, 6

    @property
    def memory(self) -> GuestMemory:
        memory = self.vm.memory
        if memory is None:
            raise MemoryAccessError("the plugin exports no memory")
        return memory

    def ctx(self) -> Context:
        """The context host calls act on: the effective one if set and still alive, else the current."""
        effective = self.effective
        if effective is not None and effective.id in self.contexts:
            return effective
        return self.current

    def root(self) -> RootContext | None:
        root = self.ctx().root
        return root if isinstance(root, RootContext) else None  # (only the VM context's root is none)

    def plugin_host(self) -> PluginHost:
        """The host of the calling plugin; before any root exists (start functions), the VM's first host."""
        root = self.root()
        return root.host if root is not None else self.default_host

    def stream(self) -> StreamContext | None:
        context = self.current if self.effective is None else self.ctx()
        return context if isinstance(context, StreamContext) else None

    def new_id(self) -> int:
        context_id = self.next_context_id
        self.next_context_id += 1
        return context_id

    def defer(self, action: Callable[[], None]) -> None:
        self.deferred.append(action)

    def call(self, context: Context, func: GuestFunc, *args: int) -> int:
        """Enter the guest for `context`; run deferred effects once the outermost call has returned."""
        current, effective = self.current, self.effective
        self.current = context
        self.effective = None
        try:
            return func.call_with(args)
        finally:
            self.current = current
            self.effective = effective
            if not self.vm.depth:
                self.returned()

    def returned(self) -> None:
        """The outermost guest call returned: the callout is gone, deferred effects run (or, after a
        failure, never happen)."""
        self.callout = None
        if self.deferred:
            if self.vm.failed is not None:
                self.deferred.clear()
            else:
                self.run_deferred()

    def run_deferred(self) -> None:
        while self.deferred:
            action = self.deferred.pop(0)
            try:
                action()
            except Exception:  # an embedder bug must not take the other effects (or the process) down
                log.exception("deferred wasm action failed")

    def environ_entries(self) -> list[bytes]:
        return [f"{key}={value}\0".encode() for key, value in self.environment.items()]

    @abstractmethod
    def log(self, level: LogLevel, message: str) -> None: ...

    @abstractmethod
    def set_tick_period(self, root: RootContext, period_ms: int) -> None: ...

    @abstractmethod
    def finish_root(self, root: RootContext) -> None:
        """`proxy_done` from a root that was pending: delete it now."""

    @abstractmethod
    def http_call(self, root: RootContext, request: HttpCallRequest) -> tuple[Status, int]: ...

    @abstractmethod
    def queue_notifier(self, root: RootContext) -> Callable[[int], None]:
        """The callable that delivers `proxy_on_queue_ready(root, token)` (same object per root)."""

    @property
    @abstractmethod
    def default_host(self) -> PluginHost:
        """Clock and log for host calls made before any root context exists (start functions)."""
