"""The chat fan-out benchmark: N sessions x M clients, some posting chat at fixed offered rates.

For each system (Classbridge, then the ceiling baseline, never both at once) it starts the
server, joins every client over a short ramp, then for each rate: warm-up, a measured window,
and a drain that waits (bounded) for late deliveries before checking loss and duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator

from load_tests.client import BenchClient
from load_tests.config import FanoutConfig
from load_tests.procstat import (
    MachineSample,
    ProcessSample,
    busy_share,
    own_cpu_seconds,
    sample_machine,
    sample_process,
)
from load_tests.progress import Progress
from load_tests.provision import provision
from load_tests.schedule import interleave, offer_load
from load_tests.servers import Target, spawn_ceiling, spawn_classbridge
from load_tests.stats import RateResult, Samples, rate_result
from load_tests.tally import PhaseTally, Window, check_deliveries
from load_tests.wire import Codec

JOIN_TIMEOUT = 15.0
START_DELAY_NS = 50_000_000  # between setting a rate up and its first send
DRAIN_POLL = 0.02
SETTLE = 0.1  # after the drain: time for a late duplicate to show up before the check

Clients = list[list[BenchClient]]  # per session, per client


async def run_benchmark(
    config: FanoutConfig, progress: Progress | None = None
) -> dict[str, list[RateResult]]:
    """Results per system name, per rate. Bounded by ``config.time_budget()``."""
    progress = progress or Progress(enabled=config.progress)
    results: dict[str, list[RateResult]] = {}
    async with asyncio.timeout(config.time_budget()):
        async with _classbridge(config) as target:
            results[target.name] = await run_system(target, config, progress)
        if config.ceiling:
            async with spawn_ceiling() as target:
                results[target.name] = await run_system(target, config, progress)
    return results


async def machine_busy(seconds: float = 1.0) -> float | None:
    """How busy the machine is before we start: other work there skews every figure."""
    before = sample_machine()
    await asyncio.sleep(seconds)
    return busy_share(before, sample_machine())


@contextlib.asynccontextmanager
async def _classbridge(config: FanoutConfig) -> AsyncIterator[Target]:
    if config.url is None:
        async with spawn_classbridge(config) as target:
            yield target
        return
    base_url = config.url.rstrip("/").replace("ws://", "http://", 1).removesuffix("/ws")
    yield Target("classbridge", base_url, config.server_pid, config.api_key)


async def run_system(target: Target, config: FanoutConfig, progress: Progress) -> list[RateResult]:
    progress.note(f"{target.name}: {config.sessions} sessions x {config.clients} clients joining")
    tokens = await provision(target, config.sessions, config.clients)
    tallies: list[PhaseTally] = []
    codec = Codec(config.wire_format)
    clients = [
        [BenchClient(s, codec, tallies, config.pad) for _ in range(config.clients)]
        for s in range(config.sessions)
    ]
    try:
        await join_all(target.ws_url, clients, tokens, config.ramp)
        return [
            await run_rate(target, clients, tallies, index, config, progress)
            for index in range(len(config.rates))
        ]
    finally:
        await asyncio.gather(*(c.close() for row in clients for c in row))


async def join_all(url: str, clients: Clients, tokens: list[list[str]], ramp: float) -> None:
    flat = [(c, tokens[s][i]) for s, row in enumerate(clients) for i, c in enumerate(row)]
    step = ramp / len(flat)

    async def join(position: int, client: BenchClient, token: str) -> None:
        await asyncio.sleep(position * step)
        await client.join(url, token, JOIN_TIMEOUT)

    async with asyncio.TaskGroup() as group:  # one failed join cancels the others
        for position, (client, token) in enumerate(flat):
            group.create_task(join(position, client, token))


async def run_rate(
    target: Target,
    clients: Clients,
    tallies: list[PhaseTally],
    index: int,
    config: FanoutConfig,
    progress: Progress,
) -> RateResult:
    start = time.monotonic_ns() + START_DELAY_NS
    measure_from = start + int(config.warmup * 1e9)
    window = Window(measure_from, measure_from + int(config.duration * 1e9))
    tally = PhaseTally(index, config.rates[index], config.sessions, window)
    tallies.append(tally)
    senders = interleave([row[: config.senders] for row in clients])
    rng = random.Random(config.seed * 1009 + index)  # the same arrivals for every system
    span = config.warmup + config.duration
    load = asyncio.create_task(offer_load(tally, senders, start, span, config.arrival, rng))
    try:
        async with progress.watching(target.name, tally, len(config.rates)):
            samples = await _measure(target.pid, window)
            await load
            drain_s = await drain(tally, config.clients, config.drain_timeout)
            await asyncio.sleep(SETTLE)
    finally:
        load.cancel()
    received = [[c.received.pop(index, set()) for c in row] for row in clients]
    check = check_deliveries(tally, received)
    result = rate_result(tally, check, samples, config.clients, drain_s)
    tally.release()
    return result


async def _measure(pid: int | None, window: Window) -> Samples:
    await _sleep_until(window.start_ns)
    server_before, cpu_before, machine_before = _samples(pid)
    await _sleep_until(window.end_ns)
    server_after, cpu_after, machine_after = _samples(pid)
    generator_cpu = cpu_after - cpu_before
    return Samples(server_before, server_after, generator_cpu, machine_before, machine_after)


def _samples(pid: int | None) -> tuple[ProcessSample | None, float, MachineSample | None]:
    return sample_process(pid), own_cpu_seconds(), sample_machine()


async def _sleep_until(t_ns: int) -> None:
    delay = t_ns - time.monotonic_ns()
    if delay > 0:
        await asyncio.sleep(delay / 1e9)


async def drain(tally: PhaseTally, clients_per_session: int, timeout: float) -> float:
    """Wait until every ack is in and every acked message reached every client (bounded)."""
    started = time.monotonic()
    for _ in range(int(timeout / DRAIN_POLL) + 1):
        done = tally.unique_deliveries >= tally.expected_deliveries(clients_per_session)
        if tally.pending_acks <= 0 and done:
            break
        await asyncio.sleep(DRAIN_POLL)
    return time.monotonic() - started
