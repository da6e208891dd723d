from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from tests.helpers import JSON, Classroom, Scene, open_classroom
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


@pytest.fixture
async def classroom(live_server: LiveServer) -> Classroom:
    """A session of two classes on a server with default settings."""
    return await open_classroom(live_server)


# Starting and stopping a server takes a few tenths of a second. Tests that only read from a
# server with default settings, or add sessions of their own, share one per module: mark them
# with SHARED_LOOP (the server lives in the module's event loop).
SHARED_LOOP = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_server() -> AsyncIterator[LiveServer]:
    server = await start_server()
    yield server
    await server.stop()


# The bad-input tests share one server and session per module (starting a server per case costs
# more than the cases); these settings suit every case. Participants never time out while a
# module runs, so the log changes only when a test makes it.
BAD_INPUT_SETTINGS: dict[str, Any] = {
    "max_frame_bytes": 4096,
    "max_bad_messages": 3,
    "join_timeout": 0.5,
    "presence_grace": 3600.0,
    "chat_per_second": 1000.0,  # the poster posts after every case
    "chat_burst": 1000,
    "joins_per_minute": 100_000.0,  # every case joins anew with the same few tokens
    "joins_burst": 100_000,
}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def scene() -> AsyncIterator[Scene]:
    """A session with a poster and a bystander, on a server shared by the module (SHARED_LOOP)."""
    server = await start_server(**BAD_INPUT_SETTINGS)
    try:
        room = await open_classroom(server)
        poster = await room.teacher(1)
        bystander = await room.student(1, "Amani", JSON)
        yield Scene(room, poster, bystander)
    finally:
        await server.stop()
