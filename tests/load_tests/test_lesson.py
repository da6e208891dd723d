"""The simulated lesson at a tiny size, through the real command line, against real spawned
servers (memory://, and two workers over Redis through the lobby).

These check that the scenario measures what it says (every event type it times arrives, no
loss, no duplicates, no errors, joins timed, the JSON and the chart written); never speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from load_tests.cli import main
from load_tests.lesson_client import PUBLIC, signal_key
from load_tests.lesson_config import LessonConfig, validate
from load_tests.lesson_profile import Action, Scheduler
from load_tests.lesson_resume import Segment
from load_tests.lesson_stats import LessonTally, check_seqs, series
from load_tests.lesson_timing import parse_stamp, stamp
from server.cli import main as server_main
from tests.tools import required_tool

# Rates well above a lesson's, so that 5 s hold every behaviour at least once.
BUSY = [
    "--classes", "2", "--students", "3", "--duration", "5", "--ramp", "0.5",
    "--chat-rate", "0.5", "--stroke-rate", "0.5", "--hand-rate", "0.5", "--poll-every", "2",
    "--poll-open", "2", "--answer-share", "1", "--signal-every", "1", "--quiet",
]  # fmt: skip
TIMED = {
    "chat.posted", "board.put", "board.appended", "hand.raised", "poll.created",
    "poll.answered", "poll.counts", "peer.signal", "peer.cursors",
}  # fmt: skip
RESULT_KEYS = {
    "system", "latency", "ack_rtt", "deliveries", "delivered_per_s", "delivered_total_per_s",
    "join", "lobby_wait", "seq", "errors", "closes", "server_cpu_share", "server_peak_rss_mb",
    "generator_cpu_share", "series", "media",
}  # fmt: skip


def _run(tmp_path: Path, *extra: str) -> dict[str, Any]:
    report_path, chart_path = tmp_path / "lesson.json", tmp_path / "lesson.html"
    args = ["lesson", "--sessions", "1", *BUSY, *extra]
    assert main([*args, "--json", str(report_path), "--chart", str(chart_path)]) == 0

    report = json.loads(report_path.read_text())
    assert report["benchmark"] == "lesson"
    assert set(report) >= {"command", "parameters", "machine", "result", "ok"}
    assert report["ok"] is True
    result = report["result"]
    assert set(result) >= RESULT_KEYS
    for kind in TIMED:
        latency = result["latency"][kind]
        assert latency["count"] > 0, kind
        assert result["deliveries"][kind] >= latency["count"], kind
        figures = [latency[k] for k in ("min_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms")]
        assert figures == sorted(figures), kind
        assert figures[0] >= 0, kind
    assert result["ack_rtt"]["poll.answer"]["count"] == result["acked"]["poll.answer"] > 0
    seq = result["seq"]
    assert seq["receivers"] == 2 * (3 + 2)
    assert (seq["lost"], seq["duplicates"], seq["out_of_order"], seq["teacher_gaps"]) == (0,) * 4
    assert (seq["signals_lost"], seq["signals_duplicated"]) == (0, 0)
    # Every acked post, stroke, hand, poll, close and answer was compared with what its seq held.
    assert seq["contents_checked"] == sum(result["acked"][c] for c in (*PUBLIC, "poll.answer"))
    assert seq["misplaced"] == 0
    assert result["errors"] == {}
    assert result["closes"] == result["unanswered"] == 0
    assert result["join"]["count"] == 10
    assert result["join"]["p99_ms"] is not None
    assert result["server_peak_rss_mb"] > 0
    assert sum(point["delivered"] for point in result["series"]) > 0

    chart = chart_path.read_text()
    assert "<svg" in chart
    assert chart.count("<polyline") == 3  # p50 and p99, then delivered/s
    assert "<script" not in chart
    assert "http" not in chart.replace('xmlns="http://www.w3.org/2000/svg"', "")
    return result  # type: ignore[no-any-return]


@pytest.mark.slow
def test_tiny_lesson_on_memory_times_every_event_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run(tmp_path)

    assert result["broker"] == "memory://"
    assert "seq check over 10 receivers: lost 0" in capsys.readouterr().out


@pytest.mark.slow
def test_tiny_lesson_on_two_workers_through_the_lobby(tmp_path: Path) -> None:
    required_tool("redis-server")

    result = _run(tmp_path, "--broker", "redis", "--workers", "2", "--lobby")

    assert result["workers"] == 2
    assert result["lobby_wait"]["count"] == 6  # every student waited and was admitted
    assert result["latency"]["lobby.admitted"]["count"] > 0


@pytest.mark.parametrize(
    "change",
    [
        {"students": 0},
        {"classes": 9},
        {"duration": 0.0},
        {"draw_hz": 100.0},  # past the server's board limit per connection
        {"poll_every": 1.0},
        {"media": 2},  # more sessions with real stations than sessions
        {"broker": "ceiling"},
        {"url": "http://10.0.0.1:8000", "api_key": "k"},  # not loopback
    ],
)
def test_refuses_unbounded_or_meaningless_runs(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- the message names the problem; any is fine
        validate(LessonConfig(**change))  # type: ignore[arg-type]


@dataclass
class _Receiver:
    name: str
    session: int
    welcome_seq: int
    seqs: list[int]
    signal_keys: Counter[str] = field(default_factory=Counter)
    is_teacher: bool = False

    @property
    def segments(self) -> list[Segment]:  # one connection, never resumed
        return [Segment("e1", self.welcome_seq, self.seqs)]


def test_seq_check_counts_loss_duplicates_and_disorder() -> None:
    tally = LessonTally(sessions=1)
    for seq in (5, 6, 7, 8):
        tally.ack(0, seq, "e1")
    tally.ack(0, 9, "e1", by="s0c0p1")  # a poll answer: its student and the teachers
    tally.signals_acked |= {"pc1/offer", "pc1/c1"}
    receivers = [
        _Receiver("s0c0p1", 0, 4, [5, 6, 7, 8, 9], Counter({"pc1/offer": 1, "pc1/c1": 2})),
        _Receiver("s0c0p2", 0, 4, [5, 7, 6, 7]),  # 8 lost, 7 twice, 6 after 7
        _Receiver("s0c0t", 0, 6, [7, 8], is_teacher=True),  # joined at 6; 9 lost
    ]

    check = check_seqs(tally, receivers)

    assert check.receivers == 3
    assert check.lost == 2
    assert check.duplicates == 1
    assert check.out_of_order == 1  # 7 -> 6
    assert check.signals_lost == 0
    assert check.signals_duplicated == 1
    assert check.snapshot_resumes == check.snapshot_covered == check.never_delivered == 0


def test_stamps_keys_and_series() -> None:
    text = stamp("hello")
    sent = parse_stamp(text)
    assert sent is not None
    assert sent > 0
    assert text.endswith(" hello")
    assert parse_stamp("hello") is None
    assert signal_key("pc7", {"description": {"type": "offer", "sdp": "v=0"}}) == "pc7/offer"
    candidate = {"candidate": {"candidate": "candidate:3 1 udp 1 203.0.113.7 9 typ host"}}
    assert signal_key("pc7", candidate) == "pc7/c3"

    tally = LessonTally(sessions=1, start_ns=1_000_000_000, end_ns=3_000_000_000)
    tally.delivered("chat.posted", 1_500_000_000, 1_400_000_000)  # second 0, 100 ms
    tally.delivered("peer.cursors", 2_500_000_000, 2_000_000_000)  # second 1, not in latency
    tally.delivered("participant.joined", 500_000_000, None)  # before the start: no second
    points = series(tally)
    assert [(p.second, p.delivered, p.p50_ms) for p in points] == [(0, 1, 100.0), (1, 1, None)]
    assert tally.latencies["peer.cursors"] == array("q", [500_000_000])
    assert tally.window_deliveries == Counter({"chat.posted": 1, "peer.cursors": 1})


def test_classbridge_loadtest_is_the_benchmarks_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        server_main(["loadtest", "lesson", "--students", "0"])

    assert refused.value.code == 2  # load_tests' own parser refused the run
    assert "need >= 1 session of >= 1 student" in capsys.readouterr().err


def test_the_server_does_not_import_the_benchmarks() -> None:
    code = "import sys, server.cli, server.app; print(any('load_tests' in m for m in sys.modules))"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert shown.stdout.strip() == "False"


async def test_scheduler_runs_due_actions_in_order_and_says_when_cut_short() -> None:
    start = time.monotonic_ns()
    done: list[int] = []
    scheduler = Scheduler(start + 200_000_000, limit=10_000)

    def mark(n: int) -> Action:
        return lambda due: done.append(n)

    for n in (3, 1, 2):
        scheduler.at(start + n * 20_000_000, mark(n))
    scheduler.at(start + 300_000_000, lambda due: done.append(99))  # past the end: never
    await scheduler.run()
    assert done == [1, 2, 3]
    assert not scheduler.cut_short

    short = Scheduler(time.monotonic_ns() + 10_000_000_000, limit=3)
    await short.run()
    assert short.cut_short  # reported as an error by the run, never a silent early end
