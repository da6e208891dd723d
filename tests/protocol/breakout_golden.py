"""The breakout steps of the golden event script (test_event_golden.STEPS): each built by the
server's own breakout rules. Two students of each class take part (Amani and three who join
here: Åse was removed by the moderation steps before)."""

from __future__ import annotations

from collections.abc import Callable

from server.protocol.breakouts import (
    BreakoutAnswer,
    BreakoutBroadcast,
    BreakoutCallTeacher,
    BreakoutClose,
    BreakoutMove,
    BreakoutOpen,
    BreakoutVisit,
)
from server.protocol.messages import ChatSend
from server.rooms.actor import Actor
from server.rooms.breakouts import rules
from server.rooms.breakouts.chat import post_to_group
from server.rooms.chat import delete_message
from server.rooms.events import Event
from server.rooms.limits import CommandLimits
from server.rooms.presence import joined_event
from server.rooms.roles import Role
from server.rooms.state import SessionState

Build = Callable[[SessionState, int], Event]

TEACHER = Actor("p_wanjiru", "Mwalimu Wanjiru", Role.TEACHER, "c1")
TEACHER_C2 = Actor("p_berg", "Ingrid Berg", Role.TEACHER, "c2")
BARAKA = Actor("p_baraka", "Baraka", Role.STUDENT, "c1")
SINDRE = Actor("p_sindre", "Sindre", Role.STUDENT, "c2")
KARI = Actor("p_kari", "Kari", Role.STUDENT, "c2")
LIMITS = CommandLimits()


def group_of(state: SessionState, actor: Actor) -> str:
    group = state.breakouts.group_of(actor.participant_id)
    assert group is not None
    return group.id


def other_group(state: SessionState, actor: Actor) -> str:
    mine = group_of(state, actor)
    return next(g.id for g in state.breakouts.groups if g.id != mine)


def last_post(state: SessionState) -> int:
    return state.chat[-1].id


OPEN = BreakoutOpen(size=2, seed=2026, minutes=20, names=["Mto / Elva"])

BREAKOUT_STEPS: list[tuple[str | None, Build]] = [
    (None, lambda state, now: joined_event(BARAKA, now)),
    (None, lambda state, now: joined_event(SINDRE, now)),
    (None, lambda state, now: joined_event(KARI, now)),
    (
        "breakout.opened",
        lambda state, now: rules.open_breakouts(state, TEACHER, OPEN, now, LIMITS)[0],
    ),
    (
        "chat.posted.group",
        lambda state, now: post_to_group(
            state, SINDRE, ChatSend("Vi tegner elva 🏞️", group=group_of(state, SINDRE)), now, 2000
        ),
    ),
    (
        "chat.deleted.group",
        lambda state, now: delete_message(state, TEACHER, last_post(state), now),
    ),
    (
        "breakout.called",
        lambda state, now: rules.call_teacher(state, SINDRE, BreakoutCallTeacher(), now, LIMITS)[0],
    ),
    (
        "breakout.visited",
        lambda state, now: rules.visit(
            state, TEACHER_C2, BreakoutVisit(group_of(state, SINDRE)), now, LIMITS
        )[0],
    ),
    (
        "breakout.call_answered",
        lambda state, now: rules.answer_call(
            state, TEACHER_C2, BreakoutAnswer(group_of(state, SINDRE)), now, LIMITS
        )[0],
    ),
    (
        "breakout.broadcast_sent",
        lambda state, now: rules.broadcast(
            state, TEACHER, BreakoutBroadcast("Dakika tano / Fem minutter ⏳"), now, LIMITS
        )[0],
    ),
    (
        "breakout.moved",
        lambda state, now: rules.move_participant(
            state, TEACHER, BreakoutMove(KARI.participant_id, other_group(state, KARI)), now, LIMITS
        )[0],
    ),
    (
        "breakout.closed",
        lambda state, now: rules.close_breakouts(state, TEACHER_C2, BreakoutClose(), now, LIMITS)[
            0
        ],
    ),
]
