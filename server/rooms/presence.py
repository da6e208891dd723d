"""Presence: which participants have a live connection, with a grace period before leaving.

A participant with two tabs counts once. When their last connection closes, they are only
logged as ``left`` once ``grace`` seconds pass without a new connection, so a quick reconnect
does not flap. Sans-I/O: the caller passes the time and runs the timers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind


@dataclass(slots=True)
class PresenceTracker:
    grace: float
    connections: dict[str, set[int]] = field(default_factory=dict)
    leave_deadlines: dict[str, float] = field(default_factory=dict)

    def connect(self, participant_id: str, connection_id: int) -> None:
        self.connections.setdefault(participant_id, set()).add(connection_id)
        self.leave_deadlines.pop(participant_id, None)

    def disconnect(self, participant_id: str, connection_id: int, now: float) -> float | None:
        """Forget a connection; returns the leave deadline when it was the participant's last."""
        held = self.connections.get(participant_id)
        if held is None:
            return None
        held.discard(connection_id)
        if held:
            return None
        del self.connections[participant_id]
        deadline = now + self.grace
        self.leave_deadlines[participant_id] = deadline
        return deadline

    def drop(self, participant_id: str, connection_id: int) -> bool:
        """Forget a connection without a grace period (an explicit leave); True when it was
        the participant's last. Other participants' pending leaves are left alone."""
        if self.disconnect(participant_id, connection_id, now=0.0) is None:
            return False
        del self.leave_deadlines[participant_id]
        return True

    def is_connected(self, participant_id: str) -> bool:
        return participant_id in self.connections

    def next_deadline(self) -> float | None:
        return min(self.leave_deadlines.values(), default=None)

    def due(self, now: float) -> list[str]:
        """Participants whose grace period is over; they are removed from the pending list."""
        expired = [pid for pid, deadline in self.leave_deadlines.items() if deadline <= now]
        for participant_id in expired:
            del self.leave_deadlines[participant_id]
        return expired

    @property
    def idle(self) -> bool:
        return not self.connections and not self.leave_deadlines


def joined_event(actor: Actor, now: int) -> Event:
    return Event(kind=EventKind.PARTICIPANT_JOINED, ts=now, data={"participant": actor.to_wire()})


def left_event(participant_id: str, reason: str, now: int) -> Event:
    data = {"participant_id": participant_id, "reason": reason}
    return Event(kind=EventKind.PARTICIPANT_LEFT, ts=now, data=data)
