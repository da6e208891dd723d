"""The whiteboard benchmark at a tiny size, against a real spawned server (memory://).

These check that the benchmark measures what it says (every acked board op reaches every
client of its session exactly once, latencies are real, every client ends with the same
board as the server, the report has its fields); never its speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgpack
import pytest

from load_tests.board_config import BoardConfig, validate
from load_tests.board_report import build_board_report, format_board_table
from load_tests.board_run import run_board
from load_tests.cli import main
from load_tests.frames import split_frame

TINY = BoardConfig(
    students=3, watchers=2, duration=1.5, warmup=0.3, ramp=0.2, drain_timeout=5.0,
    systems=("memory",), progress=False,
)  # fmt: skip
CURSOR_INTERVAL = 0.05  # the server's: one peer.cursors per client per 50 ms at most


@pytest.mark.slow
async def test_tiny_run_delivers_every_op_once_and_every_board_converges() -> None:
    results = await run_board(TINY)

    (result,) = results.values()
    rate, board, convergence = result.rate, result.board, result.convergence
    assert rate.sent_total > 0
    assert rate.acked_total == rate.sent_total
    assert rate.expected_deliveries == rate.acked_total * TINY.clients
    assert rate.deliveries_total == rate.expected_deliveries
    assert (rate.lost, rate.duplicates, rate.unexpected, rate.unacked) == (0, 0, 0, 0)
    assert rate.errors == {}  # no rate_limited at the server's default limits
    assert rate.out_of_order == 0  # one ordered log per session
    assert rate.latency.count == rate.sent * TINY.clients  # one per delivery of a measured op
    figures = [rate.latency.min_ms, rate.latency.p50_ms, rate.latency.p99_ms, rate.latency.max_ms]
    assert all(value is not None and value >= 0 for value in figures)
    assert figures == sorted(figures)  # type: ignore[type-var]

    assert convergence.checked
    assert convergence.converged
    assert convergence.distinct == [1]
    assert convergence.records[0] > 0
    assert convergence.open_strokes == [0]  # every stroke was ended before the check
    assert convergence.svg_fetched > 0
    assert convergence.svg_matching == convergence.svg_fetched

    assert board.receivers == TINY.clients
    assert board.messages["board"] > 0
    assert board.board_bytes_per_op is not None
    assert board.received_bytes_per_op is not None
    assert board.received_bytes_per_op > board.board_bytes_per_op > 0
    # Counted, not timed: the server flushes cursors at most once per interval, so a client
    # cannot get more than window / interval of them (a few more for arrival jitter).
    most = TINY.duration / CURSOR_INTERVAL + 10
    assert 0 < board.cursor_msgs_per_client_s_max * TINY.duration <= most

    report = json.loads(json.dumps(build_board_report(TINY, results, "test", 1.0)))
    (system,) = report["systems"].values()
    assert set(system) >= {"latency", "lost", "duplicates", "errors", "server_cpu_s", "board"}
    assert set(system["board"]) >= {
        "cursor_msgs_per_client_s", "board_bytes_per_op", "received_bytes_per_op", "bytes"
    }  # fmt: skip
    assert system["convergence"]["converged"] is True
    assert "classbridge" in format_board_table(report, results)


@pytest.mark.slow
def test_cli_json_format_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "board.json"
    args = ["board-draw", "--students", "2", "--watchers", "1", "--duration", "0.6"]
    args += ["--warmup", "0.2", "--ramp", "0.1", "--systems", "memory", "--format", "json"]
    assert main([*args, "--quiet", "--json", str(path)]) == 0

    report = json.loads(path.read_text())
    assert report["benchmark"] == "board-draw"
    assert report["parameters"]["wire_format"] == "json"
    result = report["systems"]["classbridge"]
    assert result["lost"] == result["duplicates"] == result["error_count"] == 0
    assert result["deliveries_total"] == result["expected_deliveries"] > 0
    assert result["convergence"]["converged"] is True
    assert "board draw" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change",
    [
        {"students": 0},
        {"draw_hz": 0.0},
        {"systems": ("ceiling",)},
        {"stroke_seconds": (2.0, 1.0)},
        {"students": 200, "duration": 120.0},  # would pass the board's 5000 records
        {"board_ops_per_second": 0},
    ],
)
def test_refuses_unbounded_or_meaningless_runs(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- the message names the problem; any is fine
        validate(BoardConfig(**change))  # type: ignore[arg-type]


def test_server_limits_keep_the_defaults_unless_asked() -> None:
    assert BoardConfig().server_limits() == []
    limits = BoardConfig(board_ops_per_second=100).server_limits()
    assert limits == ["--board-ops-per-second", "100", "--board-ops-burst", "200"]


@pytest.mark.parametrize("wire", ["msgpack", "json"])
def test_split_frame_measures_each_message_of_a_batch(wire: str) -> None:
    first = {"type": "event", "seq": 7, "kind": "board.appended", "data": {"points": [1, 2]}}
    second = {"type": "peer.cursors", "cursors": [{"from": "p", "x": 3, "y": 4}]}
    if wire == "msgpack":
        encode = msgpack.packb
        frame: bytes | str = msgpack.packb([first, second])
    else:

        def encode(item: object) -> str:
            return json.dumps(item, separators=(",", ":"))

        frame = encode([first, second])

    items = split_frame(frame)

    assert [item for item, _ in items] == [first, second]
    assert [size for _, size in items] == [len(encode(first)), len(encode(second))]
    framing = len(frame) - sum(size for _, size in items)
    assert framing == (1 if wire == "msgpack" else 3)  # array header; or brackets and comma
    assert split_frame(encode(first)) == [(first, len(encode(first)))]
