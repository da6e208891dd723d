"""Who may signal whom and what a signal may hold: the rules, on a replica's state."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import ClassbridgeError
from server.protocol.media import MediaGrant
from server.protocol.peer import PeerSignal, Signal
from server.rooms.actor import Actor
from server.rooms.roles import Role
from server.signaling.relay import MAX_CANDIDATE_CHARS, MAX_SDP_CHARS, relay_signal
from tests.rooms.builders import AMANI, HOST, OBSERVER, STATION, TEACHER, Session

PARTNER_STATION = Actor("p_station_no", "7B room", Role.STATION, "c2")
OFFER = {"type": "offer", "sdp": "v=0\r\n"}


def _session() -> Session:
    return Session().join(HOST, TEACHER, STATION, PARTNER_STATION, AMANI, OBSERVER)


def _signal(
    to: str,
    pc: str = "cam-1",
    description: dict[str, str] | None = OFFER,
    candidate: dict[str, Any] | None = None,
) -> Signal:
    return Signal(to=to, pc=pc, description=description, candidate=candidate)


def _refused(sender: Actor, signal: Signal, session: Session | None = None) -> tuple[str, str]:
    state = (session or _session()).state
    with pytest.raises(ClassbridgeError) as raised:
        relay_signal(state, sender, signal)
    return raised.value.code, str(raised.value.detail)


@pytest.mark.parametrize("sender", [HOST, TEACHER, STATION], ids=lambda a: a.role.value)
def test_media_roles_signal_each_other(sender: Actor) -> None:
    to, relayed = relay_signal(_session().state, sender, _signal(PARTNER_STATION.participant_id))
    assert to == PARTNER_STATION.participant_id
    assert relayed == PeerSignal(sender=sender.participant_id, pc="cam-1", description=OFFER)


def test_a_candidate_is_relayed_as_given() -> None:
    candidate = {"candidate": "candidate:1 1 udp 1 192.0.2.1 9 typ host", "sdpMLineIndex": 0}
    signal = Signal(to=STATION.participant_id, pc="cam-1", candidate=candidate)
    _, relayed = relay_signal(_session().state, PARTNER_STATION, signal)
    assert relayed.candidate == candidate
    assert relayed.description is None


@pytest.mark.parametrize("sender", [AMANI, OBSERVER], ids=lambda a: a.role.value)
def test_students_and_observers_cannot_signal(sender: Actor) -> None:
    assert _refused(sender, _signal(STATION.participant_id)) == ("forbidden", "to")


@pytest.mark.parametrize("target", [AMANI, OBSERVER], ids=lambda a: a.role.value)
def test_nobody_can_signal_a_student_or_an_observer(target: Actor) -> None:
    assert _refused(TEACHER, _signal(target.participant_id)) == ("forbidden", "to")


def test_a_student_signals_and_is_signalled_only_while_granted() -> None:
    session = _session()
    session.command(TEACHER, MediaGrant(AMANI.participant_id, on=True))
    to, _ = relay_signal(session.state, AMANI, _signal(STATION.participant_id))
    assert to == STATION.participant_id
    to, _ = relay_signal(session.state, STATION, _signal(AMANI.participant_id))
    assert to == AMANI.participant_id
    session.command(HOST, MediaGrant(AMANI.participant_id, on=False))
    assert _refused(AMANI, _signal(STATION.participant_id), session) == ("forbidden", "to")
    assert _refused(STATION, _signal(AMANI.participant_id), session) == ("forbidden", "to")


def test_unknown_participant() -> None:
    assert _refused(STATION, _signal("p_nobody")) == ("not_found", "to")


def test_signalling_yourself_is_invalid() -> None:
    assert _refused(STATION, _signal(STATION.participant_id)) == ("invalid_message", "to")


def test_an_absent_participant_cannot_be_signalled() -> None:
    session = _session()
    session.leave(PARTNER_STATION)
    refused = _refused(STATION, _signal(PARTNER_STATION.participant_id), session)
    assert refused == ("participant_absent", "to")


@pytest.mark.parametrize("pc", ["", "cam 1", "x" * 65, "cam\n1"])
def test_peer_connection_ids_are_short_and_printable(pc: str) -> None:
    signal = _signal(PARTNER_STATION.participant_id, pc=pc)
    assert _refused(STATION, signal) == ("invalid_message", "pc")


@pytest.mark.parametrize(
    ("description", "candidate", "expected"),
    [
        ({"type": "bogus", "sdp": ""}, None, ("invalid_message", "description.type")),
        (
            {"type": "offer", "sdp": "a" * (MAX_SDP_CHARS + 1)},
            None,
            ("too_large", "description.sdp"),
        ),
        (
            None,
            {"candidate": "c" * (MAX_CANDIDATE_CHARS + 1)},
            ("too_large", "candidate.candidate"),
        ),
        (None, {"candidate": "", "sdpMid": "m" * 65}, ("too_large", "candidate.sdpMid")),
    ],
)
def test_contents_are_bounded(
    description: dict[str, str] | None, candidate: dict[str, Any] | None, expected: tuple[str, str]
) -> None:
    signal = _signal(PARTNER_STATION.participant_id, description=description, candidate=candidate)
    assert _refused(STATION, signal) == expected


def test_the_longest_allowed_description_passes() -> None:
    description = {"type": "answer", "sdp": "a" * MAX_SDP_CHARS}
    signal = Signal(to=PARTNER_STATION.participant_id, pc="c", description=description)
    assert relay_signal(_session().state, STATION, signal)[1].description == description
