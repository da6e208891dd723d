"""The agenda and reflection steps of the golden event script (test_event_golden.STEPS): each
built by the server's own agenda rules."""

from __future__ import annotations

from collections.abc import Callable

from server.protocol.agenda import PhaseSpec
from server.rooms.actor import Actor
from server.rooms.agenda import advance, finish, set_agenda
from server.rooms.agenda_state import NOT_STARTED
from server.rooms.events import Event
from server.rooms.reflections import answer_reflection
from server.rooms.roles import Role
from server.rooms.state import SessionState

Build = Callable[[SessionState, int], Event]

# The script's actors (see test_event_golden): a teacher of each class, a student of c1.
TEACHER = Actor("p_wanjiru", "Mwalimu Wanjiru", Role.TEACHER, "c1")
TEACHER_C2 = Actor("p_berg", "Ingrid Berg", Role.TEACHER, "c2")
AMANI = Actor("p_amani", "Amani", Role.STUDENT, "c1")

PHASES = (
    PhaseSpec(
        "Karibu / Velkommen", 10, "Mtu mmoja wa darasa lingine? / Én person fra den andre klassen?"
    ),
    PhaseSpec("Reflect", 5, "Ni nini ulijifunza? Hva lærte du?"),
)

AGENDA_STEPS: list[tuple[str | None, Build]] = [
    ("agenda.changed", lambda state, now: set_agenda(TEACHER, PHASES, now)),
    ("agenda.moved", lambda state, now: advance(state, TEACHER_C2, NOT_STARTED, now)),
    (
        "reflection.answered",
        lambda state, now: answer_reflection(state, AMANI, 0, "Åse kutoka Bergen 🌧️", now),
    ),
    ("agenda.finished", lambda state, now: finish(state, TEACHER, 0, now)),
]
