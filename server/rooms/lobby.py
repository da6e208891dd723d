"""The lobby: who waits before entering a session, and teachers letting them in or not.

The policy is the session setting ``lobby`` (docs/protocol.md, "Lobby"):

- ``open``: nobody waits;
- ``class``: a student waits until a teacher or host *of the student's own class* is present
  in the session, then enters on their own (no teacher action needed); any teacher may also
  admit them earlier;
- ``everyone``: every student waits until a teacher or host admits them.

Only students ever wait. Hosts and teachers run the session; stations are the classroom's own
computer; observers (like students, stations) get their token from a teacher of their class,
and cannot post or draw, so that teacher's token is already the decision to let them in.
A participant who has been in the session before (or was admitted) never waits again.

Pure: rules raise a ``ClassbridgeError`` or return events; handlers update the state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.errors import Forbidden, NotFound
from server.protocol.lobby import LobbyAdmit, LobbyDeny
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.limits import CommandLimits
from server.rooms.lobby_state import LobbyPolicy, WaitingEntry
from server.rooms.roles import Role
from server.rooms.rule import Rule
from server.rooms.state import SessionState

# --- who waits ---------------------------------------------------------------------------------


def teacher_of_class_present(state: SessionState, class_id: str) -> bool:
    return any(
        p.present and p.class_id == class_id and Role(p.role).is_teacher
        for p in state.participants.values()
    )


def must_wait(state: SessionState, actor: Actor) -> bool:
    """Does a join of ``actor`` go to the lobby now? Re-asked after every event while they
    wait, so a teacher arriving (``class``) or the policy opening lets them in."""
    if actor.role is not Role.STUDENT:
        return False
    pid = actor.participant_id
    if pid in state.participants or pid in state.lobby.admitted:
        return False
    if state.moderation.locked:
        # Locking keeps newcomers out: those already waiting stay until a teacher admits them
        # (a newcomer's join to a locked session is refused before it reaches the lobby).
        return True
    policy = state.settings.lobby
    if policy == LobbyPolicy.OPEN:
        return False
    if policy == LobbyPolicy.CLASS:
        return not teacher_of_class_present(state, actor.class_id)
    return True


# --- events ------------------------------------------------------------------------------------


def waiting_event(actor: Actor, now: int) -> Event:
    return Event(kind=EventKind.LOBBY_WAITING, ts=now, data={"participant": actor.to_wire()})


def left_lobby_event(participant_id: str, reason: str, now: int) -> Event:
    data = {"participant_id": participant_id, "reason": reason}
    return Event(kind=EventKind.LOBBY_LEFT, ts=now, data=data)


def admitted_by_policy_event(participant_id: str, now: int) -> Event:
    """Logged by the worker holding the waiting connection when the policy lets them in."""
    data = {"participants": [participant_id], "class_id": None, "by": None}
    return Event(kind=EventKind.LOBBY_ADMITTED, ts=now, data=data)


# --- teachers' commands ------------------------------------------------------------------------


def _targets(
    state: SessionState, actor: Actor, participant: str | None, class_id: str | None
) -> list[str]:
    """The waiting participants a command names, or why it cannot act on them."""
    if not actor.role.is_teacher:
        raise Forbidden("only teachers let participants in", detail="participant")
    waiting = state.lobby.waiting
    if participant is not None:
        entry = waiting.get(participant)
        if entry is None:
            raise NotFound("nobody with this id is waiting", detail="participant")
        class_id_of_target = entry.class_id
        targets = [participant]
    else:
        assert class_id is not None
        if class_id not in state.classes:
            raise NotFound("no such class in this session", detail="class")
        class_id_of_target = class_id
        targets = sorted(w.id for w in waiting.values() if w.class_id == class_id)
        if not targets:
            raise NotFound("nobody from this class is waiting", detail="class")
    restricted = state.moderation.teachers_own_class and actor.role is not Role.HOST
    if restricted and class_id_of_target != actor.class_id:
        raise Forbidden("teachers act only on their own class in this session", detail="class")
    return targets


def _lobby_admit(
    state: SessionState, actor: Actor, command: LobbyAdmit, now: int, limits: CommandLimits
) -> list[Event]:
    targets = _targets(state, actor, command.participant, command.class_id)
    data = {"participants": targets, "class_id": command.class_id, "by": actor.participant_id}
    return [Event(kind=EventKind.LOBBY_ADMITTED, ts=now, data=data)]


def _lobby_deny(
    state: SessionState, actor: Actor, command: LobbyDeny, now: int, limits: CommandLimits
) -> list[Event]:
    targets = _targets(state, actor, command.participant, command.class_id)
    data = {"participants": targets, "class_id": command.class_id, "by": actor.participant_id}
    return [Event(kind=EventKind.LOBBY_DENIED, ts=now, data=data)]


RULES: dict[type, Rule] = {LobbyAdmit: _lobby_admit, LobbyDeny: _lobby_deny}


# --- reducer -----------------------------------------------------------------------------------


def _waiting(state: SessionState, seq: int, event: Event) -> None:
    info: dict[str, Any] = event.data["participant"]
    state.lobby.waiting[info["id"]] = WaitingEntry(
        info["id"], info["name"], info["role"], info["class_id"], event.ts
    )


def _left(state: SessionState, seq: int, event: Event) -> None:
    state.lobby.waiting.pop(event.data["participant_id"], None)


def _admitted(state: SessionState, seq: int, event: Event) -> None:
    # Only those still waiting: a denial or a leave that reached the log first wins.
    for participant_id in event.data["participants"]:
        if state.lobby.waiting.pop(participant_id, None) is not None:
            state.lobby.admitted.add(participant_id)


def _denied(state: SessionState, seq: int, event: Event) -> None:
    for participant_id in event.data["participants"]:
        if state.lobby.waiting.pop(participant_id, None) is not None:
            state.lobby.denied[participant_id] = seq


HANDLERS: dict[str, Callable[[SessionState, int, Event], None]] = {
    EventKind.LOBBY_WAITING: _waiting,
    EventKind.LOBBY_LEFT: _left,
    EventKind.LOBBY_ADMITTED: _admitted,
    EventKind.LOBBY_DENIED: _denied,
}


# --- who sees what -----------------------------------------------------------------------------


def _concerns(event: Event) -> set[str]:
    data = event.data
    if "participant" in data:
        return {data["participant"]["id"]}
    if "participant_id" in data:
        return {data["participant_id"]}
    return set(data.get("participants", ()))


def _sees_lobby(state: SessionState, viewer: Actor, event: Event) -> bool:
    """Teachers and hosts, and the participant the event is about: students in the session
    do not learn who waits or who was turned away."""
    return viewer.role.is_teacher or viewer.participant_id in _concerns(event)


VISIBILITY: dict[str, Callable[[SessionState, Actor, Event], bool]] = {
    kind: _sees_lobby for kind in HANDLERS
}


def lobby_snapshot(state: SessionState) -> dict[str, Any]:
    """Who waits, grouped by class (every class of the session, in order, oldest first)."""
    by_class: dict[str, list[dict[str, Any]]] = {class_id: [] for class_id in state.classes}
    for entry in sorted(state.lobby.waiting.values(), key=lambda w: (w.since, w.id)):
        by_class.setdefault(entry.class_id, []).append(entry.to_wire())
    return {"waiting": by_class}
