"""The agenda of a session and its reflections, as the reducer keeps them (the rules are in
server/rooms/agenda.py). Every session starts with the default agenda, not started."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MINUTE_MS = 60_000
NOT_STARTED = -1  # ``current`` before the first phase starts

# Connect, Collaborate, Create, Reflect: the shape of a classroom exchange. The last phase
# asks the pupils to reflect, so a session that nobody edits still collects reflections.
DEFAULT_PHASES: tuple[tuple[str, int, str | None], ...] = (
    ("Connect", 10, None),
    ("Collaborate", 20, None),
    ("Create", 20, None),
    ("Reflect", 10, "What did you learn from the other class today?"),
)


@dataclass(slots=True)
class Phase:
    name: str
    minutes: int
    prompt: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "minutes": self.minutes, "prompt": self.prompt}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Phase:
        return cls(data["name"], data["minutes"], data.get("prompt"))


@dataclass(slots=True)
class Reflection:
    """One participant's answer to one phase's prompt, with the prompt as it was answered
    (a teacher may edit the prompt later; the export shows what was asked)."""

    phase: int
    participant: str
    class_id: str
    prompt: str
    text: str
    ts: int  # when it was last written

    def to_wire(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "participant": self.participant,
            "class_id": self.class_id,
            "prompt": self.prompt,
            "text": self.text,
            "ts": self.ts,
        }


def default_phases() -> list[Phase]:
    return [Phase(name, minutes, prompt) for name, minutes, prompt in DEFAULT_PHASES]


@dataclass(slots=True)
class AgendaState:
    phases: list[Phase] = field(default_factory=default_phases)
    current: int = NOT_STARTED  # the running phase (or the last one run, once finished)
    started_at: int = 0  # the ts of the event that started the current phase
    finished: bool = False
    finished_at: int = 0
    reached: int = NOT_STARTED  # the furthest phase started: its prompt and those before open
    # (phase index, participant id) -> the answer
    reflections: dict[tuple[int, str], Reflection] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.current != NOT_STARTED and not self.finished

    @property
    def ends_at(self) -> int:
        """When the running phase's time is up (server clock, ms); 0 when none runs."""
        if not self.running:
            return 0
        return self.started_at + self.phases[self.current].minutes * MINUTE_MS

    def to_wire(self) -> dict[str, Any]:
        """Everything but the reflections (each viewer sees their own share of those)."""
        return {
            "phases": [phase.to_wire() for phase in self.phases],
            "current": self.current,
            "started_at": self.started_at,
            "ends_at": self.ends_at,
            "finished": self.finished,
            "finished_at": self.finished_at,
            "reached": self.reached,
        }


def dump_agenda(agenda: AgendaState) -> dict[str, Any]:
    wire = agenda.to_wire()
    del wire["ends_at"]  # derived
    wire["reflections"] = [
        [r.phase, r.participant, r.class_id, r.prompt, r.text, r.ts]
        for r in agenda.reflections.values()
    ]
    return wire


def load_agenda(data: dict[str, Any]) -> AgendaState:
    reflections = [Reflection(*row) for row in data["reflections"]]
    return AgendaState(
        phases=[Phase.from_wire(phase) for phase in data["phases"]],
        current=data["current"],
        started_at=data["started_at"],
        finished=data["finished"],
        finished_at=data["finished_at"],
        reached=data["reached"],
        reflections={(r.phase, r.participant): r for r in reflections},
    )
