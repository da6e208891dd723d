"""Figures of one offered rate on one system, from its tally and process samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from load_tests.procstat import MachineSample, ProcessSample, busy_share
from load_tests.redis_stats import RedisCommands
from load_tests.tally import DeliveryCheck, PhaseTally

MB = 1024 * 1024


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

    server_before: ProcessSample | None  # the server process and its children, summed
    server_after: ProcessSample | None
    generator_cpu_s: float
    machine_before: MachineSample | None = None
    machine_after: MachineSample | None = None
    redis_before: ProcessSample | None = None  # redis-server, for the redis system
    redis_after: ProcessSample | None = None
    connections: dict[int, int] = field(default_factory=dict)  # pid -> clients, at the end
    cpu_per_process: dict[int, float] = field(default_factory=dict)  # pid -> CPU-s in window
    # pid -> CPU-s in the window of each generator process, when this process coordinates
    # several (their sum is in generator_cpu_s, with this process's own); empty: one process
    generator_cpu_per_process: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SystemFacts:
    """What is known of a system apart from its rates: how many workers, who answered."""

    workers: int = 1  # worker processes asked for
    healthz: dict[str, int] = field(default_factory=dict)  # worker id -> /healthz probes
    broker: str | None = None  # "memory://", "redis://..."; None: not known (ceiling, --url)


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
    server_cpu_s: float | None  # summed over the server process and its children (workers)
    server_cpu_share: float | None  # of one core, over the window (> 100 % with workers)
    delivered_per_server_cpu_s: float | None
    server_rss_mb: float | None  # summed over the processes, at the end of the window
    server_peak_rss_mb: float | None  # each process's own peak, summed
    server_processes: int | None  # how many processes the server figures sum
    server_workers: int  # worker processes asked for
    broker: str | None  # what the server runs on, when the benchmark started it
    connections_per_process: dict[str, int]  # pid -> client connections it held, window end
    workers_serving: int  # processes that held at least one client connection
    cpu_per_process: dict[str, float]  # pid -> its share of one core over the window
    healthz_workers: dict[str, int]  # worker id -> fresh /healthz probes it answered
    redis_cpu_s: float | None  # redis-server, over the window (the redis system only)
    redis_cpu_share: float | None
    redis_rss_mb: float | None
    redis_peak_rss_mb: float | None
    delivered_per_cpu_s: float | None  # per CPU-second of the server and Redis together
    redis_commands: RedisCommands | None  # per appended chat event, over the whole step
    generator_cpu_share: float  # summed over the generator's processes (> 100 % with several)
    generator_processes: int  # processes that generated the load (1: the tool's own)
    generator_busiest_share: float  # the busiest generator process's share of one core
    machine_busy_share: float | None  # of all cores: server + generator + kernel + anything else
    # Of one core: the machine's busy time minus the server's, Redis's and the generator's, i.e.
    # the kernel's softirq work for loopback TCP plus any other process (other work skews).
    other_cpu_share: float | None
    send_lag_p99_ms: float
    send_lag_max_ms: float
    drain_s: float
    notes: list[str] = field(default_factory=list)


def rate_result(
    tally: PhaseTally,
    check: DeliveryCheck,
    samples: Samples,
    clients: int,
    drain_s: float,
    facts: SystemFacts | None = None,
    redis_commands: RedisCommands | None = None,
) -> RateResult:
    facts = facts or SystemFacts()
    window = tally.window.seconds
    after, redis_after = samples.server_after, samples.redis_after
    cpu = _cpu(samples.server_before, after)
    redis_cpu = _cpu(samples.redis_before, redis_after)
    total_cpu = None if cpu is None else cpu + (redis_cpu or 0.0)
    lags = sorted(tally.lag_ns) or [0]
    return RateResult(
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
        server_cpu_s=_round(cpu),
        server_cpu_share=None if cpu is None else round(cpu / window, 3),
        delivered_per_server_cpu_s=round(tally.window_deliveries / cpu, 1) if cpu else None,
        server_rss_mb=round(after.rss_bytes / MB, 1) if after else None,
        server_peak_rss_mb=round(after.peak_rss_bytes / MB, 1) if after else None,
        server_processes=after.processes if after else None,
        server_workers=facts.workers,
        broker=facts.broker,
        connections_per_process={str(pid): n for pid, n in sorted(samples.connections.items())},
        workers_serving=sum(1 for n in samples.connections.values() if n > 0),
        cpu_per_process={
            str(pid): round(cpu_s / window, 3) for pid, cpu_s in samples.cpu_per_process.items()
        },
        healthz_workers=dict(facts.healthz),
        redis_cpu_s=_round(redis_cpu),
        redis_cpu_share=None if redis_cpu is None else round(redis_cpu / window, 3),
        redis_rss_mb=round(redis_after.rss_bytes / MB, 1) if redis_after else None,
        redis_peak_rss_mb=round(redis_after.peak_rss_bytes / MB, 1) if redis_after else None,
        delivered_per_cpu_s=round(tally.window_deliveries / total_cpu, 1) if total_cpu else None,
        redis_commands=redis_commands,
        generator_cpu_share=round(samples.generator_cpu_s / window, 3),
        generator_processes=len(samples.generator_cpu_per_process) or 1,
        generator_busiest_share=round(_busiest_generator(samples) / window, 3),
        machine_busy_share=_round(busy_share(samples.machine_before, samples.machine_after)),
        other_cpu_share=_other(samples, total_cpu, window),
        send_lag_p99_ms=round(percentile(lags, 0.99) / 1e6, 3),
        send_lag_max_ms=round(lags[-1] / 1e6, 3),
        drain_s=round(drain_s, 3),
    )


def _busiest_generator(samples: Samples) -> float:
    """CPU-seconds of the generator process that worked hardest (the only one, with one)."""
    return max(samples.generator_cpu_per_process.values(), default=samples.generator_cpu_s)


def _cpu(before: ProcessSample | None, after: ProcessSample | None) -> float | None:
    return after.cpu_seconds - before.cpu_seconds if before and after else None


def _other(samples: Samples, measured_cpu: float | None, window: float) -> float | None:
    before, after = samples.machine_before, samples.machine_after
    if before is None or after is None or measured_cpu is None:
        return None
    busy = after.busy_seconds - before.busy_seconds
    return round(max(0.0, busy - measured_cpu - samples.generator_cpu_s) / window, 3)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
