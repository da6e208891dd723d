"""``python -m load_tests signal-rtt ...``: the signaling benchmark's command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from load_tests.board_cli import _systems as board_systems
from load_tests.fanout import machine_busy
from load_tests.redis_server import redis_executable
from load_tests.signal_config import SIGNAL_SYSTEMS, SignalConfig, validate
from load_tests.signal_report import build_signal_report, format_signal_table
from load_tests.signal_run import SignalSystemResult, run_signal

BUSY_WARNING = 0.15


def _rates(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"rates: {error}") from None


def add_signal_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = SignalConfig()
    p = commands.add_parser(
        "signal-rtt",
        help="WebRTC signaling: round trips between pairs of stations, across workers",
        description="Signaling benchmark: P pairs of class stations (one pair per session) "
        "send WebRTC signals (offers of a realistic SDP size, ICE candidates) to their partner, "
        "which answers each on receipt. Reports round-trip and one-way latency, losses (no "
        "answer within a timeout), errors, server and Redis CPU and Redis commands per signal, "
        "for Classbridge on memory:// and on several workers over a Redis it starts, where "
        "the two stations of each pair are placed on different workers. Loopback only; "
        "spawns its servers; bounded.",
    )
    p.add_argument("--pairs", type=int, default=d.pairs, help="pairs of stations (P)")
    p.add_argument("--rates", type=_rates, default=d.rates, help="round trips/s, all pairs")
    p.add_argument("--description-share", type=float, default=d.description_share)
    p.add_argument("--sdp-bytes", type=int, default=d.sdp_bytes, help="size of each sdp")
    p.add_argument("--duration", type=float, default=d.duration, help="measured s per rate")
    p.add_argument("--warmup", type=float, default=d.warmup, help="warm-up s per rate")
    p.add_argument("--loss-timeout", type=float, default=d.loss_timeout)
    p.add_argument("--arrival", choices=("poisson", "uniform"), default=d.arrival)
    p.add_argument("--format", dest="wire_format", choices=("msgpack", "json"), default="msgpack")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--spawn", action="store_true", default=True, help="(the only mode)")
    p.add_argument(
        "--systems",
        type=board_systems,
        default=SIGNAL_SYSTEMS,
        help="memory (1 process, memory://), redis (--redis-workers workers over a spawned "
        "redis-server, the stations of each pair on different workers); default: both",
    )
    p.add_argument("--redis-workers", type=int, default=d.redis_workers)
    p.add_argument(
        "--split-attempts",
        type=int,
        default=d.split_attempts,
        help="connections a station may open to land on another worker than its partner",
    )
    p.add_argument(
        "--signals-per-second",
        type=float,
        default=d.signals_per_second,
        help="the spawned servers' signal limit per connection (the server's own default: 20)",
    )
    p.add_argument("--signals-burst", type=int, default=d.signals_burst, help="(default 60)")
    p.add_argument("--server-log-level", default=d.server_log_level)
    p.add_argument("--json", type=Path, help="write every figure to this file")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def signal_config_from_args(args: argparse.Namespace) -> SignalConfig:
    names = set(SignalConfig.__dataclass_fields__) - {"progress"}
    values = {name: getattr(args, name) for name in names if hasattr(args, name)}
    config = SignalConfig(**values, progress=not args.quiet)
    validate(config)
    if "redis" in config.systems:
        try:
            redis_executable()
        except RuntimeError as error:
            raise ValueError(str(error)) from None
    return config


async def _run(config: SignalConfig) -> tuple[dict[str, SignalSystemResult], float | None]:
    busy = await machine_busy()
    if busy is not None and busy > BUSY_WARNING and config.progress:
        print(f"warning: the machine is {busy:.0%} busy before the run", file=sys.stderr)
    return await run_signal(config), busy


def signal_rtt(config: SignalConfig, json_path: Path | None, command: str) -> int:
    from load_tests.cli import run_async  # the same event loop choice as chat-fanout

    started = time.monotonic()
    results, busy_before = run_async(lambda: _run(config))
    report = build_signal_report(config, results, command, time.monotonic() - started, busy_before)
    print(format_signal_table(report, results), flush=True)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nJSON report: {json_path}", flush=True)
    lost = any(r.lost for result in results.values() for r in result.rates)
    return 2 if lost else 0
