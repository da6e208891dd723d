"""The write-floor benchmark at a tiny size: real loopback sockets, a real spawned reader.

It checks that every byte written reaches the other process and that the report holds what
was counted; never a time or a CPU figure, which depend on the machine.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from load_tests.cli import main
from load_tests.write_floor import WriteFloorConfig, run_write_floor, validate

TINY = WriteFloorConfig(connections=12, bursts=(1, 12), turn_ms=2.0, seconds=0.4, payload=37)


def test_every_write_reaches_the_reading_process() -> None:
    results, written, received = run_write_floor(TINY)
    assert [r.burst for r in results] == [1, 12]
    assert all(r.writes > 0 and r.writes % r.burst == 0 for r in results)
    assert written == sum(r.writes for r in results) * 37
    assert received == written
    # A turn writes ``burst`` connections, so the larger burst wrote more in the same time.
    assert results[1].writes > results[0].writes


def test_the_command_writes_a_report_of_what_it_counted(tmp_path: Path) -> None:
    path = tmp_path / "floor.json"
    argv = ["write-floor", "--connections", "8", "--bursts", "2,8", "--seconds", "0.3"]
    assert main([*argv, "--turn-ms", "2", "--payload", "50", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["benchmark"] == "write-floor"
    assert report["parameters"]["bursts"] == [2, 8]
    assert report["bytes_received"] == report["bytes_written"] > 0
    rows = report["results"]
    assert [row["burst"] for row in rows] == [2, 8]
    assert sum(row["writes"] for row in rows) * 50 == report["bytes_written"]
    for row in rows:
        per_write = row["user_us_per_write"] + row["system_us_per_write"]
        assert row["total_us_per_write"] == pytest.approx(per_write, abs=0.01)


@pytest.mark.parametrize(
    "change",
    [
        {"connections": 0},
        {"connections": 100_000},
        {"bursts": ()},
        {"bursts": (13,)},  # more than the connections
        {"bursts": (0,)},
        {"seconds": 0.0},
        {"seconds": 3600.0},
        {"turn_ms": 0.0},
        {"payload": 0},
    ],
)
def test_refuses_meaningless_runs(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        validate(replace(TINY, **change))  # type: ignore[arg-type]


def test_a_malformed_burst_list_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["write-floor", "--bursts", "1,x"])
    assert exit_info.value.code == 2
    assert "not a list of whole numbers" in capsys.readouterr().err
