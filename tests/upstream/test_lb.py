"""Load balancers and priority levels, without sockets: exact sequences where the algorithm is deterministic,
tolerant bounds with fixed seeds where it is random."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from gateway.config.model import LbPolicy
from gateway.upstream.host import Host
from gateway.upstream.lb import LbFactory
from gateway.upstream.priority import PrioritySet


def hosts(*weights: int, priority: int = 0, healthy: bool = True, locality: int = 0) -> list[Host]:
    return [
        Host(f"10.0.{priority}.{i}", 80, weight=w, priority=priority, healthy=healthy, locality=locality)
        for i, w in enumerate(weights)
    ]


def picks(lb_policy: LbPolicy, members: list[Host], n: int, seed: int = 1, choice_count: int = 2) -> list[Host]:
    lb = LbFactory(lb_policy, random.Random(seed), choice_count).build(members)
    return [lb.choose() for _ in range(n)]


def test_round_robin_equal_weights_cycles_in_order() -> None:
    a, b, c = hosts(1, 1, 1)
    assert picks(LbPolicy.ROUND_ROBIN, [a, b, c], 7) == [a, b, c, a, b, c, a]


def test_round_robin_weights_are_smooth_and_exact_per_period() -> None:
    a, b = hosts(3, 1)
    seq = picks(LbPolicy.ROUND_ROBIN, [a, b], 400)
    assert seq[:4] == [a, a, b, a]  # interleaved, not a a a b
    assert Counter(seq) == {a: 300, b: 100}
    # never more than three a's in a row
    assert "aaaa" not in "".join("a" if h is a else "b" for h in seq)


def test_round_robin_three_weights_proportions() -> None:
    a, b, c = hosts(5, 3, 2)
    assert Counter(picks(LbPolicy.ROUND_ROBIN, [a, b, c], 1000)) == {a: 500, b: 300, c: 200}


def test_least_request_p2c_avoids_loaded_host() -> None:
    a, b, c = hosts(1, 1, 1)
    a.stats.rq_active = 5
    b.stats.rq_active = 1
    c.stats.rq_active = 0
    seq = picks(LbPolicy.LEAST_REQUEST, [a, b, c], 3000, seed=7)
    counts = Counter(seq)
    # P2C with replacement: a is chosen only when both draws are a (1/9).
    assert counts[a] / 3000 == pytest.approx(1 / 9, abs=0.03)
    # c wins whenever drawn at least once (5/9).
    assert counts[c] / 3000 == pytest.approx(5 / 9, abs=0.03)


def test_least_request_choice_count_sees_more_hosts() -> None:
    members = hosts(1, 1, 1, 1)
    for i, h in enumerate(members):
        h.stats.rq_active = 10 - i  # the last host is the least loaded
    seq = picks(LbPolicy.LEAST_REQUEST, members, 2000, seed=3, choice_count=8)
    # the least loaded host is missed only when 8 draws all miss it: (3/4)^8 ~ 0.1
    assert Counter(seq)[members[3]] / 2000 == pytest.approx(1 - 0.75**8, abs=0.03)


def test_least_request_weighted_uses_weights_and_load() -> None:
    a, b = hosts(2, 1)
    assert Counter(picks(LbPolicy.LEAST_REQUEST, [a, b], 300)) == {a: 200, b: 100}
    a.stats.rq_active = 3  # (3+1)/2 = 2 vs (0+1)/1 = 1: b is now due twice as often
    counts = Counter(picks(LbPolicy.LEAST_REQUEST, [a, b], 300))
    assert counts[b] == 2 * counts[a]


def test_random_is_uniform_and_ignores_weights() -> None:
    a, b, c = hosts(10, 1, 1)
    counts = Counter(picks(LbPolicy.RANDOM, [a, b, c], 6000, seed=11))
    for h in (a, b, c):
        assert counts[h] / 6000 == pytest.approx(1 / 3, abs=0.03)


def test_random_same_seed_same_sequence() -> None:
    members = hosts(1, 1, 1, 1)
    assert picks(LbPolicy.RANDOM, members, 50, seed=5) == picks(LbPolicy.RANDOM, members, 50, seed=5)
    assert picks(LbPolicy.RANDOM, members, 50, seed=5) != picks(LbPolicy.RANDOM, members, 50, seed=6)


def priority_set(locality_weights: dict[tuple[int, int], int] | None = None, seed: int = 1) -> PrioritySet:
    rng = random.Random(seed)
    return PrioritySet(LbFactory(LbPolicy.ROUND_ROBIN, rng), rng, locality_weights)


def test_healthy_priority_zero_takes_everything() -> None:
    p0, p1 = hosts(1, 1), hosts(1, 1, priority=1)
    ps = priority_set()
    ps.update(p0 + p1)
    assert {ps.choose() for _ in range(100)} == set(p0)


def test_unhealthy_priority_zero_fails_over_to_priority_one() -> None:
    p0, p1 = hosts(1, 1, healthy=False), hosts(1, priority=1)
    ps = priority_set()
    ps.update(p0 + p1)
    assert {ps.choose() for _ in range(50)} == set(p1)


def test_partially_healthy_priority_spills_by_overprovisioning() -> None:
    # P0: 1 of 2 healthy -> health min(100, 1.4 * 50) = 70: P0 takes 70%, P1 the remaining 30%.
    p0 = hosts(1, 1)
    p0[1].healthy = False
    p1 = hosts(1, priority=1)
    ps = priority_set(seed=2)
    ps.update(p0 + p1)
    counts = Counter(ps.choose() for _ in range(5000))
    assert counts[p0[1]] == 0
    assert counts[p0[0]] / 5000 == pytest.approx(0.70, abs=0.03)
    assert counts[p1[0]] / 5000 == pytest.approx(0.30, abs=0.03)


def test_degraded_levels_are_scaled_to_full_load() -> None:
    # P0 1/4 healthy -> 35, P1 1/4 healthy -> 35; total 70 is scaled to 100: 50/50.
    p0, p1 = hosts(1, 1, 1, 1), hosts(1, 1, 1, 1, priority=1)
    for h in p0[1:] + p1[1:]:
        h.healthy = False
    ps = priority_set(seed=4)
    ps.update(p0 + p1)
    counts = Counter(ps.choose() for _ in range(4000))
    assert set(counts) == {p0[0], p1[0]}
    assert counts[p0[0]] / 4000 == pytest.approx(0.5, abs=0.03)


def test_no_healthy_host_anywhere_gives_none() -> None:
    ps = priority_set()
    ps.update(hosts(1, 1, healthy=False) + hosts(1, priority=1, healthy=False))
    assert ps.choose() is None
    ps.update([])
    assert ps.choose() is None


def test_priority_gap_levels_are_empty() -> None:
    p2 = hosts(1, priority=2)
    ps = priority_set()
    ps.update(p2)
    assert [len(level.hosts) for level in ps.levels] == [0, 0, 1]
    assert ps.choose() is p2[0]


def test_locality_weights_split_traffic_before_hosts() -> None:
    # locality 0 (weight 1) has three hosts, locality 1 (weight 3) has one: the lone host gets 75%.
    loc0 = hosts(1, 1, 1, locality=0)
    loc1 = [Host("10.1.0.1", 80, locality=1)]
    ps = priority_set({(0, 0): 1, (0, 1): 3})
    ps.update(loc0 + loc1)
    counts = Counter(ps.choose() for _ in range(400))
    assert counts[loc1[0]] == 300
    assert sum(counts[h] for h in loc0) == 100


def test_locality_availability_scales_its_weight() -> None:
    # locality 0: 1 of 4 healthy -> availability 0.35 -> effective weight 0.35 vs 1.0 of locality 1.
    loc0 = hosts(1, 1, 1, 1, locality=0)
    for h in loc0[1:]:
        h.healthy = False
    loc1 = [Host("10.1.0.1", 80, locality=1)]
    ps = priority_set({(0, 0): 1, (0, 1): 1})
    ps.update(loc0 + loc1)
    counts = Counter(ps.choose() for _ in range(1350))
    assert counts[loc0[0]] == 350
    assert counts[loc1[0]] == 1000
