"""Process-wide shared key-value data (with CAS) and shared queues, scoped by vm_id (reference §12.2-12.3).

Every VM of the process (any worker thread) sees the same store, so access is under one lock. Queue
delivery goes through the registrant's `post`, which runs `proxy_on_queue_ready` on the registrant's own
thread — one notification per enqueue, as Envoy does.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from abi.types import Status

# Plain names: an enum member looked up through its class is a generic attribute read on every call.
_OK: Final = Status.OK
_NOT_FOUND: Final = Status.NOT_FOUND
_EMPTY: Final = Status.EMPTY
_CAS_MISMATCH: Final = Status.CAS_MISMATCH
_INTERNAL_FAILURE: Final = Status.INTERNAL_FAILURE


@dataclass
class _Queue:
    token: int
    items: deque[bytes] = field(default_factory=deque)
    # (post, notify): `post` schedules work on the registrant's thread, `notify(token)` calls the guest.
    notify: tuple[Callable[[Callable[[], None]], None], Callable[[int], None]] | None = None


class SharedStore:
    def __init__(self, max_bytes: int, max_queue_items: int) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[str, bytes], tuple[bytes, int]] = {}
        self._bytes = 0
        self._cas = 0
        self._max_bytes = max_bytes
        self._max_queue_items = max_queue_items
        self._queues: dict[tuple[str, bytes], _Queue] = {}
        self._by_token: dict[int, _Queue] = {}
        self._next_token = 0

    def _next_cas(self) -> int:
        self._cas = (self._cas + 1) & 0xFFFFFFFF or 1  # never 0: 0 means "no CAS" on set
        return self._cas

    def get(self, vm_id: str, key: bytes) -> tuple[bytes, int] | None:
        with self._lock:
            return self._data.get((vm_id, key))

    def set(self, vm_id: str, key: bytes, value: bytes, cas: int) -> Status:
        with self._lock:
            old = self._data.get((vm_id, key))
            if old is not None and cas and cas != old[1]:
                return _CAS_MISMATCH
            size = self._bytes + len(key) + len(value) - (len(key) + len(old[0]) if old else 0)
            if size > self._max_bytes:
                return _INTERNAL_FAILURE
            self._bytes = size
            self._data[(vm_id, key)] = (value, self._next_cas())
            return _OK

    def register_queue(
        self, vm_id: str, name: bytes, post: Callable[[Callable[[], None]], None], notify: Callable[[int], None]
    ) -> int:
        with self._lock:
            queue = self._queues.get((vm_id, name))
            if queue is None:
                self._next_token += 1
                queue = _Queue(self._next_token)
                self._queues[(vm_id, name)] = queue
                self._by_token[queue.token] = queue
            queue.notify = (post, notify)  # the latest registrant is notified
            return queue.token

    def resolve_queue(self, vm_id: str, name: bytes) -> int | None:
        with self._lock:
            queue = self._queues.get((vm_id, name))
            return queue.token if queue else None

    def enqueue(self, token: int, value: bytes) -> Status:
        with self._lock:
            queue = self._by_token.get(token)
            if queue is None:
                return _NOT_FOUND
            if len(queue.items) >= self._max_queue_items or self._bytes + len(value) > self._max_bytes:
                return _INTERNAL_FAILURE
            queue.items.append(value)
            self._bytes += len(value)  # queued bytes count against the same budget as shared data
            target = queue.notify
        if target is not None:
            post, notify = target
            post(lambda: notify(token))
        return _OK

    def dequeue(self, token: int) -> bytes | Status:
        with self._lock:
            queue = self._by_token.get(token)
            if queue is None:
                return _NOT_FOUND
            if not queue.items:
                return _EMPTY
            item = queue.items.popleft()
            self._bytes -= len(item)
            return item

    def unregister_notify(self, notify: Callable[[int], None]) -> None:
        """A root context went away: stop notifying it (its queues and their items stay)."""
        with self._lock:
            for queue in self._queues.values():
                if queue.notify is not None and queue.notify[1] == notify:
                    queue.notify = None
