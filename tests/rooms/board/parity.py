"""What the parity tests of client_demo/board.js share: the canonical form of a board (the
same as board.js ``boardToJSON``), the welcome a late joiner gets, the Python side of a case,
and node running tests/rooms/board/run_fixture.mjs.

A case (a fixture file, or one made by a test) is plain JSON::

    {"name": ..., "snapshot": {"boards": [...], "records": [...]} | absent,
     "events": [[seq, kind, data], ...], "unchanged": [seq, ...], "expected": [board, ...]}

``snapshot`` is what a client joining at that point gets (the welcome's ``session.boards`` and
the ``board.records`` messages); without one, the client joined right after session.created.
``unchanged`` names the events after which no client-visible part of any board may differ
(ignored events, and ``board.step_dropped``, which changes only the server's history).
"""

from __future__ import annotations

import json
import subprocess
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.protocol.board import BoardRecords
from server.rooms.board.model import Board, BoardAccess
from server.rooms.board.records import BoardRecord
from server.rooms.board.snapshot import board_summaries, record_chunks
from server.rooms.events import Event
from server.rooms.reducer import apply_event
from server.rooms.state import SessionState
from tests.rooms.builders import created_event
from tests.tools import required_tool

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
RUNNER = HERE / "run_fixture.mjs"
Case = dict[str, Any]


def board_to_json(board: Board) -> dict[str, Any]:
    """Everything a client holds of a board, in a fixed order (board.js ``boardToJSON``)."""
    return {
        "id": board.id,
        "title": board.title,
        "access": board.access.to_wire(),
        "top_z": board.top_z,
        "tombstones": list(board.tombstones),
        "records": [record.to_wire() for record in board.ordered()],
    }


def boards_to_json(boards: dict[str, Board]) -> list[dict[str, Any]]:
    # Through JSON, as node's answer comes: tuples become lists, and no list is shared.
    result: list[dict[str, Any]] = json.loads(
        json.dumps([board_to_json(b) for b in boards.values()])
    )
    return result


def client_snapshot(state: SessionState, frame_bytes: int = 4096) -> dict[str, Any]:
    """What a client joining now gets: the summaries, then every board's record chunks."""
    records = [
        BoardRecords(board.id, chunk, last=n == len(chunks) - 1).to_wire()
        for board in state.boards.values()
        if (chunks := record_chunks(board, frame_bytes))
        for n, chunk in enumerate(chunks)
    ]
    snapshot = {"boards": board_summaries(state), "records": records}
    result: dict[str, Any] = json.loads(json.dumps(snapshot))  # a copy, as on the wire
    return result


def fresh_state() -> SessionState:
    state = SessionState()
    apply_event(state, 1, created_event())
    return state


def state_from_snapshot(snapshot: dict[str, Any] | None) -> SessionState:
    """A server state whose boards are the snapshot's (no undo history: the client-visible
    result of any event does not depend on it)."""
    state = fresh_state()
    if snapshot is None:
        return state
    state.boards = {}
    for summary in snapshot["boards"]:
        board = Board(summary["id"], summary["title"], BoardAccess(**summary["access"]))
        board.top_z = summary["top_z"]
        board.tombstones = deque(summary["tombstones"])
        state.boards[board.id] = board
    for message in snapshot["records"]:
        board = state.boards[message["board"]]
        for wire in message["records"]:
            board.records[wire["id"]] = BoardRecord.from_wire(json.loads(json.dumps(wire)))
    return state


def python_steps(case: Case) -> list[list[dict[str, Any]]]:
    """The canonical boards before the first event, then after each event (server reducer)."""
    state = state_from_snapshot(case.get("snapshot"))
    steps = [boards_to_json(state.boards)]
    for seq, kind, data in json.loads(json.dumps(case["events"])):
        apply_event(state, seq, Event(kind=kind, ts=0, data=data))
        steps.append(boards_to_json(state.boards))
    return steps


def load_fixtures() -> list[Case]:
    return [json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))]


# --- node -------------------------------------------------------------------------------------


def node_executable() -> str:
    return required_tool("node")


class NodeReducer:
    """One node process running board.js over cases, one JSON line in, one JSON line out, so
    that hypothesis can try many cases (and shrink a failing one) without starting node each
    time."""

    def __init__(self, executable: str) -> None:
        self.process = subprocess.Popen(
            [executable, str(RUNNER), "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, case: Case) -> dict[str, Any]:
        """``{"steps": [...], "applied": [...]}``: as ``python_steps``, and what
        ``applyBoardEvent`` returned for each event."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(case) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"node stopped (exit code {self.process.wait(10)})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"board.js failed: {answer['error']}")
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()  # the end of its input: node exits
        self.process.wait(10)
        self.process.stdout.close()


def node_reducer() -> Iterator[NodeReducer]:
    reducer = NodeReducer(node_executable())
    try:
        yield reducer
    finally:
        reducer.close()
