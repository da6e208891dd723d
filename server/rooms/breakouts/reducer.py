"""The breakout events applied to the state; pure, the same on every replica.

Races between workers are settled here the same way everywhere: a second ``breakout.opened``
while a round is open is ignored (the first in the log wins), and every other event counts only
for the round it was decided for. The groups' boards follow the groups: a round creates (or
empties) ``group-<n>`` and lets only the group's members draw on it besides the teachers; a
close leaves the drawings for the teachers. client_demo/breakouts.js mirrors these rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.rooms.board import reducer as board
from server.rooms.board.model import BoardMode
from server.rooms.breakouts.model import BreakoutGroup, BreakoutState, Call
from server.rooms.events import Event, EventKind
from server.rooms.state import SessionState

Handler = Callable[[SessionState, int, Event], None]


def _share_board(state: SessionState, seq: int, group: BreakoutGroup) -> None:
    access = {
        "mode": BoardMode.SELECTED.value,
        "classes": [],
        "participants": sorted(group.members),
    }
    board.access_changed(state.boards, seq, {"board": group.board, "access": access})


def _current(state: SessionState, event: Event) -> BreakoutState | None:
    breakouts = state.breakouts
    if breakouts.open and event.data["round"] == breakouts.round:
        return breakouts
    return None


def _opened(state: SessionState, seq: int, event: Event) -> None:
    breakouts = state.breakouts
    if breakouts.open:
        return
    data = event.data
    breakouts.round = data["round"]
    breakouts.open = True
    breakouts.opened_by = data["by"]
    breakouts.opened_at = event.ts
    breakouts.ends_at = data["ends_at"]
    breakouts.broadcasts.clear()
    breakouts.groups = [
        BreakoutGroup(g["id"], g["name"], g["board"], list(g["members"])) for g in data["groups"]
    ]
    for group in breakouts.groups:
        board_data = {"board": group.board, "title": group.name, "by": data["by"]}
        board.board_created(state.boards, seq, board_data)
        board.board_cleared(state.boards, seq, board_data)  # a new round starts empty
        _share_board(state, seq, group)


def _moved(state: SessionState, seq: int, event: Event) -> None:
    breakouts = _current(state, event)
    if breakouts is None:
        return
    participant, target = event.data["participant"], event.data["group"]
    for group in breakouts.groups:
        if participant in group.members and group.id != target:
            group.members.remove(participant)
            _share_board(state, seq, group)
        elif group.id == target and participant not in group.members:
            group.members.append(participant)
            _share_board(state, seq, group)


def _broadcast_sent(state: SessionState, seq: int, event: Event) -> None:
    breakouts = _current(state, event)
    if breakouts is not None:
        entry = {"id": seq, "text": event.data["text"], "by": event.data["by"], "ts": event.ts}
        breakouts.broadcasts.append(entry)


def _closed(state: SessionState, seq: int, event: Event) -> None:
    breakouts = _current(state, event)
    if breakouts is None:
        return
    for group in breakouts.groups:
        access = {"mode": BoardMode.TEACHERS.value, "classes": [], "participants": []}
        board.access_changed(state.boards, seq, {"board": group.board, "access": access})
    breakouts.open = False
    breakouts.ends_at = None
    breakouts.groups = []
    breakouts.broadcasts.clear()


def _on_group(change: Callable[[BreakoutGroup, dict[str, Any], int], None]) -> Handler:
    def apply(state: SessionState, seq: int, event: Event) -> None:
        breakouts = _current(state, event)
        group = None if breakouts is None else breakouts.group(event.data["group"])
        if group is not None:
            change(group, event.data, event.ts)

    return apply


def _called(group: BreakoutGroup, data: dict[str, Any], ts: int) -> None:
    if group.call is None:  # two students at once: the first call stands
        group.call = Call(by=data["by"], ts=ts)


def _answered(group: BreakoutGroup, data: dict[str, Any], ts: int) -> None:
    group.call = None


def _visited(state: SessionState, seq: int, event: Event) -> None:
    breakouts = _current(state, event)
    if breakouts is None:
        return
    teacher, target = event.data["by"], event.data["group"]
    for group in breakouts.groups:
        if teacher in group.visitors:
            group.visitors.remove(teacher)
        if group.id == target:
            group.visitors.append(teacher)


HANDLERS: dict[str, Handler] = {
    EventKind.BREAKOUT_OPENED: _opened,
    EventKind.BREAKOUT_MOVED: _moved,
    EventKind.BREAKOUT_BROADCAST_SENT: _broadcast_sent,
    EventKind.BREAKOUT_CLOSED: _closed,
    EventKind.BREAKOUT_CALLED: _on_group(_called),
    EventKind.BREAKOUT_CALL_ANSWERED: _on_group(_answered),
    EventKind.BREAKOUT_VISITED: _visited,
}
