"""``--media N``: in the first N sessions the class stations are real synthetic stations
(server/media/station.py: aiortc, a counter video and a tone) instead of signaling stand-ins,
so the lesson carries real WebRTC negotiation and media between the classes. What each
station received is reported; the teachers' pages are stand-ins that never answer an offer, so
only station-to-station links carry media.

aiortc is imported only here, and only when ``--media`` asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.media.station import SyntheticStation

START_TIMEOUT = 20.0
SMALL_VIDEO = (160, 120, 10)  # width, height, fps: the generator shares the machine


@dataclass(frozen=True, slots=True)
class MediaFigures:
    stations: int
    started: int  # stations that joined
    links_connected: int  # peer links in state "connected", summed over stations
    video_frames: int  # received by all stations from all their peers
    audio_frames: int
    unreadable_frames: int
    errors: list[str]


async def start_stations(url: str, tokens: list[str]) -> tuple[list[SyntheticStation], list[str]]:
    """Start one synthetic station per token (bounded); the failures in words."""
    from server.media.station import SyntheticStation
    from server.media.video import VideoFormat

    stations = [SyntheticStation(url, t, video=VideoFormat(*SMALL_VIDEO)) for t in tokens]
    errors = []
    for station in stations:
        try:
            await asyncio.wait_for(station.start(), START_TIMEOUT)
        except (OSError, TimeoutError, ValueError, ConnectionError) as error:
            errors.append(repr(error))
    return stations, errors


def media_figures(stations: list[SyntheticStation], errors: list[str]) -> MediaFigures:
    received = [media for st in stations for media in st.received().values()]
    connected = sum(1 for st in stations for state in st.states().values() if state == "connected")
    return MediaFigures(
        stations=len(stations),
        started=len(stations) - len(errors),
        links_connected=connected,
        video_frames=sum(m.video_frames for m in received),
        audio_frames=sum(m.audio_frames for m in received),
        unreadable_frames=sum(m.unreadable_frames for m in received),
        errors=errors,
    )


async def close_stations(stations: list[SyntheticStation]) -> None:
    for station in stations:
        with contextlib.suppress(Exception):  # closing must not hide the run's own figures
            await asyncio.wait_for(station.close(), 10.0)
