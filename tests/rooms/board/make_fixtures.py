"""Writes tests/rooms/board/fixtures/*.json, the cases client_demo/board.js and the server's
reducer must agree on: ``.venv/bin/python -m tests.rooms.board.make_fixtures``.

Events come from the real rules (``decide`` on a session built from real events), including
the races the reducer must settle: commands decided against a stale replica (another worker
that had not yet seen the latest events), duplicates, and hand-made events that no longer
apply. Each event said to leave the boards unchanged is checked to do so as it is recorded, and
``expected`` is the server's own state at the end, not a replay: the files hold what the server
did, so a change of the Python reducer shows up as a failing parity test, not a silent rewrite.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from server.protocol.board import (
    BoardAccessUpdate,
    BoardAppend,
    BoardClear,
    BoardCommand,
    BoardCreate,
    BoardDelete,
    BoardPatch,
    BoardPut,
    BoardRedo,
    BoardUndo,
)
from server.rooms.actor import Actor
from server.rooms.board.history import UndoConflict
from server.rooms.board.rules import decide_board
from server.rooms.events import Event
from server.rooms.state import SessionState
from tests.rooms.board.parity import FIXTURES, Case, boards_to_json, client_snapshot
from tests.rooms.builders import AMANI, HOST, INGRID, OLA, TEACHER, full_session

RED, BLUE, GREEN = "#cc0000", "#0000cc", "#00aa00"


def rect(record_id: str, x: int = 0, kind: str = "rect") -> dict[str, Any]:
    props = {"x": x, "y": 0, "w": 10, "h": 10, "color": RED, "width": 2}
    return {"id": record_id, "kind": kind, "props": props}


def stroke(record_id: str, *points: int, open_: bool = True) -> dict[str, Any]:
    record: dict[str, Any] = {"id": record_id, "kind": "stroke", "props": {"points": list(points)}}
    record["props"].update({"color": BLUE, "width": 3})
    if not open_:
        record["open"] = False
    return record


def put(record: dict[str, Any], board: str = "main") -> BoardPut:
    return BoardPut(board, record)


def append(record_id: str, offset: int, *points: int, end: bool = False) -> BoardAppend:
    return BoardAppend("main", record_id, offset, list(points), end or None)


class Recorder:
    """A session, and the fixture being written from its log."""

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description
        self.session = full_session()
        self.snapshot: dict[str, Any] | None = None
        self.events: list[list[Any]] = []
        self.unchanged: list[int] = []

    @property
    def state(self) -> SessionState:
        return self.session.state

    def stale(self) -> SessionState:
        """A replica that stops here: what another worker decides on before it hears more."""
        return copy.deepcopy(self.state)

    def join_here(self, frame_bytes: int = 4096) -> None:
        """A client joins now: it gets a snapshot; the fixture's events start after it."""
        self.events, self.unchanged = [], []
        self.snapshot = client_snapshot(self.state, frame_bytes)

    def append(self, event: Event, unchanged: bool = False) -> int:
        before = boards_to_json(self.state.boards) if unchanged else None
        seq = self.session.append(event)
        self.events.append(json.loads(json.dumps([seq, event.kind, event.data])))
        if unchanged:
            assert boards_to_json(self.state.boards) == before, (self.name, seq, event)
            self.unchanged.append(seq)
        return seq

    def do(self, actor: Actor, command: BoardCommand, on: SessionState | None = None) -> int:
        """Decide on the live replica (or ``on`` a stale one) and append; the event must apply."""
        seq = 0
        for event in decide_board(on or self.state, actor, command, self.session.tick()):
            seq = self.append(event)
        return seq

    def ignored(self, actor: Actor, command: BoardCommand, on: SessionState) -> int:
        """Decided on a stale replica, appended after what makes the reducer ignore it."""
        (event,) = decide_board(on, actor, command, self.session.tick())
        return self.append(event, unchanged=True)

    def raw(self, kind: str, data: dict[str, Any], unchanged: bool = False) -> int:
        return self.append(Event(kind=kind, ts=self.session.tick(), data=data), unchanged)

    def again(self, seq: int, unchanged: bool = True) -> int:
        """An event logged twice (a retried append that did land the first time)."""
        _, event = self.session.log[seq - 1]
        return self.append(Event(event.kind, event.ts, copy.deepcopy(event.data)), unchanged)

    def refused_undo(self, actor: Actor, command: BoardCommand) -> int:
        """An undo or redo refused by the rules, logged anyway as ``board.step_dropped``."""
        try:
            decide_board(self.state, actor, command, self.session.tick())
        except UndoConflict as conflict:
            return self.append(conflict.log_anyway, unchanged=True)
        raise AssertionError("the undo was expected to conflict")

    def record(self, record_id: str, board: str = "main") -> dict[str, Any]:
        return self.state.boards[board].records[record_id].to_wire()

    def case(self) -> Case:
        case: Case = {"name": self.name, "description": self.description}
        if self.snapshot is not None:
            case["snapshot"] = self.snapshot
        case["events"] = self.events
        case["unchanged"] = self.unchanged
        case["expected"] = boards_to_json(self.state.boards)
        return case


# --- the fixtures -----------------------------------------------------------------------------


def boards_and_access() -> Recorder:
    f = Recorder("boards_and_access", "board.created up to the limit, board.access_changed")
    f.do(TEACHER, BoardCreate("g1", "Group 1"))
    f.do(HOST, BoardCreate("g2"))
    f.raw("board.created", {"board": "g1", "title": "Again", "by": "p_host"}, unchanged=True)
    f.do(TEACHER, BoardAccessUpdate("main", "selected", ["c2"], ["p_amani"]))
    f.do(HOST, BoardAccessUpdate("g1", locked=True))
    f.do(HOST, BoardAccessUpdate("g1", mode="teachers"))  # keeps locked
    access = {"mode": "teachers", "classes": [], "participants": [], "locked": False}
    f.raw("board.access_changed", {"board": "nope", "access": access, "by": "p_host"}, True)
    # Fields left out take their defaults, as BoardAccess(**access) does.
    f.raw("board.access_changed", {"board": "g2", "access": {"mode": "teachers"}, "by": "p_host"})
    for n in range(3, 20):
        f.do(HOST, BoardCreate(f"g{n}", f"Group {n}"))
    assert len(f.state.boards) == 20
    f.raw("board.created", {"board": "g20", "title": "", "by": "p_host"}, unchanged=True)
    f.do(AMANI, put(rect("a")))
    return f


def put_and_z() -> Recorder:
    f = Recorder("put_and_z", "board.put of every kind, z above the top, z patched up and down")
    f.do(AMANI, put(rect("a")))
    note = {"x": 5, "y": 5, "w": 50, "h": 40, "text": "Habari!\nHei!", "color": GREEN}
    f.do(INGRID, put({"id": "b", "kind": "note", "props": note}))
    text = {"x": 1, "y": 2, "text": "Water", "color": RED, "size": 24}
    f.do(TEACHER, put({"id": "c", "kind": "text", "props": text}))
    ends = {"x1": 0, "y1": 0, "x2": 100, "y2": -100, "color": BLUE, "width": 4}
    f.do(HOST, put({"id": "d", "kind": "line", "props": ends}))
    f.do(OLA, put({"id": "e", "kind": "arrow", "props": ends}))
    f.do(AMANI, put({**rect("f", 7, "ellipse"), "props": {**rect("f")["props"], "fill": GREEN}}))
    f.do(AMANI, put(stroke("g", 0, 0, 5, 5)))
    same = {"id": "a", "kind": "rect", "author": "p_ola", "class_id": "c2", "props": {"x": 9}}
    f.raw("board.put", {"board": "main", "record": same, "by": "p_ola"}, unchanged=True)
    other = {**same, "id": "z"}
    f.raw("board.put", {"board": "nope", "record": other, "by": "p_ola"}, unchanged=True)
    f.do(TEACHER, BoardPatch("main", "a", z=10))
    f.do(AMANI, put(rect("h")))
    assert f.record("h")["z"] == 11
    f.do(TEACHER, BoardPatch("main", "h", z=-5))  # top_z stays 11
    f.do(INGRID, put(rect("i")))
    assert f.record("i")["z"] == 12
    f.do(TEACHER, BoardPatch("main", "b", z=12))  # equal z: drawn in id order
    return f


def patch() -> Recorder:
    f = Recorder("patch", "board.patched: props, z, both; missing records and boards ignored")
    f.do(AMANI, put(rect("a")))
    f.do(AMANI, put(stroke("s", 1, 1, 2, 2, open_=False)))
    stale = f.stale()
    f.do(AMANI, BoardPatch("main", "a", {"x": 30, "color": GREEN}))
    f.do(AMANI, BoardPatch("main", "a", {"fill": BLUE}))
    f.do(TEACHER, BoardPatch("main", "a", {"fill": None}, z=-2))
    f.do(TEACHER, BoardPatch("main", "s", {"points": [9, 9]}))  # a finished stroke
    f.do(AMANI, BoardDelete("main", ["s"]))
    f.ignored(AMANI, BoardPatch("main", "s", {"width": 9}), on=stale)
    data = {"board": "main", "id": "nope", "props": {"x": 1}, "by": "p_host"}
    f.raw("board.patched", data, unchanged=True)
    f.raw("board.patched", {**data, "board": "nope", "id": "a"}, unchanged=True)
    f.raw("board.patched", {"board": "main", "id": "a", "z": 7, "by": "p_host"})  # z alone
    return f


def append_stroke() -> Recorder:
    f = Recorder("append_stroke", "board.appended: offsets, author, open, end")
    f.do(AMANI, put(stroke("s", 0, 0, 1, 1)))
    f.do(AMANI, append("s", 2, 2, 2))
    stale = f.stale()
    f.do(AMANI, append("s", 3, 3, 3, 4, 4))
    f.ignored(AMANI, append("s", 3, 9, 9), on=stale)  # offset 3: the stroke has 5 points now
    data = {"board": "main", "id": "s", "offset": 5, "points": [5, 5], "by": "p_ingrid"}
    f.raw("board.appended", data, unchanged=True)  # not the author
    f.raw("board.appended", {**data, "by": "p_amani", "offset": 4}, unchanged=True)
    f.raw("board.appended", {**data, "id": "nope", "by": "p_amani"}, unchanged=True)
    f.raw("board.appended", {**data, "board": "nope", "by": "p_amani"}, unchanged=True)
    f.do(AMANI, append("s", 5, 5, 5, end=True))
    f.raw("board.appended", {**data, "offset": 6, "by": "p_amani"}, unchanged=True)  # finished
    f.do(INGRID, put(stroke("t", 0, 0, open_=False)))
    f.raw("board.appended", {**data, "id": "t", "offset": 1, "by": "p_ingrid"}, unchanged=True)
    f.do(INGRID, put(rect("r")))
    f.raw("board.appended", {**data, "id": "r", "offset": 0, "by": "p_ingrid"}, unchanged=True)
    f.do(INGRID, put(stroke("u", 7, 7)))
    f.do(INGRID, append("u", 1))  # no points: still applied (the seq moves)
    f.do(INGRID, append("u", 1, 8, 8, end=True))
    return f


def delete_and_clear() -> Recorder:
    f = Recorder("delete_and_clear", "board.deleted and board.cleared, tombstones, no reuse")
    for record_id in ("m", "c", "x", "a", "q"):
        f.do(AMANI, put(rect(record_id)))
    f.raw("board.deleted", {"board": "main", "ids": ["c", "nope"], "by": "p_host"})
    f.raw("board.deleted", {"board": "main", "ids": ["c", "nope"], "by": "p_host"}, True)
    f.raw("board.deleted", {"board": "nope", "ids": ["m"], "by": "p_host"}, unchanged=True)
    f.raw(
        "board.put",
        {
            "board": "main",
            "record": {**rect("c"), "author": "p_amani", "class_id": "c1"},
            "by": "p_amani",
        },
        True,
    )
    f.do(AMANI, BoardDelete("main", ["q"]))
    f.do(TEACHER, BoardClear("main"))  # tombstones m, x, a in sorted order: a, m, x
    f.raw(
        "board.put",
        {
            "board": "main",
            "record": {**rect("m"), "author": "p_amani", "class_id": "c1"},
            "by": "p_amani",
        },
        True,
    )
    f.do(AMANI, put(rect("n")))
    assert f.record("n")["z"] == 6
    f.raw("board.cleared", {"board": "nope", "by": "p_host"}, unchanged=True)
    f.do(HOST, BoardCreate("g1"))
    f.do(HOST, BoardClear("g1"))  # an empty board: nothing to clear, and nothing breaks
    return f


def undo_redo_put() -> Recorder:
    f = Recorder("undo_redo_put", "board.restored from real undo/redo of puts; a stale undo")
    f.do(AMANI, put(rect("r1")))
    f.do(AMANI, put(rect("r2", 20)))
    f.do(AMANI, BoardUndo("main"))  # r2 goes, and its id is tombstoned
    f.do(AMANI, BoardRedo("main"))  # r2 is back: no longer a tombstone
    f.do(AMANI, BoardUndo("main"))
    f.do(AMANI, BoardUndo("main"))
    f.do(AMANI, BoardRedo("main"))
    stale = f.stale()
    f.do(TEACHER, BoardPatch("main", "r1", {"x": 99}))
    f.ignored(AMANI, BoardUndo("main"), on=stale)  # r1 changed since: expect fails
    f.do(AMANI, BoardRedo("main"))  # r2 once more (redo still holds it)
    return f


def undo_redo_patch_delete() -> Recorder:
    f = Recorder("undo_redo_patch_delete", "board.restored after patches and deletes")
    f.do(AMANI, put(rect("a")))
    f.do(AMANI, put(rect("b", 5)))
    f.do(AMANI, BoardPatch("main", "a", {"x": 40}))
    f.do(AMANI, BoardPatch("main", "a", z=-1))
    f.do(AMANI, BoardUndo("main"))  # z back to 1 with a new seq; top_z stays
    f.do(AMANI, BoardUndo("main"))  # x back to 0
    f.do(AMANI, BoardRedo("main"))
    f.do(AMANI, BoardDelete("main", ["a", "b"]))
    f.do(AMANI, BoardUndo("main"))  # both back, out of the tombstones
    f.do(AMANI, BoardRedo("main"))  # both gone again
    f.do(AMANI, BoardUndo("main"))
    f.do(TEACHER, BoardDelete("main", ["b"]))
    f.do(TEACHER, BoardUndo("main"))
    f.do(TEACHER, BoardRedo("main"))
    return f


def undo_stroke_step_dropped() -> Recorder:
    f = Recorder("undo_stroke_step_dropped", "a stroke undone and redone; board.step_dropped")
    f.do(AMANI, put(rect("first")))
    f.do(AMANI, put(stroke("s", 0, 0)))
    f.do(AMANI, append("s", 1, 1, 1))
    f.do(AMANI, BoardUndo("main"))  # the whole stroke, appends included
    f.do(AMANI, BoardRedo("main"))  # back open: the author may go on drawing
    assert f.record("s")["props"]["open"] is True
    f.do(AMANI, append("s", 2, 2, 2, end=True))
    f.do(TEACHER, BoardPatch("main", "s", {"color": GREEN}))
    f.refused_undo(AMANI, BoardUndo("main"))  # the teacher changed it: the step is dropped
    f.do(AMANI, BoardUndo("main"))  # goes further back: "first" goes
    f.raw("board.step_dropped", {"board": "nope", "history": "redo", "by": "p_amani"}, True)
    return f


def late_joiner() -> Recorder:
    f = Recorder("late_joiner", "a client joins by snapshot (several chunks) after deletes")
    for n in range(6):
        f.do(AMANI, put(rect(f"r{n}", n)))
    f.do(AMANI, put(stroke("s", 0, 0, 1, 1)))
    f.do(AMANI, BoardDelete("main", ["s", "r5"]))  # the top records: top_z stays 7
    f.do(TEACHER, BoardPatch("main", "r4", z=-3))
    f.do(TEACHER, BoardCreate("g1", "Group 1"))
    f.do(INGRID, put(stroke("t", 3, 3), board="g1"))
    f.do(TEACHER, BoardAccessUpdate("g1", "selected", ["c2"]))
    f.join_here(frame_bytes=600)
    assert len(f.snapshot["records"] if f.snapshot else []) > 2
    f.do(AMANI, put(rect("new")))
    assert f.record("new")["z"] == 8  # from top_z, not from the records (highest z: 4)
    f.do(INGRID, BoardAppend("g1", "t", 1, [4, 4], True))
    f.raw(
        "board.put",
        {
            "board": "main",
            "record": {**rect("s"), "author": "p_amani", "class_id": "c1"},
            "by": "p_amani",
        },
        True,
    )
    f.do(AMANI, BoardUndo("main"))  # "new"
    f.do(AMANI, BoardUndo("main"))  # the delete from before the snapshot: s and r5 back
    f.do(AMANI, BoardRedo("main"))
    return f


def races_after_clear() -> Recorder:
    f = Recorder("races_after_clear", "commands decided before a clear, logged after it")
    f.do(AMANI, put(rect("a")))
    f.do(AMANI, put(stroke("s", 0, 0)))
    stale = f.stale()
    f.do(TEACHER, BoardClear("main"))
    f.ignored(AMANI, BoardUndo("main"), on=stale)
    f.ignored(AMANI, append("s", 1, 1, 1), on=stale)
    f.ignored(AMANI, BoardPatch("main", "a", {"x": 3}), on=stale)
    f.ignored(AMANI, put(rect("a")), on=without(stale, "a"))
    f.do(AMANI, put(rect("b")), on=stale)  # a new id decided before the clear still lands
    f.ignored(AMANI, BoardDelete("main", ["a"]), on=stale)
    return f


def without(stale: SessionState, record_id: str) -> SessionState:
    """A replica that never saw ``record_id``: a worker deciding a put of an id that another
    worker's client used a moment before."""
    state = copy.deepcopy(stale)
    state.boards["main"].records.pop(record_id)
    return state


def raced_duplicates() -> Recorder:
    f = Recorder("raced_duplicates", "the same id put twice, duplicated events, raced deletes")
    stale = f.stale()
    f.do(AMANI, put(rect("same")))
    f.ignored(INGRID, put(rect("same", 50)), on=stale)
    put_seq = f.do(AMANI, put(stroke("s", 0, 0)))
    append_seq = f.do(AMANI, append("s", 1, 1, 1))
    stale = f.stale()
    f.do(TEACHER, BoardDelete("main", ["s"]))
    f.ignored(AMANI, append("s", 2, 2, 2), on=stale)  # the teacher erased it meanwhile
    f.again(put_seq)  # a tombstone now
    f.again(append_seq)
    patch_seq = f.do(INGRID, put(rect("i")))
    patch_seq = f.do(INGRID, BoardPatch("main", "i", {"x": 4}))
    f.again(patch_seq, unchanged=False)  # the same values, but the seq moves
    undo_seq = f.do(INGRID, BoardUndo("main"))
    f.again(undo_seq)  # its expectation no longer holds
    delete_seq = f.do(INGRID, BoardDelete("main", ["i"]))
    f.again(delete_seq)
    return f


def tombstone_limit() -> Recorder:
    f = Recorder("tombstone_limit", "1001 records cleared: the oldest tombstone is forgotten")
    for n in range(1001):
        f.do(HOST, put(rect(f"r{n:04d}")))
    f.do(TEACHER, BoardClear("main"))
    f.join_here()
    tombstones = f.state.boards["main"].tombstones
    assert len(tombstones) == 1000
    assert tombstones[0] == "r0001"
    f.do(HOST, put(rect("r0000")))  # forgotten, so usable again
    author = {"author": "p_host", "class_id": "c1"}
    f.raw(
        "board.put",
        {"board": "main", "record": {**rect("r0001"), **author}, "by": "p_host"},
        unchanged=True,
    )
    f.do(HOST, BoardDelete("main", ["r0000"]))  # pushes r0001 out
    f.do(HOST, put(rect("r0001")))
    return f


def records_limit() -> Recorder:
    """Too big for a file (5000 records): made by the test itself."""
    f = Recorder(
        "records_limit", "5000 records: a put is ignored; an undo decided just before may add one"
    )
    for n in range(5000):
        f.do(HOST, put(rect(f"r{n:04d}")))
    f.do(AMANI, put(rect("mine")), on=without(f.stale(), "r4999"))  # decided before the last
    f.join_here(frame_bytes=64 * 1024)
    author = {"author": "p_host", "class_id": "c1"}
    f.raw(
        "board.put",
        {"board": "main", "record": {**rect("over"), **author}, "by": "p_host"},
        unchanged=True,
    )
    f.do(HOST, BoardDelete("main", ["r0000"]))
    before_last = f.stale()
    f.do(INGRID, put(rect("last")))
    # Decided on a worker that had not seen "last" yet (4999 records there): the undo of a
    # delete is not a put, and the reducer lets it through: 5001 records.
    f.do(HOST, BoardUndo("main"), on=before_last)
    assert len(f.state.boards["main"].records) == 5001
    f.raw(
        "board.put",
        {"board": "main", "record": {**rect("more"), **author}, "by": "p_host"},
        unchanged=True,
    )
    return f


def points_limit() -> Recorder:
    """Too big for a file (5000 points): made by the test itself."""
    f = Recorder("points_limit", "a stroke takes at most 5000 points")
    f.do(AMANI, put(stroke("s", *range(2 * 4998))))
    data = {"board": "main", "id": "s", "offset": 4998, "points": [1, 1, 2, 2, 3, 3]}
    f.raw("board.appended", {**data, "by": "p_amani"}, unchanged=True)  # 5001 points
    f.do(AMANI, append("s", 4998, 1, 1, 2, 2))  # exactly 5000
    f.raw("board.appended", {**data, "offset": 5000, "points": [4, 4], "by": "p_amani"}, True)
    return f


ALL: list[Callable[[], Recorder]] = [
    boards_and_access,
    put_and_z,
    patch,
    append_stroke,
    delete_and_clear,
    undo_redo_put,
    undo_redo_patch_delete,
    undo_stroke_step_dropped,
    late_joiner,
    races_after_clear,
    raced_duplicates,
    tombstone_limit,
]
BIG: list[Callable[[], Recorder]] = [records_limit, points_limit]


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for make in ALL:
        case = make().case()
        path = FIXTURES / f"{case['name']}.json"
        path.write_text(json.dumps(case, indent=1, ensure_ascii=False) + "\n")
        print(f"{path.name}: {len(case['events'])} events, {len(case['unchanged'])} unchanged")


if __name__ == "__main__":
    main()
