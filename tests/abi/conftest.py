"""Fixtures for the abi tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Importing `gateway` installs the compiled build (gateway.native), which holds abi's per-request modules too:
# it must come before the first abi import, or abi would run as plain Python (an error under
# GATEWAY_NATIVE=required once gateway is imported later in the session).
import gateway  # noqa: F401

# isort: split
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
