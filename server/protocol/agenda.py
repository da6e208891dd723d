"""Agenda and reflection commands (client to server). Shapes only: the bounds, who may do what
and when are server/rooms/agenda.py's business. The resulting events are in docs/protocol.md,
"Agenda and reflections"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage
from server.protocol.fields import check, request_id, require
from server.protocol.message_base import Message, RequestId


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """One phase as a teacher writes it: a name, its minutes and an optional reflection
    prompt for the students."""

    name: str
    minutes: int
    prompt: str | None = None

    @classmethod
    def parse(cls, data: Any, path: str) -> Self:
        if not isinstance(data, Mapping):
            raise InvalidMessage(f"field '{path}' must be a map", detail=path)
        prompt = data.get("prompt")
        return cls(
            name=require(data, "name", str, within=path),
            minutes=require(data, "minutes", int, within=path),
            prompt=None if prompt is None else check(prompt, f"{path}.prompt", str),
        )

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "minutes": self.minutes, "prompt": self.prompt}


@dataclass(frozen=True, slots=True)
class AgendaSet(Message):
    """A teacher replaces the list of phases (the run goes on: see server/rooms/agenda.py)."""

    TYPE: ClassVar[str] = "agenda.set"
    phases: tuple[PhaseSpec, ...]
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        items = require(data, "phases", list)
        phases = tuple(PhaseSpec.parse(item, f"phases.{n}") for n, item in enumerate(items))
        return cls(phases=phases, id=request_id(data))

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": self.TYPE, "phases": [p.to_wire() for p in self.phases]}
        if self.id is not None:
            wire["id"] = self.id
        return wire


def _from_index(data: Mapping[str, Any]) -> int:
    index = require(data, "from", int)
    if index < -1:
        raise InvalidMessage("field 'from' must be a phase index, or -1", detail="from")
    return index


@dataclass(frozen=True, slots=True)
class _AgendaMove(Message):
    """A move of the agenda from phase ``from``: the phase the sender sees running. A stale
    one is refused, so two teachers pressing together move the agenda once."""

    WIRE: ClassVar[dict[str, str]] = {"from_phase": "from"}
    from_phase: int
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(from_phase=_from_index(data), id=request_id(data))


@dataclass(frozen=True, slots=True)
class AgendaAdvance(_AgendaMove):
    """Start the next phase (the first when ``from`` is -1), or finish after the last."""

    TYPE: ClassVar[str] = "agenda.advance"


@dataclass(frozen=True, slots=True)
class AgendaBack(_AgendaMove):
    """Go back to the phase before ``from`` (it starts again, with a full countdown)."""

    TYPE: ClassVar[str] = "agenda.back"


@dataclass(frozen=True, slots=True)
class AgendaFinish(_AgendaMove):
    """End the agenda now, while phase ``from`` runs."""

    TYPE: ClassVar[str] = "agenda.finish"


@dataclass(frozen=True, slots=True)
class ReflectionAnswer(Message):
    """A student's answer to the reflection prompt of a phase that has started; sending
    again replaces it."""

    TYPE: ClassVar[str] = "reflection.answer"
    phase: int
    text: str
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            phase=require(data, "phase", int),
            text=require(data, "text", str),
            id=request_id(data),
        )


AGENDA_COMMANDS: tuple[type[Message], ...] = (
    AgendaSet,
    AgendaAdvance,
    AgendaBack,
    AgendaFinish,
    ReflectionAnswer,
)

AgendaCommand = AgendaSet | AgendaAdvance | AgendaBack | AgendaFinish | ReflectionAnswer
