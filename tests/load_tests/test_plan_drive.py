"""load_tests/plan_drive.py: the second generator, driven by ``serve``'s plan alone.

It must count every chat on every system it drives (JSON, every client posting) and read each
system's CPU; its figures themselves are never asserted.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from load_tests.plan_drive import DriveResult, drive, fill_template, format_results, main
from load_tests.serve_plan import CLASSBRIDGE_WIRE, SOCKETIO_WIRE
from tests.load_tests.serving import serving


async def test_every_chat_reaches_every_client_of_every_served_system(tmp_path: Path) -> None:
    systems = ("classbridge", "socketio", "ceiling-raw")
    args = ("--systems", "memory,socketio,ceiling-raw", "--sessions", "2", "--clients", "3")
    async with serving(tmp_path / "plan.json", *args) as (_, plan):
        # Enough posts that even a fast machine's CPU reads above 0 (a tick is 10 ms).
        results = [await drive(plan, name, 300.0, 1.0, 0.3, seed=5) for name in systems]
        # A token the server refuses ends the drive with why, not with a timeout or a "loss".
        plan["systems"][0]["sessions"][0]["tokens"][0] = "not-a-token"
        with pytest.raises(RuntimeError, match="join refused"):
            await drive(plan, "classbridge", 30.0, 1.0, 0.3, seed=5)

    for result in results:
        assert result.posted > 0, result
        assert result.delivered == result.expected, result
        assert result.duplicates == 0
        assert result.cpu_seconds is not None
        assert result.p99_ms is not None
        assert result.generator_cpu_share > 0
        assert result.failed_clients == 0


async def test_the_command_writes_each_system_and_the_ratios_to_its_json_file(
    tmp_path: Path,
) -> None:
    plan_path, figures_path = tmp_path / "plan.json", tmp_path / "figures.json"
    args = ("--systems", "memory,socketio", "--sessions", "2", "--clients", "3")
    async with serving(plan_path, *args):
        argv = ["--plan", str(plan_path), "--systems", "classbridge,socketio"]
        # Enough posts (about 1,800 deliveries) for each server's CPU to count whole clock
        # ticks: a reading of 0 would leave no efficiency to divide.
        argv += ["--rate", "300", "--seconds", "2", "--warmup", "0.2", "--json", str(figures_path)]
        status = await asyncio.to_thread(main, argv)  # main runs its own event loop

    assert status == 0
    figures = json.loads(figures_path.read_text())
    assert [system["system"] for system in figures["systems"]] == ["classbridge", "socketio"]
    for system in figures["systems"]:
        assert system["delivered"] == system["expected"] > 0
        assert system["events_per_cpu_second"] > 0
    classbridge, socketio = figures["systems"]
    ratio = classbridge["events_per_cpu_second"] / socketio["events_per_cpu_second"]
    assert figures["ratios"] == {"classbridge / socketio": pytest.approx(ratio)}


def test_the_table_gives_each_system_its_ratio_to_the_first() -> None:
    results = [
        DriveResult("classbridge", 100, 3000, 3000, 0, 0.05, 1.0, 2.0),
        DriveResult("socketio", 100, 3000, 3000, 0, 0.15, 1.0, 2.0),
        DriveResult("ceiling-raw", 100, 3000, 3000, 0, 0.025, 1.0, 2.0),
    ]
    table = format_results(results)
    assert "ev/CPU-s 60,000" in table
    assert "classbridge / socketio: 3.00" in table
    assert "classbridge / ceiling-raw: 0.50" in table


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            CLASSBRIDGE_WIRE["post"],
            {"type": "chat.send", "text": 'say "hi"', "id": 9},
        ),
        (CLASSBRIDGE_WIRE["join"], {"type": "join", "token": "t-1", "id": "join"}),
    ],
)
def test_classbridge_templates_fill_to_the_messages_of_the_protocol(
    template: dict[str, object], expected: dict[str, object]
) -> None:
    filled = fill_template(template, token="t-1", text='say "hi"', request_id=9)
    assert json.loads(filled) == expected


def test_a_value_holding_a_placeholder_is_sent_as_it_is() -> None:
    filled = json.loads(fill_template(CLASSBRIDGE_WIRE["post"], text="{id} {token}", request_id=4))
    assert filled["text"] == "{id} {token}"
    assert filled["id"] == 4
    join = fill_template(SOCKETIO_WIRE["join"], token='room "{text}"')
    assert json.loads(join[2:]) == {"room": 'room "{text}"'}


def test_socketio_templates_fill_to_valid_packets() -> None:
    post = fill_template(SOCKETIO_WIRE["post"], text='say "hi"\n', request_id=12)
    assert post.startswith("4212[")
    assert json.loads(post[4:]) == ["chat", {"text": 'say "hi"\n'}]
    assert fill_template(SOCKETIO_WIRE["join"], token="room-3") == '40{"room": "room-3"}'


def test_a_result_without_cpu_has_no_efficiency() -> None:
    result = DriveResult("x", 1, 3, 3, 0, None, 1.0, 2.0)
    assert result.events_per_cpu_second is None
    assert "ev/CPU-s -" in format_results([result])


@pytest.mark.parametrize("content", [None, "{not json"])
def test_a_plan_it_cannot_read_is_a_usage_error(
    tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.json"
    if content is not None:
        plan.write_text(content)
    with pytest.raises(SystemExit) as exited:
        main(["--plan", str(plan), "--systems", "classbridge"])
    assert exited.value.code == 2
    assert f"cannot read the plan {plan}" in capsys.readouterr().err
