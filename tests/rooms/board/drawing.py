"""Board commands for the tests of the board core: a full session, and short ways to draw."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import ClassbridgeError
from server.protocol.board import (
    BoardAppend,
    BoardCommand,
    BoardDelete,
    BoardPatch,
    BoardPut,
)
from server.rooms.actor import Actor
from server.rooms.board.model import MAIN_BOARD, Board
from tests.rooms.builders import Session, full_session

RED, BLUE = "#cc0000", "#0000cc"


def board(session: Session, board_id: str = MAIN_BOARD) -> Board:
    return session.state.boards[board_id]


def rect(record_id: str, x: int = 0, color: str = RED) -> BoardPut:
    props = {"x": x, "y": 0, "w": 10, "h": 10, "color": color, "width": 2}
    return BoardPut(MAIN_BOARD, {"id": record_id, "kind": "rect", "props": props})


def stroke(record_id: str, *points: int) -> BoardPut:
    props = {"points": list(points), "color": BLUE, "width": 3}
    return BoardPut(MAIN_BOARD, {"id": record_id, "kind": "stroke", "props": props})


def append(record_id: str, offset: int, *points: int, end: bool = False) -> BoardAppend:
    return BoardAppend(MAIN_BOARD, record_id, offset, list(points), end or None)


def move(record_id: str, x: int) -> BoardPatch:
    return BoardPatch(MAIN_BOARD, record_id, {"x": x})


def delete(*record_ids: str) -> BoardDelete:
    return BoardDelete(MAIN_BOARD, list(record_ids))


def refused(session: Session, actor: Actor, command: BoardCommand) -> ClassbridgeError:
    """The error a command gets; the log must not have moved."""
    before = len(session.log)
    with pytest.raises(ClassbridgeError) as raised:
        session.command(actor, command)
    assert len(session.log) == before
    return raised.value


def drawn() -> Session:
    return full_session()


def props_of(session: Session, record_id: str) -> dict[str, Any]:
    return board(session).records[record_id].props
