"""Chat over the wire: teacher deletes, direct-message policy, length and rate limits."""

from __future__ import annotations

from typing import Any

import pytest

from server.broker.base import LogPosition
from server.client import ClassbridgeClient, ClientError
from tests.conftest import ServerFactory
from tests.helpers import (
    JSON,
    MSGPACK,
    Classroom,
    open_classroom,
    participant_of,
    quiet,
    seq_of,
    wait_event,
)


async def _refused(client: ClassbridgeClient, message: dict[str, Any]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        await client.request(message)
    return caught.value


def _texts(client: ClassbridgeClient) -> list[str]:
    assert client.welcome is not None
    assert client.welcome.session is not None
    return [m["text"] for m in client.welcome.session["chat"]]


async def test_teacher_deletes_a_message_for_everyone(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani", JSON)
    other = await classroom.student(0, "Rui")
    posted = await student.chat("something unkind")
    await student.chat("something kind")
    await teacher.request({"type": "chat.delete", "message_id": posted.seq})
    for client in (teacher, student, other):
        deleted = await wait_event(client, "chat.deleted")
        assert deleted.data == {"message_id": posted.seq, "by": participant_of(teacher)}

    late = await classroom.student(1, "Wanjiru")
    assert _texts(late) == ["something kind"]
    # Deleting it again: it is gone.
    error = await _refused(teacher, {"type": "chat.delete", "message_id": posted.seq})
    assert error.code == "not_found"


async def test_students_cannot_delete(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani")
    posted = await teacher.chat("homework: draw a river")
    error = await _refused(student, {"type": "chat.delete", "message_id": posted.seq})
    assert error.code == "forbidden"
    error = await _refused(student, {"type": "chat.delete", "message_id": seq_of(posted) + 99})
    assert error.code == "forbidden"
    late = await classroom.student(0, "Rui")
    assert _texts(late) == ["homework: draw a river"]


async def test_direct_messages_between_teacher_and_student(classroom: Classroom) -> None:
    teacher_pt = await classroom.teacher(0)
    teacher_ke = await classroom.teacher(1)
    student_ke = await classroom.student(1, "Amani")
    bystander = await classroom.student(1, "Baraka")
    await teacher_pt.chat("how is your project going?", to=participant_of(student_ke))
    await student_ke.chat("well, thank you!", to=participant_of(teacher_pt))
    marker = await teacher_pt.chat("everyone: five minutes left")

    for party in (teacher_pt, student_ke):
        first = await wait_event(party, "chat.posted")
        second = await wait_event(party, "chat.posted")
        assert first.data["to"] == participant_of(student_ke)
        assert second.data["to"] == participant_of(teacher_pt)
    # A teacher's private messages are private from the other teacher too.
    for outsider in (teacher_ke, bystander):
        event = await wait_event(outsider, "chat.posted")
        assert event.seq == marker.seq
    late_student = await classroom.student(0, "Rui")
    late_teacher = await classroom.teacher(1)
    assert _texts(late_student) == _texts(late_teacher) == ["everyone: five minutes left"]


async def test_deleting_a_direct_message_stays_between_those_who_could_read_it(
    classroom: Classroom,
) -> None:
    host_pt = await classroom.teacher(0)
    teacher_ke = await classroom.teacher(1)
    amani = await classroom.student(1, "Amani")
    baraka = await classroom.student(1, "Baraka")
    private = await amani.chat("I feel left out of my group", to=participant_of(host_pt))
    # The other teacher cannot read it, so cannot delete it (nor learn that it exists).
    error = await _refused(teacher_ke, {"type": "chat.delete", "message_id": private.seq})
    assert error.code == "not_found"

    await host_pt.request({"type": "chat.delete", "message_id": private.seq})
    marker = await host_pt.chat("back to the room")
    for party in (host_pt, amani):
        deleted = await wait_event(party, "chat.deleted")
        assert deleted.data["message_id"] == private.seq
    for outsider in (teacher_ke, baraka):
        # The next event they get is the marker: neither the post nor its deletion came by.
        assert (await outsider.next_event(("chat.posted", "chat.deleted"))).seq == marker.seq


async def test_student_direct_messages_follow_the_session_setting(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(0, "Amani")
    ines = await classroom.student(0, "Inês", JSON)
    rui = await classroom.student(0, "Rui")
    wanjiru = await classroom.student(1, "Wanjiru")
    error = await _refused(amani, {"type": "chat.send", "text": "psst", "to": participant_of(ines)})
    assert error.code == "dm_not_allowed"
    error = await _refused(
        amani, {"type": "settings.update", "settings": {"student_private_chat": True}}
    )
    assert error.code == "forbidden"

    await teacher.request({"type": "settings.update", "settings": {"student_private_chat": True}})
    for client in (amani, ines, rui):
        changed = await wait_event(client, "settings.changed")
        assert changed.data["changes"] == {"student_private_chat": True}
    # Students of different classes never write to each other privately (safeguarding).
    cross = {"type": "chat.send", "text": "psst", "to": participant_of(wanjiru)}
    assert (await _refused(amani, cross)).code == "dm_not_allowed"
    sent = await amani.chat("psst, want to pair up?", to=participant_of(ines))
    marker = await teacher.chat("back to the room")
    for reader in (amani, ines, teacher):
        event = await wait_event(reader, "chat.posted")
        assert (event.seq, event.data["text"]) == (sent.seq, "psst, want to pair up?")
    # Another student sees neither the message nor, later, its text in a snapshot.
    assert (await wait_event(rui, "chat.posted")).seq == marker.seq
    late_student = await classroom.student(1, "Baraka")
    late_teacher = await classroom.teacher(1)
    assert _texts(late_student) == ["back to the room"]
    assert _texts(late_teacher) == ["psst, want to pair up?", "back to the room"]


async def test_chat_length_limit(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory(chat_max_chars=50))
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    error = await _refused(student, {"type": "chat.send", "text": "x" * 51})
    assert (error.code, error.reply.detail) == ("too_large", "text")
    await student.chat("y" * 50)
    assert (await wait_event(teacher, "chat.posted")).data["text"] == "y" * 50


async def test_chat_rate_limit_per_connection(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory(chat_per_second=0.5, chat_burst=3))
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    for n in range(3):
        await student.chat(f"message {n}")
    error = await _refused(student, {"type": "chat.send", "text": "one too many"})
    assert error.code == "rate_limited"
    assert error.reply.retry_after_ms is not None
    assert 0 < error.reply.retry_after_ms <= 2000
    # The limit is the sender's own: others still chat, and nothing extra was posted.
    await teacher.chat("my turn")
    texts = [e.data["text"] for e in await quiet(teacher) if e.kind == "chat.posted"]
    assert texts == ["message 0", "message 1", "message 2", "my turn"]


async def test_observers_cannot_chat(classroom: Classroom) -> None:
    observer = await classroom.join(await classroom.token("observer", 0, "Inspector"))
    error = await _refused(observer, {"type": "chat.send", "text": "hello"})
    assert error.code == "forbidden"


async def test_late_joiners_get_the_recent_chat(server_factory: ServerFactory) -> None:
    server = await server_factory(
        chat_per_second=1000.0, chat_burst=1000, messages_per_second=1000.0, messages_burst=1000
    )
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    # The last 200 posts, each as long as allowed: a welcome of more than a mebibyte.
    for n in range(205):
        await teacher.chat(f"{n:03} " + "水" * 1995)
    for wire_format in (JSON, MSGPACK):
        late = await room.student(1, "Amani", wire_format)
        texts = _texts(late)
        assert len(texts) == 200
        assert [t[:3] for t in texts] == [f"{n:03}" for n in range(5, 205)]


async def test_stations_write_to_teachers_only(classroom: Classroom) -> None:
    teacher = await classroom.teacher(1)
    station = await classroom.join(await classroom.token("station", 1, "Room 12 projector"))
    student = await classroom.student(1, "Amani")
    for sender, recipient in ((station, student), (student, station)):
        message = {"type": "chat.send", "text": "hi", "to": participant_of(recipient)}
        assert (await _refused(sender, message)).code == "dm_not_allowed"
    await station.chat("the projector is on", to=participant_of(teacher))
    assert (await wait_event(teacher, "chat.posted")).data["from"] == participant_of(station)
    error = await _refused(
        teacher, {"type": "chat.send", "text": "me", "to": participant_of(teacher)}
    )
    assert (error.code, error.reply.detail) == ("invalid_message", "to")


async def test_a_deleted_post_leaves_the_stored_history_and_snapshots(
    classroom: Classroom,
) -> None:
    """Not only hidden from clients: the text is gone from what the server keeps."""
    services = classroom.server.services
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani")
    secret = "my home address is 12 Rua das Flores"
    posted = await student.chat(secret)
    await teacher.request({"type": "chat.delete", "message_id": posted.seq})
    await wait_event(student, "chat.deleted")

    broker = services.broker
    assert teacher.welcome is not None
    history = await broker.read_since(classroom.session_id, LogPosition(0, teacher.welcome.epoch))
    assert isinstance(history, list)
    assert len(history) >= seq_of(posted)  # the whole log is still there, the post's place too
    assert not any(secret.encode() in payload for _, payload in history)
    snapshot = await broker.load_snapshot(classroom.session_id)
    assert snapshot is not None
    assert snapshot.seq > seq_of(posted)
    assert secret.encode() not in snapshot.payload
