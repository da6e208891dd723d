"""The chat fan-out benchmark at a tiny size, against real spawned servers.

These check that the benchmark measures what it says (every acked chat reaches every client of
its session exactly once, latencies are real, the report has its fields); never its speed.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
from collections.abc import Hashable, Sequence
from pathlib import Path

import pytest

from load_tests.cli import main
from load_tests.config import FanoutConfig, check_loopback
from load_tests.fanout import run_benchmark
from load_tests.report import build_report
from load_tests.schedule import arrival_offsets, deal
from load_tests.stats import percentile
from load_tests.tally import PhaseTally, Window, check_deliveries

TINY = FanoutConfig(
    sessions=2,
    clients=3,
    senders=1,
    rates=(30.0,),
    duration=1.0,
    warmup=0.3,
    ramp=0.2,
    progress=False,
)
RATE_FIELDS = {
    "offered_rate", "sent_per_s", "delivered_per_s", "latency", "lost", "duplicates", "errors",
    "server_cpu_s", "server_peak_rss_mb", "delivered_per_server_cpu_s", "generator_cpu_share",
}  # fmt: skip


@pytest.mark.slow
async def test_tiny_run_delivers_every_chat_to_every_client_once() -> None:
    results = await run_benchmark(TINY)

    assert set(results) == {"classbridge", "ceiling"}
    for name, (result,) in results.items():
        assert result.sent_total > 0, name
        assert result.acked_total == result.sent_total, name
        assert result.expected_deliveries == result.acked_total * TINY.clients, name
        assert result.deliveries_total == result.expected_deliveries, name
        assert (result.lost, result.duplicates, result.unexpected, result.unacked) == (0, 0, 0, 0)
        assert result.errors == {}, name
        latency = result.latency
        assert latency.count == result.sent * TINY.clients, name  # one per measured delivery
        figures = [latency.min_ms, latency.p50_ms, latency.p95_ms, latency.p99_ms, latency.max_ms]
        present = [value for value in figures if value is not None]
        assert len(present) == len(figures), name
        assert present == sorted(present), name
        assert present[0] >= 0, name
        # Measured from when each send was due, never earlier than from when it went out.
        scheduled = result.latency_from_schedule
        assert scheduled.count == latency.count, name
        assert scheduled.p99_ms is not None, name
        assert latency.p99_ms is not None, name
        assert scheduled.p99_ms >= latency.p99_ms, name
        assert result.server_cpu_s is not None
        assert result.server_cpu_s >= 0
        assert result.server_peak_rss_mb is not None
        assert result.server_peak_rss_mb > 0
    assert results["classbridge"][0].out_of_order == 0  # one ordered log per session

    report = json.loads(json.dumps(build_report(TINY, results, "test", 1.0)))
    assert set(report) >= {"parameters", "machine", "systems", "comparison"}
    assert report["machine"]["cpu_count"] >= 1
    assert report["machine"]["note"]
    for rates in report["systems"].values():
        assert set(rates[0]) >= RATE_FIELDS
    assert set(report["comparison"][0]) == {
        "offered_rate", "delivered_per_cpu_s_ratio", "p99_ratio", "delivered_per_s_ratio"
    }  # fmt: skip


@pytest.mark.slow
def test_cli_writes_the_json_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "report.json"
    args = ["chat-fanout", "--sessions", "1", "--clients", "2", "--senders", "1", "--rates", "20"]
    args += ["--duration", "0.5", "--warmup", "0.2", "--ramp", "0.1", "--format", "json"]
    assert main([*args, "--no-ceiling", "--quiet", "--json", str(path)]) == 0

    report = json.loads(path.read_text())
    (result,) = report["systems"]["classbridge"]
    assert result["lost"] == result["duplicates"] == 0
    assert result["deliveries_total"] == result["expected_deliveries"] > 0
    assert report["parameters"]["wire_format"] == "json"
    assert "classbridge" in capsys.readouterr().out


@pytest.mark.parametrize("url", ["http://10.1.2.3:8000", "http://example.org", "ftp://127.0.0.1"])
def test_refuses_targets_off_loopback(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 -- the message names the host; any is fine
        check_loopback(url)
    with pytest.raises(SystemExit):
        main(["chat-fanout", "--url", url, "--api-key", "k"])


def test_a_url_whose_server_no_system_would_measure_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["chat-fanout", "--url", "http://127.0.0.1:9", "--api-key", "k", "--systems", "redis"]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "the server at --url is the system memory" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "ws://localhost:1/ws", "http://[::1]:9"])
def test_accepts_loopback_targets(url: str) -> None:
    check_loopback(url)


def test_delivery_check_counts_losses_and_strays() -> None:
    tally = PhaseTally(0, 10.0, sessions=2, window=Window(0, 1))
    tally.acked = [{1, 2, 3}, {7}]
    received = [[{1, 2, 3}, {1, 3, 4}], [{7}, set()]]

    check = check_deliveries(tally, received)

    assert (check.lost, check.unexpected, check.receivers_short) == (2, 1, 2)
    assert tally.expected_deliveries(clients_per_session=2) == 8


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert [percentile(values, q) for q in (0.5, 0.95, 0.99, 1.0)] == [50, 95, 99, 100]
    assert percentile([5], 0.99) == 5


@pytest.mark.parametrize("arrival", ["poisson", "uniform"])
def test_arrivals_stay_inside_the_span_at_about_the_rate(arrival: str) -> None:
    offsets = list(arrival_offsets(200.0, 5.0, arrival, random.Random(3)))
    assert offsets == sorted(offsets)
    assert all(0 <= t < 5.0 for t in offsets)
    assert 800 <= len(offsets) <= 1200


def _gaps_by_sender(dealt: Sequence[tuple[float, Hashable]]) -> dict[Hashable, list[float]]:
    times: dict[Hashable, list[float]] = {}
    for offset, sender in dealt:
        times.setdefault(sender, []).append(offset)
    return {s: [b - a for a, b in itertools.pairwise(t)] for s, t in times.items()}


def test_poisson_sends_give_each_session_a_poisson_stream_of_its_own() -> None:
    # Exponential gaps have a standard deviation equal to their mean. Dealt in turn among 10,
    # each session's gaps would be sums of 10 exponential ones: a deviation of a third of the
    # mean, so a session would rarely see two posts close together.
    rng = random.Random(5)
    sessions = list(range(10))
    dealt = list(deal(arrival_offsets(300.0, 60.0, "poisson", rng), sessions, "poisson", rng))
    for gaps in _gaps_by_sender(dealt).values():
        mean = statistics.fmean(gaps)
        assert 1 / 30 * 0.85 < mean < 1 / 30 * 1.15
        assert 0.85 < statistics.pstdev(gaps) / mean < 1.15


def test_uniform_sends_are_dealt_in_turn() -> None:
    rng = random.Random(5)
    offsets = arrival_offsets(100.0, 1.0, "uniform", rng)
    dealt = list(deal(offsets, ["a", "b", "c"], "uniform", rng))
    assert [sender for _, sender in dealt[:7]] == ["a", "b", "c", "a", "b", "c", "a"]
    for gaps in _gaps_by_sender(dealt).values():
        assert all(abs(gap - 0.03) < 1e-9 for gap in gaps)
