"""client_demo/breakouts.js keeps the same breakout state, and the same group boards, as the
server's reducer: one log (with a racing second opening and a close of an old round) applied
by both, compared after every event."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from server.protocol.board import BoardPut
from server.protocol.breakouts import (
    BreakoutAnswer,
    BreakoutBroadcast,
    BreakoutCallTeacher,
    BreakoutClose,
    BreakoutMove,
    BreakoutOpen,
    BreakoutVisit,
)
from server.rooms.board.storage import new_boards
from server.rooms.commands import decide
from server.rooms.events import Event
from server.rooms.reducer import apply_event
from server.rooms.state import SessionState
from server.rooms.visibility import snapshot_for
from tests.rooms.board.parity import node_executable
from tests.rooms.builders import AMANI, HOST, INGRID, LIMITS, OLA, TEACHER, Session
from tests.rooms.test_breakouts import JABALI, RECT_PROPS

CLIENT_DEMO = Path(__file__).resolve().parents[2] / "client_demo"

# Applies the log with breakouts.js to a client shaped like classbridge.js's, after each event
# printing what the Python side compares: the breakout state and each board's access and ids.
RUNNER = """
import { applyBreakoutEvent } from "CLIENT_DEMO/breakouts.js";
import { applyBoardEvent, createBoards, applySnapshot } from "CLIENT_DEMO/board.js";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const { session, log } = JSON.parse(text);
const me = { id: "p_teacher", role: "teacher" };
const client = { session, boards: createBoards(), chat: new Map(), me, _emit() {} };
applySnapshot(client.boards, session);
const steps = [];
for (const [seq, kind, ts, data] of log) {
  if (kind.startsWith("board.")) applyBoardEvent(client.boards, seq, kind, data);
  else applyBreakoutEvent(client, seq, kind, data, ts);
  const boards = {};
  for (const [id, b] of client.boards) boards[id] = [b.access, [...b.records.keys()].sort()];
  // A copy: the replica changes in place with the next event.
  steps.push(JSON.parse(JSON.stringify({ breakouts: client.session.breakouts, boards })));
}
console.log(JSON.stringify(steps));
"""


def _log() -> tuple[SessionState, list[tuple[int, Event]]]:
    session = Session().join(HOST, TEACHER, AMANI, JABALI, INGRID, OLA)
    start = len(session.log)
    session.command(TEACHER, BreakoutOpen(size=2, seed=3, minutes=5, names=["Mto"]))
    # A second opening decided on another worker at the same moment: logged, then ignored.
    racing = Session().join(HOST, TEACHER, AMANI, JABALI, INGRID, OLA)
    session.append(decide(racing.state, HOST, BreakoutOpen(size=4), racing.tick(), LIMITS)[0])
    group = session.state.breakouts.groups[0]
    session.command(
        TEACHER, BoardPut(group.board, {"id": "r1", "kind": "rect", "props": RECT_PROPS})
    )
    stale_close = decide(session.state, TEACHER, BreakoutClose(), session.tick(), LIMITS)[0]
    member = next(s for s in (AMANI, JABALI, INGRID, OLA) if s.participant_id in group.members)
    session.command(member, BreakoutCallTeacher())
    session.command(TEACHER, BreakoutVisit(group.id))
    session.command(HOST, BreakoutAnswer(group.id))
    session.command(TEACHER, BreakoutBroadcast("Dakika tano"))
    other = session.state.breakouts.groups[1].id
    session.command(TEACHER, BreakoutMove(member.participant_id, other))
    session.command(TEACHER, BreakoutMove(member.participant_id, None))
    session.command(TEACHER, BreakoutClose())
    session.command(TEACHER, BreakoutOpen(size=3, seed=8))
    session.append(stale_close)  # round 1's close, logged late: round 2 stays open
    before = SessionState()
    for seq, event in session.log[:start]:
        apply_event(before, seq, event)
    return before, session.log[start:]


def _python_steps(state: SessionState, log: list[tuple[int, Event]]) -> list[dict[str, Any]]:
    steps = []
    for seq, event in log:
        apply_event(state, seq, event)
        boards = {b.id: [b.access.to_wire(), sorted(b.records)] for b in state.boards.values()}
        steps.append({"breakouts": state.breakouts.to_wire(), "boards": boards})
    return steps


def test_breakouts_js_applies_the_log_as_the_server_does(tmp_path: Path) -> None:
    state, log = _log()
    assert list(state.boards) == list(new_boards())  # only "main" before the log
    snapshot = snapshot_for(state, TEACHER)
    runner = tmp_path / "run.mjs"
    runner.write_text(RUNNER.replace("CLIENT_DEMO", CLIENT_DEMO.as_posix()), encoding="utf-8")
    wire_log = [[seq, event.kind, event.ts, event.data] for seq, event in log]
    result = subprocess.run(
        [node_executable(), str(runner)],
        input=json.dumps({"session": snapshot, "log": wire_log}),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    js_steps = json.loads(result.stdout)
    python_steps = _python_steps(state, log)
    assert len(js_steps) == len(python_steps) == len(log)
    for (seq, event), js, py in zip(log, js_steps, python_steps, strict=True):
        assert js == py, f"breakouts.js differs after {seq} {event.kind}"
    assert python_steps[-1]["breakouts"]["round"] == 2
    assert python_steps[-1]["breakouts"]["open"] is True
