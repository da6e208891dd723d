"""``idle-connections`` and ``join-storm``: many students join one Classbridge worker.

The server (memory://, one process) is spawned with the per-address connection limits out of
the way (every simulated student comes from 127.0.0.1). Tokens are minted first, then the
server's RSS is read (``before``); several generator processes (load_tests/crowd_client.py)
open the connections on a schedule and join; once every join is answered and the connections
have been held ``hold`` seconds, the RSS is read again (``after``). The growth divided by the
connections held is what one idle joined connection costs the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe
from typing import Any

from load_tests.crowd_client import WorkerPlan, raise_fd_limit, worker_main
from load_tests.crowd_provision import mint_students
from load_tests.procstat import ProcessSample, own_cpu_seconds, sample_tree
from load_tests.servers import Target, spawn_classbridge

START_DELAY = 0.5  # seconds between handing out the plans and the first connection
SETTLE = 1.0  # seconds after minting before the "before" RSS: the API's garbage is collected


@dataclass(frozen=True, slots=True)
class CrowdConfig:
    benchmark: str  # "idle-connections" or "join-storm"
    clients: int
    seconds: float  # the joins are spread evenly over this many seconds
    session_size: int = 30
    generators: int = 4  # generator processes
    hold: float = 3.0  # seconds every connection is held before the "after" RSS
    timeout: float = 10.0  # per join, connect -> welcome
    wire_format: str = "msgpack"
    server_log_level: str = "warning"
    redis_workers: int = 1  # ServerOptions; the benchmark runs on memory:// only
    progress: bool = True


def validate(config: CrowdConfig) -> None:
    if config.clients < 1 or config.session_size < 1 or config.generators < 1:
        raise ValueError("clients, session size and generators must be at least 1")
    if config.seconds <= 0 or config.hold < 0 or config.timeout <= 0:
        raise ValueError("--seconds and --timeout must be positive, --hold not negative")
    if config.clients > 100_000:
        raise ValueError("at most 100000 connections")


@dataclass(slots=True)
class CrowdResult:
    attempted: int
    before: ProcessSample | None
    after: ProcessSample | None
    workers: list[dict[str, Any]]  # each generator's "done" report
    generator_parent_cpu: float
    storm_seconds: float  # from the first connect to the last answer

    @property
    def welcomed(self) -> int:
        return sum(w["welcomed"] for w in self.workers)

    @property
    def dropped(self) -> int:
        return sum(w["dropped"] for w in self.workers)

    @property
    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for worker in self.workers:
            total.update(worker["errors"])
        return total

    @property
    def latencies_ms(self) -> list[float]:
        return sorted(ms for w in self.workers for ms in w["latencies_ms"])


def _plans(config: CrowdConfig, target: Target, tokens: list[str]) -> list[WorkerPlan]:
    """Student k connects at k * seconds / clients; students go round-robin to the processes,
    so the students of a session join from all of them, as from different homes."""
    step = config.seconds / len(tokens)
    count = min(config.generators, len(tokens))
    start_at = time.monotonic() + START_DELAY
    return [
        WorkerPlan(
            target.ws_url,
            config.wire_format,
            tokens[g::count],
            [k * step for k in range(g, len(tokens), count)],
            start_at,
            config.timeout,
        )
        for g in range(count)
    ]


@contextlib.asynccontextmanager
async def _generators(count: int) -> AsyncIterator[list[Pipe]]:
    context = multiprocessing.get_context("spawn")  # nothing of this process's loop inherited
    pipes, processes = [], []
    for _ in range(count):
        ours, theirs = context.Pipe()
        process = context.Process(target=worker_main, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        pipes.append(ours)
        processes.append(process)
    try:
        yield pipes
    finally:
        for process in processes:
            await asyncio.to_thread(process.join, 10.0)
            if process.is_alive():
                process.kill()


async def _receive(pipe: Pipe, expected: str, timeout: float) -> dict[str, Any]:
    if not await asyncio.to_thread(pipe.poll, timeout):
        raise TimeoutError(f"a generator process sent no {expected!r} in {timeout:.0f} s")
    kind, body = pipe.recv()
    if kind != expected:
        raise RuntimeError(f"a generator process sent {kind!r}, not {expected!r}")
    result: dict[str, Any] = body
    return result


async def _drive(config: CrowdConfig, target: Target, tokens: list[str]) -> CrowdResult:
    plans_count = min(config.generators, len(tokens))
    async with _generators(plans_count) as pipes:
        for pipe in pipes:
            await _receive(pipe, "ready", 60.0)
        plans = _plans(config, target, tokens)
        before = sample_tree(target.pid)
        for pipe, plan in zip(pipes, plans, strict=True):
            pipe.send(plan)
        started = time.monotonic()
        answer_within = START_DELAY + config.seconds + config.timeout + 30.0
        for pipe in pipes:
            await _receive(pipe, "joined", answer_within)
        storm = time.monotonic() - started - START_DELAY
        _note(config, f"every join answered in {storm:.1f} s; holding {config.hold:.0f} s")
        await asyncio.sleep(config.hold)
        after = sample_tree(target.pid)
        for pipe in pipes:
            pipe.send("stop")
        done = [await _receive(pipe, "done", 30.0) for pipe in pipes]
    return CrowdResult(len(tokens), before, after, done, own_cpu_seconds(), storm)


async def run_crowd(config: CrowdConfig) -> CrowdResult:
    raise_fd_limit()  # the spawned server inherits it
    async with spawn_classbridge(config) as target:
        _note(config, f"minting {config.clients} student tokens")
        tokens = await asyncio.to_thread(mint_students, target, config.clients, config.session_size)
        await asyncio.sleep(SETTLE)
        _note(config, f"{config.clients} students join over {config.seconds:g} s")
        return await _drive(config, target, tokens)


def _note(config: CrowdConfig, text: str) -> None:
    if config.progress:
        print(text, flush=True, file=sys.stderr)
