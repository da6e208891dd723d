"""The agenda of a session, in the session core. Sans-I/O.

- ``agenda.set``: a teacher or host replaces the phases, at any time. The run goes on by
  position: the phase at the running index keeps its start time (a longer duration extends
  its countdown); if the new list no longer has that index, the agenda is finished.
- ``agenda.advance`` / ``agenda.back`` / ``agenda.finish``: a teacher or host moves the run.
  Each names the phase it expects to leave (``from``). The deciding worker refuses a stale
  ``from`` (``phase_moved``); two teachers deciding on two workers at the same moment both
  pass that check, so the reducer applies a move only if ``from`` is still the running phase.
  The first move in the log wins and the second is ignored: the agenda moves once.
- ``reflection.answer``: the pupils answer the phases' prompts (server/rooms/reflections.py;
  its rule and reducer are registered here with the agenda's).

A phase starts at the ``ts`` of the event that starts it: one server-stamped time that every
client counts down from (docs/protocol.md, "Agenda and reflections").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.errors import ClassbridgeError, Forbidden, InvalidMessage, NotFound
from server.protocol.agenda import (
    AgendaAdvance,
    AgendaBack,
    AgendaFinish,
    AgendaSet,
    PhaseSpec,
    ReflectionAnswer,
)
from server.rooms.actor import Actor
from server.rooms.agenda_state import NOT_STARTED, AgendaState, Phase
from server.rooms.events import Event, EventKind
from server.rooms.limits import CommandLimits
from server.rooms.reflections import answer_reflection, apply_answered, reflections_for
from server.rooms.rule import Rule
from server.rooms.state import SessionState
from server.rooms.text import has_forbidden_characters

MAX_PHASES = 12
MAX_NAME_CHARS = 60
MAX_PROMPT_CHARS = 500
MAX_MINUTES = 240  # a school day's block; longer is a typing mistake


class PhaseMoved(ClassbridgeError):
    """``from`` is not the running phase: someone else moved the agenda first. ``current``
    holds the agenda as the server has it, so the client can redraw and decide again."""

    code = "phase_moved"
    http_status = 409

    def __init__(self, message: str, current: dict[str, Any]) -> None:
        super().__init__(message, detail="from")
        self.current = current


class AgendaNotRunning(ClassbridgeError):
    """A move that needs a running agenda: going back or finishing before the start, or any
    move once it is finished."""

    code = "agenda_not_running"
    http_status = 409


def _require_teacher(actor: Actor) -> None:
    if not actor.role.is_teacher:
        raise Forbidden("only teachers and hosts run the agenda")


# --- agenda.set ----------------------------------------------------------------------------


def _check_line(text: str, path: str, max_chars: int, *, multiline: bool) -> None:
    if not text.strip():
        raise InvalidMessage(f"field '{path}' is empty", detail=path)
    if len(text) > max_chars:
        raise InvalidMessage(f"field '{path}' is longer than {max_chars}", detail=path)
    if has_forbidden_characters(text, multiline=multiline):
        raise InvalidMessage(f"field '{path}' contains control characters", detail=path)


def _check_phase(phase: PhaseSpec, path: str) -> None:
    _check_line(phase.name, f"{path}.name", MAX_NAME_CHARS, multiline=False)
    if not 1 <= phase.minutes <= MAX_MINUTES:
        detail = f"{path}.minutes"
        raise InvalidMessage(f"field '{detail}' must be 1 to {MAX_MINUTES}", detail=detail)
    if phase.prompt is not None:
        _check_line(phase.prompt, f"{path}.prompt", MAX_PROMPT_CHARS, multiline=True)


def set_agenda(actor: Actor, phases: tuple[PhaseSpec, ...], now: int) -> Event:
    _require_teacher(actor)
    if not 1 <= len(phases) <= MAX_PHASES:
        raise InvalidMessage(f"an agenda has 1 to {MAX_PHASES} phases", detail="phases")
    for n, phase in enumerate(phases):
        _check_phase(phase, f"phases.{n}")
    data = {"phases": [phase.to_wire() for phase in phases], "by": actor.participant_id}
    return Event(kind=EventKind.AGENDA_CHANGED, ts=now, data=data)


# --- moving the run ------------------------------------------------------------------------


def _check_from(agenda: AgendaState, from_phase: int) -> None:
    if agenda.finished:
        raise AgendaNotRunning("the agenda is finished")
    if from_phase != agenda.current:
        raise PhaseMoved("the agenda has moved on meanwhile", current=agenda.to_wire())


def advance(state: SessionState, actor: Actor, from_phase: int, now: int) -> Event:
    """The next phase starts now; after the last one, the agenda is finished."""
    _require_teacher(actor)
    agenda = state.agenda
    _check_from(agenda, from_phase)
    by = actor.participant_id
    if from_phase + 1 >= len(agenda.phases):
        return Event(EventKind.AGENDA_FINISHED, now, {"from": from_phase, "by": by})
    return Event(EventKind.AGENDA_MOVED, now, {"from": from_phase, "to": from_phase + 1, "by": by})


def go_back(state: SessionState, actor: Actor, from_phase: int, now: int) -> Event:
    """The phase before starts again, with its whole time."""
    _require_teacher(actor)
    agenda = state.agenda
    _check_from(agenda, from_phase)
    if from_phase == NOT_STARTED:
        raise AgendaNotRunning("the agenda has not started")
    if from_phase == 0:
        raise NotFound("there is no phase before the first", detail="from")
    data = {"from": from_phase, "to": from_phase - 1, "by": actor.participant_id}
    return Event(EventKind.AGENDA_MOVED, now, data)


def finish(state: SessionState, actor: Actor, from_phase: int, now: int) -> Event:
    _require_teacher(actor)
    agenda = state.agenda
    _check_from(agenda, from_phase)
    if from_phase == NOT_STARTED:
        raise AgendaNotRunning("the agenda has not started")
    return Event(EventKind.AGENDA_FINISHED, now, {"from": from_phase, "by": actor.participant_id})


def agenda_for(state: SessionState, viewer: Actor) -> dict[str, Any]:
    """The agenda part of ``viewer``'s snapshot: the run, and the answers they may read."""
    return {**state.agenda.to_wire(), "reflections": reflections_for(state.agenda, viewer)}


# --- the reducer's part --------------------------------------------------------------------


def apply_set(state: SessionState, seq: int, event: Event) -> None:
    agenda = state.agenda
    agenda.phases = [Phase.from_wire(phase) for phase in event.data["phases"]]
    last = len(agenda.phases) - 1
    agenda.reached = min(agenda.reached, last)
    if agenda.running and agenda.current > last:
        # The running phase is gone: the agenda ends here, at the edit.
        agenda.current, agenda.finished, agenda.finished_at = last, True, event.ts
    agenda.current = min(agenda.current, last)


def apply_moved(state: SessionState, seq: int, event: Event) -> None:
    agenda = state.agenda
    target = event.data["to"]
    # A move decided from a phase that is no longer running lost a race: ignored.
    if agenda.finished or agenda.current != event.data["from"]:
        return
    if not 0 <= target < len(agenda.phases):
        return  # the list was shortened meanwhile
    agenda.current, agenda.started_at = target, event.ts
    agenda.reached = max(agenda.reached, target)


def apply_finished(state: SessionState, seq: int, event: Event) -> None:
    agenda = state.agenda
    if agenda.finished or agenda.current != event.data["from"]:
        return
    agenda.finished, agenda.finished_at = True, event.ts


# --- registries ----------------------------------------------------------------------------


def _set(
    state: SessionState, actor: Actor, command: AgendaSet, now: int, limits: CommandLimits
) -> list[Event]:
    return [set_agenda(actor, command.phases, now)]


def _advance(
    state: SessionState, actor: Actor, command: AgendaAdvance, now: int, limits: CommandLimits
) -> list[Event]:
    return [advance(state, actor, command.from_phase, now)]


def _back(
    state: SessionState, actor: Actor, command: AgendaBack, now: int, limits: CommandLimits
) -> list[Event]:
    return [go_back(state, actor, command.from_phase, now)]


def _finish(
    state: SessionState, actor: Actor, command: AgendaFinish, now: int, limits: CommandLimits
) -> list[Event]:
    return [finish(state, actor, command.from_phase, now)]


def _answer(
    state: SessionState, actor: Actor, command: ReflectionAnswer, now: int, limits: CommandLimits
) -> list[Event]:
    return [answer_reflection(state, actor, command.phase, command.text, now)]


RULES: dict[type, Rule] = {
    AgendaSet: _set,
    AgendaAdvance: _advance,
    AgendaBack: _back,
    AgendaFinish: _finish,
    ReflectionAnswer: _answer,
}

HANDLERS: dict[str, Callable[[SessionState, int, Event], None]] = {
    EventKind.AGENDA_CHANGED: apply_set,
    EventKind.AGENDA_MOVED: apply_moved,
    EventKind.AGENDA_FINISHED: apply_finished,
    EventKind.REFLECTION_ANSWERED: apply_answered,
}
