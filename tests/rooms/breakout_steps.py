"""Breakout commands that each change the state, for the reducer's every-kind check (the
session must have TEACHER, INGRID and OLA joined, and no breakout open)."""

from __future__ import annotations

from server.protocol.breakouts import (
    BreakoutAnswer,
    BreakoutBroadcast,
    BreakoutCallTeacher,
    BreakoutClose,
    BreakoutMove,
    BreakoutOpen,
    BreakoutVisit,
)
from server.protocol.messages import ClientMessage
from server.rooms.actor import Actor
from server.rooms.events import EventKind
from tests.rooms.builders import INGRID, OLA, TEACHER


def breakout_steps() -> list[tuple[EventKind, Actor, ClientMessage]]:
    # The round number follows the rounds opened before, so the group id is looked up late.
    return [
        (EventKind.BREAKOUT_OPENED, TEACHER, BreakoutOpen(size=2, seed=1, minutes=10)),
        (EventKind.BREAKOUT_CALLED, INGRID, BreakoutCallTeacher()),
        (EventKind.BREAKOUT_BROADCAST_SENT, TEACHER, BreakoutBroadcast("Five minutes left")),
        (EventKind.BREAKOUT_MOVED, TEACHER, BreakoutMove(OLA.participant_id, None)),
        (EventKind.BREAKOUT_CALL_ANSWERED, TEACHER, BreakoutAnswer("r1-g1")),
        (EventKind.BREAKOUT_VISITED, TEACHER, BreakoutVisit("r1-g1")),
        (EventKind.BREAKOUT_CLOSED, TEACHER, BreakoutClose()),
    ]


BREAKOUT_STUDENTS = (INGRID, OLA)  # join them first: a breakout needs two students present
