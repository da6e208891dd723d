"""``Broker.reseed``: restoring a lost log from a replica, on both brokers."""

from __future__ import annotations

from server.broker.base import HistoryGone, LogPosition, ReseedOutcome
from tests.broker.conftest import BrokerFactory, make_broker

__all__ = ["make_broker"]


async def test_an_intact_log_is_left_alone(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    here = await broker.append("s1", b"one")
    result = await broker.reseed("s1", here, b"state")
    assert (result.outcome, result.position) == (ReseedOutcome.INTACT, here)


async def test_a_lost_log_continues_above_the_replica_then_others_adopt_it(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    known = LogPosition(500, "gone-epoch")  # a replica of a history the broker no longer has
    await broker.append("s1", b"appended after the loss")  # seq 1 of a fresh epoch
    result = await broker.reseed("s1", known, b"state at 500")
    assert result.outcome is ReseedOutcome.RESEEDED
    assert result.position.seq == 501  # the event moved above the floor: nothing reused
    snapshot = await broker.load_snapshot("s1")
    assert snapshot is not None
    assert (snapshot.seq, snapshot.epoch, snapshot.payload) == (
        500,
        result.position.epoch,
        b"state at 500",
    )
    floor = LogPosition(500, result.position.epoch)
    assert await broker.read_since("s1", floor) == [(501, b"appended after the loss")]
    assert isinstance(await broker.read_since("s1", known), HistoryGone)
    # A second replica, behind the first, adopts the re-seeded history.
    second = await broker.reseed("s1", LogPosition(498, "gone-epoch"), b"state at 498")
    assert (second.outcome, second.position) == (ReseedOutcome.ADOPT, result.position)
    assert (await broker.append("s1", b"next")).seq == 502
