"""Recording with consent in the session core (server/rooms/recording.py), without sockets."""

from __future__ import annotations

import msgpack
import pytest

from server.errors import ClassbridgeError, Forbidden
from server.protocol.media import MediaGrant
from server.protocol.recording import RecordingConsent, RecordingStart, RecordingStop
from server.rooms.actor import Actor
from server.rooms.commands import CommandLimits, decide
from server.rooms.events import Event, EventKind
from server.rooms.recording import (
    AlreadyConsented,
    AlreadyRecording,
    NotRequested,
    RecordingDisabled,
    classes_to_consent,
    recorded_classes,
    recording_follow_up,
    recording_start,
)
from server.rooms.roles import Role
from server.rooms.state import RecordingState, dump_state, load_state
from server.rooms.visibility import snapshot_for
from server.signaling.topology import Topology, topology_change, wanted_topology
from tests.rooms.builders import (
    AMANI,
    HOST,
    INGRID,
    OBSERVER,
    STATION,
    TEACHER,
    Session,
    full_session,
    replay,
)

# A second teacher of the host's class (c1): a class consents once, whoever speaks for it.
COLLEAGUE = Actor("p_colleague", "Mr Otieno", Role.TEACHER, "c1")
STATION_C2 = Actor("p_station_c2", "7B room", Role.STATION, "c2")


def start_if_due(session: Session) -> int | None:
    """What the hub's recording keeper does after each event."""
    event = recording_start(session.state, session.tick())
    return None if event is None else session.append(event)


def test_asking_is_consenting_for_the_own_class() -> None:
    session = Session().join(HOST, TEACHER)
    session.command(HOST, RecordingStart())
    recording = session.state.recording
    assert (recording.requested_by, recording.consents) == ("p_host", {"c1": "p_host"})
    assert not recording.active
    assert classes_to_consent(session.state) == ["c2"]
    assert start_if_due(session) is None


def test_it_starts_when_every_class_with_a_publisher_consented() -> None:
    session = Session().join(HOST, TEACHER, STATION, AMANI)
    session.command(HOST, RecordingStart())
    assert start_if_due(session) is None
    seq = session.command(TEACHER, RecordingConsent())
    assert session.log[-1][1].data == {"class_id": "c2", "by": "p_teacher"}
    started = start_if_due(session)
    assert started == seq + 1
    assert session.log[-1][1].kind == EventKind.RECORDING_STARTED
    assert session.log[-1][1].data == {"classes": ["c1", "c2"]}
    recording = session.state.recording
    assert recording.active
    assert recording.started_at == session.log[-1][1].ts
    assert recorded_classes(recording) == {"c1", "c2"}
    assert start_if_due(session) is None  # running: nothing more to decide


def test_one_class_alone_starts_at_the_request() -> None:
    session = Session().join(HOST, STATION)
    session.command(HOST, RecordingStart())
    assert start_if_due(session) is not None


def test_a_class_with_only_its_station_present_keeps_the_recording_waiting() -> None:
    session = Session().join(HOST, STATION_C2)
    session.command(HOST, RecordingStart())
    assert classes_to_consent(session.state) == ["c2"]
    assert start_if_due(session) is None  # no teacher of c2 here to consent
    session.leave(STATION_C2)  # the keeper decides again after presence changes
    assert start_if_due(session) is not None


def test_students_and_observers_do_not_count_and_cannot_act() -> None:
    session = Session().join(HOST, AMANI, OBSERVER)  # OBSERVER is of class c2
    for actor in (AMANI, OBSERVER, STATION):
        with pytest.raises(Forbidden):
            decide(session.state, actor, RecordingStart(), session.tick(), CommandLimits())
    session.command(HOST, RecordingStart())
    assert classes_to_consent(session.state) == []  # c2 has nobody whose media is recorded
    for actor in (AMANI, OBSERVER, STATION):
        for command in (RecordingConsent(), RecordingStop()):
            with pytest.raises(Forbidden):
                session.command(actor, command)


def test_errors() -> None:
    session = Session().join(HOST, TEACHER, COLLEAGUE)
    disabled = CommandLimits(recording=False)
    refusals: list[tuple[Actor, object, type[ClassbridgeError], str]] = [
        (TEACHER, RecordingConsent(), NotRequested, "not_requested"),
        (TEACHER, RecordingStop(), NotRequested, "not_requested"),
    ]
    for actor, command, error, code in refusals:
        with pytest.raises(error) as refused:
            session.command(actor, command)  # type: ignore[arg-type]
        assert refused.value.code == code
    with pytest.raises(RecordingDisabled) as off:
        decide(session.state, HOST, RecordingStart(), session.tick(), disabled)
    assert off.value.code == "recording_disabled"
    session.command(HOST, RecordingStart())
    with pytest.raises(AlreadyRecording):
        session.command(TEACHER, RecordingStart())
    with pytest.raises(AlreadyConsented):
        session.command(COLLEAGUE, RecordingConsent())  # c1 consented with the request
    session.command(TEACHER, RecordingConsent())
    with pytest.raises(AlreadyConsented) as again:
        session.command(TEACHER, RecordingConsent())
    assert again.value.code == "already_consented"


def test_stop_withdraws_a_request_or_stops_a_recording() -> None:
    session = Session().join(HOST, TEACHER)
    session.command(HOST, RecordingStart())
    session.command(TEACHER, RecordingStop())
    assert session.log[-1][1].data == {"by": "p_teacher", "reason": "withdrawn"}
    assert session.state.recording == RecordingState()
    session.command(TEACHER, RecordingStart())
    session.command(HOST, RecordingConsent())
    start_if_due(session)
    session.command(HOST, RecordingStop())  # any teacher or host, not only who asked
    assert session.log[-1][1].data == {"by": "p_host", "reason": "stopped"}
    assert session.state.recording == RecordingState()
    assert recorded_classes(session.state.recording) == frozenset()


def test_a_class_arriving_during_a_recording_is_not_recorded_until_it_consents() -> None:
    session = Session().join(HOST, STATION)
    session.command(HOST, RecordingStart())
    start_if_due(session)
    session.join(TEACHER)  # class c2 arrives: the recording goes on
    assert session.state.recording.active
    assert start_if_due(session) is None
    assert recorded_classes(session.state.recording) == {"c1"}
    session.command(TEACHER, RecordingConsent())  # allowed while it runs
    assert recorded_classes(session.state.recording) == {"c1", "c2"}


def test_raced_decisions_resolve_the_same_on_every_replica() -> None:
    session = Session().join(HOST, TEACHER)
    first = decide(
        session.state, HOST, RecordingStart(), session.tick(), CommandLimits(recording=True)
    )
    second = decide(
        session.state, TEACHER, RecordingStart(), session.tick(), CommandLimits(recording=True)
    )
    session.append(first[0])
    session.append(second[0])  # decided on a replica that had not seen the first
    assert session.state.recording.requested_by == "p_host"
    assert session.state.recording.consents == {"c1": "p_host"}
    consent = decide(session.state, TEACHER, RecordingConsent(), session.tick(), CommandLimits())
    session.append(consent[0])
    start = recording_start(session.state, session.tick())
    assert start is not None
    session.append(start)
    session.append(start)  # two workers decided it: the second changes nothing
    started_at = session.state.recording.started_at
    session.append(Event(EventKind.RECORDING_STARTED, session.tick(), {"classes": []}))
    assert session.state.recording.started_at == started_at
    stop = decide(session.state, HOST, RecordingStop(), session.tick(), CommandLimits())
    session.append(stop[0])
    session.append(consent[0])  # a consent decided before the stop reached its worker
    session.append(start)  # and a start: nothing is asked any more
    assert session.state.recording == RecordingState()
    assert replay(session.log) == session.state


def test_the_recording_is_in_snapshots_and_the_welcome() -> None:
    session = full_session()
    session.command(HOST, RecordingStart())
    session.command(TEACHER, RecordingConsent())
    start_if_due(session)
    stored = msgpack.unpackb(msgpack.packb(dump_state(session.state)))
    assert load_state(stored) == session.state
    old = {k: v for k, v in stored.items() if k != "recording"}  # a snapshot from before
    assert load_state(old).recording == RecordingState()
    wire = snapshot_for(session.state, AMANI)["recording"]
    assert wire == {
        "requested_by": "p_host",
        "requested_at": session.log[-3][1].ts,
        "consents": {"c1": "p_host", "c2": "p_teacher"},
        "active": True,
        "started_at": session.log[-1][1].ts,
    }


def test_a_recording_forces_the_relay_from_one_publisher() -> None:
    assert wanted_topology(1, False, recording=True) == Topology.RELAY
    assert wanted_topology(0, False, recording=True) == Topology.NONE
    assert wanted_topology(2, False, recording=True) == Topology.RELAY
    assert wanted_topology(2, False) == Topology.P2P
    session = Session().join(HOST, TEACHER)
    decided = topology_change(session.state, session.tick(), settled=False)
    assert decided is not None
    assert decided.data["topology"] == "p2p"
    session.append(decided)
    session.command(HOST, RecordingStart())  # asked, not yet consented: relay already
    decided = topology_change(session.state, session.tick(), settled=False)
    assert decided is not None
    assert decided.data["topology"] == "relay"
    session.append(decided)
    session.command(TEACHER, RecordingStop())
    # Back to p2p only once settled, as for any fall back from the relay.
    assert topology_change(session.state, session.tick(), settled=False) is None
    decided = topology_change(session.state, session.tick(), settled=True)
    assert decided is not None
    assert decided.data["topology"] == "p2p"


def follow_up(session: Session) -> Event | None:
    """What the hub's recording keeper appends after a presence, consent or grant change."""
    event = recording_follow_up(session.state, session.tick())
    if event is not None:
        session.append(event)
    return event


def test_the_recording_stops_when_the_last_teacher_leaves() -> None:
    session = Session().join(HOST, TEACHER, STATION, AMANI)
    session.command(HOST, RecordingStart())
    session.command(TEACHER, RecordingConsent())
    started = follow_up(session)
    assert started is not None
    assert started.kind == EventKind.RECORDING_STARTED
    session.leave(HOST)
    assert follow_up(session) is None  # a teacher of c2 is still there
    assert session.state.recording.active
    session.leave(TEACHER)
    stopped = follow_up(session)
    assert stopped is not None
    assert (stopped.kind, stopped.data) == (
        EventKind.RECORDING_STOPPED,
        {"by": None, "reason": "no_teacher"},
    )
    assert not session.state.recording.on
    assert follow_up(session) is None  # nothing left to stop


def test_a_request_waiting_for_consent_is_withdrawn_when_no_teacher_is_left() -> None:
    session = Session().join(HOST, STATION_C2)
    session.command(HOST, RecordingStart())
    session.leave(HOST)
    stopped = follow_up(session)
    assert stopped is not None
    assert stopped.data["reason"] == "no_teacher"
    assert session.state.recording.requested_by is None


def test_a_granted_student_makes_their_class_consent() -> None:
    session = Session().join(HOST, AMANI, INGRID)
    session.command(HOST, RecordingStart())
    assert classes_to_consent(session.state) == []  # students have no media by default
    session.command(HOST, MediaGrant("p_ingrid", on=True))
    assert classes_to_consent(session.state) == ["c2"]
    assert follow_up(session) is None  # nobody of c2 may consent: the recording waits
    session.command(HOST, MediaGrant("p_ingrid", on=False))
    started = follow_up(session)
    assert started is not None
    assert started.kind == EventKind.RECORDING_STARTED
