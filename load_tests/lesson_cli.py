"""``python -m load_tests lesson ...`` (or ``classbridge loadtest ...``): the simulated
lesson's command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from load_tests.chaos import run_chaos_lesson
from load_tests.lesson_chart import render_chart
from load_tests.lesson_config import BROKERS, FAULTS, PERSISTENCE, LessonConfig, validate
from load_tests.lesson_report import build_lesson_report, format_lesson_table
from load_tests.lesson_result import LessonResult
from load_tests.lesson_run import run_lesson
from load_tests.progress import Progress
from load_tests.scenario import add_output_options, busy_then, config_from_args, run_and_publish


def _seconds(text: str) -> tuple[float, float]:
    try:
        low, _, high = text.partition(",")
        return float(low), float(high or low)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _faults(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _chaos(p: argparse.ArgumentParser, d: LessonConfig) -> None:
    chaos = p.add_argument_group("chaos (with --broker redis; see load_tests/README.md)")
    chaos.add_argument(
        "--chaos",
        type=_faults,
        default=d.chaos,
        help=f"faults to inject during the lesson, evenly spread, in order: {', '.join(FAULTS)}",
    )
    chaos.add_argument(
        "--redis-persistence",
        choices=PERSISTENCE,
        default=d.redis_persistence,
        help="the chaos Redis: aof (appendonly, appendfsync always), none (nothing kept) or "
        "last-second (a restart brings back Redis as it was a second before: appendfsync "
        "everysec after a machine crash)",
    )
    chaos.add_argument("--pause-seconds", type=float, default=d.pause_seconds)


def _rates(p: argparse.ArgumentParser, d: LessonConfig) -> None:
    rates = p.add_argument_group("behaviour (per student unless said; Poisson arrivals)")
    rates.add_argument("--chat-rate", type=float, default=d.chat_rate, help="chat messages/s")
    rates.add_argument("--stroke-rate", type=float, default=d.stroke_rate, help="strokes/s")
    rates.add_argument("--draw-hz", type=float, default=d.draw_hz, help="appends/s in a stroke")
    rates.add_argument("--stroke-seconds", type=_seconds, default=d.stroke_seconds)
    rates.add_argument("--cursor-hz", type=float, default=d.cursor_hz, help="idle cursor moves/s")
    rates.add_argument("--hand-rate", type=float, default=d.hand_rate, help="hand raises/s")
    rates.add_argument("--poll-every", type=float, default=d.poll_every, help="s, per session")
    rates.add_argument("--poll-open", type=float, default=d.poll_open, help="s before the close")
    rates.add_argument("--answer-share", type=float, default=d.answer_share)
    rates.add_argument(
        "--signal-every", type=float, default=d.signal_every, help="s between a station's offers"
    )
    rates.add_argument("--sdp-bytes", type=int, default=d.sdp_bytes)
    rates.add_argument("--seed", type=int, default=d.seed)


def add_lesson_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    d = LessonConfig()
    p = commands.add_parser(
        "lesson",
        help="a simulated lesson: sessions of classes (teacher, station, students) chatting, "
        "drawing, raising hands, answering polls and signaling",
        description="Simulated lessons: N sessions x K classes of a teacher, a station and S "
        "students join over a ramp (optionally through the lobby) and behave as in a lesson "
        "(seeded). Reports latency per event type, delivered events/s, join latency, loss "
        "and duplicates from every receiver's seqs, errors, and server CPU/RSS; a table, "
        "--json and an --chart HTML page. Loopback only; bounded.",
    )
    p.add_argument("--sessions", type=int, default=d.sessions)
    p.add_argument("--classes", type=int, default=d.classes, help="classes per session")
    p.add_argument("--students", type=int, default=d.students, help="students per class")
    p.add_argument("--duration", type=float, default=d.duration, help="seconds of lesson")
    p.add_argument("--ramp", type=float, default=d.ramp, help="s over which clients join")
    p.add_argument(
        "--lobby", action="store_true", help="lobby 'everyone': teachers admit their class"
    )
    p.add_argument("--admit-every", type=float, default=d.admit_every, help="s between batches")
    p.add_argument("--media", type=int, default=d.media, help="sessions with real aiortc stations")
    _rates(p, d)
    _chaos(p, d)
    p.add_argument("--broker", choices=BROKERS, default=d.broker)
    p.add_argument("--workers", dest="redis_workers", type=int, default=d.redis_workers)
    p.add_argument("--spawn", action="store_true", default=True, help="(default) start the server")
    p.add_argument("--url", help="a running Classbridge instead (loopback only)")
    p.add_argument("--api-key", help="its operator API key (with --url)")
    p.add_argument("--server-pid", type=int, help="its process id, for CPU and memory")
    p.add_argument("--format", dest="wire_format", choices=("msgpack", "json"), default="msgpack")
    p.add_argument("--drain-timeout", type=float, default=d.drain_timeout)
    p.add_argument("--chart", type=Path, help="write an HTML page with SVG charts to this file")
    add_output_options(p, d.server_log_level)


def lesson_config_from_args(args: argparse.Namespace) -> LessonConfig:
    return config_from_args(LessonConfig, LessonConfig.__dataclass_fields__, args, validate)


async def _run(config: LessonConfig) -> tuple[LessonResult, float | None]:
    if config.chaos:
        progress = Progress(enabled=config.progress)
        return await busy_then(config.progress, lambda: run_chaos_lesson(config, progress))
    return await busy_then(config.progress, lambda: run_lesson(config))


def lesson(config: LessonConfig, json_path: Path | None, chart: Path | None, command: str) -> int:
    """Run, print the table, write the JSON and the chart; 2 when a check failed."""
    result = run_and_publish(
        lambda: _run(config),
        lambda result, elapsed, busy: build_lesson_report(config, result, command, elapsed, busy),
        format_lesson_table,
        json_path,
    )
    if chart is not None:
        chart.parent.mkdir(parents=True, exist_ok=True)
        chart.write_text(render_chart(result, command))
        print(f"chart: {chart}", flush=True)
    return 0 if result.ok else 2
