"""Who else is in the session now and takes part in video, as the synthetic station sees it:
set from a session snapshot, then kept up to date by ``participant.joined`` / ``.left``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.rooms.roles import parse_role


def uses_media(role: str) -> bool:
    parsed = parse_role(role)
    return parsed is not None and parsed.may_use_media


class MediaRoster:
    def __init__(self, me: str) -> None:
        self.me = me
        self.present: set[str] = set()

    def reset(self, session: Mapping[str, Any]) -> None:
        self.present = {
            participant["id"]
            for klass in session.get("classes", [])
            for participant in klass.get("participants", [])
            if participant.get("present")
            and uses_media(participant.get("role", ""))
            and participant["id"] != self.me
        }

    def joined(self, participant: Mapping[str, Any]) -> bool:
        """Take a joined participant; True if it is someone else who uses media."""
        if participant["id"] == self.me or not uses_media(participant.get("role", "")):
            return False
        self.present.add(participant["id"])
        return True

    def left(self, participant_id: str) -> bool:
        """True if it was someone this roster counted."""
        if participant_id not in self.present:
            return False
        self.present.discard(participant_id)
        return True
