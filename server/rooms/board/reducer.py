"""The pure reducer of board events, called by ``server.rooms.reducer`` for ``board.*`` kinds.

Decisions were checked against a replica before the append, but two workers may decide at the
same moment (a teacher deletes a stroke its author is still drawing). So every handler
re-checks what it needs and ignores an event that no longer applies: all replicas see the same
log, so all ignore the same events. client_demo/board.js applies the same rules to records.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from server.rooms.board.model import Board, BoardAccess, HistoryStep
from server.rooms.board.records import BoardLimits, BoardRecord

LIMITS = BoardLimits()  # fixed, not configurable: every replica must ignore the same events

BoardHandler = Callable[[dict[str, Board], int, dict[str, Any]], None]


def _board(boards: dict[str, Board], data: dict[str, Any]) -> Board | None:
    return boards.get(data["board"])


def _remember(board: Board, by: str, step: HistoryStep) -> None:
    history = board.history_of(by, LIMITS.undo_depth)
    history.undo.append(step)
    history.redo.clear()  # a new change ends the redo chain, as in every editor


def _tombstone(board: Board, record_id: str) -> None:
    board.tombstones.append(record_id)
    while len(board.tombstones) > LIMITS.tombstones:
        board.tombstones.popleft()


def _snapshot(board: Board, record_id: str) -> dict[str, Any] | None:
    record = board.records.get(record_id)
    return None if record is None else copy.deepcopy(record.to_wire())


def board_created(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    if data["board"] not in boards and len(boards) < LIMITS.boards_per_session:
        boards[data["board"]] = Board(id=data["board"], title=data.get("title", ""))


def access_changed(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    board = _board(boards, data)
    if board is not None:
        board.access = BoardAccess(**data["access"])


def record_put(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    board = _board(boards, data)
    wire = data["record"]
    if board is None or wire["id"] in board.records or wire["id"] in board.tombstones:
        return
    if len(board.records) >= LIMITS.records_per_board:
        return
    board.top_z += 1
    # A copy: appends extend the points in place, and the event's own data must stay as
    # logged (it may still be encoded for a client after later events were applied).
    props = copy.deepcopy(wire["props"])
    record = BoardRecord(wire["id"], wire["kind"], wire["author"], wire["class_id"], 0, seq, props)
    record.z = board.top_z
    board.records[record.id] = record
    _remember(board, data["by"], HistoryStep([record.id], [None], [seq]))


def record_patched(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    board = _board(boards, data)
    record = board.records.get(data["id"]) if board else None
    if board is None or record is None:
        return
    before = _snapshot(board, record.id)
    record.props.update(copy.deepcopy(data.get("props", {})))
    if "z" in data:
        record.z = data["z"]
        board.top_z = max(board.top_z, record.z)
    record.seq = seq
    _remember(board, data["by"], HistoryStep([record.id], [before], [seq]))


def points_appended(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    board = _board(boards, data)
    record = board.records.get(data["id"]) if board else None
    if board is None or record is None or not record.props.get("open"):
        return
    points: list[int] = record.props["points"]
    new: list[int] = data["points"]
    if record.author != data["by"] or data["offset"] * 2 != len(points):
        return
    if len(points) + len(new) > 2 * LIMITS.points_per_stroke:
        return
    points.extend(new)  # a copy of the event's list, so the event stays as logged
    if data.get("end"):
        record.props["open"] = False
    previous, record.seq = record.seq, seq
    # A stroke is one undo step from its first point to its last: the step made when it was
    # put follows the appends, as long as nothing else of the author's came in between.
    undo = board.history_of(record.author, LIMITS.undo_depth).undo
    if undo and undo[-1].ids == [record.id] and undo[-1].after == [previous]:
        undo[-1].after = [seq]


def records_deleted(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    board = _board(boards, data)
    if board is None:
        return
    # Each id once: an event naming one twice (not from our rules, but logs are data) must
    # not stop this replica half-way.
    ids = [record_id for record_id in dict.fromkeys(data["ids"]) if record_id in board.records]
    if not ids:
        return
    before = [_snapshot(board, record_id) for record_id in ids]
    for record_id in ids:
        del board.records[record_id]
        _tombstone(board, record_id)
    _remember(board, data["by"], HistoryStep(ids, before, [0] * len(ids)))


def board_cleared(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    board = _board(boards, data)
    if board is None:
        return
    for record_id in sorted(board.records):
        _tombstone(board, record_id)
    board.records.clear()
    board.history.clear()  # a clear is a teacher's decision for everyone: it is not undone


def is_current(board: Board, step: HistoryStep) -> bool:
    """Whether every record of the step is as the step left it (else undoing would overwrite
    someone else's later change)."""
    for record_id, after in zip(step.ids, step.after, strict=True):
        record = board.records.get(record_id)
        if (record.seq if record is not None else 0) != after:
            return False
    return True


def expectation_holds(board: Board, expect: list[list[Any]]) -> bool:
    """Whether each named record has the seq the event expects (0: absent). Clients check the
    same (they have no undo history), so the decision to apply rests on the event alone."""
    for record_id, after in expect:
        record = board.records.get(record_id)
        if (record.seq if record is not None else 0) != after:
            return False
    return True


def records_restored(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    """An undo or a redo: records put back as they were (``records``) or removed (``deleted``).
    The actor's history moves the step from one stack to the other when it is the top one."""
    board = _board(boards, data)
    if board is None or not expectation_holds(board, data["expect"]):
        return
    ids = [record_id for record_id, _ in data["expect"]]
    inverse = HistoryStep(ids, [_snapshot(board, record_id) for record_id in ids], [])
    for wire in data["records"]:
        _restore(board, wire["id"], wire, seq)
    for record_id in data["deleted"]:
        _restore(board, record_id, None, seq)
    inverse.after = [seq if record_id in board.records else 0 for record_id in ids]
    history = board.history_of(data["by"], LIMITS.undo_depth)
    undo, redo = history.undo, history.redo
    source, target = (undo, redo) if data["history"] == "undo" else (redo, undo)
    if source and source[-1].ids == ids:
        source.pop()
        target.append(inverse)


def _restore(board: Board, record_id: str, before: dict[str, Any] | None, seq: int) -> None:
    if before is None:
        if board.records.pop(record_id, None) is not None:
            _tombstone(board, record_id)
        return
    record = BoardRecord.from_wire(copy.deepcopy(before))
    _renumber_steps(board, record_id, record.seq, seq)
    record.seq = seq
    board.records[record_id] = record
    board.top_z = max(board.top_z, record.z)
    if record_id in board.tombstones:
        board.tombstones.remove(record_id)


def _renumber_steps(board: Board, record_id: str, old: int, new: int) -> None:
    """The record is back exactly as it was at ``old``, now under ``new``: steps that expect
    it as of ``old`` expect it as of ``new`` (else undoing a delete would block the undo of
    the move before it)."""
    for history in board.history.values():
        for step in (*history.undo, *history.redo):
            for index, (step_id, after) in enumerate(zip(step.ids, step.after, strict=True)):
                if step_id == record_id and after == old:
                    step.after[index] = new


def step_dropped(boards: dict[str, Board], seq: int, data: dict[str, Any]) -> None:
    """An undo or redo refused because its records changed since: the step is dropped, so the
    next undo goes further back instead of failing forever."""
    board = _board(boards, data)
    if board is None:
        return
    history = board.history_of(data["by"], LIMITS.undo_depth)
    stack = history.undo if data["history"] == "undo" else history.redo
    if stack:
        stack.pop()
