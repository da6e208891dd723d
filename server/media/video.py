"""A video track of the test pattern (see ``pattern``), counting its frames from 0."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

from server.media.clock import FrameClock
from server.media.pattern import PatternPainter, block_size

VIDEO_CLOCK_RATE = 90_000  # RTP's clock for video
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK_RATE)


@dataclass(frozen=True, slots=True)
class VideoFormat:
    width: int = 320
    height: int = 240
    fps: int = 15

    def __post_init__(self) -> None:
        block_size(self.width, self.height)  # raises ValueError for a frame too small
        if not 1 <= self.fps <= 60:
            raise ValueError(f"fps must be 1 to 60, not {self.fps}")


DEFAULT_VIDEO = VideoFormat()


class CounterVideoTrack(MediaStreamTrack):
    """Frame ``n`` shows counter ``n``; one track feeds one peer connection (aiortc pulls
    frames from the track, so two senders on one track would each get every other frame)."""

    kind = "video"

    def __init__(self, video_format: VideoFormat = DEFAULT_VIDEO) -> None:
        super().__init__()
        self.format = video_format
        self._painter = PatternPainter(video_format.width, video_format.height)
        self._clock = FrameClock(video_format.fps)
        self.frames_sent = 0

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._clock.next()
        frame = self._painter.paint(index)
        frame.pts = index * VIDEO_CLOCK_RATE // self.format.fps
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame
