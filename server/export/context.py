"""What every export section reads: a detached copy of the state, the time, and who asks."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from server.rooms.actor import Actor
from server.rooms.roles import Role
from server.rooms.state import ChatMessage, SessionState
from server.rooms.transcript import TranscriptEntry
from server.rooms.visibility import message_visible

# The operator is nobody in the session: it reads what a teacher who is party to no direct
# message reads (students' private messages, not teachers').
OPERATOR = Actor(participant_id="", name="Operator", role=Role.TEACHER, class_id="")


@dataclass(frozen=True, slots=True)
class ExportContext:
    state: SessionState  # for the zip, a copy: nothing changes it while the zip is built
    now: int  # ms since the epoch: open attendance intervals count up to here
    viewer: Actor  # who asked (OPERATOR for the API key)
    recordings: list[dict[str, Any]] | None  # None: this server does not record

    def sees(self, entry: TranscriptEntry) -> bool:
        if entry.to is None and entry.group is None:
            return True
        stub = ChatMessage(
            entry.id, entry.sender, entry.class_id, "", entry.ts, entry.to, entry.group
        )
        return message_visible(self.state, self.viewer, stub)

    def group_name(self, group_id: str) -> str:
        """A group of an earlier round is gone from the state: its id stands for it."""
        group = self.state.breakouts.group(group_id)
        return group.name if group is not None else group_id

    def name_of(self, participant_id: str) -> str:
        participant = self.state.participants.get(participant_id)
        return participant.name if participant is not None else participant_id

    def class_name(self, class_id: str) -> str:
        info = self.state.classes.get(class_id)
        return info.name if info is not None else class_id


def utc(ms: int | None) -> str:
    """``2026-03-01T09:15:00Z``; empty for no time."""
    if ms is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def minutes(ms: int) -> float:
    return round(ms / 60_000, 1)


def to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()
