"""Reflections: the pupils' answers to the prompts of the agenda's phases. Sans-I/O.

A student (or a class station, answering for its class) answers the prompt of a phase that has
started (the running one or any before the furthest reached), once per phase; sending again
replaces the answer. Teachers and hosts read every answer; everyone else only their own, in
events (``VISIBILITY_RULES``) as in snapshots. The answers stay in the state for the export,
each with the prompt as it was answered.
"""

from __future__ import annotations

from typing import Any

from server.errors import ClassbridgeError, Forbidden, InvalidMessage, LimitExceeded, NotFound
from server.rooms.actor import Actor
from server.rooms.agenda_state import AgendaState, Reflection
from server.rooms.events import Event, EventKind
from server.rooms.roles import Role
from server.rooms.state import SessionState
from server.rooms.text import has_forbidden_characters

MAX_REFLECTION_CHARS = 1000


class PhaseNotStarted(ClassbridgeError):
    """A reflection on a phase the agenda has not reached yet."""

    code = "phase_not_started"
    http_status = 409


def may_reflect(role: Role) -> bool:
    """Pupils reflect, alone or as a class at its station; teachers ask and read."""
    return role in (Role.STUDENT, Role.STATION)


def answer_reflection(state: SessionState, actor: Actor, phase: int, text: str, now: int) -> Event:
    if not may_reflect(actor.role):
        raise Forbidden("only students and class stations answer reflections")
    agenda = state.agenda
    if not 0 <= phase < len(agenda.phases) or agenda.phases[phase].prompt is None:
        raise NotFound("no reflection prompt for this phase", detail="phase")
    if phase > agenda.reached:
        raise PhaseNotStarted("this phase has not started yet", detail="phase")
    if not text.strip():
        raise InvalidMessage("reflection text is empty", detail="text")
    if len(text) > MAX_REFLECTION_CHARS:
        detail = f"reflection text is longer than {MAX_REFLECTION_CHARS} characters"
        raise LimitExceeded(detail, detail="text")
    if has_forbidden_characters(text, multiline=True):
        raise InvalidMessage("reflection text contains control characters", detail="text")
    data = {
        "phase": phase,
        "by": actor.participant_id,
        "class_id": actor.class_id,
        "prompt": agenda.phases[phase].prompt,
        "text": text,
    }
    return Event(kind=EventKind.REFLECTION_ANSWERED, ts=now, data=data)


def sees_reflection(viewer: Actor, author: str) -> bool:
    return viewer.role.is_teacher or viewer.participant_id == author


def reflections_for(agenda: AgendaState, viewer: Actor) -> list[dict[str, Any]]:
    return [
        r.to_wire()
        for r in sorted(agenda.reflections.values(), key=lambda r: (r.phase, r.ts))
        if sees_reflection(viewer, r.participant)
    ]


def sees_answer(state: SessionState, viewer: Actor, event: Event) -> bool:
    """The visibility rule of ``reflection.answered``: its author and the teachers."""
    return sees_reflection(viewer, event.data["by"])


def reflections(state: SessionState) -> list[dict[str, Any]]:
    """Every answer, for the export: by phase, then in the order they were written."""
    agenda = state.agenda
    rows = []
    for r in sorted(agenda.reflections.values(), key=lambda r: (r.phase, r.ts)):
        participant = state.participants.get(r.participant)
        phase = agenda.phases[r.phase] if r.phase < len(agenda.phases) else None
        rows.append(
            {
                **r.to_wire(),
                "name": participant.name if participant is not None else "",
                "phase_name": phase.name if phase is not None else "",
            }
        )
    return rows


def apply_answered(state: SessionState, seq: int, event: Event) -> None:
    data = event.data
    key = (data["phase"], data["by"])
    state.agenda.reflections[key] = Reflection(
        data["phase"], data["by"], data["class_id"], data["prompt"], data["text"], event.ts
    )
