"""Who sees what: direct messages reach only their parties (and, between students, the
teachers), and deleted chat never reaches anyone again, neither in snapshots nor in replays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.rooms import lobby, polls
from server.rooms.actor import Actor
from server.rooms.agenda import agenda_for
from server.rooms.board.snapshot import board_summaries
from server.rooms.breakouts import access as breakout_access
from server.rooms.breakouts.access import sees_group
from server.rooms.events import CHAT_REDACTED, Event, EventKind
from server.rooms.hands import hands_snapshot
from server.rooms.reflections import sees_answer
from server.rooms.roles import Role
from server.rooms.state import ChatMessage, SessionState


def _sees_direct(state: SessionState, viewer: Actor, sender: str, recipient: str) -> bool:
    if viewer.participant_id in (sender, recipient):
        return True
    # Students are often minors: teachers can read private messages between students (the
    # student page says so), but not the private messages of other teachers.
    if not viewer.role.is_teacher:
        return False
    return not any(
        (p := state.participants.get(pid)) is not None and Role(p.role).is_teacher
        for pid in (sender, recipient)
    )


def _sees_chat(state: SessionState, viewer: Actor, event: Event) -> bool:
    group = event.data.get("group")
    if group is not None:  # a breakout group's post, or its deletion
        return sees_group(state, viewer, group)
    recipient = event.data.get("to")
    if recipient is not None:
        return _sees_direct(state, viewer, event.data["from"], recipient)
    return True


def _chat_is_public(event: Event) -> bool:
    return event.data.get("group") is None and event.data.get("to") is None


# Per event kind that has a rule below, when an event of it reaches everyone anyway: asked once
# per event, it spares the fan-out a rule call per connection (most chat is for the room).
PUBLIC_WHEN: dict[str, Callable[[Event], bool]] = {
    EventKind.CHAT_POSTED: _chat_is_public,
    EventKind.CHAT_DELETED: _chat_is_public,
}


# Event kinds that not everyone sees, each with its rule; every other event reaches everyone.
# Features add their own rules here (a poll's answers, a breakout group's chat).
VISIBILITY_RULES: dict[str, Callable[[SessionState, Actor, Event], bool]] = {
    EventKind.CHAT_POSTED: _sees_chat,
    EventKind.CHAT_DELETED: _sees_chat,
    EventKind.REFLECTION_ANSWERED: sees_answer,  # its author and the teachers
    # Its student, and teachers unless the poll is anonymous (protocol §25).
    EventKind.POLL_ANSWERED: polls.sees_answer,
    EventKind.POLL_COUNTS: polls.sees_counts,  # teachers live; everyone the final totals
    **breakout_access.VISIBILITY,  # a group's calls for a teacher: the group and teachers
    **lobby.VISIBILITY,  # teachers, and the participant concerned (protocol §23)
}


def audience_rule(event: Event) -> Callable[[SessionState, Actor, Event], bool] | None:
    """The rule that decides, viewer by viewer, who sees ``event``; None when all do."""
    rule = VISIBILITY_RULES.get(event.kind)
    if rule is None:
        return None
    public = PUBLIC_WHEN.get(event.kind)
    return None if public is not None and public(event) else rule


def can_see(state: SessionState, viewer: Actor, event: Event) -> bool:
    rule = VISIBILITY_RULES.get(event.kind)
    return rule is None or rule(state, viewer, event)


def is_redacted(state: SessionState, seq: int, event: Event) -> bool:
    """A post that was deleted later is left out of replays, so its text never comes back;
    so is the placeholder the history keeps in its place."""
    if event.kind == CHAT_REDACTED:
        return True
    return event.kind == EventKind.CHAT_POSTED and seq in state.deleted_messages


def message_visible(state: SessionState, viewer: Actor, message: ChatMessage) -> bool:
    if message.group is not None:
        return sees_group(state, viewer, message.group)
    return message.to is None or _sees_direct(state, viewer, message.sender, message.to)


def snapshot_for(state: SessionState, viewer: Actor) -> dict[str, Any]:
    """The session as ``viewer`` may see it: classes with their participants, chat, settings."""
    by_class: dict[str, list[dict[str, Any]]] = {class_id: [] for class_id in state.classes}
    for participant in state.participants.values():
        by_class.setdefault(participant.class_id, []).append(participant.to_wire())
    return {
        "id": state.session_id,
        "title": state.title,
        "classes": [
            {**info.to_wire(), "participants": by_class[class_id]}
            for class_id, info in state.classes.items()
        ],
        "chat": [m.to_wire() for m in state.chat if message_visible(state, viewer, m)],
        "settings": state.settings.to_wire(),
        # Records follow the welcome in ``board.records`` messages (board/snapshot.py).
        "boards": board_summaries(state),
        "media": state.media.to_wire(),
        # Everyone sees it: each client shows whether the session is recorded (protocol §22).
        "recording": state.recording.to_wire(),
        # Mute requests, lock, class permissions for everyone; who is barred for teachers (§24).
        "moderation": state.moderation.to_wire(with_barred=viewer.role.is_teacher),
        # The phases and their run for everyone; the reflections filtered (protocol §26).
        "agenda": agenda_for(state, viewer),
        # The hand queue for everyone; each poll as the viewer may see it (protocol §25).
        "hands": hands_snapshot(state),
        "polls": polls.polls_for(state, viewer),
        # Who waits in the lobby, by class: teachers and hosts only (protocol §23).
        "lobby": lobby.lobby_snapshot(state) if viewer.role.is_teacher else None,
        # The groups for everyone; a group's call for its members and teachers (protocol §27).
        "breakouts": breakout_access.breakouts_for(state, viewer),
    }
