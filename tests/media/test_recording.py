"""Recording with consent through real servers: synthetic stations publish to the relay, the
relay's recorder writes one WebM per publisher, and the files are decoded back with PyAV and
their frame counters read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import av
import pytest

from server.client import ClassbridgeClient, ClientError
from server.media.pattern import read_counter
from server.media.recorder import PublisherRecorder
from tests.conftest import ServerFactory
from tests.helpers import Classroom, open_classroom, wait_event
from tests.live import LiveServer
from tests.media.test_relay import SMALL, RelayStations, frames_from, hub_of, stations
from tests.media.test_station import until

__all__ = ["stations"]

RECORDED_FRAMES = 45  # about 3 s at 15 fps per publisher before the stop
# Frames the recorder may skip of those a subscriber got through the relay meanwhile: it
# reads the relay unbuffered, like a subscriber, and drops rather than queues when the loop
# is busy. Frames lost before the relay (a station's clock skipping counters on a loaded
# machine) are missing from both, so the subscriber's counters are the measure, not fps.
MOST_SKIPPED = 0.1
pytestmark = pytest.mark.slow


def recorders(server: LiveServer, room: Classroom) -> list[PublisherRecorder]:
    relay = hub_of(server).media_relay.sessions.get(room.session_id)
    if relay is None or relay.recorder is None:
        return []
    return [recorder for _, recorder in relay.recorder.running.values()]


async def ask_and_consent(room: Classroom) -> tuple[ClassbridgeClient, ClassbridgeClient]:
    first, second = await room.teacher(0), await room.teacher(1)
    await first.command({"type": "recording.start"})
    await second.command({"type": "recording.consent"})
    return first, second


def decoded_counters(path: Path) -> tuple[list[int | None], list[float], int]:
    """The counter of every decoded video frame, their times, and the audio packets."""
    with av.open(str(path)) as container:
        counters, times = [], []
        for frame in container.decode(video=0):
            counters.append(read_counter(frame))
            times.append(float(frame.time or 0.0))
    with av.open(str(path)) as container:
        audio = sum(1 for packet in container.demux(audio=0) if packet.size)
    return counters, times, audio


def check_file(path: Path, about: dict[str, Any], relayed: list[int]) -> None:
    """``relayed``: the counters a subscriber received from this publisher meanwhile."""
    counters, times, audio_packets = decoded_counters(path)
    assert None not in counters  # every frame written reads back
    read = [c for c in counters if c is not None]
    assert read == sorted(set(read)), read  # in order, none twice
    assert len(read) >= RECORDED_FRAMES
    assert len(read) == about["frames"]["video"]  # what the recorder encoded, all of it
    window = [c for c in relayed if read[0] <= c <= read[-1]]
    assert len(window) >= RECORDED_FRAMES // 2, (window, read)
    skipped = set(window) - set(read)
    assert len(skipped) <= MOST_SKIPPED * len(window), (sorted(skipped), len(window))
    # The file's timeline follows the frames' own spacing: as long as the counters say.
    duration, expected = times[-1] - times[0], (read[-1] - read[0]) / SMALL.fps
    assert abs(duration - expected) <= 0.2 * expected + 0.2, (duration, expected)
    assert audio_packets > 0


async def test_a_recording_with_both_classes_consenting(
    server_factory: ServerFactory, stations: RelayStations, tmp_path: Path
) -> None:
    server = await server_factory(recordings_dir=str(tmp_path))
    room = await open_classroom(server)
    first, second = await ask_and_consent(room)
    started = await wait_event(first, "recording.started")
    assert started.data == {"classes": sorted([room.class_id(0), room.class_id(1)])}
    publishers = [await stations.start(server, room) for _ in range(2)]
    await until(lambda: all(s.topology == "relay" for s in publishers))
    await until(
        lambda: (
            len(recorders(server, room)) == 2
            and all(r.frames["video"] >= RECORDED_FRAMES for r in recorders(server, room))
        )
    )
    await until(  # the subscribers' side is up as well: their counters are the measure
        lambda: all(
            len(frames_from(receiver, sender.participant_id)) >= RECORDED_FRAMES
            for sender, receiver in (publishers, publishers[::-1])
        )
    )
    relayed = {  # what each publisher's partner got through the relay, up to the stop
        sender.participant_id: frames_from(receiver, sender.participant_id)
        for sender, receiver in (publishers, publishers[::-1])
    }
    await second.command({"type": "recording.stop"})
    stopped = await wait_event(first, "recording.stopped")
    assert second.welcome is not None
    assert stopped.data == {"by": second.welcome.participant["id"], "reason": "stopped"}
    await until(lambda: not recorders(server, room))

    folder = tmp_path / room.session_id
    files = sorted(folder.glob("*.webm"))
    assert len(files) == 2  # one per publisher
    by_publisher = {}
    for path in files:
        about = json.loads(path.with_suffix(".json").read_text())
        assert path.name.startswith(f"{room.session_id}-")
        assert about["stopped_at"] >= about["started_at"] >= started.ts
        assert about["recording_started_at"] == started.ts
        by_publisher[about["publisher"]] = about
        check_file(path, about, relayed[about["publisher"]])
    assert sorted(by_publisher) == sorted(s.participant_id for s in publishers)

    listed = await server.http.get(
        f"/api/sessions/{room.session_id}/recordings",
        headers={"authorization": f"Bearer {room.teacher_token(1)}"},
    )
    assert listed.status_code == 200, listed.text
    entries = listed.json()["recordings"]
    assert [e["name"] for e in entries] == [p.name for p in files]
    for entry, path in zip(entries, files, strict=True):
        assert entry["size"] == path.stat().st_size
        assert entry["publisher"] in by_publisher
        assert entry["stopped_at"] is not None
    fetched = await server.http.get(
        f"/api/sessions/{room.session_id}/recordings/{files[0].name}",
        headers={"authorization": f"Bearer {room.teacher_token(0)}"},
    )
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "video/webm"
    assert fetched.content == files[0].read_bytes()


async def test_without_every_consent_nothing_is_recorded(
    server_factory: ServerFactory, stations: RelayStations, tmp_path: Path
) -> None:
    server = await server_factory(recordings_dir=str(tmp_path))
    room = await open_classroom(server)
    first, second = await room.teacher(0), await room.teacher(1)
    student = await room.student(1, "Amani")
    with pytest.raises(ClientError) as refused:
        await student.command({"type": "recording.start"})
    assert refused.value.code == "forbidden"
    await first.command({"type": "recording.start"})
    with pytest.raises(ClientError) as refused:
        await student.command({"type": "recording.consent"})
    assert refused.value.code == "forbidden"
    publishers = [await stations.start(server, room) for _ in range(2)]
    # The request alone moves video to the relay, so the recording could start at once.
    await until(lambda: all(s.topology == "relay" for s in publishers))
    relay_of = hub_of(server).media_relay.sessions
    await until(
        lambda: (
            room.session_id in relay_of
            and len(relay_of[room.session_id].publishers) == 2
            and all(len(p.tracks) == 2 for p in relay_of[room.session_id].publishers.values())
        )
    )
    # Frames flow through the relay for a while: nothing is written meanwhile.
    await until(
        lambda: all(
            len(frames_from(receiver, sender.participant_id)) >= RECORDED_FRAMES
            for receiver in publishers
            for sender in publishers
            if sender is not receiver
        )
    )
    assert not recorders(server, room)
    assert not (tmp_path / room.session_id).exists()
    recording = hub_of(server)._replicas[room.session_id].state.recording
    assert recording.on
    assert not recording.active
    assert sorted(recording.consents) == [room.class_id(0)]  # c2's teacher never consented
    assert second.welcome is not None  # ... and is present all along
