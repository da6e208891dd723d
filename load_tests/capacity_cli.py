"""``python -m load_tests chat-capacity ...``: the capacity search of every system, one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from load_tests.capacity import CapacityConfig, SystemCapacity, run_capacity, validate_capacity
from load_tests.capacity_report import build_capacity_report, format_capacity_table
from load_tests.config import (
    ALL_SYSTEMS,
    GENERATOR_PROCESSES_HELP,
    FanoutConfig,
    check_socketio_installed,
    systems_arg,
    validate,
)
from load_tests.scenario import add_output_options, busy_then, run_and_publish
from load_tests.scenario import config_from_args as config_from_args_of

# The workload's defaults for a search: shorter steps than chat-fanout's, so that seven systems
# of up to eight steps each take minutes, not a quarter of an hour.
DEFAULTS = CapacityConfig(FanoutConfig(duration=5.0, warmup=1.0, drain_timeout=3.0))


def add_capacity_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d, w = DEFAULTS, DEFAULTS.workload
    p = commands.add_parser(
        "chat-capacity",
        help="chat capacity search: each system's highest delivered events/s within the limits",
        description="For each system (Classbridge on memory:// and on workers over Redis, "
        "python-socketio on one process and on workers over Redis, the bare ceiling on one "
        "process and on workers over Redis) the chat "
        "fan-out workload is offered at rates rising by --factor per step until a step fails: "
        "p99 >= --p99-ms, any loss, or delivered < 95 percent of ideal. Reports each capacity, the "
        "efficiency at the highest rate every system passed, and the ratios. Loopback; bounded.",
    )
    p.add_argument("--sessions", type=int, default=w.sessions, help="sessions (N)")
    p.add_argument("--clients", type=int, default=w.clients, help="clients per session (M)")
    p.add_argument("--senders", type=int, default=w.senders, help="posting clients per session")
    p.add_argument("--start-rate", type=float, default=d.start_rate, help="first step, msg/s")
    p.add_argument("--factor", type=float, default=d.factor, help="rate multiplier per step")
    p.add_argument("--max-steps", type=int, default=d.max_steps)
    p.add_argument("--system-seconds", type=float, default=d.system_seconds,
                   help="no step starts past this many seconds of one system's search")  # fmt: skip
    p.add_argument("--p99-ms", type=float, default=d.p99_limit_ms, help="p99 limit of a step")
    p.add_argument("--delivered-share", type=float, default=d.min_delivered_share,
                   help="a step must deliver at least this share of sent x clients")  # fmt: skip
    p.add_argument("--duration", type=float, default=w.duration, help="measured s per step")
    p.add_argument("--warmup", type=float, default=w.warmup, help="warm-up s per step")
    p.add_argument("--ramp", type=float, default=w.ramp, help="s over which clients join")
    p.add_argument("--drain-timeout", type=float, default=w.drain_timeout)
    p.add_argument("--arrival", choices=("poisson", "uniform"), default=w.arrival)
    p.add_argument("--format", dest="wire_format", choices=("msgpack", "json"), default="msgpack")
    p.add_argument("--pad", type=int, default=w.pad, help="extra characters per chat text")
    p.add_argument("--seed", type=int, default=w.seed)
    p.add_argument("--systems", type=systems_arg, default=ALL_SYSTEMS,
                   help="which systems, in order (as for chat-fanout); default: all")  # fmt: skip
    p.add_argument("--redis-workers", type=int, default=w.redis_workers,
                   help="workers of the redis, socketio-redis, ceiling-redis systems")  # fmt: skip
    p.add_argument("--generator-processes", type=int, default=w.generator_processes,
                   help=GENERATOR_PROCESSES_HELP)  # fmt: skip
    add_output_options(p, w.server_log_level)


def capacity_config_from_args(args: argparse.Namespace) -> CapacityConfig:
    fields = set(FanoutConfig.__dataclass_fields__) - {"url", "api_key", "server_pid"}
    check_socketio_installed(args.systems)
    workload = config_from_args_of(FanoutConfig, fields, args, validate, rates=(args.start_rate,))
    config = CapacityConfig(
        workload,
        args.start_rate,
        args.factor,
        args.max_steps,
        args.system_seconds,
        args.p99_ms,
        args.delivered_share,
    )
    validate_capacity(config)
    return config


def chat_capacity(config: CapacityConfig, json_path: Path | None, command: str) -> int:
    async def run() -> tuple[dict[str, SystemCapacity], float | None]:
        why = " (other processes): figures will be skewed"
        return await busy_then(config.workload.progress, lambda: run_capacity(config), why)

    run_and_publish(
        run,
        lambda searches, elapsed, busy: build_capacity_report(
            config, searches, command, elapsed, busy
        ),
        format_capacity_table,
        json_path,
    )
    return 0
