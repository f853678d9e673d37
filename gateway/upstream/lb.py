"""Load balancers over one list of (healthy) hosts, built whenever membership changes, used once per request.

- ROUND_ROBIN: earliest-deadline-first over weights, as Envoy schedules it: a host of weight w is due every 1/w,
  first at half that, so picks interleave smoothly (weights 3:1 give a a b a, never a a a b) and equal weights
  cycle in list order.
- LEAST_REQUEST: with equal weights, the host with the fewest active requests among ``choice_count`` random
  picks (power of two choices, with replacement as Envoy samples). With unequal weights, EDF where a host's
  interval is ``(active + 1) / weight`` (Envoy's default active_request_bias of 1), re-read at each pick.
- RANDOM: uniform over hosts; weights are ignored, as in Envoy.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, Protocol, TypeVar

from gateway.config.model import LbPolicy
from gateway.upstream.host import Host


class LoadBalancer(Protocol):
    def choose(self) -> Host:
        """A host of the (non-empty) list the balancer was built over."""
        ...


T = TypeVar("T")


def edf_unit(weights: Iterable[int]) -> int:
    """An even multiple of every weight: ``unit // weight`` is then an exact, even interval."""
    return 2 * math.lcm(*weights)


class EdfScheduler(Generic[T]):
    """Earliest deadline first: each item is due ``interval(item)`` after it was last picked; ties go to the
    item listed first. Intervals are even integers (see ``edf_unit``) so that ties are exact, never float noise."""

    __slots__ = ("_heap", "_interval")

    def __init__(self, items: Sequence[T], interval: Callable[[T], int]) -> None:
        # (deadline, order, item); the unique order breaks ties, so items are never compared. Starting at half
        # an interval spreads a heavy item's picks around a light one's instead of bunching them first.
        self._heap = [(interval(item) // 2, i, item) for i, item in enumerate(items)]
        heapq.heapify(self._heap)
        self._interval = interval

    def pick(self) -> T:
        deadline, order, item = self._heap[0]
        heapq.heapreplace(self._heap, (deadline + self._interval(item), order, item))
        return item


class SingleHostLb:
    """Every policy picks the same host out of one: no scheduling or dice per request."""

    __slots__ = ("_host",)

    def __init__(self, host: Host) -> None:
        self._host = host

    def choose(self) -> Host:
        return self._host


class RoundRobinLb:
    __slots__ = ("_edf",)

    def __init__(self, hosts: Sequence[Host]) -> None:
        unit = edf_unit(h.weight for h in hosts)
        self._edf = EdfScheduler(hosts, lambda h: unit // h.weight)

    def choose(self) -> Host:
        return self._edf.pick()


class LeastRequestLb:
    __slots__ = ("_hosts", "_n", "_choices", "_rng", "_edf")

    def __init__(self, hosts: Sequence[Host], rng: random.Random, choice_count: int) -> None:
        self._hosts = list(hosts)
        self._n = len(hosts)
        self._choices = choice_count
        self._rng = rng
        # Weighted EDF only when weights differ; equal weights take the cheaper P2C path (as Envoy does).
        self._edf: EdfScheduler[Host] | None = None
        if len({h.weight for h in hosts}) > 1:
            unit = edf_unit(h.weight for h in hosts)
            self._edf = EdfScheduler(hosts, lambda h: (h.stats.rq_active + 1) * (unit // h.weight))

    def choose(self) -> Host:
        if self._edf is not None:
            return self._edf.pick()
        hosts = self._hosts
        if self._n == 1:
            return hosts[0]
        randrange = self._rng.randrange
        best = hosts[randrange(self._n)]
        for _ in range(self._choices - 1):
            candidate = hosts[randrange(self._n)]
            if candidate.stats.rq_active < best.stats.rq_active:
                best = candidate
        return best


class RandomLb:
    __slots__ = ("_hosts", "_n", "_rng")

    def __init__(self, hosts: Sequence[Host], rng: random.Random) -> None:
        self._hosts = list(hosts)
        self._n = len(hosts)
        self._rng = rng

    def choose(self) -> Host:
        return self._hosts[self._rng.randrange(self._n)]


class LbFactory:
    """The cluster's policy and its parameters, fixed at config time; builds a balancer per host list."""

    __slots__ = ("policy", "rng", "choice_count")

    def __init__(self, policy: LbPolicy, rng: random.Random, choice_count: int = 2) -> None:
        self.policy = policy
        self.rng = rng
        self.choice_count = choice_count

    def build(self, hosts: Sequence[Host]) -> LoadBalancer:
        if len(hosts) == 1:
            return SingleHostLb(hosts[0])
        if self.policy is LbPolicy.ROUND_ROBIN:
            return RoundRobinLb(hosts)
        if self.policy is LbPolicy.LEAST_REQUEST:
            return LeastRequestLb(hosts, self.rng, self.choice_count)
        return RandomLb(hosts, self.rng)
