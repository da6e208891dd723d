"""Hand and poll steps that each change the state, for the reducer's every-kind check (the
session must have HOST, TEACHER and AMANI joined, AMANI's hand down)."""

from __future__ import annotations

from collections.abc import Callable

from server.protocol.classroom import (
    HandClear,
    HandLower,
    HandRaise,
    PollAnswer,
    PollClose,
    PollCreate,
)
from server.rooms.events import EventKind
from server.rooms.polls import poll_follow_up
from tests.rooms.builders import AMANI, HOST, TEACHER, Session

Step = Callable[[Session], int]


def _counts(session: Session) -> int:
    follow_up = poll_follow_up(session.state, session.log[-1][1], session.tick())
    assert follow_up is not None
    return session.append(follow_up)


def _latest_poll(session: Session) -> int:
    return max(session.state.polls)


def classroom_steps() -> list[tuple[EventKind, Step]]:
    question = PollCreate("Which river is longest?", ["Nile", "Tana"])
    return [
        (EventKind.HAND_RAISED, lambda s: s.command(AMANI, HandRaise())),
        (EventKind.HAND_LOWERED, lambda s: s.command(TEACHER, HandLower("p_amani"))),
        (EventKind.HAND_RAISED, lambda s: s.command(AMANI, HandRaise())),
        (EventKind.HANDS_CLEARED, lambda s: s.command(HOST, HandClear())),
        (EventKind.POLL_CREATED, lambda s: s.command(TEACHER, question)),
        (EventKind.POLL_ANSWERED, lambda s: s.command(AMANI, PollAnswer(_latest_poll(s), [0]))),
        (EventKind.POLL_COUNTS, _counts),
        (EventKind.POLL_CLOSED, lambda s: s.command(HOST, PollClose(_latest_poll(s)))),
    ]
