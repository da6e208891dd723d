"""Starts and stops recordings for this worker's replicas (rules: server/rooms/recording.py).

The worker that appends an event which can complete the consents (a request, a consent, a
presence change, a video grant) or that takes away the last teacher decides right after it,
from its replica, as the topology keeper does. Two workers deciding at once both append
``recording.started`` (the reducer keeps the first) or ``recording.stopped`` (the second
finds nothing to stop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.rooms.events import Event, EventKind
from server.rooms.recording import recording_follow_up

if TYPE_CHECKING:
    from server.hub.hub import SessionHub
    from server.hub.replica import SessionReplica

TRIGGERS = frozenset(
    {
        EventKind.RECORDING_REQUESTED,
        EventKind.RECORDING_CONSENTED,
        # A class without consent leaving completes the consents; one joining does not stop
        # a running recording (its publishers are not recorded until it consents).
        EventKind.PARTICIPANT_JOINED,
        EventKind.PARTICIPANT_LEFT,
        EventKind.MEDIA_GRANTED,
    }
)


class RecordingKeeper:
    def __init__(self, hub: SessionHub) -> None:
        self.hub = hub

    async def after(self, replica: SessionReplica, event: Event) -> None:
        """Called by the hub after it appended ``event`` and its replica applied it."""
        if event.kind not in TRIGGERS:
            return
        follow_up = recording_follow_up(replica.state, self.hub.now_ms())
        if follow_up is not None:
            await self.hub._append(replica, follow_up)
