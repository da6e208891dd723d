"""A gap that stays open must not grow a replica's memory without bound."""

from __future__ import annotations

from server.hub.replica import AHEAD_LIMIT, SessionReplica
from server.rooms.events import Event
from server.rooms.state import SessionState
from server.settings import Limits


def test_events_held_ahead_of_a_gap_are_bounded() -> None:
    replica = SessionReplica(SessionState(), "e1", Limits())
    gaps: list[int] = []
    replica.on_gap = lambda r: gaps.append(r.state.seq)
    payload = Event("chat.posted", 0, {}).to_bytes()
    for seq in range(2, 2 + 3 * AHEAD_LIMIT):  # seq 1 never arrives
        replica.receive(seq, "e1", payload)
    assert len(replica._ahead) <= AHEAD_LIMIT  # what is dropped is read from the log later
    assert len(gaps) == 3 * AHEAD_LIMIT  # every arrival asks for the catch-up


def test_an_event_of_another_epoch_is_not_applied_and_starts_a_recovery() -> None:
    replica = SessionReplica(SessionState(), "e1", Limits())
    foreign: list[str] = []
    replica.on_foreign_epoch = lambda r: foreign.append(r.epoch)
    replica.receive(1, "e2", Event("chat.posted", 0, {}).to_bytes())
    assert (replica.state.seq, foreign) == (0, ["e1"])
