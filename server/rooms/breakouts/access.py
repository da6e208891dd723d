"""Who may read and write a breakout group's chat, and who sees a group's calls for a teacher.

Teachers and hosts of every class are members of no group but see all of them; a student sees
the group they are in now. The rules read the replica's current state: a student moved to
another group sees that group's posts from then on, and after ``breakout.close`` (the groups
are gone) group posts stay for teachers only.
"""

from __future__ import annotations

from collections.abc import Callable

from server.errors import ClassbridgeError, Forbidden, NotFound
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.state import SessionState


class BreakoutAlreadyOpen(ClassbridgeError):
    code = "breakout_open"
    http_status = 409


class NoBreakout(ClassbridgeError):
    """A breakout command, or a group post, while no breakout groups are open."""

    code = "no_breakout"
    http_status = 409


def sees_group(state: SessionState, viewer: Actor, group_id: str) -> bool:
    if viewer.role.is_teacher:
        return True
    group = state.breakouts.group(group_id)
    return group is not None and viewer.participant_id in group.members


def check_group_post(state: SessionState, sender: Actor, group_id: str) -> None:
    """A post to a group's chat: by a teacher or by one of the group's members."""
    if not state.breakouts.open:
        raise NoBreakout("no breakout groups are open", detail="group")
    if state.breakouts.group(group_id) is None:
        raise NotFound("no such breakout group", detail="group")
    if not sees_group(state, sender, group_id):
        raise Forbidden("only the group's members and teachers post here", detail="group")


def _sees_call(state: SessionState, viewer: Actor, event: Event) -> bool:
    return sees_group(state, viewer, event.data["group"])


# For server/rooms/visibility.py: a group's calls reach its members and the teachers.
VISIBILITY: dict[str, Callable[[SessionState, Actor, Event], bool]] = {
    EventKind.BREAKOUT_CALLED: _sees_call,
    EventKind.BREAKOUT_CALL_ANSWERED: _sees_call,
}


def breakouts_for(state: SessionState, viewer: Actor) -> dict[str, object]:
    """The breakout part of a snapshot: everyone sees the groups and who is in them (a student
    page shows "you are in group 2 with ..."), only a group's members and teachers its call."""
    wire = state.breakouts.to_wire()
    for group in wire["groups"]:
        if not sees_group(state, viewer, group["id"]):
            group["call"] = None
    return wire
