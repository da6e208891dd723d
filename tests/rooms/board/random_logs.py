"""Random board logs for the parity property test: commands from several actors decided by the
real rules (refused ones leave no event, as on a worker), some decided against a lagging
replica (another worker that has not heard the latest events yet), events logged twice, and
hand-made events that may or may not still apply. A client joins at a random point.

Choices look at the deciding replica (append to a stroke that is open there, by its author,
at its end, most of the time), so that most commands are accepted and the races are real.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

from server.errors import ClassbridgeError
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
from server.rooms.board.model import Board
from server.rooms.board.rules import decide_board
from server.rooms.events import Event
from server.rooms.reducer import apply_event
from server.rooms.state import SessionState
from tests.rooms.board.parity import Case, boards_to_json, client_snapshot
from tests.rooms.builders import AMANI, HOST, INGRID, OBSERVER, TEACHER, full_session, replay

T = TypeVar("T")


class Draw(Protocol):
    """Hypothesis's draw: st.data()'s as well, which st.DrawFn does not admit."""

    def __call__(self, strategy: st.SearchStrategy[T], /) -> T: ...


# Mostly people who may draw: an observer (refused every time) now and then.
ACTORS = (HOST, TEACHER, AMANI, INGRID, OBSERVER, AMANI, INGRID, TEACHER)
BOARDS = ("main", "g1")
IDS = tuple("abcdefgh")
COLORS = ("#cc0000", "#00aa00")
# Weights: mostly drawing, a clear or an access change now and then.
COMMANDS: tuple[str, ...] = (
    ("put",) * 4 + ("append",) * 3 + ("patch",) * 2 + ("delete",) * 2 + ("undo",) * 3
)
COMMANDS += ("redo", "redo", "clear", "access", "create")
BY_ID = {actor.participant_id: actor for actor in ACTORS}

points = st.lists(st.integers(-3, 3), max_size=3).map(lambda p: p + p)  # an even count


def _rect_props(x: int) -> dict[str, Any]:
    return {"x": x, "y": 0, "w": 4, "h": 4, "color": COLORS[x % 2], "width": 1}


class LogBuilder:
    def __init__(self, draw: Draw) -> None:
        self.draw = draw
        self.session = full_session()
        self.start = len(self.session.log)  # board events come after the joins
        self.append_decided(TEACHER, BoardCreate("g1", "Group 1"), self.session.state)
        self.lagging = copy.deepcopy(self.session.state)

    # --- steps --------------------------------------------------------------------------------

    def step(self) -> None:
        choice = self.draw(st.sampled_from(["command"] * 6 + ["raw"] * 2 + ["again", "catch_up"]))
        if choice == "command":
            state = self.lagging if self.draw(st.integers(0, 3)) == 0 else self.session.state
            actor, command = self.command(state)
            self.append_decided(actor, command, state)
        elif choice == "raw":
            self.append(*self.raw())
        elif choice == "again":
            index = self.draw(st.integers(self.start, len(self.session.log) - 1))
            _, event = self.session.log[index]
            self.append(event.kind, copy.deepcopy(event.data))
        else:
            self.lagging = copy.deepcopy(self.session.state)

    def append(self, kind: str, data: dict[str, Any]) -> None:
        self.session.append(Event(kind, self.session.tick(), data))

    def append_decided(self, actor: Actor, command: BoardCommand, state: SessionState) -> None:
        try:
            events = decide_board(state, actor, command, self.session.tick())
        except ClassbridgeError as refusal:
            follow_up = getattr(refusal, "log_anyway", None)  # as the hub does
            events = [follow_up] if follow_up is not None else []
        for event in events:
            self.session.append(event)

    # --- choices ------------------------------------------------------------------------------

    def board(self, state: SessionState) -> tuple[str, Board | None]:
        board_id = self.draw(st.sampled_from(BOARDS))
        return board_id, state.boards.get(board_id)

    def record_id(self, board: Board | None, where: Callable[[Any], bool] = bool) -> str:
        """Mostly a record the board has (that ``where`` accepts), sometimes any id."""
        found = sorted(r.id for r in (board.records.values() if board else ()) if where(r))
        if found and self.draw(st.integers(0, 4)) != 0:
            return self.draw(st.sampled_from(found))
        return self.draw(st.sampled_from(IDS))

    def actor(self, author: str | None = None) -> Actor:
        """Mostly the author of the record (when there is one), sometimes anyone."""
        if author in BY_ID and self.draw(st.integers(0, 3)):
            return BY_ID[author]
        return self.draw(st.sampled_from(ACTORS))

    def put_record(self) -> dict[str, Any]:
        record_id = self.draw(st.sampled_from(IDS))
        if self.draw(st.booleans()):
            return {
                "id": record_id,
                "kind": "rect",
                "props": _rect_props(self.draw(st.integers(0, 5))),
            }
        props = {"points": self.draw(points), "color": COLORS[0], "width": 2}
        record: dict[str, Any] = {"id": record_id, "kind": "stroke", "props": props}
        if self.draw(st.integers(0, 3)) == 0:
            record["open"] = False
        return record

    def command(self, state: SessionState) -> tuple[Actor, BoardCommand]:
        board_id, board = self.board(state)
        choice = self.draw(st.sampled_from(COMMANDS))
        if choice == "put":
            return self.actor(), BoardPut(board_id, self.put_record())
        if choice == "append":
            return self.append_command(state, board_id)
        if choice == "patch":
            record_id = self.record_id(board)
            record = board.records.get(record_id) if board else None
            patches: list[dict[str, Any]] = [{}, {"x": 5}, {"color": COLORS[1]}, {"width": 7}]
            props = self.draw(st.sampled_from(patches))
            z = self.draw(st.none() | st.integers(-3, 12))
            actor = self.actor(record.author if record else None)
            return actor, BoardPatch(board_id, record_id, props, z)
        if choice == "delete":
            chosen = self.draw(st.lists(st.sampled_from(IDS), max_size=1))
            record = board.records.get(self.record_id(board)) if board else None
            actor = self.actor(record.author if record else None)
            return actor, BoardDelete(board_id, [record.id] if record else chosen or ["a"])
        if choice == "undo":
            return self.actor(), BoardUndo(board_id)
        if choice == "redo":
            return self.actor(), BoardRedo(board_id)
        if choice == "clear":
            return self.actor(), BoardClear(board_id)
        if choice == "access":
            mode = self.draw(st.sampled_from([None, "everyone", "teachers", "selected"]))
            classes = self.draw(st.none() | st.just(["c2"]))
            locked = self.draw(st.sampled_from([None, None, True, False]))
            return TEACHER, BoardAccessUpdate(board_id, mode, classes, None, locked)
        return HOST, BoardCreate(self.draw(st.sampled_from(["g1", "g2"])), "Group")

    def append_command(self, state: SessionState, board_id: str) -> tuple[Actor, BoardCommand]:
        # Mostly a stroke that is open on the deciding replica, on whichever board it is.
        open_strokes = sorted(
            (b.id, r.id)
            for b in state.boards.values()
            for r in b.records.values()
            if r.props.get("open")
        )
        record_id = self.draw(st.sampled_from(IDS))
        if open_strokes and self.draw(st.integers(0, 5)) != 0:
            board_id, record_id = self.draw(st.sampled_from(open_strokes))
        board = state.boards.get(board_id)
        record = board.records.get(record_id) if board else None
        offset = len(record.props.get("points", [])) // 2 if record else 0
        if self.draw(st.integers(0, 4)) == 0:
            offset = self.draw(st.integers(0, 4))
        end = self.draw(st.sampled_from([None, None, None, True]))
        actor = self.actor(record.author if record else None)
        return actor, BoardAppend(board_id, record_id, offset, self.draw(points), end)

    def raw(self) -> tuple[str, dict[str, Any]]:
        """An event no worker decided like this: it may apply, or not."""
        state = self.session.state
        board_id, board = self.board(state)
        by = self.actor().participant_id
        base: dict[str, Any] = {"board": board_id, "by": by}
        choice = self.draw(st.integers(0, 5))
        if choice == 0:
            record = self.put_record()
            author = self.actor()
            if record["kind"] == "stroke":
                record["props"]["open"] = record.pop("open", True)
            wire = {**record, "author": author.participant_id, "class_id": author.class_id}
            return "board.put", {**base, "record": wire}
        if choice == 1:
            record_id = self.record_id(board, lambda r: r.props.get("open"))
            data = {"id": record_id, "offset": self.draw(st.integers(0, 4)), "points": [1, 1]}
            return "board.appended", {**base, **data, "end": self.draw(st.booleans())}
        if choice == 2:
            data = {"id": self.record_id(board)}
            if self.draw(st.booleans()):
                data["props"] = self.draw(st.sampled_from([{"x": 1}, {"color": COLORS[0]}]))
            if self.draw(st.booleans()):
                data["z"] = self.draw(st.integers(-3, 12))
            return "board.patched", {**base, **data}
        if choice == 3:
            chosen = self.draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=3, unique=True))
            return "board.deleted", {**base, "ids": chosen}
        if choice == 4:
            return "board.step_dropped", {**base, "history": "undo"}
        return "board.restored", {**base, "history": "redo", **self.restore(board)}

    def restore(self, board: Board | None) -> dict[str, Any]:
        named = self.draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=3, unique=True))
        expect = []
        for record_id in named:
            record = board.records.get(record_id) if board else None
            current = record.seq if record else 0
            expect.append([record_id, self.draw(st.sampled_from([current, current, 0, 1]))])
        restored = []
        for record_id in named:
            if self.draw(st.booleans()):
                author = self.actor()
                z = self.draw(st.integers(-2, 9))
                restored.append(
                    {"id": record_id, "kind": "rect", "author": author.participant_id}
                    | {"class_id": author.class_id, "z": z, "seq": 1, "props": _rect_props(z % 3)}
                )
        deleted = [i for i in named if i not in {r["id"] for r in restored}]
        return {"expect": expect, "records": restored, "deleted": deleted}


def build_case(draw: Draw) -> tuple[Case, list[Any]]:
    """A random log, the case for node (a client that joins somewhere along it), and the
    server's canonical boards from that point on, event by event."""
    builder = LogBuilder(draw)
    for _ in range(draw(st.integers(5, 60))):
        builder.step()
    log = builder.session.log
    joined = draw(st.integers(builder.start, len(log)))
    state = replay(log[:joined])
    case: Case = {"snapshot": client_snapshot(state, draw(st.sampled_from([300, 4096])))}
    case["events"] = []
    truth = [boards_to_json(state.boards)]
    for seq, event in log[joined:]:
        case["events"].append([seq, event.kind, copy.deepcopy(event.data)])
        apply_event(state, seq, event)
        truth.append(boards_to_json(state.boards))
    assert truth[-1] == boards_to_json(builder.session.state.boards)
    return case, truth
