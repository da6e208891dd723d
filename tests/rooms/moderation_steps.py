"""Moderation commands that each change the state, for the reducer's every-kind check (the
session must have HOST, TEACHER and AMANI joined)."""

from __future__ import annotations

from server.protocol.messages import ClientMessage
from server.protocol.moderation import (
    ModerationClass,
    ModerationLock,
    ModerationMute,
    ModerationRemove,
    ModerationScope,
    SessionEnd,
)
from server.rooms.actor import Actor
from server.rooms.events import EventKind
from tests.rooms.builders import AMANI, HOST, TEACHER


def moderation_steps() -> list[tuple[EventKind, Actor, ClientMessage]]:
    amani = AMANI.participant_id
    return [
        (EventKind.MODERATION_MUTED, HOST, ModerationMute(participant=amani, audio=True)),
        (EventKind.CLASS_PERMISSIONS_CHANGED, HOST, ModerationClass("c1", chat=False)),
        (EventKind.MODERATION_SCOPE_CHANGED, HOST, ModerationScope(teachers_own_class=True)),
        (EventKind.SESSION_LOCKED, TEACHER, ModerationLock(locked=True)),
        (EventKind.PARTICIPANT_REMOVED, HOST, ModerationRemove(amani, bar=True)),
        (EventKind.SESSION_ENDED, HOST, SessionEnd()),
    ]
