"""Who else is in the session now and takes part in video, as the synthetic station sees it:
set from a session snapshot, then kept up to date by ``participant.joined`` / ``.left`` and
``media.granted`` (a student a teacher lets take part in video)."""

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
        self._others: dict[str, str] = {}  # present participants but me -> role
        self._grants: set[str] = set()
        self._heard: set[str] = set()  # offered to us: the server relays only between publishers

    @property
    def present(self) -> set[str]:
        return {
            participant_id
            for participant_id, role in self._others.items()
            if uses_media(role) or participant_id in self._grants or participant_id in self._heard
        }

    def reset(self, session: Mapping[str, Any]) -> None:
        self._others = {
            participant["id"]: participant.get("role", "")
            for klass in session.get("classes", [])
            for participant in klass.get("participants", [])
            if participant.get("present") and participant["id"] != self.me
        }
        self._grants = set(session.get("media", {}).get("grants", []))
        self._heard = set()

    def joined(self, participant: Mapping[str, Any]) -> bool:
        """Take a joined participant; True if it is someone else who uses media."""
        if participant["id"] == self.me:
            return False
        self._others[participant["id"]] = participant.get("role", "")
        return participant["id"] in self.present

    def left(self, participant_id: str) -> bool:
        """True if it was someone this roster counted."""
        counted = participant_id in self.present
        self._others.pop(participant_id, None)
        self._heard.discard(participant_id)
        return counted

    def granted(self, participant_id: str, on: bool) -> bool:
        """Take a ``media.granted``; True if it changed whether a present participant counts."""
        before = participant_id in self.present
        if on:
            self._grants.add(participant_id)
        else:
            self._grants.discard(participant_id)
            self._heard.discard(participant_id)
        return before != (participant_id in self.present)

    def heard_from(self, participant_id: str) -> None:
        """An offer came from them: the server relayed it, so they take part in video (the
        grant may be in an event this station has not applied yet)."""
        self._heard.add(participant_id)
