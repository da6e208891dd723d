"""A send queue's socket played in memory, for the tests of what leaves a connection when."""

from __future__ import annotations

import asyncio

from server.hub.outbox import Outbox
from server.protocol.codec import Frame


class RecordingSink:
    """A socket that takes batches while ``open`` (the real one: server/direct_send.py)."""

    def __init__(self) -> None:
        self.open = True
        self.batches: list[list[Frame]] = []
        self.wrote = asyncio.Event()

    def ready(self) -> bool:
        return self.open

    def write(self, batch: list[Frame]) -> None:
        self.batches.append(batch)
        self.wrote.set()


async def turn() -> None:
    """Let the event loop run the callbacks scheduled so far (the flusher's among them)."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def idle_writer(outbox: Outbox) -> tuple[asyncio.Task[list[Frame]], RecordingSink]:
    """Give ``outbox`` a recording sink and a writer task parked on an empty queue."""
    sink = RecordingSink()
    outbox.sink = sink
    writer = asyncio.ensure_future(outbox.take_batch())  # parks: nothing is queued yet
    await turn()
    return writer, sink
