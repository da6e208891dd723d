"""Presence over a real server: one participant counts once, leaving waits for a grace period."""

from __future__ import annotations

import asyncio

from server.client import ClassbridgeClient
from tests.conftest import ServerFactory
from tests.helpers import (
    Classroom,
    collect_until,
    joined_event_of,
    left_event_of,
    open_classroom,
    participant_of,
    seq_of,
    wait_event,
)

GRACE = 0.5  # short, yet long enough for a marker chat to beat it


async def _presence_events(watcher: ClassbridgeClient, poster: ClassbridgeClient) -> list[str]:
    """Post a marker and return the presence events the watcher got before it."""
    marker = await poster.chat("marker")
    events = await collect_until(watcher, seq_of(marker))
    return [e.kind for e in events if e.kind.startswith("participant.")]


async def _grace_room(server_factory: ServerFactory, grace: float = GRACE) -> Classroom:
    return await open_classroom(await server_factory(presence_grace=grace))


async def _teacher_and_two_tabs(
    server_factory: ServerFactory,
) -> tuple[Classroom, ClassbridgeClient, ClassbridgeClient, ClassbridgeClient]:
    """A watching teacher, and one student joined from two tabs (the same token)."""
    room = await _grace_room(server_factory)
    teacher = await room.teacher(0)
    token = await room.student_token(1, "Amani")
    first_tab = await room.join(token)
    return room, teacher, first_tab, await room.join(token)


def _present(client: ClassbridgeClient, participant_id: str) -> bool | None:
    assert client.welcome is not None
    assert client.welcome.session is not None
    for klass in client.welcome.session["classes"]:
        for participant in klass["participants"]:
            if participant["id"] == participant_id:
                return bool(participant["present"])
    return None


async def test_two_tabs_count_once_and_leave_after_the_grace_period(
    server_factory: ServerFactory,
) -> None:
    room, teacher, first_tab, second_tab = await _teacher_and_two_tabs(server_factory)
    amani = participant_of(first_tab)
    assert participant_of(second_tab) == amani
    assert await _presence_events(teacher, teacher) == ["participant.joined"]

    await first_tab.close()
    await asyncio.sleep(GRACE * 2)  # longer than the grace period: still nothing may happen
    assert await _presence_events(teacher, teacher) == []

    await second_tab.close()
    assert await _presence_events(teacher, teacher) == []  # not at once: after the grace
    left = await wait_event(teacher, "participant.left", left_event_of(amani))
    assert left.data["reason"] == "disconnected"
    late = await room.teacher(1)
    assert _present(late, amani) is False
    assert _present(late, participant_of(teacher)) is True


async def test_a_quick_reconnect_does_not_flap(server_factory: ServerFactory) -> None:
    room = await _grace_room(server_factory, grace=1.0)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    await wait_event(teacher, "participant.joined", joined_event_of(participant_of(student)))
    await student.drop()
    welcome = await student.reconnect()
    assert welcome.resume == "events"
    await asyncio.sleep(1.5)  # past the grace period of the dropped connection
    assert await _presence_events(teacher, teacher) == []


async def test_explicit_leave_is_logged_at_once_and_closes_normally(
    server_factory: ServerFactory,
) -> None:
    room = await _grace_room(server_factory, grace=60.0)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    await student.send_raw({"type": "leave"})
    assert await student.wait_closed() == 1000
    left = await wait_event(teacher, "participant.left", left_event_of(participant_of(student)))
    assert left.data["reason"] == "left"


async def test_leaving_from_one_of_two_tabs_keeps_the_participant(
    server_factory: ServerFactory,
) -> None:
    _, teacher, first_tab, second_tab = await _teacher_and_two_tabs(server_factory)
    await first_tab.send_raw({"type": "leave"})
    assert await first_tab.wait_closed() == 1000
    await asyncio.sleep(GRACE * 2)
    assert await _presence_events(teacher, teacher) == ["participant.joined"]
    await second_tab.chat("still here")
    assert (await wait_event(teacher, "chat.posted")).data["text"] == "still here"


async def test_coming_back_after_leaving_is_a_new_join(server_factory: ServerFactory) -> None:
    room = await _grace_room(server_factory)
    teacher = await room.teacher(0)
    token = await room.student_token(1, "Amani")
    student = await room.join(token)
    amani = participant_of(student)
    await student.close()
    await wait_event(teacher, "participant.left", left_event_of(amani))
    again = await room.join(token)
    await wait_event(teacher, "participant.joined", joined_event_of(amani))
    assert again.welcome is not None
    assert _present(again, amani) is True


async def test_a_leave_does_not_cancel_anothers_grace_period(server_factory: ServerFactory) -> None:
    room = await _grace_room(server_factory)
    teacher = await room.teacher(0)
    dropped = await room.student(1, "Amani")
    leaving = await room.student(0, "Rui")
    await dropped.drop()  # in its grace period now...
    await leaving.send_raw({"type": "leave"})  # ...when someone else leaves for good
    assert await leaving.wait_closed() == 1000
    await wait_event(teacher, "participant.left", left_event_of(participant_of(leaving)))
    left = await wait_event(teacher, "participant.left", left_event_of(participant_of(dropped)))
    assert left.data["reason"] == "disconnected"


async def test_everyone_dropped_while_the_session_is_busy_is_logged_as_left(
    server_factory: ServerFactory,
) -> None:
    """Many drops at once while chat keeps the loop busy: each is logged as left, exactly once.
    (On uvloop a wake-up can come a little early; it must not lose anyone's leave.)"""
    server = await server_factory(
        presence_grace=0.2,
        chat_per_second=1000.0,
        chat_burst=1000,
        messages_per_second=1000.0,
        messages_burst=1000,
        self_joins_burst=100,
    )
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    students = [await room.student(n % 2, f"Student {n}") for n in range(24)]
    ids = {participant_of(s) for s in students}

    async def keep_busy() -> None:
        for n in range(400):
            await teacher.chat(f"busy {n}")

    busy = asyncio.create_task(keep_busy())
    for student in students:
        await student.drop()
    left: set[str] = set()
    while left != ids:
        event = await wait_event(teacher, "participant.left", timeout=10)
        assert event.data["participant_id"] not in left  # exactly once
        left.add(event.data["participant_id"])
    await busy
