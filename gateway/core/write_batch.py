"""Writes held until the read being handled is done.

Response headers that do not end their stream wait before they are written, so that a body arriving in the same
read leaves in the same send. Outside a batch they wait for the end of the loop iteration (``call_soon``); inside
one (an upstream read being dispatched) they wait only for the end of that read, which costs a list append
instead of a loop callback per response. The body usually flushes them first, and the pending flush then finds
nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final


class WriteBatch:
    __slots__ = ("depth", "pending")

    def __init__(self) -> None:
        self.depth = 0
        self.pending: list[Callable[[], None]] = []

    def open(self) -> None:
        self.depth += 1

    def close(self) -> None:
        """End a batch; the outermost runs the flushes held meanwhile, in order (flushes held by those run too)."""
        self.depth -= 1
        if self.depth == 0:
            pending = self.pending
            while pending:
                self.pending = []
                for flush in pending:
                    flush()
                pending = self.pending


# One loop per process: the batch of whatever read that loop is dispatching.
BATCH: Final = WriteBatch()
