"""An audio track playing a steady sine tone (440 Hz at 48 kHz by default), 20 ms a frame."""

from __future__ import annotations

import math
from array import array
from fractions import Fraction

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from server.media.clock import FrameClock

SAMPLE_RATE = 48_000
FRAME_SECONDS = 0.020  # what WebRTC audio packs into one packet
AMPLITUDE = 0.2  # of full scale: audible, never clipping


class ToneAudioTrack(MediaStreamTrack):
    """Mono signed 16-bit frames of one tone. One second of samples is computed once: a tone
    of a whole number of hertz repeats exactly every second."""

    kind = "audio"

    def __init__(self, frequency: int = 440, sample_rate: int = SAMPLE_RATE) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.samples_per_frame = round(sample_rate * FRAME_SECONDS)
        peak = AMPLITUDE * 32767
        second = array(
            "h",
            (
                round(peak * math.sin(2 * math.pi * frequency * n / sample_rate))
                for n in range(sample_rate)
            ),
        )
        # One frame more than a second, so a frame that starts near the end needs no wrap.
        second.extend(second[: self.samples_per_frame])
        self._samples = second.tobytes()
        self._clock = FrameClock(1 / FRAME_SECONDS)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._clock.next()
        start = index * self.samples_per_frame
        offset = start % self.sample_rate * 2  # two bytes a sample
        frame = AudioFrame(format="s16", layout="mono", samples=self.samples_per_frame)
        frame.planes[0].update(self._samples[offset : offset + self.samples_per_frame * 2])
        frame.pts = start
        frame.sample_rate = self.sample_rate
        frame.time_base = Fraction(1, self.sample_rate)
        return frame
