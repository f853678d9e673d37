"""The ``server.*`` stats Envoy publishes about the process itself; the server calls ``refresh`` periodically
(and the admin does before rendering) so that uptime and memory are current when read."""

from __future__ import annotations

import os
import time
from enum import Enum

from gateway.stats.store import Store

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class ServerState(Enum):
    """Envoy's ``server.state`` values; ``/ready`` and ``/server_info`` print the names."""

    LIVE = 0
    DRAINING = 1
    PRE_INITIALIZING = 2
    INITIALIZING = 3


class ServerStats:
    __slots__ = (
        "_start",
        "uptime",
        "live",
        "state",
        "concurrency",
        "memory_allocated",
        "memory_heap_size",
        "memory_physical_size",
    )

    def __init__(self, store: Store, start_time: float, concurrency: int = 1) -> None:
        self._start = start_time
        scope = store.scope("server.")
        self.uptime = scope.gauge("uptime")
        self.live = scope.gauge("live")
        self.state = scope.gauge("state")
        self.concurrency = scope.gauge("concurrency")
        self.memory_allocated = scope.gauge("memory_allocated")
        self.memory_heap_size = scope.gauge("memory_heap_size")
        self.memory_physical_size = scope.gauge("memory_physical_size")
        self.concurrency.set(concurrency)
        self.set_state(ServerState.PRE_INITIALIZING)

    def set_state(self, state: ServerState) -> None:
        self.state.set(state.value)
        self.live.set(1 if state is ServerState.LIVE else 0)

    def refresh(self, now: float | None = None) -> None:
        self.uptime.set(int((time.time() if now is None else now) - self._start))
        resident, data = _memory()
        self.memory_allocated.set(resident)
        self.memory_physical_size.set(resident)
        self.memory_heap_size.set(data)


def _memory() -> tuple[int, int]:
    """Resident and data+stack bytes from /proc (Linux); zeros elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as f:
            fields = f.read().split()
    except OSError:
        return 0, 0
    return int(fields[1]) * _PAGE_SIZE, int(fields[5]) * _PAGE_SIZE
