"""A log written over: Redis came back short of its last writes, in the same epoch, and a
worker whose replica never got them appended over their seqs. A replica that had applied the
lost events must find out before it applies, appends or saves anything more, then follow the
log under a new epoch (docs/architecture.md, "A log written over")."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import msgpack

from server.broker.base import LogPosition, Reseeded, ReseedOutcome
from server.broker.memory import MemoryBroker
from server.hub.hub import SessionHub
from server.hub.recovery import Recovery
from server.hub.replica import SessionReplica
from server.rooms.events import Event, EventKind
from server.rooms.state import SessionState, load_state
from tests.conftest import ServerFactory
from tests.helpers import seq_of, unchecked_classroom


class RestartedBroker(MemoryBroker):
    """memory:// that comes back short of its last writes, as an ``appendfsync everysec``
    Redis after a crash, and counts that as a lost link (``Broker.disruptions``)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost_links = 0

    def disruptions(self, session_id: str) -> int:
        return self.lost_links

    def come_back_short(self, session_id: str, top: int) -> None:
        session_log = self._log(session_id)
        session_log.top = top
        while session_log.history and session_log.history[-1][0] > top:
            session_log.history.pop()
        if session_log.snapshot is not None and session_log.snapshot.seq > top:
            # Saved after the events it holds, so lost with them (Redis writes in order). A
            # session snapshots where its id puts it: at the lost post, for some ids.
            session_log.snapshot = None
        self.lost_links += 1


class BusyBroker(RestartedBroker):
    """Another worker appends while the diverged replica rebuilds from the log (a busy
    session: its renewal must not wait for a quiet moment that never comes)."""

    busy = False

    async def reseed(
        self,
        session_id: str,
        known: LogPosition,
        snapshot: bytes,
        marks: Any = (),
        *,
        renew_from: int | None = None,
    ) -> Reseeded:
        if self.busy and renew_from is not None:
            await self.append(session_id, _post_like(self, session_id, known.seq, "a stroke", 1))
        return await super().reseed(session_id, known, snapshot, marks, renew_from=renew_from)


def _post_like(broker: MemoryBroker, session_id: str, seq: int, text: str, later: int) -> bytes:
    """Another post by the author of the one at ``seq``, ``later`` ms after it."""
    model = Event.from_bytes(dict(broker._log(session_id).history)[seq])
    return Event(EventKind.CHAT_POSTED, model.ts + later, {**model.data, "text": text}).to_bytes()


def _texts(state: SessionState) -> list[str | None]:
    return [message.text for message in state.chat]


async def _written_over(
    server_factory: ServerFactory, broker: RestartedBroker
) -> tuple[SessionHub, SessionReplica, str, int, str]:
    """A post saved, one lost with Redis's last second, then the lost one's seq written over
    by a replica that never got it. Returns the hub, the replica, the session, the lost seq and
    the epoch."""
    server, room = await unchecked_classroom(server_factory, broker)
    teacher = await room.teacher(0)
    session_id = room.session_id
    saved = seq_of(await teacher.chat("saved"))
    lost = seq_of(await teacher.chat("lost with the last second"))
    hub = server.services.hub
    replica = hub._replicas[session_id]
    epoch = replica.epoch
    over = _post_like(broker, session_id, saved, "written over", 5000)
    broker.come_back_short(session_id, saved)
    written = await broker.append(session_id, over, after=LogPosition(saved, epoch))
    assert written == LogPosition(lost, epoch)
    return hub, replica, session_id, lost, epoch


async def test_events_above_the_lost_seqs_wait_for_the_check(
    server_factory: ServerFactory,
) -> None:
    """Applied on top of the lost post, the behind worker's next post would make the replica's
    top match the log's and the divergence could no longer be seen."""
    broker = RestartedBroker()
    hub, replica, session_id, lost, epoch = await _written_over(server_factory, broker)
    more = _post_like(broker, session_id, lost, "the behind worker again", 10)
    await broker.append(session_id, more, after=LogPosition(lost, epoch))

    await hub.recovery.check(session_id, replica)

    assert replica.checked
    assert replica.epoch != epoch  # renewed: positions in the old one may name the lost post
    texts = _texts(replica.state)
    assert "lost with the last second" not in texts
    assert texts[-2:] == ["written over", "the behind worker again"]
    assert replica.state.seq == lost + 1


async def test_an_unchecked_replica_saves_no_snapshot(server_factory: ServerFactory) -> None:
    """Stored as the log's snapshot, the lost post would come back in every later load and in
    the renewal's state "from the log"."""
    broker = RestartedBroker()
    hub, replica, session_id, _, epoch = await _written_over(server_factory, broker)
    before = await broker.load_snapshot(session_id)

    await hub._save_snapshot(replica)  # what unloading and shutting down do

    assert await broker.load_snapshot(session_id) == before
    await hub.recovery.check(session_id, replica)
    await hub._save_snapshot(replica)
    stored = await broker.load_snapshot(session_id)
    assert stored is not None
    assert stored.epoch == replica.epoch != epoch
    assert "lost with the last second" not in _texts(load_state(msgpack.unpackb(stored.payload)))


async def test_the_renewal_settles_while_others_keep_appending(
    server_factory: ServerFactory,
) -> None:
    broker = BusyBroker()
    hub, replica, _, lost, epoch = await _written_over(server_factory, broker)
    broker.busy = True

    await hub.recovery.recover(replica)

    assert replica.checked
    assert replica.epoch != epoch
    assert _texts(replica.state)[-2:] == ["written over", "a stroke"]
    assert replica.state.seq == lost + 1


async def test_agreed_is_only_what_was_compared() -> None:
    """More events lost than the replica remembers: its first mark already differs from the
    log, so nothing is known to agree, and commands decided against its state are refused."""
    broker = MemoryBroker()
    for seq in range(1, 301):  # 1..100 kept; 101..300 written over after the restart
        ts = 1000 + seq if seq <= 100 else 50_000 + seq
        top = await broker.append("s1", Event(EventKind.CHAT_POSTED, ts, {}).to_bytes())
    marks = [(seq, 90_000 + seq) for seq in range(400, 144, -1)]  # applied 101..400, lost
    replica = SimpleNamespace(session_id="s1", marks=lambda: marks)
    recovery = Recovery(cast(Any, SimpleNamespace(broker=broker)))
    assert await recovery._agreed(cast(Any, replica), top.epoch) == 0
    # A replica that remembers from 100 on, and lost 101..160: it agrees with the log at 100.
    marks[:] = [(seq, 1000 + seq) for seq in range(160, 99, -1)]
    assert await recovery._agreed(cast(Any, replica), top.epoch) == 100
    outcome = (await broker.reseed("s1", LogPosition(160, top.epoch), b"", marks)).outcome
    assert outcome is ReseedOutcome.DIVERGED


async def test_agreed_reads_from_the_oldest_event_the_log_keeps() -> None:
    """A replica remembers more events than the log keeps: compared from the log's oldest."""
    broker = MemoryBroker(history_size=100)
    for seq in range(1, 301):  # 1..280 kept; 281..300 written over; the log keeps 201..300
        ts = 1000 + seq if seq <= 280 else 50_000 + seq
        top = await broker.append("s1", Event(EventKind.CHAT_POSTED, ts, {}).to_bytes())
    marks = [(seq, 1000 + seq) for seq in range(300, 44, -1)]  # applied 45..300 before
    replica = SimpleNamespace(session_id="s1", marks=lambda: marks)
    hub = SimpleNamespace(broker=broker, limits=SimpleNamespace(history_size=100))
    assert await Recovery(cast(Any, hub))._agreed(cast(Any, replica), top.epoch) == 280
