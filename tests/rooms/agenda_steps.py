"""Agenda and reflection commands that each change the state, for the reducer's every-kind
check (the session must have HOST, TEACHER and AMANI joined)."""

from __future__ import annotations

from server.protocol.agenda import (
    AgendaAdvance,
    AgendaFinish,
    AgendaSet,
    PhaseSpec,
    ReflectionAnswer,
)
from server.protocol.messages import ClientMessage
from server.rooms.actor import Actor
from server.rooms.agenda_state import NOT_STARTED
from server.rooms.events import EventKind
from tests.rooms.builders import AMANI, HOST, TEACHER


def agenda_steps() -> list[tuple[EventKind, Actor, ClientMessage]]:
    phases = (PhaseSpec("Meet", 5, "Who did you meet?"), PhaseSpec("Make", 20))
    return [
        (EventKind.AGENDA_CHANGED, TEACHER, AgendaSet(phases=phases)),
        (EventKind.AGENDA_MOVED, TEACHER, AgendaAdvance(from_phase=NOT_STARTED)),
        (EventKind.REFLECTION_ANSWERED, AMANI, ReflectionAnswer(phase=0, text="Ingrid")),
        (EventKind.AGENDA_FINISHED, HOST, AgendaFinish(from_phase=0)),
    ]
