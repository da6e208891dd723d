"""The lobby steps of the golden event script (test_event_golden.STEPS): each built by the
server's own lobby rules."""

from __future__ import annotations

from collections.abc import Callable

from server.protocol.lobby import LobbyAdmit, LobbyDeny
from server.rooms.actor import Actor
from server.rooms.commands import CommandLimits, decide
from server.rooms.events import Event
from server.rooms.lobby import admitted_by_policy_event, left_lobby_event, waiting_event
from server.rooms.roles import Role
from server.rooms.state import SessionState

Build = Callable[[SessionState, int], Event]

# The script's teachers (see test_event_golden), and students who never joined the session.
TEACHER = Actor("p_wanjiru", "Mwalimu Wanjiru", Role.TEACHER, "c1")
TEACHER_C2 = Actor("p_berg", "Ingrid Berg", Role.TEACHER, "c2")
BAHATI = Actor("p_bahati", "Bahati", Role.STUDENT, "c1")
ZAWADI = Actor("p_zawadi", "Zawadi", Role.STUDENT, "c1")
SOLVEIG = Actor("p_solveig", "Solveig", Role.STUDENT, "c2")
LIMITS = CommandLimits()


def _by(actor: Actor, command: LobbyAdmit | LobbyDeny) -> Build:
    return lambda state, now: decide(state, actor, command, now, LIMITS)[0]


LOBBY_STEPS: list[tuple[str | None, Build]] = [
    ("lobby.waiting", lambda state, now: waiting_event(BAHATI, now)),
    ("lobby.left", lambda state, now: left_lobby_event(BAHATI.participant_id, "left", now)),
    (None, lambda state, now: waiting_event(BAHATI, now)),
    (None, lambda state, now: waiting_event(ZAWADI, now)),
    ("lobby.admitted.participant", _by(TEACHER, LobbyAdmit(participant="p_bahati"))),
    (
        "lobby.admitted.policy",
        lambda state, now: admitted_by_policy_event(ZAWADI.participant_id, now),
    ),
    (None, lambda state, now: waiting_event(SOLVEIG, now)),
    ("lobby.denied.class", _by(TEACHER_C2, LobbyDeny(class_id="c2"))),
]
