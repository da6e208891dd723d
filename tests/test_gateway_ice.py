"""ICE servers over a real server: in the welcome of roles with video, fresh on ``ice.refresh``
(docs/protocol.md, "ice.refresh"), never for students."""

from __future__ import annotations

import asyncio
import time

import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.ice import IceServers
from server.protocol.messages import Welcome
from server.signaling.ice import turn_credential
from tests.conftest import ServerFactory
from tests.helpers import JSON, Classroom, open_classroom, participant_of

STUN = ["stun:stun.example.org:3478"]
TURN = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443"]
TURN_SECRET = "gateway-ice-test-secret"
TTL = 600
ICE_SETTINGS = {"stun_urls": STUN, "turn_urls": TURN, "turn_secret": TURN_SECRET, "turn_ttl": TTL}


async def _classroom(server_factory: ServerFactory, **settings: object) -> Classroom:
    return await open_classroom(await server_factory(**settings))


async def _station(room: Classroom) -> ClassbridgeClient:
    return await room.join(await room.token("station", 1, "Nairobi room"))


def _check_turn(servers: list[dict[str, object]], participant: str, expires_at: int) -> None:
    """STUN as configured; TURN with a REST credential for this participant until expires_at."""
    stun, turn = servers
    assert stun == {"urls": STUN}
    assert turn["urls"] == TURN
    username = turn["username"]
    assert username == f"{expires_at // 1000}:{participant}"
    assert turn["credential"] == turn_credential(TURN_SECRET, username)


async def test_a_station_gets_servers_in_its_welcome_and_fresh_ones_on_refresh(
    server_factory: ServerFactory,
) -> None:
    room = await _classroom(server_factory, **ICE_SETTINGS)
    before = int(time.time())
    station = await _station(room)
    welcome = station.welcome
    assert welcome is not None
    assert welcome.ice_servers is not None
    assert welcome.ice_expires_at is not None
    assert before + TTL <= welcome.ice_expires_at // 1000 <= int(time.time()) + TTL
    _check_turn(welcome.ice_servers, participant_of(station), welcome.ice_expires_at)
    # Expiries count whole seconds: wait for the next one, so the new expiry must be later.
    await asyncio.sleep(1.05)
    reply = await station.request({"type": "ice.refresh"})
    assert isinstance(reply, IceServers)
    assert reply.expires_at > welcome.ice_expires_at
    _check_turn(reply.servers, participant_of(station), reply.expires_at)
    assert reply.servers[1]["credential"] != welcome.ice_servers[1]["credential"]


async def test_teachers_get_servers_too_and_a_resumed_welcome_has_them(
    server_factory: ServerFactory,
) -> None:
    room = await _classroom(server_factory, **ICE_SETTINGS)
    teacher = await room.teacher(0, JSON)
    assert teacher.welcome is not None
    assert teacher.welcome.ice_servers is not None
    resumed = await teacher.reconnect()
    assert resumed.resume == "events"
    assert resumed.ice_servers is not None
    assert resumed.ice_expires_at is not None
    _check_turn(resumed.ice_servers, participant_of(teacher), resumed.ice_expires_at)


async def test_a_student_gets_no_ice_servers(server_factory: ServerFactory) -> None:
    room = await _classroom(server_factory, **ICE_SETTINGS)
    student = await room.student(1, "Amani")
    welcome = student.welcome
    assert isinstance(welcome, Welcome)
    assert (welcome.ice_servers, welcome.ice_expires_at) == (None, None)
    with pytest.raises(ClientError) as refused:
        await student.request({"type": "ice.refresh"})
    assert refused.value.code == "forbidden"
    assert await student.ping()  # the connection stays


async def test_without_ice_settings_the_welcome_has_none(server_factory: ServerFactory) -> None:
    room = await _classroom(server_factory)
    station = await _station(room)
    assert station.welcome is not None
    assert (station.welcome.ice_servers, station.welcome.ice_expires_at) == (None, None)
    reply = await station.request({"type": "ice.refresh"})
    assert isinstance(reply, IceServers)
    assert reply.servers == []


async def test_stun_only_gives_no_credentials(server_factory: ServerFactory) -> None:
    room = await _classroom(server_factory, stun_urls=STUN)
    station = await _station(room)
    assert station.welcome is not None
    assert station.welcome.ice_servers == [{"urls": STUN}]
