"""``python -m load_tests chat-fanout ...``: run a benchmark, print a table, write JSON."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from load_tests.board_cli import add_board_parser, board_config_from_args, board_draw
from load_tests.capacity_cli import add_capacity_parser, capacity_config_from_args, chat_capacity
from load_tests.config import (
    GENERATOR_PROCESSES_HELP,
    MAX_ROUNDS,
    SYSTEMS,
    FanoutConfig,
    check_socketio_installed,
    systems_arg,
    validate,
)
from load_tests.crowd_cli import add_crowd_parsers, crowd, crowd_config_from_args
from load_tests.fanout import run_benchmark_rounds
from load_tests.help_format import DefaultsShownParser
from load_tests.lesson_cli import add_lesson_parser, lesson, lesson_config_from_args
from load_tests.report import build_report
from load_tests.scenario import add_output_options, busy_then, parse_rates, run_and_publish
from load_tests.scenario import config_from_args as config_from_args_of
from load_tests.serve_cli import COMMAND as SERVE
from load_tests.serve_cli import add_serve_parser, serve, serve_config_from_args
from load_tests.signal_cli import add_signal_parser, signal_config_from_args, signal_rtt
from load_tests.stats import RateResult
from load_tests.table import format_table, row_lines, summary_lines
from load_tests.write_floor_cli import COMMAND as WRITE_FLOOR
from load_tests.write_floor_cli import (
    add_write_floor_parser,
    write_floor,
    write_floor_config_from_args,
)

CROWD_COMMANDS = ("idle-connections", "join-storm")


def _fanout_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = FanoutConfig()
    p = commands.add_parser(
        "chat-fanout",
        help="chat fan-out: N sessions x M clients, offered rates, vs a bare broadcast ceiling",
        description="Chat fan-out benchmark: N sessions x M clients (msgpack by default); some "
        "clients per session post chat at each offered rate; reports delivered events/s, "
        "end-to-end latency, loss, duplicates and server CPU/RSS for Classbridge on memory://, "
        "Classbridge on several workers over a Redis it starts (with Redis commands per event) "
        "and load_tests/baselines/ceiling.py, one after the other on the same workload. "
        "Loopback only; bounded.",
    )
    p.add_argument("--sessions", type=int, default=d.sessions, help="sessions (N)")
    p.add_argument("--clients", type=int, default=d.clients, help="clients per session (M)")
    p.add_argument("--senders", type=int, default=d.senders, help="posting clients per session")
    p.add_argument("--rates", type=parse_rates, default=d.rates, help="offered msg/s, e.g. 100,300")
    p.add_argument("--duration", type=float, default=d.duration, help="measured s per rate")
    p.add_argument("--warmup", type=float, default=d.warmup, help="warm-up s per rate")
    p.add_argument("--ramp", type=float, default=d.ramp, help="s over which clients join")
    p.add_argument("--drain-timeout", type=float, default=d.drain_timeout)
    p.add_argument("--arrival", choices=("poisson", "uniform"), default=d.arrival)
    p.add_argument("--format", dest="wire_format", choices=("msgpack", "json"), default="msgpack")
    p.add_argument("--pad", type=int, default=d.pad, help="extra characters per chat text")
    p.add_argument("--seed", type=int, default=d.seed)
    spawn_help = "start the server as a subprocess (default); --url turns it off"
    p.add_argument("--spawn", action=argparse.BooleanOptionalAction, default=True, help=spawn_help)
    p.add_argument(
        "--url",
        help="an already running Classbridge (loopback only), started with high "
        "--chat-per-second and --messages-per-second so its limits do not shape the load, and "
        "high --connections-per-ip-per-minute and --connections-per-ip-burst: every simulated "
        "client connects from 127.0.0.1",
    )
    p.add_argument("--api-key", help="its operator API key (with --url)")
    p.add_argument("--server-pid", type=int, help="its process id, for CPU and memory")
    p.add_argument(
        "--systems",
        type=systems_arg,
        help="which systems run, in this order: memory (Classbridge, 1 process, memory://; or "
        "the server at --url), redis (Classbridge, --redis-workers workers over a redis-server "
        "started on a free loopback port), socketio (python-socketio on uvicorn, 1 process), "
        "socketio-redis (python-socketio, --redis-workers workers, AsyncRedisManager), ceiling "
        "(the bare broadcast baseline), ceiling-raw (the broadcast with no framework), "
        "ceiling-redis (the ceiling on --redis-workers workers over Redis pub/sub); 'all' is "
        "these seven; memory-base and redis-base run the server of --base-root. "
        "Default: memory,redis,ceiling; with --url: memory,ceiling",
    )
    p.add_argument(
        "--redis-workers",
        type=int,
        default=d.redis_workers,
        help="worker processes of the redis, socketio-redis and ceiling-redis systems",
    )
    p.add_argument(
        "--generator-processes",
        type=int,
        default=d.generator_processes,
        help=GENERATOR_PROCESSES_HELP,
    )
    p.add_argument(
        "--base-root",
        help="another checkout (a directory holding server/) whose server the memory-base and "
        "redis-base systems run: two versions of Classbridge compared in one run, as "
        "classbridge / cb-base and cb-redis-Nw / cb-base-redis-Nw",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=d.rounds,
        help=f"run every system this many times (1 .. {MAX_ROUNDS}), every other round in "
        "reverse order, and report each ratio's median, lowest and highest over the rounds",
    )
    ceiling_help = "add or drop the ceiling baseline from --systems (kept for older commands)"
    p.add_argument("--ceiling", action=argparse.BooleanOptionalAction, help=ceiling_help)
    add_output_options(p, d.server_log_level)


def systems_from_args(args: argparse.Namespace) -> tuple[str, ...]:
    systems = args.systems
    if systems is None:
        systems = ("memory", "ceiling") if args.url is not None else SYSTEMS
    if args.ceiling is False:
        systems = tuple(name for name in systems if name != "ceiling")
    elif args.ceiling and "ceiling" not in systems:
        systems = (*systems, "ceiling")
    return tuple(systems)


def config_from_args(args: argparse.Namespace) -> FanoutConfig:
    if not args.spawn and args.url is None:
        raise ValueError("--no-spawn needs --url")
    fields = FanoutConfig.__dataclass_fields__
    systems = systems_from_args(args)
    if args.url is not None and "memory" not in systems:
        # Every other system is one the tool starts itself: the server at --url would be
        # left out without a word.
        raise ValueError("the server at --url is the system memory: put it in --systems")
    check_socketio_installed(systems)
    return config_from_args_of(FanoutConfig, fields, args, validate, systems=systems)


async def _run(config: FanoutConfig) -> tuple[list[dict[str, list[RateResult]]], float | None]:
    why = " (other processes): figures will be skewed"
    return await busy_then(config.progress, lambda: run_benchmark_rounds(config), why)


def chat_fanout(config: FanoutConfig, json_path: Path | None, command: str) -> int:
    run_and_publish(
        lambda: _run(config),
        lambda rounds, elapsed, busy: build_report(
            config, rounds[0], command, elapsed, busy, rounds
        ),
        _rounds_table,
        json_path,
    )
    return 0


def _rounds_table(report: dict[str, Any], rounds: list[dict[str, list[RateResult]]]) -> str:
    """The first round's table; with several rounds, the others' rows and the spread."""
    text = format_table(report, rounds[0])
    if len(rounds) == 1:
        return text
    later = [
        "\n".join(["", f"round {number} of {len(rounds)}:", *row_lines(one)])
        for number, one in enumerate(rounds[1:], start=2)
    ]
    return "\n".join([text, *later, *summary_lines(report["round_summary"])])


def _command_line(argv: list[str]) -> str:
    """The command as typed, without the API key."""
    shown = [
        "<redacted>" if i and argv[i - 1] == "--api-key" else arg for i, arg in enumerate(argv)
    ]
    shown = [a.split("=")[0] + "=<redacted>" if a.startswith("--api-key=") else a for a in shown]
    return shlex.join(["python", "-m", "load_tests", *shown])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["chat-fanout", *argv]  # the first benchmark is the default one
    # Typed as the base class its commands are added through; at run time add_subparsers
    # makes each command a parser of this one's class, so their help shows defaults too.
    parser: argparse.ArgumentParser = DefaultsShownParser(
        prog="python -m load_tests",
        description="Classbridge benchmarks on loopback: chat-fanout (the default), "
        "chat-capacity, board-draw, signal-rtt, lesson, idle-connections, join-storm and "
        "write-floor; serve starts the same systems for another load generator.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _fanout_parser(commands)
    add_capacity_parser(commands)
    add_board_parser(commands)
    add_signal_parser(commands)
    add_lesson_parser(commands)
    add_crowd_parsers(commands)
    add_write_floor_parser(commands)
    add_serve_parser(commands)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args) if args.command == "chat-fanout" else None
        board = board_config_from_args(args) if args.command == "board-draw" else None
        signals = signal_config_from_args(args) if args.command == "signal-rtt" else None
        lessons = lesson_config_from_args(args) if args.command == "lesson" else None
        capacity = capacity_config_from_args(args) if args.command == "chat-capacity" else None
        crowds = crowd_config_from_args(args) if args.command in CROWD_COMMANDS else None
        floor = write_floor_config_from_args(args) if args.command == WRITE_FLOOR else None
        served = serve_config_from_args(args) if args.command == SERVE else None
    except ValueError as error:
        parser.error(str(error))
    try:
        if board is not None:
            return board_draw(board, args.json, _command_line(argv))
        if signals is not None:
            return signal_rtt(signals, args.json, _command_line(argv))
        if lessons is not None:
            return lesson(lessons, args.json, args.chart, _command_line(argv))
        if capacity is not None:
            return chat_capacity(capacity, args.json, _command_line(argv))
        if crowds is not None:
            return crowd(crowds, args.json, _command_line(argv))
        if floor is not None:
            return write_floor(floor, args.json, _command_line(argv))
        if served is not None:
            return serve(served, args.plan, _command_line(argv))
        assert config is not None
        return chat_fanout(config, args.json, _command_line(argv))
    except (OSError, RuntimeError, TimeoutError, ExceptionGroup) as error:
        print(f"benchmark failed: {error!r}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
