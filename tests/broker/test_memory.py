"""``memory://``: ordered appends, delivery to listeners, bounded history with an explicit
"gone", snapshots, and the session directory."""

from __future__ import annotations

import logging

import pytest

from server.broker import MemoryBroker, UnsupportedBrokerURL, broker_from_url
from server.broker.base import HistoryGone, JoinCodeTarget, LogPosition, StoredSnapshot

Delivery = tuple[int, str, bytes]


class Recorder:
    """A listener that keeps what it is given."""

    def __init__(self) -> None:
        self.received: list[Delivery] = []

    def __call__(self, seq: int, epoch: str, payload: bytes) -> None:
        self.received.append((seq, epoch, payload))


async def _append_many(broker: MemoryBroker, count: int, session: str = "s1") -> str:
    epoch = ""
    for n in range(1, count + 1):
        epoch = (await broker.append(session, f"e{n}".encode())).epoch
    return epoch


async def test_append_numbers_events_from_one() -> None:
    broker = MemoryBroker()
    positions = [await broker.append("s1", p) for p in (b"a", b"b", b"c")]
    assert [p.seq for p in positions] == [1, 2, 3]
    assert len({p.epoch for p in positions}) == 1
    assert await broker.position("s1") == positions[-1]


async def test_sessions_have_their_own_logs_and_epochs() -> None:
    broker = MemoryBroker()
    await broker.append("s1", b"a")
    await broker.append("s1", b"b")
    other = await broker.append("s2", b"x")
    assert other.seq == 1
    assert other.epoch != (await broker.position("s1")).epoch


async def test_position_of_an_empty_log() -> None:
    position = await MemoryBroker().position("s1")
    assert position.seq == 0
    assert position.epoch


async def test_listeners_get_seq_epoch_and_payload_in_order() -> None:
    broker = MemoryBroker()
    first, second = Recorder(), Recorder()
    await broker.subscribe("s1", first)
    await broker.subscribe("s1", second)
    await broker.subscribe("s2", Recorder())
    epoch = await _append_many(broker, 3)
    expected = [(1, epoch, b"e1"), (2, epoch, b"e2"), (3, epoch, b"e3")]
    assert first.received == second.received == expected


async def test_listener_sees_only_events_after_subscribing() -> None:
    broker = MemoryBroker()
    await broker.append("s1", b"early")
    late = Recorder()
    await broker.subscribe("s1", late)
    position = await broker.append("s1", b"late")
    assert late.received == [(2, position.epoch, b"late")]


async def test_a_failing_listener_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = MemoryBroker()
    before, after = Recorder(), Recorder()

    def broken(seq: int, epoch: str, payload: bytes) -> None:
        raise RuntimeError("listener bug")

    await broker.subscribe("s1", before)
    await broker.subscribe("s1", broken)
    await broker.subscribe("s1", after)
    with caplog.at_level(logging.ERROR, logger="server.broker.memory"):
        position = await broker.append("s1", b"x")
        await broker.append("s1", b"y")
    assert position.seq == 1
    assert [d[2] for d in before.received] == [d[2] for d in after.received] == [b"x", b"y"]
    assert len([r for r in caplog.records if r.exc_info]) == 2


async def test_closed_subscription_gets_nothing_more() -> None:
    broker = MemoryBroker()
    kept, closed = Recorder(), Recorder()
    await broker.subscribe("s1", kept)
    subscription = await broker.subscribe("s1", closed)
    await broker.append("s1", b"a")
    await subscription.close()
    await subscription.close()  # closing twice is harmless
    await broker.append("s1", b"b")
    assert [d[2] for d in closed.received] == [b"a"]
    assert [d[2] for d in kept.received] == [b"a", b"b"]


# --- read_since --------------------------------------------------------------------------------


async def test_read_since_returns_exactly_the_tail() -> None:
    broker = MemoryBroker(history_size=10)
    epoch = await _append_many(broker, 5)
    assert await broker.read_since("s1", LogPosition(2, epoch)) == [
        (3, b"e3"),
        (4, b"e4"),
        (5, b"e5"),
    ]
    assert await broker.read_since("s1", LogPosition(0, epoch)) == [
        (n, f"e{n}".encode()) for n in range(1, 6)
    ]


async def test_replace_overwrites_a_stored_event_without_telling_listeners() -> None:
    broker = MemoryBroker(history_size=3)
    recorder = Recorder()
    await broker.subscribe("s1", recorder)
    epoch = await _append_many(broker, 5)  # history keeps 3, 4, 5
    await broker.replace("s1", 4, b"gone")
    await broker.replace("s1", 1, b"too old")  # no longer held: nothing to overwrite
    await broker.replace("s1", 9, b"not yet")
    assert await broker.read_since("s1", LogPosition(2, epoch)) == [
        (3, b"e3"),
        (4, b"gone"),
        (5, b"e5"),
    ]
    assert [payload for _, _, payload in recorder.received] == [
        f"e{n}".encode() for n in range(1, 6)
    ]


async def test_read_since_the_top_is_empty() -> None:
    broker = MemoryBroker()
    epoch = await _append_many(broker, 3)
    assert await broker.read_since("s1", LogPosition(3, epoch)) == []
    empty = await broker.position("s2")
    assert await broker.read_since("s2", empty) == []


async def test_read_since_trimmed_history_is_gone() -> None:
    broker = MemoryBroker(history_size=3)
    epoch = await _append_many(broker, 6)  # keeps 4, 5, 6
    assert await broker.read_since("s1", LogPosition(3, epoch)) == [
        (4, b"e4"),
        (5, b"e5"),
        (6, b"e6"),
    ]
    for seq in (2, 0):
        assert await broker.read_since("s1", LogPosition(seq, epoch)) == HistoryGone(
            LogPosition(6, epoch)
        )


async def test_read_since_with_another_epoch_is_gone() -> None:
    broker = MemoryBroker()
    epoch = await _append_many(broker, 3)
    gone = await broker.read_since("s1", LogPosition(1, "not-" + epoch))
    assert gone == HistoryGone(LogPosition(3, epoch))


async def test_read_since_beyond_the_top_is_gone() -> None:
    broker = MemoryBroker()
    epoch = await _append_many(broker, 3)
    assert await broker.read_since("s1", LogPosition(4, epoch)) == HistoryGone(
        LogPosition(3, epoch)
    )


async def test_a_restarted_broker_has_a_new_epoch() -> None:
    """History lost with the process: a client resuming against the new one gets "gone"."""
    old = MemoryBroker()
    epoch = await _append_many(old, 3)
    new = MemoryBroker()
    await _append_many(new, 5)
    result = await new.read_since("s1", LogPosition(3, epoch))
    assert isinstance(result, HistoryGone)
    assert result.position.seq == 5
    assert result.position.epoch != epoch


# --- snapshots ---------------------------------------------------------------------------------


async def test_snapshots_keep_the_newest() -> None:
    broker = MemoryBroker()
    assert await broker.load_snapshot("s1") is None
    epoch = await _append_many(broker, 20)
    ten = StoredSnapshot(seq=10, epoch=epoch, payload=b"at 10")
    twenty = StoredSnapshot(seq=20, epoch=epoch, payload=b"at 20")
    await broker.save_snapshot("s1", ten)
    assert await broker.load_snapshot("s1") == ten
    await broker.save_snapshot("s1", twenty)
    await broker.save_snapshot("s1", ten)  # a slower worker's older snapshot arrives late
    await broker.save_snapshot("s1", StoredSnapshot(seq=20, epoch=epoch, payload=b"again"))
    assert await broker.load_snapshot("s1") == twenty
    assert await broker.load_snapshot("s2") is None


# --- directory ---------------------------------------------------------------------------------


async def test_directory_create_get_and_find_join_code() -> None:
    broker = MemoryBroker()
    await broker.create_session("s1", b"record", {"ABCD2345": "c1", "WXYZ6789": "c2"})
    assert await broker.get_session("s1") == b"record"
    assert await broker.get_session("s2") is None
    assert await broker.find_join_code("ABCD2345") == JoinCodeTarget("s1", "c1")
    assert await broker.find_join_code("WXYZ6789") == JoinCodeTarget("s1", "c2")
    assert await broker.find_join_code("NOPE2345") is None


async def test_broker_from_url() -> None:
    broker = broker_from_url("memory://", history_size=7)
    assert isinstance(broker, MemoryBroker)
    assert broker.history_size == 7
    with pytest.raises(UnsupportedBrokerURL):
        broker_from_url("kafka://localhost", history_size=7)
