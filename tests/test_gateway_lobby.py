"""The lobby over a real server: waiting, admitting, denying, the policies (protocol §23)."""

from __future__ import annotations

import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.lobby import LobbyWait
from server.protocol.messages import Welcome
from tests.conftest import ServerFactory
from tests.helpers import (
    Classroom,
    collect_until,
    open_classroom,
    participant_of,
    quiet,
    seq_of,
    wait_event,
)
from tests.live import API_KEY, TWO_CLASSES, LiveServer

# Joins in a loop (deny, try again) must not hit the join rate limit in these tests.
SETTINGS = {"joins_per_minute": 6000.0, "joins_burst": 100, "presence_grace": 0.2}


@pytest.fixture
async def server(server_factory: ServerFactory) -> LiveServer:
    return await server_factory(**SETTINGS)


async def lobby_room(server: LiveServer, policy: str) -> Classroom:
    return await open_classroom(server, settings={"lobby": policy})


async def waiting_student(room: Classroom, index: int, name: str) -> ClassbridgeClient:
    client = room.server.client(await room.student_token(index, name))
    answer = await client.connect_or_wait()
    assert isinstance(answer, LobbyWait), answer
    return client


def waiting_id(client: ClassbridgeClient) -> str:
    """The participant id of a client that waits (or waited) in the lobby."""
    if client.lobby is None:
        return participant_of(client)
    return str(client.lobby.participant["id"])


async def test_a_waiting_student_sees_nothing_until_a_teacher_admits_them(
    server: LiveServer,
) -> None:
    room = await lobby_room(server, "everyone")
    teacher = await room.teacher(0)
    amani = await waiting_student(room, 0, "Amani")
    assert amani.lobby is not None
    assert amani.lobby.policy == "everyone"
    assert amani.lobby.participant["name"] == "Amani"
    assert amani.lobby.id == "join"  # the join's request id
    amani_id = waiting_id(amani)

    waiting = await wait_event(teacher, "lobby.waiting")
    assert waiting.data["participant"] == {**amani.lobby.participant}
    await teacher.chat("Bom dia, turma!")
    assert await quiet(amani) == []  # no chat, no events while waiting
    assert amani.welcome is None

    ack = await teacher.command({"type": "lobby.admit", "participant": amani_id})
    welcome = await amani.admitted()
    assert welcome.resume == "none"
    assert welcome.id == "join"
    assert welcome.session is not None
    assert [m["text"] for m in welcome.session["chat"]] == ["Bom dia, turma!"]
    assert welcome.session["lobby"] is None  # students do not see who waits
    assert welcome.seq > seq_of(ack)  # the snapshot holds their own participant.joined
    me = [p for c in welcome.session["classes"] for p in c["participants"] if p["id"] == amani_id]
    assert me[0]["present"] is True

    admitted = await wait_event(teacher, "lobby.admitted")
    assert admitted.data == {
        "participants": [amani_id],
        "class_id": None,
        "by": participant_of(teacher),
    }
    joined = await wait_event(teacher, "participant.joined")
    assert joined.data["participant"]["id"] == amani_id
    # Live from now on, like any member.
    posted = await teacher.chat("Bem-vinda, Amani")
    event = await amani.next_event("chat.posted")
    assert (event.seq, event.data["text"]) == (posted.seq, "Bem-vinda, Amani")
    await amani.chat("Olá!")


async def test_teachers_see_the_lobby_by_class_in_their_snapshot(server: LiveServer) -> None:
    room = await lobby_room(server, "everyone")
    amani = await waiting_student(room, 0, "Amani")
    wanjiru = await waiting_student(room, 1, "Wanjiru")
    teacher = await room.teacher(1)
    assert teacher.welcome is not None
    assert teacher.welcome.session is not None
    lobby = teacher.welcome.session["lobby"]
    assert list(lobby["waiting"]) == [room.class_id(0), room.class_id(1)]
    assert [w["id"] for w in lobby["waiting"][room.class_id(0)]] == [waiting_id(amani)]
    assert [w["id"] for w in lobby["waiting"][room.class_id(1)]] == [waiting_id(wanjiru)]


async def test_a_waiting_connection_may_only_ping_or_leave(server: LiveServer) -> None:
    room = await lobby_room(server, "everyone")
    teacher = await room.teacher(0)
    amani = await waiting_student(room, 0, "Amani")
    await amani.ping()
    for message in (
        {"type": "chat.send", "text": "let me in"},
        {"type": "board.clear", "board": "main"},
        {"type": "hand.raise"},
        {"type": "typing"},
    ):
        with pytest.raises(ClientError) as refused:
            await amani.request(message)
        assert refused.value.code == "in_lobby"
    await amani.send_raw({"type": "leave"})
    assert await amani.wait_closed() == 1000
    left = await wait_event(teacher, "lobby.left")
    assert left.data == {"participant_id": waiting_id(amani), "reason": "left"}


async def test_a_waiting_connection_that_closes_leaves_the_lobby(server: LiveServer) -> None:
    room = await lobby_room(server, "everyone")
    teacher = await room.teacher(0)
    amani = await waiting_student(room, 0, "Amani")
    await amani.drop()
    left = await wait_event(teacher, "lobby.left")
    assert left.data == {"participant_id": waiting_id(amani), "reason": "disconnected"}
    with pytest.raises(ClientError) as refused:
        await teacher.command({"type": "lobby.admit", "participant": waiting_id(amani)})
    assert refused.value.code == "not_found"


async def test_deny_closes_with_4014_and_a_later_try_waits_again(server: LiveServer) -> None:
    room = await lobby_room(server, "everyone")
    teacher = await room.teacher(0)
    token = await room.student_token(0, "Amani")
    amani = server.client(token)
    assert isinstance(await amani.connect_or_wait(), LobbyWait)
    amani_id = waiting_id(amani)
    await teacher.command({"type": "lobby.deny", "participant": amani_id})
    assert await amani.wait_closed() == 4014
    assert amani.close_reason == "lobby_denied"
    denied = await wait_event(teacher, "lobby.denied")
    assert denied.data == {
        "participants": [amani_id],
        "class_id": None,
        "by": participant_of(teacher),
    }

    again = await amani.connect_or_wait()
    assert isinstance(again, LobbyWait)
    await wait_event(teacher, "lobby.waiting")
    await teacher.command({"type": "lobby.admit", "participant": amani_id})
    assert isinstance(await amani.admitted(), Welcome)


async def test_admit_a_whole_class(server: LiveServer) -> None:
    room = await lobby_room(server, "everyone")
    host = server.client(room.created["host_token"])
    await host.connect()
    lisbon = [await waiting_student(room, 0, name) for name in ("Ana", "Rui")]
    nairobi = await waiting_student(room, 1, "Baraka")
    lisbon_ids = sorted(waiting_id(s) for s in lisbon)
    await host.command({"type": "lobby.admit", "class": room.class_id(0)})
    for student in lisbon:
        assert isinstance(await student.admitted(), Welcome)
    admitted = await wait_event(host, "lobby.admitted")
    assert sorted(admitted.data["participants"]) == lisbon_ids
    assert admitted.data["class_id"] == room.class_id(0)
    assert await quiet(nairobi) == []
    assert nairobi.welcome is None  # still waiting


async def test_class_policy_lets_students_in_when_their_teacher_arrives(
    server: LiveServer,
) -> None:
    room = await lobby_room(server, "class")
    nairobi_teacher = await room.teacher(1)
    assert isinstance(await server.client(await room.student_token(1, "Baraka")).connect(), Welcome)
    amani = await waiting_student(room, 0, "Amani")  # her teacher (c1) is not here yet
    assert amani.lobby is not None
    assert amani.lobby.policy == "class"
    await wait_event(nairobi_teacher, "lobby.waiting")

    await room.teacher(0)
    welcome = await amani.admitted()
    assert welcome.session is not None
    by_policy = await wait_event(nairobi_teacher, "lobby.admitted")
    assert by_policy.data == {"participants": [waiting_id(amani)], "class_id": None, "by": None}


async def test_students_and_others_cannot_admit_and_unknown_ids_are_not_found(
    server: LiveServer,
) -> None:
    room = await lobby_room(server, "everyone")
    teacher = await room.teacher(0)
    waiting = await waiting_student(room, 0, "Amani")
    await teacher.command({"type": "lobby.admit", "participant": waiting_id(waiting)})
    amani = waiting  # now in the session
    await amani.admitted()
    rui = await waiting_student(room, 0, "Rui")
    station = await room.join(await room.token("station", 0, "Sala 6B"))
    observer = await room.join(await room.token("observer", 0, "Inspetora"))
    before = await room.seq()
    for client in (amani, station, observer):
        for kind in ("lobby.admit", "lobby.deny"):
            with pytest.raises(ClientError) as refused:
                await client.command({"type": kind, "participant": waiting_id(rui)})
            assert refused.value.code == "forbidden"
    for message, detail in (
        ({"type": "lobby.admit", "participant": "p_nobody"}, "participant"),
        ({"type": "lobby.deny", "class": "c_nowhere"}, "class"),
        ({"type": "lobby.admit", "class": room.class_id(1)}, "class"),  # nobody waits there
    ):
        with pytest.raises(ClientError) as refused:
            await teacher.command(message)
        assert (refused.value.code, refused.value.reply.detail) == ("not_found", detail)
    with pytest.raises(ClientError) as refused:
        await teacher.command({"type": "lobby.admit"})
    assert refused.value.code == "invalid_message"
    assert await room.seq() == before
    assert rui.welcome is None


async def test_an_admitted_student_who_reconnects_does_not_wait(server: LiveServer) -> None:
    room = await lobby_room(server, "everyone")
    teacher = await room.teacher(0)
    amani = await waiting_student(room, 0, "Amani")
    await teacher.command({"type": "lobby.admit", "participant": waiting_id(amani)})
    await amani.admitted()
    assert isinstance(await amani.reconnect(), Welcome)  # a resume
    await amani.close()
    await wait_event(teacher, "participant.left")
    fresh = await amani.connect(resume=False)  # a new page load, later
    assert fresh.session is not None


async def test_teachers_change_the_policy_and_opening_lets_everyone_in(
    server: LiveServer,
) -> None:
    room = await lobby_room(server, "open")
    teacher = await room.teacher(0)
    assert isinstance(await server.client(await room.student_token(0, "Ana")).connect(), Welcome)
    ack = await teacher.command({"type": "settings.update", "settings": {"lobby": "everyone"}})
    amani = await waiting_student(room, 1, "Amani")
    with pytest.raises(ClientError) as refused:
        await teacher.command({"type": "settings.update", "settings": {"lobby": "closed"}})
    assert refused.value.code == "invalid_message"
    await teacher.command({"type": "settings.update", "settings": {"lobby": "open"}})
    assert isinstance(await amani.admitted(), Welcome)
    kinds = [e.kind for e in await collect_until(teacher, seq_of(ack) + 4)]
    assert "lobby.admitted" in kinds


async def test_the_http_api_takes_the_policy_and_the_old_boolean(server: LiveServer) -> None:
    room = await open_classroom(server, settings={"lobby": True})
    teacher = await room.teacher(0)
    assert teacher.welcome is not None
    assert teacher.welcome.session is not None
    assert teacher.welcome.session["settings"]["lobby"] == "everyone"
    body = {"title": "x", "classes": TWO_CLASSES, "settings": {"lobby": "closed"}}
    headers = {"authorization": f"Bearer {API_KEY}"}
    response = await server.http.post("/api/sessions", json=body, headers=headers)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["detail"]) == ("invalid_message", "lobby")
