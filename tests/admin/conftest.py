"""Fixtures: a fake server and an admin listener on 127.0.0.1 with a kernel-chosen port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvloop

from gateway.admin import AdminServer

from .helpers import FakeServer, make_server


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    """The gateway runs on uvloop: so does its admin in these tests."""
    return {"uvloop": uvloop.new_event_loop}


@pytest.fixture
def fake() -> FakeServer:
    return make_server()


@pytest.fixture
async def admin(fake: FakeServer) -> AsyncIterator[tuple[AdminServer, int]]:
    server = AdminServer(fake)
    _, port = await server.start("127.0.0.1", 0)
    try:
        yield server, port
    finally:
        await server.stop()
