"""What happened during a simulated lesson, as it happens: latencies per event type, deliveries
per second, acks, errors, joins; then the figures, and the seq check of every receiver.

Times are ``time.monotonic_ns()`` of this one process (sender and receiver share the clock).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from load_tests.stats import LatencySummary, percentile, summarize_latency

MAX_SECONDS = 3600  # per-second buckets a run may fill: bounds the series
# Left out of the per-second latency: the server batches cursors every 50 ms, which would
# hide every other event type's latency under its own.
UNSERIED = frozenset({"peer.cursors"})


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
    closes: int = 0  # connections the server closed (nothing reconnects: each is a failure)
    joins_ns: array[int] = field(default_factory=lambda: array("q"))  # connect -> welcome/lobby
    lobby_waits_ns: array[int] = field(default_factory=lambda: array("q"))  # lobby -> welcome
    per_second: list[int] = field(default_factory=list)  # deliveries in each second
    second_latencies: list[array[int]] = field(default_factory=list)  # samples each second
    # Per session: seqs acked for events every member sees, and poll answers (their seq ->
    # the answering client's name: the student and the teachers see those).
    public_seqs: list[set[int]] = field(default_factory=list)
    answer_seqs: list[dict[int, str]] = field(default_factory=list)
    signals_acked: set[str] = field(default_factory=set)  # keys of the signals acked

    def __post_init__(self) -> None:
        self.public_seqs = [set() for _ in range(self.sessions)]
        self.answer_seqs = [{} for _ in range(self.sessions)]

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
        if sent_ns is None:
            return
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

    def on_error(self, command: str | None, code: str) -> None:
        if command is not None:
            self.pending -= 1
        self.errors[code] += 1
        self.errors_by_command[f"{command or '-'}: {code}"] += 1


@dataclass(frozen=True, slots=True)
class SeqCheck:
    """Every receiver's event seqs against what it had to get (docs/protocol.md section 8)."""

    receivers: int = 0
    lost: int = 0  # acked seqs a receiver may see but never got
    duplicates: int = 0  # a seq received twice on one connection
    out_of_order: int = 0  # a seq not above the one before it
    teacher_gaps: int = 0  # teachers see every event here: missing seqs between theirs
    signals_lost: int = 0  # acked signals that never reached their recipient
    signals_duplicated: int = 0


class Receiver(Protocol):
    """What the seq check needs of one client (lesson_client.LessonClient has these)."""

    name: str
    session: int
    welcome_seq: int
    seqs: list[int]
    signal_keys: Counter[str]

    @property
    def is_teacher(self) -> bool: ...


def check_seqs(tally: LessonTally, receivers: Iterable[Receiver]) -> SeqCheck:
    lost = duplicates = out_of_order = gaps = count = 0
    signals_seen: Counter[str] = Counter()
    for r in receivers:
        count += 1
        seen = set(r.seqs)
        duplicates += len(r.seqs) - len(seen)
        out_of_order += sum(1 for a, b in zip(r.seqs, r.seqs[1:], strict=False) if b <= a)
        expected = {s for s in tally.public_seqs[r.session] if s > r.welcome_seq}
        answers = tally.answer_seqs[r.session]
        expected |= {
            s for s, by in answers.items() if s > r.welcome_seq and (r.is_teacher or by == r.name)
        }
        lost += len(expected - seen)
        if r.is_teacher and seen:
            gaps += len(set(range(r.welcome_seq + 1, max(seen) + 1)) - seen)
        for key, n in r.signal_keys.items():
            signals_seen[key] += n
    signals_lost = sum(1 for key in tally.signals_acked if signals_seen[key] == 0)
    # Only ours: a real station (--media) may offer again under the same name.
    signals_dup = sum(signals_seen[key] - 1 for key in tally.signals_acked if signals_seen[key] > 1)
    return SeqCheck(count, lost, duplicates, out_of_order, gaps, signals_lost, signals_dup)


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
