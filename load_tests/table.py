"""The run's figures as text for humans: one row per system and rate, then what a row cannot
hold (the systems, how clients spread over workers, Redis commands per event, ratios, notes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from load_tests.cells import fmt, line, pct
from load_tests.stats import RateResult

COLUMNS = (
    ("system", 16), ("offered/s", 9), ("sent/s", 8), ("deliv/s", 9), ("ideal/s", 8),
    ("p50 ms", 7), ("p95 ms", 7), ("p99 ms", 7), ("max ms", 8), ("p99 sch", 8),
    ("lost", 5), ("dup", 4), ("err", 4), ("srv CPU", 7), ("rds CPU", 7), ("ev/CPU-s", 9),
    ("RSS MB", 7), ("rds MB", 6), ("cmd/ev", 6), ("gen CPU", 7), ("box CPU", 7), ("oth CPU", 7),
)  # fmt: skip


def _row(name: str, r: RateResult) -> list[str]:
    lat, sched = r.latency, r.latency_from_schedule
    per_event = r.redis_commands.per_event if r.redis_commands else None
    return [
        name, fmt(r.offered_rate, 0), fmt(r.sent_per_s), fmt(r.delivered_per_s, 0),
        fmt(r.ideal_delivered_per_s, 0), fmt(lat.p50_ms, 2), fmt(lat.p95_ms, 2),
        fmt(lat.p99_ms, 2), fmt(lat.max_ms, 1), fmt(sched.p99_ms, 1), str(r.lost),
        str(r.duplicates), str(r.error_count), pct(r.server_cpu_share), pct(r.redis_cpu_share),
        fmt(r.delivered_per_cpu_s, 0), fmt(r.server_peak_rss_mb), fmt(r.redis_peak_rss_mb),
        fmt(per_event, 2), pct(r.generator_cpu_share), pct(r.machine_busy_share),
        pct(r.other_cpu_share),
    ]  # fmt: skip


def format_table(report: dict[str, Any], results: dict[str, list[RateResult]]) -> str:
    p = report["parameters"]
    lines = [
        f"chat fan-out: {p['sessions']} sessions x {p['clients']} clients ({p['senders']} "
        f"senders each), {p['wire_format']}, {p['arrival']} arrivals, {p['duration']:g} s "
        f"measured after {p['warmup']:g} s warm-up per rate{generator_processes(p)}",
        *_systems(results),
        "",
        line(COLUMNS, [name for name, _ in COLUMNS]),
    ]
    lines += row_lines(results)
    lines += _spread(results)
    lines += _redis_commands(results)
    lines += _ratio_lines(report["comparisons"])
    lines += _problems(results)
    lines += ["", "Note: " + report["machine"]["note"]]
    return "\n".join(lines)


def row_lines(results: dict[str, list[RateResult]]) -> list[str]:
    """One row per rate and system, rate by rate (the systems of a rate next to each other)."""
    rates = max((len(rs) for rs in results.values()), default=0)
    return [
        line(COLUMNS, _row(name, rs[i]))
        for i in range(rates)
        for name, rs in results.items()
        if i < len(rs)
    ]


def generator_processes(parameters: dict[str, Any]) -> str:
    """How many processes generated the load, when more than one did (a clause to append)."""
    count = parameters.get("generator_processes", 1)
    return f"; load from {count} generator processes" if count > 1 else ""


def _systems(results: dict[str, list[RateResult]]) -> list[str]:
    lines = []
    for name, rs in results.items():
        if not rs:
            continue
        r = rs[0]
        what = f"{r.server_processes or '?'} process(es) measured"
        if r.broker is not None:
            what = f"{r.server_workers} worker(s) on {r.broker}, {what}"
        lines.append(f"  {name:<16} {what}")
    return ["systems:", *lines] if lines else []


def _spread(results: dict[str, list[RateResult]]) -> list[str]:
    """Where the clients' connections were, per system (the Redis one is what matters)."""
    lines = []
    for name, rs in results.items():
        if not rs or rs[0].server_workers <= 1:
            continue
        first = rs[0]
        held = ", ".join(f"pid {pid}: {n}" for pid, n in first.connections_per_process.items())
        answered = "/".join(str(n) for n in first.healthz_workers.values())
        lines.append(
            f"  {name:<16} {first.workers_serving} of {first.server_workers} workers held client "
            f"connections ({held or 'none found'}); {len(first.healthz_workers)} distinct "
            f"workers answered /healthz ({answered or '-'} of "
            f"{sum(first.healthz_workers.values())} probes)"
        )
        for r in rs:
            shares = ", ".join(f"pid {pid} {pct(v)}" for pid, v in r.cpu_per_process.items())
            lines.append(f"  {'':<16} {r.offered_rate:>7g}/s  CPU per process: {shares}")
    if not lines:
        return []
    head = "clients per worker (WebSocket connections at the end of the first window):"
    return ["", head, *lines]


def _redis_commands(results: dict[str, list[RateResult]], what: str = "chat event") -> list[str]:
    lines = []
    for name, rs in results.items():
        for r in rs:
            c = r.redis_commands
            if c is None:
                continue
            top = ", ".join(f"{cmd} {n:.2f}" for cmd, n in c.top.items())
            lines.append(
                f"  {name:<16} {r.offered_rate:>7g}/s  {c.appended} events: "
                f"{fmt(c.per_event, 2)} run/event, {fmt(c.scripts_per_event, 2)} scripts, "
                f"{fmt(c.sent_per_event, 2)} sent by the servers "
                f"(+{fmt(c.unsampled_per_event, 2)} not in the sample); {top}"
            )
    if not lines:
        return []
    head = (
        f"Redis commands per appended {what} (INFO commandstats over each whole rate step, "
        "warm-up and drain included; 'run' counts what Lua scripts run too, 'sent' estimates "
        "what the servers sent from a MONITOR sample in the warm-up):"
    )
    return ["", head, *lines]


def _ratio_lines(groups: list[dict[str, Any]]) -> list[str]:
    if not groups:
        return []
    lines = ["", f"{'ratio':<32} {'offered/s':>9}   ev per CPU-s   p99 latency   delivered/s"]
    for group in groups:
        label = f"{group['system']} / {group['baseline']}"
        for row in group["rows"]:
            lines.append(
                f"{label:<32} {fmt(row['offered_rate'], 0):>9}   "
                f"{fmt(row['delivered_per_cpu_s_ratio'], 2):>12}   "
                f"{fmt(row['p99_ratio'], 2):>11}   {fmt(row['delivered_per_s_ratio'], 2):>11}"
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


Group = dict[str, Any]


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as text: median, lowest .. highest, then every round's figure in turn."""
    head = f"{'':<32} {'offered/s':>9}   {'median':>9}   {'lowest .. highest':>22}   each round"
    lines = ["", f"over {summary['rounds']} rounds, ev per CPU-s:", head]
    lines += _rows(summary["delivered_per_cpu_s"], lambda group: group["system"], 0)
    lines += ["", f"over {summary['rounds']} rounds, ratio of ev per CPU-s:", head]
    lines += _rows(summary["ratios"], lambda group: f"{group['system']} / {group['baseline']}", 2)
    return lines


def _rows(groups: list[Group], label: Callable[[Group], str], digits: int) -> list[str]:
    lines = []
    for group in groups:
        for row in group["rows"]:
            low_high = f"{fmt(row['min'], digits)} .. {fmt(row['max'], digits)}"
            each = " / ".join(fmt(value, digits) for value in row["rounds"])
            lines.append(
                f"{label(group):<32} {fmt(row['offered_rate'], 0):>9}   "
                f"{fmt(row['median'], digits):>9}   {low_high:>22}   {each}"
            )
    return lines
