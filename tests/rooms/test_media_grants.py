"""Granting a student video (server/rooms/media.py, state.takes_part_in_video), without sockets."""

from __future__ import annotations

import msgpack
import pytest

from server.errors import ClassbridgeError
from server.protocol.media import MediaGrant
from server.rooms.actor import Actor
from server.rooms.events import EventKind
from server.rooms.state import (
    dump_state,
    load_state,
    present_publishers,
    takes_part_in_video,
)
from server.rooms.visibility import snapshot_for
from server.signaling.topology import topology_change
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
)


def _refused(actor: Actor, command: MediaGrant, session: Session | None = None) -> str:
    session = session or full_session()
    with pytest.raises(ClassbridgeError) as raised:
        session.command(actor, command)
    return raised.value.code


def test_a_teacher_grants_and_takes_back() -> None:
    session = full_session()
    assert not takes_part_in_video(session.state, AMANI.participant_id)
    session.command(TEACHER, MediaGrant(AMANI.participant_id, on=True))  # a partner teacher too
    event = session.log[-1][1]
    assert (event.kind, event.data) == (
        EventKind.MEDIA_GRANTED,
        {"participant_id": "p_amani", "on": True, "by": "p_teacher"},
    )
    assert takes_part_in_video(session.state, AMANI.participant_id)
    assert AMANI.participant_id in present_publishers(session.state)
    session.command(HOST, MediaGrant(AMANI.participant_id, on=False))
    assert not takes_part_in_video(session.state, AMANI.participant_id)
    assert AMANI.participant_id not in present_publishers(session.state)


@pytest.mark.parametrize("sender", [AMANI, STATION, OBSERVER], ids=lambda a: a.role.value)
def test_only_teachers_grant(sender: Actor) -> None:
    assert _refused(sender, MediaGrant(INGRID.participant_id, on=True)) == "forbidden"


def test_only_students_of_the_session_are_granted() -> None:
    assert _refused(HOST, MediaGrant("p_nobody", on=True)) == "not_found"
    for other in (STATION, TEACHER, OBSERVER):
        assert _refused(HOST, MediaGrant(other.participant_id, on=True)) == "invalid_message"


def test_an_absent_granted_student_is_not_a_publisher_until_back() -> None:
    session = full_session()
    session.command(HOST, MediaGrant(OLA.participant_id, on=True))
    session.leave(OLA)
    assert OLA.participant_id not in present_publishers(session.state)
    session.join(OLA)  # the grant outlives the absence
    assert OLA.participant_id in present_publishers(session.state)


def test_the_topology_counts_a_granted_student() -> None:
    session = Session().join(HOST, STATION, AMANI)
    decided = topology_change(session.state, session.tick(), settled=False)
    assert decided is not None
    assert decided.data["topology"] == "p2p"
    session.append(decided)
    session.command(HOST, MediaGrant(AMANI.participant_id, on=True))
    decided = topology_change(session.state, session.tick(), settled=False)
    assert decided is not None
    assert decided.data == {"topology": "mesh", "publishers": ["p_amani", "p_host", "p_station"]}


def test_grants_are_in_snapshots_and_the_welcome() -> None:
    session = full_session()
    session.command(HOST, MediaGrant(INGRID.participant_id, on=True))
    packed = msgpack.packb(dump_state(session.state), use_bin_type=True)
    restored = load_state(msgpack.unpackb(packed, raw=False))
    assert restored.media.grants == {"p_ingrid"}
    assert snapshot_for(session.state, AMANI)["media"]["grants"] == ["p_ingrid"]


def test_a_snapshot_from_before_grants_loads_with_none() -> None:
    data = dump_state(full_session().state)
    del data["media"]["grants"]
    assert load_state(data).media.grants == set()
