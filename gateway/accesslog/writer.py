"""The one background thread that does every access log write, so a slow disk never stalls the event loop.

Sinks hand it whole batches (bytes ending at a line boundary) for a file descriptor; it writes them in order.
``drain`` waits until everything handed over so far is on its way to the kernel (used at close).
"""

from __future__ import annotations

import logging
import os
import queue
import threading

logger = logging.getLogger(__name__)

_Item = tuple[int, bytes] | threading.Event


class Writer:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, fd: int, data: bytes) -> None:
        self._ensure_started()
        self._queue.put((fd, data))

    def drain(self, timeout: float = 5.0) -> bool:
        """Block until every batch submitted before this call is written; False on timeout."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                # A daemon: a process that exits without closing its logs must not hang on this thread.
                self._thread = threading.Thread(target=self._run, name="access-log-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            fd, data = item
            try:
                _write_all(fd, data)
            except OSError as exc:
                logger.warning("access log write failed (fd %d): %s; %d bytes lost", fd, exc, len(data))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


WRITER = Writer()
