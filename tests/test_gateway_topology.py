"""The topology announced in the log as stations come and go, over a real server."""

from __future__ import annotations

import pytest

from server.client import ClassbridgeClient, ClientError
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom, seq_of, wait_event


async def _station(room: Classroom, n: int) -> ClassbridgeClient:
    return await room.join(await room.token("station", n % 2, f"Room {n}"))


async def _announced(client: ClassbridgeClient) -> str:
    event = await wait_event(client, "media.topology")
    return str(event.data["topology"])


async def test_video_moves_up_at_once_and_falls_back_after_settling(
    server_factory: ServerFactory,
) -> None:
    room = await open_classroom(await server_factory(topology_settle=2.0))
    teacher = await room.teacher(0)
    assert teacher.welcome is not None
    assert (teacher.welcome.session or {})["media"] == {
        "topology": "none",
        "relay_requested": False,
        "grants": [],
    }
    stations = [await _station(room, 0)]
    assert await _announced(teacher) == "p2p"
    stations.append(await _station(room, 1))
    assert await _announced(teacher) == "mesh"
    for n in range(2, 4):
        stations.append(await _station(room, n))
    assert await _announced(teacher) == "relay"  # five publishers, the teacher included
    await stations.pop().send_raw({"type": "leave"})
    await wait_event(teacher, "participant.left")
    marker = await teacher.chat("still on the relay?")  # well within the 2 s to settle
    fallback = await wait_event(teacher, "media.topology")
    assert fallback.data["topology"] == "mesh"
    assert fallback.seq > seq_of(marker)  # not at the leave: only once the count had settled
    late = await _station(room, 9)
    assert late.welcome is not None
    assert (late.welcome.session or {})["media"]["topology"] in ("mesh", "relay")


async def test_teachers_ask_for_the_relay(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    teacher = await room.teacher(0)
    await _station(room, 1)
    assert await _announced(teacher) == "p2p"
    await teacher.command({"type": "media.relay", "on": True})
    assert await _announced(teacher) == "relay"
    student = await room.student(1, "Amani")
    with pytest.raises(ClientError) as refused:
        await student.command({"type": "media.relay", "on": False})
    assert refused.value.code == "forbidden"
