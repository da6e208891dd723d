"""The WebSocket gateway over a real server: join and welcome, chat both ways, both wire formats."""

from __future__ import annotations

from typing import Any

import pytest

from server.protocol.messages import Ack, Pong
from tests.conftest import ServerFactory
from tests.helpers import (
    JSON,
    MSGPACK,
    Classroom,
    collect_until,
    joined_event_of,
    open_classroom,
    participant_of,
    raw_socket,
    wait_event,
)


def _by_class(welcome_session: dict[str, Any]) -> dict[str, dict[str, bool]]:
    """class id -> {participant id: present} from a welcome snapshot."""
    return {
        c["id"]: {p["id"]: p["present"] for p in c["participants"]}
        for c in welcome_session["classes"]
    }


async def test_two_classes_join_and_see_who_is_present_by_class(classroom: Classroom) -> None:
    teacher_pt = await classroom.teacher(0)
    teacher_ke = await classroom.teacher(1, JSON)
    student_pt = await classroom.student(0, "Inês")
    student_ke = await classroom.student(1, "Amani", JSON)
    everyone = [teacher_pt, teacher_ke, student_pt, student_ke]
    ids = [participant_of(c) for c in everyone]

    assert student_ke.welcome is not None
    assert student_ke.welcome.session is not None
    snapshot = student_ke.welcome.session
    assert [c["id"] for c in snapshot["classes"]] == ["c1", "c2"]
    assert [(c["country"], c["timezone"]) for c in snapshot["classes"]] == [
        ("PT", "Europe/Lisbon"),
        ("KE", "Africa/Nairobi"),
    ]
    assert _by_class(snapshot) == {
        "c1": {ids[0]: True, ids[2]: True},
        "c2": {ids[1]: True, ids[3]: True},
    }
    # Everyone sees each later arrival join, exactly once.
    for index, client in enumerate(everyone):
        for newcomer in ids[index + 1 :]:
            await wait_event(client, "participant.joined", joined_event_of(newcomer))
    assert [c.welcome.participant["role"] for c in everyone if c.welcome] == [
        "teacher",
        "teacher",
        "student",
        "student",
    ]


async def test_welcome_identity_comes_from_the_token(classroom: Classroom) -> None:
    token = await classroom.token("station", 1, "Kestrels classroom", participant_id="station-ke")
    async with raw_socket(classroom.server, JSON) as ws:
        welcome = await ws.join(token)
    assert welcome["type"] == "welcome"
    assert welcome["id"] == "j"  # the join's request id is echoed
    assert welcome["resume"] == "none"
    assert welcome["participant"] == {
        "id": "station-ke",
        "name": "Kestrels classroom",
        "role": "station",
        "class_id": "c2",
    }
    assert welcome["seq"] == 2  # session.created, then this station's participant.joined
    assert isinstance(welcome["epoch"], str)
    assert welcome["epoch"]
    assert welcome["session"]["settings"] == {"lobby": "open", "student_private_chat": False}


async def test_chat_both_ways_between_classes(classroom: Classroom) -> None:
    teacher_pt = await classroom.teacher(0)
    student_ke = await classroom.student(1, "Amani", JSON)
    await student_ke.chat("Habari from Nairobi")
    await teacher_pt.chat("Olá from Lisbon")
    for client in (teacher_pt, student_ke):
        first = await wait_event(client, "chat.posted")
        second = await wait_event(client, "chat.posted")
        assert (first.data["text"], first.data["class_id"]) == ("Habari from Nairobi", "c2")
        assert first.data["from"] == participant_of(student_ke)
        assert (second.data["text"], second.data["class_id"]) == ("Olá from Lisbon", "c1")
        assert second.seq == first.seq + 1


async def test_json_and_msgpack_clients_see_the_same_events(classroom: Classroom) -> None:
    binary = await classroom.teacher(0, MSGPACK)
    text = await classroom.teacher(1, JSON)
    student = await classroom.student(1, "Wanjiru", JSON)
    await student.chat('ü, 水, 🙂 and "quotes"\nnew line')
    posted = await binary.chat("a post to delete")
    await binary.request({"type": "chat.delete", "message_id": posted.seq})
    await text.request({"type": "settings.update", "settings": {"student_private_chat": True}})
    last = await classroom.seq()

    seen = {}
    for client in (binary, text):
        events = await collect_until(client, last)
        seen[client.wire_format] = [(e.seq, e.kind, e.ts, e.data) for e in events]
    tail_from = seen[JSON][0][0]  # the JSON teacher joined second: compare from there on
    assert [e for e in seen[MSGPACK] if e[0] >= tail_from] == seen[JSON]
    kinds = [e[1] for e in seen[JSON]]
    assert kinds[-4:] == ["chat.posted", "chat.posted", "chat.deleted", "settings.changed"]


async def test_acks_echo_the_request_id_and_carry_the_seq(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    async with raw_socket(classroom.server, JSON) as ws:
        await ws.join(await classroom.student_token(1, "Baraka"))
        for request_id in ("abc", 42, -7):
            await ws.send({"type": "chat.send", "text": "hello", "id": request_id})
            while (reply := await ws.receive())["type"] == "event":
                pass
            assert reply == {"type": "ack", "id": request_id, "seq": reply["seq"]}
            event = await wait_event(teacher, "chat.posted")
            assert event.seq == reply["seq"]
        await ws.send({"type": "ping", "id": "p1"})
        assert await ws.receive() == {"type": "pong", "id": "p1"}
    pong = await teacher.ping()
    assert isinstance(pong, Pong)
    assert pong.id is not None
    ack = await teacher.chat("with an id from the client")
    assert isinstance(ack, Ack)
    assert ack.seq is not None


async def test_no_subprotocol_offered_means_json(classroom: Classroom) -> None:
    async with raw_socket(classroom.server, JSON, subprotocols=[]) as ws:
        welcome = await ws.join(classroom.teacher_token(0))
        assert ws.ws.subprotocol is None
        assert welcome["type"] == "welcome"


async def test_message_rate_limit(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory(messages_per_second=0.2, messages_burst=3))
    teacher = await room.teacher(0)
    async with raw_socket(room.server, JSON) as ws:
        await ws.join(await room.student_token(1, "Amani"))
        for _ in range(5):  # frames that do not parse do not use up the limit
            await ws.send("not json")
            assert (await ws.error())["code"] == "bad_message"
        for _ in range(3):
            await ws.ping()
        for n in range(25):  # more than max_bad_messages: rate-limited messages are not bad input
            await ws.send({"type": "ping", "id": n})
            error = await ws.error()
            assert (error["code"], error["id"]) == ("rate_limited", n)
            assert 1 <= error["retry_after_ms"] <= 5000
        posted = await teacher.chat("are you still there?")
        while (message := await ws.receive())["type"] != "event" or message["seq"] < posted.seq:
            pass
        assert message["data"]["text"] == "are you still there?"


async def test_leave_has_no_ack_and_requests_in_flight_fail_at_once(classroom: Classroom) -> None:
    student = await classroom.student(1, "Amani")
    with pytest.raises(ConnectionError, match="1000"):
        await student.request({"type": "leave"})
    assert (student.close_code, student.close_reason) == (1000, "left")
