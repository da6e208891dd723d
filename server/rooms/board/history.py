"""Undo and redo, per participant and per board, as inverse operations in the log.

Each participant's own changes form their history (``HistoryStep`` in the board state, kept
by the reducer on every replica). Undo puts the records of the newest step back as they were
before it; it is refused when any of them changed since (another participant, or a teacher,
edited it): overwriting that change would lose someone else's work. A refused step is
dropped, in the log, so the next undo goes further back instead of failing forever.
"""

from __future__ import annotations

from typing import Any

from server.errors import ClassbridgeError, LimitExceeded
from server.rooms.actor import Actor
from server.rooms.board.model import Board
from server.rooms.board.reducer import LIMITS, is_current
from server.rooms.events import Event, EventKind


class NothingToUndo(ClassbridgeError):
    code = "nothing_to_undo"
    http_status = 409


class UndoConflict(ClassbridgeError):
    """Refused, but not without a trace: ``log_anyway`` drops the step on every replica."""

    code = "undo_conflict"
    http_status = 409

    def __init__(self, message: str, log_anyway: Event) -> None:
        super().__init__(message, detail="board")
        self.log_anyway = log_anyway


def decide_history(board: Board, actor: Actor, history: str, now: int) -> Event:
    """The ``board.restored`` event of an undo (``history="undo"``) or a redo."""
    steps = board.history.get(actor.participant_id)  # read only: deciding changes nothing
    stack = (steps.undo if history == "undo" else steps.redo) if steps else None
    if not stack:
        raise NothingToUndo(f"nothing to {history} on this board", detail="board")
    step = stack[-1]
    base = {"board": board.id, "history": history, "by": actor.participant_id}
    if not is_current(board, step):
        dropped = Event(kind=EventKind.BOARD_STEP_DROPPED, ts=now, data=base)
        raise UndoConflict(f"cannot {history}: someone changed it since", dropped)
    returning = sum(
        1
        for i, before in zip(step.ids, step.before, strict=True)
        if before and i not in board.records
    )
    if len(board.records) + returning > LIMITS.records_per_board:
        raise LimitExceeded(f"the board holds {LIMITS.records_per_board} records", detail="board")
    data: dict[str, Any] = {
        **base,
        # What the records must be for the restore to apply (clients check it like the
        # server's reducer does): [id, seq], seq 0 for a record that must be absent.
        "expect": [[i, after] for i, after in zip(step.ids, step.after, strict=True)],
        "records": [before for before in step.before if before is not None],
        "deleted": [i for i, before in zip(step.ids, step.before, strict=True) if before is None],
    }
    return Event(kind=EventKind.BOARD_RESTORED, ts=now, data=data)
