"""Health and readiness: /healthz says the process runs, /readyz that it can serve (the broker
answers). With Redis gone the server keeps running, says it is not ready, and recovers."""

from __future__ import annotations

import asyncio

from tests.conftest import ServerFactory
from tests.helpers import seq_of
from tests.live import LiveServer
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


async def _ready(server: LiveServer) -> tuple[int, str]:
    response = await server.http.get("/readyz")
    return response.status_code, response.json()["status"]


async def _until_ready(server: LiveServer, attempts: int = 100) -> tuple[int, str]:
    """Poll, as a load balancer would (every 0.1 s, 10 s at most)."""
    answer = await _ready(server)
    for _ in range(attempts):
        if answer[0] == 200:
            break
        await asyncio.sleep(0.1)
        answer = await _ready(server)
    return answer


async def test_embedded_server_is_ready(live_server: LiveServer) -> None:
    assert await _ready(live_server) == (200, "ready")


async def test_redis_going_away_makes_the_server_not_ready_until_it_is_back(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    redis_server.flush()
    server = await server_factory(broker_url=redis_server.url)
    assert await _ready(server) == (200, "ready")
    redis_server.stop()
    try:
        assert await _ready(server) == (503, "not_ready")
        health = await server.http.get("/healthz")
        assert health.status_code == 200  # alive, only not ready
        # A request that needs Redis fails cleanly, and the server does not crash.
        failed = await server.http.post("/api/join", json={"code": "ABCD-2345", "name": "Amani"})
        assert (failed.status_code, failed.json()["code"]) == (500, "internal_error")
    finally:
        redis_server.start()
    assert await _until_ready(server) == (200, "ready")
    # Redis came back empty (no persistence): new sessions work, and their members chat.
    created = await server.create_session()
    teacher = server.client(created["classes"][0]["teacher_token"])
    await teacher.connect()
    assert seq_of(await teacher.chat("we are back")) > 0
