"""``python -m load_tests signal-rtt ...``: the signaling benchmark's command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from load_tests.board_cli import _systems as board_systems
from load_tests.scenario import (
    add_output_options,
    busy_then,
    config_from_args,
    parse_rates,
    run_and_publish,
)
from load_tests.signal_config import SIGNAL_SYSTEMS, SignalConfig, validate
from load_tests.signal_report import build_signal_report, format_signal_table
from load_tests.signal_run import SignalSystemResult, run_signal


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
    p.add_argument("--rates", type=parse_rates, default=d.rates, help="round trips/s, all pairs")
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
    add_output_options(p, d.server_log_level)


def signal_config_from_args(args: argparse.Namespace) -> SignalConfig:
    return config_from_args(SignalConfig, SignalConfig.__dataclass_fields__, args, validate)


async def _run(config: SignalConfig) -> tuple[dict[str, SignalSystemResult], float | None]:
    return await busy_then(config.progress, lambda: run_signal(config))


def signal_rtt(config: SignalConfig, json_path: Path | None, command: str) -> int:
    results = run_and_publish(
        lambda: _run(config),
        lambda results, elapsed, busy: build_signal_report(config, results, command, elapsed, busy),
        format_signal_table,
        json_path,
    )
    lost = any(r.lost for result in results.values() for r in result.rates)
    return 2 if lost else 0
