"""`classbridge simulate-class` as a real process, with a synthetic station of the other class
in the test: media flows both ways and the command reports what it received."""

from __future__ import annotations

import asyncio

import pytest

from server.media.station import SyntheticStation
from tests.conftest import ServerFactory
from tests.helpers import open_classroom
from tests.media.test_station import FRAMES, until
from tests.processes import CLASSBRIDGE

pytestmark = pytest.mark.slow
RUN_SECONDS = 6.0  # process start-up (imports aiortc) plus a connection plus 20 frames


async def test_simulate_class_exchanges_media_and_reports(server_factory: ServerFactory) -> None:
    server = await server_factory()
    room = await open_classroom(server)
    token = await room.token("station", 0, "Lisbon station")
    process = await asyncio.create_subprocess_exec(
        CLASSBRIDGE,
        *("simulate-class", "--url", server.ws_url, "--token", token),
        *("--duration", str(RUN_SECONDS), "--width", "160", "--height", "120"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    station = SyntheticStation(server.ws_url, await room.token("station", 1, "Nairobi station"))
    try:
        await station.start()
        await until(
            lambda: any(len(m.recent_counters) >= FRAMES for m in station.received().values())
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_SECONDS + 20)
    finally:
        await station.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert lines[0].startswith("joined as p_")
    reports = [line for line in lines if line.startswith(f"{station.participant_id}: connected")]
    assert reports, lines
    assert "0 unreadable, 0 out of order" in reports[-1]


async def test_simulate_class_refuses_a_frame_too_small() -> None:
    process = await asyncio.create_subprocess_exec(
        CLASSBRIDGE,
        *("simulate-class", "--url", "ws://127.0.0.1:9/ws", "--token", "t", "--width", "10"),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"frame 10x240" in stderr
