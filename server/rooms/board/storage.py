"""Boards in snapshots: the whole board, undo history included (any worker may be asked to
undo), as plain rows like the rest of ``dump_state``."""

from __future__ import annotations

from collections import deque
from typing import Any

from server.rooms.board.model import (
    MAIN_BOARD,
    Board,
    BoardAccess,
    HistoryStep,
    ParticipantHistory,
)
from server.rooms.board.records import BoardLimits, BoardRecord

_DEPTH = BoardLimits().undo_depth


def new_boards() -> dict[str, Board]:
    return {MAIN_BOARD: Board(id=MAIN_BOARD)}


def _record_row(record: BoardRecord) -> list[Any]:
    return [
        record.id,
        record.kind,
        record.author,
        record.class_id,
        record.z,
        record.seq,
        record.props,
    ]


def dump_board(board: Board) -> list[Any]:
    history = {
        pid: [[s.to_wire() for s in h.undo], [s.to_wire() for s in h.redo]]
        for pid, h in board.history.items()
    }
    return [
        board.id,
        board.title,
        board.access.to_wire(),
        [_record_row(r) for r in board.records.values()],
        board.top_z,
        list(board.tombstones),
        history,
    ]


def _steps(rows: list[Any]) -> deque[HistoryStep]:
    return deque((HistoryStep(*row) for row in rows), maxlen=_DEPTH)


def _record(row: list[Any]) -> BoardRecord:
    record_id, kind, author, class_id, z, seq, props = row
    return BoardRecord(record_id, kind, author, class_id, z, seq, props)


def load_board(row: list[Any]) -> Board:
    board_id, title, access, records, top_z, tombstones, history = row
    board = Board(id=board_id, title=title, access=BoardAccess(**access), top_z=top_z)
    board.records = {r[0]: _record(r) for r in records}
    board.tombstones = deque(tombstones)
    board.history = {
        pid: ParticipantHistory(_steps(undo), _steps(redo)) for pid, (undo, redo) in history.items()
    }
    return board
