"""``classbridge simulate-class``: one synthetic class station on a live session, reporting
what it receives from every other participant that sends video."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # aiortc and av load in a few tenths of a second: only for this command
    from server.media.station import SyntheticStation
    from server.media.video import VideoFormat

REPORT_EVERY = 5.0  # seconds


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = commands.add_parser(
        "simulate-class",
        help="join a session as a synthetic class station (test video and tone over WebRTC)",
    )
    simulate.add_argument("--url", required=True, help="the server's WebSocket URL, ws://HOST/ws")
    simulate.add_argument("--token", required=True, help="a join token with the station role")
    simulate.add_argument("--duration", type=float, help="seconds to stay (default: until ^C)")
    simulate.add_argument("--width", type=int, default=320)
    simulate.add_argument("--height", type=int, default=240)
    simulate.add_argument("--fps", type=int, default=15)


def report(station: SyntheticStation) -> None:
    """One line per remote peer: its connection state and what arrived from it."""
    received = station.received()
    if not received:
        print("no peers yet", flush=True)
    for remote, media in sorted(received.items()):
        state = station.states().get(remote, "gone")
        print(f"{remote}: {state}, {media.summary()}", flush=True)


async def simulate(url: str, token: str, duration: float | None, video: VideoFormat) -> None:
    from server.media.station import SyntheticStation

    station = SyntheticStation(url, token, video=video)
    await station.start()
    print(f"joined as {station.participant_id}", flush=True)
    loop = asyncio.get_running_loop()
    deadline = None if duration is None else loop.time() + duration
    try:
        while deadline is None or loop.time() < deadline:
            wait = REPORT_EVERY if deadline is None else min(REPORT_EVERY, deadline - loop.time())
            await asyncio.sleep(max(0.0, wait))
            report(station)
    finally:
        await station.close()


def run(args: dict[str, Any]) -> int:
    """The command, given the parsed arguments of its subparser."""
    from server.media.video import VideoFormat

    try:
        video = VideoFormat(args["width"], args["height"], args["fps"])
    except ValueError as error:
        print(f"classbridge simulate-class: {error}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(simulate(args["url"], args["token"], args["duration"], video))
    return 0
