"""The topology policy: p2p, mesh, relay; at once upwards, settled downwards; in the log."""

from __future__ import annotations

import pytest

from server.errors import ClassbridgeError
from server.protocol.media import MediaRelay
from server.rooms.actor import Actor
from server.rooms.roles import Role
from server.signaling.topology import Topology, topology_change, waits_to_settle, wanted_topology
from tests.rooms.builders import AMANI, HOST, INGRID, STATION, TEACHER, Session

STATIONS = [Actor(f"p_station{n}", f"Room {n}", Role.STATION, "c2") for n in range(4)]


@pytest.mark.parametrize(
    ("publishers", "requested", "expected"),
    [
        (0, False, Topology.NONE),
        (1, True, Topology.NONE),
        (2, False, Topology.P2P),
        (3, False, Topology.MESH),
        (4, False, Topology.MESH),
        (5, False, Topology.RELAY),
        (2, True, Topology.RELAY),
    ],
)
def test_the_policy(publishers: int, requested: bool, expected: Topology) -> None:
    assert wanted_topology(publishers, requested) == expected


def _decide(session: Session, *, settled: bool = False) -> str:
    """What the deciding worker does after a change: append the decision, if any."""
    change = topology_change(session.state, session.tick(), settled=settled)
    if change is not None:
        session.append(change)
    return session.state.media.topology


def test_students_do_not_count() -> None:
    session = Session().join(STATION, AMANI, INGRID)
    assert _decide(session) == "none"
    session.join(TEACHER)
    assert _decide(session) == "p2p"
    assert session.log[-1][1].data == {"topology": "p2p", "publishers": ["p_station", "p_teacher"]}


def test_up_at_once_down_only_when_settled() -> None:
    session = Session().join(HOST, STATION, *STATIONS[:2])
    assert _decide(session) == "mesh"
    session.join(STATIONS[2])
    assert _decide(session) == "relay"  # five publishers
    session.leave(STATIONS[2])
    assert _decide(session) == "relay"  # four again, but not for long yet
    assert waits_to_settle(session.state)
    assert _decide(session, settled=True) == "mesh"
    assert not waits_to_settle(session.state)


def test_a_settled_count_that_went_up_again_stays_on_the_relay() -> None:
    session = Session().join(HOST, STATION, *STATIONS[:3])
    assert _decide(session) == "relay"
    session.leave(STATIONS[0])
    session.join(STATIONS[0])  # back before the wait was over
    assert not waits_to_settle(session.state)
    assert _decide(session, settled=True) == "relay"


def test_teachers_ask_for_the_relay() -> None:
    session = Session().join(TEACHER, STATION)
    assert _decide(session) == "p2p"
    session.command(TEACHER, MediaRelay(on=True))
    assert _decide(session) == "relay"
    session.command(HOST, MediaRelay(on=False))
    assert _decide(session, settled=True) == "p2p"
    with pytest.raises(ClassbridgeError) as refused:
        session.command(STATION, MediaRelay(on=True))
    assert refused.value.code == "forbidden"


def test_a_decision_raced_by_a_presence_change_is_ignored() -> None:
    """Decided when two were present; a third joined before the decision reached the log."""
    session = Session().join(TEACHER, STATION)
    stale = topology_change(session.state, session.tick(), settled=False)
    assert stale is not None
    session.join(STATIONS[0])
    session.append(stale)
    assert session.state.media.topology == "none"
    assert _decide(session) == "mesh"  # the later decision, made after the join, applies
