"""The redis-server of a chaos run: one the tool may kill, start again on the same port, and
pause (SIGSTOP) and resume (SIGCONT) while the workers use it.

``persistence="aof"`` (the default) runs it with ``--appendonly yes --appendfsync always``:
every write is on disk before Redis answers it, so a ``kill -9`` and a restart lose nothing the
workers were told had been written. ``"none"`` keeps nothing across a restart (as the
benchmarks' own Redis and a cache-only Redis): the workers then find the history gone, re-seed
it in a new epoch and close their clients with 4009 (``history_reset``); the clients resume
into a snapshot. ``"last-second"`` keeps what an ``appendfsync everysec`` Redis keeps after a
machine crash: a restart brings back Redis as it was a second before the kill (an RDB
``SAVE``, then ``LOST_SECONDS``, then ``kill -9``). The log comes back in the same epoch but
short of what the workers applied; they restore it from their replicas in a new epoch, close
their clients with 4009, and no acked command may be answered with a seq the lost second used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis

from load_tests.redis_server import RedisInstance, _wait_ready, redis_executable
from load_tests.servers import Popen, free_port, start_process, stop_process

LOST_SECONDS = 1.0  # what ``appendfsync everysec`` loses on a crash: about a second (up to two)


class ChaosRedis:
    def __init__(self, persistence: str, workdir: Path) -> None:
        self.persistence = persistence
        self.port = free_port()
        self.workdir = workdir
        self.process: Popen | None = None
        self.version = "?"
        self.starts = 0

    def command(self) -> list[str]:
        command = [redis_executable(), "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--daemonize", "no", "--loglevel", "warning"]
        command += ["--dir", str(self.workdir)]
        if self.persistence == "aof":
            return [*command, "--appendonly", "yes", "--appendfsync", "always"]
        return [*command, "--appendonly", "no"]

    @property
    def instance(self) -> RedisInstance:
        assert self.process is not None
        return RedisInstance(self.port, self.process.pid, self.version)

    async def start(self) -> None:
        """Start (again) on the same port; returns once it answers PING (AOF loaded)."""
        self.starts += 1
        log_path = self.workdir / f"redis-{self.starts}.log"
        self.process = start_process(self.command(), dict(os.environ), str(self.workdir), log_path)
        self.version = await _wait_ready(self.process, self.port, log_path)

    async def before_kill(self) -> None:
        """With ``last-second`` persistence: save what a restart brings back, then let the
        lesson go on for ``LOST_SECONDS`` (the fault is the kill that follows, not this)."""
        if self.persistence != "last-second" or self.process is None:
            return
        client = Redis(port=self.port)
        try:
            await client.save()
        finally:
            await client.aclose()
        await asyncio.sleep(LOST_SECONDS)

    async def kill(self) -> None:
        """``kill -9``: no shutdown, no last save; reaped."""
        if self.process is not None:
            self.process.kill()
            await asyncio.to_thread(self.process.wait, 10)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)

    async def stop(self) -> None:
        if self.process is not None:
            self.resume()  # a stopped process would not act on SIGTERM
            await stop_process(self.process, signal.SIGTERM)


@contextlib.asynccontextmanager
async def chaos_redis(persistence: str) -> AsyncIterator[ChaosRedis]:
    with tempfile.TemporaryDirectory(prefix="classbridge-chaos-redis-") as workdir:
        redis = ChaosRedis(persistence, Path(workdir))
        try:
            await redis.start()
            yield redis
        finally:
            await redis.stop()
