"""The command line of ``write-floor``, its JSON report and table."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from load_tests.scenario import parse_list, publish, report_head
from load_tests.write_floor import (
    FloorResult,
    WriteFloorConfig,
    format_floor,
    run_write_floor,
    validate,
)

COMMAND = "write-floor"
NOTE = (
    "no server: this process writes, a spawned process reads; CPU of the writing process "
    "only (getrusage), which on loopback includes the receiving side's TCP work"
)


def add_write_floor_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = WriteFloorConfig()
    p = commands.add_parser(
        COMMAND,
        help="the CPU one small socket write costs on this machine (no server)",
        description="Write a small payload to N loopback connections, 'burst' of them per "
        "event-loop turn, read by a spawned process; report the writer's user and system CPU "
        "per write for each burst size. Explains why the same server costs more per "
        "delivered event on one machine than on another. Loopback only; bounded.",
    )
    p.add_argument("--connections", type=int, default=d.connections)
    p.add_argument(
        "--bursts",
        type=_int_list,
        default=d.bursts,
        help="connections written per loop turn, e.g. 1,30,300",
    )
    p.add_argument("--turn-ms", type=float, default=d.turn_ms, help="pause between turns")
    p.add_argument("--seconds", type=float, default=d.seconds, help="measured s per burst size")
    p.add_argument("--payload", type=int, default=d.payload, help="bytes per write")
    p.add_argument("--json", type=Path, help="write every figure to this file")


def _int_list(text: str) -> tuple[int, ...]:
    return parse_list(text, int, "whole numbers")


def write_floor_config_from_args(args: argparse.Namespace) -> WriteFloorConfig:
    config = WriteFloorConfig(
        connections=args.connections,
        bursts=args.bursts,
        turn_ms=args.turn_ms,
        seconds=args.seconds,
        payload=args.payload,
    )
    validate(config)
    return config


def write_floor(config: WriteFloorConfig, json_path: Path | None, command: str) -> int:
    results, written, received = run_write_floor(config)
    report = build_floor_report(config, results, written, received, command)
    publish(format_floor(results, written, received), report, json_path)
    return 0 if written == received else 1


def build_floor_report(
    config: WriteFloorConfig,
    results: list[FloorResult],
    written: int,
    received: int,
    command: str,
) -> dict[str, Any]:
    elapsed = sum(r.elapsed_s for r in results)
    parameters = {**asdict(config), "bursts": list(config.bursts)}
    report = report_head(COMMAND, command, elapsed, parameters, None, NOTE)
    report["bytes_written"] = written
    report["bytes_received"] = received
    report["results"] = [
        {
            "burst": r.burst,
            "writes": r.writes,
            "elapsed_s": round(r.elapsed_s, 3),
            "writes_per_s": round(r.writes_per_second, 1),
            "user_us_per_write": round(r.user_us, 3),
            "system_us_per_write": round(r.system_us, 3),
            "total_us_per_write": round(r.user_us + r.system_us, 3),
        }
        for r in results
    ]
    return report
