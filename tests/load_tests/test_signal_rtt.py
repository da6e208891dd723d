"""The signaling benchmark at a tiny size, against a real spawned server (memory://).

These check that it measures what it says (every request answered once, round trips and
one-way times present, the report has its fields); never its speed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from load_tests.cli import main
from load_tests.signal_client import make_sdp
from load_tests.signal_config import SignalConfig, validate
from load_tests.signal_report import build_signal_report, format_signal_table
from load_tests.signal_run import run_signal

TINY = SignalConfig(
    pairs=2, rates=(40.0,), duration=1.5, warmup=0.3, description_share=0.5,
    systems=("memory",), progress=False,
)  # fmt: skip


@pytest.mark.slow
async def test_tiny_run_answers_every_signal_once() -> None:
    results = await run_signal(TINY)

    (system,) = results.values()
    assert system.placement.split is None  # one worker: nothing to split
    assert system.placement.connections == 2 * TINY.pairs
    (rate,) = system.rates
    assert rate.sent_total > 0
    assert rate.answered_total == rate.replies_total == rate.sent_total
    assert (rate.lost, rate.late, rate.duplicates, rate.strays, rate.error_count) == (0,) * 5
    assert rate.acks == rate.sent_total + rate.replies_total
    assert rate.rtt.count == rate.sent > 0
    assert rate.one_way.count == rate.one_way_back.count == rate.sent
    assert rate.one_way.min_ms is not None
    assert rate.rtt.min_ms is not None
    assert rate.one_way.min_ms <= rate.rtt.min_ms  # each trip's first leg is part of it
    assert sum(s.count for s in rate.rtt_by_kind.values()) == rate.rtt.count
    assert rate.redis_commands is None

    report = json.loads(json.dumps(build_signal_report(TINY, results, "test", 1.0)))
    (figures,) = report["systems"].values()
    assert set(figures) >= {"placement", "rates", "workers"}
    (row,) = figures["rates"]
    assert set(row) >= {
        "rtt", "rtt_from_schedule", "one_way", "one_way_back", "rtt_by_kind", "lost", "late",
        "errors", "server_cpu_share", "redis_cpu_share", "redis_commands", "generator_cpu_share",
    }  # fmt: skip
    assert set(row["rtt"]) >= {"p50_ms", "p95_ms", "p99_ms", "max_ms"}
    assert "classbridge" in format_signal_table(report, results)


@pytest.mark.slow
def test_cli_writes_the_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "signal.json"
    args = ["signal-rtt", "--pairs", "1", "--rates", "20", "--duration", "0.6", "--warmup"]
    args += ["0.2", "--systems", "memory", "--format", "json", "--quiet", "--json", str(path)]
    assert main(args) == 0

    report = json.loads(path.read_text())
    assert report["benchmark"] == "signal-rtt"
    (rate,) = report["systems"]["classbridge"]["rates"]
    assert rate["lost"] == rate["error_count"] == 0
    assert "signal round trips" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change",
    [
        {"pairs": 0},
        {"rates": ()},
        {"rates": (0.0,)},
        {"systems": ("ceiling",)},
        {"sdp_bytes": 40_000},  # past the server's limit for description.sdp
        {"loss_timeout": 0.0},
        {"split_attempts": 0},
    ],
)
def test_refuses_unbounded_or_meaningless_runs(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- the message names the problem; any is fine
        validate(SignalConfig(**change))  # type: ignore[arg-type]


def test_sdp_has_the_asked_size_and_the_shape_of_an_sdp() -> None:
    sdp = make_sdp(3500)
    assert len(sdp) == 3500
    assert sdp.startswith("v=0\r\n")
    assert "m=video" in sdp
