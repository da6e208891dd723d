"""What one remote peer's media looked like on arrival: frames decoded, counters read."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

RECENT_COUNTERS = 120  # about 8 s at 15 fps: enough to check an order, bounded for long runs


@dataclass
class ReceivedMedia:
    video_frames: int = 0
    audio_frames: int = 0
    unreadable_frames: int = 0  # decoded, but the counter blocks did not read back
    out_of_order: int = 0  # a counter not above the one before it
    first_counter: int | None = None
    last_counter: int | None = None
    recent_counters: deque[int] = field(default_factory=lambda: deque(maxlen=RECENT_COUNTERS))

    def add_video(self, counter: int | None) -> None:
        self.video_frames += 1
        if counter is None:
            self.unreadable_frames += 1
            return
        if self.last_counter is not None and counter <= self.last_counter:
            self.out_of_order += 1
        if self.first_counter is None:
            self.first_counter = counter
        self.last_counter = counter
        self.recent_counters.append(counter)

    def add_audio(self) -> None:
        self.audio_frames += 1

    def summary(self) -> str:
        return (
            f"{self.video_frames} video frames (counter {self.first_counter}..{self.last_counter}"
            f", {self.unreadable_frames} unreadable, {self.out_of_order} out of order), "
            f"{self.audio_frames} audio frames"
        )
