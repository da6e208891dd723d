"""The server's media relay (topology ``relay``) with synthetic stations through real servers:
each participant publishes once to ``relay`` and receives every other publisher's video from
it, counters read back on arrival."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server.auth import TokenService
from server.client import ClassbridgeClient, ClientError
from server.errors import TokenInvalid
from server.hub import SessionHub
from server.ids import RELAY_ID
from server.media.station import SyntheticStation
from server.media.video import VideoFormat
from server.rooms.actor import Actor
from server.rooms.roles import Role
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom, two_servers_on_redis
from tests.live import API_KEY, SECRET, LiveServer
from tests.media.test_station import MEDIA_TIMEOUT, until
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

FRAMES = 15  # frames each station must decode from each other publisher through the relay
SMALL = VideoFormat(192, 144, 15)  # the relay decodes and re-encodes: keep the test light
pytestmark = pytest.mark.slow


def hub_of(server: LiveServer) -> SessionHub:
    return server.services.hub


class RelayStations:
    def __init__(self) -> None:
        self.started: list[SyntheticStation] = []

    async def start(
        self, server: LiveServer, room: Classroom, *, publish: bool = True
    ) -> SyntheticStation:
        index = len(self.started)
        token = await room.token("station", index % 2, f"Station {index + 1}")
        station = SyntheticStation(server.ws_url, token, video=SMALL, publish=publish)
        self.started.append(station)
        await station.start()
        return station

    async def close(self) -> None:
        for station in self.started:
            await station.close()
        self.started = []


@pytest.fixture
async def stations() -> AsyncIterator[RelayStations]:
    started = RelayStations()
    yield started
    await started.close()


async def ask_for_relay(room: Classroom) -> ClassbridgeClient:
    teacher = await room.teacher(0)
    await teacher.command({"type": "media.relay", "on": True})
    return teacher


def frames_from(station: SyntheticStation, publisher: str) -> list[int]:
    received = station.received().get(publisher)
    return [] if received is None else list(received.recent_counters)


async def assert_relayed(
    receivers: list[SyntheticStation], publishers: list[SyntheticStation]
) -> None:
    """Every receiver decodes FRAMES increasing counters from every other publisher."""
    wanted = [
        (receiver, publisher.participant_id)
        for receiver in receivers
        for publisher in publishers
        if publisher is not receiver
    ]
    await until(lambda: all(len(frames_from(r, p)) >= FRAMES for r, p in wanted), MEDIA_TIMEOUT)
    for receiver, publisher in wanted:
        counters = frames_from(receiver, publisher)
        assert counters == sorted(set(counters)), counters  # strictly increasing
        received = receiver.received()[publisher]
        assert received.out_of_order == received.unreadable_frames == 0
        assert received.audio_frames > 0
    for receiver in receivers:
        assert receiver.links == {}  # no peer-to-peer connection while relayed
        assert receiver.relay_states()["pub"] == "connected"


async def test_the_relay_forwards_three_publishers_to_five_stations(
    server_factory: ServerFactory, stations: RelayStations
) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    await ask_for_relay(room)
    publishers = [await stations.start(server, room) for _ in range(3)]
    watchers = [await stations.start(server, room, publish=False) for _ in range(2)]
    await until(lambda: all(s.topology == "relay" for s in stations.started))
    await assert_relayed(publishers + watchers, publishers)
    relay = hub_of(server).media_relay.sessions[room.session_id]
    assert sorted(relay.publishers) == sorted(s.participant_id for s in stations.started)
    # Watchers send nothing, so the relay decodes three streams and forwards each to four.
    assert sum(len(p.tracks) for p in relay.publishers.values()) == 3 * 2

    # A publisher leaving: the others get a new subscription without its tracks.
    gone = publishers.pop()
    await gone.close()
    stations.started.remove(gone)
    await until(lambda: gone.participant_id not in relay.publishers)
    await until(
        lambda: all(
            s.relay_sub is not None
            and s.relay_sub.state == "connected"
            and gone.participant_id not in s.relay_sub.by_source
            for s in stations.started
        )
    )
    await assert_relayed(publishers + watchers, publishers)


async def test_the_relay_on_two_servers_sharing_redis(
    server_factory: ServerFactory, stations: RelayStations, redis_server: RedisServer
) -> None:
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    await ask_for_relay(room)
    publishers = [
        await stations.start(first, room),
        await stations.start(second, room),
        await stations.start(second, room),
    ]
    await until(lambda: all(s.topology == "relay" for s in publishers))
    await assert_relayed(publishers, publishers)
    # Exactly one worker runs the session's relay, for publishers on both.
    running = [s for s in (first, second) if room.session_id in hub_of(s).media_relay.sessions]
    assert len(running) == 1
    relay = hub_of(running[0]).media_relay.sessions[room.session_id]
    assert sorted(relay.publishers) == sorted(s.participant_id for s in publishers)


async def test_the_relay_stops_when_the_topology_falls_back(
    server_factory: ServerFactory, stations: RelayStations
) -> None:
    server = await server_factory(topology_settle=0.2)
    room = await open_classroom(server)
    teacher = await ask_for_relay(room)
    first, second = await stations.start(server, room), await stations.start(server, room)
    await assert_relayed([first, second], [first, second])
    await teacher.command({"type": "media.relay", "on": False})
    await teacher.close()  # two stations left: peer-to-peer
    await until(lambda: first.topology == second.topology == "p2p")
    await until(lambda: room.session_id not in hub_of(server).media_relay.sessions)
    await until(lambda: first.states().get(second.participant_id) == "connected")
    assert first.relay_pub is first.relay_sub is None


async def test_a_student_cannot_signal_the_relay(
    server_factory: ServerFactory, stations: RelayStations
) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    await ask_for_relay(room)
    await stations.start(server, room)
    await stations.start(server, room)
    student = await room.student(1, "Amani")
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    with pytest.raises(ClientError) as refused:
        await student.signal(RELAY_ID, "pub", description=offer)
    assert refused.value.code == "forbidden"
    await asyncio.sleep(0.3)  # a relayed signal would have reached the relay by now
    relay = hub_of(server).media_relay.sessions[room.session_id]
    assert student.welcome is not None
    assert student.welcome.participant["id"] not in relay.publishers


async def test_signals_to_the_relay_follow_its_rules(server_factory: ServerFactory) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    with pytest.raises(ClientError) as not_now:  # the topology is not relay
        await teacher.signal(RELAY_ID, "pub", description=offer)
    assert (not_now.value.code, not_now.value.reply.detail) == ("forbidden", "to")
    await teacher.command({"type": "media.relay", "on": True})
    await room.teacher(1)  # two publishers: relay
    for pc, description, detail in (
        ("cam", offer, "pc"),
        ("sub-1", offer, "description.type"),
        ("pub", {"type": "answer", "sdp": "v=0\r\n"}, "description.type"),
    ):
        with pytest.raises(ClientError) as refused:
            await teacher.signal(RELAY_ID, pc, description=description)
        assert (refused.value.code, refused.value.reply.detail) == ("invalid_message", detail)


async def test_no_token_can_claim_the_relay_id(server_factory: ServerFactory) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    response = await server.http.post(
        f"/api/sessions/{room.session_id}/tokens",
        json={
            "role": "station",
            "class_id": room.class_id(0),
            "name": "X",
            "participant_id": RELAY_ID,
        },
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 400
    tokens = TokenService(SECRET)
    minted = tokens.mint(room.session_id, Actor(RELAY_ID, "X", Role.STATION, "c"), ttl=60)
    with pytest.raises(TokenInvalid):
        tokens.verify(minted)
