"""Board commands to events: checked against the replica's board (who, what, limits) before
anything is appended. Pure, like ``server.rooms.commands``; the reducer re-checks what may have
changed between the decision and the append."""

from __future__ import annotations

from typing import Any

from server.errors import ClassbridgeError, InvalidMessage, LimitExceeded, NotFound
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
from server.rooms.board.access import check_may_draw, check_may_edit, check_teacher
from server.rooms.board.history import decide_history
from server.rooms.board.model import Board, BoardAccess, BoardMode
from server.rooms.board.records import (
    RECORD_ID,
    RecordKind,
    check_kind,
    check_points,
    check_props,
)
from server.rooms.board.reducer import LIMITS
from server.rooms.events import Event, EventKind
from server.rooms.state import SessionState

MAX_Z = 10**9
MAX_DELETE = 200  # records one delete may name (a teacher erasing a selection)


class RecordExists(ClassbridgeError):
    code = "record_exists"
    http_status = 409


class BoardFull(ClassbridgeError):
    code = "board_full"
    http_status = 413


class OffsetMismatch(ClassbridgeError):
    """The stroke does not have the points the sender thinks: ``current`` is the record as the
    server has it, so the sender can resynchronise and append from its real end."""

    code = "offset_mismatch"
    http_status = 409

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message, detail="offset")
        self.current = current


def board_of(state: SessionState, board_id: str) -> Board:
    board = state.boards.get(board_id)
    if board is None:
        raise NotFound("no such board in this session", detail="board")
    return board


def _event(kind: str, now: int, actor: Actor, board: str, **data: Any) -> Event:
    return Event(kind=kind, ts=now, data={"board": board, **data, "by": actor.participant_id})


def decide_board(state: SessionState, actor: Actor, command: BoardCommand, now: int) -> list[Event]:
    if isinstance(command, BoardCreate):
        return [_create(state, actor, command, now)]
    board = board_of(state, command.board)
    match command:
        case BoardPut():
            return [_put(board, actor, command, now)]
        case BoardPatch():
            return [_patch(board, actor, command, now)]
        case BoardAppend():
            return [_append(board, actor, command, now)]
        case BoardDelete():
            return [_delete(board, actor, command, now)]
        case BoardClear():
            check_teacher(actor, "clear a board")
            check_may_draw(board, actor)
            return [_event(EventKind.BOARD_CLEARED, now, actor, board.id)]
        case BoardUndo() | BoardRedo():
            check_may_draw(board, actor)
            history = "undo" if isinstance(command, BoardUndo) else "redo"
            return [decide_history(board, actor, history, now)]
        case BoardAccessUpdate():
            return [_access(state, board, actor, command, now)]
    raise InvalidMessage("not a board command", detail="type")


def _create(state: SessionState, actor: Actor, command: BoardCreate, now: int) -> Event:
    check_teacher(actor, "open a board")
    if not RECORD_ID.fullmatch(command.board):
        raise InvalidMessage("a board id is 1-40 letters, digits, _ or -", detail="board")
    if command.board in state.boards:
        raise RecordExists("there is a board with this id", detail="board")
    if len(state.boards) >= LIMITS.boards_per_session:
        raise LimitExceeded(f"at most {LIMITS.boards_per_session} boards", detail="board")
    if len(command.title) > 200:
        raise LimitExceeded("a board title has at most 200 characters", detail="title")
    return _event(EventKind.BOARD_CREATED, now, actor, command.board, title=command.title)


def _put(board: Board, actor: Actor, command: BoardPut, now: int) -> Event:
    check_may_draw(board, actor)
    record_id = command.record["id"]
    if not RECORD_ID.fullmatch(record_id):
        raise InvalidMessage("a record id is 1-40 letters, digits, _ or -", detail="record.id")
    if record_id in board.records or record_id in board.tombstones:
        raise RecordExists("the board has (or had) a record with this id", detail="record.id")
    if len(board.records) >= LIMITS.records_per_board:
        raise BoardFull(f"the board holds {LIMITS.records_per_board} records", detail="board")
    kind = check_kind(command.record["kind"])
    props = check_props(kind, command.record["props"], LIMITS, partial=False)
    if kind == RecordKind.STROKE:
        # A stroke is put with its first points and stays open while its author appends.
        props["open"] = command.record.get("open", True) is not False
    record = {
        "id": record_id,
        "kind": kind,
        "author": actor.participant_id,
        "class_id": actor.class_id,
        "props": props,
    }
    return _event(EventKind.BOARD_PUT, now, actor, board.id, record=record)


def _record(board: Board, record_id: str) -> Any:
    record = board.records.get(record_id)
    if record is None:
        raise NotFound("no such record on this board", detail="record")
    return record


def _patch(board: Board, actor: Actor, command: BoardPatch, now: int) -> Event:
    record = _record(board, command.record)
    check_may_edit(board, actor, record)
    data: dict[str, Any] = {"id": record.id}
    if command.props:
        props = check_props(record.kind, command.props, LIMITS, partial=True)
        if "points" in props and record.props.get("open"):
            raise InvalidMessage("a stroke being drawn takes appends only", detail="props.points")
        data["props"] = props
    if command.z is not None:
        if not -MAX_Z <= command.z <= MAX_Z:
            raise InvalidMessage(f"'z' must be from {-MAX_Z} to {MAX_Z}", detail="z")
        data["z"] = command.z
    return _event(EventKind.BOARD_PATCHED, now, actor, board.id, **data)


def _append(board: Board, actor: Actor, command: BoardAppend, now: int) -> Event:
    record = _record(board, command.record)
    check_may_draw(board, actor)
    if record.kind != RecordKind.STROKE or record.author != actor.participant_id:
        raise InvalidMessage("appends go to a stroke of your own", detail="record")
    if not record.props.get("open"):
        raise InvalidMessage("the stroke is finished", detail="record")
    check_points("points", command.points, LIMITS.points_per_append)
    points = record.props["points"]
    if command.offset * 2 != len(points):
        raise OffsetMismatch(f"the stroke has {len(points) // 2} points", record.to_wire())
    if len(points) + len(command.points) > 2 * LIMITS.points_per_stroke:
        raise LimitExceeded(
            f"a stroke has at most {LIMITS.points_per_stroke} points", detail="points"
        )
    data = {"id": record.id, "offset": command.offset, "points": command.points}
    if command.end:
        data["end"] = True
    return _event(EventKind.BOARD_APPENDED, now, actor, board.id, **data)


def _delete(board: Board, actor: Actor, command: BoardDelete, now: int) -> Event:
    ids = list(dict.fromkeys(command.records))  # each once, in the order given
    if not ids:
        raise InvalidMessage("name at least one record", detail="records")
    if len(ids) > MAX_DELETE:
        raise LimitExceeded(f"at most {MAX_DELETE} records at once", detail="records")
    for record_id in ids:
        check_may_edit(board, actor, _record(board, record_id))
    return _event(EventKind.BOARD_DELETED, now, actor, board.id, ids=ids)


def _access(
    state: SessionState, board: Board, actor: Actor, command: BoardAccessUpdate, now: int
) -> Event:
    check_teacher(actor, "change who may draw")
    current = board.access
    mode = current.mode if command.mode is None else command.mode
    if mode not in set(BoardMode):
        raise InvalidMessage("mode is everyone, teachers or selected", detail="mode")
    classes = current.classes if command.classes is None else command.classes
    participants = current.participants if command.participants is None else command.participants
    if any(class_id not in state.classes for class_id in classes):
        raise NotFound("no such class in this session", detail="classes")
    if any(pid not in state.participants for pid in participants):
        raise NotFound("no such participant in this session", detail="participants")
    locked = current.locked if command.locked is None else command.locked
    access = BoardAccess(mode, sorted(set(classes)), sorted(set(participants)), locked)
    return _event(EventKind.BOARD_ACCESS_CHANGED, now, actor, board.id, access=access.to_wire())
