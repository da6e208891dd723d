"""Events of the session log. An event is a kind, a timestamp and a map of data.

The timestamp (milliseconds since the Unix epoch) is stamped by the worker that decides the event,
so the reducer never reads a clock and every replica computes the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgpack

from server.errors import StoredDataCorrupt


class EventKind(StrEnum):
    SESSION_CREATED = "session.created"
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_LEFT = "participant.left"
    CHAT_POSTED = "chat.posted"
    CHAT_DELETED = "chat.deleted"
    SETTINGS_CHANGED = "settings.changed"
    BOARD_CREATED = "board.created"
    BOARD_ACCESS_CHANGED = "board.access_changed"
    BOARD_PUT = "board.put"
    BOARD_PATCHED = "board.patched"
    BOARD_APPENDED = "board.appended"
    BOARD_DELETED = "board.deleted"
    BOARD_CLEARED = "board.cleared"
    BOARD_RESTORED = "board.restored"  # an undo or a redo
    BOARD_STEP_DROPPED = "board.step_dropped"  # an undo or redo refused: the step is dropped
    MEDIA_TOPOLOGY = "media.topology"
    MEDIA_RELAY_REQUESTED = "media.relay_requested"
    MEDIA_GRANTED = "media.granted"  # a teacher let a student take part in video, or stopped it
    RECORDING_REQUESTED = "recording.requested"
    RECORDING_CONSENTED = "recording.consented"
    RECORDING_STARTED = "recording.started"
    RECORDING_STOPPED = "recording.stopped"
    # Hands and polls (server/rooms/hands.py, polls.py)
    HAND_RAISED = "hand.raised"
    HAND_LOWERED = "hand.lowered"
    HANDS_CLEARED = "hands.cleared"
    POLL_CREATED = "poll.created"
    POLL_ANSWERED = "poll.answered"  # seen only by its student (and teachers if not anonymous)
    POLL_COUNTS = "poll.counts"  # totals: teachers live, everyone once the poll is closed
    POLL_CLOSED = "poll.closed"
    # Agenda and reflections (server/rooms/agenda.py)
    AGENDA_CHANGED = "agenda.changed"
    AGENDA_MOVED = "agenda.moved"  # a phase starts (next or back); its ts is the start time
    AGENDA_FINISHED = "agenda.finished"
    REFLECTION_ANSWERED = "reflection.answered"
    # Moderation (server/rooms/moderation.py)
    MODERATION_MUTED = "moderation.muted"
    PARTICIPANT_REMOVED = "participant.removed"
    SESSION_LOCKED = "session.locked"
    SESSION_ENDED = "session.ended"
    CLASS_PERMISSIONS_CHANGED = "class.permissions_changed"
    MODERATION_SCOPE_CHANGED = "moderation.scope_changed"
    # Lobby (server/rooms/lobby.py): seen by teachers and the participant concerned only
    LOBBY_WAITING = "lobby.waiting"
    LOBBY_LEFT = "lobby.left"  # a waiting connection closed
    LOBBY_ADMITTED = "lobby.admitted"  # by a teacher, or by the policy (by: null)
    LOBBY_DENIED = "lobby.denied"
    # Breakout groups (server/rooms/breakouts/)
    BREAKOUT_OPENED = "breakout.opened"
    BREAKOUT_MOVED = "breakout.moved"
    BREAKOUT_BROADCAST_SENT = "breakout.broadcast_sent"
    BREAKOUT_CLOSED = "breakout.closed"
    BREAKOUT_CALLED = "breakout.called"  # a student called a teacher to their group
    BREAKOUT_CALL_ANSWERED = "breakout.call_answered"
    BREAKOUT_VISITED = "breakout.visited"  # a teacher shows they are with a group


# Not an event anyone appends: the broker's history keeps it in place of a deleted post. It is
# never sent to clients, and the reducer ignores it (the post's deletion follows in the log).
CHAT_REDACTED = "chat.redacted"


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    ts: int
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        packed: bytes = msgpack.packb([self.kind, self.ts, self.data], use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, payload: bytes) -> Event:
        try:
            kind, ts, data = msgpack.unpackb(payload, raw=False)
        except Exception as error:
            raise StoredDataCorrupt("internal error") from error
        return cls(kind=kind, ts=ts, data=data)


@dataclass(frozen=True, slots=True)
class SequencedEvent:
    """An event with its place in the log."""

    seq: int
    event: Event

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "event",
            "seq": self.seq,
            "kind": self.event.kind,
            "ts": self.event.ts,
            "data": self.event.data,
        }


def redacted_post(message_id: int, ts: int) -> Event:
    """What the history keeps of a deleted chat post: that it was there, not what it said."""
    return Event(kind=CHAT_REDACTED, ts=ts, data={"message_id": message_id})
