"""Breakout groups over a real server and real WebSockets: two classes of four students split
into mixed groups, group chat reaching only its group and the teachers, moves, broadcasts,
calls for a teacher, and the close that brings everyone back."""

from __future__ import annotations

from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from tests.helpers import JSON, MSGPACK, Classroom, participant_of, quiet, wait_event


async def _refused(client: ClassbridgeClient, message: dict[str, Any]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        await client.request(message)
    return caught.value


async def _students(classroom: Classroom) -> list[ClassbridgeClient]:
    names = [(0, "Rui"), (0, "Inês"), (0, "Tiago"), (0, "Beatriz")]
    names += [(1, "Amani"), (1, "Baraka"), (1, "Wanjiru"), (1, "Juma")]
    # Half of them speak JSON: group posts and calls must reach both wire formats alike.
    return [
        await classroom.student(index, name, JSON if n % 2 else MSGPACK)
        for n, (index, name) in enumerate(names)
    ]


def _group_of(opened: dict[str, Any], client: ClassbridgeClient) -> dict[str, Any]:
    me = participant_of(client)
    return next(g for g in opened["groups"] if me in g["members"])


async def _open(teacher: ClassbridgeClient, students: list[ClassbridgeClient]) -> dict[str, Any]:
    await teacher.request({"type": "breakout.open", "size": 4, "seed": 11, "minutes": 10})
    opened = await wait_event(teacher, "breakout.opened")
    for student in students:  # everyone is told the groups
        assert (await wait_event(student, "breakout.opened")).seq == opened.seq
    data: dict[str, Any] = opened.data
    return data


async def test_two_classes_of_four_make_two_mixed_groups_with_private_chat(
    classroom: Classroom,
) -> None:
    teacher, other_teacher = await classroom.teacher(0), await classroom.teacher(1)
    students = await _students(classroom)
    class_of = {
        participant_of(s): classroom.class_id(0 if n < 4 else 1) for n, s in enumerate(students)
    }
    opened = await _open(teacher, students)
    assert len(opened["groups"]) == 2
    for group in opened["groups"]:
        classes = sorted(class_of[m] for m in group["members"])
        assert classes == sorted([classroom.class_id(0)] * 2 + [classroom.class_id(1)] * 2)
    assert opened["ends_at"] is not None
    assert opened["by"] == participant_of(teacher)

    poster = students[0]
    mine = _group_of(opened, poster)
    ack = await poster.command({"type": "chat.send", "text": "our river", "group": mine["id"]})
    insiders = [s for s in students if participant_of(s) in mine["members"]]
    outsiders = [s for s in students if participant_of(s) not in mine["members"]]
    for client in (*insiders, teacher, other_teacher):
        seen = await wait_event(client, "chat.posted")
        assert (seen.seq, seen.data["group"]) == (ack.seq, mine["id"])
    marker = await teacher.chat("main room still open")
    for outsider in outsiders:
        seen = await wait_event(outsider, "chat.posted")
        assert seen.seq == marker.seq  # the group post never reached them

    error = await _refused(outsiders[0], {"type": "chat.send", "text": "hi", "group": mine["id"]})
    assert error.code == "forbidden"
    error = await _refused(poster, {"type": "chat.send", "text": "hi", "group": "r9-g1"})
    assert error.code == "not_found"

    # A late joiner's snapshot: the groups, and only the chat its page may show.
    again = await classroom.join(poster.token)
    assert again.welcome is not None
    assert again.welcome.session is not None
    assert again.welcome.session["breakouts"]["open"] is True
    assert ack.seq in [m["id"] for m in again.welcome.session["chat"]]


async def test_move_broadcast_call_and_close(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    students = await _students(classroom)
    opened = await _open(teacher, students)
    mover = students[1]
    source = _group_of(opened, mover)
    target = next(g for g in opened["groups"] if g["id"] != source["id"])

    student_error = await _refused(
        mover,
        {"type": "breakout.move", "participant": participant_of(mover), "group": target["id"]},
    )
    assert student_error.code == "forbidden"
    assert (
        await _refused(
            teacher, {"type": "breakout.move", "participant": "p_x", "group": target["id"]}
        )
    ).code == "not_found"
    await teacher.request(
        {"type": "breakout.move", "participant": participant_of(mover), "group": target["id"]}
    )
    moved = await wait_event(mover, "breakout.moved")
    assert (moved.data["from"], moved.data["group"]) == (source["id"], target["id"])
    # Now the mover writes in the new group, and no longer in the old one.
    await mover.request({"type": "chat.send", "text": "hello new group", "group": target["id"]})
    error = await _refused(mover, {"type": "chat.send", "text": "hi", "group": source["id"]})
    assert error.code == "forbidden"

    await teacher.request({"type": "breakout.broadcast", "text": "Five minutes left"})
    for student in students:
        broadcast = await wait_event(student, "breakout.broadcast_sent")
        assert broadcast.data["text"] == "Five minutes left"

    caller = next(s for s in students if participant_of(s) in target["members"] and s is not mover)
    await caller.request({"type": "breakout.call_teacher"})
    call = await wait_event(teacher, "breakout.called")
    assert call.data == {
        "round": opened["round"],
        "group": target["id"],
        "by": participant_of(caller),
    }
    assert (await wait_event(mover, "breakout.called")).seq == call.seq  # the group sees it
    outsider = next(
        s for s in students if participant_of(s) in source["members"] and s is not mover
    )
    await teacher.request({"type": "breakout.answer", "group": target["id"]})
    answered = await wait_event(caller, "breakout.call_answered")
    assert not [e for e in await quiet(outsider) if e.kind.startswith("breakout.call")]
    assert answered.seq > call.seq

    assert (await _refused(students[0], {"type": "breakout.close"})).code == "forbidden"
    await teacher.request({"type": "breakout.close"})
    for student in students:
        await wait_event(student, "breakout.closed")
    error = await _refused(caller, {"type": "chat.send", "text": "hi", "group": target["id"]})
    assert error.code == "no_breakout"
    assert (await _refused(teacher, {"type": "breakout.close"})).code == "no_breakout"
    back = await classroom.join(mover.token)
    assert back.welcome is not None
    assert back.welcome.session is not None
    assert back.welcome.session["breakouts"]["groups"] == []


async def test_open_errors(classroom: Classroom) -> None:
    teacher = await classroom.teacher(1)
    students = await _students(classroom)
    assert (await _refused(students[0], {"type": "breakout.open", "size": 4})).code == "forbidden"
    assert (await _refused(teacher, {"type": "breakout.open", "size": 1})).code == "invalid_message"
    await teacher.request({"type": "breakout.open", "size": 2})
    assert (await _refused(teacher, {"type": "breakout.open", "size": 2})).code == "breakout_open"
