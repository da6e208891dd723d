"""The command lines of ``idle-connections`` and ``join-storm``, their JSON report and table."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from load_tests.crowd import CrowdConfig, CrowdResult, run_crowd, validate
from load_tests.scenario import add_output_options, busy_then, report_head, run_and_publish

IDLE = "idle-connections"
STORM = "join-storm"
NOTE = (
    "server RSS from /proc VmRSS of the spawned server (memory://, one process) after the "
    "tokens are minted and after every connection has joined and been held; the generator "
    "runs in separate processes on the same machine"
)


def add_crowd_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    idle = commands.add_parser(
        IDLE,
        help="N idle joined connections on one worker: server memory per connection",
        description="Spawn Classbridge (memory://, one process), mint N student tokens in "
        "sessions of --session-size, join them all from --generators processes over "
        "--seconds, hold them, and report the server's RSS growth per connection. Bounded.",
    )
    _common(idle, clients_flag="--connections", clients=10_000, seconds=40.0, hold=5.0)
    storm = commands.add_parser(
        STORM,
        help="N students join within S seconds: join latency (connect -> welcome) and errors",
        description="Spawn Classbridge (memory://, one process), mint N student tokens in "
        "sessions of --session-size, and have them all join within --seconds (evenly spread) "
        "from --generators processes. Reports join latency p50/p99/max and errors. Bounded.",
    )
    _common(storm, clients_flag="--students", clients=1000, seconds=2.0, hold=1.0)


def _common(
    parser: argparse.ArgumentParser, clients_flag: str, clients: int, seconds: float, hold: float
) -> None:
    d = CrowdConfig("", 1, 1.0)
    parser.add_argument(clients_flag, dest="clients", type=int, default=clients)
    parser.add_argument("--seconds", type=float, default=seconds, help="s over which they join")
    parser.add_argument("--session-size", type=int, default=d.session_size)
    parser.add_argument("--generators", type=int, default=d.generators, help="processes")
    parser.add_argument("--hold", type=float, default=hold, help="s held before the RSS read")
    parser.add_argument("--timeout", type=float, default=d.timeout, help="s per join")
    parser.add_argument("--format", dest="wire_format", choices=("msgpack", "json"))
    add_output_options(parser, d.server_log_level)


def crowd_config_from_args(args: argparse.Namespace) -> CrowdConfig:
    config = CrowdConfig(
        benchmark=args.command,
        clients=args.clients,
        seconds=args.seconds,
        session_size=args.session_size,
        generators=args.generators,
        hold=args.hold,
        timeout=args.timeout,
        wire_format=args.wire_format or "msgpack",
        server_log_level=args.server_log_level,
        progress=not args.quiet,
    )
    validate(config)
    return config


def percentile(ordered: list[float], share: float) -> float | None:
    """Nearest-rank percentile of an ascending list; None when it is empty."""
    if not ordered:
        return None
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return round(ordered[rank - 1], 1)


def build_crowd_report(
    config: CrowdConfig, result: CrowdResult, command: str, elapsed: float, busy: float | None
) -> dict[str, Any]:
    parameters = {
        "clients": config.clients,
        "seconds": config.seconds,
        "session_size": config.session_size,
        "generators": config.generators,
        "hold_s": config.hold,
        "timeout_s": config.timeout,
        "format": config.wire_format,
        "broker": "memory://",
        "server_workers": 1,
    }
    report = report_head(config.benchmark, command, elapsed, parameters, busy, NOTE)
    held = result.welcomed - result.dropped
    report["connections"] = {
        "attempted": result.attempted,
        "welcomed": result.welcomed,
        "held": held,
        "dropped_while_held": result.dropped,
    }
    report["server"] = _server(result, held)
    latencies = result.latencies_ms
    report["join_latency_ms"] = {
        "count": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p90": percentile(latencies, 0.90),
        "p99": percentile(latencies, 0.99),
        "max": percentile(latencies, 1.0),
    }
    errors = result.errors
    report["errors"] = dict(errors)
    report["error_count"] = sum(errors.values()) + result.dropped
    report["joins_answered_in_s"] = round(result.storm_seconds, 2)
    report["generator"] = {
        "processes": len(result.workers),
        "cpu_seconds": round(sum(w["cpu_seconds"] for w in result.workers), 2),
        "parent_cpu_seconds": round(result.generator_parent_cpu, 2),
        "late_starts": sum(w["late_starts"] for w in result.workers),
    }
    return report


def _server(result: CrowdResult, held: int) -> dict[str, Any]:
    before, after = result.before, result.after
    if before is None or after is None:
        return {"rss_before_kb": None, "rss_after_kb": None, "kb_per_connection": None}
    growth = after.rss_bytes - before.rss_bytes
    return {
        "rss_before_kb": before.rss_bytes // 1024,
        "rss_after_kb": after.rss_bytes // 1024,
        "rss_growth_kb": growth // 1024,
        "peak_rss_kb": after.peak_rss_bytes // 1024,
        "kb_per_connection": round(growth / 1024 / held, 2) if held else None,
        "cpu_seconds": round(after.cpu_seconds - before.cpu_seconds, 2),
    }


def format_crowd_table(report: dict[str, Any], _: CrowdResult) -> str:
    c, s, j = report["connections"], report["server"], report["join_latency_ms"]
    g, p = report["generator"], report["parameters"]
    lines = [
        f"{report['benchmark']}: {p['clients']} students in sessions of "
        f"{p['session_size']}, joining over {p['seconds']:g} s",
        f"  connections  welcomed {c['welcomed']}/{c['attempted']}, held {c['held']}, "
        f"dropped {c['dropped_while_held']}",
        f"  server RSS   {s['rss_before_kb']} KB -> {s['rss_after_kb']} KB "
        f"({s['kb_per_connection']} KB per connection), CPU {s.get('cpu_seconds')} s",
        f"  join (ms)    p50 {j['p50']}  p90 {j['p90']}  p99 {j['p99']}  max {j['max']}",
        f"  errors       {report['error_count']} {report['errors'] or ''}".rstrip(),
        f"  generator    {g['processes']} processes, {g['cpu_seconds']} CPU s, "
        f"{g['late_starts']} late starts",
    ]
    return "\n".join(lines)


async def _run(config: CrowdConfig) -> tuple[CrowdResult, float | None]:
    return await busy_then(config.progress, lambda: run_crowd(config))


def crowd(config: CrowdConfig, json_path: Path | None, command: str) -> int:
    result = run_and_publish(
        lambda: _run(config),
        lambda r, elapsed, busy: build_crowd_report(config, r, command, elapsed, busy),
        format_crowd_table,
        json_path,
    )
    failed = result.welcomed < result.attempted or result.dropped > 0
    return 1 if failed else 0
