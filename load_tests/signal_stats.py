"""What happened during one offered rate of ``signal-rtt``: round trips sent, answered, late
or lost, their times, and errors; then the figures of the rate with the process samples.

Signals carry no free field for a timestamp (only known fields are relayed), so every round
trip is booked under its ``pc`` (unique in the run) in one dict shared by the run's clients:
one process, one clock. The partner looks the request up there when it arrives (the one-way
time) and notes when it sent its reply; the sender, when the reply comes back (the round trip,
and the reply's one-way time).
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field

from load_tests.procstat import busy_share
from load_tests.redis_stats import RedisCommands
from load_tests.stats import LatencySummary, Samples, percentile, summarize_latency
from load_tests.tally import Window

KINDS = ("description", "candidate")


@dataclass(slots=True)
class RoundTrip:
    """One request and its reply, booked under its pc."""

    tally: SignalTally
    origin: object  # the client that sent the request (the reply comes back to it)
    kind: str  # "description" (offer -> answer) or "candidate" (candidate -> candidate)
    sent_ns: int
    due_ns: int
    measured: bool  # due inside the measured window
    reply_ns: int = 0  # when the partner sent its reply; 0 until then
    answered: bool = False


Book = dict[str, RoundTrip]  # pc -> its round trip, shared by every client of a run


@dataclass(slots=True)
class SignalTally:
    index: int
    rate: float
    window: Window
    timeout_ns: int  # a round trip answered later than this counts as lost
    sent: int = 0  # requests of this rate, warm-up included
    sent_measured: int = 0
    replies: int = 0
    acks: int = 0  # signals (requests and replies) the server acked: each one was published
    answered: int = 0  # round trips answered within the timeout
    late: int = 0  # answered, but after the timeout (counted as lost too)
    answered_in_window: int = 0  # answers that arrived inside the window, any rate's
    duplicates: int = 0
    strays: int = 0  # peer.signal with a pc nobody booked
    rtt_ns: array[int] = field(default_factory=lambda: array("q"))  # from the send
    due_rtt_ns: array[int] = field(default_factory=lambda: array("q"))  # from the schedule
    there_ns: array[int] = field(default_factory=lambda: array("q"))  # request, one way
    back_ns: array[int] = field(default_factory=lambda: array("q"))  # reply, one way
    rtt_by_kind: dict[str, array[int]] = field(
        default_factory=lambda: {kind: array("q") for kind in KINDS}
    )
    lag_ns: array[int] = field(default_factory=lambda: array("q"))
    errors: Counter[str] = field(default_factory=Counter)

    def on_request(self, trip: RoundTrip, now: int) -> None:
        if trip.measured:
            self.there_ns.append(now - trip.sent_ns)

    def on_answer(self, trip: RoundTrip, now: int) -> None:
        rtt = now - trip.sent_ns
        if now in self.window:
            self.answered_in_window += 1
        if rtt > self.timeout_ns:
            self.late += 1
            return
        self.answered += 1
        if trip.measured:
            self.rtt_ns.append(rtt)
            self.due_rtt_ns.append(now - trip.due_ns)
            self.back_ns.append(now - trip.reply_ns)
            self.rtt_by_kind[trip.kind].append(rtt)

    @property
    def lost(self) -> int:
        return self.sent - self.answered


@dataclass(frozen=True, slots=True)
class SignalRateResult:
    offered_rate: float  # round trips/s asked for, all pairs
    window_s: float
    sent: int  # requests due inside the window
    sent_per_s: float
    answered_per_s: float  # answers that arrived inside the window, per second
    rtt: LatencySummary  # request sent -> reply received, of requests due inside the window
    rtt_from_schedule: LatencySummary  # from when the request was due
    one_way: LatencySummary  # request sent -> the partner got it
    one_way_back: LatencySummary  # reply sent -> the sender got it
    rtt_by_kind: dict[str, LatencySummary]
    sent_total: int  # warm-up included
    replies_total: int
    answered_total: int  # within the timeout
    lost: int  # requests with no answer within the timeout (late ones included)
    late: int
    duplicates: int
    strays: int
    acks: int
    errors: dict[str, int]
    error_count: int
    server_cpu_share: float | None  # of one core, summed over the server's processes
    cpu_per_process: dict[str, float]
    redis_cpu_share: float | None
    server_peak_rss_mb: float | None
    redis_commands: RedisCommands | None  # per signal relayed (requests and replies acked)
    generator_cpu_share: float
    machine_busy_share: float | None
    # Of one core: the machine's busy time minus the server's, Redis's and the generator's:
    # loopback TCP in the kernel, or other processes (which skew the figures).
    other_cpu_share: float | None
    send_lag_p99_ms: float
    drain_s: float


def signal_rate_result(
    tally: SignalTally, samples: Samples, drain_s: float, redis: RedisCommands | None
) -> SignalRateResult:
    window = tally.window.seconds
    before, after = samples.server_before, samples.server_after
    cpu = after.cpu_seconds - before.cpu_seconds if before and after else None
    r_before, r_after = samples.redis_before, samples.redis_after
    redis_cpu = r_after.cpu_seconds - r_before.cpu_seconds if r_before and r_after else None
    lags = sorted(tally.lag_ns) or [0]
    busy = busy_share(samples.machine_before, samples.machine_after)
    m_before, m_after = samples.machine_before, samples.machine_after
    other = None
    if m_before is not None and m_after is not None and cpu is not None:
        rest = m_after.busy_seconds - m_before.busy_seconds - cpu - (redis_cpu or 0.0)
        other = round(max(0.0, rest - samples.generator_cpu_s) / window, 3)
    return SignalRateResult(
        offered_rate=tally.rate,
        window_s=round(window, 3),
        sent=tally.sent_measured,
        sent_per_s=round(tally.sent_measured / window, 1),
        answered_per_s=round(tally.answered_in_window / window, 1),
        rtt=summarize_latency(tally.rtt_ns),
        rtt_from_schedule=summarize_latency(tally.due_rtt_ns),
        one_way=summarize_latency(tally.there_ns),
        one_way_back=summarize_latency(tally.back_ns),
        rtt_by_kind={kind: summarize_latency(v) for kind, v in tally.rtt_by_kind.items()},
        sent_total=tally.sent,
        replies_total=tally.replies,
        answered_total=tally.answered,
        lost=tally.lost,
        late=tally.late,
        duplicates=tally.duplicates,
        strays=tally.strays,
        acks=tally.acks,
        errors=dict(tally.errors),
        error_count=sum(tally.errors.values()),
        server_cpu_share=None if cpu is None else round(cpu / window, 3),
        cpu_per_process={str(p): round(s / window, 3) for p, s in samples.cpu_per_process.items()},
        redis_cpu_share=None if redis_cpu is None else round(redis_cpu / window, 3),
        server_peak_rss_mb=round(after.peak_rss_bytes / 2**20, 1) if after else None,
        redis_commands=redis,
        generator_cpu_share=round(samples.generator_cpu_s / window, 3),
        machine_busy_share=None if busy is None else round(busy, 3),
        other_cpu_share=other,
        send_lag_p99_ms=round(percentile(lags, 0.99) / 1e6, 3),
        drain_s=round(drain_s, 3),
    )
