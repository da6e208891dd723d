"""The lobby across two servers on one Redis: a student waiting on one is admitted, or turned
away, by a teacher on the other; the worker holding the waiting connection completes it."""

from __future__ import annotations

from server.protocol.lobby import LobbyWait
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, participant_of, quiet, two_servers_on_redis, wait_event
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


async def test_a_student_waiting_on_one_server_is_admitted_from_the_other(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first, settings={"lobby": "everyone"})
    teacher = first.client(room.teacher_token(0))
    await teacher.connect()
    amani = second.client(await room.student_token(0, "Amani"))
    waiting = await amani.connect_or_wait()
    assert isinstance(waiting, LobbyWait)
    amani_id = str(waiting.participant["id"])
    announced = await wait_event(teacher, "lobby.waiting")
    assert announced.data["participant"]["id"] == amani_id

    await teacher.chat("Ainda não")
    assert await quiet(amani) == []
    await teacher.command({"type": "lobby.admit", "participant": amani_id})
    welcome = await amani.admitted()
    assert welcome.session is not None
    assert [m["text"] for m in welcome.session["chat"]] == ["Ainda não"]
    joined = await wait_event(teacher, "participant.joined")
    assert joined.data["participant"]["id"] == amani_id

    posted = await teacher.chat("Entra!")
    event = await amani.next_event("chat.posted")
    assert event.seq == posted.seq
    reply = await amani.chat("Obrigada")
    echoed = await wait_event(teacher, "chat.posted", lambda e: e.seq == reply.seq)
    assert echoed.data["from"] == participant_of(amani)


async def test_a_denial_on_one_server_closes_the_waiting_connection_on_the_other(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first, settings={"lobby": "everyone"})
    teacher = first.client(room.teacher_token(1))
    await teacher.connect()
    baraka = second.client(await room.student_token(1, "Baraka"))
    assert isinstance(await baraka.connect_or_wait(), LobbyWait)
    await wait_event(teacher, "lobby.waiting")
    await teacher.command({"type": "lobby.deny", "class": room.class_id(1)})
    assert await baraka.wait_closed() == 4014
    assert baraka.close_reason == "lobby_denied"
