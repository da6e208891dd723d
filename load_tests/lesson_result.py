"""The figures of one simulated lesson on one system, from its tally and process samples."""

from __future__ import annotations

from dataclasses import dataclass, field

from load_tests.lesson_media import MediaFigures
from load_tests.lesson_stats import (
    LessonTally,
    SecondPoint,
    SeqCheck,
    latency_by_kind,
    series,
)
from load_tests.stats import MB, LatencySummary, Samples, summarize_latency


@dataclass(frozen=True, slots=True)
class LessonResult:
    system: str
    broker: str | None
    workers: int
    clients: int  # simulated participants (the real stations of --media apart)
    window_s: float  # the lesson's activity; the drain follows
    latency: dict[str, LatencySummary]  # by event type: end to end, from the sender's send
    ack_rtt: dict[str, LatencySummary]  # by command: send -> its ack
    deliveries: dict[str, int]  # by event type, the whole run (joins and drain included)
    delivered_per_s: dict[str, float]  # by event type, inside the window
    delivered_total_per_s: float
    sent: dict[str, int]  # by command
    acked: dict[str, int]
    unanswered: int  # commands with neither an ack nor an error after the drain
    join: LatencySummary  # connect -> welcome (or -> lobby: the server's answer to the join)
    lobby_wait: LatencySummary  # lobby -> welcome: waiting for the teacher's admission
    seq: SeqCheck
    errors: dict[str, int]  # by code
    errors_by_command: dict[str, int]
    closes: int  # connections the server closed; nothing reconnects, so each is a failure
    server_cpu_share: float | None  # of one core, over the window (all server processes)
    server_peak_rss_mb: float | None
    server_processes: int | None
    redis_cpu_share: float | None
    redis_peak_rss_mb: float | None
    generator_cpu_share: float
    machine_busy_share: float | None
    drain_s: float
    actions: int  # scheduled actions the profile carried out
    series: list[SecondPoint] = field(default_factory=list)
    media: MediaFigures | None = None

    @property
    def ok(self) -> bool:
        s = self.seq
        failures = (s.lost, s.duplicates, s.out_of_order, s.signals_lost, s.signals_duplicated)
        return not any(failures) and not self.errors and not self.unanswered


def _share(before: float | None, after: float | None, seconds: float) -> float | None:
    if before is None or after is None or seconds <= 0:
        return None
    return round((after - before) / seconds, 3)


def _busy(samples: Samples) -> float | None:
    before, after = samples.machine_before, samples.machine_after
    if before is None or after is None or after.total_seconds <= before.total_seconds:
        return None
    busy = after.busy_seconds - before.busy_seconds
    return round(busy / (after.total_seconds - before.total_seconds), 3)


def lesson_result(
    names: tuple[str, str | None, int, int],
    tally: LessonTally,
    seq: SeqCheck,
    samples: Samples,
    drain_s: float,
    actions: int,
    media: MediaFigures | None,
) -> LessonResult:
    """``names``: the system's name, its broker, its workers, the clients simulated."""
    window = (tally.end_ns - tally.start_ns) / 1e9
    server_a, redis_a = samples.server_after, samples.redis_after
    server_b, redis_b = samples.server_before, samples.redis_before
    per_s = {kind: round(n / window, 1) for kind, n in sorted(tally.window_deliveries.items())}
    return LessonResult(
        *names,
        window_s=round(window, 3),
        latency=latency_by_kind(tally.latencies),
        ack_rtt=latency_by_kind(tally.ack_rtt),
        deliveries=dict(sorted(tally.deliveries.items())),
        delivered_per_s=per_s,
        delivered_total_per_s=round(sum(tally.window_deliveries.values()) / window, 1),
        sent=dict(sorted(tally.sent.items())),
        acked=dict(sorted(tally.acked.items())),
        unanswered=max(0, tally.pending),
        join=summarize_latency(tally.joins_ns),
        lobby_wait=summarize_latency(tally.lobby_waits_ns),
        seq=seq,
        errors=dict(tally.errors),
        errors_by_command=dict(tally.errors_by_command),
        closes=tally.closes,
        server_cpu_share=_share(
            server_b.cpu_seconds if server_b else None,
            server_a.cpu_seconds if server_a else None,
            window,
        ),
        server_peak_rss_mb=round(server_a.peak_rss_bytes / MB, 1) if server_a else None,
        server_processes=server_a.processes if server_a else None,
        redis_cpu_share=_share(
            redis_b.cpu_seconds if redis_b else None,
            redis_a.cpu_seconds if redis_a else None,
            window,
        ),
        redis_peak_rss_mb=round(redis_a.peak_rss_bytes / MB, 1) if redis_a else None,
        generator_cpu_share=round(samples.generator_cpu_s / window, 3),
        machine_busy_share=_busy(samples),
        drain_s=round(drain_s, 3),
        actions=actions,
        series=series(tally),
        media=media,
    )
