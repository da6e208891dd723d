"""What is particular to ``memory://`` (the shared contract is in test_contract.py)."""

from __future__ import annotations

import pytest

from server.broker import MemoryBroker, UnsupportedBrokerURL, broker_from_url
from server.broker.base import HistoryGone, LogPosition


async def test_a_restarted_broker_has_a_new_epoch() -> None:
    """History lost with the process: a client resuming against the new one gets "gone"."""
    old = MemoryBroker()
    epoch = (await old.append("s1", b"a")).epoch
    new = MemoryBroker()
    for payload in (b"x", b"y"):
        await new.append("s1", payload)
    result = await new.read_since("s1", LogPosition(1, epoch))
    assert isinstance(result, HistoryGone)
    assert result.position.seq == 2
    assert result.position.epoch != epoch


async def test_delivery_is_synchronous() -> None:
    """With one process, an event reaches its listeners before append returns: the hub
    relies on it only through wait_applied, which then never waits."""
    broker = MemoryBroker()
    received: list[int] = []
    await broker.subscribe("s1", lambda seq, epoch, payload: received.append(seq))
    await broker.append("s1", b"a")
    assert received == [1]


async def test_broker_from_url() -> None:
    broker = broker_from_url("memory://", history_size=7)
    assert isinstance(broker, MemoryBroker)
    assert broker.history_size == 7
    with pytest.raises(UnsupportedBrokerURL):
        broker_from_url("kafka://localhost", history_size=7)
