"""Lobby steps that each change the state, for the reducer's every-kind check (the session
must have HOST and TEACHER joined, and nobody named below)."""

from __future__ import annotations

from collections.abc import Callable

from server.protocol.lobby import LobbyAdmit, LobbyDeny
from server.rooms.actor import Actor
from server.rooms.events import EventKind
from server.rooms.lobby import left_lobby_event, waiting_event
from server.rooms.roles import Role
from tests.rooms.builders import HOST, TEACHER, Session

Step = Callable[[Session], int]

# Students who have never been in the session (the builders' students join in most tests).
BAHATI = Actor("p_bahati", "Bahati", Role.STUDENT, "c1")
SOLVEIG = Actor("p_solveig", "Solveig", Role.STUDENT, "c2")


def lobby_steps() -> list[tuple[EventKind, Step]]:
    return [
        (EventKind.LOBBY_WAITING, lambda s: s.append(waiting_event(BAHATI, s.tick()))),
        (EventKind.LOBBY_LEFT, lambda s: s.append(left_lobby_event("p_bahati", "left", s.tick()))),
        (EventKind.LOBBY_WAITING, lambda s: s.append(waiting_event(BAHATI, s.tick()))),
        (EventKind.LOBBY_ADMITTED, lambda s: s.command(HOST, LobbyAdmit("p_bahati"))),
        (EventKind.LOBBY_WAITING, lambda s: s.append(waiting_event(SOLVEIG, s.tick()))),
        (EventKind.LOBBY_DENIED, lambda s: s.command(TEACHER, LobbyDeny(class_id="c2"))),
    ]
