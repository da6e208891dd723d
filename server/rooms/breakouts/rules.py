"""Breakout commands to events. Pure: checked against the replica's state, decided once by the
worker that received the command (the mixing too: the groups it makes are logged), applied by
reducer.py on every replica. Every event carries the ``round`` it was decided for, so a move or
a call decided just before a close is ignored by the round that follows."""

from __future__ import annotations

from typing import Any

from server.errors import Forbidden, InvalidMessage, LimitExceeded, NotFound
from server.protocol.breakouts import (
    BreakoutAnswer,
    BreakoutBroadcast,
    BreakoutCallTeacher,
    BreakoutClose,
    BreakoutMove,
    BreakoutOpen,
    BreakoutVisit,
)
from server.rooms.actor import Actor
from server.rooms.board.reducer import LIMITS as BOARD_LIMITS
from server.rooms.breakouts.access import BreakoutAlreadyOpen, NoBreakout
from server.rooms.breakouts.mixing import Student, assign_groups
from server.rooms.events import Event, EventKind
from server.rooms.limits import CommandLimits
from server.rooms.roles import Role
from server.rooms.rule import Rule
from server.rooms.state import SessionState
from server.rooms.text import has_forbidden_characters

MAX_SIZE = 50
MAX_GROUPS = 12
MAX_MINUTES = 240
MAX_NAME = 60
MINUTE_MS = 60_000


def _teacher(actor: Actor, what: str) -> None:
    if not actor.role.is_teacher:
        raise Forbidden(f"only teachers and hosts {what}")


def _open_round(state: SessionState) -> int:
    if not state.breakouts.open:
        raise NoBreakout("no breakout groups are open")
    return state.breakouts.round


def _event(kind: str, now: int, actor: Actor, round_: int, **data: Any) -> Event:
    return Event(kind=kind, ts=now, data={"round": round_, **data, "by": actor.participant_id})


def _check_options(command: BreakoutOpen) -> None:
    if not 2 <= command.size <= MAX_SIZE:
        raise InvalidMessage(f"a group size is from 2 to {MAX_SIZE}", detail="size")
    if command.minutes is not None and not 1 <= command.minutes <= MAX_MINUTES:
        raise InvalidMessage(f"minutes are from 1 to {MAX_MINUTES}", detail="minutes")
    if len(command.names or ()) > MAX_GROUPS:
        raise InvalidMessage(f"at most {MAX_GROUPS} group names", detail="names")
    for name in command.names or ():
        if not name.strip() or len(name) > MAX_NAME:
            raise InvalidMessage(f"a group name has 1 to {MAX_NAME} characters", detail="names")
        if has_forbidden_characters(name, multiline=False):
            raise InvalidMessage("a group name contains control characters", detail="names")


def _present_students(state: SessionState) -> list[Student]:
    return [
        Student(p.id, p.class_id)
        for p in state.participants.values()
        if p.present and p.role == Role.STUDENT
    ]


def _check_boards(state: SessionState, count: int) -> None:
    missing = sum(1 for n in range(1, count + 1) if f"group-{n}" not in state.boards)
    if len(state.boards) + missing > BOARD_LIMITS.boards_per_session:
        raise LimitExceeded(
            "not enough room for a board per group: choose bigger groups", detail="size"
        )


def open_breakouts(
    state: SessionState, actor: Actor, command: BreakoutOpen, now: int, limits: CommandLimits
) -> list[Event]:
    _teacher(actor, "open breakout groups")
    if state.breakouts.open:
        raise BreakoutAlreadyOpen("breakout groups are open already: close them first")
    _check_options(command)
    students = _present_students(state)
    if len(students) < 2:
        raise InvalidMessage("breakout groups need two students present", detail="size")
    seed = now if command.seed is None else command.seed
    members = assign_groups(students, command.size, seed)
    if len(members) > MAX_GROUPS:
        raise LimitExceeded(f"at most {MAX_GROUPS} groups: choose bigger groups", detail="size")
    _check_boards(state, len(members))
    round_ = state.breakouts.round + 1
    names = command.names or ()
    groups = [
        {
            "id": f"r{round_}-g{n}",
            "name": names[n - 1] if n <= len(names) else f"Group {n}",
            "board": f"group-{n}",
            "members": ids,
        }
        for n, ids in enumerate(members, start=1)
    ]
    ends_at = None if command.minutes is None else now + command.minutes * MINUTE_MS
    data = {"groups": groups, "size": command.size, "seed": seed, "ends_at": ends_at}
    return [_event(EventKind.BREAKOUT_OPENED, now, actor, round_, **data)]


def _group(state: SessionState, group_id: str) -> str:
    if state.breakouts.group(group_id) is None:
        raise NotFound("no such breakout group", detail="group")
    return group_id


def move_participant(
    state: SessionState, actor: Actor, command: BreakoutMove, now: int, limits: CommandLimits
) -> list[Event]:
    _teacher(actor, "move people between groups")
    round_ = _open_round(state)
    participant = state.participants.get(command.participant)
    if participant is None:
        raise NotFound("no such participant in this session", detail="participant")
    if participant.role != Role.STUDENT:
        raise InvalidMessage("only students are placed in groups", detail="participant")
    target = None if command.group is None else _group(state, command.group)
    current = state.breakouts.group_of(participant.id)
    source = None if current is None else current.id
    if source == target:
        raise InvalidMessage("the student is there already", detail="group")
    data = {"participant": participant.id, "group": target, "from": source}
    return [_event(EventKind.BREAKOUT_MOVED, now, actor, round_, **data)]


def broadcast(
    state: SessionState, actor: Actor, command: BreakoutBroadcast, now: int, limits: CommandLimits
) -> list[Event]:
    _teacher(actor, "broadcast to the groups")
    round_ = _open_round(state)
    text = command.text
    if not text.strip():
        raise InvalidMessage("the broadcast is empty", detail="text")
    if len(text) > limits.chat_max_chars:
        raise LimitExceeded(f"at most {limits.chat_max_chars} characters", detail="text")
    if has_forbidden_characters(text, multiline=True):
        raise InvalidMessage("the broadcast contains control characters", detail="text")
    return [_event(EventKind.BREAKOUT_BROADCAST_SENT, now, actor, round_, text=text)]


def close_breakouts(
    state: SessionState, actor: Actor, command: BreakoutClose, now: int, limits: CommandLimits
) -> list[Event]:
    _teacher(actor, "close breakout groups")
    round_ = _open_round(state)
    return [_event(EventKind.BREAKOUT_CLOSED, now, actor, round_)]


def call_teacher(
    state: SessionState, actor: Actor, command: BreakoutCallTeacher, now: int, limits: CommandLimits
) -> list[Event]:
    if actor.role is not Role.STUDENT:
        raise Forbidden("students call a teacher to their group")
    round_ = _open_round(state)
    group = state.breakouts.group_of(actor.participant_id)
    if group is None:
        raise Forbidden("you are in no breakout group", detail="group")
    if group.call is not None:
        raise InvalidMessage("your group has called a teacher already", detail="group")
    return [_event(EventKind.BREAKOUT_CALLED, now, actor, round_, group=group.id)]


def answer_call(
    state: SessionState, actor: Actor, command: BreakoutAnswer, now: int, limits: CommandLimits
) -> list[Event]:
    _teacher(actor, "answer a group's call")
    round_ = _open_round(state)
    group = state.breakouts.group(_group(state, command.group))
    if group is None or group.call is None:
        raise InvalidMessage("this group has not called", detail="group")
    return [_event(EventKind.BREAKOUT_CALL_ANSWERED, now, actor, round_, group=group.id)]


def visit(
    state: SessionState, actor: Actor, command: BreakoutVisit, now: int, limits: CommandLimits
) -> list[Event]:
    _teacher(actor, "visit groups")
    round_ = _open_round(state)
    target = None if command.group is None else _group(state, command.group)
    return [_event(EventKind.BREAKOUT_VISITED, now, actor, round_, group=target)]


RULES: dict[type, Rule] = {
    BreakoutOpen: open_breakouts,
    BreakoutMove: move_participant,
    BreakoutBroadcast: broadcast,
    BreakoutClose: close_breakouts,
    BreakoutCallTeacher: call_teacher,
    BreakoutAnswer: answer_call,
    BreakoutVisit: visit,
}
