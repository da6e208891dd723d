"""Raised hands: an ordered queue, first raised first in line.

- ``hand.raise``: students and class stations (a station speaks for a whole class). Teachers
  and hosts run the queue; observers only watch. Raising a raised hand is refused
  (``already_raised``) rather than ignored, so a client knows its place did not change.
- ``hand.lower``: your own hand; a teacher or host lowers anyone's (``participant``).
- ``hand.clear``: a teacher or host lowers every hand.

The queue's order is the log's order, and the time shown is the event's ``ts`` (the server's
clock, never the client's). A participant who leaves the session has their hand lowered by the
reducer when it applies ``participant.left``: no event of its own, the same on every replica.
"""

from __future__ import annotations

from collections.abc import Callable

from server.errors import ClassbridgeError, Forbidden, NotFound
from server.protocol.classroom import HandClear, HandLower, HandRaise
from server.rooms.actor import Actor
from server.rooms.classroom_model import RaisedHand
from server.rooms.events import Event, EventKind
from server.rooms.limits import CommandLimits
from server.rooms.roles import Role
from server.rooms.rule import Rule
from server.rooms.state import SessionState

RAISERS = frozenset({Role.STUDENT, Role.STATION})


class AlreadyRaised(ClassbridgeError):
    code = "already_raised"
    http_status = 409


def _raised(state: SessionState, participant_id: str) -> bool:
    return any(hand.participant == participant_id for hand in state.hands)


def raise_hand(state: SessionState, actor: Actor, now: int) -> Event:
    if actor.role not in RAISERS:
        raise Forbidden("only students and class stations raise their hand")
    if _raised(state, actor.participant_id):
        raise AlreadyRaised("your hand is already raised")
    return Event(kind=EventKind.HAND_RAISED, ts=now, data={"participant": actor.participant_id})


def lower_hand(state: SessionState, actor: Actor, participant: str | None, now: int) -> Event:
    whose = actor.participant_id if participant is None else participant
    if whose != actor.participant_id and not actor.role.is_teacher:
        raise Forbidden("only teachers and hosts lower someone else's hand")
    if not _raised(state, whose):
        raise NotFound("no raised hand for this participant", detail="participant")
    data = {"participant": whose, "by": actor.participant_id}
    return Event(kind=EventKind.HAND_LOWERED, ts=now, data=data)


def clear_hands(actor: Actor, now: int) -> Event:
    if not actor.role.is_teacher:
        raise Forbidden("only teachers and hosts lower every hand")
    return Event(kind=EventKind.HANDS_CLEARED, ts=now, data={"by": actor.participant_id})


def hands_snapshot(state: SessionState) -> list[dict[str, object]]:
    """The queue in order (everyone sees it: who was first is the point of it)."""
    return [hand.to_wire() for hand in state.hands]


# --- the reducer's part --------------------------------------------------------------------


def apply_raised(state: SessionState, seq: int, event: Event) -> None:
    participant = event.data["participant"]
    # Two tabs raising at once: the first raise in the log keeps its place. A raise decided
    # just before its sender left is ignored as well: a hand is lowered on leaving.
    if not _raised(state, participant) and state.is_present(participant):
        state.hands.append(RaisedHand(participant, event.ts))


def apply_lowered(state: SessionState, seq: int, event: Event) -> None:
    drop_hand(state, event.data["participant"])


def apply_cleared(state: SessionState, seq: int, event: Event) -> None:
    state.hands.clear()


def drop_hand(state: SessionState, participant_id: str) -> None:
    """Lower a hand if it is raised (also called when its participant leaves)."""
    kept = [hand for hand in state.hands if hand.participant != participant_id]
    if len(kept) != len(state.hands):
        state.hands[:] = kept


HANDLERS: dict[str, Callable[[SessionState, int, Event], None]] = {
    EventKind.HAND_RAISED: apply_raised,
    EventKind.HAND_LOWERED: apply_lowered,
    EventKind.HANDS_CLEARED: apply_cleared,
}


def _raise(
    state: SessionState, actor: Actor, command: HandRaise, now: int, limits: CommandLimits
) -> list[Event]:
    return [raise_hand(state, actor, now)]


def _lower(
    state: SessionState, actor: Actor, command: HandLower, now: int, limits: CommandLimits
) -> list[Event]:
    return [lower_hand(state, actor, command.participant, now)]


def _clear(
    state: SessionState, actor: Actor, command: HandClear, now: int, limits: CommandLimits
) -> list[Event]:
    return [clear_hands(actor, now)]


RULES: dict[type, Rule] = {HandRaise: _raise, HandLower: _lower, HandClear: _clear}
