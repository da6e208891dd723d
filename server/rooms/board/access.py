"""Who may change a board and its records. Enforced here, on the server, for every command:
students are often minors, and a page that hides a button protects nothing."""

from __future__ import annotations

from server.errors import ClassbridgeError, Forbidden, InvalidMessage, NotFound
from server.rooms.actor import Actor
from server.rooms.board.model import Board, BoardMode
from server.rooms.board.records import COORDINATE_LIMIT, BoardRecord
from server.rooms.roles import Role


class BoardLocked(ClassbridgeError):
    code = "board_locked"
    http_status = 403


def check_may_draw(board: Board, actor: Actor) -> None:
    """May ``actor`` add to the board or change records at all (before ownership)?"""
    if actor.role is Role.OBSERVER:
        raise Forbidden("observers cannot draw", detail="board")
    if board.access.locked:
        raise BoardLocked("the board is locked by a teacher", detail="board")
    if actor.role.is_teacher:
        return
    access = board.access
    if access.mode == BoardMode.TEACHERS:
        raise Forbidden("only teachers draw on this board now", detail="board")
    if access.mode == BoardMode.SELECTED and not (
        actor.class_id in access.classes or actor.participant_id in access.participants
    ):
        raise Forbidden("only selected classes and participants draw on this board", detail="board")


def check_may_edit(board: Board, actor: Actor, record: BoardRecord) -> None:
    """Teachers change every record; everyone else only their own."""
    check_may_draw(board, actor)
    if not actor.role.is_teacher and record.author != actor.participant_id:
        raise Forbidden("you can change only what you drew", detail="record")


def check_teacher(actor: Actor, what: str) -> None:
    if not actor.role.is_teacher:
        raise Forbidden(f"only teachers can {what}", detail="board")


def check_may_point(board: Board | None, actor: Actor, x: int, y: int) -> None:
    """A cursor: anyone but an observer, on a board of the session, within the board."""
    if board is None:
        raise NotFound("no such board in this session", detail="board")
    if actor.role is Role.OBSERVER:
        raise Forbidden("observers do not show a cursor", detail="board")
    for name, value in (("x", x), ("y", y)):
        if not -COORDINATE_LIMIT <= value <= COORDINATE_LIMIT:
            raise InvalidMessage("the cursor is outside the board", detail=name)
