"""``redis://`` appends through the auto-pipeline (``server/broker/redis_append.py``): order,
a Redis that lost its scripts, a Redis that dies, hangs or comes back, and a close mid-flight."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.broker import redis_scripts
from server.broker.base import LogPosition
from server.broker.redis import RedisBroker
from tests.broker.conftest import BrokerFactory
from tests.redis_server import RedisServer, redis_executable

SESSIONS = [f"s{n}" for n in range(8)]
WAVES = 6  # each wave is issued in one loop turn while the waves before it are still in flight
PER_WAVE = 10  # appends per session per wave


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own: it is paused, killed and restarted."""
    server = RedisServer(redis_executable())
    yield server
    if server.process is not None:
        server.process.send_signal(signal.SIGCONT)  # a paused Redis ignores SIGTERM
    server.stop()


@contextmanager
def paused(server: RedisServer) -> Iterator[None]:
    """Redis alive, its sockets open, but answering nothing."""
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        if server.process is not None:
            server.process.send_signal(signal.SIGCONT)


@asynccontextmanager
async def running(url: str) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(url)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.close()


def _payload(session: str, n: int) -> bytes:
    return f"{session}:{n}".encode()


async def test_concurrent_appends_keep_each_sessions_order(
    make_redis_broker: BrokerFactory,
) -> None:
    broker = await make_redis_broker()
    issued: dict[str, list[asyncio.Future[LogPosition]]] = {s: [] for s in SESSIONS}
    for wave in range(WAVES):
        for n in range(wave * PER_WAVE, (wave + 1) * PER_WAVE):
            for session in SESSIONS:
                append = broker.append(session, _payload(session, n))
                issued[session].append(asyncio.ensure_future(append))
        await asyncio.sleep(0)
    for session, futures in issued.items():
        positions = await asyncio.gather(*futures)
        count = WAVES * PER_WAVE
        assert [p.seq for p in positions] == list(range(1, count + 1))
        assert {p.epoch for p in positions} == {positions[0].epoch}
        history = await broker.read_since(session, LogPosition(0, positions[0].epoch))
        assert history == [(n + 1, _payload(session, n)) for n in range(count)]


async def test_an_append_after_script_flush_reloads_the_script(
    make_redis_broker: BrokerFactory, redis_server: RedisServer
) -> None:
    """Redis lost its scripts (NOSCRIPT): every append still lands, once, with its own seq."""
    broker = await make_redis_broker()
    first = await broker.append("s1", b"before")
    raw = Redis.from_url(redis_server.url)
    try:
        await raw.script_flush()
        sha = await raw.script_load(redis_scripts.APPEND)  # only to know the sha
        await raw.script_flush()
        positions = await asyncio.gather(*(broker.append("s1", b"%d" % n) for n in range(20)))
        assert await raw.script_exists(sha) == [True]
    finally:
        await raw.aclose()
    assert sorted(p.seq for p in positions) == list(range(2, 22))
    history = await broker.read_since("s1", LogPosition(0, first.epoch))
    assert isinstance(history, list)
    expected = {1: b"before"} | {p.seq: b"%d" % n for n, p in enumerate(positions)}
    assert dict(history) == expected
    assert (await broker.append("s1", b"after the reload")).seq == 22


async def test_appends_fail_while_redis_is_down_and_work_once_it_is_back(
    own_redis: RedisServer,
) -> None:
    async with running(own_redis.url) as broker:
        before = await broker.append("s1", b"a")
        with paused(own_redis):
            in_flight = [asyncio.ensure_future(broker.append("s1", b"lost")) for _ in range(5)]
            await asyncio.sleep(0.1)  # written; Redis will never answer them
            own_redis.kill()
        outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
        assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
        with pytest.raises(RedisConnectionError):  # refused: nothing listens
            await broker.append("s1", b"refused")
        own_redis.start()
        after = await broker.append("s1", b"b")
        # Nothing persisted: a new history, whose first event this is.
        assert (after.seq, after.epoch != before.epoch) == (1, True)
        assert (await broker.append("s1", b"c")).seq == 2
        # Restarted while the connection is idle: found closed before anything is written on
        # it, once the loop had a turn to see the EOF (restart() blocked the loop throughout).
        own_redis.restart()
        await asyncio.sleep(0)
        assert (await broker.append("s1", b"d")).seq == 1


async def test_an_unanswered_append_times_out_and_the_next_one_reconnects(
    own_redis: RedisServer,
) -> None:
    async with running(f"{own_redis.url}?socket_timeout=0.5") as broker:
        before = await broker.append("s1", b"a")
        with paused(own_redis):
            outcomes = await asyncio.gather(
                *(broker.append("s1", b"unanswered") for _ in range(3)), return_exceptions=True
            )
        assert all(isinstance(o, RedisTimeoutError) for o in outcomes), outcomes
        # Redis may still run what it read before the pause; what follows lands after it.
        after = await broker.append("s1", b"b")
        assert after.epoch == before.epoch
        assert after.seq > before.seq


async def test_close_with_appends_in_flight_fails_them_and_leaves_no_task(
    own_redis: RedisServer,
) -> None:
    broker = RedisBroker(own_redis.url)
    await broker.start()
    await broker.append("s1", b"opens the connection")
    with paused(own_redis):
        written = [asyncio.ensure_future(broker.append("s1", b"x")) for _ in range(10)]
        await asyncio.sleep(0.1)
        queued = [asyncio.ensure_future(broker.append("s2", b"y")) for _ in range(10)]
        await asyncio.sleep(0)  # in the pipeline's queue, not written yet
        await broker.close()
    outcomes = await asyncio.gather(*written, *queued, return_exceptions=True)
    assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
    assert asyncio.all_tasks() == {asyncio.current_task()}
