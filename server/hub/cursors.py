"""Cursors on a board: volatile, and coalesced on both sides so nobody drowns in them.

A sender's positions are published at most every ``CURSOR_INTERVAL`` (the newest one wins:
``CursorSender``), and each worker collects the positions it receives for a session and sends
its local connections one ``peer.cursors`` message per interval with the newest position of
each participant that moved (``CursorRelay``). Thirty students moving their pens at 60 Hz cost
each client about 20 messages a second, not 1800.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from server.hub.connection import Connection
from server.hub.encoded import EncodedMessage

CURSOR_INTERVAL = 0.05  # seconds: at most 20 cursor messages a second in each direction


class CursorRelay:
    """One per replica: the newest position per participant, flushed to local connections."""

    def __init__(self, connections: Callable[[], Iterable[Connection]]) -> None:
        self._connections = connections
        self._pending: dict[str, dict[str, Any]] = {}  # participant id -> newest position
        self._timer: asyncio.TimerHandle | None = None

    def add(self, sender: str, position: dict[str, Any]) -> None:
        self._pending[sender] = position
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(CURSOR_INTERVAL, self.flush)

    def flush(self) -> None:
        self._timer = None
        if not self._pending:
            return
        cursors = [{"from": sender, **position} for sender, position in self._pending.items()]
        self._pending.clear()
        # One message for everyone, encoded once per format; a client skips its own cursor.
        encoded = EncodedMessage({"type": "peer.cursors", "cursors": cursors})
        for connection in self._connections():
            if connection.actor is not None:
                connection.send_volatile(encoded)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending.clear()


class CursorSender:
    """One per connection: publishes the newest position at most every ``CURSOR_INTERVAL``."""

    def __init__(self, publish: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self._publish = publish
        self._pending: dict[str, Any] | None = None
        self._last = -CURSOR_INTERVAL
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def move(self, position: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        wait = self._last + CURSOR_INTERVAL - loop.time()
        if wait <= 0 and self._timer is None:
            self._last = loop.time()
            await self._publish(position)
            return
        self._pending = position  # replaces any position not yet sent
        if self._timer is None:
            self._timer = loop.call_later(max(wait, 0), self._send_pending)

    def _send_pending(self) -> None:
        self._timer = None
        position, self._pending = self._pending, None
        if position is None:
            return
        self._last = asyncio.get_running_loop().time()
        task = asyncio.ensure_future(self._publish(position))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # a broker failure loses one cursor position: nothing to report

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in self._tasks:
            task.cancel()
