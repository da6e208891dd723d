"""``chat-fanout --rounds N``: every system once per round, and each ratio's spread over them.

The run itself is checked against real spawned servers (Classbridge and the ceiling); the
order of the rounds and the summary's arithmetic are checked on their own.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from load_tests.cli import main
from load_tests.config import FanoutConfig, validate
from load_tests.report import spread
from load_tests.rounds import Results, round_order, run_rounds
from load_tests.servers import REPO_ROOT


def test_every_other_round_runs_the_systems_in_reverse() -> None:
    systems = ("memory", "socketio", "ceiling-raw")
    orders = [round_order(systems, index) for index in range(4)]
    assert orders == [systems, systems[::-1], systems, systems[::-1]]


async def test_rounds_keep_the_first_rounds_order_whatever_order_they_ran_in() -> None:
    ran: list[tuple[str, ...]] = []

    async def run_round(systems: tuple[str, ...]) -> Results:
        ran.append(systems)
        # Row labels differ from system names ("cb-redis-2w" for "redis"), as in a real run.
        return {f"row-{name}": [] for name in systems}

    rounds = await run_rounds(("a", "b", "c"), 3, run_round)

    assert ran == [("a", "b", "c"), ("c", "b", "a"), ("a", "b", "c")]
    assert [list(one) for one in rounds] == [["row-a", "row-b", "row-c"]] * 3


def test_spread_gives_the_median_lowest_and_highest_of_the_figures_there_are() -> None:
    assert spread([2.5, 3.5, 3.0]) == {
        "rounds": [2.5, 3.5, 3.0],
        "median": 3.0,
        "min": 2.5,
        "max": 3.5,
    }
    # A round without a figure (no CPU reading) keeps its place but is left out of the rest.
    assert spread([None, 4.0]) == {"rounds": [None, 4.0], "median": 4.0, "min": 4.0, "max": 4.0}
    assert spread([None]) == {"rounds": [None], "median": None, "min": None, "max": None}


@pytest.mark.parametrize("rounds", [0, 11])
def test_rounds_are_bounded(rounds: int) -> None:
    with pytest.raises(ValueError, match="rounds"):
        validate(FanoutConfig(rounds=rounds))


def test_the_time_budget_grows_with_the_rounds() -> None:
    one, three = FanoutConfig(), FanoutConfig(rounds=3)
    assert three.round_budget() == one.round_budget()
    assert three.time_budget() == pytest.approx(3 * one.time_budget())


@pytest.mark.slow
def test_a_run_in_rounds_reports_each_round_and_the_spread_of_each_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "report.json"
    # Enough deliveries that each system's CPU reads above 0 on a fast machine too.
    args = ["chat-fanout", "--sessions", "1", "--clients", "20", "--senders", "2"]
    args += ["--rates", "400,600", "--duration", "1", "--warmup", "0.2", "--ramp", "0.1"]
    args += ["--systems", "memory,ceiling", "--rounds", "3", "--quiet", "--json", str(path)]
    assert main(args) == 0

    report = json.loads(path.read_text())
    rounds = report["rounds"]
    assert len(rounds) == 3
    assert report["systems"] == rounds[0]["systems"]  # the top level is the first round
    for one in rounds:
        assert list(one["systems"]) == ["classbridge", "ceiling"]  # as named, every round
        for results in one["systems"].values():
            assert [r["offered_rate"] for r in results] == [400.0, 600.0]
            for result in results:
                assert result["lost"] == result["duplicates"] == 0
                assert result["deliveries_total"] == result["expected_deliveries"] > 0

    summary = report["round_summary"]
    assert summary["rounds"] == 3
    pair = ("classbridge", "ceiling")
    (ratio,) = [g for g in summary["ratios"] if (g["system"], g["baseline"]) == pair]
    for index, row in enumerate(ratio["rows"]):
        each = [_ratio_of(one, pair, index) for one in rounds]
        assert row["rounds"] == each
        # A tiny run's CPU may read 0 (a tick is 10 ms): that round has no ratio, and the
        # spread is over the others.
        present = [value for value in each if value is not None]
        assert present, "no round had a CPU reading for both systems"
        assert row["median"] == pytest.approx(statistics.median(present), abs=1e-3)
        assert (row["min"], row["max"]) == (min(present), max(present))
    for group in summary["delivered_per_cpu_s"]:
        for index, row in enumerate(group["rows"]):
            each = [one["systems"][group["system"]][index]["delivered_per_cpu_s"] for one in rounds]
            assert row["rounds"] == each

    out = capsys.readouterr().out
    assert "round 2 of 3:" in out
    assert "round 3 of 3:" in out
    assert "over 3 rounds, ratio of ev per CPU-s:" in out


def _ratio_of(one_round: dict[str, Any], pair: tuple[str, str], index: int) -> float | None:
    """The efficiency ratio of ``pair`` at rate ``index`` in one round's comparisons."""
    (group,) = [g for g in one_round["comparisons"] if (g["system"], g["baseline"]) == pair]
    value: float | None = group["rows"][index]["delivered_per_cpu_s_ratio"]
    return value


@pytest.mark.slow
def test_another_checkouts_server_runs_beside_this_one_in_each_round(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--base-root``: the memory-base system runs the server of that directory, and the
    report compares the two, round by round."""
    other, path = _other_checkout(tmp_path), tmp_path / "report.json"
    args = [*TINY_RUN, "--systems", "memory,memory-base", "--base-root", str(other)]
    assert main([*args, "--rounds", "2", "--quiet", "--json", str(path)]) == 0

    report = json.loads(path.read_text())
    for one in report["rounds"]:
        assert list(one["systems"]) == ["classbridge", "cb-base"]
        ours, (base,) = one["systems"]["classbridge"][0], one["systems"]["cb-base"]
        assert str(other) in base["broker"]  # the row says which checkout's server ran
        assert str(other) not in ours["broker"]
        for result in (ours, base):
            assert result["lost"] == result["duplicates"] == 0
            assert result["deliveries_total"] == result["expected_deliveries"] > 0
    (pair,) = [g for g in report["round_summary"]["ratios"] if g["baseline"] == "cb-base"]
    assert pair["system"] == "classbridge"
    assert len(pair["rows"][0]["rounds"]) == 2
    assert "classbridge / cb-base" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("systems", "base_root"),
    [("memory,memory-base", None), ("memory", "."), ("memory-base", "/nonexistent")],
)
def test_base_systems_and_base_root_come_together(systems: str, base_root: str | None) -> None:
    args = ["chat-fanout", "--systems", systems]
    if base_root is not None:
        args += ["--base-root", base_root]
    with pytest.raises(SystemExit):
        main(args)


def test_the_base_system_runs_the_other_checkouts_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkout whose server cannot even be imported: the run fails, and says it was that
    checkout's server, so memory-base never quietly runs this one's."""
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "__init__.py").write_text('raise ImportError("the other checkout")\n')
    args = ["chat-fanout", "--sessions", "1", "--clients", "2", "--senders", "1", "--rates", "20"]
    args += ["--duration", "0.5", "--systems", "memory-base", "--base-root", str(tmp_path)]
    assert main([*args, "--quiet"]) != 0
    assert "the other checkout" in capsys.readouterr().err


@pytest.mark.slow
def test_another_checkouts_server_runs_over_redis_too(tmp_path: Path) -> None:
    other, path = _other_checkout(tmp_path), tmp_path / "report.json"
    args = [*TINY_RUN, "--systems", "redis,redis-base", "--base-root", str(other)]
    assert main([*args, "--quiet", "--json", str(path)]) == 0

    report = json.loads(path.read_text())
    assert list(report["systems"]) == ["cb-redis-2w", "cb-base-redis-2w"]
    (base,) = report["systems"]["cb-base-redis-2w"]
    assert str(other) in base["broker"]
    for (result,) in report["systems"].values():
        assert result["lost"] == result["duplicates"] == 0
        assert result["deliveries_total"] == result["expected_deliveries"] > 0
    pairs = [(g["system"], g["baseline"]) for g in report["comparisons"]]
    assert ("cb-redis-2w", "cb-base-redis-2w") in pairs


# One session of three clients, one rate: enough to see every delivery, quick to run.
TINY_RUN = ["chat-fanout", "--sessions", "1", "--clients", "3", "--senders", "1", "--rates", "40"]
TINY_RUN += ["--duration", "1", "--warmup", "0.2", "--ramp", "0.1"]


def _other_checkout(tmp_path: Path) -> Path:
    """Another checkout whose ``server/`` is this one's (a symlink)."""
    other = tmp_path / "other-checkout"
    other.mkdir()
    (other / "server").symlink_to(REPO_ROOT / "server", target_is_directory=True)
    return other
