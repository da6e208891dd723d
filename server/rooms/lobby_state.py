"""The lobby's part of the session state: the policy values, who waits, who was let in.

Rules and reducer handlers are in server/rooms/lobby.py; this module holds only data, so
``state.py`` can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.errors import InvalidMessage


class LobbyPolicy(StrEnum):
    OPEN = "open"  # everyone enters at once
    CLASS = "class"  # a student enters once a teacher of their own class is present
    EVERYONE = "everyone"  # every student waits until a teacher admits them


def parse_policy(value: Any) -> str:
    """A policy from a client or the HTTP API. ``true``/``false`` are the values of the old
    boolean setting and are still accepted: ``true`` -> ``everyone``, ``false`` -> ``open``."""
    if isinstance(value, bool):
        return LobbyPolicy.EVERYONE.value if value else LobbyPolicy.OPEN.value
    if isinstance(value, str) and value in LobbyPolicy.__members__.values():
        return value
    choices = ", ".join(p.value for p in LobbyPolicy)
    raise InvalidMessage(f"setting 'lobby' must be one of {choices}", detail="lobby")


def stored_policy(value: Any) -> str:
    """A policy read from a snapshot or the log: never raises, since every replica must keep
    applying the log. Old logs hold booleans; a value unknown here (logged by a newer worker)
    is read as ``everyone``: waiting is the safe side for a class of minors."""
    try:
        return parse_policy(value)
    except InvalidMessage:
        return LobbyPolicy.EVERYONE.value


@dataclass(slots=True)
class WaitingEntry:
    """Someone in the lobby: who they are (the join token's identity) and since when."""

    id: str
    name: str
    role: str
    class_id: str
    since: int  # the ts of their lobby.waiting event

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "class_id": self.class_id,
            "since": self.since,
        }


@dataclass(slots=True)
class LobbyState:
    waiting: dict[str, WaitingEntry] = field(default_factory=dict)
    # Let in by a teacher or by the policy: they never wait again in this session.
    admitted: set[str] = field(default_factory=set)
    # Participant id -> seq of their latest denial: the waiting connections opened before it
    # are closed (4014); a later try waits again.
    denied: dict[str, int] = field(default_factory=dict)

    def dump(self) -> dict[str, Any]:
        return {
            "waiting": [[w.id, w.name, w.role, w.class_id, w.since] for w in self.waiting.values()],
            "admitted": sorted(self.admitted),
            "denied": dict(self.denied),
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> LobbyState:
        return cls(
            waiting={row[0]: WaitingEntry(*row) for row in data.get("waiting", [])},
            admitted=set(data.get("admitted", [])),
            denied=dict(data.get("denied", {})),
        )
