"""The signaling run's report: a JSON document with every figure, and a table for humans."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from load_tests.cells import fmt, line, pct
from load_tests.scenario import report_head
from load_tests.signal_config import SignalConfig
from load_tests.signal_run import SignalSystemResult
from load_tests.signal_stats import SignalRateResult

COLUMNS = (
    ("system", 11), ("offered/s", 9), ("sent/s", 7), ("answ/s", 7), ("p50 ms", 7),
    ("p95 ms", 7), ("p99 ms", 7), ("max ms", 7), ("p99 sch", 7), ("1w p50", 7), ("1w p99", 7),
    ("lost", 4), ("err", 3), ("srv CPU", 7), ("rds CPU", 7), ("cmd/sig", 7), ("gen CPU", 7),
    ("box CPU", 7), ("oth CPU", 7),
)  # fmt: skip


def machine_note(config: SignalConfig) -> str:
    cpus = os.cpu_count() or 0
    return (
        f"The load generator (one Python process, {config.stations} WebSocket clients) shares "
        f"this {cpus}-core machine with the server under test; 'cb-redis-Nw' adds N workers "
        "and a redis-server on the same cores. A round trip is a signal from a station to its "
        "partner, relayed as peer.signal, answered by the partner on receipt with a signal "
        "back, relayed again. 'p50'..'max' time it from the request's send to the reply's "
        "arrival, 'p99 sch' from when the request was due; '1w' is the request's one-way "
        "time (send to the partner's receipt; the reply's leg is under the table). 'lost' "
        "counts requests not answered within the loss timeout. 'cmd/sig' is Redis commands "
        "run per signal relayed (requests and replies). 'oth CPU' is the machine's busy time "
        "that is neither the server's, Redis's nor the generator's, as a share of one core: "
        "loopback TCP in the kernel, or other work on the machine (then the rows are skewed)."
    )


def build_signal_report(
    config: SignalConfig,
    results: dict[str, SignalSystemResult],
    command: str,
    elapsed_s: float,
    busy_before: float | None = None,
) -> dict[str, Any]:
    head = report_head(
        "signal-rtt",
        command,
        elapsed_s,
        dataclasses.asdict(config),
        busy_before,
        machine_note(config),
    )
    return {
        **head,
        "systems": {name: dataclasses.asdict(result) for name, result in results.items()},
    }


def _row(name: str, r: SignalRateResult) -> list[str]:
    per_signal = r.redis_commands.per_event if r.redis_commands else None
    return [
        name, fmt(r.offered_rate, 0), fmt(r.sent_per_s), fmt(r.answered_per_s),
        fmt(r.rtt.p50_ms, 2), fmt(r.rtt.p95_ms, 2), fmt(r.rtt.p99_ms, 2),
        fmt(r.rtt.max_ms, 1), fmt(r.rtt_from_schedule.p99_ms, 1),
        fmt(r.one_way.p50_ms, 2), fmt(r.one_way.p99_ms, 2), str(r.lost),
        str(r.error_count), pct(r.server_cpu_share), pct(r.redis_cpu_share),
        fmt(per_signal, 2), pct(r.generator_cpu_share), pct(r.machine_busy_share),
        pct(r.other_cpu_share),
    ]  # fmt: skip


def format_signal_table(report: dict[str, Any], results: dict[str, SignalSystemResult]) -> str:
    p = report["parameters"]
    lines = [
        f"signal round trips: {p['pairs']} pairs of stations (one pair per session), "
        f"{p['description_share']:.0%} offer/answer ({p['sdp_bytes']} B sdp), the rest "
        f"candidates, {p['wire_format']}, {p['arrival']} arrivals, {p['duration']:g} s measured "
        f"after {p['warmup']:g} s warm-up per rate, lost past {p['loss_timeout']:g} s; server "
        f"signal limit {p['signals_per_second']:g}/s burst {p['signals_burst']} per connection",
        "systems:",
        *(_system_line(name, result) for name, result in results.items()),
        "",
        line(COLUMNS, [name for name, _ in COLUMNS]),
    ]
    rates = max((len(r.rates) for r in results.values()), default=0)
    for i in range(rates):
        lines += [
            line(COLUMNS, _row(n, r.rates[i])) for n, r in results.items() if i < len(r.rates)
        ]
    lines += _details(results)
    lines += ["", "Note: " + report["machine"]["note"]]
    return "\n".join(lines)


def _system_line(name: str, result: SignalSystemResult) -> str:
    pl = result.placement
    where = "memory://" if result.broker is None else result.broker
    text = f"  {name:<11} {result.workers} worker(s) on {where}"
    if pl.split is not None:
        held = ", ".join(f"pid {pid}: {n}" for pid, n in sorted(pl.workers.items()))
        text += (
            f"; {pl.split} of {pl.pairs} pairs split over two workers after {pl.connections} "
            f"connections ({pl.unknown} not found in /proc); stations per worker: {held}"
        )
    return text


def _details(results: dict[str, SignalSystemResult]) -> list[str]:
    lines = ["", "per rate: RTT by kind (p50/p99 ms), one way there/back (p50/p99 ms), counts:"]
    for name, result in results.items():
        for r in result.rates:
            kinds = ", ".join(
                f"{kind} {fmt(s.p50_ms, 2)}/{fmt(s.p99_ms, 2)} (n={s.count})"
                for kind, s in r.rtt_by_kind.items()
            )
            lines.append(
                f"  {name:<11} {r.offered_rate:>6g}/s  {kinds}; there "
                f"{fmt(r.one_way.p50_ms, 2)}/{fmt(r.one_way.p99_ms, 2)}, back "
                f"{fmt(r.one_way_back.p50_ms, 2)}/{fmt(r.one_way_back.p99_ms, 2)}; sent "
                f"{r.sent_total}, answered {r.answered_total}, late {r.late}, dup "
                f"{r.duplicates}, strays {r.strays}, acks {r.acks}/{r.sent_total + r.replies_total}"
                + (f", errors {r.errors}" if r.errors else "")
            )
            if len(r.cpu_per_process) > 1:
                shares = ", ".join(f"pid {p} {pct(v)}" for p, v in r.cpu_per_process.items())
                lines.append(f"  {'':<11} {'':>8}  CPU per process: {shares}")
            if (c := r.redis_commands) is not None:
                top = ", ".join(f"{cmd} {n:.2f}" for cmd, n in c.top.items())
                lines.append(
                    f"  {'':<11} {'':>8}  Redis: {c.appended} signals, {fmt(c.per_event, 2)} "
                    f"commands each ({fmt(c.sent_per_event, 2)} sent by the servers, "
                    f"+{fmt(c.unsampled_per_event, 2)} not in the sample): {top}"
                )
    return lines
