"""Moderation rules: teachers' powers over a live session (mute requests, removal, lock, end,
class permissions), and the checks that enforce them on joins, chat and drawing.

Only hosts and teachers moderate. Hosts act on everyone but themselves; teachers act on
students, stations and observers, and, when a host restricted them (``teachers_own_class``),
only on those of their own class. Every decision is an event carrying ``by``.
"""

from __future__ import annotations

from typing import Any

from server.errors import (
    Barred,
    ChatDisabled,
    DrawingDisabled,
    Forbidden,
    InvalidMessage,
    NotFound,
    SessionEnded,
    SessionLocked,
)
from server.protocol.moderation import (
    ModerationClass,
    ModerationLock,
    ModerationMute,
    ModerationRemove,
    ModerationScope,
    SessionEnd,
)
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.limits import CommandLimits
from server.rooms.roles import Role
from server.rooms.rule import Rule
from server.rooms.state import Participant, SessionState


def _event(kind: str, actor: Actor, now: int, **data: Any) -> Event:
    return Event(kind=kind, ts=now, data={**data, "by": actor.participant_id})


def _check_moderator(actor: Actor, what: str) -> None:
    if not actor.role.is_teacher:
        raise Forbidden(f"only teachers can {what}")


def _check_class(state: SessionState, actor: Actor, class_id: str) -> None:
    if class_id not in state.classes:
        raise NotFound("no such class in this session", detail="class")
    restricted = state.moderation.teachers_own_class and actor.role is not Role.HOST
    if restricted and class_id != actor.class_id:
        raise Forbidden("teachers moderate only their own class in this session", detail="class")


def _target(state: SessionState, actor: Actor, participant_id: str) -> Participant:
    """The participant ``actor`` may act on, or the reason why not."""
    target = state.participants.get(participant_id)
    if target is None:
        raise NotFound("no such participant in this session", detail="participant")
    if participant_id == actor.participant_id:
        raise InvalidMessage("you cannot moderate yourself", detail="participant")
    if actor.role is not Role.HOST and Role(target.role).is_teacher:
        raise Forbidden("only a host moderates teachers", detail="participant")
    _check_class(state, actor, target.class_id)
    return target


def _kinds(audio: bool | None, video: bool | None) -> dict[str, bool]:
    return {kind: on for kind, on in (("audio", audio), ("video", video)) if on is not None}


def mute(state: SessionState, actor: Actor, command: ModerationMute, now: int) -> Event:
    _check_moderator(actor, "ask participants to mute")
    kinds = _kinds(command.audio, command.video)
    if command.participant is not None:
        _target(state, actor, command.participant)
        target = {"participant": command.participant}
    else:
        assert command.class_id is not None  # the command names exactly one target
        _check_class(state, actor, command.class_id)
        target = {"class": command.class_id}
    return _event(EventKind.MODERATION_MUTED, actor, now, **target, **kinds)


def remove(state: SessionState, actor: Actor, command: ModerationRemove, now: int) -> Event:
    _check_moderator(actor, "remove participants")
    _target(state, actor, command.participant)
    data = {"participant_id": command.participant, "barred": command.bar}
    return _event(EventKind.PARTICIPANT_REMOVED, actor, now, **data)


def lock(actor: Actor, locked: bool, now: int) -> Event:
    _check_moderator(actor, "lock the session")
    return _event(EventKind.SESSION_LOCKED, actor, now, locked=locked)


def end(state: SessionState, actor: Actor, now: int) -> Event:
    _check_moderator(actor, "end the session")
    if state.moderation.ended:
        raise SessionEnded("the session has already ended")
    return _event(EventKind.SESSION_ENDED, actor, now)


def class_permissions(
    state: SessionState, actor: Actor, command: ModerationClass, now: int
) -> Event:
    _check_moderator(actor, "change what a class may do")
    _check_class(state, actor, command.class_id)
    changes = {
        name: on
        for name, on in (("chat", command.chat), ("drawing", command.drawing))
        if on is not None
    }
    return _event(
        EventKind.CLASS_PERMISSIONS_CHANGED, actor, now, **{"class": command.class_id}, **changes
    )


def scope(actor: Actor, own_class: bool, now: int) -> Event:
    if actor.role is not Role.HOST:
        raise Forbidden("only the host sets what teachers may moderate")
    return _event(EventKind.MODERATION_SCOPE_CHANGED, actor, now, teachers_own_class=own_class)


# --- enforcement ---------------------------------------------------------------------------------


def check_may_join(state: SessionState, actor: Actor) -> None:
    """Refuse a join to an ended session, a barred participant, or (when the session is
    locked) a participant it has never seen; hosts and teachers are never locked out."""
    moderation = state.moderation
    if moderation.ended:
        raise SessionEnded("this session has ended")
    if actor.participant_id in moderation.barred:
        raise Barred("a teacher removed you from this session")
    known = actor.participant_id in state.participants
    if moderation.locked and not known and not actor.role.is_teacher:
        raise SessionLocked("this session is locked: ask a teacher to unlock it")


def check_self_join(state: SessionState) -> None:
    """A class join code makes a new participant: none once the session has ended, and none
    while it is locked (the WebSocket join would refuse the token anyway)."""
    if state.moderation.ended:
        raise SessionEnded("this session has ended")
    if state.moderation.locked:
        raise SessionLocked("this session is locked: ask a teacher to unlock it")


def check_not_barred(state: SessionState, participant_id: str) -> None:
    """Also asked by the HTTP API: a barred teacher's token still verifies, but it must not
    take the session's data out, nor mint a fresh participant id that the bar does not name."""
    if participant_id in state.moderation.barred:
        raise Barred("a teacher removed you from this session")


def check_may_act(state: SessionState, actor: Actor) -> None:
    """Refuse every command once the session ended or its sender was barred: a connection
    is closed right after its replica applies the event, but a command already on its way
    must not be logged after it."""
    if state.moderation.ended:
        raise SessionEnded("this session has ended")
    check_not_barred(state, actor.participant_id)


def check_may_chat(state: SessionState, sender: Actor, to: str | None) -> None:
    """A class whose chat is off may still write privately to a teacher (to ask for help)."""
    if sender.role.is_teacher or sender.class_id not in state.moderation.chat_disabled:
        return
    recipient = state.participants.get(to) if to is not None else None
    if recipient is not None and Role(recipient.role).is_teacher:
        return
    raise ChatDisabled("a teacher turned chat off for your class")


def check_may_draw(state: SessionState, actor: Actor) -> None:
    if not actor.role.is_teacher and actor.class_id in state.moderation.drawing_disabled:
        raise DrawingDisabled("a teacher turned drawing off for your class", detail="board")


def muted_kinds(state: SessionState, participant_id: str) -> set[str]:
    """What ``participant_id`` is asked to mute: their own requests and their class's
    (a class request does not reach the class's teachers)."""
    kinds = set(state.moderation.muted.get(participant_id, ()))
    participant = state.participants.get(participant_id)
    if participant is not None and not Role(participant.role).is_teacher:
        kinds |= state.moderation.class_muted.get(participant.class_id, set())
    return kinds


# --- the registry (commands.COMMAND_RULES) -------------------------------------------------------


def _mute(s: SessionState, a: Actor, c: ModerationMute, now: int, _: CommandLimits) -> list[Event]:
    return [mute(s, a, c, now)]


def _remove(
    s: SessionState, a: Actor, c: ModerationRemove, now: int, _: CommandLimits
) -> list[Event]:
    return [remove(s, a, c, now)]


def _lock(s: SessionState, a: Actor, c: ModerationLock, now: int, _: CommandLimits) -> list[Event]:
    return [lock(a, c.locked, now)]


def _class(
    s: SessionState, a: Actor, c: ModerationClass, now: int, _: CommandLimits
) -> list[Event]:
    return [class_permissions(s, a, c, now)]


def _scope(
    s: SessionState, a: Actor, c: ModerationScope, now: int, _: CommandLimits
) -> list[Event]:
    return [scope(a, c.teachers_own_class, now)]


def _end(s: SessionState, a: Actor, c: SessionEnd, now: int, _: CommandLimits) -> list[Event]:
    return [end(s, a, now)]


RULES: dict[type, Rule] = {
    ModerationMute: _mute,
    ModerationRemove: _remove,
    ModerationLock: _lock,
    ModerationClass: _class,
    ModerationScope: _scope,
    SessionEnd: _end,
}
