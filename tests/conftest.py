"""Suite-wide settings: tests run on uvloop, the loop the gateway serves on, and an async test fails when its
loop's exception handler was called (an exception in a callback or Protocol that nobody awaited). ``gateway`` is
imported first, whatever tests are collected: importing it installs the compiled build (gateway/native.py), which
covers abi's per-request modules too, and a module imported before that would run as plain Python."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest
import pytest_asyncio
import uvloop

import gateway  # noqa: F401  (before any test module imports abi: see the docstring)


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, Callable[[], object]]:
    return {"uvloop": uvloop.new_event_loop}


@pytest_asyncio.fixture(autouse=True)
async def _fail_on_loop_exception_handler(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield
    await asyncio.sleep(0)  # callbacks scheduled by the test's last steps run before judging
    loop.set_exception_handler(None)
    if errors:
        details = "; ".join(f"{c.get('message')}: {c.get('exception')!r}" for c in errors)
        pytest.fail(f"the event loop's exception handler was called: {details}")
