"""Who is connected to a session, across workers: the hub's presence duties.

A connection is recorded locally (grace timers) and in the broker (so other workers know it).
``left`` is logged after the grace period, and only when the participant has no connection on
any worker; a dead worker's connections are swept by one survivor (see ``hub/watch.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from server.hub.connection import Connection
from server.hub.replica import SessionReplica
from server.rooms.presence import left_event

if TYPE_CHECKING:
    from server.hub.hub import SessionHub

log = logging.getLogger(__name__)

SETTLE_INTERVAL = 0.1  # seconds between looks for drained participants back elsewhere


class PresenceKeeper:
    def __init__(self, hub: SessionHub) -> None:
        self.hub = hub

    async def detach(self, connection: Connection) -> None:
        replica = self.hub._replicas.get(connection.session_id)
        if replica is None or connection.actor is None:
            return
        replica.connections.pop(connection.id, None)
        participant_id = connection.actor.participant_id
        await self._forget_connection(replica, connection)
        now = asyncio.get_running_loop().time()
        if replica.presence.disconnect(participant_id, connection.id, now) is not None:
            self._arm_presence_timer(replica)
        self.hub._maybe_unload(replica)

    def _arm_presence_timer(self, replica: SessionReplica) -> None:
        """One timer per replica, at its earliest leave deadline. Deadlines and timers use the
        loop's own clock: uvloop's timers may fire a millisecond before a deadline read from
        another clock, and a wake-up that finds nothing due simply arms the timer again."""
        if replica.presence_timer is not None:
            replica.presence_timer.cancel()
            replica.presence_timer = None
        deadline = replica.presence.next_deadline()
        if deadline is not None:
            loop = asyncio.get_running_loop()
            replica.presence_timer = loop.call_at(deadline, self._presence_timer_fired, replica)

    def _presence_timer_fired(self, replica: SessionReplica) -> None:
        replica.presence_timer = None
        self.hub._spawn(self._expire_presence(replica))

    async def _expire_presence(self, replica: SessionReplica, now: float | None = None) -> None:
        try:
            async with replica.presence_lock:
                now = asyncio.get_running_loop().time() if now is None else now
                for participant_id in replica.presence.due(now):
                    if await self._gone_everywhere(replica, participant_id):
                        event = left_event(participant_id, "disconnected", self.hub.now_ms())
                        await self.hub._append(replica, event)
        finally:  # an append that failed must not leave the deadlines not due yet unwatched
            self._arm_presence_timer(replica)
        self.hub._maybe_unload(replica)

    async def leave(self, connection: Connection) -> None:
        """An explicit leave: logged at once when it was the participant's last connection."""
        replica = self.hub._replicas.get(connection.session_id)
        if replica is None or connection.actor is None:
            return
        participant_id = connection.actor.participant_id
        async with replica.presence_lock:
            replica.connections.pop(connection.id, None)
            await self._forget_connection(replica, connection)
            last = replica.presence.drop(participant_id, connection.id)
            if last and await self._gone_everywhere(replica, participant_id):
                await self.hub._append(
                    replica, left_event(participant_id, "left", self.hub.now_ms())
                )
        self.hub._maybe_unload(replica)

    def key(self, connection: Connection) -> str:
        return f"{self.hub.worker_id}:{connection.id}"

    async def _forget_connection(self, replica: SessionReplica, connection: Connection) -> None:
        try:
            await self.hub.broker.remove_connection(replica.session_id, self.key(connection))
        except Exception:  # the broker is away: the record stays (no sweep of stale ones yet)
            log.warning("could not forget connection (session=%s)", replica.session_id)

    async def _gone_everywhere(self, replica: SessionReplica, participant_id: str) -> bool:
        """Present in the log, and no connection left on any worker: time to log ``left``."""
        if not replica.state.is_present(participant_id):
            return False
        return not await self.hub.broker.count_connections(replica.session_id, participant_id)

    async def sweep(self, connections: list[tuple[str, str]]) -> None:
        """A dead worker's connections are gone: log ``left`` where nobody else holds one."""
        by_session: dict[str, set[str]] = {}
        for session_id, participant_id in connections:
            by_session.setdefault(session_id, set()).add(participant_id)
        for session_id, participants in by_session.items():
            async with self.hub.pinned(session_id) as replica, replica.presence_lock:
                for participant_id in sorted(participants):
                    if await self._gone_everywhere(replica, participant_id):
                        event = left_event(participant_id, "disconnected", self.hub.now_ms())
                        await self.hub._append(replica, event)

    async def settle(self, deadline: float) -> None:
        """A drain (server/drain.py) closed this worker's connections: their participants are
        in their grace period, like after a lost connection. Wait until each has reconnected
        (on another worker: nothing to log) or its grace ran out (``left`` logged as usual);
        what is still pending at ``deadline`` is decided then, not forgotten at shutdown."""
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            pending = [r for r in self.hub._replicas.values() if r.presence.leave_deadlines]
            if not pending:
                return
            for replica in pending:
                await self._forget_reconnected(replica)
            await asyncio.sleep(SETTLE_INTERVAL)
        for replica in list(self.hub._replicas.values()):
            if replica.presence.leave_deadlines:
                await self._expire_presence(replica, now=float("inf"))

    async def _forget_reconnected(self, replica: SessionReplica) -> None:
        async with replica.presence_lock:
            for participant_id in list(replica.presence.leave_deadlines):
                try:
                    elsewhere = await self.hub.broker.count_connections(
                        replica.session_id, participant_id
                    )
                except Exception:  # the broker is away: the grace timer decides later
                    log.warning("presence check failed (session=%s)", replica.session_id)
                    return
                if elsewhere:  # back on another worker: its presence is that worker's now
                    del replica.presence.leave_deadlines[participant_id]
        self._arm_presence_timer(replica)
        self.hub._maybe_unload(replica)
