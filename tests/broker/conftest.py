from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from server.broker.base import Broker
from server.broker.memory import MemoryBroker
from tests.redis_cluster import RedisCluster, redis_cluster
from tests.redis_server import RedisServer, redis_server

__all__ = [
    "BrokerFactory",
    "Recorder",
    "make_broker",
    "make_cluster_broker",
    "make_redis_broker",
    "redis_cluster",
    "redis_server",
]

BrokerFactory = Callable[..., Awaitable[Broker]]
Delivery = tuple[int, str, bytes]
WAIT = 5.0


class Recorder:
    """A listener that keeps what it is given (in the order given)."""

    def __init__(self) -> None:
        self.received: list[Delivery] = []
        self._arrived = asyncio.Event()

    def __call__(self, seq: int, epoch: str, payload: bytes) -> None:
        self.received.append((seq, epoch, payload))
        self._arrived.set()

    async def wait_for(self, count: int) -> list[Delivery]:
        """Deliveries may be asynchronous (redis:// goes through pub/sub): wait for them."""
        async with asyncio.timeout(WAIT):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.received


async def _brokers(url: str | None) -> AsyncIterator[BrokerFactory]:
    made: list[Broker] = []

    async def make(history_size: int = 1000, **options: Any) -> Broker:
        broker: Broker
        if url is None:
            broker = MemoryBroker(history_size=history_size)
        else:
            from server.broker.redis import RedisBroker

            broker = RedisBroker(url, history_size=history_size, **options)
        await broker.start()
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


@pytest.fixture(params=["memory", "redis", "cluster"])
async def make_broker(request: pytest.FixtureRequest) -> AsyncIterator[BrokerFactory]:
    """The same contract, every broker: each test runs against memory://, redis:// and
    redis+cluster:// (a 3-master Cluster)."""
    url: str | None = None
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server.flush()
        url = server.url
    elif request.param == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        url = cluster.url
    async for make in _brokers(url):
        yield make


@pytest.fixture
async def make_redis_broker(redis_server: RedisServer) -> AsyncIterator[BrokerFactory]:
    """redis:// brokers on one fresh Redis, as several workers would have."""
    redis_server.flush()
    async for make in _brokers(redis_server.url):
        yield make


@pytest.fixture
async def make_cluster_broker(redis_cluster: RedisCluster) -> AsyncIterator[BrokerFactory]:
    """redis+cluster:// brokers on one fresh Cluster, as several workers would have."""
    redis_cluster.flush()
    async for make in _brokers(redis_cluster.url):
        yield make
