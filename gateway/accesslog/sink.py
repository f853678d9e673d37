"""Buffered sinks: lines collect in memory on the event loop and go to the writer thread as one batch a second
(or sooner when the buffer passes 64 KiB), and at ``close``. Without a running loop a line is handed over at once.
"""

from __future__ import annotations

import asyncio
import os

from gateway.accesslog.writer import WRITER, Writer

FLUSH_INTERVAL_S = 1.0
FLUSH_BYTES = 64 * 1024


class Sink:
    """Lines for one file descriptor. ``owns_fd``: close it on ``close`` (files we opened, not stdout/stderr)."""

    __slots__ = ("name", "_fd", "_owns_fd", "_writer", "_lines", "_size", "_timer", "_closed")

    def __init__(self, name: str, fd: int, owns_fd: bool, writer: Writer = WRITER) -> None:
        self.name = name
        self._fd = fd
        self._owns_fd = owns_fd
        self._writer = writer
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    @classmethod
    def open_file(cls, path: str) -> Sink:
        """Open (create, append) at config time, so a bad path fails the config, not the first request."""
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        return cls(path, fd, owns_fd=True)

    def write(self, line: str) -> None:
        if self._closed:
            return
        self._lines.append(line)
        self._size += len(line)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(FLUSH_INTERVAL_S, self.flush)

    def flush(self) -> None:
        """Hand what is buffered to the writer thread (returns at once)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        data = "".join(self._lines).encode("utf-8", "surrogateescape")
        self._lines.clear()
        self._size = 0
        self._writer.submit(self._fd, data)

    def close(self) -> None:
        """Flush, wait for the writer to finish this sink's batches, release the file. Idempotent."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._writer.drain()
        if self._owns_fd:
            os.close(self._fd)
