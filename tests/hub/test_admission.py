"""Per-participant admission over a real server: a join/leave loop or a pile of tabs is refused
with its own close code, and the rest of the session does not notice."""

from __future__ import annotations

import pytest

from server.client import ClassbridgeClient
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, seq_of


async def _refused(client: ClassbridgeClient) -> tuple[int | None, str]:
    with pytest.raises(ConnectionError) as caught:
        await client.connect()
    return client.close_code, str(caught.value)


async def test_a_join_leave_loop_is_cut_short(server_factory: ServerFactory) -> None:
    server = await server_factory(joins_per_minute=6.0, joins_burst=3)
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    token = await room.student_token(1, "Amani")
    looping = server.client(token)
    for _ in range(3):  # the burst: each join and leave is logged
        await looping.connect()
        await looping.send_raw({"type": "leave"})
        await looping.wait_closed()
    seq_before = seq_of(await teacher.chat("still here"))
    code, message = await _refused(looping)
    assert code == 4029
    assert "rate_limited" in message
    # Nothing was logged for the refused join; the teacher's session goes on.
    assert (await teacher.chat("and here")).seq == seq_before + 1


async def test_one_participant_holds_a_bounded_number_of_connections(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(connections_per_participant=2)
    room = await open_classroom(server)
    token = await room.student_token(1, "Amani")
    first, second = server.client(token), server.client(token)
    await first.connect()
    await second.connect()
    code, message = await _refused(server.client(token))
    assert code == 4013
    assert "too_many_connections" in message
    await second.close()
    third = server.client(token)
    await third.connect()  # a freed place can be taken again
    assert third.welcome is not None
