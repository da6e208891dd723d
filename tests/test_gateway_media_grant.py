"""Video grants over a real server (docs/protocol.md section 21, "Granting a student video"): a
teacher lets a student take part in video; while granted the student signals, gets ICE servers
and counts in the topology; taken back, all of that stops."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.ice import IceServers
from tests.conftest import ServerFactory
from tests.helpers import Classroom, next_signal, open_classroom, participant_of, wait_event

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}
ICE_SETTINGS = {
    "stun_urls": ["stun:stun.example.org:3478"],
    "turn_urls": ["turn:turn.example.org:3478?transport=udp"],
    "turn_secret": "media-grant-test-secret",
    "turn_ttl": 600,
}


async def _station(room: Classroom) -> ClassbridgeClient:
    return await room.join(await room.token("station", 1, "Nairobi room"))


async def _grant(teacher: ClassbridgeClient, student_id: str, on: bool) -> None:
    ack = await teacher.command({"type": "media.grant", "participant": student_id, "on": on})
    granted = await wait_event(teacher, "media.granted", lambda event: event.seq == ack.seq)
    assert granted.data == {"participant_id": student_id, "on": on, "by": participant_of(teacher)}


async def _refused(call: Awaitable[Any], code: str) -> None:
    with pytest.raises(ClientError) as refused:
        await call
    assert refused.value.code == code


async def test_a_granted_student_signals_and_gets_ice_until_the_grant_is_taken_back(
    server_factory: ServerFactory,
) -> None:
    room = await open_classroom(await server_factory(**ICE_SETTINGS))
    teacher = await room.teacher(0)
    station = await _station(room)
    student = await room.student(0, "Inês")
    student_id, station_id = participant_of(student), participant_of(station)
    assert student.welcome is not None
    assert student.welcome.ice_servers is None
    await _refused(student.signal(station_id, "cam-1", description=OFFER), "forbidden")
    await _refused(student.request({"type": "ice.refresh"}), "forbidden")

    await _grant(teacher, student_id, True)
    await wait_event(student, "media.granted")
    reply = await student.request({"type": "ice.refresh"})
    assert isinstance(reply, IceServers)
    assert reply.servers[1]["username"].endswith(f":{student_id}")  # TURN for the student
    await student.signal(station_id, "cam-1", description=OFFER)
    got = await next_signal(station)
    assert (got.sender, got.pc) == (student_id, "cam-1")
    await station.signal(student_id, "cam-1", description={"type": "answer", "sdp": ""})
    assert (await next_signal(student)).sender == station_id

    await _grant(teacher, student_id, False)
    await wait_event(student, "media.granted")
    await _refused(student.signal(station_id, "cam-2", description=OFFER), "forbidden")
    await _refused(station.signal(student_id, "cam-2", description=OFFER), "forbidden")
    await _refused(student.request({"type": "ice.refresh"}), "forbidden")
    assert station.peer_messages.empty()


async def test_the_topology_counts_a_granted_student(server_factory: ServerFactory) -> None:
    room = await open_classroom(await server_factory())
    teacher = await room.teacher(0)
    station = await _station(room)
    student = await room.student(0, "Inês")
    student_id = participant_of(student)
    pair = sorted([participant_of(teacher), participant_of(station)])
    first = await wait_event(teacher, "media.topology")
    assert (first.data["topology"], first.data["publishers"]) == ("p2p", pair)

    await _grant(teacher, student_id, True)
    grown = await wait_event(teacher, "media.topology")
    assert grown.data["topology"] == "mesh"
    assert grown.data["publishers"] == sorted([*pair, student_id])
    snapshot = (await room.teacher(0)).welcome
    assert snapshot is not None
    assert snapshot.session is not None
    assert snapshot.session["media"]["grants"] == [student_id]

    await _grant(teacher, student_id, False)
    shrunk = await wait_event(teacher, "media.topology")
    assert shrunk.data["publishers"] == pair


@pytest.mark.parametrize(
    ("sender", "target", "code"),
    [
        ("student", "student", "forbidden"),  # students cannot grant, not even themselves
        ("station", "student", "forbidden"),
        ("teacher", "station", "invalid_message"),
        ("teacher", "teacher", "invalid_message"),
        ("teacher", "nobody", "not_found"),
    ],
)
async def test_refused_grants_change_nothing(
    server_factory: ServerFactory, sender: str, target: str, code: str
) -> None:
    room = await open_classroom(await server_factory())
    clients = {
        "teacher": await room.teacher(0),
        "station": await _station(room),
        "student": await room.student(1, "Amani"),
    }
    to = "p_nobody" if target == "nobody" else participant_of(clients[target])
    await wait_event(clients["teacher"], "media.topology")  # teacher and station: p2p
    before = await room.seq()
    command = {"type": "media.grant", "participant": to, "on": True}
    with pytest.raises(ClientError) as refused:
        await clients[sender].command(command)
    assert refused.value.code == code
    assert refused.value.reply.detail == "participant"
    await room.assert_unaffected(before, clients["teacher"], clients["student"])
