"""Closing ``redis://``'s pub/sub connection is bounded: a reader that does not unwind when
cancelled (once seen inside redis-py's read right after a Redis restart) does not hold up a
worker's shutdown, and the broker still disconnects."""

from __future__ import annotations

import asyncio
import logging

import pytest

from server.broker import redis_pubsub
from server.broker.redis import RedisBroker
from server.broker.redis_pubsub import SessionChannels
from tests.broker.conftest import BrokerFactory, Recorder


async def test_close_does_not_wait_forever_for_a_stuck_reader(
    make_redis_broker: BrokerFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(redis_pubsub, "CLOSE_TIMEOUT", 0.2)
    broker = await make_redis_broker()
    assert isinstance(broker, RedisBroker)
    await broker.subscribe("s1", Recorder())
    channels = broker._channels
    assert isinstance(channels, SessionChannels)
    released = asyncio.Event()

    async def stuck_reader() -> None:
        # Swallows every cancellation until the test lets it go: from close()'s side, the
        # same as a reader that takes a minute to unwind.
        while not released.is_set():
            try:
                await released.wait()
            except asyncio.CancelledError:
                continue

    assert channels._reader is not None
    channels._reader.cancel()
    channels._reader = asyncio.create_task(stuck_reader())
    stuck = channels._reader
    try:
        with caplog.at_level(logging.WARNING, logger=redis_pubsub.__name__):
            await asyncio.wait_for(broker.close(), 5)
        assert not stuck.done()  # close() returned without it
        assert "reader still unwinding" in caplog.text
        assert not channels._conn.is_connected  # and the connection is closed all the same
    finally:
        released.set()
        await stuck
