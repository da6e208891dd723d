from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.live import LiveServer, start_server

ServerFactory = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def server_factory() -> AsyncIterator[ServerFactory]:
    """Start real servers with chosen settings; all are stopped after the test."""
    started: list[LiveServer] = []

    async def start(**overrides: Any) -> LiveServer:
        server = await start_server(**overrides)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def live_server(server_factory: ServerFactory) -> LiveServer:
    return await server_factory()
