"""A worker's replica of one session: the state built from the log, and the local connections.

Events arrive from the broker in seq order and are applied by the pure reducer, then handed to
every local connection allowed to see them, encoded once per wire format. An event that arrives
ahead of a missing one waits in ``_ahead`` until the gap is filled: ``SessionHub`` then reads
the missing events from the broker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from server.broker.base import Subscription
from server.errors import ClassbridgeError
from server.hub.admission import Admission
from server.hub.connection import Connection
from server.hub.encoded import EncodedEvent
from server.hub.volatile import deliver_volatile
from server.rooms.events import Event
from server.rooms.presence import PresenceTracker
from server.rooms.reducer import apply_event
from server.rooms.state import SessionState
from server.rooms.visibility import can_see
from server.settings import Limits

log = logging.getLogger(__name__)

APPLY_TIMEOUT = 10.0  # seconds an appended event may take to come back through the broker


class SessionReplica:
    def __init__(self, state: SessionState, epoch: str, limits: Limits) -> None:
        self.state = state
        self.epoch = epoch
        self.connections: dict[int, Connection] = {}
        self.presence = PresenceTracker(grace=limits.presence_grace)
        self.admission = Admission(limits)
        # Presence decisions (log joined/left?) read the state and append: one at a time.
        self.presence_lock = asyncio.Lock()
        self.presence_timer: asyncio.TimerHandle | None = None
        self.subscription: Subscription | None = None
        self.pins = 0  # attaches and API reads in progress; a pinned replica is not unloaded
        self.saved_seq = state.seq
        self.on_applied: Callable[[SessionReplica, int], None] | None = None
        self.on_gap: Callable[[SessionReplica], None] | None = None
        self._ahead: dict[int, bytes] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def session_id(self) -> str:
        return self.state.session_id

    def receive(self, seq: int, epoch: str, payload: bytes) -> None:
        """The broker's listener: apply events strictly in seq order, each exactly once."""
        if seq <= self.state.seq:
            return
        if seq != self.state.seq + 1:
            self._ahead[seq] = payload
            if self.on_gap is not None:
                self.on_gap(self)
            return
        self._apply(seq, payload)
        while (payload := self._ahead.pop(self.state.seq + 1, b"")) != b"":
            self._apply(self.state.seq + 1, payload)

    def receive_volatile(self, payload: bytes) -> None:
        """The broker's volatile listener: no order to keep, nothing to apply."""
        deliver_volatile(list(self.connections.values()), payload)

    def _apply(self, seq: int, payload: bytes) -> None:
        event = Event.from_bytes(payload)
        apply_event(self.state, seq, event)
        encoded = EncodedEvent(seq, event)
        for connection in list(self.connections.values()):
            if connection.actor is not None and can_see(self.state, connection.actor, event):
                connection.send_event(encoded)
        self._wake(seq)
        if self.on_applied is not None:
            self.on_applied(self, seq)

    def _wake(self, seq: int) -> None:
        if not self._waiters:
            return
        still_waiting = []
        for target, future in self._waiters:
            if target <= seq:
                if not future.done():
                    future.set_result(None)
            else:
                still_waiting.append((target, future))
        self._waiters = still_waiting

    async def wait_applied(self, seq: int) -> None:
        """Wait until the event at ``seq`` has been applied here (immediate with memory://)."""
        if self.state.seq >= seq:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, future))
        try:
            # Bounded: should the event never be applied here (a broken replica), the command
            # fails with internal_error instead of hanging its connection forever.
            await asyncio.wait_for(future, APPLY_TIMEOUT)
        except TimeoutError as error:
            log.error("event %d not applied in time (session=%s)", seq, self.session_id)
            raise ClassbridgeError("internal error") from error

    @property
    def unused(self) -> bool:
        return not self.connections and self.presence.idle and self.pins == 0
