"""The route timeout queues: one loop timer per duration, armed lazily, entries fired in deadline order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

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


def _loop(fake: FakeLoop) -> asyncio.AbstractEventLoop:
    return cast(asyncio.AbstractEventLoop, fake)


def test_one_timer_serves_every_entry_and_fires_them_in_order() -> None:
    fake = FakeLoop()
    timeouts = RouteTimeouts()
    log: list[str] = []
    past = time.monotonic() - 20
    for name, start in (("a", past), ("b", past + 1), ("c", time.monotonic())):  # c is due in 15 s
        timeouts.arm(_loop(fake), 15.0, Owner(log, name), start)
    assert [delay for delay, _ in fake.timers] == [15.0]
    fake.fire()
    assert log == ["a", "b"]
    ((delay, _),) = fake.timers  # re-armed for the entry left
    assert 14 < delay <= 15


def test_cancelled_entries_never_fire_and_an_empty_queue_is_dropped() -> None:
    fake = FakeLoop()
    timeouts = RouteTimeouts()
    log: list[str] = []
    owner = Owner(log, "a")
    queue = timeouts.arm(_loop(fake), 0.5, owner, time.monotonic() - 1)
    queue.cancel(owner)
    queue.cancel(owner)  # twice is harmless
    fake.fire()
    assert log == [] and fake.timers == []
    assert timeouts.arm(_loop(fake), 0.5, owner, time.monotonic()) is not queue


def test_rearming_moves_an_entry_behind_the_others() -> None:
    fake = FakeLoop()
    timeouts = RouteTimeouts()
    log: list[str] = []
    a, b = Owner(log, "a"), Owner(log, "b")
    start = time.monotonic() - 10
    timeouts.arm(_loop(fake), 1.0, a, start)
    timeouts.arm(_loop(fake), 1.0, b, start)
    timeouts.arm(_loop(fake), 1.0, a, time.monotonic())
    fake.fire()
    assert log == ["b"]
    assert len(fake.timers) == 1


def test_each_duration_has_its_own_queue() -> None:
    fake = FakeLoop()
    timeouts = RouteTimeouts()
    log: list[str] = []
    now = time.monotonic()
    one = timeouts.arm(_loop(fake), 1.0, Owner(log, "a"), now)
    assert timeouts.arm(_loop(fake), 1.0, Owner(log, "b"), now) is one
    assert timeouts.arm(_loop(fake), 2.0, Owner(log, "c"), now) is not one
    assert [delay for delay, _ in fake.timers] == [1.0, 2.0]


def test_an_entry_due_within_a_millisecond_fires_with_the_timer() -> None:
    # Loop timers round to milliseconds and may fire just before the deadline: no sub-millisecond re-arm.
    fake = FakeLoop()
    log: list[str] = []
    RouteTimeouts().arm(_loop(fake), 1.0, Owner(log, "a"), time.monotonic() - 1.0 + 0.0005)
    fake.fire()
    assert log == ["a"] and fake.timers == []
