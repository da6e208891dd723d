"""client_demo/board.js keeps the same boards as the server's reducer: on the shared fixtures
(tests/rooms/board/fixtures, written by make_fixtures.py), on cases too big for a file, and on
random logs. One node process serves the whole module (run_fixture.mjs, a case per line)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from server.rooms.board.records import BoardLimits
from tests.rooms.board import make_fixtures
from tests.rooms.board.parity import (
    FIXTURES,
    RUNNER,
    Case,
    NodeReducer,
    load_fixtures,
    node_executable,
    node_reducer,
    python_steps,
)
from tests.rooms.board.random_logs import build_case

BOARD_JS = Path(__file__).parents[3] / "client_demo" / "board.js"
KINDS = {
    "board.created",
    "board.access_changed",
    "board.put",
    "board.patched",
    "board.appended",
    "board.deleted",
    "board.cleared",
    "board.restored",
    "board.step_dropped",
}
FIXTURE_CASES = load_fixtures()


@pytest.fixture(scope="module")
def node() -> Iterator[NodeReducer]:
    yield from node_reducer()


def _check(node: NodeReducer, case: Case) -> tuple[list[Any], list[bool]]:
    """Both reducers, step by step; returns the server's steps and what board.js applied."""
    python = python_steps(case)
    answer = node.run(case)
    for n, (py, js) in enumerate(zip(python, answer["steps"], strict=True)):
        where = "the snapshot" if n == 0 else f"event {case['events'][n - 1][:2]}"
        assert js == py, f"{case.get('name', 'case')}: board.js differs after {where}"
    for (seq, kind, _), applied, before, after in zip(
        case["events"], answer["applied"], python[:-1], python[1:], strict=True
    ):
        if not applied:
            assert before == after, f"seq {seq} ({kind}) changed the boards, said ignored"
    return python, answer["applied"]


def test_the_fixtures_cover_every_event_kind() -> None:
    assert len(FIXTURE_CASES) >= 8
    kinds = {kind for case in FIXTURE_CASES for _, kind, _ in case["events"]}
    assert kinds == KINDS
    ignored = {
        kind
        for case in FIXTURE_CASES
        for seq, kind, _ in case["events"]
        if seq in case["unchanged"]
    }
    assert ignored == KINDS
    assert any("snapshot" in case for case in FIXTURE_CASES)


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=[c["name"] for c in FIXTURE_CASES])
def test_a_fixture(node: NodeReducer, case: Case) -> None:
    steps, applied = _check(node, case)
    assert steps[-1] == case["expected"]
    seqs = [seq for seq, _, _ in case["events"]]
    assert [seq for seq, flag in zip(seqs, applied, strict=True) if not flag] == case["unchanged"]


@pytest.mark.parametrize("make", make_fixtures.BIG, ids=lambda make: make.__name__)
def test_the_limits(node: NodeReducer, make: Any) -> None:
    case = make().case()
    steps, _ = _check(node, case)
    assert steps[-1] == case["expected"]


def test_the_runner_reads_a_fixture_file() -> None:
    path = FIXTURES / "undo_redo_put.json"
    output = subprocess.run(
        [node_executable(), str(RUNNER), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    case = json.loads(path.read_text())
    assert json.loads(output)["steps"][-1] == case["expected"]


def test_a_late_joiner_needs_top_z_from_the_welcome(node: NodeReducer) -> None:
    """The top record was deleted and another moved down before this client joined: from the
    records alone it would put the next record at the wrong z."""
    (case,) = [c for c in FIXTURE_CASES if c["name"] == "late_joiner"]
    guess = copy.deepcopy(case)
    for summary in guess["snapshot"]["boards"]:
        del summary["top_z"]
    steps = node.run(guess)["steps"]
    assert steps[-1] != case["expected"]
    assert _check(node, case)[0][-1] == case["expected"]


def test_board_js_has_the_servers_limits() -> None:
    text = BOARD_JS.read_text()
    limits = BoardLimits()
    for js_name, python_name in [
        ("recordsPerBoard", "records_per_board"),
        ("pointsPerStroke", "points_per_stroke"),
        ("boardsPerSession", "boards_per_session"),
        ("tombstones", "tombstones"),
    ]:
        found = re.search(rf"\b{js_name}: (\d+),", text)
        assert found is not None, js_name
        assert int(found.group(1)) == getattr(limits, python_name), js_name


# No shrinking: each example is a whole log, and shrinking one through node takes minutes.
# A failing case is written to a file instead, to run again with
# `node tests/rooms/board/run_fixture.mjs FILE` (and to keep as a fixture once understood).
@settings(
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_logs(
    node: NodeReducer, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    case, truth = build_case(data.draw)
    try:
        assert _check(node, case)[0] == truth  # the snapshot route of the server's reducer too
    except AssertionError as failure:
        path = tmp_path_factory.mktemp("parity") / "failing_case.json"
        path.write_text(json.dumps({"name": "failing_case", **case, "expected": truth[-1]}))
        raise AssertionError(f"{failure}\ncase written to {path}") from None
