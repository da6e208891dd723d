"""Paces a generated track: frame ``n`` is due ``n`` intervals after the first."""

from __future__ import annotations

import asyncio


class FrameClock:
    """Hands out frame indexes at a steady rate on the event loop's clock.

    A consumer that falls more than a frame behind (a busy loop, a slow encoder) is not given a
    burst of overdue frames: the schedule restarts from now, and the index still counts up by
    one, so a receiver's counters stay consecutive.
    """

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._index = -1
        self._due = 0.0

    async def next(self) -> int:
        now = asyncio.get_running_loop().time()
        if self._index < 0 or now - self._due > self.interval:
            self._due = now
        else:
            self._due += self.interval
            await asyncio.sleep(max(0.0, self._due - now))
        self._index += 1
        return self._index
