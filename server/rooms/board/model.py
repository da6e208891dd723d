"""The state of one board: its records, who may draw, and each participant's undo history.

A board lives in ``SessionState.boards`` and changes only through the reducer, so every
replica holds the same board: the undo history too, because any worker may be asked to undo.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.rooms.board.records import BoardRecord

MAIN_BOARD = "main"  # every session has it from the start


class BoardMode(StrEnum):
    EVERYONE = "everyone"  # every participant who may draw at all
    TEACHERS = "teachers"
    SELECTED = "selected"  # teachers, plus the listed classes and participants


@dataclass(slots=True)
class BoardAccess:
    mode: str = BoardMode.EVERYONE
    classes: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    locked: bool = False  # nobody changes anything until a teacher unlocks it

    def to_wire(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "classes": list(self.classes),
            "participants": list(self.participants),
            "locked": self.locked,
        }


@dataclass(slots=True)
class HistoryStep:
    """One undoable change: the records it touched as they were before (None: absent) and
    the seq each had after it (0: absent). Undoing is refused when any of them changed since."""

    ids: list[str]
    before: list[dict[str, Any] | None]
    after: list[int]

    def to_wire(self) -> list[Any]:
        return [self.ids, self.before, self.after]


@dataclass(slots=True)
class ParticipantHistory:
    undo: deque[HistoryStep]
    redo: deque[HistoryStep]


@dataclass(slots=True)
class Board:
    id: str
    title: str = ""
    access: BoardAccess = field(default_factory=BoardAccess)
    records: dict[str, BoardRecord] = field(default_factory=dict)
    top_z: int = 0
    tombstones: deque[str] = field(default_factory=deque)
    history: dict[str, ParticipantHistory] = field(default_factory=dict)

    def history_of(self, participant_id: str, depth: int) -> ParticipantHistory:
        found = self.history.get(participant_id)
        if found is None:
            found = ParticipantHistory(deque(maxlen=depth), deque(maxlen=depth))
            self.history[participant_id] = found
        return found

    def ordered(self) -> list[BoardRecord]:
        """Records bottom to top (z, then id so that equal z sorts the same everywhere)."""
        return sorted(self.records.values(), key=lambda r: (r.z, r.id))

    def to_wire(self) -> dict[str, Any]:
        """What clients get: no undo history (it is the server's business)."""
        return {
            "id": self.id,
            "title": self.title,
            "access": self.access.to_wire(),
            "records": [r.to_wire() for r in self.ordered()],
        }
