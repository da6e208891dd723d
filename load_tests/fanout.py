"""The chat fan-out benchmark: N sessions x M clients, some posting chat at fixed offered rates.

For each system in turn (Classbridge on memory://, Classbridge on N workers over a Redis it
starts, the baselines; never two at once) it starts the server, joins every client over
a short ramp, then for each rate: warm-up, a measured window, and a drain that waits (bounded)
for late deliveries before checking loss and duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from load_tests.client import BenchClient
from load_tests.config import FanoutConfig
from load_tests.fanout_processes import joined_in_processes, run_rate_in_processes
from load_tests.generator_plan import rate_seed
from load_tests.measure import measure
from load_tests.notes import with_notes
from load_tests.progress import Progress
from load_tests.provision import provision
from load_tests.rate_step import SETTLE, START_DELAY_NS, drain, monitor_sample, step_timing
from load_tests.redis_server import spawn_redis
from load_tests.redis_stats import RedisProbe, step_figures
from load_tests.rounds import run_rounds
from load_tests.scenario import run_systems
from load_tests.schedule import interleave, offer_load
from load_tests.servers import (
    WORKERS_TIMEOUT,
    Target,
    spawn_ceiling,
    spawn_ceiling_redis,
    spawn_classbridge,
    spawn_socketio,
)
from load_tests.sio_client import SocketIOClient
from load_tests.spread import wait_for_workers
from load_tests.stats import RateResult, SystemFacts, rate_result
from load_tests.tally import PhaseTally, check_deliveries
from load_tests.wire import Codec

JOIN_TIMEOUT = 15.0

Clients = list[list[BenchClient]]  # per session, per client


async def run_benchmark(
    config: FanoutConfig,
    progress: Progress | None = None,
    systems: tuple[str, ...] | None = None,
) -> dict[str, list[RateResult]]:
    """Results per system name, per rate, of one round: ``systems`` (by default the config's)
    in that order. Bounded by ``config.round_budget()``."""
    progress = progress or Progress(enabled=config.progress)
    return await run_systems(
        config.systems if systems is None else systems,
        config.round_budget(),
        lambda system: system_under_test(system, config),
        lambda target: run_system(target, config, progress),
    )


async def run_benchmark_rounds(config: FanoutConfig) -> list[dict[str, list[RateResult]]]:
    """``config.rounds`` rounds of ``run_benchmark`` (load_tests/rounds.py)."""
    progress = Progress(enabled=config.progress)
    return await run_rounds(
        config.systems,
        config.rounds,
        lambda systems: run_benchmark(config, progress, systems),
    )


@contextlib.asynccontextmanager
async def system_under_test(system: str, config: FanoutConfig) -> AsyncIterator[Target]:
    if system == "ceiling":
        async with spawn_ceiling() as target:
            yield target
    elif system == "ceiling-raw":
        async with spawn_ceiling(raw=True) as target:
            yield target
    elif system == "ceiling-redis":
        workers = config.redis_workers
        async with spawn_redis() as redis, spawn_ceiling_redis(workers, redis) as target:
            yield target
    elif system == "socketio":
        async with spawn_socketio() as target:
            yield target
    elif system == "socketio-redis":
        async with spawn_redis() as redis, spawn_socketio(config.redis_workers, redis) as target:
            yield target
    elif system in ("redis", "redis-base"):
        # "-base": the server of another checkout. Exit order: the workers stop before their
        # Redis does.
        root = config.base_root if system == "redis-base" else None
        async with (
            spawn_redis() as redis,
            spawn_classbridge(config, redis, base_root=root) as target,
        ):
            yield target
    elif system == "memory-base":
        async with spawn_classbridge(config, base_root=config.base_root) as target:
            yield target
    else:
        async with _classbridge(config) as target:
            yield target


@contextlib.asynccontextmanager
async def _classbridge(config: FanoutConfig) -> AsyncIterator[Target]:
    if config.url is None:
        async with spawn_classbridge(config) as target:
            yield target
        return
    base_url = config.url.rstrip("/").replace("ws://", "http://", 1).removesuffix("/ws")
    seen = await wait_for_workers(base_url, 1, WORKERS_TIMEOUT)  # which workers answer there
    yield Target("classbridge", base_url, config.server_pid, config.api_key, healthz=dict(seen))


async def run_system(target: Target, config: FanoutConfig, progress: Progress) -> list[RateResult]:
    async with generating(target, config, progress) as run_step:
        return [await run_step(index, config) for index in range(len(config.rates))]


# Runs rate ``index`` of the config it is given (a capacity search adds a rate per step).
RunStep = Callable[[int, FanoutConfig], Awaitable[RateResult]]


@contextlib.asynccontextmanager
async def generating(
    target: Target, config: FanoutConfig, progress: Progress
) -> AsyncIterator[RunStep]:
    """Every client joined, and what runs one rate step on them: in this process, or, with
    several ``generator_processes``, in that many (load_tests/fanout_processes.py)."""
    if config.generator_processes > 1:
        async with joined_in_processes(target, config, progress, JOIN_TIMEOUT) as (pool, probe):
            yield lambda index, step: run_rate_in_processes(
                target, pool, index, step, progress, probe
            )
        return
    async with joined(target, config, progress) as (clients, tallies, probe):
        yield lambda index, step: run_rate(target, clients, tallies, index, step, progress, probe)


@contextlib.asynccontextmanager
async def joined(
    target: Target, config: FanoutConfig, progress: Progress
) -> AsyncIterator[tuple[Clients, list[PhaseTally], RedisProbe | None]]:
    """Every client joined (over the ramp), their shared tallies and the Redis probe; closed
    on the way out."""
    progress.note(f"{target.name}: {config.sessions} sessions x {config.clients} clients joining")
    tokens = await provision(target, config.sessions, config.clients)
    tallies: list[PhaseTally] = []
    codec = Codec(config.wire_format)
    # The same tallies and stamps for every system; only the wire differs.
    kind = SocketIOClient if target.wire == "socketio" else BenchClient
    clients = [
        [kind(s, codec, tallies, config.pad) for _ in range(config.clients)]
        for s in range(config.sessions)
    ]
    probe = RedisProbe(target.redis) if target.redis is not None else None
    try:
        await join_all(target.ws_url, clients, tokens, config.ramp)
        yield clients, tallies, probe
    finally:
        await asyncio.gather(*(c.close() for row in clients for c in row))
        if probe is not None:
            await probe.close()


async def join_all(
    url: str, clients: Sequence[Sequence[BenchClient]], tokens: list[list[str]], ramp: float
) -> None:
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
    probe: RedisProbe | None = None,
) -> RateResult:
    calls_before = await probe.calls() if probe is not None else {}
    start, window = step_timing(START_DELAY_NS, config.warmup, config.duration)
    tally = PhaseTally(index, config.rates[index], config.sessions, window)
    tallies.append(tally)
    senders = interleave([row[: config.senders] for row in clients])
    rng = random.Random(rate_seed(config.seed, index))  # the same arrivals for every system
    span = config.warmup + config.duration
    load = asyncio.create_task(offer_load(tally, senders, start, span, config.arrival, rng))
    monitor = monitor_sample(target, start, config.warmup)
    try:
        async with progress.watching(target.name, tally, len(config.rates)):
            samples = await measure(target, window)
            await load
            drain_s = await drain(tally, config.clients, config.drain_timeout)
            await asyncio.sleep(SETTLE)
        redis = await step_figures(probe, calls_before, monitor, lambda: tally.acked_count)
    finally:
        load.cancel()
        if monitor is not None:
            monitor.cancel()
    received = [[c.received.pop(index, set()) for c in row] for row in clients]
    check = check_deliveries(tally, received)
    facts = SystemFacts(target.workers, target.healthz, target.broker)
    result = rate_result(tally, check, samples, config.clients, drain_s, facts, redis)
    tally.release()
    return with_notes(result)
