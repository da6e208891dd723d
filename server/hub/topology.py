"""Runs the topology policy (server/signaling/topology.py) for this worker's replicas.

The worker that appends a presence change (or a teacher's relay or recording request) decides
right after it, from its replica, which then holds that change and everything before it in
the log: so the last decision in the log was made from the publishers present at that point.
A decision raced by another presence change no longer matches the publishers when the
reducer reaches it and is ignored there; the other change's decision follows it.

A fall back from the relay waits ``topology_settle`` seconds of the same low count: one
timer per session on the worker that saw the count drop. If that worker dies meanwhile, the
next presence change decides again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from server.rooms.events import Event, EventKind
from server.signaling.topology import topology_change, waits_to_settle

if TYPE_CHECKING:
    from server.hub.hub import SessionHub
    from server.hub.replica import SessionReplica

TRIGGERS = frozenset(
    {
        EventKind.PARTICIPANT_JOINED,
        EventKind.PARTICIPANT_LEFT,
        EventKind.MEDIA_RELAY_REQUESTED,
        EventKind.MEDIA_GRANTED,
        # A recording asked for or stopped moves video to or from the relay.
        EventKind.RECORDING_REQUESTED,
        EventKind.RECORDING_STOPPED,
    }
)


class TopologyKeeper:
    def __init__(self, hub: SessionHub) -> None:
        self.hub = hub
        self._settling: dict[str, asyncio.TimerHandle] = {}

    async def after(self, replica: SessionReplica, event: Event) -> None:
        """Called by the hub after it appended ``event`` and its replica applied it."""
        if event.kind not in TRIGGERS:
            return
        await self._decide(replica, settled=False)
        if waits_to_settle(replica.state):
            self._start_settling(replica)

    async def _decide(self, replica: SessionReplica, *, settled: bool) -> None:
        change = topology_change(replica.state, self.hub.now_ms(), settled=settled)
        if change is not None:
            await self.hub._append(replica, change)

    def _start_settling(self, replica: SessionReplica) -> None:
        session_id = replica.session_id
        previous = self._settling.pop(session_id, None)
        if previous is not None:
            previous.cancel()  # the count changed again: the wait starts over
        delay = self.hub.limits.topology_settle
        loop = asyncio.get_running_loop()
        self._settling[session_id] = loop.call_later(delay, self._settled, session_id)

    def _settled(self, session_id: str) -> None:
        self._settling.pop(session_id, None)
        replica = self.hub._replicas.get(session_id)
        if replica is not None and waits_to_settle(replica.state):
            self.hub._spawn(self._decide(replica, settled=True))

    def close(self) -> None:
        for timer in self._settling.values():
            timer.cancel()
        self._settling.clear()
