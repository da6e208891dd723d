"""The hand and poll steps of the golden event script (test_event_golden.STEPS): each built by
the server's own rules."""

from __future__ import annotations

from collections.abc import Callable

from server.protocol.classroom import PollAnswer, PollCreate
from server.rooms.actor import Actor
from server.rooms.events import Event
from server.rooms.hands import clear_hands, lower_hand, raise_hand
from server.rooms.polls import answer_poll, close_poll, create_poll, poll_follow_up
from server.rooms.presence import joined_event
from server.rooms.roles import Role
from server.rooms.state import SessionState

Build = Callable[[SessionState, int], Event]

# The script's actors (see test_event_golden): a teacher of each class, a student of c1.
TEACHER = Actor("p_wanjiru", "Mwalimu Wanjiru", Role.TEACHER, "c1")
TEACHER_C2 = Actor("p_berg", "Ingrid Berg", Role.TEACHER, "c2")
AMANI = Actor("p_amani", "Amani", Role.STUDENT, "c1")

QUESTION = PollCreate(
    "Mto upi ni mrefu zaidi? / Hvilken elv er lengst?",
    ["Tana", "Glomma", "Nile 🌍"],
    multiple=False,
    anonymous=True,
)


def _latest(state: SessionState) -> int:
    return max(state.polls)


def _totals(state: SessionState, now: int) -> Event:
    poll = state.polls[_latest(state)]
    answered = Event("poll.answered", now, {"poll": poll.id})
    totals = poll_follow_up(state, answered, now)
    assert totals is not None
    return totals


CLASSROOM_STEPS: list[tuple[str | None, Build]] = [
    # Amani may have left in the steps before: back, to raise a hand (leaving lowers it).
    (None, lambda state, now: joined_event(AMANI, now)),
    ("hand.raised", lambda state, now: raise_hand(state, AMANI, now)),
    ("hand.lowered", lambda state, now: lower_hand(state, TEACHER_C2, AMANI.participant_id, now)),
    ("hands.cleared", lambda state, now: clear_hands(TEACHER, now)),
    ("poll.created", lambda state, now: create_poll(state, TEACHER, QUESTION, now)),
    (
        "poll.answered",
        lambda state, now: answer_poll(state, AMANI, PollAnswer(_latest(state), [2]), now),
    ),
    ("poll.counts", _totals),
    ("poll.closed", lambda state, now: close_poll(state, TEACHER_C2, _latest(state), now)),
]
