"""The agenda and reflections in the session core (server/rooms/agenda.py, reflections.py),
without sockets."""

from __future__ import annotations

import msgpack
import pytest

from server.errors import ClassbridgeError, Forbidden, InvalidMessage, LimitExceeded, NotFound
from server.protocol.agenda import (
    AgendaAdvance,
    AgendaBack,
    AgendaFinish,
    AgendaSet,
    PhaseSpec,
    ReflectionAnswer,
)
from server.rooms.actor import Actor
from server.rooms.agenda import AgendaNotRunning, PhaseMoved
from server.rooms.agenda_state import MINUTE_MS, NOT_STARTED
from server.rooms.commands import decide
from server.rooms.events import Event, EventKind
from server.rooms.reflections import PhaseNotStarted, reflections
from server.rooms.state import dump_state, load_state
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
    full_session,
    replay,
)

TWO_PHASES = (PhaseSpec("Hello", 5), PhaseSpec("Wrap up", 10, "One thing you learnt?"))


def started(session: Session) -> Session:
    session.command(HOST, AgendaAdvance(from_phase=NOT_STARTED))
    return session


def test_every_session_starts_with_the_default_agenda_not_started() -> None:
    agenda = full_session().state.agenda
    names = [(p.name, p.minutes) for p in agenda.phases]
    assert names == [("Connect", 10), ("Collaborate", 20), ("Create", 20), ("Reflect", 10)]
    assert agenda.phases[3].prompt  # the default agenda asks for a reflection at the end
    assert (agenda.current, agenda.started_at, agenda.finished) == (NOT_STARTED, 0, False)
    wire = snapshot_for(full_session().state, AMANI)["agenda"]
    assert wire["current"] == NOT_STARTED
    assert wire["ends_at"] == 0
    assert wire["reflections"] == []


def test_advance_stamps_the_start_time_and_the_countdown() -> None:
    session = full_session()
    seq = session.command(TEACHER, AgendaAdvance(from_phase=NOT_STARTED))
    event = session.log[seq - 1][1]
    assert event.kind == EventKind.AGENDA_MOVED
    assert event.data == {"from": NOT_STARTED, "to": 0, "by": "p_teacher"}
    agenda = session.state.agenda
    assert (agenda.current, agenda.started_at) == (0, event.ts)
    assert agenda.ends_at == event.ts + 10 * MINUTE_MS
    seq = session.command(HOST, AgendaAdvance(from_phase=0))
    assert session.state.agenda.current == 1
    assert session.state.agenda.started_at == session.log[seq - 1][1].ts


def test_advancing_from_the_last_phase_finishes() -> None:
    session = full_session()
    session.command(HOST, AgendaSet(phases=TWO_PHASES))
    for from_phase in (NOT_STARTED, 0, 1):
        session.command(HOST, AgendaAdvance(from_phase=from_phase))
    last = session.log[-1][1]
    assert last.kind == EventKind.AGENDA_FINISHED
    agenda = session.state.agenda
    assert (agenda.finished, agenda.finished_at, agenda.current) == (True, last.ts, 1)
    assert agenda.ends_at == 0  # no countdown once finished
    with pytest.raises(AgendaNotRunning):
        session.command(HOST, AgendaAdvance(from_phase=1))


def test_two_teachers_advancing_at_once_move_the_agenda_once() -> None:
    """Both decide on replicas that have not seen the other's move; the log holds both."""
    session = started(full_session())
    first = decide(session.state, HOST, AgendaAdvance(from_phase=0), session.tick(), LIMITS)
    second = decide(session.state, TEACHER, AgendaAdvance(from_phase=0), session.tick(), LIMITS)
    session.append(first[0])
    session.append(second[0])
    agenda = session.state.agenda
    assert agenda.current == 1  # not 2: the second move lost the race and is ignored
    assert agenda.started_at == first[0].ts
    assert replay(session.log).agenda.current == 1  # the same on every replica


def test_a_stale_advance_is_refused_when_the_replica_has_moved() -> None:
    session = started(full_session())
    session.command(HOST, AgendaAdvance(from_phase=0))
    with pytest.raises(PhaseMoved) as refusal:
        session.command(TEACHER, AgendaAdvance(from_phase=0))
    assert refusal.value.code == "phase_moved"
    assert refusal.value.current["current"] == 1  # so the client can redraw
    assert session.state.agenda.current == 1


def test_back_restarts_the_phase_before_and_finish_ends_early() -> None:
    session = started(full_session())
    session.command(HOST, AgendaAdvance(from_phase=0))
    seq = session.command(TEACHER, AgendaBack(from_phase=1))
    agenda = session.state.agenda
    assert (agenda.current, agenda.started_at) == (0, session.log[seq - 1][1].ts)
    assert agenda.reached == 1  # phase 1 stays open for reflections
    with pytest.raises(NotFound):
        session.command(TEACHER, AgendaBack(from_phase=0))
    session.command(TEACHER, AgendaFinish(from_phase=0))
    assert session.state.agenda.finished


def test_back_and_finish_need_a_running_agenda() -> None:
    session = full_session()
    with pytest.raises(AgendaNotRunning):
        session.command(HOST, AgendaBack(from_phase=NOT_STARTED))
    with pytest.raises(AgendaNotRunning):
        session.command(HOST, AgendaFinish(from_phase=NOT_STARTED))


@pytest.mark.parametrize("actor", [AMANI, STATION, OBSERVER])
def test_only_teachers_and_hosts_run_the_agenda(actor: Actor) -> None:
    session = full_session()
    for command in (
        AgendaAdvance(from_phase=NOT_STARTED),
        AgendaSet(phases=TWO_PHASES),
        AgendaFinish(from_phase=NOT_STARTED),
    ):
        with pytest.raises(Forbidden):
            session.command(actor, command)
    assert session.state.agenda.current == NOT_STARTED


@pytest.mark.parametrize(
    ("phases", "detail"),
    [
        ((), "phases"),
        (tuple(PhaseSpec(f"P{n}", 5) for n in range(13)), "phases"),
        ((PhaseSpec(" ", 5),), "phases.0.name"),
        ((PhaseSpec("x" * 61, 5),), "phases.0.name"),
        ((PhaseSpec("Go", 5), PhaseSpec("Bad\u202ename", 5)), "phases.1.name"),
        ((PhaseSpec("Go", 0),), "phases.0.minutes"),
        ((PhaseSpec("Go", 241),), "phases.0.minutes"),
        ((PhaseSpec("Go", 5, "?" * 501),), "phases.0.prompt"),
        ((PhaseSpec("Go", 5, "\x00"),), "phases.0.prompt"),
    ],
)
def test_bad_phases_are_refused(phases: tuple[PhaseSpec, ...], detail: str) -> None:
    session = full_session()
    before = len(session.log)
    with pytest.raises(InvalidMessage) as refusal:
        session.command(HOST, AgendaSet(phases=phases))
    assert refusal.value.detail == detail
    assert len(session.log) == before


def test_editing_keeps_the_running_phase_start_and_takes_its_new_length() -> None:
    session = started(full_session())
    started_at = session.state.agenda.started_at
    longer = (PhaseSpec("Meet", 15), PhaseSpec("Make", 20, "What did you make?"))
    seq = session.command(TEACHER, AgendaSet(phases=longer))
    assert session.log[seq - 1][1].data["by"] == "p_teacher"
    agenda = session.state.agenda
    assert (agenda.current, agenda.started_at) == (0, started_at)
    assert agenda.ends_at == started_at + 15 * MINUTE_MS
    assert [p.name for p in agenda.phases] == ["Meet", "Make"]


def test_editing_away_the_running_phase_finishes_the_agenda() -> None:
    session = started(full_session())
    for from_phase in (0, 1, 2):
        session.command(HOST, AgendaAdvance(from_phase=from_phase))
    seq = session.command(HOST, AgendaSet(phases=TWO_PHASES))
    agenda = session.state.agenda
    assert (agenda.finished, agenda.finished_at) == (True, session.log[seq - 1][1].ts)
    assert (agenda.current, agenda.reached) == (1, 1)


def test_a_move_decided_before_a_shortening_edit_is_ignored() -> None:
    session = started(full_session())
    session.command(HOST, AgendaSet(phases=(PhaseSpec("Only", 5),)))
    # Decided on a replica that had not seen the edit yet: phase 1 is gone.
    data = {"from": 0, "to": 1, "by": "p_host"}
    session.append(Event(kind=EventKind.AGENDA_MOVED, ts=session.tick(), data=data))
    assert session.state.agenda.current == 0


# --- reflections ---------------------------------------------------------------------------


def reflecting() -> Session:
    session = full_session()
    session.command(HOST, AgendaSet(phases=TWO_PHASES))
    session.command(HOST, AgendaAdvance(from_phase=NOT_STARTED))
    session.command(HOST, AgendaAdvance(from_phase=0))
    return session


def test_a_student_answers_and_changes_the_answer() -> None:
    session = reflecting()
    seq = session.command(AMANI, ReflectionAnswer(phase=1, text="Bergen has a fjord"))
    event = session.log[seq - 1][1]
    assert event.data == {
        "phase": 1,
        "by": "p_amani",
        "class_id": "c1",
        "prompt": "One thing you learnt?",
        "text": "Bergen has a fjord",
    }
    session.command(AMANI, ReflectionAnswer(phase=1, text="It rains a lot in Bergen"))
    answers = session.state.agenda.reflections
    assert len(answers) == 1
    assert answers[(1, "p_amani")].text == "It rains a lot in Bergen"


def test_teachers_see_every_answer_and_students_only_their_own() -> None:
    session = reflecting()
    seq = session.command(AMANI, ReflectionAnswer(phase=1, text="mine"))
    session.command(INGRID, ReflectionAnswer(phase=1, text="hers"))
    event = session.log[seq - 1][1]
    assert can_see(session.state, HOST, event)
    assert can_see(session.state, TEACHER, event)
    assert can_see(session.state, AMANI, event)
    assert not can_see(session.state, INGRID, event)
    assert not can_see(session.state, OBSERVER, event)
    texts = {
        actor.participant_id: [
            r["text"] for r in snapshot_for(session.state, actor)["agenda"]["reflections"]
        ]
        for actor in (TEACHER, AMANI, INGRID, OBSERVER)
    }
    assert texts == {
        "p_teacher": ["mine", "hers"],
        "p_amani": ["mine"],
        "p_ingrid": ["hers"],
        "p_observer": [],
    }


def test_a_station_answers_for_its_class_but_teachers_do_not_answer() -> None:
    session = reflecting()
    session.command(STATION, ReflectionAnswer(phase=1, text="We liked the songs"))
    for actor in (HOST, TEACHER, OBSERVER):
        with pytest.raises(Forbidden):
            session.command(actor, ReflectionAnswer(phase=1, text="x"))
    assert list(session.state.agenda.reflections) == [(1, "p_station")]


@pytest.mark.parametrize(
    ("phase", "text", "error"),
    [
        (0, "no prompt on this phase", NotFound),
        (7, "no such phase", NotFound),
        (-1, "no such phase", NotFound),
        (1, "   ", InvalidMessage),
        (1, "x" * 1001, LimitExceeded),
        (1, "bidi \u202e trick", InvalidMessage),
    ],
)
def test_bad_answers_are_refused(phase: int, text: str, error: type[ClassbridgeError]) -> None:
    session = reflecting()
    with pytest.raises(error):
        session.command(AMANI, ReflectionAnswer(phase=phase, text=text))
    assert session.state.agenda.reflections == {}


def test_a_phase_not_reached_yet_takes_no_answer() -> None:
    session = full_session()
    session.command(HOST, AgendaSet(phases=TWO_PHASES))
    session.command(HOST, AgendaAdvance(from_phase=NOT_STARTED))
    with pytest.raises(PhaseNotStarted) as refusal:
        session.command(AMANI, ReflectionAnswer(phase=1, text="early"))
    assert refusal.value.code == "phase_not_started"


def test_answers_stay_for_the_export_with_the_prompt_they_answered() -> None:
    session = reflecting()
    session.command(AMANI, ReflectionAnswer(phase=1, text="fjords"))
    session.command(HOST, AgendaSet(phases=(PhaseSpec("Hello", 5), PhaseSpec("End", 5, "New?"))))
    session.command(HOST, AgendaFinish(from_phase=1))
    rows = reflections(session.state)
    assert rows == [
        {
            "phase": 1,
            "participant": "p_amani",
            "class_id": "c1",
            "prompt": "One thing you learnt?",
            "text": "fjords",
            "ts": rows[0]["ts"],
            "name": "Amani",
            "phase_name": "End",
        }
    ]


def test_the_agenda_survives_a_snapshot_and_old_snapshots_load() -> None:
    session = reflecting()
    session.command(AMANI, ReflectionAnswer(phase=1, text="fjords"))
    packed = msgpack.packb(dump_state(session.state), use_bin_type=True)
    loaded = load_state(msgpack.unpackb(packed))
    assert loaded.agenda == session.state.agenda
    old = dump_state(session.state)
    del old["agenda"]
    assert load_state(old).agenda.current == NOT_STARTED  # the default, not started
