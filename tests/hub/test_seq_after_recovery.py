"""What seq a command is acked with when its append met a log that was lost and rebuilt."""

from __future__ import annotations

from server.broker.base import LogPosition, MovedEvents
from server.hub.hub import _seq_after_recovery
from server.hub.replica import SessionReplica
from server.rooms.state import SessionState
from server.settings import Limits

SHORT_LIVED, REBUILT = "short-lived", "rebuilt"


def _replica(epoch: str, moved: MovedEvents | None) -> SessionReplica:
    replica = SessionReplica(SessionState(), epoch, Limits())
    replica.moved = moved
    return replica


def test_an_append_into_the_history_the_replica_follows_keeps_its_seq() -> None:
    replica = _replica(REBUILT, None)
    assert _seq_after_recovery(replica, LogPosition(7, REBUILT)) == 7


def test_an_append_the_rebuild_moved_is_acked_where_it_went() -> None:
    replica = _replica(REBUILT, MovedEvents(SHORT_LIVED, first=1, shift=300, to_epoch=REBUILT))
    assert _seq_after_recovery(replica, LogPosition(2, SHORT_LIVED)) == 302


def test_a_recovery_that_did_not_reach_the_rebuilt_history_names_no_place() -> None:
    # The replica is still in the lost history: what moved where is not its to tell.
    replica = _replica("lost", MovedEvents(SHORT_LIVED, first=1, shift=300, to_epoch=REBUILT))
    assert _seq_after_recovery(replica, LogPosition(2, SHORT_LIVED)) is None


def test_an_append_from_another_history_or_trimmed_before_the_move_names_no_place() -> None:
    replica = _replica(REBUILT, MovedEvents(SHORT_LIVED, first=3, shift=300, to_epoch=REBUILT))
    assert _seq_after_recovery(replica, LogPosition(2, SHORT_LIVED)) is None
    assert _seq_after_recovery(replica, LogPosition(4, "another")) is None
