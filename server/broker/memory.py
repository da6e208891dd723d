"""``memory://``: the broker for one process, with no dependencies. The default."""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgpack

from server.broker.base import (
    MARKS_CHECKED,
    EventListener,
    HistoryGone,
    JoinCodeTarget,
    LogPosition,
    MovedEvents,
    Reseeded,
    ReseedOutcome,
    StoredSnapshot,
    VolatileListener,
)

log = logging.getLogger(__name__)


def new_epoch() -> str:
    return secrets.token_hex(4)


def _diverged(session_log: _SessionLog, seq: int, marks: dict[int, int]) -> bool:
    """Whether the log holds another event than the replica's ``marks`` say at the highest
    seq both have (``Broker.reseed``; the Redis script checks the same way)."""
    if marks and session_log.top < seq and session_log.top not in marks:
        return True  # shorter by more than the replica remembers: follow the log (the script)
    seq = min(seq, session_log.top)
    history = session_log.history
    oldest = history[0][0] if history else seq + 1
    for _ in range(MARKS_CHECKED):
        want = marks.get(seq)
        if want is None or seq < oldest:
            return False
        if seq not in session_log.replaced:  # a redacted post's placeholder has its own ts
            try:
                _, ts, _ = msgpack.unpackb(history[seq - oldest][1])  # an event: [kind, ts, data]
            except Exception:  # not an event's payload: nothing to compare (as in the script)
                return False
            return bool(ts != want)
        seq -= 1
    return False


@dataclass(eq=False, slots=True)  # compared by identity: one subscriber per subscribe()
class _Subscriber:
    on_event: EventListener
    on_volatile: VolatileListener | None


@dataclass(slots=True)
class _SessionLog:
    epoch: str
    history: deque[tuple[int, bytes]]
    top: int = 0
    subscribers: list[_Subscriber] = field(default_factory=list)
    snapshot: StoredSnapshot | None = None
    moved: MovedEvents | None = None  # what the re-seed that began this epoch moved
    replaced: set[int] = field(default_factory=set)  # seqs ``replace`` redacted, this epoch
    agreed: int | None = None  # a renewed epoch's ``Reseeded.agreed``


class _MemorySubscription:
    def __init__(self, log: _SessionLog, subscriber: _Subscriber) -> None:
        self._log = log
        self._subscriber = subscriber

    async def close(self) -> None:
        if self._subscriber in self._log.subscribers:
            self._log.subscribers.remove(self._subscriber)


class MemoryBroker:
    appends_in_place = True  # nothing in it waits (the gateway relies on it: base.Broker)

    def __init__(self, history_size: int = 1000) -> None:
        self.history_size = history_size
        self._records: dict[str, bytes] = {}
        self._join_codes: dict[str, JoinCodeTarget] = {}
        self._logs: dict[str, _SessionLog] = {}
        self._connections: dict[str, dict[str, str]] = {}  # session -> connection key -> pid
        self._relay_claims: dict[str, tuple[str, float]] = {}  # session -> (worker, until)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._logs.clear()

    async def ready(self) -> bool:
        return True

    def _log(self, session_id: str) -> _SessionLog:
        session_log = self._logs.get(session_id)
        if session_log is None:
            session_log = _SessionLog(new_epoch(), deque(maxlen=self.history_size))
            self._logs[session_id] = session_log
        return session_log

    async def create_session(
        self, session_id: str, record: bytes, join_codes: dict[str, str]
    ) -> None:
        self._records[session_id] = record
        for code, class_id in join_codes.items():
            self._join_codes[code] = JoinCodeTarget(session_id, class_id)

    async def get_session(self, session_id: str) -> bytes | None:
        return self._records.get(session_id)

    async def find_join_code(self, code: str) -> JoinCodeTarget | None:
        return self._join_codes.get(code)

    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        session_log = self._log(session_id)
        if after is not None and (after.epoch != session_log.epoch or after.seq > session_log.top):
            return LogPosition(session_log.top, session_log.epoch)  # see Broker.append
        session_log.top += 1
        seq = session_log.top
        session_log.history.append((seq, payload))
        for subscriber in list(session_log.subscribers):
            try:
                subscriber.on_event(seq, session_log.epoch, payload)
            except Exception:  # one broken listener must not starve the others
                log.exception("event listener failed", extra={"session_id": session_id})
        return LogPosition(seq, session_log.epoch)

    async def publish(self, session_id: str, payload: bytes) -> None:
        session_log = self._logs.get(session_id)  # nobody subscribed: nobody to tell
        for subscriber in list(session_log.subscribers) if session_log else []:
            if subscriber.on_volatile is None:
                continue
            try:
                subscriber.on_volatile(payload)
            except Exception:  # as above
                log.exception("volatile listener failed", extra={"session_id": session_id})

    async def position(self, session_id: str) -> LogPosition:
        session_log = self._log(session_id)
        return LogPosition(session_log.top, session_log.epoch)

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone:
        session_log = self._log(session_id)
        here = LogPosition(session_log.top, session_log.epoch)
        if after.epoch != session_log.epoch or after.seq > session_log.top:
            return HistoryGone(here)
        oldest = session_log.history[0][0] if session_log.history else session_log.top + 1
        if after.seq + 1 < oldest:
            return HistoryGone(here)
        skip = after.seq + 1 - oldest
        return list(session_log.history)[skip:]

    async def replace(self, session_id: str, at: LogPosition, payload: bytes) -> None:
        session_log = self._log(session_id)
        if session_log.epoch != at.epoch:
            return  # another history's seq: another event
        history, seq = session_log.history, at.seq
        if history and history[0][0] <= seq <= history[-1][0]:
            index = seq - history[0][0]  # seqs in history are consecutive
            history[index] = (seq, payload)
            session_log.replaced.add(seq)

    async def subscribe(
        self,
        session_id: str,
        listener: EventListener,
        volatile: VolatileListener | None = None,
    ) -> _MemorySubscription:
        session_log = self._log(session_id)
        subscriber = _Subscriber(listener, volatile)
        session_log.subscribers.append(subscriber)
        return _MemorySubscription(session_log, subscriber)

    async def add_connection(
        self, session_id: str, connection_key: str, participant_id: str
    ) -> None:
        self._connections.setdefault(session_id, {})[connection_key] = participant_id

    async def remove_connection(self, session_id: str, connection_key: str) -> None:
        held = self._connections.get(session_id, {})
        held.pop(connection_key, None)
        if not held:
            self._connections.pop(session_id, None)

    async def count_connections(self, session_id: str, participant_id: str) -> int:
        return list(self._connections.get(session_id, {}).values()).count(participant_id)

    async def heartbeat(self, worker_id: str, now: float) -> None:
        return None  # one process: its worker cannot die without the broker

    async def claim_dead_workers(self, silent_since: float) -> list[str]:
        return []

    async def take_worker_connections(self, worker_id: str) -> list[tuple[str, str]]:
        return []

    async def save_snapshot(self, session_id: str, snapshot: StoredSnapshot) -> None:
        session_log = self._log(session_id)
        if snapshot.epoch != session_log.epoch or snapshot.seq > session_log.top:
            return  # another history's state, or one above the log (as the script refuses)
        current = session_log.snapshot
        if current is None or snapshot.seq > current.seq:
            session_log.snapshot = snapshot

    async def load_snapshot(self, session_id: str) -> StoredSnapshot | None:
        return self._log(session_id).snapshot

    async def reseed(
        self,
        session_id: str,
        known: LogPosition,
        snapshot: bytes,
        marks: Sequence[tuple[int, int]] = (),
        *,
        renew_from: int | None = None,
    ) -> Reseeded:
        # One process never loses its log, but a replica may still ask (the contract is shared).
        session_log = self._log(session_id)
        here = LogPosition(session_log.top, session_log.epoch)
        if here.epoch == known.epoch:
            if _diverged(session_log, known.seq, dict(marks)):
                return Reseeded(ReseedOutcome.DIVERGED, here)
            if renew_from is not None and snapshot and here.seq >= known.seq:
                return self._renew(session_log, known.seq, snapshot, renew_from)
            if here.seq >= known.seq:
                return Reseeded(ReseedOutcome.INTACT, here)
            if renew_from is not None:  # shorter again meanwhile: decided anew (the script)
                return Reseeded(ReseedOutcome.UNSETTLED, here)
        current = session_log.snapshot
        if here.epoch != known.epoch and current is not None and current.epoch == here.epoch:
            return Reseeded(ReseedOutcome.ADOPT, here, session_log.moved, session_log.agreed)
        if not snapshot:
            return Reseeded(ReseedOutcome.UNSETTLED, here)
        moved = list(session_log.history) if here.epoch != known.epoch else []
        session_log.epoch, session_log.top = new_epoch(), known.seq
        session_log.moved, session_log.agreed = None, renew_from
        if moved:
            first = moved[0][0]
            session_log.moved = MovedEvents(
                here.epoch, first, known.seq + 1 - first, session_log.epoch
            )
        session_log.history.clear()
        session_log.replaced.clear()
        session_log.snapshot = StoredSnapshot(known.seq, session_log.epoch, snapshot)
        for _, payload in moved:  # not delivered: subscribers rebuild from the new epoch
            session_log.top += 1
            session_log.history.append((session_log.top, payload))
        top = LogPosition(session_log.top, session_log.epoch)
        return Reseeded(ReseedOutcome.RESEEDED, top, session_log.moved, renew_from)

    def disruptions(self, session_id: str) -> int:
        return 0  # the log lives in this process: it cannot come back different

    @staticmethod
    def _renew(session_log: _SessionLog, floor: int, snapshot: bytes, agreed: int) -> Reseeded:
        """The same entries under a new epoch (see the Redis script)."""
        old, session_log.epoch = session_log.epoch, new_epoch()
        session_log.snapshot = StoredSnapshot(floor, session_log.epoch, snapshot)
        session_log.moved = MovedEvents(old, floor + 1, 0, session_log.epoch)
        session_log.agreed = agreed
        top = LogPosition(session_log.top, session_log.epoch)
        return Reseeded(ReseedOutcome.RESEEDED, top, session_log.moved, agreed)

    async def claim_relay(self, session_id: str, worker_id: str, ttl_ms: int) -> str:
        now = time.monotonic()
        holder, until = self._relay_claims.get(session_id, ("", 0.0))
        if not holder or until <= now or holder == worker_id:
            holder = worker_id
            self._relay_claims[session_id] = (worker_id, now + ttl_ms / 1000)
        return holder
