"""What happened during a simulated lesson, as it happens: latencies per event type, deliveries
per second, acks, errors, joins; then the figures, and the seq check of every receiver.

Times are ``time.monotonic_ns()`` of this one process (sender and receiver share the clock).
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from load_tests.lesson_resume import Outage, Segment
from load_tests.lesson_timing import Identity
from load_tests.stats import LatencySummary, percentile, summarize_latency

MAX_SECONDS = 3600  # per-second buckets a run may fill: bounds the series
# Left out of the per-second latency: the server batches cursors every 50 ms, which would
# hide every other event type's latency under its own.
UNSERIED = frozenset({"peer.cursors"})
# Not in the session's log: no seq, and not carried by Redis's stream.
VOLATILE = frozenset({"peer.cursors", "peer.signal"})
TICK_NS = 100_000_000  # the fine series (deliveries per 100 ms) a fault's recovery is read from


class FreshWatch(Protocol):
    """Told of every logged event delivered whose send time is known (chaos.py)."""

    def delivered(self, now: int, sent_ns: int) -> None: ...


class Ack(NamedTuple):
    """A seq an ack named, for an event every member sees, or a poll answer."""

    seq: int
    epoch: str  # the epoch the acking client was in
    identity: Identity | None  # the event the command made, when it can be told (lesson_timing)
    by: str | None  # a poll answer's client (its student and the teachers see it); None: public


@dataclass(slots=True)
class LessonTally:
    """Shared by every client of a run (one process, one clock)."""

    sessions: int
    start_ns: int = 0  # when the lesson's activity starts: second 0 of the series
    end_ns: int = 0  # when it stops sending (the drain follows)
    latencies: dict[str, array[int]] = field(default_factory=dict)  # by event type
    deliveries: Counter[str] = field(default_factory=Counter)  # by event type, whole run
    window_deliveries: Counter[str] = field(default_factory=Counter)  # start_ns .. end_ns
    ack_rtt: dict[str, array[int]] = field(default_factory=dict)  # by command type
    sent: Counter[str] = field(default_factory=Counter)  # by command type
    acked: Counter[str] = field(default_factory=Counter)
    pending: int = 0  # commands sent that wait for an ack or an error
    errors: Counter[str] = field(default_factory=Counter)  # by code
    errors_by_command: Counter[str] = field(default_factory=Counter)  # "type: code"
    closes: int = 0  # connections the server closed (or lost): an error unless expected
    close_codes: Counter[str] = field(default_factory=Counter)  # "code reason" -> count
    closes_expected: bool = False  # a chaos run: closes are counted per fault, not errors
    reconnect: bool = True  # clients reconnect and resume after a lost connection
    interrupted: Counter[str] = field(default_factory=Counter)  # in flight at a lost connection
    watch: FreshWatch | None = None
    outages: list[Outage] = field(default_factory=list)  # every client's lost connections
    ticks: list[int] = field(default_factory=list)  # deliveries in each TICK_NS from start_ns
    joins_ns: array[int] = field(default_factory=lambda: array("q"))  # connect -> welcome/lobby
    lobby_waits_ns: array[int] = field(default_factory=lambda: array("q"))  # lobby -> welcome
    per_second: list[int] = field(default_factory=list)  # deliveries in each second
    second_latencies: list[array[int]] = field(default_factory=list)  # samples each second
    # Per session, every ack that named a seq, in the order they came (``Ack``). A list, not
    # a map by seq: two acks naming one seq (a lost event's seq given again to another) must
    # both be checked, or the later would hide that the earlier event was lost.
    acks: list[list[Ack]] = field(default_factory=list)
    signals_acked: set[str] = field(default_factory=set)  # keys of the signals acked
    # Per session: every (seq, event) a receiver got: an ack naming a seq that holds another
    # event shows (``SeqCheck.misplaced``).
    received_identities: list[set[tuple[int, Identity]]] = field(default_factory=list)
    # Per session: the (seq, event) pairs welcomes' snapshots named (chat posts and polls).
    snapshot_identities: list[set[tuple[int, Identity]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.acks = [[] for _ in range(self.sessions)]
        self.received_identities = [set() for _ in range(self.sessions)]
        self.snapshot_identities = [set() for _ in range(self.sessions)]

    def _second(self, now: int) -> int | None:
        if now < self.start_ns or not self.start_ns:
            return None
        index = (now - self.start_ns) // 1_000_000_000
        if index >= MAX_SECONDS:
            return None
        while len(self.per_second) <= index:
            self.per_second.append(0)
            self.second_latencies.append(array("q"))
        return index

    def delivered(self, kind: str, now: int, sent_ns: int | None) -> None:
        """One event (or peer message) of ``kind`` arrived; its latency when its send is known."""
        self.deliveries[kind] += 1
        if self.start_ns <= now < self.end_ns:
            self.window_deliveries[kind] += 1
        second = self._second(now)
        if second is not None:
            self.per_second[second] += 1
            tick = (now - self.start_ns) // TICK_NS
            while len(self.ticks) <= tick:
                self.ticks.append(0)
            self.ticks[tick] += 1
        if sent_ns is None:
            return
        if self.watch is not None and kind not in VOLATILE:
            self.watch.delivered(now, sent_ns)
        self.latencies.setdefault(kind, array("q")).append(now - sent_ns)
        if second is not None and kind not in UNSERIED:
            self.second_latencies[second].append(now - sent_ns)

    def on_sent(self, command: str) -> None:
        self.sent[command] += 1
        self.pending += 1

    def on_ack(self, command: str, rtt_ns: int) -> None:
        self.pending -= 1
        self.acked[command] += 1
        self.ack_rtt.setdefault(command, array("q")).append(rtt_ns)

    def ack(
        self,
        session: int,
        seq: int,
        epoch: str,
        identity: Identity | None = None,
        by: str | None = None,
    ) -> None:
        """An acked command's event: public (``by`` None), or a poll answer by client ``by``."""
        self.acks[session].append(Ack(seq, epoch, identity, by))

    def on_interrupted(self, command: str) -> None:
        """A command whose connection broke before its answer: applied or not, unknown."""
        self.pending -= 1
        self.interrupted[command] += 1

    def on_error(self, command: str | None, code: str) -> None:
        if command is not None:
            self.pending -= 1
        self.errors[code] += 1
        self.errors_by_command[f"{command or '-'}: {code}"] += 1


@dataclass(frozen=True, slots=True)
class SeqCheck:
    """Every receiver's event seqs against what it had to get (docs/protocol.md sections 8
    and 9), segment by segment (lesson_resume.py): across resumes answered with events too."""

    receivers: int = 0
    lost: int = 0  # acked seqs a receiver may see but never got
    duplicates: int = 0  # a seq received twice in one segment (one connection, or a resume)
    out_of_order: int = 0  # a seq not above the one before it
    teacher_gaps: int = 0  # teachers see every event here: missing seqs between theirs
    signals_lost: int = 0  # acked signals that never reached their recipient
    signals_duplicated: int = 0
    snapshot_resumes: int = 0  # resumes answered with a snapshot: a segment ended there
    snapshot_covered: int = 0  # acked events after such a position, in the snapshot instead
    never_delivered: int = 0  # acked events (answers too) no receiver got, nor a snapshot of
    # Acked seqs receivers got, but only ever holding another event: the ack named the wrong one.
    misplaced: int = 0
    contents_checked: int = 0  # acked seqs received whose event was compared with the command's


class Receiver(Protocol):
    """What the seq check needs of one client (lesson_client.LessonClient has these)."""

    name: str
    session: int
    signal_keys: Counter[str]

    @property
    def segments(self) -> list[Segment]: ...

    @property
    def is_teacher(self) -> bool: ...


def _owed(tally: LessonTally, r: Receiver) -> set[tuple[int, str]]:
    """Acked (seq, epoch) pairs the receiver may see: the epoch is the acking client's."""
    return {
        (ack.seq, ack.epoch)
        for ack in tally.acks[r.session]
        if ack.by is None or r.is_teacher or ack.by == r.name
    }


def _in(segment: Segment, seq: int, epoch: str) -> bool:
    same = not epoch or not segment.epoch or epoch == segment.epoch
    return same and seq > segment.base and (segment.end is None or seq <= segment.end)


@dataclass(slots=True)
class _Counts:
    lost: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    gaps: int = 0
    snapshots: int = 0
    covered: int = 0


def _check_segments(
    r: Receiver, owed: set[tuple[int, str]], counts: _Counts, in_snapshots: set[int]
) -> set[int]:
    """Checks the receiver's segments and returns the seqs it received; adds to
    ``in_snapshots`` those a snapshot resume gave it instead of events."""
    received: set[int] = set()
    for index, segment in enumerate(r.segments):
        seqs, seen = segment.seqs, set(segment.seqs)
        received |= seen
        counts.duplicates += len(seqs) - len(seen)
        counts.out_of_order += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        counts.lost += sum(1 for s, e in owed if _in(segment, s, e) and s not in seen)
        if r.is_teacher and seen:
            counts.gaps += len(set(range(segment.base + 1, max(seen) + 1)) - seen)
        if index:  # this segment began with a snapshot resume
            counts.snapshots += 1
    for before, after in itertools.pairwise(r.segments):
        end = before.end if before.end is not None else before.base
        in_snapshots.update(range(end + 1, after.base + 1))
        counts.covered += sum(
            1
            for s, e in owed
            if s > end and e in ("", before.epoch) and s not in received and not _in(after, s, e)
        )
    return received


def _check_acks(
    tally: LessonTally, s: int, delivered: set[int], in_snapshots: set[int]
) -> tuple[int, int, int]:
    """Session ``s``'s acked seqs: how many never came, how many held another event than the
    one acked (``misplaced``), and how many were compared so."""
    received, snapshots = tally.received_identities[s], tally.snapshot_identities[s]
    named = {seq for seq, _ in snapshots}
    never = misplaced = checked = 0
    for seq, _, identity, _ in tally.acks[s]:
        pair = (seq, identity)
        if seq in delivered:
            if identity is not None:
                checked += 1
                misplaced += pair not in received and pair not in snapshots
        elif seq in in_snapshots:
            # Not sent one by one (counted apart: ``covered``); yet a snapshot that names the
            # seq as a post or a poll shows what it holds there.
            if identity is not None and seq in named:
                checked += 1
                misplaced += pair not in snapshots
        else:
            never += 1
    return never, misplaced, checked


def check_seqs(tally: LessonTally, receivers: Sequence[Receiver]) -> SeqCheck:
    counts = _Counts()
    signals_seen: Counter[str] = Counter()
    delivered: list[set[int]] = [set() for _ in range(tally.sessions)]
    in_snapshots: list[set[int]] = [set() for _ in range(tally.sessions)]
    for r in receivers:
        owed = _owed(tally, r)
        delivered[r.session] |= _check_segments(r, owed, counts, in_snapshots[r.session])
        for key, n in r.signal_keys.items():
            signals_seen[key] += n
    signals_lost = sum(1 for key in tally.signals_acked if signals_seen[key] == 0)
    # Only ours: a real station (--media) may offer again under the same name.
    signals_dup = sum(signals_seen[key] - 1 for key in tally.signals_acked if signals_seen[key] > 1)
    never = misplaced = checked = 0
    for s in range(tally.sessions):
        n, m, c = _check_acks(tally, s, delivered[s], in_snapshots[s])
        never, misplaced, checked = never + n, misplaced + m, checked + c
    return SeqCheck(
        len(receivers), counts.lost, counts.duplicates, counts.out_of_order, counts.gaps,
        signals_lost, signals_dup, counts.snapshots, counts.covered, never, misplaced, checked,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SecondPoint:
    second: int
    delivered: int
    p50_ms: float | None
    p99_ms: float | None


def series(tally: LessonTally) -> list[SecondPoint]:
    """Deliveries (all) and latency (every event type but cursors) per second of the run."""
    points = []
    for second, (count, samples) in enumerate(
        zip(tally.per_second, tally.second_latencies, strict=True)
    ):
        ordered = sorted(samples)
        p50 = round(percentile(ordered, 0.5) / 1e6, 3) if ordered else None
        p99 = round(percentile(ordered, 0.99) / 1e6, 3) if ordered else None
        points.append(SecondPoint(second, count, p50, p99))
    return points


def latency_by_kind(samples: dict[str, array[int]]) -> dict[str, LatencySummary]:
    return {kind: summarize_latency(values) for kind, values in sorted(samples.items())}
