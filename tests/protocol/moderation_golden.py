"""The moderation steps of the golden event script (test_event_golden.STEPS): each built by
the server's own moderation rules."""

from __future__ import annotations

from collections.abc import Callable

from server.protocol.moderation import ModerationClass, ModerationMute, ModerationRemove
from server.rooms.actor import Actor
from server.rooms.events import Event
from server.rooms.moderation import class_permissions, end, lock, mute, remove, scope
from server.rooms.roles import Role
from server.rooms.state import SessionState

Build = Callable[[SessionState, int], Event]

# The script's actors (see test_event_golden): a teacher of each class, a student of c2.
TEACHER = Actor("p_wanjiru", "Mwalimu Wanjiru", Role.TEACHER, "c1")
TEACHER_C2 = Actor("p_berg", "Ingrid Berg", Role.TEACHER, "c2")
HOST = Actor("p_host", "Mwalimu Host", Role.HOST, "c1")
AASE_ID = "p_aase"
STATION_ID = "p_room_7b"

MODERATION_STEPS: list[tuple[str | None, Build]] = [
    (
        "moderation.muted.participant",
        lambda state, now: mute(
            state, TEACHER, ModerationMute(participant=STATION_ID, audio=True), now
        ),
    ),
    (
        "moderation.muted.class",
        lambda state, now: mute(state, TEACHER_C2, ModerationMute(class_id="c2", video=True), now),
    ),
    (
        "class.permissions_changed",
        lambda state, now: class_permissions(
            state, TEACHER, ModerationClass("c1", chat=False, drawing=True), now
        ),
    ),
    ("moderation.scope_changed", lambda state, now: scope(HOST, True, now)),
    ("session.locked", lambda state, now: lock(TEACHER, True, now)),
    (
        "participant.removed",
        lambda state, now: remove(state, TEACHER_C2, ModerationRemove(AASE_ID, bar=True), now),
    ),
    ("session.ended", lambda state, now: end(state, TEACHER, now)),
]
