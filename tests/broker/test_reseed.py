"""``Broker.reseed``: restoring a lost log from a replica, on both brokers."""

from __future__ import annotations

from server.broker.base import HistoryGone, LogPosition, ReseedOutcome, StoredSnapshot
from server.rooms.events import Event, EventKind, redacted_post
from tests.broker.conftest import BrokerFactory, Recorder, make_broker

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
    appended = await broker.append("s1", b"appended after the loss")  # seq 1 of a fresh epoch
    result = await broker.reseed("s1", known, b"state at 500")
    assert result.outcome is ReseedOutcome.RESEEDED
    assert result.position.seq == 501  # the event moved above the floor: nothing reused
    # Where it went, for the worker whose append was answered in the fresh epoch.
    assert result.moved is not None
    assert result.moved.to_epoch == result.position.epoch
    assert result.moved.moved(appended) == 501
    assert result.moved.moved(LogPosition(1, result.position.epoch)) is None
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
    assert second.moved == result.moved  # a worker that adopts learns it too
    assert (await broker.append("s1", b"next")).seq == 502


async def test_a_reseed_of_an_emptied_log_moves_nothing(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    result = await broker.reseed("s1", LogPosition(40, "gone-epoch"), b"state at 40")
    assert (result.outcome, result.position.seq) == (ReseedOutcome.RESEEDED, 40)
    assert result.moved is None


async def test_moved_events_keep_their_order_and_trimmed_ones_have_no_place(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker(history_size=3)
    # Five appends after the loss, in a history that keeps three: the first two are trimmed.
    appended = [await broker.append("s1", f"after {n}".encode()) for n in range(5)]
    assert [position.seq for position in appended] == [1, 2, 3, 4, 5]
    result = await broker.reseed("s1", LogPosition(200, "gone-epoch"), b"state at 200")
    assert result.moved is not None
    assert [result.moved.moved(position) for position in appended] == [None, None, 201, 202, 203]
    floor = LogPosition(200, result.position.epoch)
    moved = await broker.read_since("s1", floor)
    assert moved == [(201, b"after 2"), (202, b"after 3"), (203, b"after 4")]
    # A worker that adopts the epoch after a later snapshot of it still learns where they went.
    await broker.save_snapshot("s1", StoredSnapshot(203, result.position.epoch, b"at 203"))
    adopted = await broker.reseed("s1", LogPosition(150, "gone-epoch"), b"state at 150")
    assert (adopted.outcome, adopted.moved) == (ReseedOutcome.ADOPT, result.moved)


async def test_an_append_below_what_its_caller_applied_appends_nothing(
    make_broker: BrokerFactory,
) -> None:
    """A log restored short of its last writes (``appendfsync everysec``) keeps its epoch: the
    next seq would be one the caller's replica already holds, so the append is refused; so is
    one whose caller follows another epoch (its ids may name other events in this one)."""
    broker = await make_broker()
    heard = Recorder()
    await broker.subscribe("s1", heard)
    for text in (b"one", b"two", b"three"):
        top = await broker.append("s1", text)
    ahead = LogPosition(top.seq + 2, top.epoch)  # a replica that applied two events since lost

    refused = await broker.append("s1", b"would reuse seq 4", after=ahead)

    assert refused == top  # below the caller's seq: nothing appended
    assert await broker.position("s1") == top
    start = LogPosition(0, top.epoch)
    assert await broker.read_since("s1", start) == [(1, b"one"), (2, b"two"), (3, b"three")]
    elsewhere = await broker.append("s1", b"from another history", after=LogPosition(1, "e0"))
    assert elsewhere == top
    # A caller at the top appends as usual, and so does one that names no position.
    assert (await broker.append("s1", b"four", after=top)).seq == 4
    assert await broker.append("s1", b"five") == LogPosition(5, top.epoch)
    assert [payload for _, _, payload in await heard.wait_for(5)] == [
        b"one",
        b"two",
        b"three",
        b"four",
        b"five",
    ]


def _event(ts: int) -> bytes:
    return Event(EventKind.CHAT_POSTED, ts, {"text": f"posted at {ts}"}).to_bytes()


async def test_a_log_written_over_in_the_same_epoch_has_diverged(
    make_broker: BrokerFactory,
) -> None:
    """Redis came back short of its last writes, and a replica that was behind appended over
    the lost seqs: same epoch, same top, other events. Only their timestamps tell."""
    broker = await make_broker()
    for ts in (1001, 1002, 1003):
        here = await broker.append("s1", _event(ts))
    mine = [(3, 9003), (2, 1002), (1, 1001)]  # this replica applied another event at 3
    result = await broker.reseed("s1", here, b"state", mine)
    assert (result.outcome, result.position) == (ReseedOutcome.DIVERGED, here)
    same = [(3, 1003), (2, 1002)]
    assert (await broker.reseed("s1", here, b"state", same)).outcome is ReseedOutcome.INTACT
    # Marks of seqs the log no longer has, or none at all: nothing to compare, as before.
    assert (await broker.reseed("s1", here, b"", [(5, 1)])).outcome is ReseedOutcome.INTACT
    assert await broker.position("s1") == here  # a check changes nothing


async def test_a_shorter_log_is_compared_at_its_top(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    for ts in (1001, 1002):
        top = await broker.append("s1", _event(ts))
    known = LogPosition(4, top.epoch)  # the replica applied 3 and 4, which Redis lost
    written_over = [(4, 1004), (3, 1003), (2, 9002)]
    result = await broker.reseed("s1", known, b"state at 4", written_over)
    assert (result.outcome, result.position) == (ReseedOutcome.DIVERGED, top)
    # The log is a prefix of the replica's history: restored from it, as without marks. A
    # check without the state asks for it instead of restoring.
    prefix = [(4, 1004), (3, 1003), (2, 1002)]
    check = await broker.reseed("s1", known, b"", prefix)
    assert (check.outcome, check.position) == (ReseedOutcome.UNSETTLED, top)
    assert await broker.position("s1") == top
    restored = await broker.reseed("s1", known, b"state at 4", prefix)
    assert (restored.outcome, restored.position.seq) == (ReseedOutcome.RESEEDED, 4)


async def test_a_redacted_post_is_passed_over_for_the_event_below(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    for ts in (1001, 1002, 1003):
        here = await broker.append("s1", _event(ts))
    await broker.replace("s1", here, redacted_post(3, 2000).to_bytes())  # the deletion's ts
    kept = [(3, 1003), (2, 1002)]
    assert (await broker.reseed("s1", here, b"", kept)).outcome is ReseedOutcome.INTACT
    other_below = [(3, 1003), (2, 9002)]
    assert (await broker.reseed("s1", here, b"", other_below)).outcome is ReseedOutcome.DIVERGED


async def test_a_renewed_epoch_tells_adopters_how_far_it_agrees(make_broker: BrokerFactory) -> None:
    """After a log DIVERGED, the replica rebuilt from it gives its history a new epoch: those
    still in the old one adopt it, and learn up to which seq their states surely agree. What
    others appended while it rebuilt stays, at the same seqs."""
    broker = await make_broker()
    for ts in (1001, 1002, 1003):
        here = await broker.append("s1", _event(ts))
    rebuilt = LogPosition(2, here.epoch)  # 3 was appended while this replica rebuilt to 2
    renewed = await broker.reseed("s1", rebuilt, b"state at 2", [(2, 1002)], renew_from=1)
    assert (renewed.outcome, renewed.position.seq, renewed.agreed) == (
        ReseedOutcome.RESEEDED,
        3,
        1,
    )
    new = renewed.position.epoch
    assert new != here.epoch
    assert renewed.moved is not None
    assert renewed.moved.moved(here) == 3  # an append answered at 3 in the old epoch
    assert await broker.read_since("s1", LogPosition(2, new)) == [(3, _event(1003))]
    snapshot = await broker.load_snapshot("s1")
    assert snapshot is not None
    assert (snapshot.seq, snapshot.epoch, snapshot.payload) == (2, new, b"state at 2")
    adopted = await broker.reseed("s1", here, b"", [(3, 1003)])
    assert (adopted.outcome, adopted.position, adopted.agreed) == (
        ReseedOutcome.ADOPT,
        renewed.position,
        1,
    )
    assert (await broker.append("s1", _event(1004))).seq == 4
    # A snapshot of the old epoch, saved late, does not replace the new one's start.
    await broker.save_snapshot("s1", StoredSnapshot(3, here.epoch, b"old history at 3"))
    assert await broker.load_snapshot("s1") == snapshot
    # A re-seed after a loss renews nothing: no such bound.
    lost = await broker.reseed("s2", LogPosition(40, "gone-epoch"), b"state at 40")
    assert (lost.outcome, lost.agreed) == (ReseedOutcome.RESEEDED, None)
    later = await broker.reseed("s2", LogPosition(30, "gone-epoch"), b"")
    assert (later.outcome, later.agreed) == (ReseedOutcome.ADOPT, None)


async def test_a_log_shorter_than_the_marks_reach_is_followed(make_broker: BrokerFactory) -> None:
    """Shorter than the replica by more than it remembers: whether a replica that was behind
    wrote over the lost seqs cannot be told, and restoring the replica's state could drop what
    it appended; so the log is followed (DIVERGED), not restored."""
    broker = await make_broker()
    for ts in range(1001, 1021):
        top = await broker.append("s1", _event(ts))
    marks = [(seq, 90_000 + seq) for seq in range(300, 44, -1)]  # 45..300: none at the top, 20
    result = await broker.reseed("s1", LogPosition(300, top.epoch), b"state at 300", marks)
    assert (result.outcome, result.position) == (ReseedOutcome.DIVERGED, top)
    # Without marks (a replica that applied nothing since it was loaded): restored, as before.
    plain = await broker.reseed("s1", LogPosition(300, top.epoch), b"state at 300")
    assert (plain.outcome, plain.position.seq) == (ReseedOutcome.RESEEDED, 300)


async def test_a_renewal_of_a_log_that_got_shorter_again_waits(make_broker: BrokerFactory) -> None:
    """A renewal gives the log's own history a new name; it never restores the caller's state
    over a log that lost more meanwhile (that would drop what others appended)."""
    broker = await make_broker()
    top = await broker.append("s1", _event(1001))
    known = LogPosition(3, top.epoch)  # rebuilt to 3, and the log is at 1 now
    result = await broker.reseed("s1", known, b"state at 3", renew_from=1)
    assert (result.outcome, result.position) == (ReseedOutcome.UNSETTLED, top)
    assert await broker.read_since("s1", LogPosition(0, top.epoch)) == [(1, _event(1001))]


async def test_a_snapshot_above_the_log_or_of_another_epoch_is_refused(
    make_broker: BrokerFactory,
) -> None:
    """Packed before Redis lost its last writes, or by a replica still in an old history, a
    snapshot would bring back events the log does not have."""
    broker = await make_broker()
    for ts in (1001, 1002):
        top = await broker.append("s1", _event(ts))
    kept = StoredSnapshot(2, top.epoch, b"state at 2")
    await broker.save_snapshot("s1", kept)
    await broker.save_snapshot("s1", StoredSnapshot(3, top.epoch, b"state at 3, lost"))
    await broker.save_snapshot("s1", StoredSnapshot(2, "another-epoch", b"other"))
    assert await broker.load_snapshot("s1") == kept
