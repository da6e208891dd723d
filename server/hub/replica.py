"""A worker's replica of one session: the state built from the log, and the local connections.

Events arrive from the broker in seq order and are applied by the pure reducer, then handed to
every local connection allowed to see them, encoded once per wire format. An event that arrives
ahead of a missing one waits in ``_ahead`` until the gap is filled: ``SessionHub`` then reads
the missing events from the broker. An event of another epoch means the broker lost the history
this replica follows: it is kept aside, and ``hub/recovery.py`` rebuilds the replica.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from collections.abc import Callable

from server.broker.base import LogPosition, MovedEvents, Subscription
from server.errors import ClassbridgeError
from server.hub.admission import Admission
from server.hub.connection import Connection
from server.hub.cursors import CursorRelay
from server.hub.encoded import EncodedEvent
from server.hub.volatile import CURSOR_ENVELOPE, VolatileEnvelope, deliver_volatile
from server.ids import RELAY_ID
from server.metrics import EVENTS_DELIVERED
from server.rooms.events import Event
from server.rooms.presence import PresenceTracker
from server.rooms.reducer import apply_event
from server.rooms.state import SessionState
from server.rooms.visibility import audience_rule
from server.settings import Limits

log = logging.getLogger(__name__)

APPLY_TIMEOUT = 10.0  # seconds an appended event may take to come back through the broker
# Seconds after which an appended event pub/sub has not brought is read from the log instead.
# Pub/sub loses what is published while a subscription is being restored (a Redis restart), and
# a gap shows only when a later event arrives: in a quiet session none may, and the command
# would wait for APPLY_TIMEOUT and fail although its event is logged.
REPAIR_AFTER = 1.0
# Events held ahead of a gap (or of another epoch, during a recovery), at most. They are all in
# the broker's history, so dropping them costs a longer catch-up, never an event; a gap that
# stays open must not grow a worker's memory without bound.
AHEAD_LIMIT = 1000
AHEAD_BYTES = 8 * 2**20
# The timestamps of the last events applied, by seq (``marks``): what a recovery compares with
# the log's events to notice a log that was written over after Redis lost its last writes
# (``Broker.reseed``). More than the second an ``appendfsync everysec`` Redis may lose of a busy
# session (30 students drawing at 20 Hz make 600 events a second); 16 KB per session. A lost
# end longer than this cannot be compared, and the log's history is then followed.
MARKS = 1024


class SessionReplica:
    def __init__(
        self, state: SessionState, epoch: str, limits: Limits, session_id: str = ""
    ) -> None:
        self.state = state
        # Given when the state is not yet the session's (loaded without a snapshot: its
        # ``session.created`` is applied from the log after) so that a recovery meanwhile
        # reads and writes this session's log, not another's.
        self._session_id = session_id
        self.epoch = epoch
        # Set by a recovery into a re-seeded epoch: where the events appended after the loss
        # went (hub.py ``_append`` reports an append answered in their old epoch with it).
        self.moved: MovedEvents | None = None
        # Set by ``rebuild``: the seq and epoch the history this replica switched to starts
        # from (hub.py ``_append_after_replica`` makes a refused append again only above it).
        self.restored_at: LogPosition | None = None
        self.connections: dict[int, Connection] = {}
        self.presence = PresenceTracker(grace=limits.presence_grace)
        self.admission = Admission(limits)
        # Presence decisions (log joined/left?) read the state and append: one at a time.
        self.presence_lock = asyncio.Lock()
        self.presence_timer: asyncio.TimerHandle | None = None
        self.subscription: Subscription | None = None
        self.cursors = CursorRelay(lambda: self.connections.values())
        self.pins = 0  # attaches and API reads in progress; a pinned replica is not unloaded
        self.saved_seq = state.seq
        # Where in each run of ``snapshot_every`` events this session snapshots (set by the hub
        # from the session id): sessions that move in step do not all snapshot at once.
        self.snapshot_offset = 0
        self.on_applied: Callable[[SessionReplica, int], None] | None = None
        self.on_gap: Callable[[SessionReplica], None] | None = None
        self._repair: asyncio.TimerHandle | None = None  # see ``_repair_due``
        self.on_foreign_epoch: Callable[[SessionReplica], None] | None = None
        # Signals to the server's relay (server/media/relay_service.py); None drops them.
        self.on_relay_signal: Callable[[SessionReplica, VolatileEnvelope], None] | None = None
        # Told of each event once it reached the local connections (hub/enforcement.py).
        self.on_event: Callable[[SessionReplica, Event], None] | None = None
        self.record: bytes | None = None  # the directory record, to restore it after a loss
        self.recovering = False  # while True, events are kept aside, not applied
        # The broker's ``disruptions()`` when this replica's history was last found to be the
        # log's: below the current count, it is checked again before the next append.
        self.checked_disruptions = 0
        # The broker's count of lost links (``Broker.disruptions``); the hub sets it. While it
        # is above ``checked_disruptions`` events are kept aside, not applied: applied on top of
        # events the log lost, they would hide that the log was written over.
        self.disruptions: Callable[[], int] = lambda: 0
        self._mark_seqs = array("q", [0]) * MARKS
        self._mark_ts = array("q", [0]) * MARKS
        self._ahead: dict[int, bytes] = {}
        self._ahead_bytes = 0
        self._aside: tuple[str, dict[int, bytes]] = ("", {})  # the newest other epoch's events
        self._aside_bytes = 0
        self._aside_dropped = False  # some did not fit: the log has them, nothing else will
        self._waiters: list[tuple[int, asyncio.Future[float]]] = []

    @property
    def session_id(self) -> str:
        return self._session_id or self.state.session_id

    def receive(self, seq: int, epoch: str, payload: bytes) -> None:
        """The broker's listener: apply events strictly in seq order, each exactly once."""
        if epoch != self.epoch or self.recovering or not self.checked:
            self._put_aside(seq, epoch, payload)
            return
        if seq <= self.state.seq:
            return
        if seq != self.state.seq + 1:
            self._hold_ahead(seq, payload)
            if self.on_gap is not None:
                self.on_gap(self)
            return
        self._apply(seq, payload)
        while (payload := self._ahead.pop(self.state.seq + 1, b"")) != b"":
            self._ahead_bytes -= len(payload)
            self._apply(self.state.seq + 1, payload)

    def _hold_ahead(self, seq: int, payload: bytes) -> None:
        if len(self._ahead) >= AHEAD_LIMIT or self._ahead_bytes + len(payload) > AHEAD_BYTES:
            log.warning("gap open too long; reading from the log (session=%s)", self.session_id)
            self._ahead.clear()  # the catch-up reads them from the history instead
            self._ahead_bytes = 0
        if seq not in self._ahead:
            self._ahead[seq] = payload
            self._ahead_bytes += len(payload)

    @property
    def checked(self) -> bool:
        """Whether the replica's history was found to be the log's since the last lost link."""
        return self.checked_disruptions == self.disruptions()

    def _put_aside(self, seq: int, epoch: str, payload: bytes) -> None:
        """Keep events of another epoch, or any while the history is unchecked (bounded),
        until the recovery decides which history is current."""
        if epoch != self._aside[0]:
            self._aside, self._aside_bytes, self._aside_dropped = (epoch, {}), 0, False
        aside = self._aside[1]
        # Bounded like ``_ahead``: what is dropped here is in the log, which the recovery reads
        # (and ``take_aside`` tells, so that the replica reads it too).
        grows = len(payload) - len(aside.get(seq, b""))
        if len(aside) < AHEAD_LIMIT and self._aside_bytes + grows <= AHEAD_BYTES:
            self._aside_bytes += grows
            aside[seq] = payload
        else:
            self._aside_dropped = True
        if (epoch != self.epoch or not self.checked) and self.on_foreign_epoch is not None:
            self.on_foreign_epoch(self)

    def forget_ahead(self) -> None:
        """Drop the events held ahead of a gap: a recovery reads the log itself, and events
        pub/sub brought before it may be ones the log lost."""
        self._ahead.clear()
        self._ahead_bytes = 0

    def marks(self) -> list[tuple[int, int]]:
        """(seq, ts) of the last events applied here, newest first (see ``MARKS``)."""
        found = []
        for seq in range(self.state.seq, max(self.state.seq - MARKS, 0), -1):
            slot = seq % MARKS
            if self._mark_seqs[slot] != seq:
                break  # applied before the replica's snapshot, or before its last rebuild
            found.append((seq, self._mark_ts[slot]))
        return found

    def rebuild(self, state: SessionState, epoch: str) -> list[Connection]:
        """Follow another history from ``state``: drop what belonged to the old one, release
        waiting appends, and hand back the connections, which the caller closes (their clients
        hold positions in the old epoch). Events kept aside for ``epoch`` apply next."""
        self.state, self.epoch, self.saved_seq = state, epoch, state.seq
        self.restored_at = LogPosition(state.seq, epoch)
        self._mark_seqs = array("q", [0]) * MARKS  # those events belong to the old history
        self.forget_ahead()
        for _, future in self._waiters:
            if not future.done():
                future.set_result(time.perf_counter())  # their events moved or were lost
        self._waiters = []
        connections = list(self.connections.values())
        self.connections.clear()
        return connections

    def take_aside(self) -> tuple[list[tuple[int, bytes]], bool]:
        """Events kept aside for the replica's current epoch, in seq order (once), and whether
        some that came were dropped for want of room: the newest, after those given, so
        no gap will show them missing and the caller reads them from the log."""
        (epoch, aside), dropped = self._aside, self._aside_dropped
        self._aside, self._aside_bytes, self._aside_dropped = ("", {}), 0, False
        if epoch != self.epoch:
            return [], False
        return sorted(aside.items()), dropped

    def receive_volatile(self, payload: bytes) -> None:
        """The broker's volatile listener: no order to keep, nothing to apply."""
        envelope = VolatileEnvelope.from_bytes(payload)
        if envelope is None:
            return
        if envelope.message.get("type") == CURSOR_ENVELOPE:
            position = {k: v for k, v in envelope.message.items() if k != "type"}
            self.cursors.add(envelope.sender, position)
        elif envelope.to == RELAY_ID:
            if self.on_relay_signal is not None:
                self.on_relay_signal(self, envelope)
        else:
            deliver_volatile(list(self.connections.values()), envelope)

    def _apply(self, seq: int, payload: bytes) -> None:
        event = Event.from_bytes(payload)
        apply_event(self.state, seq, event)
        slot = seq % MARKS
        self._mark_seqs[slot], self._mark_ts[slot] = seq, event.ts
        encoded = EncodedEvent(seq, event)
        delivered = 0
        # Decided once per event, not per connection: most events (every post to the whole
        # room) reach everyone, and this loop runs for each connection of each event.
        rule = audience_rule(event)
        if rule is None:
            for connection in list(self.connections.values()):
                if connection.actor is not None:
                    connection.send_event(encoded)
                    delivered += 1
        else:
            state = self.state
            for connection in list(self.connections.values()):
                actor = connection.actor
                if actor is not None and rule(state, actor, event):
                    connection.send_event(encoded)
                    delivered += 1
        if delivered:
            EVENTS_DELIVERED.inc(delivered)  # once per event, not per connection: cheap
        if self.on_event is not None:
            self.on_event(self, event)
        self._wake(seq)
        if self.on_applied is not None:
            self.on_applied(self, seq)

    def wake_appends(self) -> None:
        """Release the appends waiting for seqs the replica's state now covers (a recovery
        that moved its seq forward without applying the events in between)."""
        self._wake(self.state.seq)

    def _wake(self, seq: int) -> None:
        if not self._waiters:
            return
        applied_at = time.perf_counter()
        still_waiting = []
        for target, future in self._waiters:
            if target <= seq:
                if not future.done():
                    future.set_result(applied_at)
            else:
                still_waiting.append((target, future))
        self._waiters = still_waiting

    async def wait_applied(self, seq: int) -> float:
        """Wait until the event at ``seq`` has been applied here (immediate with memory://).

        Returns when (``time.perf_counter``) it was, so after the fan-out to the local
        connections: the moment the fan-out latency metric ends (not when this task resumes).
        """
        if self.state.seq >= seq:
            return time.perf_counter()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        self._waiters.append((seq, future))
        if self._repair is None and self.on_gap is not None:
            self._repair = loop.call_later(REPAIR_AFTER, self._repair_due)
        try:
            # Bounded: should the event never be applied here (a broken replica), the command
            # fails with internal_error instead of hanging its connection forever.
            return await asyncio.wait_for(future, APPLY_TIMEOUT)
        except TimeoutError as error:
            log.error("event %d not applied in time (session=%s)", seq, self.session_id)
            raise ClassbridgeError("internal error") from error

    def _repair_due(self) -> None:
        """One read of the log for all the appends still waiting after ``REPAIR_AFTER`` (not
        one each: a slow replica must not get a read per command), then again while some do."""
        self._repair = None
        self._waiters = [(seq, future) for seq, future in self._waiters if not future.done()]
        if not self._waiters or self.on_gap is None:
            return
        self.on_gap(self)
        self._repair = asyncio.get_running_loop().call_later(REPAIR_AFTER, self._repair_due)

    @property
    def unused(self) -> bool:
        return not self.connections and self.presence.idle and self.pins == 0
