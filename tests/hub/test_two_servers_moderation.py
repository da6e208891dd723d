"""Moderation across two servers on one Redis: each worker closes its own connections of a
removed participant, and every connection when the session ends (protocol §24)."""

from __future__ import annotations

import pytest

from tests.conftest import ServerFactory
from tests.helpers import open_classroom, participant_of, two_servers_on_redis, wait_event
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


async def test_removal_and_end_close_connections_on_the_other_worker(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    teacher = first.client(room.teacher_token(0))
    await teacher.connect()
    token = await room.student_token(1, "Amani")
    tab_here, tab_there = first.client(token), second.client(token)
    await tab_here.connect()
    await tab_there.connect()
    rui = second.client(await room.student_token(0, "Rui"))
    await rui.connect()

    await teacher.request(
        {"type": "moderation.remove", "participant": participant_of(tab_here), "bar": True}
    )
    for tab in (tab_here, tab_there):  # one on each server
        assert await tab.wait_closed() == 4006
        assert tab.close_reason == "removed"
    with pytest.raises(ConnectionError):
        await second.client(token).connect()  # barred on the other worker too
    posted = await teacher.chat("Rui, still there?")
    assert (await wait_event(rui, "chat.posted")).seq == posted.seq

    late = second.client(await room.student_token(0, "Inês"))  # a token got before the end
    await teacher.request({"type": "session.end"})
    for client in (teacher, rui):
        assert await client.wait_closed() == 4007
    with pytest.raises(ConnectionError):
        await late.connect()
    assert (late.close_code, late.close_reason) == (4007, "session_ended")
