"""Fixtures for the abi tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from abi_probe import Probe, wat

from abi.testing import Harness


@pytest.fixture
def make_probe() -> Iterator[Callable[..., Probe]]:
    harnesses: list[Harness] = []

    def make(**options: Any) -> Probe:
        harness = Harness(wat("probe"), **options)
        harnesses.append(harness)
        return Probe(harness)

    yield make
    for harness in harnesses:
        harness.close()


@pytest.fixture
def probe(make_probe: Callable[..., Probe]) -> Probe:
    return make_probe()
