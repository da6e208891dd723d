"""The whiteboard run's report: a JSON document with every figure, and a table for humans."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from load_tests.board_config import BoardConfig
from load_tests.board_stats import BoardResult
from load_tests.cells import fmt, line, pct
from load_tests.scenario import report_head
from load_tests.stats import RateResult
from load_tests.table import _problems, _redis_commands, _spread, _systems

COLUMNS = (
    ("system", 11), ("ops/s", 6), ("sent/s", 7), ("deliv/s", 8), ("ideal/s", 8),
    ("p50 ms", 7), ("p95 ms", 7), ("p99 ms", 7), ("max ms", 7), ("p99 sch", 7),
    ("lost", 4), ("dup", 3), ("err", 3), ("cur/s", 5), ("cur max", 7), ("B/op", 5),
    ("rx B/op", 7), ("tx B/op", 7), ("srv CPU", 7), ("rds CPU", 7), ("ev/CPU-s", 8),
    ("RSS MB", 6), ("rds MB", 6), ("cmd/op", 6), ("gen CPU", 7), ("box CPU", 7), ("conv", 9),
)  # fmt: skip


def machine_note(config: BoardConfig) -> str:
    cpus = os.cpu_count() or 0
    return (
        f"The load generator (one Python process, {config.total_clients} WebSocket clients) "
        f"shares this {cpus}-core machine with the server under test; 'cb-redis-Nw' adds N "
        "workers and a redis-server on the same cores. 'ops/s' is the board ops offered "
        "(students x draw rate); 'deliv/s' the board events received inside the window by "
        "all clients, 'ideal/s' sent/s x clients per session. Latency runs from the send of "
        "the command to the arrival of its event, 'p99 sch' from when it was due. 'cur/s' "
        "is peer.cursors messages received per client per second (mean; 'cur max' the "
        "busiest client): the server sends each client at most 20. 'B/op' is the encoded "
        "size of a board event as received, 'rx B/op' every TCP byte the clients received "
        "(cursors, acks and WebSocket framing included) per board event received, 'tx B/op' "
        "the encoded size of a board command as sent. 'conv' is whether every client of "
        "every session ended with the same boards, then how many of the server's SVG "
        "exports equal the clients' board drawn the same way."
    )


def build_board_report(
    config: BoardConfig,
    results: dict[str, BoardResult],
    command: str,
    elapsed_s: float,
    busy_before: float | None = None,
) -> dict[str, Any]:
    head = report_head(
        "board-draw",
        command,
        elapsed_s,
        dataclasses.asdict(config),
        busy_before,
        machine_note(config),
    )
    return {
        **head,
        "systems": {name: _system(result) for name, result in results.items()},
    }


def _system(result: BoardResult) -> dict[str, Any]:
    return {
        **dataclasses.asdict(result.rate),
        "board": dataclasses.asdict(result.board),
        "convergence": dataclasses.asdict(result.convergence),
    }


def _converged(result: BoardResult) -> str:
    c = result.convergence
    if not c.checked:
        return "unchecked"
    svg = f" {c.svg_matching}/{c.svg_fetched}" if c.svg_fetched or c.svg_error else ""
    return ("yes" if c.converged else "NO") + svg


def _row(name: str, result: BoardResult) -> list[str]:
    r, b = result.rate, result.board
    lat, sched = r.latency, r.latency_from_schedule
    per_op = r.redis_commands.per_event if r.redis_commands else None
    return [
        name, fmt(r.offered_rate, 0), fmt(r.sent_per_s), fmt(r.delivered_per_s, 0),
        fmt(r.ideal_delivered_per_s, 0), fmt(lat.p50_ms, 2), fmt(lat.p95_ms, 2),
        fmt(lat.p99_ms, 2), fmt(lat.max_ms, 1), fmt(sched.p99_ms, 1), str(r.lost),
        str(r.duplicates), str(r.error_count), fmt(b.cursor_msgs_per_client_s),
        fmt(b.cursor_msgs_per_client_s_max), fmt(b.board_bytes_per_op, 0),
        fmt(b.received_bytes_per_op, 0), fmt(b.sent_bytes_per_op, 0),
        pct(r.server_cpu_share), pct(r.redis_cpu_share), fmt(r.delivered_per_cpu_s, 0),
        fmt(r.server_peak_rss_mb), fmt(r.redis_peak_rss_mb), fmt(per_op, 2),
        pct(r.generator_cpu_share), pct(r.machine_busy_share), _converged(result),
    ]  # fmt: skip


def format_board_table(report: dict[str, Any], results: dict[str, BoardResult]) -> str:
    p = report["parameters"]
    rates: dict[str, list[RateResult]] = {name: [r.rate] for name, r in results.items()}
    lines = [
        f"board draw: {p['sessions']} session(s) x {p['students']} students drawing "
        f"({p['draw_hz']:g} board ops/s each, cursor {p['cursor_hz']:g}/s) + {p['watchers']} "
        f"watchers, {p['wire_format']}, {p['duration']:g} s measured after {p['warmup']:g} s "
        "warm-up",
        *_systems(rates),
        "",
        line(COLUMNS, [name for name, _ in COLUMNS]),
        *(line(COLUMNS, _row(name, result)) for name, result in results.items()),
    ]
    lines += _details(results)
    lines += _spread(rates)
    lines += _redis_commands(rates, "board event")
    lines += _problems(rates)
    lines += ["", "Note: " + report["machine"]["note"]]
    return "\n".join(lines)


def _details(results: dict[str, BoardResult]) -> list[str]:
    lines = ["", "per system (inside the window; bytes as encoded, framing is the rest of TCP):"]
    for name, result in results.items():
        b, c = result.board, result.convergence
        kinds = ", ".join(
            f"{kind} {b.messages[kind]:,} msgs {size:,} B"
            if kind in b.messages
            else f"{kind} {size:,} B"
            for kind, size in b.bytes.items()
        )
        lines.append(
            f"  {name:<11} received {b.received_mb_per_s:.2f} MB/s: {kinds}; peer.cursors "
            f"{fmt(b.cursor_bytes_per_msg, 0)} B with {fmt(b.cursor_positions_per_msg)} "
            f"positions each; cursors sent {b.cursors_sent_per_student_s:.1f}/s per student"
        )
        if c.checked:
            lines.append(
                f"  {'':<11} end state per session: records {c.records}, points {c.points}, "
                f"open strokes {c.open_strokes}, distinct client boards {c.distinct}; server SVG "
                f"exports equal to the clients' board: {c.svg_matching}/{c.svg_fetched}"
                + (f" ({c.svg_error})" if c.svg_error else "")
            )
        else:
            lines.append(f"  {'':<11} convergence not checked: the frames overflowed the budget")
    return lines
