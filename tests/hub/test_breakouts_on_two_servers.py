"""Breakout groups with members on two servers sharing one Redis: the groups are decided once
and logged, so both servers' replicas agree on them, and a group's chat crosses servers to its
members only."""

from __future__ import annotations

from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, participant_of, quiet, two_servers_on_redis, wait_event
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


def _members(students: list[ClassbridgeClient], group: dict[str, Any]) -> list[ClassbridgeClient]:
    return [s for s in students if participant_of(s) in group["members"]]


async def test_students_on_two_servers_share_groups_and_group_chat(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    teacher = second.client(room.teacher_token(1))
    await teacher.connect()
    students = []
    for n in range(8):  # four of each class, every other one on the other server
        server = first if n % 2 else second
        joined = await server.self_join(room.join_code(n // 4), f"Student {n}")
        student = server.client(joined["token"])
        await student.connect()
        students.append(student)

    await teacher.request({"type": "breakout.open", "size": 4, "seed": 5})
    opened = await wait_event(teacher, "breakout.opened")
    for student in students:  # the same groups everywhere: the logged ones
        assert (await wait_event(student, "breakout.opened")).data == opened.data
    groups = opened.data["groups"]

    # A fresh snapshot from either server's replica shows the same groups.
    for server in (first, second):
        late = server.client(students[0].token)
        welcome = await late.connect()
        assert welcome.session is not None
        assert [g["members"] for g in welcome.session["breakouts"]["groups"]] == [
            g["members"] for g in groups
        ]
        await late.close()

    # The first group must have members on both servers (the url says which server a client
    # uses); ids are random, so when it has not, a teacher moves someone in from the other.
    mine = groups[0]
    poster = _members(students, mine)[0]
    if len({s.url for s in _members(students, mine)}) == 1:
        guest = next(s for s in students if s.url != poster.url)  # in the other group
        move = {"type": "breakout.move", "participant": participant_of(guest), "group": mine["id"]}
        await teacher.request(move)
        moved = await wait_event(guest, "breakout.moved")
        assert (await wait_event(poster, "breakout.moved")).seq == moved.seq
        mine = {**mine, "members": [*mine["members"], participant_of(guest)]}
    members = _members(students, mine)
    assert len({s.url for s in members}) == 2
    ack = await poster.command({"type": "chat.send", "text": "hei!", "group": mine["id"]})
    for client in (*members, teacher):
        seen = await wait_event(client, "chat.posted")
        assert (seen.seq, seen.data["group"]) == (ack.seq, mine["id"])
    outsiders = [s for s in students if s not in members]
    for outsider in outsiders:
        assert ack.seq not in [e.seq for e in await quiet(outsider, 0.1)]
    with pytest.raises(ClientError) as caught:
        await outsiders[0].request({"type": "chat.send", "text": "x", "group": mine["id"]})
    assert caught.value.code == "forbidden"
