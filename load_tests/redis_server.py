"""A throwaway redis-server for the redis system: free loopback port, no persistence, stopped
at the end of the run. Never the machine's own Redis: the figures need a Redis that serves
only the benchmark, and its data is not worth keeping."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from load_tests.servers import free_port, log_tail, start_process, stop_process

START_TIMEOUT = 10.0
POLL = 0.05
MISSING = (
    "redis-server is not on PATH: runs over Redis need it (e.g. apt-get install redis-server); "
    "or run on memory:// only: leave the Redis systems out of --systems (lesson: --broker memory)"
)


@dataclass(frozen=True, slots=True)
class RedisInstance:
    port: int
    pid: int
    version: str

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def redis_executable() -> str:
    """The redis-server to start; RuntimeError with what to do when there is none."""
    path = shutil.which("redis-server")
    if path is None:
        raise RuntimeError(MISSING)
    return path


def client(port: int) -> aioredis.Redis:
    # Connect-time commands (HELLO, CLIENT SETINFO) run before the first INFO on a connection,
    # so the probe's long-lived connection adds nothing to a step's commandstats.
    return aioredis.Redis(
        host="127.0.0.1", port=port, socket_timeout=5.0, socket_connect_timeout=2.0
    )


@contextlib.asynccontextmanager
async def spawn_redis() -> AsyncIterator[RedisInstance]:
    executable, port = redis_executable(), free_port()
    # No RDB snapshots, no AOF: persistence would add disk work the servers do not ask for.
    command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
    with tempfile.TemporaryDirectory(prefix="classbridge-bench-redis-") as workdir:
        log_path = Path(workdir) / "redis.log"
        process = start_process(command, dict(os.environ), workdir, log_path)
        try:
            version = await _wait_ready(process, port, log_path)
            yield RedisInstance(port, process.pid, version)
        finally:
            # SIGTERM: redis-server exits at once (nothing to save)
            await stop_process(process, signal.SIGTERM)


async def _wait_ready(process: subprocess.Popen[bytes], port: int, log_path: Path) -> str:
    """Bounded: PING until it answers; then the server's version, for the report."""
    connection = client(port)
    try:
        for _ in range(int(START_TIMEOUT / POLL)):
            if process.poll() is not None:
                break
            with contextlib.suppress(OSError, aioredis.ConnectionError, aioredis.TimeoutError):
                if await connection.ping():
                    info = await connection.info("server")
                    return str(info.get("redis_version", "?"))
            await asyncio.sleep(POLL)
    finally:
        await connection.aclose()
    exit_code = process.poll()
    raise RuntimeError(f"redis-server did not start (exit {exit_code}):\n{log_tail(log_path)}")
