"""Every codec test runs once per HTTP/1.1 backend: both must behave identically."""

from __future__ import annotations

import pytest

from gateway.codec import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
