"""Moderation over a real server (protocol §24): removal, bars, lock, the end of a session,
class permissions, and students' moderation commands refused."""

from __future__ import annotations

from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from tests.helpers import Classroom, participant_of, wait_event


async def _refused(client: ClassbridgeClient, message: dict[str, Any]) -> str:
    with pytest.raises(ClientError) as caught:
        await client.request(message)
    return caught.value.code


async def _join_refused(client: ClassbridgeClient) -> tuple[int | None, str | None]:
    with pytest.raises(ConnectionError):
        await client.connect()
    return client.close_code, client.close_reason


async def test_removal_closes_the_target_and_the_others_stay(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    rui = await classroom.student(0, "Rui")
    target = participant_of(amani)
    await teacher.request({"type": "moderation.remove", "participant": target})
    removed = await wait_event(amani, "participant.removed")  # told before the close
    assert removed.data == {
        "participant_id": target,
        "barred": False,
        "by": participant_of(teacher),
    }
    assert await amani.wait_closed() == 4006
    assert amani.close_reason == "removed"
    await wait_event(rui, "participant.removed")
    posted = await rui.chat("still here")
    assert (await wait_event(teacher, "chat.posted")).seq == posted.seq
    # Removed but not barred: may come back.
    await amani.connect(resume=False)
    assert (await wait_event(teacher, "participant.joined")).data["participant"]["id"] == target


async def test_a_barred_participant_cannot_rejoin(classroom: Classroom) -> None:
    teacher = await classroom.teacher(1)
    token = await classroom.student_token(1, "Baraka")
    baraka = await classroom.join(token)
    await teacher.request(
        {"type": "moderation.remove", "participant": participant_of(baraka), "bar": True}
    )
    assert await baraka.wait_closed() == 4006
    again = classroom.server.client(token)
    assert await _join_refused(again) == (4016, "barred")


async def test_ending_closes_everyone_and_tokens_stop_working(classroom: Classroom) -> None:
    host = await classroom.join(classroom.created["host_token"])
    teacher = await classroom.teacher(1)
    token = await classroom.student_token(0, "Inês")
    ines = await classroom.join(token)
    await host.request({"type": "session.end"})
    for client in (host, teacher, ines):
        ended = await wait_event(client, "session.ended")
        assert ended.data == {"by": participant_of(host)}
        assert await client.wait_closed() == 4007
        assert client.close_reason == "session_ended"
    for again in (
        classroom.server.client(token),
        classroom.server.client(classroom.teacher_token(0)),
    ):
        assert await _join_refused(again) == (4007, "session_ended")
    summary = await classroom.summary()
    assert summary["ended_at"] == ended.ts


async def test_a_locked_session_refuses_newcomers_and_lets_known_ones_back(
    classroom: Classroom,
) -> None:
    teacher = await classroom.teacher(0)
    known_token = await classroom.student_token(1, "Amani")
    known = await classroom.join(known_token)
    await known.close()
    # A token got before the lock (a link handed out earlier); the class code gives none now.
    newcomer = classroom.server.client(await classroom.student_token(1, "Zawadi"))
    await teacher.request({"type": "moderation.lock", "locked": True})
    assert await _join_refused(newcomer) == (4015, "session_locked")
    refused = await classroom.server.http.post(
        "/api/join", json={"code": classroom.join_code(1), "name": "Baraka"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "session_locked")
    back = await classroom.join(known_token)
    assert back.welcome is not None
    await teacher.request({"type": "moderation.lock", "locked": False})
    await newcomer.connect()


@pytest.mark.parametrize(
    "message",
    [
        {"type": "moderation.mute", "class": "c1", "audio": True},
        {"type": "moderation.remove", "participant": "PARTNER"},
        {"type": "moderation.lock", "locked": True},
        {"type": "moderation.class", "class": "c1", "chat": False},
        {"type": "moderation.scope", "teachers_own_class": True},
        {"type": "session.end"},
    ],
    ids=lambda m: m["type"],
)
async def test_students_moderation_commands_are_forbidden(
    classroom: Classroom, message: dict[str, Any]
) -> None:
    amani = await classroom.student(1, "Amani")
    rui = await classroom.student(0, "Rui")
    before = await classroom.seq()
    if message.get("participant") == "PARTNER":
        message = {**message, "participant": participant_of(rui)}
    if "class" in message:
        message = {**message, "class": classroom.class_id(0)}
    assert await _refused(amani, message) == "forbidden"
    assert await classroom.seq() == before


async def test_chat_off_for_a_class_refuses_its_students(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    rui = await classroom.student(0, "Rui")
    change = {"type": "moderation.class", "class": classroom.class_id(1), "chat": False}
    await teacher.request(change)
    changed = await wait_event(amani, "class.permissions_changed")
    assert changed.data == {
        "class": classroom.class_id(1),
        "chat": False,
        "by": participant_of(teacher),
    }
    assert await _refused(amani, {"type": "chat.send", "text": "hi"}) == "chat_disabled"
    await rui.chat("c1 still chats")
    await teacher.chat("teachers too")
    board = {"type": "moderation.class", "class": classroom.class_id(1), "drawing": False}
    await teacher.request(board)
    stroke = {
        "id": "s1",
        "kind": "stroke",
        "props": {"points": [0, 0, 1, 1], "color": "#000000", "width": 2},
    }
    put = {"type": "board.put", "board": "main", "record": stroke}
    assert await _refused(amani, put) == "drawing_disabled"
    await rui.request(put)


async def test_a_mute_request_reaches_everyone(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    station = await classroom.join(await classroom.token("station", 1, "Nairobi room"))
    target = participant_of(station)
    await teacher.request({"type": "moderation.mute", "participant": target, "video": True})
    muted = await wait_event(station, "moderation.muted")
    assert muted.data == {"participant": target, "video": True, "by": participant_of(teacher)}
    late = await classroom.student(1, "Late")
    assert late.welcome is not None
    assert late.welcome.session is not None
    assert late.welcome.session["moderation"]["muted"] == {target: ["video"]}
