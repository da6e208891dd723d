"""Changing a session's settings: teachers only, known names, values of the right type."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from server.errors import Forbidden, InvalidMessage
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.state import SessionSettings

SETTING_TYPES: dict[str, type] = {f.name: bool for f in fields(SessionSettings)}


def validate_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Check names and types; shared by the HTTP API (creation) and the WebSocket command."""
    for name, value in changes.items():
        expected = SETTING_TYPES.get(name)
        if expected is None:
            raise InvalidMessage(f"unknown setting '{name[:40]}'", detail=name[:40])
        if not isinstance(value, expected):
            raise InvalidMessage(f"setting '{name}' must be {expected.__name__}", detail=name)
    return changes


def change_settings(actor: Actor, changes: dict[str, Any], now: int) -> Event:
    if not actor.role.is_teacher:
        raise Forbidden("only teachers can change session settings")
    if not changes:
        raise InvalidMessage("no settings to change", detail="settings")
    validate_settings(changes)
    return Event(
        kind=EventKind.SETTINGS_CHANGED,
        ts=now,
        data={"changes": dict(changes), "by": actor.participant_id},
    )
