"""The one background thread that does every access log write, so a slow disk never stalls the event loop.

Sinks hand it whole batches (bytes ending at a line boundary) for a ``LogFile``; it writes them in submission
order. Other work on files (reopening after rotation) goes through the same queue, so it happens between
batches, never during one. ``drain`` waits until everything handed over so far is done (used at close).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class LogFile:
    """A file descriptor the writer thread writes to; ``path`` is empty for stdout/stderr (never reopened)."""

    __slots__ = ("path", "fd")

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def open(cls, path: str) -> LogFile:
        return cls(path, _open(path))

    def reopen(self) -> None:
        """Writer thread only: start a new file at ``path`` (after logrotate moved the old one away)."""
        try:
            fd = _open(self.path)
        except OSError as exc:
            logger.warning("cannot reopen access log %s: %s; still writing the old file", self.path, exc.strerror)
            return
        os.close(self.fd)
        self.fd = fd

    def close(self) -> None:
        if self.path:
            os.close(self.fd)


def _open(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)


_Item = tuple[LogFile, bytes] | Callable[[], None]


class Writer:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, target: LogFile, data: bytes) -> None:
        self._ensure_started()
        self._queue.put((target, data))

    def call(self, work: Callable[[], None]) -> None:
        """Run ``work`` on the writer thread after the batches submitted so far."""
        self._ensure_started()
        self._queue.put(work)

    def drain(self, timeout: float = 5.0) -> bool:
        """Block until every batch submitted before this call is written; False on timeout."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done.set)
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
            if callable(item):
                item()
                continue
            target, data = item
            try:
                _write_all(target.fd, data)
            except OSError as exc:
                logger.warning("access log write failed (%s): %s; %d bytes lost", target.path, exc, len(data))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


WRITER = Writer()
