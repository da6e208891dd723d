"""The lobby's pure rules: who waits under each policy, admitting and denying, visibility."""

from __future__ import annotations

import pytest

from server.errors import Forbidden, InvalidMessage, NotFound
from server.protocol.lobby import LobbyAdmit, LobbyDeny
from server.protocol.messages import SettingsUpdate
from server.protocol.moderation import ModerationScope
from server.rooms.actor import Actor
from server.rooms.commands import decide
from server.rooms.events import Event, EventKind
from server.rooms.lobby import (
    admitted_by_policy_event,
    left_lobby_event,
    must_wait,
    waiting_event,
)
from server.rooms.lobby_state import parse_policy, stored_policy
from server.rooms.roles import Role
from server.rooms.settings_rules import validate_settings
from server.rooms.state import SessionSettings, dump_state, load_state
from server.rooms.visibility import can_see, snapshot_for
from tests.rooms.builders import (
    AMANI,
    HOST,
    INGRID,
    LIMITS,
    OBSERVER,
    STATION,
    TEACHER,
    Session,
)
from tests.rooms.lobby_steps import BAHATI, SOLVEIG

TEACHER_C1 = Actor("p_teacher_c1", "Mwalimu Otieno", Role.TEACHER, "c1")
NEWCOMERS = (BAHATI, SOLVEIG)


def lobby_session(policy: str, *present: Actor) -> Session:
    return Session(SessionSettings(lobby=policy)).join(*present)


def wait(session: Session, *actors: Actor) -> None:
    for actor in actors:
        session.append(waiting_event(actor, session.tick()))


# --- who waits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("student", NEWCOMERS)
def test_open_lets_everyone_in(student: Actor) -> None:
    assert not must_wait(lobby_session("open").state, student)


@pytest.mark.parametrize("student", NEWCOMERS)
def test_everyone_makes_every_student_wait_even_with_teachers_present(student: Actor) -> None:
    session = lobby_session("everyone", HOST, TEACHER, TEACHER_C1)
    assert must_wait(session.state, student)


@pytest.mark.parametrize("actor", [HOST, TEACHER, STATION, OBSERVER])
@pytest.mark.parametrize("policy", ["class", "everyone"])
def test_only_students_ever_wait(actor: Actor, policy: str) -> None:
    assert not must_wait(lobby_session(policy).state, actor)


def test_class_waits_for_a_teacher_of_the_students_own_class() -> None:
    session = lobby_session("class", TEACHER)  # Mr Berg teaches c2
    assert must_wait(session.state, BAHATI)  # c1: nobody of theirs is here
    assert not must_wait(session.state, SOLVEIG)  # c2: their teacher is present
    session.join(TEACHER_C1)
    assert not must_wait(session.state, BAHATI)


def test_class_counts_a_host_of_that_class_and_only_while_present() -> None:
    session = lobby_session("class", HOST)  # the host belongs to c1
    assert not must_wait(session.state, BAHATI)
    session.leave(HOST)
    assert must_wait(session.state, BAHATI)


def test_class_does_not_count_a_station_or_a_student_of_that_class() -> None:
    session = lobby_session("class", STATION, AMANI)
    assert must_wait(session.state, BAHATI)


@pytest.mark.parametrize("policy", ["class", "everyone"])
def test_someone_who_was_in_the_session_never_waits_again(policy: str) -> None:
    session = lobby_session(policy, AMANI)
    session.leave(AMANI)
    assert not must_wait(session.state, AMANI)


def test_an_admitted_student_does_not_wait_again_before_joining() -> None:
    session = lobby_session("everyone", TEACHER)
    wait(session, BAHATI)
    session.command(TEACHER, LobbyAdmit("p_bahati"))
    assert not must_wait(session.state, BAHATI)
    assert "p_bahati" not in session.state.lobby.waiting


def test_an_admission_by_the_policy_is_remembered() -> None:
    session = lobby_session("class", TEACHER_C1)
    wait(session, BAHATI)
    session.append(admitted_by_policy_event("p_bahati", session.tick()))
    session.leave(TEACHER_C1)
    assert not must_wait(session.state, BAHATI)
    assert session.log[-2][1].data == {"participants": ["p_bahati"], "class_id": None, "by": None}


# --- the setting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("open", "open"),
        ("class", "class"),
        ("everyone", "everyone"),
        (True, "everyone"),
        (False, "open"),
    ],
)
def test_policy_values_and_the_old_booleans(given: object, stored: str) -> None:
    assert validate_settings({"lobby": given}) == {"lobby": stored}


@pytest.mark.parametrize("value", ["Open", "closed", "", 1, None, ["open"]])
def test_unknown_policies_are_refused(value: object) -> None:
    with pytest.raises(InvalidMessage) as caught:
        validate_settings({"lobby": value})
    assert caught.value.detail == "lobby"
    assert "open, class, everyone" in caught.value.message


def test_a_teacher_changes_the_policy_and_the_event_holds_the_policy() -> None:
    session = lobby_session("open", TEACHER)
    session.command(TEACHER, SettingsUpdate(settings={"lobby": True}))
    assert session.log[-1][1].data["changes"] == {"lobby": "everyone"}
    assert session.state.settings.lobby == "everyone"


def test_old_snapshots_and_logs_with_a_boolean_lobby_load() -> None:
    assert SessionSettings.from_wire({"lobby": True}).lobby == "everyone"
    assert SessionSettings.from_wire({"lobby": False}).lobby == "open"
    assert SessionSettings.from_wire({}).lobby == "open"
    session = lobby_session("open")
    old = Event(EventKind.SETTINGS_CHANGED, session.tick(), {"changes": {"lobby": True}})
    session.append(old)
    assert session.state.settings.lobby == "everyone"


def test_a_policy_from_a_newer_worker_reads_as_everyone() -> None:
    assert stored_policy("teachers-only") == "everyone"
    with pytest.raises(InvalidMessage):
        parse_policy("teachers-only")


def test_old_snapshots_without_a_lobby_load_and_new_ones_round_trip() -> None:
    session = lobby_session("everyone", TEACHER)
    wait(session, BAHATI, SOLVEIG)
    session.command(TEACHER, LobbyAdmit("p_solveig"))
    dumped = dump_state(session.state)
    assert load_state(dumped).lobby == session.state.lobby
    del dumped["lobby"]
    assert not load_state(dumped).lobby.waiting


# --- admitting and denying ---------------------------------------------------------------------


def test_admit_one_waiting_student() -> None:
    session = lobby_session("everyone", TEACHER)
    wait(session, BAHATI, SOLVEIG)
    session.command(TEACHER, LobbyAdmit("p_solveig"))
    event = session.log[-1][1]
    assert (event.kind, event.data) == (
        EventKind.LOBBY_ADMITTED,
        {"participants": ["p_solveig"], "class_id": None, "by": "p_teacher"},
    )
    assert set(session.state.lobby.waiting) == {"p_bahati"}


def test_admit_a_whole_class_names_everyone_waiting_from_it() -> None:
    session = lobby_session("everyone", HOST)
    other = Actor("p_zawadi", "Zawadi", Role.STUDENT, "c1")
    wait(session, BAHATI, SOLVEIG, other)
    session.command(HOST, LobbyAdmit(class_id="c1"))
    assert session.log[-1][1].data == {
        "participants": ["p_bahati", "p_zawadi"],
        "class_id": "c1",
        "by": "p_host",
    }
    assert set(session.state.lobby.waiting) == {"p_solveig"}
    assert session.state.lobby.admitted == {"p_bahati", "p_zawadi"}


def test_deny_removes_from_the_lobby_and_a_later_try_waits_again() -> None:
    session = lobby_session("everyone", TEACHER)
    wait(session, SOLVEIG)
    seq = session.command(TEACHER, LobbyDeny("p_solveig"))
    assert session.log[-1][1].data["by"] == "p_teacher"
    assert session.state.lobby.denied == {"p_solveig": seq}
    assert not session.state.lobby.waiting
    assert must_wait(session.state, SOLVEIG)


def test_the_first_decision_in_the_log_wins() -> None:
    session = lobby_session("everyone", HOST, TEACHER)
    wait(session, SOLVEIG)
    admit = LobbyAdmit("p_solveig")
    deny = LobbyDeny("p_solveig")
    # Both decided against the same replica (two workers), appended in this order.
    events = [
        *decide(session.state, HOST, admit, session.tick(), LIMITS),
        *decide(session.state, TEACHER, deny, session.tick(), LIMITS),
    ]
    for event in events:
        session.append(event)
    assert session.state.lobby.admitted == {"p_solveig"}
    assert session.state.lobby.denied == {}


def test_leaving_the_lobby_removes_the_entry() -> None:
    session = lobby_session("everyone", TEACHER)
    wait(session, BAHATI)
    session.append(left_lobby_event("p_bahati", "disconnected", session.tick()))
    assert not session.state.lobby.waiting
    with pytest.raises(NotFound) as caught:
        session.command(TEACHER, LobbyAdmit("p_bahati"))
    assert caught.value.detail == "participant"


@pytest.mark.parametrize("actor", [AMANI, STATION, OBSERVER])
@pytest.mark.parametrize("command", [LobbyAdmit("p_bahati"), LobbyDeny(class_id="c1")])
def test_only_teachers_admit_or_deny(actor: Actor, command: LobbyAdmit | LobbyDeny) -> None:
    session = lobby_session("everyone", actor)
    wait(session, BAHATI)
    with pytest.raises(Forbidden):
        session.command(actor, command)
    assert "p_bahati" in session.state.lobby.waiting


@pytest.mark.parametrize(
    ("command", "detail"),
    [
        (LobbyAdmit("p_nobody"), "participant"),
        (LobbyAdmit("p_amani"), "participant"),  # in the session, not waiting
        (LobbyDeny(class_id="c9"), "class"),
        (LobbyAdmit(class_id="c2"), "class"),  # nobody waiting from c2
    ],
)
def test_unknown_targets_are_not_found(command: LobbyAdmit | LobbyDeny, detail: str) -> None:
    session = lobby_session("everyone", TEACHER, AMANI)
    wait(session, BAHATI)
    with pytest.raises(NotFound) as caught:
        session.command(TEACHER, command)
    assert caught.value.detail == detail


def test_teachers_restricted_to_their_class_admit_only_their_class() -> None:
    session = lobby_session("everyone", HOST, TEACHER)
    session.command(HOST, ModerationScope(teachers_own_class=True))
    wait(session, BAHATI, SOLVEIG)
    with pytest.raises(Forbidden):
        session.command(TEACHER, LobbyAdmit("p_bahati"))  # c1, Mr Berg teaches c2
    session.command(TEACHER, LobbyAdmit("p_solveig"))
    session.command(HOST, LobbyAdmit("p_bahati"))
    assert session.state.lobby.admitted == {"p_bahati", "p_solveig"}


# --- who sees it -------------------------------------------------------------------------------


def test_lobby_events_reach_teachers_and_the_participant_concerned_only() -> None:
    session = lobby_session("everyone", HOST, TEACHER, AMANI, INGRID, STATION, OBSERVER)
    wait(session, BAHATI)
    session.command(TEACHER, LobbyAdmit("p_bahati"))
    for _, event in session.log[-2:]:
        everyone = (HOST, TEACHER, AMANI, INGRID, STATION, OBSERVER, BAHATI)
        seen = {a for a in everyone if can_see(session.state, a, event)}
        assert seen == {HOST, TEACHER, BAHATI}
    session.append(left_lobby_event("p_solveig", "left", session.tick()))
    assert not can_see(session.state, BAHATI, session.log[-1][1])
    assert can_see(session.state, SOLVEIG, session.log[-1][1])


def test_the_snapshot_shows_the_lobby_by_class_to_teachers_only() -> None:
    session = lobby_session("everyone", HOST, TEACHER, AMANI)
    wait(session, SOLVEIG, BAHATI)
    lobby = snapshot_for(session.state, TEACHER)["lobby"]
    assert list(lobby["waiting"]) == ["c1", "c2"]
    assert [w["id"] for w in lobby["waiting"]["c1"]] == ["p_bahati"]
    assert lobby["waiting"]["c2"][0] == {
        "id": "p_solveig",
        "name": "Solveig",
        "role": "student",
        "class_id": "c2",
        "since": session.log[-2][1].ts,
    }
    assert snapshot_for(session.state, AMANI)["lobby"] is None
    assert snapshot_for(session.state, OBSERVER)["lobby"] is None
