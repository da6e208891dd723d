"""A connection's send queue, bounded in bytes, drained by one writer task in batches.

A producer that has more to send than fits (a resume's replay) sets ``refill``: the writer calls
it each time it has taken a batch, so the backlog moves into the queue only as the client reads.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from server.protocol.codec import Frame


class Outbox:
    def __init__(self, limit_bytes: int, batch_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.batch_bytes = batch_bytes
        self.queued_bytes = 0
        self._frames: deque[Frame] = deque()
        self._ready = asyncio.Event()
        self.closed = False
        self.refill: Callable[[], None] | None = None

    def put(self, frame: Frame) -> bool:
        """Queue an encoded message; False when it does not fit (the client is too slow)."""
        if self.closed:
            return True  # a closing connection silently drops what comes after
        size = len(frame)
        # One message larger than the whole limit (a big welcome snapshot) still goes out when
        # nothing else is queued; only a backlog marks a client as too slow.
        if not self.has_room(size):
            return False
        self._frames.append(frame)
        self.queued_bytes += size
        self._ready.set()
        return True

    def has_room(self, size: int, share: float = 1.0) -> bool:
        """Whether ``size`` more bytes fit in ``share`` of the limit (an empty queue takes one)."""
        return not self._frames or self.queued_bytes + size <= self.limit_bytes * share

    async def take_batch(self) -> list[Frame]:
        """Wait for messages; return as many as fit in one frame (empty once closed and drained)."""
        while not self._frames:
            if self.closed:
                return []
            self._ready.clear()
            await self._ready.wait()
        batch = [self._frames.popleft()]
        size = len(batch[0])
        while self._frames and size + len(self._frames[0]) <= self.batch_bytes:
            frame = self._frames.popleft()
            size += len(frame)
            batch.append(frame)
        self.queued_bytes -= size
        if self.refill is not None and not self.closed:
            self.refill()
        return batch

    def close(self) -> None:
        """Accept nothing more; the writer drains what is queued, then gets an empty batch."""
        self.closed = True
        self._ready.set()

    def __len__(self) -> int:
        return len(self._frames)
