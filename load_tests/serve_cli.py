"""``python -m load_tests serve``: the systems under test, started for another load generator.

The other commands drive every system with this repository's generator. An independent
generator (its own workloads, its own client code) needs the same systems started the same way:
Classbridge with the per-connection limits that would shape a benchmark raised, python-socketio
and the ceilings as the comparisons run them, each Redis-backed system on a redis-server of its
own (so that its CPU is its own), and sessions with join tokens minted. ``serve`` starts them
side by side, writes the plan file (load_tests/serve_plan.py), and keeps them running until it
is stopped (Ctrl-C, SIGTERM) or ``--seconds`` have passed. On SIGUSR1 it prints each system's
CPU since the previous SIGUSR1, so a generator can take each system's cost around its own run;
on stopping, the CPU of the whole time the plan was out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load_tests.config import (
    BASE_SYSTEMS,
    KNOWN_SYSTEMS,
    MAX_CLIENTS,
    MAX_WORKERS,
    FanoutConfig,
    check_socketio_installed,
    systems_arg,
)
from load_tests.fanout import system_under_test
from load_tests.procstat import ProcessSample, sample_system
from load_tests.provision import provision_roles
from load_tests.scenario import run_async
from load_tests.serve_plan import SessionPlan, build_plan, room_sessions, system_entry, ws_url
from load_tests.servers import Target

COMMAND = "serve"
DEFAULT_SYSTEMS = ("memory", "socketio", "ceiling-raw")
# The lifetime of the tokens minted (the server's token_ttl): past it, a join would fail.
MAX_SERVE_SECONDS = 12 * 3600.0


@dataclass(frozen=True, slots=True)
class ServeConfig:
    systems: tuple[str, ...] = DEFAULT_SYSTEMS
    sessions: int = 10
    clients: int = 30  # per session: one token each
    redis_workers: int = 2
    seconds: float = 3600.0  # then everything stops, whether or not anyone asked
    server_log_level: str = "warning"

    def fanout_config(self) -> FanoutConfig:
        """The options the benchmarks start each system with (load_tests/fanout.py)."""
        return FanoutConfig(
            sessions=self.sessions,
            clients=self.clients,
            systems=self.systems,
            redis_workers=self.redis_workers,
            server_log_level=self.server_log_level,
        )


def validate(config: ServeConfig) -> None:
    """Raise ValueError for a request that would be unbounded or meaningless."""
    servable = [name for name in KNOWN_SYSTEMS if name not in BASE_SYSTEMS]
    checks = [
        (bool(config.systems), "give at least one system"),
        (set(config.systems) <= set(servable), f"systems are {', '.join(servable)}"),
        (len(set(config.systems)) == len(config.systems), "name each system once"),
        (config.sessions >= 1 and config.clients >= 1, "need >= 1 session of >= 1 client"),
        (config.sessions * config.clients <= MAX_CLIENTS, f"sessions x clients <= {MAX_CLIENTS}"),
        (1 <= config.redis_workers <= MAX_WORKERS, f"redis workers must be 1 .. {MAX_WORKERS}"),
        (0 < config.seconds <= MAX_SERVE_SECONDS, f"seconds must be in (0, {MAX_SERVE_SECONDS:g}]"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def add_serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = ServeConfig()
    p = commands.add_parser(
        COMMAND,
        help="start the systems for another load generator and write its plan",
        description="Start the chosen systems side by side on free loopback ports, as the "
        "benchmarks run them (Classbridge with per-connection limits raised, the baselines, a "
        "redis-server of its own for each Redis-backed system), mint --sessions sessions of "
        "--clients join tokens on each, and write the plan file: URLs, processes to measure, "
        "tokens and the messages of each wire. Runs until Ctrl-C, SIGTERM or --seconds; "
        "SIGUSR1 prints each system's CPU since the last SIGUSR1. Loopback only.",
    )
    p.add_argument(
        "--systems",
        type=systems_arg,
        default=d.systems,
        help=f"which systems to start (names as for chat-fanout; default: {','.join(d.systems)})",
    )
    p.add_argument("--sessions", type=int, default=d.sessions, help="sessions (rooms) per system")
    p.add_argument("--clients", type=int, default=d.clients, help="join tokens per session")
    p.add_argument("--redis-workers", type=int, default=d.redis_workers, help="workers of the "
                   "redis, socketio-redis and ceiling-redis systems")  # fmt: skip
    p.add_argument("--seconds", type=float, default=d.seconds, help="stop after this long")
    p.add_argument("--plan", type=Path, required=True, help="where to write the plan (JSON)")
    p.add_argument("--server-log-level", default=d.server_log_level)


def serve_config_from_args(args: argparse.Namespace) -> ServeConfig:
    config = ServeConfig(
        systems=tuple(args.systems),
        sessions=args.sessions,
        clients=args.clients,
        redis_workers=args.redis_workers,
        seconds=args.seconds,
        server_log_level=args.server_log_level,
    )
    validate(config)
    check_socketio_installed(config.systems)
    return config


def serve(config: ServeConfig, plan_path: Path, command: str) -> int:
    # A plan left by an earlier run names servers that are gone: a generator waiting for the
    # file must only ever find this run's.
    plan_path.unlink(missing_ok=True)
    try:
        run_async(lambda: serve_systems(config, plan_path, command))
    except asyncio.CancelledError:
        print("stopped while starting: no plan was written", file=sys.stderr)
        return 1
    finally:
        plan_path.unlink(missing_ok=True)  # its servers are gone: nobody may drive them now
    return 0


async def serve_systems(config: ServeConfig, plan_path: Path, command: str) -> None:
    options = config.fanout_config()
    signals = ServeSignals(asyncio.current_task())
    # Installed before the first server starts and removed only after the last has stopped:
    # a stop signal while starting stops what has started, one while stopping changes nothing,
    # and a generator's SIGUSR1 never meets the default action (which ends the process).
    with signals.installed(asyncio.get_running_loop()):
        async with contextlib.AsyncExitStack() as running:
            targets: list[Target] = []
            for name in config.systems:
                target = await running.enter_async_context(system_under_test(name, options))
                targets.append(target)
            entries = [system_entry(t, await _sessions(t, config)) for t in targets]
            meter = signals.meter = CpuMeter(targets)
            write_plan(plan_path, build_plan(entries, config.sessions, config.clients, command))
            print(_started_lines(targets, config, plan_path), flush=True)
            await signals.wait(config.seconds)
            final = meter.lines("from the plan to the stop", meter.started, meter.sample())
            print(final, flush=True)


async def _sessions(target: Target, config: ServeConfig) -> list[SessionPlan]:
    if target.api_key is None:  # the baselines: no auth, a token names its room
        return room_sessions(config.sessions, config.clients)
    created = await provision_roles(target, config.sessions, ["student"] * config.clients)
    return [SessionPlan(session_id, tokens) for session_id, tokens in created]


def write_plan(path: Path, plan: dict[str, Any]) -> None:
    """Whole or not at all: a generator waiting for the file never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(plan, indent=2) + "\n")
    os.replace(partial, path)


class ServeSignals:
    """What the signals do while ``serve`` runs. SIGINT and SIGTERM stop it: once the systems
    serve, by ending the wait; while they are still starting (no meter yet), by cancelling the
    start, which stops those already up. SIGUSR1 prints a CPU mark once they serve."""

    def __init__(self, task: asyncio.Task[Any] | None) -> None:
        self.task = task
        self.meter: CpuMeter | None = None  # set once every system is up
        self.stop = asyncio.Event()

    @contextlib.contextmanager
    def installed(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._on_stop)
        loop.add_signal_handler(signal.SIGUSR1, self._on_mark)
        try:
            yield
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                loop.remove_signal_handler(signum)

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    @property
    def starting(self) -> bool:
        return self.meter is None

    def _on_stop(self) -> None:
        # Once only: a second signal must not cancel the servers' own stopping half-way.
        if self.starting and self.task is not None and not self.stop.is_set():
            self.task.cancel()
        self.stop.set()

    def _on_mark(self) -> None:
        if self.meter is not None:  # not while starting
            self.meter.print_mark()


def _started_lines(targets: list[Target], config: ServeConfig, plan_path: Path) -> str:
    lines = [f"serving {len(targets)} system(s), {config.sessions} x {config.clients} tokens each:"]
    for target in targets:
        redis = "" if target.redis is None else f", redis-server pid {target.redis.pid}"
        lines.append(f"  {target.name:<18} {ws_url(target)}  (pid {target.pid}{redis})")
    lines.append(f"plan: {plan_path}")
    lines.append(
        f"stop with Ctrl-C or SIGTERM (or after {config.seconds:g} s); "
        f"kill -USR1 {os.getpid()} prints each system's CPU since the last mark"
    )
    return "\n".join(lines)


class CpuMeter:
    """Each system's CPU (its process tree plus its redis-server) between marks."""

    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets
        self.started = self.sample()
        self.marked = self.started
        self.marked_at = time.monotonic()

    def sample(self) -> list[ProcessSample | None]:
        return [
            sample_system(t.pid, None if t.redis is None else t.redis.pid) for t in self.targets
        ]

    def print_mark(self) -> None:
        # One sample ends this mark and starts the next: no CPU falls between two marks.
        now, sampled = time.monotonic(), self.sample()
        seconds = now - self.marked_at
        print(self.lines(f"over the last {seconds:.1f} s", self.marked, sampled), flush=True)
        self.marked, self.marked_at = sampled, now

    def lines(
        self, what: str, since: list[ProcessSample | None], until: list[ProcessSample | None]
    ) -> str:
        rows = [f"CPU seconds per system {what} (server processes + its redis-server):"]
        for target, before, after in zip(self.targets, since, until, strict=True):
            if before is None or after is None:
                rows.append(f"  {target.name:<18} unreadable")
                continue
            cpu = after.cpu_seconds - before.cpu_seconds
            peak_mb = after.peak_rss_bytes / 1e6
            rows.append(f"  {target.name:<18} {cpu:9.2f} s   peak RSS {peak_mb:7.1f} MB")
        return "\n".join(rows)
