"""A locked session keeps out newcomers, those already waiting in the lobby included: the
policy no longer lets them in on its own; a teacher still may (protocol §23, §24)."""

from __future__ import annotations

from server.protocol.lobby import LobbyWait
from server.protocol.messages import Welcome
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, quiet, wait_event


async def test_a_teacher_arriving_does_not_let_a_waiter_into_a_locked_session(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(presence_grace=0.2)
    room = await open_classroom(server, settings={"lobby": "class"})
    nairobi_teacher = await room.teacher(1)
    amani = server.client(await room.student_token(0, "Amani"))
    assert isinstance(await amani.connect_or_wait(), LobbyWait)  # her teacher is not here
    await wait_event(nairobi_teacher, "lobby.waiting")
    await nairobi_teacher.command({"type": "moderation.lock", "locked": True})

    lisbon_teacher = await room.teacher(0)
    assert await quiet(amani) == []
    assert amani.welcome is None  # still waiting: the lock holds
    assert lisbon_teacher.welcome is not None
    assert lisbon_teacher.welcome.session is not None
    waiting = lisbon_teacher.welcome.session["lobby"]["waiting"][room.class_id(0)]
    assert [w["name"] for w in waiting] == ["Amani"]

    assert amani.lobby is not None
    await lisbon_teacher.command(
        {"type": "lobby.admit", "participant": amani.lobby.participant["id"]}
    )
    assert isinstance(await amani.admitted(), Welcome)  # a teacher's admission still counts
