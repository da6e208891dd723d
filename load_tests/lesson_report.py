"""The lesson's report: a JSON document with every figure, and a table for humans."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from load_tests.cells import fmt, line, pct
from load_tests.chaos_report import format_chaos
from load_tests.lesson_config import LessonConfig
from load_tests.lesson_result import LessonResult
from load_tests.scenario import report_head
from load_tests.stats import LatencySummary

COLUMNS = (
    ("event", 14), ("received", 9), ("per s", 8), ("p50 ms", 7), ("p95 ms", 7), ("p99 ms", 7),
    ("max ms", 8), ("timed", 8), ("from", 30),
)  # fmt: skip
# How each event type's latency is measured (what its send time is found by).
HOW = {
    "chat.posted": "the send stamp in the text",
    "board.put": "record id, booked at send",
    "board.appended": "record id + offset, booked",
    "hand.raised": "participant, booked at send",
    "hand.lowered": "participant, booked at send",
    "poll.created": "the send stamp in the question",
    "poll.answered": "poll + student, booked at send",
    "poll.counts": "as_of: the newest answer's send",
    "poll.closed": "poll, booked at send",
    "lobby.admitted": "class, booked at the admit",
    "peer.signal": "pc + part, booked at send",
    "peer.cursors": "sender + x,y, booked at send",
}
ACK_COLUMNS = (
    ("command", 14), ("sent", 7), ("acked", 7), ("p50 ms", 7), ("p95 ms", 7), ("p99 ms", 7),
    ("max ms", 8),
)  # fmt: skip


def machine_note(config: LessonConfig) -> str:
    return (
        f"The load generator (one Python process, {config.total_clients} WebSocket clients) "
        f"shares this {os.cpu_count() or 0}-core machine with the server under test. Latency "
        "runs from the sender's send to the event's arrival at each receiver (one process, "
        "one clock); peer.cursors include the server's 50 ms cursor batching. Poll answers, "
        "like every command, also have their ack round trip (send -> ack) in the second table."
    )


def build_lesson_report(
    config: LessonConfig,
    result: LessonResult,
    command: str,
    elapsed_s: float,
    busy_before: float | None = None,
) -> dict[str, Any]:
    head = report_head(
        "lesson", command, elapsed_s, dataclasses.asdict(config), busy_before, machine_note(config)
    )
    return {**head, "result": dataclasses.asdict(result), "ok": result.ok}


def _where(result: LessonResult) -> str:
    if result.broker is None:  # --url: the tool did not start it and cannot know
        return "the server at --url"
    return f"{result.broker}, {result.workers} worker(s)"


def _latency_row(name: str, n: int, per_s: float | None, lat: LatencySummary | None) -> list[str]:
    lat = lat or LatencySummary(0, None, None, None, None, None, None)
    return [
        name, str(n), fmt(per_s), fmt(lat.p50_ms, 2), fmt(lat.p95_ms, 2), fmt(lat.p99_ms, 2),
        fmt(lat.max_ms, 1), str(lat.count), HOW.get(name, "-"),
    ]  # fmt: skip


def format_lesson_table(report: dict[str, Any], result: LessonResult) -> str:
    p = report["parameters"]
    lobby = "everyone (teachers admit)" if p["lobby"] else "open"
    lines = [
        f"lesson: {p['sessions']} session(s) x {p['classes']} classes x ({p['students']} "
        f"students + teacher + station), lobby {lobby}"
        f", {p['media']} session(s) with real stations, {p['wire_format']}, "
        f"{result.window_s:g} s measured on {result.system} ({_where(result)})",
        "",
        line(COLUMNS, [name for name, _ in COLUMNS]),
    ]
    for kind in sorted(set(result.latency) | set(result.delivered_per_s)):
        n = result.deliveries.get(kind, 0)
        lines.append(
            line(
                COLUMNS,
                _latency_row(kind, n, result.delivered_per_s.get(kind), result.latency.get(kind)),
            )
        )
    lines += ["", line(ACK_COLUMNS, [name for name, _ in ACK_COLUMNS])]
    for command, lat in result.ack_rtt.items():
        cells = [command, str(result.sent.get(command, 0)), str(result.acked.get(command, 0))]
        cells += [fmt(lat.p50_ms, 2), fmt(lat.p95_ms, 2), fmt(lat.p99_ms, 2), fmt(lat.max_ms, 1)]
        lines.append(line(ACK_COLUMNS, cells))
    lines += ["", *_summary(result)]
    if result.chaos is not None:
        lines += ["", *format_chaos(result.chaos)]
    lines += ["", "Note: " + report["machine"]["note"]]
    return "\n".join(lines)


def _summary(r: LessonResult) -> list[str]:
    s, j, w = r.seq, r.join, r.lobby_wait
    lines = [
        f"delivered {r.delivered_total_per_s:,.1f} events/s in all; {r.actions} actions by the "
        f"profile; drain {r.drain_s:.2f} s",
        f"join (connect -> welcome or lobby): {j.count} joins, p50 {fmt(j.p50_ms, 2)} ms, p99 "
        f"{fmt(j.p99_ms, 2)} ms, max {fmt(j.max_ms, 1)} ms",
        f"seq check over {s.receivers} receivers: lost {s.lost}, duplicates {s.duplicates}, "
        f"out of order {s.out_of_order}, teacher gaps {s.teacher_gaps}; signals lost "
        f"{s.signals_lost}, duplicated {s.signals_duplicated}; unanswered commands "
        f"{r.unanswered}",
        f"errors {sum(r.errors.values())} {r.errors_by_command or ''}; connections closed or "
        f"lost {r.closes} {r.close_codes or ''}",
        *_reconnects(r),
        f"server CPU {pct(r.server_cpu_share)} of one core ({r.server_processes or '?'} "
        f"process(es)), peak RSS {fmt(r.server_peak_rss_mb)} MB; redis CPU "
        f"{pct(r.redis_cpu_share)}, RSS {fmt(r.redis_peak_rss_mb)} MB; generator CPU "
        f"{pct(r.generator_cpu_share)}; machine busy {pct(r.machine_busy_share)}",
    ]
    if w.count:
        lines.insert(
            2,
            f"lobby wait (lobby -> welcome, the teachers admitting): {w.count} students, p50 "
            f"{fmt(w.p50_ms, 1)} ms, p99 {fmt(w.p99_ms, 1)} ms, max {fmt(w.max_ms, 1)} ms",
        )
    if r.media is not None:
        m = r.media
        lines.append(
            f"real stations: {m.started}/{m.stations} started, {m.links_connected} links "
            f"connected, received {m.video_frames} video frames ({m.unreadable_frames} "
            f"unreadable), {m.audio_frames} audio frames" + (f"; {m.errors}" if m.errors else "")
        )
    return lines


def _reconnects(r: LessonResult) -> list[str]:
    c, s = r.reconnects, r.seq
    if c is None or not c.lost:
        return ["reconnects 0"]
    b = c.back_ms
    return [
        f"reconnects {c.lost} by {c.clients} clients ({c.attempts} attempts; close codes "
        f"{c.by_code}): back {c.back}, not back {c.not_back}; resumed with events "
        f"{c.resumed_events}, with a snapshot {c.resumed_snapshot}; time to back p50 "
        f"{fmt(b.p50_ms, 1)} ms, p99 {fmt(b.p99_ms, 1)} ms, max {fmt(b.max_ms, 1)} ms",
        f"snapshot resumes {s.snapshot_resumes}: {s.snapshot_covered} acked events after "
        f"their positions came in the snapshot instead (posts and polls checked in it); acked "
        f"events no receiver got {s.never_delivered}; acks naming a seq that held another "
        f"event {s.misplaced} (of {s.contents_checked} checked); commands in flight at a lost "
        f"connection {sum(r.interrupted.values())} {r.interrupted or ''}",
    ]
