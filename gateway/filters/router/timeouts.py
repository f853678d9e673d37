"""Route timeouts without a timer per request.

A loop timer costs a handle, a context copy and a heap insert to arm, and a heap removal to cancel; nearly every
route timeout is cancelled because the response came first. Timeouts of one duration expire in the order they
were armed, so a ``TimeoutQueue`` per duration keeps its armed owners in an insertion-ordered dict (arm and cancel
are dict operations) and one loop timer, set for the oldest entry. When that timer fires, the oldest entry is
usually long gone, so the timer is re-armed for the current oldest: under steady load it fires about once per
timeout period instead of being armed and cancelled per request. Queues are made per distinct duration and
dropped once empty, so durations taken from request headers cannot pile up.
"""

from __future__ import annotations

import asyncio
from typing import Final, Protocol

from gateway.core.clock import monotonic

# Loop timers have millisecond resolution (uvloop rounds delays to whole milliseconds), so one may fire a little
# before the deadline it was armed for: an entry due within this much counts as due, rather than re-arming a
# sub-millisecond timer that would fire again at once.
_SLACK: Final = 0.001


class Expirable(Protocol):
    def on_timeout(self) -> None: ...


class TimeoutQueue:
    __slots__ = ("_loop", "_duration", "_registry", "_deadlines", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, duration: float, registry: dict[float, TimeoutQueue]) -> None:
        self._loop = loop
        self._duration = duration
        self._registry = registry
        self._deadlines: dict[Expirable, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, owner: Expirable, now: float) -> None:
        """``owner.on_timeout()`` at ``now`` (a ``time.monotonic()`` reading) plus the duration, unless cancelled."""
        deadlines = self._deadlines
        deadlines.pop(owner, None)  # re-armed: it moves to the end, keeping the dict in deadline order
        deadlines[owner] = now + self._duration
        if self._timer is None:
            self._timer = self._loop.call_later(self._duration, self._expire)

    def cancel(self, owner: Expirable) -> None:
        self._deadlines.pop(owner, None)

    def _expire(self) -> None:
        self._timer = None
        deadlines = self._deadlines
        now = monotonic()
        due = now + _SLACK
        expired = []
        for owner, deadline in deadlines.items():
            if deadline > due:
                break
            expired.append(owner)
        for owner in expired:
            del deadlines[owner]
        if deadlines:
            self._timer = self._loop.call_later(next(iter(deadlines.values())) - now, self._expire)
        elif self._registry.get(self._duration) is self:
            del self._registry[self._duration]
        for owner in expired:
            owner.on_timeout()


class RouteTimeouts:
    """The queues of one router factory, by duration (seconds)."""

    __slots__ = ("_queues",)

    def __init__(self) -> None:
        self._queues: dict[float, TimeoutQueue] = {}

    def arm(self, loop: asyncio.AbstractEventLoop, duration: float, owner: Expirable, now: float) -> TimeoutQueue:
        """Arm ``owner``'s timeout in the queue of ``duration``; returns that queue, to cancel it with."""
        queue = self._queues.get(duration)
        if queue is None:
            queue = self._queues[duration] = TimeoutQueue(loop, duration, self._queues)
        queue.arm(owner, now)
        return queue
