"""A session followed by two workers is snapshotted once per ``snapshot_every`` events, by the
worker that appended the event due, not once by each worker (hub._snapshot_due)."""

from __future__ import annotations

import asyncio

from server.broker.base import StoredSnapshot
from server.broker.redis import RedisBroker
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, seq_of, wait_event
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

EVERY = 5


class SnapshotLedger(RedisBroker):
    """A real Redis broker that also notes the seq of every snapshot this worker saves."""

    def __init__(self, url: str, saved: list[tuple[str, int]], name: str) -> None:
        super().__init__(url, history_size=4 * EVERY)
        self.saved, self.name = saved, name

    async def save_snapshot(self, session_id: str, snapshot: StoredSnapshot) -> None:
        self.saved.append((self.name, snapshot.seq))
        await super().save_snapshot(session_id, snapshot)


async def test_each_snapshot_is_saved_by_one_worker(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    redis_server.flush()
    saved: list[tuple[str, int]] = []
    limits = {"snapshot_every": EVERY, "history_size": 4 * EVERY, "chat_burst": 100}
    ledger = SnapshotLedger(redis_server.url, saved, "first")
    first = await server_factory(broker=ledger, **limits)
    second = await server_factory(
        broker=SnapshotLedger(redis_server.url, saved, "second"), **limits
    )
    room = await open_classroom(first)
    teacher = first.client(room.teacher_token(0))
    await teacher.connect()
    student = second.client(await room.student_token(1, "Amani"))
    await student.connect()  # both workers now follow the session and apply every event

    posts = [seq_of(await teacher.chat(f"post {n}")) for n in range(4 * EVERY)]
    for n in range(4 * EVERY):  # the student's worker has applied them all
        assert (await wait_event(student, "chat.posted")).seq == posts[n]
    await asyncio.sleep(0.2)  # the snapshots' writes are tasks of their own

    seqs = [seq for _, seq in saved]
    assert len(seqs) >= 3, saved  # 20 posts cross at least three multiples of 5
    assert len(set(seqs)) == len(seqs), saved  # no snapshot packed and written twice
    # The teacher's worker appended every post: it snapshots them; the student's worker at
    # most the join it appended itself.
    assert {seq for name, seq in saved if name == "second"} <= {posts[0] - 1}, saved

    for _ in range(100):  # the newest save may still be on its way to Redis
        stored = await ledger.load_snapshot(room.session_id)
        if stored is not None and stored.seq == max(seqs):
            break
        await asyncio.sleep(0.05)
    assert stored is not None
    assert stored.seq == max(seqs)
