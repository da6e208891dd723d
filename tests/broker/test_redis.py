"""What is particular to ``redis://``: several brokers (workers) on one Redis share one log."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from server.broker.base import HistoryGone, JoinCodeTarget, LogPosition
from server.broker.redis_scripts import session_keys
from tests.broker.conftest import BrokerFactory, Recorder
from tests.redis_server import RedisServer


async def test_two_brokers_on_one_redis_share_everything(
    make_redis_broker: BrokerFactory,
) -> None:
    first = await make_redis_broker()
    second = await make_redis_broker()
    heard = Recorder()
    await second.subscribe("s1", heard)
    await first.create_session("s1", b"record", {"ABCD2345": "c1"})
    position = await first.append("s1", b"from the first worker")
    assert await heard.wait_for(1) == [(1, position.epoch, b"from the first worker")]
    assert await second.position("s1") == position
    assert await second.get_session("s1") == b"record"
    assert await second.find_join_code("ABCD2345") == JoinCodeTarget("s1", "c1")
    assert (await second.append("s1", b"from the second")).seq == 2
    assert [d[2] for d in await heard.wait_for(2)] == [b"from the first worker", b"from the second"]


async def test_history_lost_with_redis_gets_a_new_epoch(
    make_redis_broker: BrokerFactory, redis_server: RedisServer
) -> None:
    """Redis restarted without persistence: the old epoch's history is gone, said plainly."""
    broker = await make_redis_broker()
    before = None
    for payload in (b"a", b"b", b"c"):
        before = await broker.append("s1", payload)
    assert before is not None
    redis_server.flush()  # what a restart without persistence leaves
    after = await broker.append("s1", b"after the loss")
    assert after.epoch != before.epoch
    gone = await broker.read_since("s1", LogPosition(before.seq, before.epoch))
    assert isinstance(gone, HistoryGone)
    assert gone.position.epoch == after.epoch
    assert await broker.read_since("s1", LogPosition(0, after.epoch)) == [
        (after.seq, b"after the loss")
    ]


async def test_garbage_on_a_session_channel_is_dropped_and_delivery_goes_on(
    make_redis_broker: BrokerFactory,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Anyone who can reach Redis can PUBLISH: a message of neither known shape is logged and
    dropped, and the events and volatile messages around it still arrive."""
    broker = await make_redis_broker()
    heard = Recorder()
    await broker.subscribe("s1", heard, lambda payload: heard(0, "", payload))
    raw = Redis.from_url(redis_server.url)
    try:
        with caplog.at_level(logging.ERROR, logger="server.broker"):
            for garbage in (b"\xc1", b"\x92\x01\x02", b"\x91\x05", b"not msgpack at all"):
                await raw.publish(session_keys("s1").channel, garbage)
            await broker.publish("s1", b"volatile")
            position = await broker.append("s1", b"logged")
            received = await heard.wait_for(2)
    finally:
        await raw.aclose()
    assert received == [(0, "", b"volatile"), (1, position.epoch, b"logged")]
    assert len([r for r in caplog.records if "undecodable" in r.message]) == 4
