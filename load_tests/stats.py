"""Figures of one offered rate on one system, from its tally and process samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from load_tests.procstat import MachineSample, ProcessSample, busy_share
from load_tests.tally import DeliveryCheck, PhaseTally

MB = 1024 * 1024
GENERATOR_BUSY = 0.85  # share of one core above which the generator may be the bottleneck
SERVER_FULL = 0.95  # server CPU share of its one core at which the server itself is saturated
MACHINE_FULL = 0.9  # machine busy share (all cores) at which the box itself is saturated
GENERATOR_LATE_MS = 10.0  # send lag (p99) above which the offered load was not offered on time


def percentile(ordered: list[int], fraction: float) -> int:
    """Nearest-rank percentile of an ascending list (not empty)."""
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered) - 1e-9)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    min_ms: float | None
    mean_ms: float | None


def summarize_latency(samples_ns: Sequence[int]) -> LatencySummary:
    if not samples_ns:
        return LatencySummary(0, None, None, None, None, None, None)
    ordered = sorted(samples_ns)

    def ms(ns: float) -> float:
        return round(ns / 1e6, 3)

    return LatencySummary(
        count=len(ordered),
        p50_ms=ms(percentile(ordered, 0.50)),
        p95_ms=ms(percentile(ordered, 0.95)),
        p99_ms=ms(percentile(ordered, 0.99)),
        max_ms=ms(ordered[-1]),
        min_ms=ms(ordered[0]),
        mean_ms=ms(sum(ordered) / len(ordered)),
    )


@dataclass(frozen=True, slots=True)
class Samples:
    """Process figures at the start and the end of the measured window."""

    server_before: ProcessSample | None
    server_after: ProcessSample | None
    generator_cpu_s: float
    machine_before: MachineSample | None = None
    machine_after: MachineSample | None = None


@dataclass(frozen=True, slots=True)
class RateResult:
    offered_rate: float  # messages/s asked for, summed over sessions
    window_s: float
    sent: int  # sends scheduled inside the window
    sent_per_s: float
    delivered: int  # chat.posted received inside the window, summed over receivers
    delivered_per_s: float
    ideal_delivered_per_s: float  # sent/s x clients per session: full fan-out of what was sent
    latency: LatencySummary  # end to end from the send, of messages due inside the window
    latency_from_schedule: LatencySummary  # from when they were due: counts a late generator
    sent_total: int  # warm-up included
    acked_total: int
    deliveries_total: int  # unique chat.posted of this rate, counted after the drain
    expected_deliveries: int  # acked messages x clients in their session
    lost: int
    duplicates: int
    out_of_order: int
    unexpected: int
    unacked: int
    receivers_short: int
    errors: dict[str, int]
    error_count: int
    server_cpu_s: float | None
    server_cpu_share: float | None  # of one core, over the window
    delivered_per_server_cpu_s: float | None
    server_rss_mb: float | None
    server_peak_rss_mb: float | None
    generator_cpu_share: float
    machine_busy_share: float | None  # of all cores: server + generator + kernel + anything else
    send_lag_p99_ms: float
    send_lag_max_ms: float
    drain_s: float
    notes: list[str] = field(default_factory=list)


def rate_result(
    tally: PhaseTally, check: DeliveryCheck, samples: Samples, clients: int, drain_s: float
) -> RateResult:
    window = tally.window.seconds
    before, after = samples.server_before, samples.server_after
    cpu = after.cpu_seconds - before.cpu_seconds if before and after else None
    lags = sorted(tally.lag_ns) or [0]
    result = RateResult(
        offered_rate=tally.rate,
        window_s=round(window, 3),
        sent=tally.sent_measured,
        sent_per_s=round(tally.sent_measured / window, 1),
        delivered=tally.window_deliveries,
        delivered_per_s=round(tally.window_deliveries / window, 1),
        ideal_delivered_per_s=round(tally.sent_measured / window * clients, 1),
        latency=summarize_latency(tally.latencies_ns),
        latency_from_schedule=summarize_latency(tally.due_latencies_ns),
        sent_total=tally.sent,
        acked_total=tally.acked_count,
        deliveries_total=tally.unique_deliveries,
        expected_deliveries=tally.expected_deliveries(clients),
        lost=check.lost,
        duplicates=tally.duplicates,
        out_of_order=tally.out_of_order,
        unexpected=check.unexpected,
        unacked=max(0, tally.pending_acks),
        receivers_short=check.receivers_short,
        errors=dict(tally.errors),
        error_count=sum(tally.errors.values()),
        server_cpu_s=None if cpu is None else round(cpu, 3),
        server_cpu_share=None if cpu is None else round(cpu / window, 3),
        delivered_per_server_cpu_s=round(tally.window_deliveries / cpu, 1) if cpu else None,
        server_rss_mb=round(after.rss_bytes / MB, 1) if after else None,
        server_peak_rss_mb=round(after.peak_rss_bytes / MB, 1) if after else None,
        generator_cpu_share=round(samples.generator_cpu_s / window, 3),
        machine_busy_share=_round(busy_share(samples.machine_before, samples.machine_after)),
        send_lag_p99_ms=round(percentile(lags, 0.99) / 1e6, 3),
        send_lag_max_ms=round(lags[-1] / 1e6, 3),
        drain_s=round(drain_s, 3),
    )
    return replace(result, notes=notes_for(result))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def notes_for(result: RateResult) -> list[str]:
    """Warnings a reader of the figures needs, in words."""
    notes = []
    if result.generator_cpu_share >= GENERATOR_BUSY:
        notes.append("the generator used nearly a full core: figures may be generator-bound")
    if result.send_lag_p99_ms > GENERATOR_LATE_MS:
        notes.append(f"the generator sent late (p99 {result.send_lag_p99_ms:.1f} ms behind)")
    if result.lost or result.unacked:
        notes.append(f"{result.lost} deliveries lost, {result.unacked} sends never acked")
    if result.server_cpu_share is not None and result.server_cpu_share >= SERVER_FULL:
        notes.append(f"the server used {result.server_cpu_share:.0%} of its one core: saturated")
    if result.machine_busy_share is not None and result.machine_busy_share >= MACHINE_FULL:
        notes.append(f"the machine was {result.machine_busy_share:.0%} busy (all cores)")
    if result.delivered_per_s < 0.95 * result.ideal_delivered_per_s:
        notes.append("delivered < 95 % of sent x clients: saturated")
    return notes
