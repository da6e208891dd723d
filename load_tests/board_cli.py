"""``python -m load_tests board-draw ...``: the whiteboard benchmark's command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from load_tests.board_config import BOARD_SYSTEMS, BoardConfig, validate
from load_tests.board_report import build_board_report, format_board_table
from load_tests.board_run import run_board
from load_tests.board_stats import BoardResult
from load_tests.scenario import add_output_options, busy_then, config_from_args, run_and_publish


def _pair(kind: type[float] | type[int]) -> type[tuple[float, float]]:
    def parse(text: str) -> tuple[float, float]:
        try:
            low, _, high = text.partition(",")
            return kind(low), kind(high or low)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse  # type: ignore[return-value]


def _systems(text: str) -> tuple[str, ...]:
    names = tuple("memory" if n == "classbridge" else n for n in text.split(",") if n.strip())
    unknown = sorted(set(names) - set(BOARD_SYSTEMS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown systems {unknown}: choose {BOARD_SYSTEMS}")
    return names


def add_board_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = BoardConfig()
    p = commands.add_parser(
        "board-draw",
        help="whiteboard: S students drawing at once (appends at 20 Hz) plus cursors",
        description="Whiteboard benchmark: in each session S students draw strokes at once "
        "(board.put, board.append every 1/draw-hz s with 1-3 points, end after 1-2 s) and move "
        "a cursor, while watchers (a teacher, a station) only receive. Reports delivered board "
        "ops/s, latency, cursor messages per client per second, wire bytes per op, loss, "
        "errors, server CPU/RSS and whether every client ends with the same board, for "
        "Classbridge on memory:// and on several workers over a Redis it starts. Loopback "
        "only; spawns its servers; bounded.",
    )
    p.add_argument("--sessions", type=int, default=d.sessions)
    p.add_argument("--students", type=int, default=d.students, help="drawing clients/session")
    p.add_argument("--watchers", type=int, default=d.watchers, help="receive-only clients")
    p.add_argument("--draw-hz", type=float, default=d.draw_hz, help="board ops/s per student")
    p.add_argument("--cursor-hz", type=float, default=d.cursor_hz, help="cursors/s per student")
    p.add_argument("--stroke-seconds", type=_pair(float), default=d.stroke_seconds)
    p.add_argument("--points", dest="points_per_append", type=_pair(int), default=(1, 3))
    p.add_argument("--duration", type=float, default=d.duration, help="measured seconds")
    p.add_argument("--warmup", type=float, default=d.warmup)
    p.add_argument("--ramp", type=float, default=d.ramp, help="s over which clients join")
    p.add_argument("--drain-timeout", type=float, default=d.drain_timeout)
    p.add_argument("--format", dest="wire_format", choices=("msgpack", "json"), default="msgpack")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--spawn", action="store_true", default=True, help="(the only mode)")
    p.add_argument(
        "--systems",
        type=_systems,
        default=BOARD_SYSTEMS,
        help="memory (1 process, memory://), redis (--redis-workers workers over a spawned "
        "redis-server); default: both",
    )
    p.add_argument("--redis-workers", type=int, default=d.redis_workers)
    p.add_argument(
        "--board-ops-per-second",
        type=int,
        help="the server's board limit per connection (burst: twice); default: the server's",
    )
    p.add_argument("--messages-per-second", type=int, help="likewise the messages limit")
    p.add_argument("--no-svg", dest="check_svg", action="store_false", help="skip the SVG check")
    add_output_options(p, d.server_log_level)


def board_config_from_args(args: argparse.Namespace) -> BoardConfig:
    return config_from_args(BoardConfig, BoardConfig.__dataclass_fields__, args, validate)


async def _run(config: BoardConfig) -> tuple[dict[str, BoardResult], float | None]:
    return await busy_then(config.progress, lambda: run_board(config))


def board_draw(config: BoardConfig, json_path: Path | None, command: str) -> int:
    results = run_and_publish(
        lambda: _run(config),
        lambda results, elapsed, busy: build_board_report(config, results, command, elapsed, busy),
        format_board_table,
        json_path,
    )
    failed = any(not r.convergence.converged or r.rate.lost for r in results.values())
    return 2 if failed else 0
