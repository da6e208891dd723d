"""The breakout part of the session state: the groups of the round that is open, who is in
which, the calls for a teacher and the teachers' broadcasts. Built by reducer.py only."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

BROADCASTS_KEPT = 20  # the newest teachers' broadcasts of the open round, for late joiners


@dataclass(slots=True)
class Call:
    """A student of the group asked for a teacher."""

    by: str
    ts: int

    def to_wire(self) -> dict[str, Any]:
        return {"by": self.by, "ts": self.ts}


@dataclass(slots=True)
class BreakoutGroup:
    id: str  # unique across rounds (``r2-g1``), so a group's chat never reaches a later one
    name: str
    board: str  # ``group-<n>``: reused by each round, emptied when a round opens
    members: list[str] = field(default_factory=list)
    call: Call | None = None
    visitors: list[str] = field(default_factory=list)  # teachers who say they are there

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "board": self.board,
            "members": list(self.members),
            "call": None if self.call is None else self.call.to_wire(),
            "visitors": list(self.visitors),
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> BreakoutGroup:
        call = data.get("call")
        return cls(
            id=data["id"],
            name=data["name"],
            board=data["board"],
            members=list(data["members"]),
            call=None if call is None else Call(**call),
            visitors=list(data.get("visitors", ())),
        )


@dataclass(slots=True)
class BreakoutState:
    round: int = 0  # rounds opened so far; the open one's number while ``open``
    open: bool = False
    opened_by: str = ""
    opened_at: int = 0
    ends_at: int | None = None  # the shared countdown's end (Unix ms), if the teacher set one
    groups: list[BreakoutGroup] = field(default_factory=list)
    broadcasts: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BROADCASTS_KEPT))

    def group(self, group_id: str) -> BreakoutGroup | None:
        for group in self.groups:
            if group.id == group_id:
                return group
        return None

    def group_of(self, participant_id: str) -> BreakoutGroup | None:
        for group in self.groups:
            if participant_id in group.members:
                return group
        return None

    def to_wire(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "open": self.open,
            "opened_by": self.opened_by,
            "opened_at": self.opened_at,
            "ends_at": self.ends_at,
            "groups": [group.to_wire() for group in self.groups],
            "broadcasts": [dict(b) for b in self.broadcasts],
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> BreakoutState:
        state = cls(
            round=data["round"],
            open=data["open"],
            opened_by=data["opened_by"],
            opened_at=data["opened_at"],
            ends_at=data["ends_at"],
            groups=[BreakoutGroup.from_wire(g) for g in data["groups"]],
        )
        state.broadcasts.extend(data.get("broadcasts", ()))
        return state
