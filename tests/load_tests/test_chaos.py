"""Chaos under load: the lesson scenario on two workers over a redis-server the tool starts,
while a worker is killed (-9), Redis is killed and started again, and Redis is paused (SIGSTOP
for 3 s). Every simulated client reconnects and resumes; the seq check holds across resumes.

The runs are small and bounded (2 sessions x 2 classes x 3 students, 18 s of lesson). They
check what the tool reports (no event lost or twice for any client, every client back,
reconnects after the worker's death, a recovery time per fault), never how fast.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from load_tests.chaos import schedule
from load_tests.chaos_report import Fault, fault_figures
from load_tests.cli import main
from load_tests.lesson_config import LessonConfig, validate
from load_tests.lesson_resume import FINAL, MAX_BACKOFF, Outage, Segment, backoff, resumable
from load_tests.lesson_stats import LessonTally, check_seqs
from load_tests.lesson_timing import snapshot_identities
from tests.tools import required_tool

SMALL = [
    "lesson", "--sessions", "2", "--classes", "2", "--students", "3", "--ramp", "0.5",
    "--broker", "redis", "--workers", "2", "--quiet",
]  # fmt: skip
S = 1_000_000_000


def _chaos(tmp_path: Path, *extra: str) -> dict[str, Any]:
    required_tool("redis-server")
    report_path, chart_path = tmp_path / "chaos.json", tmp_path / "chaos.html"
    assert main([*SMALL, *extra, "--json", str(report_path), "--chart", str(chart_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["ok"] is True
    result: dict[str, Any] = report["result"]
    seq = result["seq"]
    assert seq["receivers"] == 2 * 2 * (3 + 2)
    assert (seq["lost"], seq["duplicates"], seq["out_of_order"], seq["teacher_gaps"]) == (0,) * 4
    assert seq["misplaced"] == 0 < seq["contents_checked"]  # no ack named another event
    assert result["reconnects"]["not_back"] == 0  # every client came back
    assert result["unanswered"] == 0
    faults = result["chaos"]["faults"]
    chart = chart_path.read_text()
    assert chart.count('stroke-dasharray="4 3"') == 2 * len(faults)  # marked on both charts
    assert all(f">{fault['fault']}</text>" in chart for fault in faults)
    return result


def test_each_fault_once_loses_nothing_and_every_client_comes_back(tmp_path: Path) -> None:
    faults = "kill-worker,restart-redis,pause-redis"
    result = _chaos(tmp_path, "--duration", "18", "--chaos", faults)

    chaos = result["chaos"]
    assert chaos["persistence"] == "aof"
    figures = {f["fault"]: f for f in chaos["faults"]}
    assert list(figures) == faults.split(",")
    killed = figures["kill-worker"]
    assert killed["closed"] > 0  # the busiest worker held clients: they reconnected
    assert killed["resumed_events"] == killed["closed"]  # with exactly the events they missed
    assert killed["back_s"] is not None
    for figure in chaos["faults"]:
        assert figure["recovered_s"] is not None, figure
        assert figure["not_back"] == 0, figure
        assert figure["resumed_snapshot"] == 0, figure  # persistence: the history survives
    reconnects = result["reconnects"]
    assert reconnects["lost"] >= killed["closed"]
    assert reconnects["back"] == reconnects["lost"]
    assert reconnects["back_ms"]["count"] == reconnects["lost"]
    assert result["seq"]["snapshot_resumes"] == 0


def test_a_redis_restart_without_persistence_resumes_into_snapshots(tmp_path: Path) -> None:
    extra = ("--duration", "8", "--chaos", "restart-redis", "--redis-persistence", "none")
    result = _chaos(tmp_path, *extra)

    (restart,) = result["chaos"]["faults"]
    assert restart["closed"] > 0
    assert restart["resumed_snapshot"] == restart["closed"]  # 4009: the history was gone
    assert result["close_codes"].get("4009 history_reset", 0) > 0
    assert result["seq"]["snapshot_resumes"] == restart["closed"]
    # Every acked event reached a client, as an event or in the snapshot it resumed into (an
    # append answered during the recovery is acked with its seq in the rebuilt history).
    assert result["seq"]["never_delivered"] == 0


def test_a_redis_back_short_of_its_last_second_gets_no_ack_wrong(tmp_path: Path) -> None:
    """As ``appendfsync everysec`` after a crash: Redis returns a second behind, in the same
    epoch. The workers restore the log from their replicas; an append that meets the old log
    first is refused rather than handed a seq the lost second used."""
    extra = ("--duration", "10", "--chaos", "restart-redis", "--redis-persistence", "last-second")
    result = _chaos(tmp_path, *extra)

    (restart,) = result["chaos"]["faults"]
    assert restart["closed"] > 0
    assert restart["resumed_snapshot"] == restart["closed"]  # a new epoch from the replicas
    assert result["close_codes"].get("4009 history_reset", 0) > 0
    assert result["seq"]["never_delivered"] == 0


# --- the pieces, without servers --------------------------------------------------------------


@dataclass
class _Resumed:
    name: str
    session: int
    segments: list[Segment]
    signal_keys: Counter[str] = field(default_factory=Counter)
    is_teacher: bool = False


def test_seq_check_holds_across_resumes_and_cuts_at_snapshots() -> None:
    tally = LessonTally(sessions=1)
    for seq in range(5, 10):
        tally.ack(0, seq, "e1")
    tally.ack(0, 11, "e2")
    tally.ack(0, 12, "e2")
    receivers = [
        # Resumed with events after 6: one segment; 8 never came, 7 came twice.
        _Resumed("a", 0, [Segment("e1", 4, [5, 6, 7, 7, 9, 11, 12])]),
        # Resumed from 6 into a snapshot at 8 (same epoch): 7 and 8 are in the snapshot.
        _Resumed("b", 0, [Segment("e1", 4, [5, 6], end=6), Segment("e1", 8, [9])]),
        # A history reset at 9: a new epoch from 10 on; all owed events arrived.
        _Resumed("c", 0, [Segment("e1", 4, [5, 6, 7, 8, 9], end=9), Segment("e2", 10, [11, 12])]),
    ]

    check = check_seqs(tally, receivers)

    assert check.lost == 1  # a's 8
    assert check.duplicates == 1
    assert check.out_of_order == 1  # a's second 7
    assert check.snapshot_resumes == 2  # b and c
    assert check.snapshot_covered == 2  # b's 7 and 8
    assert check.never_delivered == 0


def test_an_acked_event_only_a_snapshot_brought_is_covered_not_never_delivered() -> None:
    tally = LessonTally(sessions=1)
    for seq, epoch in ((5, "e1"), (6, "e1"), (7, "e1"), (12, "e2")):
        tally.ack(0, seq, epoch)
    # Reset after 5 into a snapshot of a new epoch at 7: 6 and 7 came in it.
    receivers = [_Resumed("a", 0, [Segment("e1", 4, [5], end=5), Segment("e2", 7, [8, 9])])]

    check = check_seqs(tally, receivers)

    assert check.snapshot_covered == 2
    assert check.never_delivered == 1  # 12: acked, but neither sent nor in a snapshot


def test_an_ack_whose_seq_held_another_event_is_misplaced() -> None:
    tally = LessonTally(sessions=1)
    posts = {seq: ("chat.posted", 0, f"post {seq}") for seq in (5, 6, 7, 9)}
    for seq, epoch in ((5, "e1"), (6, "e1"), (7, "e1"), (9, "e2")):
        tally.ack(0, seq, epoch, posts[seq])
    # 5 arrived as acked; 6 arrived, but holding another post (the ack reused a lost seq);
    # 7 arrived as another post in one epoch and as acked in the next (a history reset), which
    # is the same event moved; 9 came in a snapshot: not checkable.
    tally.received_identities[0].update(
        {(5, posts[5]), (6, ("chat.posted", 0, "someone else's")), (7, ("hand.raised", 0, "p1"))}
    )
    tally.received_identities[0].add((7, posts[7]))
    segments = [Segment("e1", 4, [5, 6, 7], end=7), Segment("e2", 9, [])]
    receivers = [_Resumed("a", 0, segments)]

    check = check_seqs(tally, receivers)

    assert (check.misplaced, check.contents_checked) == (1, 3)  # 6, of 5, 6 and 7
    assert check.never_delivered == 0


def test_an_ack_a_snapshot_covered_is_checked_against_what_the_snapshot_names() -> None:
    tally = LessonTally(sessions=1)
    posts = {seq: ("chat.posted", 0, f"post {seq}") for seq in (6, 7, 8)}
    for seq in (6, 7, 8):
        tally.ack(0, seq, "e1", posts[seq])
    # Reset after 5 into a snapshot at 8: 6, 7 and 8 came in it. Its chat names 6 as acked,
    # 7 as another post (the ack named the wrong one), and not 8 (kept out of its chat).
    session = {"chat": [{"id": 6, "text": "post 6"}, {"id": 7, "text": "another"}], "polls": []}
    tally.snapshot_identities[0].update(snapshot_identities(0, session))
    receivers = [_Resumed("a", 0, [Segment("e1", 4, [5], end=5), Segment("e2", 8, [])])]

    check = check_seqs(tally, receivers)

    assert check.snapshot_covered == 3
    assert (check.misplaced, check.contents_checked) == (1, 2)  # 7, of 6 and 7
    assert check.never_delivered == 0


def test_an_ack_one_receiver_got_is_checked_though_another_had_it_in_a_snapshot() -> None:
    tally = LessonTally(sessions=1)
    tally.ack(0, 6, "e1", ("board", 0, "stroke-1", 0))
    tally.received_identities[0].add((6, ("board", 0, "stroke-2", 0)))  # another stroke
    receivers = [
        _Resumed("a", 0, [Segment("e1", 4, [5, 6])]),
        _Resumed("b", 0, [Segment("e1", 4, [5], end=5), Segment("e1", 7, [])]),  # 6 covered
    ]

    check = check_seqs(tally, receivers)

    assert (check.misplaced, check.contents_checked) == (1, 1)


def test_a_poll_answer_is_checked_and_owed_like_the_public_events() -> None:
    tally = LessonTally(sessions=1)
    answer = ("poll.answered", 0, 3, "p-student")
    tally.ack(0, 6, "e1", answer, by="student")
    tally.ack(0, 7, "e1", answer, by="student")
    tally.received_identities[0].add((6, ("poll.answered", 0, 3, "p-other")))
    receivers = [_Resumed("teacher", 0, [Segment("e1", 4, [5, 6])], is_teacher=True)]

    check = check_seqs(tally, receivers)

    assert (check.misplaced, check.contents_checked) == (1, 1)  # 6 held another's answer
    assert check.never_delivered == 1  # 7 reached nobody


def test_two_acks_naming_one_seq_are_both_checked() -> None:
    # A log back short of its last writes gave a lost post's seq to another post: both were
    # acked with seq 6. Receivers got 6 once, holding the later post; the earlier is lost.
    tally = LessonTally(sessions=1)
    lost, kept = ("chat.posted", 0, "lost with the log"), ("chat.posted", 0, "written after")
    tally.ack(0, 6, "e1", lost)
    tally.ack(0, 6, "e1", kept)
    tally.received_identities[0].add((6, kept))
    receivers = [_Resumed("a", 0, [Segment("e1", 5, [6])])]

    check = check_seqs(tally, receivers)

    assert (check.misplaced, check.contents_checked) == (1, 2)
    assert (check.lost, check.duplicates, check.never_delivered) == (0, 0, 0)


def test_a_seq_acked_in_two_epochs_is_owed_in_each() -> None:
    # 7 acked in e1, then the history was reset and 7 acked again in e2 for another event.
    # A receiver that stayed in e1 and never got 7 lost it, whatever e2 did with the seq.
    tally = LessonTally(sessions=1)
    tally.ack(0, 7, "e1")
    tally.ack(0, 7, "e2")
    receivers = [
        _Resumed("a", 0, [Segment("e1", 5, [6])]),
        _Resumed("b", 0, [Segment("e2", 6, [7])]),
    ]

    check = check_seqs(tally, receivers)

    assert check.lost == 1  # a's 7 of e1


def test_backoff_is_immediate_after_a_history_reset_and_bounded() -> None:
    rng = random.Random(1)
    assert backoff(0, 4009, rng) == 0.0
    delays = [backoff(attempt, 1006, rng) for attempt in range(30)]
    assert all(0 <= delay <= MAX_BACKOFF for delay in delays)
    assert max(delays[10:]) > max(delays[:2])  # it grows
    assert resumable(1006)
    assert resumable(4008)
    assert resumable(4009)
    assert not any(resumable(code) for code in FINAL)  # removed, ended, barred ...


def test_recovery_figures_per_fault() -> None:
    start = 10 * S
    ticks = [10] * 100  # 100 events/s for 10 s, at 100 ms steps
    for tick in range(40, 55):  # a fault at 4 s: nothing delivered for 1.5 s
        ticks[tick] = 0
    fault = Fault("kill-worker", start + 4 * S, done_ns=start + 4 * S, first_fresh_ns=start + 5 * S)
    outages = [
        Outage("a", 1006, start + 4 * S + S // 10, back_ns=start + 4 * S + S // 2),
        Outage("b", 1006, start + 4 * S + S // 10, back_ns=start + 6 * S),
        Outage("c", 1006, start + S, back_ns=start + 2 * S),  # before the fault: not its own
    ]

    (figures,) = fault_figures([fault], outages, ticks, start)

    assert figures.closed == figures.resumed_events + 2 == 2  # resumed "" in this test
    assert figures.back_s == 2.0
    assert figures.flowing_s == 1.0
    assert figures.recovered_s == 2.0  # the later of the two
    assert figures.rate_before == 100.0
    assert figures.rate_low == 0.0
    assert figures.rate_back_s is not None
    assert 1.5 < figures.rate_back_s < 3.0

    lull = [10] * 100
    lull[80:90] = [0] * 10  # 4 s after the fault, long after it was injected: not its doing
    (calm,) = fault_figures([fault], [], lull, start)
    assert (calm.rate_low, calm.rate_back_s) == (0.0, 0.0)
    assert calm.back_s is None  # nobody dropped


def test_faults_are_spread_evenly_and_refused_where_they_cannot_run() -> None:
    config = LessonConfig(broker="redis", duration=20, chaos=("kill-worker", "pause-redis"))
    validate(config)
    assert schedule(config) == pytest.approx([20 / 3, 40 / 3])
    for change in (
        {"chaos": ("kill-worker",)},  # memory://: no worker to kill, no Redis
        {"broker": "redis", "chaos": ("unplug-cable",)},
        {"broker": "redis", "duration": 6, "chaos": ("kill-worker", "pause-redis")},
        {"broker": "redis", "chaos": ("pause-redis",), "pause_seconds": 60.0},
        {"broker": "redis", "duration": 16, "chaos": ("pause-redis",) * 3, "pause_seconds": 8},
        {"broker": "redis", "chaos": ("restart-redis",), "redis_persistence": "rdb"},
    ):
        with pytest.raises(ValueError):  # noqa: PT011 -- the message names the problem
            validate(LessonConfig(**change))
