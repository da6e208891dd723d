"""``Recovery``'s decisions against a broker that changes under it."""

from __future__ import annotations

import asyncio

from server.broker.base import HistoryGone, LogPosition
from server.broker.memory import MemoryBroker
from server.hub.replica import AHEAD_LIMIT
from server.rooms.events import Event
from tests.conftest import ServerFactory
from tests.helpers import seq_of, unchecked_classroom

WAIT = 5.0  # seconds


class LostAgainBroker(MemoryBroker):
    """memory://, whose log is lost again (another epoch, further on) right after a re-seed
    found it intact: the read that follows finds the history gone."""

    def __init__(self) -> None:
        super().__init__()
        self.lose_after_reseed = False

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone:
        if self.lose_after_reseed:
            self.lose_after_reseed = False
            return HistoryGone(LogPosition(after.seq + 50, "a later epoch"))
        return await super().read_since(session_id, after)


async def test_a_history_lost_again_after_intact_is_decided_anew_not_taken_as_a_floor(
    server_factory: ServerFactory,
) -> None:
    broker = LostAgainBroker()
    server, room = await unchecked_classroom(server_factory, broker)
    await room.teacher(0)
    hub = server.services.hub
    replica = hub._replicas[room.session_id]
    seq, epoch = replica.state.seq, replica.epoch
    broker.lose_after_reseed = True

    settled = await hub.recovery._attempt(replica)

    assert not settled  # tried again: the seq of another epoch says nothing about this one
    assert (replica.state.seq, replica.epoch) == (seq, epoch)


class BusyDuringCheckBroker(MemoryBroker):
    """memory://, whose link was lost once (``disruptions``); while the replica's check reads
    the log, other workers append more than a replica keeps aside."""

    def __init__(self) -> None:
        super().__init__()
        self.lost_links = 0
        self.appended_during_read: list[bytes] = []

    def disruptions(self, session_id: str) -> int:
        return self.lost_links

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone:
        found = await super().read_since(session_id, after)
        appending, self.appended_during_read = self.appended_during_read, []
        for payload in appending:  # after the read: they reach the replica only live
            await self.append(session_id, payload)
        return found


async def test_events_dropped_while_kept_aside_are_read_from_the_log(
    server_factory: ServerFactory,
) -> None:
    """Left to a later gap, a session that went quiet would lag behind its log until the
    periodic repair, minutes later: its students would miss the last posts meanwhile."""
    broker = BusyDuringCheckBroker()
    server, room = await unchecked_classroom(server_factory, broker)
    teacher = await room.teacher(0)
    posted = seq_of(await teacher.chat("before the link was lost"))
    hub = server.services.hub
    replica = hub._replicas[room.session_id]
    model = Event.from_bytes(dict(broker._log(room.session_id).history)[posted])
    more = AHEAD_LIMIT + 20
    broker.appended_during_read = [
        Event(model.kind, model.ts + n, {**model.data, "text": f"during the check {n}"}).to_bytes()
        for n in range(more)
    ]
    broker.lost_links += 1

    await hub.recovery.recover(replica)

    top = (await broker.position(room.session_id)).seq
    assert top == posted + more
    for _ in range(int(WAIT / 0.01)):  # the catch-up it started (waiting for it by seq
        if replica.state.seq == top:  # would start a repair of its own)
            break
        await asyncio.sleep(0.01)
    assert replica.state.seq == top
    assert replica.state.chat[-1].text == f"during the check {more - 1}"
