"""Synthetic class stations through a real server: WebRTC between two classes, signaled over
the Classbridge protocol, with the video's frame counter read back on arrival."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from server.client import ClientError
from server.media.station import SyntheticStation
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom, wait_event
from tests.live import LiveServer
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

FRAMES = 20  # video frames each station must decode from the other
MEDIA_TIMEOUT = 30.0  # connecting and 20 frames at 15 fps take a few seconds; a busy CI more
pytestmark = pytest.mark.slow


async def until(condition: Callable[[], bool], timeout: float = MEDIA_TIMEOUT) -> None:
    """Poll: frames are counted by aiortc's tasks, which signal nothing a test could await."""
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


class Stations:
    """Starts stations and closes them (peer connections included) at the end of a test."""

    def __init__(self) -> None:
        self.started: list[SyntheticStation] = []

    async def start(self, server: LiveServer, room: Classroom, index: int) -> SyntheticStation:
        token = await room.token("station", index, f"Station {index + 1}")
        station = SyntheticStation(server.ws_url, token)
        self.started.append(station)
        await station.start()
        return station

    async def close(self) -> None:
        for station in self.started:
            await station.close()


@pytest.fixture
async def stations() -> AsyncIterator[Stations]:
    started = Stations()
    yield started
    await started.close()


async def assert_media_flows(first: SyntheticStation, second: SyntheticStation) -> None:
    """Each decodes at least FRAMES frames from the other, counters strictly increasing."""
    pairs = ((first, second.participant_id), (second, first.participant_id))
    await until(lambda: all(s.states().get(remote) == "connected" for s, remote in pairs))
    await until(
        lambda: all(
            remote in s.received() and len(s.received()[remote].recent_counters) >= FRAMES
            for s, remote in pairs
        )
    )
    for station, remote in pairs:
        received = station.received()[remote]
        counters = list(received.recent_counters)
        assert counters == sorted(set(counters)), counters  # strictly increasing
        assert received.out_of_order == received.unreadable_frames == 0
        assert received.audio_frames > 0


async def two_stations(
    server_factory: ServerFactory, stations: Stations
) -> tuple[SyntheticStation, SyntheticStation]:
    """A station of each class, in a fresh session on a fresh server (memory://)."""
    server = await server_factory()
    room = await open_classroom(server)
    return await stations.start(server, room, 0), await stations.start(server, room, 1)


async def test_two_stations_exchange_video_through_one_server(
    server_factory: ServerFactory, stations: Stations
) -> None:
    first, second = await two_stations(server_factory, stations)
    await assert_media_flows(first, second)
    # Exactly one side offered: one peer connection each, named by the lower participant id.
    offerer, answerer = sorted((first, second), key=lambda s: s.participant_id)
    assert offerer.links[answerer.participant_id].offerer
    assert not answerer.links[offerer.participant_id].offerer
    assert offerer.links[answerer.participant_id].pc_name == "syn-1"


async def test_two_stations_on_two_servers_sharing_redis(
    server_factory: ServerFactory, stations: Stations, redis_server: RedisServer
) -> None:
    redis_server.flush()
    first_server = await server_factory(broker_url=redis_server.url)
    second_server = await server_factory(broker_url=redis_server.url)
    room = await open_classroom(first_server)
    first = await stations.start(first_server, room, 0)
    second = await stations.start(second_server, room, 1)
    await assert_media_flows(first, second)


async def test_a_resumed_websocket_keeps_the_peer_connection(
    server_factory: ServerFactory, stations: Stations
) -> None:
    first, second = await two_stations(server_factory, stations)
    await assert_media_flows(first, second)
    link = first.links[second.participant_id]
    frames_before = link.received.video_frames

    await first.client.drop()  # the network blinks; the station resumes by itself
    await until(lambda: first.reconnects == 1)
    await until(lambda: link.received.video_frames >= frames_before + FRAMES)
    assert first.links[second.participant_id] is link  # the same peer connection throughout
    assert link.state == "connected"
    assert link.received.out_of_order == 0


async def test_a_station_leaving_closes_the_peer_connection(
    server_factory: ServerFactory, stations: Stations
) -> None:
    first, second = await two_stations(server_factory, stations)
    await until(lambda: first.states().get(second.participant_id) == "connected")
    await second.close()
    await until(lambda: second.participant_id not in first.links)


async def test_a_student_cannot_signal_a_station(
    server_factory: ServerFactory, stations: Stations
) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    station = await stations.start(server, room, 0)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    with pytest.raises(ClientError) as refused:
        await student.signal(station.participant_id, "cam-1", description=offer)
    assert refused.value.code == "forbidden"
    # The station saw the student join, made no peer connection for it, and got no offer.
    await wait_event(teacher, "participant.joined")
    await asyncio.sleep(0.3)  # a relayed signal would have arrived by now
    assert station.client.peer_messages.empty()
    assert student.welcome is not None
    assert student.welcome.participant["id"] not in station.links
    with pytest.raises(ValueError, match="student"):
        await SyntheticStation(server.ws_url, student.token).start()
