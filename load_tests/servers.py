"""Start the servers under test as child processes on free loopback ports, and stop them."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias
from urllib.parse import urlsplit

from load_tests.spread import wait_for_workers

if TYPE_CHECKING:  # redis_server imports free_port from here
    from load_tests.redis_server import RedisInstance

Popen: TypeAlias = "subprocess.Popen[bytes]"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# High enough that no per-connection limit of Classbridge shapes the offered load.
UNLIMITED = "1000000"
REPO_ROOT = Path(__file__).resolve().parent.parent
WORKERS_TIMEOUT = 20.0  # for every worker of `serve --workers N` to answer /healthz


class ServerOptions(Protocol):
    """What spawning Classbridge needs of a benchmark's config (FanoutConfig, BoardConfig)."""

    @property
    def redis_workers(self) -> int: ...

    @property
    def server_log_level(self) -> str: ...


# The row labels of Classbridge run from another checkout (--base-root): "cb-base" on
# memory://, "cb-base-redis-Nw" over Redis.
BASE_PREFIX = "cb-base"

# Per-connection limits raised out of the way (the chat benchmark's default).
RAISED_LIMITS = ("--chat-per-second", UNLIMITED, "--messages-per-second", UNLIMITED)


@dataclass(frozen=True, slots=True)
class Target:
    """A server the generator drives: where it listens and which process to measure."""

    name: str
    base_url: str  # http://127.0.0.1:PORT
    pid: int | None  # measured with its children: the workers of `serve --workers N`
    api_key: str | None = None
    workers: int = 1
    redis: RedisInstance | None = None  # the Redis it uses, when the benchmark started one
    healthz: dict[str, int] = field(default_factory=dict)  # worker id -> probes it answered
    broker: str | None = None  # for the report; None when not started here
    wire: str = "classbridge"  # what the generator speaks to it: or "socketio"

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http").rstrip("/") + "/ws"

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port or 80


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


BENCH_DRAIN_TIMEOUT = "0.5"  # seconds


def classbridge_command(
    port: int,
    api_key: str,
    config: ServerOptions,
    broker_url: str | None = None,
    workers: int = 1,
    limits: Sequence[str] = RAISED_LIMITS,
) -> list[str]:
    """``limits``: the rate-limit options passed to ``serve`` (none: the server's defaults)."""
    command = [
        *(sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)),
        # "=" form: a urlsafe key may start with "-", which argparse would take for an option.
        f"--api-key={api_key}",
        *("--secret", secrets.token_hex(32), "--no-demo"),
        *("--log-level", config.server_log_level),
        # Stopped once its clients have gone: a full drain would wait out each one's presence
        # grace (5 s), which nobody reads after a benchmark.
        *("--drain-timeout", BENCH_DRAIN_TIMEOUT),
        *limits,
    ]
    if broker_url is not None:
        command += ["--broker", broker_url, "--workers", str(workers)]
    return command


def child_env(root: str | None = None, **extra: str) -> dict[str, str]:
    """This environment, with the checkout ``root`` importable even from the child's scratch
    directory. By default this checkout, or the one ``CLASSBRIDGE_BENCH_SERVER_ROOT`` names (a
    directory holding ``server/``), to compare two versions with the same generator."""
    root = root or os.environ.get("CLASSBRIDGE_BENCH_SERVER_ROOT") or str(REPO_ROOT)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def classbridge_env(raised: bool = True, root: str | None = None) -> dict[str, str]:
    # Every simulated client connects from 127.0.0.1: the per-address limit on new connections
    # (against floods from one host) would refuse a class's worth of them, whatever the run.
    one_host = {
        "CLASSBRIDGE_CONNECTIONS_PER_IP_PER_MINUTE": UNLIMITED,
        "CLASSBRIDGE_CONNECTIONS_PER_IP_BURST": UNLIMITED,
    }
    if not raised:
        return child_env(root, **one_host)
    # Bursts to match the raised rates (`serve` has options for them too; the environment
    # is what older commands used, and Settings reads every limit from it).
    return child_env(
        root, CLASSBRIDGE_CHAT_BURST=UNLIMITED, CLASSBRIDGE_MESSAGES_BURST=UNLIMITED, **one_host
    )


@contextlib.asynccontextmanager
async def spawn_classbridge(
    config: ServerOptions,
    redis: RedisInstance | None = None,
    limits: Sequence[str] = RAISED_LIMITS,
    base_root: str | None = None,
) -> AsyncIterator[Target]:
    """One process on memory://, or ``config.redis_workers`` workers on ``redis``; with
    ``base_root``, the server of that other checkout, under a row label of its own
    (``cb-base``, ``cb-base-redis-Nw``) so that both versions can run in one comparison."""
    port, api_key = free_port(), secrets.token_urlsafe(24)
    workers = 1 if redis is None else config.redis_workers
    name = "classbridge" if redis is None else f"cb-redis-{workers}w"
    if base_root is not None:
        name = BASE_PREFIX if redis is None else f"{BASE_PREFIX}-redis-{workers}w"
    broker = None if redis is None else redis.url
    command = classbridge_command(port, api_key, config, broker, workers, limits)
    env = classbridge_env(raised=tuple(limits) == RAISED_LIMITS, root=base_root)
    async with _spawned(name, command, env, port) as pid:
        base_url = f"http://127.0.0.1:{port}"
        # /healthz answered once: one worker is up. Wait for all before the clients join.
        seen = await wait_for_workers(base_url, workers, WORKERS_TIMEOUT)
        described = "memory://" if redis is None else f"{redis.url} (redis {redis.version})"
        if base_root is not None:  # the row says which checkout's server ran
            described += f", server from {base_root}"
        yield Target(name, base_url, pid, api_key, workers, redis, dict(seen), described)


@contextlib.asynccontextmanager
async def spawn_ceiling(raw: bool = False) -> AsyncIterator[Target]:
    """load_tests/baselines/ceiling.py, or with ``raw`` ceiling_raw.py: the broadcast without a
    framework, on uvloop."""
    name, module = ("ceiling-raw", "ceiling_raw") if raw else ("ceiling", "ceiling")
    port = free_port()
    command = [sys.executable, "-m", f"load_tests.baselines.{module}", "--port", str(port)]
    async with _spawned(name, command, child_env(), port) as pid:
        yield Target(name, f"http://127.0.0.1:{port}", pid)


@contextlib.asynccontextmanager
async def spawn_ceiling_redis(workers: int, redis: RedisInstance) -> AsyncIterator[Target]:
    """load_tests/baselines/ceiling_redis.py: ``workers`` uvicorn workers on one port,
    broadcasting through ``redis``'s pub/sub."""
    port = free_port()
    module = "load_tests.baselines.ceiling_redis"
    command = [sys.executable, "-m", module, "--port", str(port), "--workers", str(workers)]
    command += ["--redis", redis.url]
    name = f"ceiling-redis-{workers}w"
    async with _spawned(name, command, child_env(), port) as pid:
        base_url = f"http://127.0.0.1:{port}"
        # As for cb-redis-Nw: every worker up before the clients join, so a session's clients
        # spread over them and its chats cross workers.
        seen = await wait_for_workers(base_url, workers, WORKERS_TIMEOUT)
        described = f"{redis.url} (redis {redis.version})"
        yield Target(name, base_url, pid, None, workers, redis, dict(seen), described)


@contextlib.asynccontextmanager
async def spawn_socketio(
    workers: int = 1, redis: RedisInstance | None = None
) -> AsyncIterator[Target]:
    """load_tests/baselines/socketio_server.py: one process with in-memory rooms, or
    ``workers`` uvicorn workers sharing ``redis`` through python-socketio's AsyncRedisManager."""
    port = free_port()
    module = "load_tests.baselines.socketio_server"
    command = [sys.executable, "-m", module, "--port", str(port)]
    if redis is not None:
        command += ["--workers", str(workers), "--redis", redis.url]
    name = "socketio" if redis is None else f"sio-redis-{workers}w"
    async with _spawned(name, command, child_env(), port) as pid:
        base_url = f"http://127.0.0.1:{port}"
        seen = await wait_for_workers(base_url, workers if redis else 1, WORKERS_TIMEOUT)
        described = "in-memory" if redis is None else f"{redis.url} (redis {redis.version})"
        worker_count = workers if redis else 1
        yield Target(
            name, base_url, pid, None, worker_count, redis, dict(seen), described, "socketio"
        )


@contextlib.asynccontextmanager
async def _spawned(
    name: str, command: list[str], env: dict[str, str], port: int
) -> AsyncIterator[int]:
    with tempfile.TemporaryDirectory(prefix="classbridge-bench-") as workdir:
        log_path = Path(workdir) / f"{name}.log"
        process = start_process(command, env, workdir, log_path)
        try:
            await _wait_healthy(process, port, log_path)
            yield process.pid
        finally:
            await stop_process(process, signal.SIGINT)  # uvicorn shuts down gracefully on it


def start_process(command: list[str], env: dict[str, str], cwd: str, log_path: Path) -> Popen:
    parent = os.getpid()
    with open(log_path, "wb") as log_file:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            # A group of its own: Ctrl-C in the terminal reaches the benchmark alone, which
            # stops its servers in order and still reads their CPU (a uvicorn worker stopped by
            # the same keystroke would be gone, its CPU with it, before the last reading).
            process_group=0,
            preexec_fn=lambda: _stop_with_parent(parent),
        )


# prctl(2) option: the signal the kernel sends this process when the thread that started it ends.
_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _stop_with_parent(parent: int) -> None:
    """Run in the child before it executes: SIGTERM when the benchmark's process ends, however
    it ends. A benchmark or ``serve`` killed outright (SIGKILL, a test's timeout) would
    otherwise leave its servers and redis-servers running and holding ports and memory; on
    SIGTERM each stops as it would when asked (redis-server at once, uvicorn gracefully, its
    workers with it). Every caller starts processes from the event loop's thread, which lives
    as long as the process. Linux only; elsewhere a killed benchmark leaves them running."""
    if _LIBC is None or _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        return  # best effort: the benchmark stops its servers itself whenever it can
    if os.getppid() != parent:  # the parent died before prctl: no signal will ever come
        os._exit(1)


def log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-2000:]


async def _wait_healthy(process: Popen, port: int, log_path: Path) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        if process.poll() is not None:
            break
        if await asyncio.to_thread(_answers, url):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server did not start (exit {process.poll()}):\n{log_tail(log_path)}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def stop_process(process: Popen, signum: int) -> None:
    """Ask with ``signum``, kill after STOP_TIMEOUT, and reap the process either way."""
    if process.poll() is None:
        process.send_signal(signum)
        try:
            await asyncio.to_thread(process.wait, STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            process.kill()
    await asyncio.to_thread(process.wait, STOP_TIMEOUT)
