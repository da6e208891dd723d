"""The report of a run: a JSON document with every figure, and a table for humans."""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
from typing import Any

from load_tests.config import FanoutConfig
from load_tests.stats import RateResult

OURS, CEILING = "classbridge", "ceiling"


def machine_note(config: FanoutConfig) -> str:
    cpus = os.cpu_count() or 0
    return (
        f"The load generator (one Python process, {config.sessions * config.clients} "
        f"WebSocket clients) shares this {cpus}-core machine with the server under test; each "
        "server is one Python process (at most one core). 'gen CPU%' is the generator's share "
        "of one core: near 100 % the generator, not the server, limits what is delivered. "
        "Latencies run from the actual send; 'p99 sch' runs from when the schedule said to send "
        "(it also counts a generator that fell behind: the open-loop figure). "
        f"'box CPU' is the whole machine's busy share over all {cpus} cores (server, generator, "
        "loopback TCP in the kernel, and anything else running): near 100 % the machine is "
        "saturated and latency climbs for that reason. 'srv CPU' is the server's share of one core."
    )


def _ratio(ours: float | None, ceiling: float | None) -> float | None:
    if ours is None or not ceiling:
        return None
    return round(ours / ceiling, 3)


def comparison(results: dict[str, list[RateResult]]) -> list[dict[str, Any]]:
    """Per rate: ours / ceiling for delivered events per server CPU-second, p99 and rate."""
    if OURS not in results or CEILING not in results:
        return []
    rows = []
    for ours, ceiling in zip(results[OURS], results[CEILING], strict=True):
        rows.append(
            {
                "offered_rate": ours.offered_rate,
                "delivered_per_cpu_s_ratio": _ratio(
                    ours.delivered_per_server_cpu_s, ceiling.delivered_per_server_cpu_s
                ),
                "p99_ratio": _ratio(ours.latency.p99_ms, ceiling.latency.p99_ms),
                "delivered_per_s_ratio": _ratio(ours.delivered_per_s, ceiling.delivered_per_s),
            }
        )
    return rows


def build_report(
    config: FanoutConfig,
    results: dict[str, list[RateResult]],
    command: str,
    elapsed_s: float,
    busy_before: float | None = None,
) -> dict[str, Any]:
    parameters = dataclasses.asdict(config)
    parameters["api_key"] = "<redacted>" if config.api_key else None
    return {
        "benchmark": "chat-fanout",
        "command": command,
        "elapsed_s": round(elapsed_s, 1),
        "parameters": parameters,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "busy_before_run": None if busy_before is None else round(busy_before, 3),
            "note": machine_note(config),
        },
        "systems": {name: [dataclasses.asdict(r) for r in rs] for name, rs in results.items()},
        "comparison": comparison(results),
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


COLUMNS = (
    ("system", 11), ("offered/s", 9), ("sent/s", 8), ("deliv/s", 9), ("ideal/s", 8),
    ("p50 ms", 7), ("p95 ms", 7), ("p99 ms", 7), ("max ms", 8), ("p99 sch", 8),
    ("lost", 5), ("dup", 4), ("err", 4), ("srv CPU", 7), ("ev/CPU-s", 9), ("RSS MB", 7),
    ("gen CPU", 7), ("box CPU", 7),
)  # fmt: skip


def _row(name: str, r: RateResult) -> list[str]:
    lat, sched = r.latency, r.latency_from_schedule
    return [
        name, _fmt(r.offered_rate, 0), _fmt(r.sent_per_s), _fmt(r.delivered_per_s, 0),
        _fmt(r.ideal_delivered_per_s, 0), _fmt(lat.p50_ms, 2), _fmt(lat.p95_ms, 2),
        _fmt(lat.p99_ms, 2), _fmt(lat.max_ms, 1), _fmt(sched.p99_ms, 1), str(r.lost),
        str(r.duplicates), str(r.error_count), _pct(r.server_cpu_share),
        _fmt(r.delivered_per_server_cpu_s, 0), _fmt(r.server_peak_rss_mb),
        _pct(r.generator_cpu_share), _pct(r.machine_busy_share),
    ]  # fmt: skip


def _line(cells: list[str]) -> str:
    return "  ".join(
        c.rjust(w) if i else c.ljust(w)
        for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS, strict=True))
    )


def format_table(report: dict[str, Any], results: dict[str, list[RateResult]]) -> str:
    p = report["parameters"]
    lines = [
        f"chat fan-out: {p['sessions']} sessions x {p['clients']} clients ({p['senders']} "
        f"senders each), {p['wire_format']}, {p['arrival']} arrivals, {p['duration']:g} s "
        f"measured after {p['warmup']:g} s warm-up per rate",
        _line([name for name, _ in COLUMNS]),
    ]
    rates = max((len(rs) for rs in results.values()), default=0)
    for i in range(rates):
        lines += [_line(_row(name, rs[i])) for name, rs in results.items() if i < len(rs)]
    lines += _comparison_lines(report["comparison"])
    lines += _problems(results)
    lines += ["", "Note: " + report["machine"]["note"]]
    return "\n".join(lines)


def _comparison_lines(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "ours / ceiling   offered/s   ev per CPU-s   p99 latency   delivered/s"]
    for row in rows:
        lines.append(
            f"{'':16} {_fmt(row['offered_rate'], 0):>9}   "
            f"{_fmt(row['delivered_per_cpu_s_ratio'], 2):>12}   "
            f"{_fmt(row['p99_ratio'], 2):>11}   {_fmt(row['delivered_per_s_ratio'], 2):>11}"
        )
    return lines


def _problems(results: dict[str, list[RateResult]]) -> list[str]:
    lines = []
    for name, rs in results.items():
        for r in rs:
            lines += [f"{name} at {r.offered_rate:g}/s: {note}" for note in r.notes]
            if r.errors or r.unexpected or r.out_of_order:
                lines.append(
                    f"{name} at {r.offered_rate:g}/s: errors {r.errors}, "
                    f"unexpected {r.unexpected}, out of order {r.out_of_order}"
                )
    return ["", *lines] if lines else []
