"""Priority levels and localities: which healthy host a request goes to, before the load balancer picks one.

Rebuilt (``update``) whenever membership or health changes; ``choose`` is the per-request path. As in Envoy,
each priority level has a health percentage, ``min(100, 1.4 * 100 * healthy / total)`` (the overprovisioning
factor 1.4), and takes that share of the load not already taken by higher levels; when the levels' health adds
up to less than 100 the shares are scaled up to fill it. With every host healthy, level 0 takes everything;
with none healthy anywhere, there is no host ("no healthy upstream"). Envoy's panic threshold is not applied.

With locality-weighted balancing a level first picks a locality by EDF over ``locality weight * availability``
(availability being the same overprovisioned healthy ratio, capped at 1), then a host within it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from gateway.upstream.host import Host
from gateway.upstream.lb import EdfScheduler, LbFactory, LoadBalancer, edf_unit

OVERPROVISIONING = 1.4


class _Locality:
    __slots__ = ("weight", "lb")

    def __init__(self, weight: int, lb: LoadBalancer) -> None:
        self.weight = weight
        self.lb = lb


class _LocalityPicker:
    """Locality first (weighted EDF), then that locality's own balancer."""

    __slots__ = ("_edf",)

    def __init__(self, localities: list[_Locality]) -> None:
        unit = edf_unit(loc.weight for loc in localities)
        self._edf = EdfScheduler(localities, lambda loc: unit // loc.weight)

    def choose(self) -> Host:
        return self._edf.pick().lb.choose()


class HostSet:
    """The hosts of one priority level, the healthy ones, and the balancer over those."""

    __slots__ = ("hosts", "healthy", "health", "lb")

    def __init__(
        self,
        hosts: list[Host],
        factory: LbFactory,
        locality_weights: dict[int, int] | None,
    ) -> None:
        self.hosts = hosts
        self.healthy = [h for h in hosts if h.healthy]
        self.health = min(100.0, OVERPROVISIONING * 100.0 * len(self.healthy) / len(hosts)) if hosts else 0.0
        self.lb: LoadBalancer | None = None
        if not self.healthy:
            return
        if locality_weights is None:
            self.lb = factory.build(self.healthy)
            return
        localities: list[_Locality] = []
        for locality, weight in locality_weights.items():
            members = [h for h in hosts if h.locality == locality]
            healthy = [h for h in members if h.healthy]
            if healthy and weight > 0:
                # Availability in percent keeps the EDF weights integral.
                availability = min(100, round(OVERPROVISIONING * 100 * len(healthy) / len(members)))
                localities.append(_Locality(weight * availability, factory.build(healthy)))
        if localities:
            self.lb = _LocalityPicker(localities)


class PrioritySet:
    """All levels of a cluster; ``choose`` returns a host or None when nothing is healthy."""

    __slots__ = ("levels", "_factory", "_rng", "_locality_weights", "_cumulative", "choose")

    def __init__(
        self,
        factory: LbFactory,
        rng: random.Random,
        locality_weights: dict[tuple[int, int], int] | None = None,
    ) -> None:
        """``locality_weights`` maps (priority, locality index) to the locality's weight; None balances over
        hosts regardless of locality (Envoy without ``locality_weighted_lb_config``)."""
        self._factory = factory
        self._rng = rng
        self._locality_weights = locality_weights
        self.levels: list[HostSet] = []
        self._cumulative: list[tuple[float, LoadBalancer]] = []
        # Rebound by every update to the cheapest picker: with one level taking all the load, that level's
        # balancer itself (no dice roll, one call per request).
        self.choose: Callable[[], Host | None] = _no_host
        self.update([])

    def update(self, hosts: Sequence[Host]) -> None:
        top = max((h.priority for h in hosts), default=-1)
        by_level: list[list[Host]] = [[] for _ in range(top + 1)]
        for host in hosts:
            by_level[host.priority].append(host)
        self.levels = [HostSet(members, self._factory, self._level_localities(p)) for p, members in enumerate(by_level)]
        self._cumulative = []
        self.choose = _no_host
        total_health = sum(level.health for level in self.levels)
        if total_health == 0:
            return
        scale = 100.0 / min(100.0, total_health)
        remaining = 100.0
        running = 0.0
        for level in self.levels:
            share = min(remaining, level.health * scale)
            if share <= 0 or level.lb is None:
                continue
            remaining -= share
            running += share
            self._cumulative.append((running, level.lb))
        if len(self._cumulative) == 1:
            self.choose = self._cumulative[0][1].choose
        elif self._cumulative:
            self.choose = self._roll

    def _level_localities(self, priority: int) -> dict[int, int] | None:
        if self._locality_weights is None:
            return None
        return {loc: w for (p, loc), w in self._locality_weights.items() if p == priority}

    def _roll(self) -> Host | None:
        """A host from the level the dice pick, by the levels' shares of the load."""
        roll = self._rng.random() * self._cumulative[-1][0]
        for bound, lb in self._cumulative:
            if roll < bound:
                return lb.choose()
        return self._cumulative[-1][1].choose()

    def healthy_count(self) -> int:
        return sum(len(level.healthy) for level in self.levels)


def _no_host() -> Host | None:
    return None
