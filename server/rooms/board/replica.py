"""A client's copy of the boards, built from what a client receives: the welcome's summaries,
the ``board.records`` chunks, then board events applied by the same reducer as the server's.
Used by the Python client (tests, load tests); client_demo/board.js does the same in browsers."""

from __future__ import annotations

from collections import deque
from typing import Any

from server.rooms.board import reducer
from server.rooms.board.model import Board, BoardAccess
from server.rooms.board.records import BoardRecord

_APPLY: dict[str, reducer.BoardHandler] = {
    "board.created": reducer.board_created,
    "board.access_changed": reducer.access_changed,
    "board.put": reducer.record_put,
    "board.patched": reducer.record_patched,
    "board.appended": reducer.points_appended,
    "board.deleted": reducer.records_deleted,
    "board.cleared": reducer.board_cleared,
    "board.restored": reducer.records_restored,
    "board.step_dropped": reducer.step_dropped,
}


def boards_from_summaries(summaries: list[dict[str, Any]]) -> dict[str, Board]:
    boards = {}
    for summary in summaries:
        board = Board(id=summary["id"], title=summary["title"], top_z=summary["top_z"])
        board.access = BoardAccess(**summary["access"])
        board.tombstones = deque(summary["tombstones"])
        boards[board.id] = board
    return boards


def add_records(boards: dict[str, Board], board_id: str, records: list[dict[str, Any]]) -> None:
    board = boards[board_id]
    for wire in records:
        record = BoardRecord.from_wire(wire)
        board.records[record.id] = record


def apply_board_event(boards: dict[str, Board], seq: int, kind: str, data: dict[str, Any]) -> bool:
    """Apply a ``board.*`` event; False for any other kind."""
    handler = _APPLY.get(kind)
    if handler is None:
        return False
    handler(boards, seq, data)
    return True


def canonical(board: Board) -> dict[str, Any]:
    """What two replicas of a board must agree on (history is the server's business)."""
    return {
        "access": board.access.to_wire(),
        "records": [record.to_wire() for record in board.ordered()],
        "top_z": board.top_z,
    }
