"""The route timeout queues: one loop timer per duration, armed lazily, entries fired in deadline order."""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.filters.router.timeouts import RouteTimeouts


class FakeLoop:
    def __init__(self) -> None:
        self.timers: list[tuple[float, Callable[[], None]]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> object:
        self.timers.append((delay, callback))
        return object()

    def fire(self) -> None:
        _, callback = self.timers.pop(0)
        callback()


class Owner:
    def __init__(self, log: list[str], name: str) -> None:
        self.log = log
        self.name = name

    def on_timeout(self) -> None:
        self.log.append(self.name)


def test_one_timer_serves_every_entry_and_fires_them_in_order() -> None:
    loop = FakeLoop()
    timeouts = RouteTimeouts()
    queue = timeouts.queue(loop, 15.0)  # type: ignore[arg-type]
    log: list[str] = []
    past = time.monotonic() - 20
    a, b, c = Owner(log, "a"), Owner(log, "b"), Owner(log, "c")
    queue.arm(a, past)
    queue.arm(b, past + 1)
    queue.arm(c, time.monotonic())  # due in 15 s
    assert [delay for delay, _ in loop.timers] == [15.0]
    loop.fire()
    assert log == ["a", "b"]
    ((delay, _),) = loop.timers  # re-armed for the entry left
    assert 14 < delay <= 15


def test_cancelled_entries_never_fire_and_an_empty_queue_is_dropped() -> None:
    loop = FakeLoop()
    timeouts = RouteTimeouts()
    queue = timeouts.queue(loop, 0.5)  # type: ignore[arg-type]
    log: list[str] = []
    owner = Owner(log, "a")
    queue.arm(owner, time.monotonic() - 1)
    queue.cancel(owner)
    queue.cancel(owner)  # twice is harmless
    loop.fire()
    assert log == [] and loop.timers == []
    assert timeouts.queue(loop, 0.5) is not queue  # type: ignore[arg-type]


def test_rearming_moves_an_entry_behind_the_others() -> None:
    loop = FakeLoop()
    queue = RouteTimeouts().queue(loop, 1.0)  # type: ignore[arg-type]
    log: list[str] = []
    a, b = Owner(log, "a"), Owner(log, "b")
    start = time.monotonic() - 10
    queue.arm(a, start)
    queue.arm(b, start)
    queue.arm(a, time.monotonic())
    loop.fire()
    assert log == ["b"]
    assert len(loop.timers) == 1


def test_each_duration_has_its_own_queue() -> None:
    loop = FakeLoop()
    timeouts = RouteTimeouts()
    assert timeouts.queue(loop, 1.0) is timeouts.queue(loop, 1.0)  # type: ignore[arg-type]
    assert timeouts.queue(loop, 1.0) is not timeouts.queue(loop, 2.0)  # type: ignore[arg-type]
