"""The agenda and reflections over the wire: server-stamped phase starts, teachers only,
stale moves refused, and reflections that reach their author and the teachers only."""

from __future__ import annotations

from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from tests.helpers import Classroom, participant_of, quiet, wait_event

PHASES = [
    {"name": "Hello", "minutes": 5},
    {"name": "Wrap up", "minutes": 10, "prompt": "One thing you learnt?"},
]


async def _refused(client: ClassbridgeClient, message: dict[str, Any]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        await client.request(message)
    return caught.value


def _agenda(client: ClassbridgeClient) -> dict[str, Any]:
    assert client.welcome is not None
    assert client.welcome.session is not None
    agenda: dict[str, Any] = client.welcome.session["agenda"]
    return agenda


async def test_the_welcome_holds_the_default_agenda_and_the_server_time(
    classroom: Classroom,
) -> None:
    student = await classroom.student(0, "Rui")
    agenda = _agenda(student)
    assert [p["name"] for p in agenda["phases"]] == ["Connect", "Collaborate", "Create", "Reflect"]
    assert agenda["current"] == -1
    assert agenda["ends_at"] == 0
    assert student.welcome is not None
    assert isinstance(student.welcome.server_time, int)
    assert student.welcome.server_time > 0


async def test_advance_stamps_the_phase_start_for_everyone(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani")
    ack = await teacher.command({"type": "agenda.advance", "from": -1})
    for client in (teacher, student):
        moved = await wait_event(client, "agenda.moved")
        assert moved.seq == ack.seq
        assert moved.data == {"from": -1, "to": 0, "by": participant_of(teacher)}
    late = await classroom.student(0, "Rui")
    agenda = _agenda(late)
    assert agenda["current"] == 0
    assert agenda["started_at"] == moved.ts  # the start is the event's own timestamp
    assert agenda["ends_at"] == moved.ts + 10 * 60_000


async def test_a_student_cannot_run_the_agenda(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani")
    before = await classroom.seq()
    for message in (
        {"type": "agenda.advance", "from": -1},
        {"type": "agenda.set", "phases": PHASES},
        {"type": "agenda.finish", "from": -1},
    ):
        assert (await _refused(student, message)).code == "forbidden"
    await classroom.assert_unaffected(before, teacher, student)


async def test_a_stale_advance_is_refused_and_the_agenda_moves_once(
    classroom: Classroom,
) -> None:
    first = await classroom.teacher(0)
    second = await classroom.teacher(1)
    await first.command({"type": "agenda.advance", "from": -1})
    await wait_event(second, "agenda.moved")  # its replica has the move
    error = await _refused(second, {"type": "agenda.advance", "from": -1})
    assert error.code == "phase_moved"
    assert error.reply.current is not None
    assert error.reply.current["current"] == 0
    late = await classroom.student(0, "Rui")
    assert _agenda(late)["current"] == 0


async def test_bad_phases_are_refused(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    too_many = [{"name": f"P{n}", "minutes": 5} for n in range(13)]
    for phases, detail in (
        (too_many, "phases"),
        ([{"name": "", "minutes": 5}], "phases.0.name"),
        ([{"name": "Go", "minutes": "five"}], "phases.0.minutes"),
        ([{"name": "Go"}], "phases.0.minutes"),
    ):
        error = await _refused(teacher, {"type": "agenda.set", "phases": phases})
        assert (error.code, error.reply.detail) == ("invalid_message", detail)


async def test_reflections_reach_their_author_and_the_teachers_only(
    classroom: Classroom,
) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    rui = await classroom.student(0, "Rui")
    await teacher.command({"type": "agenda.set", "phases": PHASES})
    early = await _refused(amani, {"type": "reflection.answer", "phase": 1, "text": "early"})
    assert early.code == "phase_not_started"
    await teacher.command({"type": "agenda.advance", "from": -1})
    await teacher.command({"type": "agenda.advance", "from": 0})

    answer = {"type": "reflection.answer", "phase": 1, "text": "Lisbon is by the sea"}
    ack = await amani.command(answer)
    for client in (teacher, amani):
        event = await wait_event(client, "reflection.answered")
        assert event.seq == ack.seq
        assert event.data["text"] == "Lisbon is by the sea"
        assert event.data["prompt"] == "One thing you learnt?"
    assert "reflection.answered" not in [e.kind for e in await quiet(rui)]
    error = await _refused(teacher, {"type": "reflection.answer", "phase": 1, "text": "x"})
    assert error.code == "forbidden"
    unknown = await _refused(amani, {"type": "reflection.answer", "phase": 9, "text": "x"})
    assert unknown.code == "not_found"


async def test_an_answer_can_be_changed_and_snapshots_filter_it(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani_token = await classroom.student_token(1, "Amani")
    amani = await classroom.join(amani_token)
    await teacher.command({"type": "agenda.set", "phases": PHASES})
    await teacher.command({"type": "agenda.advance", "from": -1})
    await teacher.command({"type": "agenda.advance", "from": 0})
    await amani.command({"type": "reflection.answer", "phase": 1, "text": "first try"})
    await amani.command({"type": "reflection.answer", "phase": 1, "text": "second try"})

    teacher_late = await classroom.teacher(1)
    other = await classroom.student(0, "Rui")
    amani_again = await classroom.join(amani_token)
    seen = [r["text"] for r in _agenda(teacher_late)["reflections"]]
    assert seen == ["second try"]  # one answer per student per phase
    assert [r["text"] for r in _agenda(amani_again)["reflections"]] == ["second try"]
    assert _agenda(other)["reflections"] == []
