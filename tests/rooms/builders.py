"""A small two-class session to test the session core on, built only from real events."""

from __future__ import annotations

from dataclasses import asdict

from server.protocol.messages import ClientMessage
from server.rooms.actor import Actor
from server.rooms.commands import CommandLimits, decide
from server.rooms.events import Event, EventKind
from server.rooms.presence import joined_event, left_event
from server.rooms.reducer import apply_event
from server.rooms.roles import Role
from server.rooms.state import ClassInfo, SessionSettings, SessionState

NAIROBI = ClassInfo("c1", "Form 2 Blue", "KE", "Africa/Nairobi", "sw")
BERGEN = ClassInfo("c2", "7B", "NO", "Europe/Oslo", "nb")

HOST = Actor("p_host", "Ms Wanjiru", Role.HOST, "c1")
TEACHER = Actor("p_teacher", "Mr Berg", Role.TEACHER, "c2")
STATION = Actor("p_station", "Form 2 Blue room", Role.STATION, "c1")
AMANI = Actor("p_amani", "Amani", Role.STUDENT, "c1")
INGRID = Actor("p_ingrid", "Ingrid", Role.STUDENT, "c2")
OLA = Actor("p_ola", "Ola", Role.STUDENT, "c2")
OBSERVER = Actor("p_observer", "Inspector", Role.OBSERVER, "c2")
EVERYONE = (HOST, TEACHER, STATION, AMANI, INGRID, OLA, OBSERVER)

T0 = 1_700_000_000_000  # event timestamps in ms; the core never reads a clock
LIMITS = CommandLimits(chat_max_chars=50, recording=True)


def created_event(settings: SessionSettings | None = None) -> Event:
    return Event(
        kind=EventKind.SESSION_CREATED,
        ts=T0,
        data={
            "session_id": "s_test",
            "title": "Water in our towns",
            "classes": [asdict(NAIROBI), asdict(BERGEN)],
            "settings": asdict(settings or SessionSettings()),
        },
    )


class Session:
    """A replica and its log: every change goes through ``apply_event``, as on a worker."""

    def __init__(self, settings: SessionSettings | None = None) -> None:
        self.state = SessionState()
        self.log: list[tuple[int, Event]] = []
        self.now = T0
        self.append(created_event(settings))

    def append(self, event: Event) -> int:
        seq = len(self.log) + 1
        self.log.append((seq, event))
        apply_event(self.state, seq, event)
        return seq

    def tick(self) -> int:
        self.now += 1000
        return self.now

    def join(self, *actors: Actor) -> Session:
        for actor in actors:
            self.append(joined_event(actor, self.tick()))
        return self

    def leave(self, actor: Actor, reason: str = "left") -> int:
        return self.append(left_event(actor.participant_id, reason, self.tick()))

    def command(self, actor: Actor, command: ClientMessage) -> int:
        """Decide and append, as the hub does; returns the seq of the last event."""
        seq = 0
        for event in decide(self.state, actor, command, self.tick(), LIMITS):
            seq = self.append(event)
        return seq


def full_session(settings: SessionSettings | None = None) -> Session:
    return Session(settings).join(*EVERYONE)


def replay(log: list[tuple[int, Event]]) -> SessionState:
    state = SessionState()
    for seq, event in log:
        apply_event(state, seq, event)
    return state
