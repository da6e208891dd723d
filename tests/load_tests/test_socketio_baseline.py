"""The python-socketio baseline of the chat benchmark and the capacity search, at a tiny size.

Real spawned servers through the real command line: every acked chat must reach every client
of its room exactly once over socket.io's own framing, as it must over Classbridge's. The
search's rules (when a step fails, that the search stops there) are checked on figures built
from tallies. Never speed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from load_tests.capacity import (
    CapacityConfig,
    Step,
    SystemCapacity,
    step_failures,
    validate_capacity,
)
from load_tests.capacity_report import common_step, efficiency, ratios, targets
from load_tests.cli import main
from load_tests.config import FanoutConfig
from load_tests.sio_client import chat_packet, engine_url
from load_tests.stats import RateResult, Samples, rate_result
from load_tests.tally import PhaseTally, Window, check_deliveries
from tests.tools import required_tool

TINY = ["--sessions", "2", "--clients", "3", "--senders", "1", "--ramp", "0.2", "--quiet"]
STEPS = ["--start-rate", "20", "--factor", "2", "--duration", "0.6", "--warmup", "0.2"]
STEPS += ["--arrival", "uniform", "--drain-timeout", "2"]


def _fanout(tmp_path: Path, systems: str, *extra: str) -> dict[str, Any]:
    path = tmp_path / "report.json"
    args = ["chat-fanout", "--systems", systems, "--rates", "30", "--duration", "1"]
    assert main([*args, "--warmup", "0.6", *TINY, *extra, "--json", str(path)]) == 0
    report: dict[str, Any] = json.loads(path.read_text())
    return report


def _assert_every_chat_delivered_once(result: dict[str, Any], clients: int = 3) -> None:
    assert result["sent_total"] > 0
    assert result["acked_total"] == result["sent_total"]
    assert result["expected_deliveries"] == result["acked_total"] * clients
    assert result["deliveries_total"] == result["expected_deliveries"]
    assert (result["lost"], result["duplicates"], result["unexpected"]) == (0, 0, 0)
    assert result["unacked"] == 0
    assert result["errors"] == {}
    latency = result["latency"]
    assert latency["count"] == result["sent"] * clients  # one per measured delivery
    assert latency["p50_ms"] is not None
    assert latency["p99_ms"] is not None
    assert 0 <= latency["min_ms"] <= latency["p50_ms"] <= latency["p99_ms"] <= latency["max_ms"]
    assert result["server_cpu_s"] is not None
    assert result["server_peak_rss_mb"] > 0


@pytest.mark.slow
def test_socketio_system_delivers_every_chat_once(tmp_path: Path) -> None:
    report = _fanout(tmp_path, "socketio")

    assert list(report["systems"]) == ["socketio"]
    (result,) = report["systems"]["socketio"]
    _assert_every_chat_delivered_once(result)
    assert result["out_of_order"] == 0  # one process numbers each room's chats in order
    assert result["broker"] == "in-memory"


@pytest.mark.slow
def test_socketio_on_workers_over_redis_delivers_every_chat_once(tmp_path: Path) -> None:
    required_tool("redis-server")
    report = _fanout(tmp_path, "socketio-redis", "--redis-workers", "2")

    (result,) = report["systems"]["sio-redis-2w"]
    _assert_every_chat_delivered_once(result)
    assert result["server_workers"] == 2
    assert len(result["healthz_workers"]) == 2  # both workers answered before the clients came
    commands = result["redis_commands"]
    # The AsyncRedisManager publishes every emit, and the handler takes each seq from INCR.
    assert commands["by_command"]["publish"] >= commands["appended"] == result["acked_total"]
    assert commands["by_command"]["incrby"] == commands["appended"]


@pytest.mark.slow
def test_capacity_search_reports_each_system(tmp_path: Path) -> None:
    path = tmp_path / "capacity.json"
    # Enough work per step for the CPU time /proc reports (10 ms ticks) to be more than zero:
    # a Classbridge step of 40 msg/s over 0.6 s costs it less than one tick.
    steps = [*STEPS, "--start-rate", "150", "--duration", "1.5"]
    args = ["chat-capacity", "--systems", "memory,socketio", *TINY, *steps, "--max-steps", "2"]
    # Limits no loopback run misses, however busy the machine: the steps pass on what they
    # deliver (no loss, no duplicate), not on speed.
    limits = ["--p99-ms", "10000", "--delivered-share", "0.5"]
    assert main([*args, *limits, "--json", str(path)]) == 0

    report = json.loads(path.read_text())
    assert report["benchmark"] == "chat-capacity"
    assert report["ladder"] == [150.0, 300.0]
    assert list(report["systems"]) == ["classbridge", "socketio"]
    for system in report["systems"].values():
        assert [step["offered_rate"] for step in system["steps"]] == [150.0, 300.0]
        assert all(step["passed"] and not step["failures"] for step in system["steps"])
        for step in system["steps"]:
            _assert_every_chat_delivered_once(step["result"])
        delivered = [step["result"]["delivered_per_s"] for step in system["steps"]]
        assert system["capacity_per_s"] == max(delivered)
        assert system["limit_found"] is False  # every step passed: capacity is a floor
    assert report["common_rate"] == 300.0
    assert set(report["efficiency"]) == {"classbridge", "socketio"}
    (ratio,) = report["ratios"]
    assert (ratio["system"], ratio["baseline"]) == ("classbridge", "socketio")
    assert ratio["capacity_ratio"] is not None
    assert ratio["efficiency_ratio"] is not None
    figures = {(t["system"], t["baseline"], t["figure"]) for t in report["targets"]}
    assert ("classbridge", "socketio", "capacity") in figures
    assert ("classbridge", "ceiling", "efficiency") in figures


@pytest.mark.slow
def test_capacity_search_stops_at_the_first_failing_step(tmp_path: Path) -> None:
    path = tmp_path / "capacity.json"
    args = ["chat-capacity", "--systems", "socketio", *TINY, *STEPS, "--max-steps", "3"]
    # No delivery takes under a microsecond: the first step fails on p99, the search ends.
    assert main([*args, "--p99-ms", "0.001", "--json", str(path)]) == 0

    system = json.loads(path.read_text())["systems"]["socketio"]
    (step,) = system["steps"]
    assert step["passed"] is False
    assert "p99" in step["failures"][0]
    assert system["capacity_per_s"] is None
    assert system["limit_found"] is True
    assert system["stopped_by"].startswith("at 20/s")


def _result(sent: int = 10, clients: int = 3, lost: int = 0) -> RateResult:
    """The figures of a step in which ``sent`` chats were acked and all but ``lost`` deliveries
    came in, 1 ms after their send, inside a 1 s window."""
    tally = PhaseTally(0, float(sent), sessions=1, window=Window(0, 10**9))
    for seq in range(1, sent + 1):
        tally.on_sent(True, 0)
        tally.on_ack(0, seq)
    received = [set(range(1, sent + 1)) for _ in range(clients)]
    received[0] -= set(range(1, lost + 1))
    tally.unique_deliveries = tally.window_deliveries = sent * clients - lost
    tally.latencies_ns.extend([1_000_000] * (sent * clients - lost))
    check = check_deliveries(tally, [received])
    return rate_result(tally, check, Samples(None, None, 0.0), clients, 0.0)


def test_step_failures_name_each_broken_criterion() -> None:
    config = CapacityConfig(FanoutConfig(), p99_limit_ms=100.0)

    assert step_failures(_result(), config) == []
    slow = replace(_result(), latency=replace(_result().latency, p99_ms=150.0))
    assert step_failures(slow, config) == ["p99 150.0 ms >= 100 ms"]
    lossy = _result(sent=100, lost=20)
    assert step_failures(lossy, config) == [
        "20 lost, 0 unacked",
        "delivered 93% of ideal < 95%",  # 280 of 100 x 3
    ]
    assert step_failures(replace(_result(), duplicates=1), config) == ["1 duplicates, 0 unexpected"]


def test_capacity_is_the_best_step_before_the_first_failure() -> None:
    ok_low, ok_high = _result(sent=10), _result(sent=40)
    failed = replace(_result(sent=80), lost=1)
    search = SystemCapacity([Step(ok_low, [], False), Step(ok_high, [], False)])
    stopped = SystemCapacity([*search.steps, Step(failed, ["1 lost"], False)])

    assert search.capacity_per_s == stopped.capacity_per_s == ok_high.delivered_per_s
    assert (search.limit_found, stopped.limit_found) == (False, True)
    assert common_step({"a": search, "b": stopped}) == 1
    assert common_step({"a": search, "b": SystemCapacity([Step(failed, ["x"], False)])}) is None
    assert efficiency({"a": search}, None) == {}


def test_each_pair_is_also_compared_at_the_highest_step_both_passed() -> None:
    def step(rate: float, per_cpu_s: float, passed: bool = True) -> Step:
        result = replace(_result(), offered_rate=rate, delivered_per_cpu_s=per_cpu_s)
        return Step(result, [] if passed else ["p99"], False)

    searches = {
        "classbridge": SystemCapacity([step(100, 300.0), step(200, 500.0), step(400, 800.0)]),
        "socketio": SystemCapacity([step(100, 100.0), step(200, 125.0), step(400, 90.0, False)]),
        "sio-redis-1w": SystemCapacity([step(100, 50.0), step(200, 40.0, False)]),
    }
    step_all = common_step(searches)
    rows = ratios(searches, efficiency(searches, step_all))
    against_socketio = next(row for row in rows if row["baseline"] == "socketio")

    assert step_all == 0
    assert against_socketio["efficiency_ratio"] == 3.0  # at 100/s, held down by sio-redis-1w
    assert against_socketio["pair_rate"] == 200  # the highest step socketio passed
    assert against_socketio["pair_efficiency_ratio"] == 4.0
    never = SystemCapacity([step(100, 10.0, False)])
    row = ratios({"classbridge": searches["classbridge"], "socketio": never}, {})[0]
    assert (row["pair_rate"], row["pair_efficiency_ratio"]) == (None, None)


def test_socketio_client_packets() -> None:
    assert (
        engine_url("ws://127.0.0.1:9/ws") == "ws://127.0.0.1:9/socket.io/?EIO=4&transport=websocket"
    )
    packet = chat_packet(7, 'a "quoted" text')
    assert packet.startswith("427[")
    assert json.loads(packet[3:]) == ["chat", {"text": 'a "quoted" text'}]


def test_the_ladder_is_bounded_and_checked() -> None:
    config = CapacityConfig(FanoutConfig(), start_rate=100.0, factor=1.5, max_steps=4)
    assert config.ladder() == (100.0, 150.0, 225.0, 337.5)
    validate_capacity(config)
    with pytest.raises(ValueError, match="factor"):
        validate_capacity(replace(config, factor=1.0))
    with pytest.raises(ValueError, match="rates"):  # the top step past what a run may offer
        validate_capacity(replace(config, start_rate=40_000.0))


@pytest.mark.parametrize(
    ("ratio", "system_limit", "baseline_limit", "met"),
    [
        (5.0, True, True, True),
        (3.0, True, True, False),
        # The system's search found no limit: its capacity and the ratio are floors.
        (5.0, False, True, True),
        (3.0, False, True, None),
        # The baseline's search found no limit: the ratio is a ceiling.
        (3.0, True, False, False),
        (5.0, True, False, None),
        # Two floors bound nothing, whatever their ratio.
        (1.0, False, False, None),
        (9.0, False, False, None),
    ],
)
def test_a_capacity_target_is_decided_only_as_far_as_the_searches_bound_it(
    ratio: float, system_limit: bool, baseline_limit: bool, met: bool | None
) -> None:
    rows: list[dict[str, Any]] = [
        {
            "system": "classbridge",
            "baseline": "socketio",
            "capacity_ratio": ratio,
            "efficiency_ratio": None,
        }
    ]
    systems = {
        "classbridge": {"limit_found": system_limit, "lower_bound": False},
        "socketio": {"limit_found": baseline_limit, "lower_bound": False},
    }
    (verdict,) = [t for t in targets(rows, systems) if t["figure"] == "capacity"]
    assert verdict["ratio"] == ratio
    assert verdict["met"] is met
    assert bool(verdict["why"]) is (not (system_limit and baseline_limit))


def test_a_search_the_generator_ended_gives_a_floor_even_at_a_failing_step() -> None:
    rows: list[dict[str, Any]] = [
        {
            "system": "classbridge",
            "baseline": "socketio",
            "capacity_ratio": 3.0,
            "efficiency_ratio": None,
        }
    ]
    systems = {
        "classbridge": {"limit_found": True, "lower_bound": True},
        "socketio": {"limit_found": True, "lower_bound": False},
    }
    (verdict,) = [t for t in targets(rows, systems) if t["figure"] == "capacity"]
    assert verdict["met"] is None
