"""/readyz follows the broker: 503 while Redis is away, 200 once it is back; and the drain flag.

The server's pub/sub reader notices the loss and reconnects: /metrics counts both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerFactory
from tests.redis_server import RedisServer, redis_executable
from tests.test_metrics import moved, scrape

WAIT = 20.0


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own: it is stopped and started again."""
    server = RedisServer(redis_executable())
    try:
        yield server
    finally:
        server.stop()


async def _ready_status(http: httpx.AsyncClient, status: int) -> dict[str, str]:
    async with asyncio.timeout(WAIT):
        while True:
            response = await http.get("/readyz")
            if response.status_code == status:
                body: dict[str, str] = response.json()
                return body
            await asyncio.sleep(0.05)


async def test_readyz_is_503_while_redis_is_away(
    server_factory: ServerFactory, own_redis: RedisServer
) -> None:
    server = await server_factory(broker_url=own_redis.url)
    assert (await server.http.get("/readyz")).json() == {"status": "ready"}
    assert (await server.http.get("/healthz")).status_code == 200
    before = await scrape(server.http)

    own_redis.stop()
    away = await _ready_status(server.http, 503)
    assert away == {"status": "not_ready", "reason": "broker unreachable"}
    assert (await server.http.get("/healthz")).status_code == 200  # alive, just not ready

    own_redis.start()  # the same port
    assert await _ready_status(server.http, 200) == {"status": "ready"}
    async with asyncio.timeout(WAIT):  # the reader retries with a backoff of its own
        while True:
            after = await scrape(server.http)
            if moved(before, after, "classbridge_redis_reconnects_total") >= 1:
                break
            await asyncio.sleep(0.05)
    assert moved(before, after, "classbridge_redis_reconnects_total") == 1
    assert moved(before, after, "classbridge_redis_errors_total", where="pubsub") >= 1


async def test_readyz_is_503_while_draining(server_factory: ServerFactory) -> None:
    server = await server_factory()
    services = server.services
    services.draining = True
    response = await server.http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not_ready", "reason": "draining"}
    services.draining = False
    assert (await server.http.get("/readyz")).status_code == 200
