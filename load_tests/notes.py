"""Warnings a reader of one rate's figures needs, in words: what saturated, what went wrong."""

from __future__ import annotations

from dataclasses import replace

from load_tests.stats import RateResult

GENERATOR_BUSY = 0.85  # share of one core above which the generator may be the bottleneck
SERVER_FULL = 0.95  # CPU share per server process at which the server itself is saturated
REDIS_FULL = 0.95  # redis-server runs commands on one thread
MACHINE_FULL = 0.9  # machine busy share (all cores) at which the box itself is saturated
GENERATOR_LATE_MS = 10.0  # send lag (p99) above which the offered load was not offered on time
OTHER_BUSY = 0.15  # of one core: more than loopback TCP in the kernel explains; other work ran


def with_notes(result: RateResult) -> RateResult:
    return replace(result, notes=notes_for(result))


def notes_for(result: RateResult) -> list[str]:
    notes = []
    if result.generator_busiest_share >= GENERATOR_BUSY:
        what = "the generator" if result.generator_processes == 1 else "a generator process"
        notes.append(f"{what} used nearly a full core: figures may be generator-bound")
    if result.send_lag_p99_ms > GENERATOR_LATE_MS:
        notes.append(f"the generator sent late (p99 {result.send_lag_p99_ms:.1f} ms behind)")
    if result.lost or result.unacked:
        notes.append(f"{result.lost} deliveries lost, {result.unacked} sends never acked")
    cores = result.server_workers
    share = result.server_cpu_share
    if share is not None and share >= SERVER_FULL * cores:
        what = "its one core" if cores == 1 else f"{cores} cores ({cores} workers)"
        notes.append(f"the server used {share:.0%} of one core, out of {what}: saturated")
    if result.redis_cpu_share is not None and result.redis_cpu_share >= REDIS_FULL:
        notes.append(f"redis-server used {result.redis_cpu_share:.0%} of one core: saturated")
    if result.machine_busy_share is not None and result.machine_busy_share >= MACHINE_FULL:
        notes.append(f"the machine was {result.machine_busy_share:.0%} busy (all cores)")
    if result.other_cpu_share is not None and result.other_cpu_share >= OTHER_BUSY:
        notes.append(
            f"{result.other_cpu_share:.0%} of a core went to neither the server, Redis nor the "
            "generator (kernel TCP work, or other processes: then the figures are skewed)"
        )
    if result.delivered_per_s < 0.95 * result.ideal_delivered_per_s:
        notes.append("delivered < 95 % of sent x clients: saturated")
    if cores > 1 and result.workers_serving < cores:
        notes.append(f"clients reached {result.workers_serving} of {cores} workers")
    return notes
