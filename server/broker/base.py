"""The broker interface: the ordered log of each session, its snapshots, and the session
directory. ``memory://`` implements it in one process; ``redis://`` across workers and hosts.
The rest of the server does not know which one runs.

Guarantees (modelled on Centrifugo's channel history):
- ``append`` gives each event of a session the next ``seq`` (1, 2, 3 ...) and delivers
  ``(seq, epoch, payload)`` to every subscriber of that session, in seq order;
- history is bounded; ``read_since`` either returns every event after a seq, or says plainly
  that they are gone (``HistoryGone``), never a silent gap;
- the ``epoch`` names one unbroken history; it changes when history is lost, so a client that
  resumes with an old epoch gets a snapshot instead of events that do not follow its own;
- ``publish`` hands a volatile message (a cursor, a typing hint, a WebRTC signal) to every
  subscriber of the session that is subscribed at that moment: no seq, not stored, at most
  once. Whatever worker holds the recipient gets it; nobody can ask for it again later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

# Called for every event of a subscribed session, in seq order. It must not block: it runs on
# the broker's delivery path and is handed bytes that it decodes once per worker.
EventListener = Callable[[int, str, bytes], None]
# Called for every volatile message of a subscribed session, in the order published; same rules.
VolatileListener = Callable[[bytes], None]


# How many seqs down from where a replica and its log meet ``reseed`` looks for one to compare
# (a redacted post's seq is skipped: its placeholder carries the deletion's time).
MARKS_CHECKED = 8


@dataclass(frozen=True, slots=True)
class LogPosition:
    seq: int
    epoch: str


@dataclass(frozen=True, slots=True)
class HistoryGone:
    """The events asked for are no longer kept (too old, or the epoch changed)."""

    position: LogPosition


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    seq: int
    epoch: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class JoinCodeTarget:
    session_id: str
    class_id: str


class ReseedOutcome(StrEnum):
    INTACT = "intact"  # the broker still holds the history the caller knows: just catch up
    ADOPT = "adopt"  # another history with its own snapshot is current: rebuild from it
    RESEEDED = "reseeded"  # the caller's state now starts a new epoch at its seq
    # The log holds another event than the caller applied at a seq both have: it came back
    # short of its last writes and a replica that was behind wrote new events over the lost
    # seqs. Nothing is changed: the caller rebuilds its state from the log and renews its
    # epoch (``reseed(..., renew_from=...)``).
    DIVERGED = "diverged"
    # Asked without a snapshot, the log needs one to be restored: ask again with it.
    UNSETTLED = "unsettled"


@dataclass(frozen=True, slots=True)
class MovedEvents:
    """Where a re-seed put the events appended after the loss: those of ``from_epoch`` (a
    history that did not last) from seq ``first`` on now stand at their old seq + ``shift``
    in ``to_epoch``. Older ones of that history were trimmed before the re-seed: not moved."""

    from_epoch: str
    first: int
    shift: int
    to_epoch: str

    def moved(self, old: LogPosition) -> int | None:
        """The seq in ``to_epoch`` of the event appended at ``old`` (None: not one it moved)."""
        if old.epoch != self.from_epoch or old.seq < self.first:
            return None
        return old.seq + self.shift


@dataclass(frozen=True, slots=True)
class Reseeded:
    outcome: ReseedOutcome
    position: LogPosition  # the log's top and epoch after the call
    # With RESEEDED and ADOPT: the events the re-seed of the current epoch moved, if any. An
    # append answered in their old epoch reports its event's place in the new one with this.
    moved: MovedEvents | None = None
    # With a renewed epoch (RESEEDED by ``renew_from``, and its ADOPT): the seq up to which its
    # history surely agrees with what replicas of the old epoch applied. Above it their ids may
    # name other events, so a command decided against such a state is not made in it.
    agreed: int | None = None


class Subscription(Protocol):
    async def close(self) -> None: ...


class Broker(Protocol):
    # Whether ``append`` completes without waiting (memory://). The gateway then handles each
    # message in the callback that read it (server/direct_receive.py); where every append
    # waits for a server anyway, that saves nothing and the connection's task handles them.
    appends_in_place: bool

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ready(self) -> bool:
        """Whether the broker answers now (for /readyz); never raises."""

    # --- session directory -------------------------------------------------------------------
    async def create_session(
        self, session_id: str, record: bytes, join_codes: dict[str, str]
    ) -> None:
        """Store a session's directory record and its join codes (code -> class id)."""

    async def get_session(self, session_id: str) -> bytes | None: ...

    async def find_join_code(self, code: str) -> JoinCodeTarget | None: ...

    # --- the log -----------------------------------------------------------------------------
    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        """Log ``payload`` as the session's next event and return its position.

        ``after`` is how far the caller has applied the log: the history its command was
        decided against. When the log is not that history, nothing is appended and the log's
        top is returned (in another epoch, or at or below ``after.seq``); the caller recovers
        (``reseed``) first. That is the case when the log is in another epoch (Redis lost it,
        and another replica may have restored it from a state where the caller's ids name
        other events), and when it is in the caller's epoch but below ``after`` (Redis came
        back short of its last writes: the next seq would name an event the caller applied)."""

    async def position(self, session_id: str) -> LogPosition: ...

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone: ...

    async def subscribe(
        self,
        session_id: str,
        listener: EventListener,
        volatile: VolatileListener | None = None,
    ) -> Subscription:
        """Deliver the session's events (and, given ``volatile``, its volatile messages)."""

    async def publish(self, session_id: str, payload: bytes) -> None:
        """Send a volatile message to the session's current subscribers (see above)."""

    async def replace(self, session_id: str, at: LogPosition, payload: bytes) -> None:
        """Overwrite the stored payload of the event at ``at`` if history still holds it: a
        deleted chat post must not keep its text in storage. Subscribers are not told (they
        applied the deletion already). Only in ``at.epoch``: after a loss the same seq may be
        another event of a new history (the re-seed's snapshot drops the text instead)."""

    # --- connections, across workers ----------------------------------------------------------
    async def add_connection(
        self, session_id: str, connection_key: str, participant_id: str
    ) -> None:
        """Record a live connection (``connection_key`` is unique across workers)."""

    async def remove_connection(self, session_id: str, connection_key: str) -> None: ...

    async def count_connections(self, session_id: str, participant_id: str) -> int:
        """How many connections the participant holds on all workers together: a participant
        with a tab on two workers is present until both are gone, and the cap on connections
        per participant counts every worker's."""

    async def heartbeat(self, worker_id: str, now: float) -> None:
        """The worker is alive at ``now`` (seconds since the epoch)."""

    async def claim_dead_workers(self, silent_since: float) -> list[str]:
        """Workers with no heartbeat since ``silent_since``; each is returned to exactly one
        caller, whichever asks first, so a dead worker's leaves are logged once."""

    async def take_worker_connections(self, worker_id: str) -> list[tuple[str, str]]:
        """Remove a (dead) worker's connection records; returns (session, participant) pairs."""

    # --- snapshots ---------------------------------------------------------------------------
    async def save_snapshot(self, session_id: str, snapshot: StoredSnapshot) -> None: ...

    async def load_snapshot(self, session_id: str) -> StoredSnapshot | None: ...

    # --- recovery ----------------------------------------------------------------------------
    async def reseed(
        self,
        session_id: str,
        known: LogPosition,
        snapshot: bytes,
        marks: Sequence[tuple[int, int]] = (),
        *,
        renew_from: int | None = None,
    ) -> Reseeded:
        """Restore a session's log from a replica after the broker lost (part of) it.

        ``known`` is the replica's seq and epoch, ``snapshot`` its state at that seq. ``marks``
        are the timestamps of the last events it applied, as (seq, ts) pairs: in its epoch, the
        log's event at the highest seq both have (below ``known.seq`` when the log is shorter;
        redacted posts skipped) must carry the same timestamp, or the log DIVERGED from the
        replica. In one atomic step: if the log still has epoch ``known.epoch``, reaches
        ``known.seq`` and did not diverge, it is INTACT. If another epoch is current and has a
        snapshot of its own (someone re-seeded first), ADOPT it. Otherwise the log was lost:
        start a new epoch whose seq continues at ``known.seq`` (seqs never go backwards, so
        message ids stay unique), store ``snapshot`` as its snapshot, and move any event
        appended since the loss in another epoch to just above ``known.seq``, so none is lost;
        RESEEDED. With RESEEDED, and with ADOPT of such an epoch, ``moved`` says where the
        moved events went. With an empty ``snapshot`` the log is never re-seeded: UNSETTLED
        instead (a check that ships no state).

        ``renew_from``: give a log that is intact at or above ``known.seq`` a new epoch, with
        ``snapshot`` at ``known.seq`` and the events above it kept at their seqs (UNSETTLED if
        it is shorter). For a caller that rebuilt its state from this log after it DIVERGED
        (agreeing with it up to ``renew_from``): clients hold positions in its epoch that name
        other events than the log has, so the history must get a new epoch (they then resume
        into a snapshot), and every other worker adopts it. ``agreed`` tells them how far
        their old states are sure to agree."""

    def disruptions(self, session_id: str) -> int:
        """A count that changes each time this worker's link to the store holding the
        session's log was lost or renewed (0 for ever: it cannot be). Read for every event.

        While the link is down the store may restart and come back short of its last writes,
        and other workers may write over the lost seqs; so a replica checks its history
        against the log (``reseed`` with marks) before it appends again (hub/recovery.py).
        Per session, because in a Cluster one master's trouble says nothing of the others'
        sessions."""

    # --- the media relay ---------------------------------------------------------------------
    async def claim_relay(self, session_id: str, worker_id: str, ttl_ms: int) -> str:
        """Elect the worker that runs the session's media relay: the first to claim it holds it
        for ``ttl_ms``; a claim by the holder refreshes it. Returns the holder, in one atomic
        step, so every worker asking at one moment gets the same answer."""
