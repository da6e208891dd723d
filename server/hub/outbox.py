"""A connection's send queue, bounded in bytes, drained in batches.

Two ways out, never both at once. Normally the ``Flusher`` writes every connection's queued
messages straight to its socket once per event-loop turn (``sink``): no task switch and no trip
through the ASGI send path per recipient, and the messages several events queued in one turn
leave in one frame. When the socket cannot take more now (the client reads slowly), or when
there is no sink, the connection's writer task takes over (``take_batch``): it waits until the
socket drains, and the queue's byte limit marks a client that never catches up as too slow.

A producer that has more to send than fits (a resume's replay) sets ``refill``: it is called
each time a batch is taken, so the backlog moves into the queue only as the client reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from server.lean_sync import LeanEvent
from server.protocol.codec import Frame

log = logging.getLogger(__name__)


class Sink(Protocol):
    """A socket a batch can be written to without waiting (see server/direct_send.py)."""

    def ready(self) -> bool:
        """Whether ``write`` may be called now: the connection is open and not backed up."""
        ...

    def write(self, batch: list[Frame]) -> None: ...


class Flusher:
    """Writes the queued messages of every connection that got some, once per loop turn.

    One per event loop's gateway. A fan-out to 30 connections schedules one callback, not 30
    task wake-ups; and what is queued meanwhile (an event and its ack, several events read from
    the broker at once) shares the frame.

    With ``interval`` (seconds, 0: off) a connection is written at most about once per
    interval: the first message after a quiet spell leaves at once, later ones wait for the
    next tick and leave together. Fewer, fuller frames cost less per event (each write is a
    system call) for at most ``interval`` of added latency (docs/performance.md). A reply to
    the connection's own request (``put(..., urgent=True)``) never waits: it leaves at once
    with whatever is queued before it, so a client's request-answer round trips stay as fast
    as the network while what others do reaches it in fuller frames.
    """

    def __init__(self, interval: float = 0.0) -> None:
        self.interval = interval
        self._due: list[Outbox] = []
        self._held: list[Outbox] = []  # written less than ``interval`` ago: wait for the tick
        self._tick: asyncio.TimerHandle | None = None
        # Its gateway's loop, the one loop the server runs on, looked up once: on Python 3.11
        # each get_running_loop() is a getpid() system call, and this runs every loop turn.
        self._loop: asyncio.AbstractEventLoop | None = None

    def due(self, outbox: Outbox) -> None:
        if not self._due:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            loop.call_soon(self._flush)
        self._due.append(outbox)

    def _flush(self) -> None:
        due, self._due = self._due, []
        if not self.interval:
            for outbox in due:
                outbox.flush(0.0)
            return
        loop = self._loop or asyncio.get_running_loop()
        now = loop.time()
        recent = now - self.interval
        for outbox in due:
            if outbox.written_at > recent and not outbox.urgent:
                self._held.append(outbox)  # stays due: put() does not schedule it again
            else:
                outbox.flush(now)
        if self._held and self._tick is None:
            self._tick = loop.call_later(self.interval, self._flush_held)

    def _flush_held(self) -> None:
        self._tick = None
        held, self._held = self._held, []
        now = (self._loop or asyncio.get_running_loop()).time()
        for outbox in held:
            outbox.flush(now)


class Outbox:
    def __init__(self, limit_bytes: int, batch_bytes: int, flusher: Flusher | None = None) -> None:
        self.limit_bytes = limit_bytes
        self.batch_bytes = batch_bytes
        self.queued_bytes = 0
        self._frames: deque[Frame] = deque()
        self._ready = LeanEvent()  # asyncio.Event's deque costs every idle connection
        self.closed = False
        self.refill: Callable[[], None] | None = None
        self.flusher = flusher
        self.sink: Sink | None = None  # set by the gateway when the server offers one
        self._flush_due = False
        self.urgent = False  # holds a reply the flusher must not keep for its next tick
        self._writer_idle = False  # the writer task waits for messages: none is in its hands
        self.written_at = float("-inf")  # the loop's time of the flusher's last write

    def put(self, frame: Frame, urgent: bool = False) -> bool:
        """Queue an encoded message; False when it does not fit (the client is too slow).

        ``urgent``: a reply its client waits for, written on this loop turn even when the
        flusher holds the connection for its next tick."""
        if self.closed:
            return True  # a closing connection silently drops what comes after
        size = len(frame)
        # One message larger than the whole limit (a big welcome snapshot) still goes out when
        # nothing else is queued; only a backlog marks a client as too slow. (``has_room``
        # written out: this runs once per connection for every event.)
        if self._frames and self.queued_bytes + size > self.limit_bytes:
            return False
        self._frames.append(frame)
        self.queued_bytes += size
        # A full frame's worth waits for no tick either: holding more would only fill the queue
        # towards its limit, which marks a client that reads perfectly well as too slow.
        urgent = urgent or self.queued_bytes >= self.batch_bytes
        if self.sink is None or self.flusher is None:
            self._ready.set()
        elif not self._flush_due or (urgent and not self.urgent):
            # Held for the tick (still due) and now urgent: due once more, for this turn.
            self._flush_due = True
            self.urgent = self.urgent or urgent
            self.flusher.due(self)
        return True

    def has_room(self, size: int, share: float = 1.0) -> bool:
        """Whether ``size`` more bytes fit in ``share`` of the limit (an empty queue takes one)."""
        return not self._frames or self.queued_bytes + size <= self.limit_bytes * share

    def flush(self, now: float) -> None:
        """Write what is queued straight to the sink; hand it to the writer when it cannot.

        Only while the writer task is idle: a batch in its hands (waiting for a slow socket)
        goes out first, and the writer takes what is queued behind it itself.
        """
        self._flush_due = False
        self.urgent = False
        sink = self.sink
        if not self._writer_idle or self.closed or sink is None:
            return
        while self._frames:
            if not sink.ready():
                self._ready.set()  # the writer waits for the socket to drain
                return
            try:
                sink.write(self._take())
            except Exception:
                # Never expected (ready() said yes); the writer's ASGI path then meets the
                # same failure and ends the connection. The other connections go on.
                log.exception("direct write failed; the writer takes over")
                self.sink = None
                self._ready.set()
                return
            self.written_at = now

    async def take_batch(self) -> list[Frame]:
        """Wait for messages; return as many as fit in one frame (empty once closed and drained)."""
        while not self._frames:
            if self.closed:
                return []
            self._ready.clear()
            self._writer_idle = True
            try:
                await self._ready.wait()
            finally:
                self._writer_idle = False
        return self._take()

    def _take(self) -> list[Frame]:
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
