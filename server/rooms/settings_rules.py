"""Changing a session's settings: teachers only, known names, values of the right type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from server.errors import Forbidden, InvalidMessage
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.lobby_state import parse_policy
from server.rooms.state import SessionSettings

# Settings that are not booleans: each has its parser, which returns the value to store (the
# lobby policy also takes the old booleans, see lobby_state.parse_policy).
SETTING_PARSERS: dict[str, Callable[[Any], Any]] = {"lobby": parse_policy}
SETTING_TYPES: dict[str, type] = {
    f.name: bool for f in fields(SessionSettings) if f.name not in SETTING_PARSERS
}


def validate_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Check names and values; shared by the HTTP API (creation) and the WebSocket command.
    Returns the values to store."""
    checked: dict[str, Any] = {}
    for name, value in changes.items():
        parser = SETTING_PARSERS.get(name)
        expected = SETTING_TYPES.get(name)
        if parser is not None:
            value = parser(value)
        elif expected is None:
            raise InvalidMessage(f"unknown setting '{name[:40]}'", detail=name[:40])
        elif not isinstance(value, expected):
            raise InvalidMessage(f"setting '{name}' must be {expected.__name__}", detail=name)
        checked[name] = value
    return checked


def change_settings(actor: Actor, changes: dict[str, Any], now: int) -> Event:
    if not actor.role.is_teacher:
        raise Forbidden("only teachers can change session settings")
    if not changes:
        raise InvalidMessage("no settings to change", detail="settings")
    checked = validate_settings(changes)
    return Event(
        kind=EventKind.SETTINGS_CHANGED,
        ts=now,
        data={"changes": checked, "by": actor.participant_id},
    )
