"""Buffered sinks: lines collect in memory on the event loop and go to the writer thread as one batch a second
(or sooner when the buffer passes 64 KiB), and at ``close``. Without a running loop a line is handed over at once.
"""

from __future__ import annotations

import asyncio

from gateway.accesslog.writer import WRITER, LogFile, Writer

FLUSH_INTERVAL_S = 1.0
FLUSH_BYTES = 64 * 1024


class Sink:
    __slots__ = ("_file", "_writer", "_lines", "_size", "_timer", "_closed")

    def __init__(self, file: LogFile, writer: Writer = WRITER) -> None:
        self._file = file
        self._writer = writer
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    @classmethod
    def open_file(cls, path: str) -> Sink:
        """Open (create, append) at config time, so a bad path fails the config, not the first request."""
        return cls(LogFile.open(path))

    @classmethod
    def stream(cls, fd: int) -> Sink:
        """stdout or stderr: written to, never reopened or closed."""
        return cls(LogFile("", fd))

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
        self._writer.submit(self._file, data)

    def reopen(self) -> None:
        """After log rotation (Envoy does this on SIGUSR1): lines buffered so far go to the old file, later
        ones to a new file at the same path. Returns at once; the writer thread does the reopening."""
        if self._file.path and not self._closed:
            self.flush()
            self._writer.call(self._file.reopen)

    def close(self) -> None:
        """Flush, wait for the writer to finish this sink's batches, release the file. Idempotent."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._writer.drain()
        self._file.close()
