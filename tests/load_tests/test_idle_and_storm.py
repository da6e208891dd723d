"""The idle-connections and join-storm benchmarks at a tiny size, against a real spawned server.

They check that the benchmarks measure what they say (every student welcomed, none dropped,
the report has its figures); never a time or a memory figure, which depend on the machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from load_tests.cli import main
from load_tests.crowd import CrowdConfig, validate
from load_tests.crowd_cli import percentile
from load_tests.crowd_provision import session_sizes


def _run(tmp_path: Path, args: list[str]) -> dict[str, object]:
    path = tmp_path / "report.json"
    assert main([*args, "--quiet", "--json", str(path)]) == 0
    report: dict[str, object] = json.loads(path.read_text())
    return report


def _assert_everyone_welcomed(report: dict[str, object], clients: int) -> None:
    assert report["connections"] == {
        "attempted": clients,
        "welcomed": clients,
        "held": clients,
        "dropped_while_held": 0,
    }
    assert report["errors"] == {}
    assert report["error_count"] == 0
    latency = report["join_latency_ms"]
    assert isinstance(latency, dict)
    assert latency["count"] == clients
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]


@pytest.mark.slow
def test_idle_connections_holds_every_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["idle-connections", "--connections", "200", "--seconds", "1", "--hold", "0.5"]
    report = _run(tmp_path, [*args, "--generators", "2", "--session-size", "30"])

    assert report["benchmark"] == "idle-connections"
    _assert_everyone_welcomed(report, 200)
    server = report["server"]
    assert isinstance(server, dict)
    assert set(server) >= {"rss_before_kb", "rss_after_kb", "rss_growth_kb", "kb_per_connection"}
    assert server["rss_before_kb"] > 0
    assert server["rss_after_kb"] > 0
    generator = report["generator"]
    assert isinstance(generator, dict)
    assert generator["processes"] == 2
    assert generator["cpu_seconds"] > 0
    assert "KB per connection" in capsys.readouterr().out


@pytest.mark.slow
def test_join_storm_welcomes_every_student(tmp_path: Path) -> None:
    args = ["join-storm", "--students", "100", "--seconds", "1", "--hold", "0"]
    report = _run(tmp_path, [*args, "--generators", "2", "--format", "json"])

    assert report["benchmark"] == "join-storm"
    _assert_everyone_welcomed(report, 100)
    parameters = report["parameters"]
    assert isinstance(parameters, dict)
    assert parameters["format"] == "json"
    assert parameters["session_size"] == 30


def test_students_fill_sessions_of_the_asked_size() -> None:
    assert session_sizes(100, 30) == [30, 30, 30, 10]
    assert session_sizes(60, 30) == [30, 30]
    assert session_sizes(5, 30) == [5]


def test_percentile_is_nearest_rank() -> None:
    ordered = [float(n) for n in range(1, 101)]
    assert percentile(ordered, 0.5) == 50.0
    assert percentile(ordered, 0.99) == 99.0
    assert percentile(ordered, 1.0) == 100.0
    assert percentile([], 0.5) is None


@pytest.mark.parametrize(
    "change",
    [{"clients": 0}, {"seconds": 0.0}, {"generators": 0}, {"session_size": 0}, {"hold": -1.0}],
)
def test_refuses_meaningless_runs(change: dict[str, object]) -> None:
    values: dict[str, object] = {"benchmark": "join-storm", "clients": 10, "seconds": 1.0}
    with pytest.raises(ValueError):  # noqa: PT011 -- the message names the problem; any is fine
        validate(CrowdConfig(**{**values, **change}))  # type: ignore[arg-type]
