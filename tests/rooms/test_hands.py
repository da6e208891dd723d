"""Raised hands in the session core (server/rooms/hands.py), without sockets."""

from __future__ import annotations

import msgpack
import pytest

from server.errors import Forbidden, NotFound
from server.protocol.classroom import HandClear, HandLower, HandRaise
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.hands import AlreadyRaised
from server.rooms.state import dump_state, load_state
from server.rooms.visibility import snapshot_for
from tests.rooms.builders import (
    AMANI,
    HOST,
    INGRID,
    OBSERVER,
    OLA,
    STATION,
    TEACHER,
    Session,
    full_session,
    replay,
)


def queue(session: Session) -> list[str]:
    return [hand.participant for hand in session.state.hands]


def test_hands_queue_in_the_order_they_were_raised() -> None:
    session = full_session()
    first = session.command(INGRID, HandRaise())
    session.command(STATION, HandRaise())
    session.command(AMANI, HandRaise())
    assert queue(session) == ["p_ingrid", "p_station", "p_amani"]
    # The time is the event's, stamped by the server: the same on every replica.
    assert session.state.hands[0].raised_at == session.log[first - 1][1].ts
    wire = snapshot_for(session.state, OLA)["hands"]
    assert [h["participant"] for h in wire] == ["p_ingrid", "p_station", "p_amani"]
    assert wire[0] == {"participant": "p_ingrid", "raised_at": session.state.hands[0].raised_at}


@pytest.mark.parametrize("actor", [HOST, TEACHER, OBSERVER])
def test_only_students_and_stations_raise(actor: Actor) -> None:
    session = full_session()
    with pytest.raises(Forbidden):
        session.command(actor, HandRaise())
    assert session.state.hands == []


def test_raising_twice_is_refused_and_keeps_the_place() -> None:
    session = full_session()
    session.command(AMANI, HandRaise())
    session.command(INGRID, HandRaise())
    with pytest.raises(AlreadyRaised) as refused:
        session.command(AMANI, HandRaise())
    assert refused.value.code == "already_raised"
    assert queue(session) == ["p_amani", "p_ingrid"]


def test_a_raise_that_raced_another_keeps_the_first_place() -> None:
    """Two tabs of one student raise at once: both reach the log; the first one holds."""
    session = full_session()
    raised = Event(EventKind.HAND_RAISED, session.tick(), {"participant": "p_amani"})
    session.append(raised)
    session.command(INGRID, HandRaise())
    session.append(Event(EventKind.HAND_RAISED, session.tick(), {"participant": "p_amani"}))
    assert queue(session) == ["p_amani", "p_ingrid"]
    assert session.state.hands[0].raised_at == raised.ts


def test_students_lower_their_own_hand_only() -> None:
    session = full_session()
    session.command(AMANI, HandRaise())
    session.command(INGRID, HandRaise())
    with pytest.raises(Forbidden):
        session.command(INGRID, HandLower("p_amani"))
    seq = session.command(AMANI, HandLower())
    assert session.log[seq - 1][1].data == {"participant": "p_amani", "by": "p_amani"}
    assert queue(session) == ["p_ingrid"]
    with pytest.raises(NotFound):  # not raised any more
        session.command(AMANI, HandLower())


def test_teachers_lower_anyones_hand_and_clear_all() -> None:
    session = full_session()
    for student in (AMANI, INGRID, OLA):
        session.command(student, HandRaise())
    seq = session.command(TEACHER, HandLower("p_ingrid"))
    assert session.log[seq - 1][1].data == {"participant": "p_ingrid", "by": "p_teacher"}
    assert queue(session) == ["p_amani", "p_ola"]
    with pytest.raises(NotFound):
        session.command(HOST, HandLower("p_nobody"))
    with pytest.raises(Forbidden):
        session.command(AMANI, HandClear())
    seq = session.command(HOST, HandClear())
    assert session.log[seq - 1][1].data == {"by": "p_host"}
    assert queue(session) == []


def test_leaving_lowers_the_hand_on_every_replica() -> None:
    session = full_session()
    session.command(AMANI, HandRaise())
    session.command(INGRID, HandRaise())
    session.leave(AMANI)
    assert queue(session) == ["p_ingrid"]
    # Back again: at the end of the line, like anyone who raises now.
    session.join(AMANI)
    session.command(AMANI, HandRaise())
    assert queue(session) == ["p_ingrid", "p_amani"]
    assert dump_state(replay(session.log)) == dump_state(session.state)


def test_a_raise_logged_after_its_sender_left_is_ignored() -> None:
    session = full_session()
    raised = Event(EventKind.HAND_RAISED, session.tick(), {"participant": "p_amani"})
    session.leave(AMANI)
    session.append(raised)
    assert queue(session) == []


def test_hands_survive_a_snapshot_and_old_snapshots_load() -> None:
    session = full_session()
    session.command(OLA, HandRaise())
    session.command(AMANI, HandRaise())
    stored = msgpack.unpackb(msgpack.packb(dump_state(session.state)))
    assert dump_state(load_state(stored)) == dump_state(session.state)
    old = {k: v for k, v in stored.items() if k not in ("hands", "polls")}
    assert load_state(old).hands == []
