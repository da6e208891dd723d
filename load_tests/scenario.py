"""What every scenario (chat-fanout, board-draw, signal-rtt) does around its own workload: read
its config from the command line, check the machine is idle, run one system after another,
then print the table and write the JSON report. The workloads differ; this does not."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from load_tests.config import REDIS_SYSTEMS
from load_tests.procstat import busy_share, sample_machine
from load_tests.progress import Progress
from load_tests.redis_server import redis_executable, spawn_redis
from load_tests.servers import ServerOptions, Target, spawn_classbridge

C = TypeVar("C")
R = TypeVar("R")
T = TypeVar("T")
BUSY_WARNING = 0.15  # of the machine's capacity, measured for 1 s before the run


class Scenario(ServerOptions, Protocol):
    """What the shared run loop reads of a config that only runs Classbridge (board, signal)."""

    @property
    def systems(self) -> tuple[str, ...]: ...

    def server_limits(self) -> list[str]: ...

    def time_budget(self) -> float: ...


S = TypeVar("S", bound=Scenario)


def parse_list(text: str, convert: Callable[[str], T], what: str) -> tuple[T, ...]:
    """A comma-separated option's values, or argparse's error naming ``what`` they should be."""
    try:
        return tuple(convert(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of {what}: {text!r}") from None


def parse_rates(text: str) -> tuple[float, ...]:
    return parse_list(text, float, "rates")


def add_output_options(parser: argparse.ArgumentParser, server_log_level: str) -> None:
    """What every benchmark's command line has: the spawned servers' log level, the JSON file
    of every figure, and no progress lines."""
    parser.add_argument("--server-log-level", default=server_log_level)
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def config_from_args(
    kind: Callable[..., C],
    fields: Iterable[str],
    args: argparse.Namespace,
    validate: Callable[[C], None],
    **fixed: Any,
) -> C:
    """A ``kind`` from the options named as its ``fields`` (but ``fixed`` ones and progress)."""
    names = set(fields) - {"progress", *fixed}
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    config = kind(**values, **fixed, progress=not args.quiet)
    validate(config)
    if set(REDIS_SYSTEMS) & set(config.systems):  # type: ignore[attr-defined]
        try:
            redis_executable()  # fail now, not after the first system has run
        except RuntimeError as error:
            raise ValueError(str(error)) from None
    return config


async def machine_busy(seconds: float = 1.0) -> float | None:
    """How busy the machine is before we start: other work there skews every figure."""
    before = sample_machine()
    await asyncio.sleep(seconds)
    return busy_share(before, sample_machine())


async def busy_then(
    progress: bool, run: Callable[[], Awaitable[R]], why: str = ""
) -> tuple[R, float | None]:
    """``run()``'s result, and how busy the machine was just before (warned of when busy)."""
    busy = await machine_busy()
    if busy is not None and busy > BUSY_WARNING and progress:
        print(f"warning: the machine is {busy:.0%} busy before the run{why}", file=sys.stderr)
    return await run(), busy


def run_async(main: Callable[[], Coroutine[Any, Any, R]]) -> R:
    """Run on uvloop when it is installed (it comes with uvicorn[standard]), as the server does."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())


def run_and_publish(
    main: Callable[[], Coroutine[Any, Any, tuple[R, float | None]]],
    report: Callable[[R, float, float | None], dict[str, Any]],
    table: Callable[[dict[str, Any], R], str],
    json_path: Path | None,
) -> R:
    """Run ``main`` (results, busy share before), then print the table and write the JSON."""
    started = time.monotonic()
    results, busy_before = run_async(main)
    built = report(results, time.monotonic() - started, busy_before)
    publish(table(built, results), built, json_path)
    return results


def publish(table: str, report: dict[str, Any], json_path: Path | None) -> None:
    """The table on stdout, and the report as JSON when asked for."""
    print(table, flush=True)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nJSON report: {json_path}", flush=True)


def report_head(
    benchmark: str,
    command: str,
    elapsed_s: float,
    parameters: dict[str, Any],
    busy_before: float | None,
    note: str,
) -> dict[str, Any]:
    """The keys every JSON report starts with, in this order (readers compare runs by them)."""
    return {
        "benchmark": benchmark,
        "command": command,
        "elapsed_s": round(elapsed_s, 1),
        "parameters": parameters,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "busy_before_run": None if busy_before is None else round(busy_before, 3),
            "note": note,
        },
    }


async def run_systems(
    systems: Iterable[str],
    budget: float,
    spawn: Callable[[str], contextlib.AbstractAsyncContextManager[Target]],
    run_system: Callable[[Target], Awaitable[R]],
) -> dict[str, R]:
    """Results per system name. One system at a time, so no two servers compete for the
    cores; bounded by ``budget`` seconds in all."""
    results: dict[str, R] = {}
    async with asyncio.timeout(budget):
        for system in systems:
            async with spawn(system) as target:
                results[target.name] = await run_system(target)
    return results


async def run_classbridge(
    config: S,
    progress: Progress,
    run_system: Callable[[Target, S, Progress], Awaitable[R]],
) -> dict[str, R]:
    """``run_systems`` over Classbridge alone (memory:// or Redis), with the config's limits."""
    return await run_systems(
        config.systems,
        config.time_budget(),
        lambda system: spawn_system(system, config),
        lambda target: run_system(target, config, progress),
    )


@contextlib.asynccontextmanager
async def spawn_system(system: str, config: Scenario) -> AsyncIterator[Target]:
    limits = config.server_limits()
    if system == "redis":
        # Exit order: the workers stop before their Redis does.
        async with spawn_redis() as redis, spawn_classbridge(config, redis, limits) as target:
            yield target
    else:
        async with spawn_classbridge(config, None, limits) as target:
            yield target
