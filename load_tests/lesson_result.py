"""The figures of one simulated lesson on one system, from its tally and process samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from load_tests.lesson_media import MediaFigures
from load_tests.lesson_resume import Outage
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
    closes: int  # connections the server closed or lost (an error, but in a chaos run)
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
    reconnects: Reconnects | None = None
    close_codes: dict[str, int] = field(default_factory=dict)  # "code reason" -> count
    interrupted: dict[str, int] = field(default_factory=dict)  # in flight at a lost connection
    chaos: Any = None  # chaos_report.ChaosFigures in a chaos run

    @property
    def ok(self) -> bool:
        s = self.seq
        back = self.reconnects is None or not self.reconnects.not_back
        if not back or s.lost or s.duplicates or s.out_of_order or self.unanswered:
            return False
        if s.never_delivered or s.misplaced:  # acked, yet not brought, or acked as another
            return False
        if self.chaos is not None:  # refusals and signals around a fault are its effects
            return True
        return not (s.signals_lost or s.signals_duplicated or self.errors)


@dataclass(frozen=True, slots=True)
class Reconnects:
    """Every lost connection and the client's way back (lesson_resume.py)."""

    lost: int  # connections lost (each one reconnect)
    clients: int  # clients that lost at least one
    back: int
    not_back: int  # still away at the end: every client must be back
    resumed_events: int  # welcomes with resume "events": exactly the missed events followed
    resumed_snapshot: int  # welcomes with resume "snapshot": the history was gone
    attempts: int
    back_ms: LatencySummary  # lost -> the welcome of the resumed connection
    by_code: dict[str, int]
    by_client: dict[str, dict[str, Any]]  # name -> reconnects, back_ms (each), snapshots


def reconnects(outages: list[Outage]) -> Reconnects:
    back = [o for o in outages if o.back_ns is not None]
    by_client: dict[str, dict[str, Any]] = {}
    by_code: dict[str, int] = {}
    for o in outages:
        entry = by_client.setdefault(o.client, {"reconnects": 0, "back_ms": [], "snapshots": 0})
        entry["reconnects"] += 1
        entry["back_ms"].append(None if o.back_s is None else round(o.back_s * 1000, 1))
        entry["snapshots"] += o.resumed == "snapshot"
        by_code[str(o.code)] = by_code.get(str(o.code), 0) + 1
    return Reconnects(
        lost=len(outages),
        clients=len(by_client),
        back=len(back),
        not_back=len(outages) - len(back),
        resumed_events=sum(o.resumed == "events" for o in back),
        resumed_snapshot=sum(o.resumed == "snapshot" for o in back),
        attempts=sum(o.attempts for o in outages),
        back_ms=summarize_latency([o.back_ns - o.lost_ns for o in back if o.back_ns]),
        by_code=dict(sorted(by_code.items())),
        by_client=dict(sorted(by_client.items())),
    )


def _share(before: float | None, after: float | None, seconds: float) -> float | None:
    if before is None or after is None or seconds <= 0:
        return None
    return round((after - before) / seconds, 3)


def _server_cpu(samples: Samples, seconds: float) -> float | None:
    """Summed over the processes alive at both edges of the window: a worker killed or
    started during it (a chaos run) would make the sums of the two edges incomparable."""
    if not samples.cpu_per_process or seconds <= 0:
        return None
    return round(sum(samples.cpu_per_process.values()) / seconds, 3)


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
    redis_b = samples.redis_before
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
        server_cpu_share=_server_cpu(samples, window),
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
        reconnects=reconnects(tally.outages),
        close_codes=dict(tally.close_codes),
        interrupted=dict(tally.interrupted),
    )
