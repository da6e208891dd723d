"""The recorder: writes what the relay receives from each publisher to a WebM file.

One file per publisher and recording (``PublisherRecorder``), with the publisher's video
(VP8) and audio (Opus): no composite, which would need decoding, scaling and mixing every
stream again on the relay's busy event loop. WebM with VP8 and Opus because those are the
encoders every PyAV build that aiortc uses carries (libvpx, libopus), and the format
browsers play back; MP4 would need H.264, which not every FFmpeg build has.

The frames are the ones the relay already decoded (``MediaRelay`` proxies, unbuffered like
the subscribers': a recorder that falls behind skips frames rather than growing a queue),
encoded once more. RTP timestamps start at a random value per track, so each track's first
frame is placed at its arrival time since the file opened, and the following frames keep
their own spacing: audio and video stay in step, and a paused track leaves a gap, not a jump.

``SessionRecorder`` keeps one ``PublisherRecorder`` per recorded publisher of a session:
publishers of the classes that consented (``recorded_classes``) while the recording runs.
Files go to ``<recordings_dir>/<session id>/`` with a JSON sidecar each (publisher, class,
start and stop times) that the HTTP API lists (server/api/recordings.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from server.cancelling import cancel_and_wait
from server.media.recording_files import SIDECAR_SUFFIX, recording_name, safe_part
from server.media.relay_peers import RelayPublisher
from server.rooms.recording import recorded_classes
from server.rooms.state import SessionState

log = logging.getLogger(__name__)

VIDEO_BITRATE = 1_000_000  # a ceiling: VP8 spends far less on a still classroom
# libvpx's default "good" deadline is several times too slow for a live event loop.
VIDEO_OPTIONS = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
TIME_BASES = {"video": Fraction(1, 90_000), "audio": Fraction(1, 48_000)}  # aiortc's
# WebM keeps milliseconds: two frames less than 1 ms apart would get the same time there,
# which the muxer refuses. Such a frame (a burst after a stall) is skipped.
MIN_STEPS = {"video": 90, "audio": 48}
MOST_FAILURES = 50  # frames in a row that cannot be written before a track gives up


class PublisherRecorder:
    def __init__(self, path: Path, tracks: list[MediaStreamTrack], about: dict[str, Any]) -> None:
        self.path, self.about = path, about
        self._tracks = tracks
        self._has_video = any(t.kind == "video" for t in tracks)
        self._container: Any = None  # opened on the first frame: a video stream needs its size
        self._streams: dict[str, Any] = {}
        self._offsets: dict[str, int] = {}
        self._last_pts: dict[str, int] = {}
        self._opened_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self.frames = {"video": 0, "audio": 0}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._read(track)) for track in self._tracks]

    async def stop(self, stopped_at: int) -> None:
        await cancel_and_wait(*self._tasks)
        for track in self._tracks:
            track.stop()
        if self._container is None:
            return  # no frame came: no file
        try:
            for stream in self._streams.values():
                for packet in stream.encode(None):
                    self._container.mux(packet)
            self._container.close()
        finally:
            self._write_sidecar(stopped_at)

    async def _read(self, track: MediaStreamTrack) -> None:
        failures = 0
        with contextlib.suppress(MediaStreamError):
            while failures < MOST_FAILURES:
                frame = await track.recv()
                try:
                    self._write(track.kind, frame)
                    failures = 0
                except Exception:  # a bad frame (or a full disk) must not stop the relay
                    if not failures:
                        log.exception("recorder: frame not written (%s)", self.path.name)
                    failures += 1
        if failures >= MOST_FAILURES:
            log.error("recorder: %s track given up (%s)", track.kind, self.path.name)

    def _write(self, kind: str, frame: Any) -> None:
        if self._container is None:
            if kind == "audio" and self._has_video:
                return  # the picture's size comes with the first video frame
            self._open(frame if isinstance(frame, VideoFrame) else None)
        stream = self._streams.get(kind)
        pts = self._timestamp(kind, frame)
        if stream is None or pts is None:
            return
        # The relay hands the same frame to every subscriber's encoder, which runs in a
        # thread and reads (and rebases) its time: encode a copy, never the shared frame.
        if isinstance(frame, VideoFrame):
            own: VideoFrame | AudioFrame = copy_video(frame, stream.width, stream.height)
        else:
            own = copy_audio(frame)
        own.pts, own.time_base = pts, TIME_BASES[kind]
        for packet in stream.encode(own):
            self._container.mux(packet)
        self.frames[kind] += 1

    def _timestamp(self, kind: str, frame: AudioFrame | VideoFrame) -> int | None:
        """The frame's time in the file, in the track's time base; None to skip it."""
        if frame.pts is None:
            return None
        base = TIME_BASES[kind]
        # Most frames come in RTP units, but not all: on a loaded machine aiortc hands over
        # some video frames in microseconds. Rescaled, they fall where they belong.
        source = (
            frame.pts
            if frame.time_base in (None, base)
            else round(frame.pts * frame.time_base / base)
        )
        if kind not in self._offsets:
            elapsed = asyncio.get_running_loop().time() - self._opened_at
            self._offsets[kind] = round(elapsed / base) - source
        pts = source + self._offsets[kind]
        if pts < self._last_pts.get(kind, -MIN_STEPS[kind]) + MIN_STEPS[kind]:
            return None  # repeated, reordered, or too close to the one before
        self._last_pts[kind] = pts
        return pts

    def _open(self, first: VideoFrame | None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), mode="w", format="webm")
        for track in self._tracks:
            if track.kind == "video" and first is not None:
                video = container.add_stream("libvpx", rate=30, options=VIDEO_OPTIONS)
                video.width, video.height, video.pix_fmt = first.width, first.height, "yuv420p"
                video.bit_rate = VIDEO_BITRATE
                video.codec_context.time_base = TIME_BASES["video"]
                self._streams["video"] = video
            elif track.kind == "audio":
                audio = container.add_stream("libopus", rate=48_000)
                audio.layout = "stereo"
                self._streams["audio"] = audio
        self._container = container
        self._opened_at = asyncio.get_running_loop().time()
        self._write_sidecar(None)

    def _write_sidecar(self, stopped_at: int | None) -> None:
        about = {**self.about, "stopped_at": stopped_at, "frames": dict(self.frames)}
        sidecar = self.path.with_suffix(SIDECAR_SUFFIX)
        partial = sidecar.with_name(sidecar.name + ".part")
        partial.write_text(json.dumps(about), encoding="utf-8")
        partial.replace(sidecar)  # a listing never reads half a file


def _copy_plane(source: Any, target: Any, row_bytes: int, rows: int) -> None:
    data = bytes(source)
    if source.line_size == target.line_size and len(data) == target.buffer_size:
        target.update(data)
        return
    out = bytearray(target.buffer_size)  # strides differ: copy row by row
    for row in range(rows):
        start = row * source.line_size
        out[row * target.line_size : row * target.line_size + row_bytes] = data[
            start : start + row_bytes
        ]
    target.update(bytes(out))


def copy_video(frame: VideoFrame, width: int, height: int) -> VideoFrame:
    """A yuv420p frame of this size that nothing else holds."""
    if (frame.width, frame.height, frame.format.name) != (width, height, "yuv420p"):
        # The browser scaled its camera: the file keeps its first size. A new frame.
        return frame.reformat(width=width, height=height, format="yuv420p")
    own = VideoFrame(width=width, height=height, format="yuv420p")
    sizes = [(width, height), (width // 2, height // 2), (width // 2, height // 2)]
    for source, target, (row_bytes, rows) in zip(frame.planes, own.planes, sizes, strict=True):
        _copy_plane(source, target, row_bytes, rows)
    return own


def copy_audio(frame: AudioFrame) -> AudioFrame:
    own = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
    own.sample_rate = frame.sample_rate
    for source, target in zip(frame.planes, own.planes, strict=True):
        data = bytes(source)[: target.buffer_size]
        target.update(data + bytes(target.buffer_size - len(data)))
    return own


class SessionRecorder:
    """The recordings of one relayed session, kept in step with the state by the relay's
    watchdog (``update``) and with its publishers (``stop`` when one is dropped)."""

    def __init__(
        self, folder: Path, session_id: str, media: MediaRelay, now_ms: Callable[[], int]
    ) -> None:
        self.folder, self.session_id = folder / safe_part(session_id), session_id
        self._media, self._now_ms = media, now_ms
        self.running: dict[str, tuple[RelayPublisher, PublisherRecorder]] = {}
        # Told of each finished file (its sidecar's facts and its size): the webhook's
        # recording.ready (server/webhooks/notices.py).
        self.on_finished: Callable[[dict[str, Any], int], None] | None = None

    async def update(self, state: SessionState, publishers: Mapping[str, RelayPublisher]) -> None:
        classes = recorded_classes(state.recording)
        wanted = {
            participant: publisher
            for participant, publisher in publishers.items()
            if publisher.tracks
            and (member := state.participants.get(participant)) is not None
            and member.class_id in classes
        }
        for participant, (publisher, recorder) in list(self.running.items()):
            same_recording = recorder.about["recording_started_at"] == state.recording.started_at
            if wanted.get(participant) is not publisher or not same_recording:
                await self.stop(participant)
        for participant, publisher in sorted(wanted.items()):
            if participant not in self.running:
                self._start(state, participant, publisher)

    def _start(self, state: SessionState, participant: str, publisher: RelayPublisher) -> None:
        started_at = self._now_ms()
        path = self.folder / recording_name(self.session_id, started_at, participant)
        about = {
            "name": path.name,
            "session_id": self.session_id,
            "publisher": participant,
            "class_id": state.participants[participant].class_id,
            "recording_started_at": state.recording.started_at,
            "started_at": started_at,
        }
        proxies = [self._media.subscribe(track, buffered=False) for track in publisher.tracks]
        recorder = PublisherRecorder(path, proxies, about)
        self.running[participant] = (publisher, recorder)
        recorder.start()

    async def stop(self, participant: str) -> None:
        entry = self.running.get(participant)
        if entry is None:
            return
        recorder, stopped_at = entry[1], self._now_ms()
        try:
            await recorder.stop(stopped_at)
        except Exception:  # a file that cannot be finished must not stop the relay
            log.exception("recorder: %s not finished", recorder.path.name)
        else:
            if self.on_finished is not None and recorder.path.exists():
                about = {**recorder.about, "stopped_at": stopped_at}
                self.on_finished(about, recorder.path.stat().st_size)
        del self.running[participant]  # only now: it is listed as running until finished

    async def close(self) -> None:
        for participant in list(self.running):
            await self.stop(participant)
