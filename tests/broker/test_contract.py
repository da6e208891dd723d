"""The broker contract, run against every broker (memory:// and redis://): ordered appends,
delivery to subscribers, bounded history with an explicit "gone", replace, snapshots and the
session directory. Anything that holds for one must hold for the other."""

from __future__ import annotations

import logging

import pytest

from server.broker.base import Broker, HistoryGone, JoinCodeTarget, LogPosition, StoredSnapshot
from tests.broker.conftest import BrokerFactory, Recorder


async def _append_many(broker: Broker, count: int, session: str = "s1") -> str:
    epoch = ""
    for n in range(1, count + 1):
        epoch = (await broker.append(session, f"e{n}".encode())).epoch
    return epoch


async def test_append_numbers_events_from_one(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    positions = [await broker.append("s1", p) for p in (b"a", b"b", b"c")]
    assert [p.seq for p in positions] == [1, 2, 3]
    assert len({p.epoch for p in positions}) == 1
    assert await broker.position("s1") == positions[-1]


async def test_sessions_have_their_own_logs_and_epochs(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    await broker.append("s1", b"a")
    await broker.append("s1", b"b")
    other = await broker.append("s2", b"x")
    assert other.seq == 1
    assert other.epoch != (await broker.position("s1")).epoch


async def test_position_of_an_empty_log(make_broker: BrokerFactory) -> None:
    position = await (await make_broker()).position("s1")
    assert position.seq == 0
    assert position.epoch


async def test_listeners_get_seq_epoch_and_payload_in_order(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    first, second, elsewhere = Recorder(), Recorder(), Recorder()
    await broker.subscribe("s1", first)
    await broker.subscribe("s1", second)
    await broker.subscribe("s2", elsewhere)
    epoch = await _append_many(broker, 3)
    expected = [(1, epoch, b"e1"), (2, epoch, b"e2"), (3, epoch, b"e3")]
    assert await first.wait_for(3) == expected
    assert await second.wait_for(3) == expected
    await broker.append("s2", b"x")
    assert [d[2] for d in await elsewhere.wait_for(1)] == [b"x"]  # only its own session


async def test_listener_sees_only_events_after_subscribing(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    await broker.append("s1", b"early")
    late = Recorder()
    await broker.subscribe("s1", late)  # in effect once subscribe returns
    position = await broker.append("s1", b"late")
    assert await late.wait_for(1) == [(2, position.epoch, b"late")]


async def test_a_failing_listener_does_not_stop_the_others(
    make_broker: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    broker = await make_broker()
    before, after = Recorder(), Recorder()

    def broken(seq: int, epoch: str, payload: bytes) -> None:
        raise RuntimeError("listener bug")

    await broker.subscribe("s1", before)
    await broker.subscribe("s1", broken)
    await broker.subscribe("s1", after)
    with caplog.at_level(logging.ERROR, logger="server.broker"):
        await broker.append("s1", b"x")
        await broker.append("s1", b"y")
        await after.wait_for(2)
    assert [d[2] for d in before.received] == [d[2] for d in after.received] == [b"x", b"y"]
    assert len([r for r in caplog.records if r.exc_info]) == 2


async def test_closed_subscription_gets_nothing_more(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    kept, closed = Recorder(), Recorder()
    await broker.subscribe("s1", kept)
    subscription = await broker.subscribe("s1", closed)
    await broker.append("s1", b"a")
    await closed.wait_for(1)
    await subscription.close()
    await subscription.close()  # closing twice is harmless
    await broker.append("s1", b"b")
    await kept.wait_for(2)  # delivered in order: had "closed" still listened, it had "b" now
    assert [d[2] for d in closed.received] == [b"a"]
    assert [d[2] for d in kept.received] == [b"a", b"b"]


async def test_the_last_subscription_closed_leaves_the_session_quiet(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    recorder, witness = Recorder(), Recorder()
    subscription = await broker.subscribe("s1", recorder)
    await broker.subscribe("s2", witness)
    await subscription.close()
    await broker.append("s1", b"unheard")
    await broker.append("s2", b"heard")
    await witness.wait_for(1)
    assert recorder.received == []
    again = Recorder()
    await broker.subscribe("s1", again)  # and a new subscription works
    await broker.append("s1", b"heard again")
    assert [d[2] for d in await again.wait_for(1)] == [b"heard again"]


# --- volatile messages -------------------------------------------------------------------------


class VolatileRecorder(Recorder):
    """Keeps volatile messages as deliveries with seq 0, so ``wait_for`` works for both."""

    def volatile(self, payload: bytes) -> None:
        self(0, "", payload)


async def test_published_messages_reach_current_subscribers_in_order(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    first, second, elsewhere = VolatileRecorder(), VolatileRecorder(), VolatileRecorder()
    await broker.subscribe("s1", first, first.volatile)
    await broker.subscribe("s1", second, second.volatile)
    await broker.subscribe("s2", elsewhere, elsewhere.volatile)
    for payload in (b"v1", b"v2", b"v3"):
        await broker.publish("s1", payload)
    await broker.publish("s2", b"other session")
    expected = [(0, "", b"v1"), (0, "", b"v2"), (0, "", b"v3")]
    assert await first.wait_for(3) == expected
    assert await second.wait_for(3) == expected
    assert [d[2] for d in await elsewhere.wait_for(1)] == [b"other session"]


async def test_published_messages_take_no_seq_and_are_not_stored(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    recorder = VolatileRecorder()
    await broker.subscribe("s1", recorder, recorder.volatile)
    first = await broker.append("s1", b"logged")
    await broker.publish("s1", b"volatile")
    second = await broker.append("s1", b"logged too")
    assert [d[2] for d in await recorder.wait_for(3)] == [b"logged", b"volatile", b"logged too"]
    assert (first.seq, second.seq) == (1, 2)  # the volatile message took no seq
    assert await broker.read_since("s1", LogPosition(0, first.epoch)) == [
        (1, b"logged"),
        (2, b"logged too"),
    ]


async def test_publishing_with_no_subscriber_is_lost_not_kept(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    await broker.publish("s1", b"nobody listens")
    late = VolatileRecorder()
    await broker.subscribe("s1", late, late.volatile)
    await broker.publish("s1", b"heard")
    assert await late.wait_for(1) == [(0, "", b"heard")]
    assert (await broker.position("s1")).seq == 0


async def test_a_subscriber_without_a_volatile_listener_gets_only_events(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    events_only, both = Recorder(), VolatileRecorder()
    await broker.subscribe("s1", events_only)
    await broker.subscribe("s1", both, both.volatile)
    await broker.publish("s1", b"volatile")
    await broker.append("s1", b"logged")
    await both.wait_for(2)
    assert [d[2] for d in await events_only.wait_for(1)] == [b"logged"]


# --- read_since --------------------------------------------------------------------------------


async def test_read_since_returns_exactly_the_tail(make_broker: BrokerFactory) -> None:
    broker = await make_broker(history_size=10)
    epoch = await _append_many(broker, 5)
    assert await broker.read_since("s1", LogPosition(2, epoch)) == [
        (3, b"e3"),
        (4, b"e4"),
        (5, b"e5"),
    ]
    assert await broker.read_since("s1", LogPosition(0, epoch)) == [
        (n, f"e{n}".encode()) for n in range(1, 6)
    ]


async def test_read_since_the_top_is_empty(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    epoch = await _append_many(broker, 3)
    assert await broker.read_since("s1", LogPosition(3, epoch)) == []
    empty = await broker.position("s2")
    assert await broker.read_since("s2", empty) == []


async def test_read_since_trimmed_history_is_gone(make_broker: BrokerFactory) -> None:
    broker = await make_broker(history_size=3)
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


async def test_read_since_with_another_epoch_is_gone(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    epoch = await _append_many(broker, 3)
    gone = await broker.read_since("s1", LogPosition(1, "not-" + epoch))
    assert gone == HistoryGone(LogPosition(3, epoch))


async def test_read_since_beyond_the_top_is_gone(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    epoch = await _append_many(broker, 3)
    assert await broker.read_since("s1", LogPosition(4, epoch)) == HistoryGone(
        LogPosition(3, epoch)
    )


async def test_replace_overwrites_a_stored_event_without_telling_listeners(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker(history_size=3)
    recorder = Recorder()
    await broker.subscribe("s1", recorder)
    epoch = await _append_many(broker, 5)  # history keeps 3, 4, 5
    await broker.replace("s1", LogPosition(4, epoch), b"gone")
    await broker.replace("s1", LogPosition(1, epoch), b"too old")  # no longer held
    await broker.replace("s1", LogPosition(9, epoch), b"not yet")
    # Another history's seq 5 is another event: left alone.
    await broker.replace("s1", LogPosition(5, "a lost epoch"), b"not this one")
    assert await broker.read_since("s1", LogPosition(2, epoch)) == [
        (3, b"e3"),
        (4, b"gone"),
        (5, b"e5"),
    ]
    assert [d[2] for d in await recorder.wait_for(5)] == [f"e{n}".encode() for n in range(1, 6)]
    await broker.append("s1", b"e6")
    assert [d[2] for d in await recorder.wait_for(6)][-1] == b"e6"  # nothing else came


# --- snapshots ---------------------------------------------------------------------------------


async def test_snapshots_keep_the_newest(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
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


async def test_directory_create_get_and_find_join_code(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    await broker.create_session("s1", b"record", {"ABCD2345": "c1", "WXYZ6789": "c2"})
    assert await broker.get_session("s1") == b"record"
    assert await broker.get_session("s2") is None
    assert await broker.find_join_code("ABCD2345") == JoinCodeTarget("s1", "c1")
    assert await broker.find_join_code("WXYZ6789") == JoinCodeTarget("s1", "c2")
    assert await broker.find_join_code("NOPE2345") is None


# --- connections across workers ----------------------------------------------------------------


async def test_connections_are_counted_per_participant(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    assert await broker.count_connections("s1", "p_amani") == 0
    await broker.add_connection("s1", "w1:1", "p_amani")
    await broker.add_connection("s1", "w2:7", "p_amani")  # a second tab, on another worker
    await broker.add_connection("s1", "w1:2", "p_ines")
    assert await broker.count_connections("s1", "p_amani") == 2
    await broker.remove_connection("s1", "w1:1")
    assert await broker.count_connections("s1", "p_amani") == 1  # the other tab still holds
    await broker.remove_connection("s1", "w2:7")
    await broker.remove_connection("s1", "w2:7")  # twice is harmless
    assert await broker.count_connections("s1", "p_amani") == 0
    assert await broker.count_connections("s1", "p_ines") == 1
    assert await broker.count_connections("s2", "p_ines") == 0  # sessions are apart
