"""What is sampled at the two edges of a measured window: the server's processes (each, and
summed), redis-server, the generator itself and the whole machine; and, at the end, which
process holds which client connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from load_tests.procstat import (
    ProcessSample,
    descendants,
    own_cpu_seconds,
    sample_machine,
    sample_process,
    summed,
)
from load_tests.servers import Target
from load_tests.spread import connections_per_process
from load_tests.stats import Samples
from load_tests.tally import Window


async def measure(target: Target, window: Window, generator_pids: Sequence[int] = ()) -> Samples:
    """``generator_pids``: the generator processes besides this one, whose CPU is the
    generator's too (this process coordinates them)."""
    # The process list is read before the window opens: scanning /proc is not free.
    pids = descendants(target.pid) if target.pid is not None else []
    redis_pid = target.redis.pid if target.redis is not None else None
    await sleep_until(window.start_ns)
    server_before = {pid: sample_process(pid) for pid in pids}
    redis_before = sample_process(redis_pid)
    generators_before = {pid: sample_process(pid) for pid in generator_pids}
    cpu_before, machine_before = own_cpu_seconds(), sample_machine()
    await sleep_until(window.end_ns)
    server_after = {pid: sample_process(pid) for pid in pids}
    redis_after = sample_process(redis_pid)
    generators_after = {pid: sample_process(pid) for pid in generator_pids}
    cpu_after, machine_after = own_cpu_seconds(), sample_machine()
    generator_cpu = _cpu_per_process(generators_before, generators_after)
    # Per process, to show a worker that is busier than the others (an uneven spread).
    per_process = _cpu_per_process(server_before, server_after)
    return Samples(
        summed(server_before.values()),
        summed(server_after.values()),
        cpu_after - cpu_before + sum(generator_cpu.values()),
        machine_before,
        machine_after,
        redis_before,
        redis_after,
        connections_per_process(pids, target.port),
        per_process,
        generator_cpu,
    )


def _cpu_per_process(
    before: Mapping[int, ProcessSample | None], after: Mapping[int, ProcessSample | None]
) -> dict[int, float]:
    """CPU-seconds per process between the two samples, of those read both times."""
    return {
        pid: sample.cpu_seconds - earlier.cpu_seconds
        for pid, sample in after.items()
        if sample is not None and (earlier := before.get(pid)) is not None
    }


async def sleep_until(t_ns: int) -> None:
    delay = t_ns - time.monotonic_ns()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)
