"""Chaos under load: a simulated lesson on Redis workers while faults hit the system at set
times, loopback only, every fault bounded.

- ``kill-worker``: ``kill -9`` of the worker process that holds the most client connections.
  Its clients see their connection drop (1006), reconnect and resume; the kernel hands the new
  connections to the workers still listening on the shared socket, and uvicorn's supervisor
  starts a new worker in place of the dead one.
- ``restart-redis``: ``kill -9`` of the redis-server and a new one on the same port at once.
  With persistence (``aof``: appendfsync always) nothing acked is lost; without (``none``) the
  workers find the history gone, re-seed it in a new epoch and close their clients with 4009;
  with ``last-second`` Redis comes back as it was a second before the kill (chaos_redis.py).
- ``pause-redis``: SIGSTOP to the redis-server, SIGCONT ``pause_seconds`` later (default 3 s).

The faults are spread evenly over the lesson: with k faults in d seconds, fault i (from 1) is
injected at i * d / (k + 1). The lesson, its clients (who reconnect and resume, see
lesson_resume.py) and its seq check are the ``lesson`` scenario's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from load_tests.chaos_redis import ChaosRedis, chaos_redis
from load_tests.chaos_report import ChaosFigures, Fault, fault_figures
from load_tests.lesson_client import LessonClient
from load_tests.lesson_config import LessonConfig
from load_tests.lesson_result import LessonResult
from load_tests.lesson_run import run_system
from load_tests.lesson_stats import LessonTally
from load_tests.measure import sleep_until
from load_tests.procstat import descendants
from load_tests.progress import Progress
from load_tests.servers import Target, spawn_classbridge
from load_tests.spread import connections_per_process
from load_tests.tally import Window

WORKER_MARK = b"spawn_main"  # multiprocessing's spawned children: uvicorn's workers


class Chaos:
    """The faults of one run (lesson_run.Disruption)."""

    def __init__(self, config: LessonConfig, target: Target, redis: ChaosRedis) -> None:
        self.config, self.target, self.redis = config, target, redis
        self.faults: list[Fault] = []
        self.progress = Progress(enabled=config.progress)

    def prepare(self, tally: LessonTally) -> None:
        tally.closes_expected = True
        tally.watch = self

    def delivered(self, now: int, sent_ns: int) -> None:
        """A logged event sent at ``sent_ns`` arrived: the first sent after a fault shows
        that events flow again."""
        for fault in reversed(self.faults):
            if sent_ns >= fault.at_ns:
                if fault.first_fresh_ns is None:
                    fault.first_fresh_ns = now
                return

    async def run(self, window: Window) -> None:
        start_ns = window.start_ns
        for offset, name in zip(schedule(self.config), self.config.chaos, strict=True):
            await sleep_until(start_ns + int(offset * 1e9))
            if name == "restart-redis":
                await self.redis.before_kill()
            fault = Fault(name, time.monotonic_ns())
            self.faults.append(fault)
            fault.detail = await self._inject(name)
            fault.done_ns = time.monotonic_ns()
            self.progress.note(f"chaos: {name} at {offset:.1f} s: {fault.detail}")

    async def _inject(self, name: str) -> str:
        if name == "kill-worker":
            return kill_busiest_worker(self.target)
        if name == "restart-redis":
            await self.redis.kill()
            await self.redis.start()
            return f"redis-server killed (-9) and started again ({self.redis.persistence})"
        self.redis.pause()
        await asyncio.sleep(self.config.pause_seconds)
        self.redis.resume()
        return f"redis-server stopped (SIGSTOP) for {self.config.pause_seconds:g} s"

    def figures(self, tally: LessonTally, clients: Sequence[LessonClient]) -> ChaosFigures:
        faults = fault_figures(self.faults, tally.outages, tally.ticks, tally.start_ns)
        return ChaosFigures(self.redis.persistence, faults)


def schedule(config: LessonConfig) -> list[float]:
    """Seconds into the lesson at which each fault is injected: evenly spread."""
    count = len(config.chaos)
    return [config.duration * (i + 1) / (count + 1) for i in range(count)]


def worker_pids(parent: int) -> list[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    found = []
    for pid in descendants(parent)[1:]:
        with contextlib.suppress(OSError):
            if WORKER_MARK in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def kill_busiest_worker(target: Target) -> str:
    assert target.pid is not None
    workers = worker_pids(target.pid)
    if not workers:
        return "no worker process found: nothing killed"
    held = connections_per_process(workers, target.port)
    victim = max(workers, key=lambda pid: held.get(pid, 0))
    with contextlib.suppress(ProcessLookupError):
        os.kill(victim, signal.SIGKILL)
    return f"worker {victim} killed (-9), it held {held.get(victim, 0)} connections"


async def run_chaos_lesson(config: LessonConfig, progress: Progress) -> LessonResult:
    """The lesson on ``config.redis_workers`` workers over a Redis that the faults hit."""
    limits, budget = config.server_limits(), config.time_budget()
    # Exit order: the workers stop before their Redis does.
    async with (
        asyncio.timeout(budget),
        chaos_redis(config.redis_persistence) as redis,
        spawn_classbridge(config, redis.instance, limits) as target,
    ):
        return await run_system(target, config, progress, Chaos(config, target, redis))
