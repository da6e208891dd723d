"""Bringing a replica back onto its session's log after the broker lost history.

A Redis restart without persistence loses every key; one with ``appendfsync everysec`` may
lose the last second. The log then starts again (a new epoch, seqs from 1) or falls behind
what replicas applied, and a replica that kept following it would ignore the new events (their
seqs are not above its own) or mix two histories. So a replica that sees another epoch (an
event from pub/sub, an append's answer, the periodic check in ``watch.py``) or a log whose top
is below its seq runs a recovery, one at a time per replica:

1. ``Broker.reseed`` with its position and state decides atomically: the history is INTACT
   (just catch up); another replica already re-seeded it (ADOPT its snapshot); or nobody did,
   and this replica's state becomes the snapshot of a new epoch whose seqs continue above its
   own (RESEEDED; events appended since the loss move above it). The directory record and the
   join codes are written back too, so new joins and ``/api/join`` work again.
2. The replica switches to the new state and epoch and closes its connections with 4009
   (``history_reset``): their clients hold positions in a history that no longer exists, and a
   resume gives them a snapshot of the new one. Presence is not touched: a client that is back
   within the grace period is neither logged as left nor joined again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import msgpack

from server.broker.base import HistoryGone, LogPosition, Reseeded, ReseedOutcome
from server.directory import SessionRecord
from server.errors import ClassbridgeError
from server.hub.replica import SessionReplica
from server.protocol.closecodes import CloseCode
from server.rooms.events import CHAT_REDACTED, Event
from server.rooms.reducer import apply_event
from server.rooms.state import SessionState, load_state, pack_state

if TYPE_CHECKING:
    from server.hub.hub import SessionHub

log = logging.getLogger(__name__)

ATTEMPTS = 3  # a recovery that races another worker's re-seed tries again, this often
RETRY_DELAY = 0.2  # seconds between attempts


class Recovery:
    def __init__(self, hub: SessionHub) -> None:
        self.hub = hub
        self._running: dict[SessionReplica, asyncio.Future[None]] = {}
        self._scheduled: set[SessionReplica] = set()

    def schedule(self, replica: SessionReplica) -> None:
        """Called from the delivery path: start a recovery unless one runs (or is about to:
        a catch-up of many events while unchecked asks once per event)."""
        if replica not in self._running and replica not in self._scheduled:
            self._scheduled.add(replica)
            self.hub._spawn(self._scheduled_recovery(replica))

    async def _scheduled_recovery(self, replica: SessionReplica) -> None:
        self._scheduled.discard(replica)
        await self.recover(replica)

    async def recover(self, replica: SessionReplica) -> None:
        """Run (or join) the replica's recovery."""
        running = self._running.get(replica)
        if running is None:
            running = asyncio.ensure_future(self._recover(replica))
            self._running[replica] = running
            running.add_done_callback(lambda _: self._running.pop(replica, None))
        await asyncio.shield(running)

    async def check(self, session_id: str, replica: SessionReplica) -> None:
        """The periodic check: the log's top against the replica (see ``watch.py``)."""
        if not replica.checked:
            await self.recover(replica)  # the link was lost: the log may have been written over
            return
        top = await self.hub.broker.position(session_id)
        if top.epoch != replica.epoch or top.seq < replica.state.seq:
            log.warning("session %s: the log lost history; recovering", session_id)
            await self.recover(replica)
        elif top.seq > replica.state.seq:
            log.info("replica behind its log; reading %s events", top.seq - replica.state.seq)
            await self.hub._catch_up(session_id, replica)

    async def follow(self, replica: SessionReplica) -> None:
        """Before a resume is answered. A client reset (4009) by another worker resumes with
        a position in a history this replica may not know is gone yet; answered from it, the
        client would get a snapshot of the dead epoch, then a second reset once this worker
        noticed. So the log's top is read first, and a lost history recovered from."""
        if not replica.checked:
            await self.until_checked(replica)
            return
        top = await self.hub.broker.position(replica.session_id)
        if top.epoch != replica.epoch or top.seq < replica.state.seq:
            log.warning("session %s: a resume found the log's history lost", replica.session_id)
            await self.recover(replica)

    async def until_checked(self, replica: SessionReplica) -> None:
        """Recover until the replica's history is checked against the log, or fail: a state
        not yet checked after a lost link must not answer a join, a resume or a command. A few
        tries, since the link may be lost again while it is checked."""
        for _ in range(3):
            if replica.checked:
                return
            await self.recover(replica)
        if not replica.checked:
            raise ClassbridgeError("internal error: the session's history is being checked")

    async def _recover(self, replica: SessionReplica) -> None:
        replica.recovering = True
        try:
            for attempt in range(ATTEMPTS):
                if await self._attempt(replica):
                    return
                await asyncio.sleep(RETRY_DELAY * (attempt + 1))
            log.error("session %s: recovery did not settle; retried later", replica.session_id)
        finally:
            replica.recovering = False
            self._apply_aside(replica)

    async def _attempt(self, replica: SessionReplica) -> bool:
        broker, session_id = self.hub.broker, replica.session_id
        disruptions = broker.disruptions(session_id)
        known = LogPosition(replica.state.seq, replica.epoch)
        marks = replica.marks()
        # First without the state: most recoveries (a check after a lost link) find the log
        # intact, and a session's state can be megabytes.
        result = await broker.reseed(session_id, known, b"", marks)
        if result.outcome is ReseedOutcome.UNSETTLED:
            result = await broker.reseed(session_id, known, pack_state(replica.state), marks)
        state = replica.state
        if result.outcome is ReseedOutcome.DIVERGED:
            # What this replica applied over the log's restart point is in no log any more;
            # keeping it would split the session between workers for good.
            log.warning("session %s: the log was written over; following it", session_id)
            renewed = await self._renewed_from_log(replica, known.epoch)
            if renewed is None:
                return False  # appended meanwhile, or unreadable: decide anew
            result, state = renewed
        if result.outcome is ReseedOutcome.RESEEDED:
            log.warning("session %s: re-seeded the log at seq %d", session_id, state.seq)
            await self._restore_directory(replica)
        elif result.outcome is ReseedOutcome.ADOPT:
            adopted = await self._adopted_state(session_id, result.position.epoch)
            if adopted is None:
                return False
            state = adopted
        elif result.outcome is not ReseedOutcome.INTACT:
            return False  # UNSETTLED with a state: changed meanwhile; decide anew
        epoch = result.position.epoch
        if result.outcome is not ReseedOutcome.INTACT:
            replica.moved = result.moved
        missed = await broker.read_since(session_id, LogPosition(state.seq, epoch))
        if isinstance(missed, HistoryGone) and missed.position.epoch == epoch:
            # Further behind than the log keeps: from the log's own snapshot, if it is newer.
            stored = await self._adopted_state(session_id, epoch)
            if stored is not None and stored.seq > state.seq:
                again = await broker.read_since(session_id, LogPosition(stored.seq, epoch))
                if not isinstance(again, HistoryGone):
                    state, missed = stored, again
        if broker.disruptions(session_id) != disruptions:
            return False  # the link was lost again meanwhile: check anew
        if isinstance(missed, HistoryGone):
            top = missed.position
            settled = result.outcome is ReseedOutcome.INTACT and top.epoch == epoch
            if not settled or top.seq < state.seq:
                return False  # changed again meanwhile (lost, or short once more): decide anew
            # A snapshot older than the kept history: nothing better is left to read.
            log.warning("session %s: history lost; continuing from snapshot", session_id)
            replica.forget_ahead()
            replica.state.seq = top.seq
            replica.wake_appends()  # theirs are at or below the top: nothing more will come
            replica.checked_disruptions = disruptions
            return True
        replica.checked_disruptions = disruptions  # the events below are applied, not set aside
        replica.forget_ahead()
        self._switch(replica, state, epoch, missed)
        if result.agreed is not None and replica.epoch == epoch:
            # A command decided against the old state may name events of the written-over
            # part: made only where both surely agree (hub.py ``_restored_above``).
            replica.restored_at = LogPosition(min(result.agreed, state.seq), epoch)
        return True

    async def _renewed_from_log(
        self, replica: SessionReplica, epoch: str
    ) -> tuple[Reseeded, SessionState] | None:
        """The log's own history (its snapshot, then its events) as a state, re-seeded under a
        new epoch: clients of this replica hold positions in ``epoch`` that name events the
        log no longer has, and only a new epoch sends them (and everyone) to a snapshot."""
        broker, session_id = self.hub.broker, replica.session_id
        agreed = await self._agreed(replica, epoch)
        state = await self._adopted_state(session_id, epoch)
        if state is None:
            return None
        events = await broker.read_since(session_id, LogPosition(state.seq, epoch))
        if isinstance(events, HistoryGone):
            return None
        marks: list[tuple[int, int]] = []
        for seq, payload in events:
            event = Event.from_bytes(payload)
            apply_event(state, seq, event)
            marks = [(seq, event.ts)]  # so that a log written over again meanwhile shows
        known = LogPosition(state.seq, epoch)
        packed = pack_state(state)
        result = await broker.reseed(session_id, known, packed, marks, renew_from=agreed)
        if result.outcome is not ReseedOutcome.RESEEDED:
            return None
        return result, state

    async def _agreed(self, replica: SessionReplica, epoch: str) -> int:
        """The last seq at which the replica and the log were seen to hold the same event,
        below the first seq they differ at (0 when none was seen to agree)."""
        marks = dict(replica.marks())
        if not marks:
            return 0
        start = min(marks) - 1
        events = await self.hub.broker.read_since(replica.session_id, LogPosition(start, epoch))
        if isinstance(events, HistoryGone) and events.position.epoch == epoch:
            # Marks older than the log keeps (it holds ``history_size`` events): from its oldest.
            start = max(start, events.position.seq - self.hub.limits.history_size)
            events = await self.hub.broker.read_since(replica.session_id, LogPosition(start, epoch))
        if isinstance(events, HistoryGone):
            return 0
        agreed = 0
        for seq, payload in events:
            event = Event.from_bytes(payload)
            if seq not in marks or event.kind == CHAT_REDACTED:
                continue  # a redacted post's placeholder carries the deletion's time
            if event.ts != marks[seq]:
                break
            agreed = seq
        return agreed

    async def _adopted_state(self, session_id: str, epoch: str) -> SessionState | None:
        stored = await self.hub.broker.load_snapshot(session_id)
        if stored is None:
            # A session that never saved one: its history from the start, if the log still
            # holds it (read_since says so when it does not).
            return (
                SessionState()
                if epoch == (await self.hub.broker.position(session_id)).epoch
                else None
            )
        if stored.epoch != epoch:
            return None
        return load_state(msgpack.unpackb(stored.payload))

    async def _restore_directory(self, replica: SessionReplica) -> None:
        if replica.record is None:
            return
        record = SessionRecord.from_bytes(replica.record)
        codes = {code: class_id for class_id, code in record.join_codes.items()}
        await self.hub.broker.create_session(replica.session_id, replica.record, codes)

    def _switch(
        self,
        replica: SessionReplica,
        state: SessionState,
        epoch: str,
        missed: list[tuple[int, bytes]],
    ) -> None:
        """No await from here on: the replica changes history in one step."""
        if epoch != replica.epoch or state is not replica.state:
            for connection in replica.rebuild(state, epoch):
                connection.close(CloseCode.HISTORY_RESET, "history_reset")
        replica.recovering = False
        for seq, payload in missed:
            replica.receive(seq, epoch, payload)

    @staticmethod
    def _apply_aside(replica: SessionReplica) -> None:
        events, dropped = replica.take_aside()
        for seq, payload in events:
            replica.receive(seq, replica.epoch, payload)
        if dropped and replica.checked and replica.on_gap is not None:
            # Left unread, a quiet session would lag until its next event or periodic repair.
            replica.on_gap(replica)
