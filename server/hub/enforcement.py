"""Moderation that reaches connections: when a replica applies a removal or the end of the
session, this worker closes its own connections concerned. Every worker applies the same log,
so a participant connected to several workers is closed on each of them (protocol §24).

Called after the event was handed to the local connections, so the removed participant and
everyone else receive it before their connection closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.protocol.closecodes import CloseCode
from server.rooms.events import Event, EventKind

if TYPE_CHECKING:
    from server.hub.replica import SessionReplica


def enforce(replica: SessionReplica, event: Event) -> None:
    if event.kind == EventKind.PARTICIPANT_REMOVED:
        removed = event.data["participant_id"]
        for connection in list(replica.connections.values()):
            if connection.actor is not None and connection.actor.participant_id == removed:
                connection.close(CloseCode.REMOVED, "removed")
    elif event.kind == EventKind.SESSION_ENDED:
        for connection in list(replica.connections.values()):
            connection.close(CloseCode.SESSION_ENDED, "session_ended")
