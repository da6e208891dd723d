"""Redis stopped and started again under a live session, as two workers on one Redis see it.

Without persistence Redis comes back empty: the workers that hold the session write it back
(directory, join codes, snapshot, a seq floor) and close their clients with 4009, who resume
into a snapshot of the same lesson. With persistence nothing is lost: clients stay connected
and a client that dropped meanwhile resumes with exactly the events it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.broker.base import HistoryGone, LogPosition
from server.broker.redis import RedisBroker
from server.client import ClassbridgeClient, ClientError
from server.protocol.messages import EventMessage
from server.rooms.events import Event
from tests.conftest import ServerFactory
from tests.helpers import Classroom, collect_until, open_classroom, seq_of
from tests.live import LiveServer
from tests.redis_server import RedisServer, redis_executable

SETTINGS: dict[str, Any] = {
    "repair_interval": 0.2,
    "presence_grace": 30.0,  # a client reset by the recovery is back long before this
    "worker_heartbeat": 0.2,
    "worker_timeout": 1.0,
    "chat_per_second": 1000.0,
    "chat_burst": 1000,
}
WAIT = 20.0
OwnRedis = Callable[[bool], RedisServer]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A redis-server of the test's own (it is restarted), with or without persistence."""
    started: list[RedisServer] = []

    def start(persistent: bool) -> RedisServer:
        server = RedisServer(redis_executable(), tmp_path if persistent else None)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def _wait_ready(servers: list[LiveServer], status: int) -> None:
    async with asyncio.timeout(WAIT):
        for server in servers:
            while True:
                if (await server.http.get("/readyz")).status_code == status:
                    break
                await asyncio.sleep(0.05)


async def _lesson(
    server_factory: ServerFactory, redis: RedisServer
) -> tuple[list[LiveServer], Classroom, list[ClassbridgeClient], int]:
    """Two workers; a teacher and a student on each; a dozen chat posts."""
    servers = [await server_factory(broker_url=redis.url, **SETTINGS) for _ in range(2)]
    room = await open_classroom(servers[0])
    clients = []
    for n, server in enumerate(servers * 2):
        token = room.teacher_token(n % 2) if n < 2 else await room.student_token(1, f"S{n}")
        clients.append(server.client(token))
        await clients[-1].connect()
    top = 0
    for n in range(12):
        top = seq_of(await clients[n % 4].chat(f"before {n}"))
    for client in clients:
        await collect_until(client, top)
    return servers, room, clients, top


async def _chat_when_back(client: ClassbridgeClient, text: str) -> int:
    """The first commands after a restart may meet a pooled connection Redis closed."""
    for _ in range(20):
        try:
            return seq_of(await client.chat(text))
        except ClientError:
            await asyncio.sleep(0.1)
    raise AssertionError("chat never worked again")


def _texts(events: list[EventMessage]) -> list[str]:
    return [e.data["text"] for e in events if e.kind == "chat.posted"]


async def test_redis_restart_without_persistence_keeps_the_lesson_going(
    own_redis: OwnRedis, server_factory: ServerFactory
) -> None:
    redis = own_redis(False)
    servers, room, clients, top = await _lesson(server_factory, redis)
    old_epoch = clients[0].epoch
    redis.stop()  # everything in Redis is gone
    await _wait_ready(servers, 503)
    redis.start()
    began = time.monotonic()
    await _wait_ready(servers, 200)
    # Every worker rebuilt its replica and told its clients to resume into the new history.
    codes = [await c.wait_closed(WAIT) for c in clients]
    assert codes == [4009] * len(clients)
    for client in clients:
        welcome = await client.reconnect()
        assert (welcome.resume, welcome.seq) == ("snapshot", top)  # seqs never go backwards
        assert welcome.epoch != old_epoch
        assert welcome.session is not None
        assert [m["text"] for m in welcome.session["chat"]] == [f"before {n}" for n in range(12)]
    print(f"clients back {time.monotonic() - began:.2f}s after Redis answered again")
    ack = await _chat_when_back(clients[2], "after the restart")
    assert ack == top + 1
    for client in clients:
        events = await collect_until(client, ack)
        assert [(e.seq, e.kind) for e in events] == [(ack, "chat.posted")]
    # The directory was written back: join codes and new joins work on either worker.
    newcomer = servers[1].client(await room.student_token(0, "Late"))
    assert (await newcomer.connect()).seq == ack + 1  # its own participant.joined
    assert all(not server.task.done() for server in servers)


async def _one_worker_unchecked(
    own_redis: OwnRedis, server_factory: ServerFactory
) -> tuple[LiveServer, Classroom, RedisServer]:
    """One worker without the periodic check: after a FLUSHALL, the next command's append is
    what meets the empty log. It starts a history of its own (seq 1 of a fresh epoch), which
    the recovery it sets off moves above the replica's seq."""
    redis = own_redis(False)
    server = await server_factory(broker_url=redis.url, **{**SETTINGS, "repair_interval": 300.0})
    return server, await open_classroom(server), redis


async def test_a_post_that_meets_the_emptied_log_is_answered_with_its_place_in_the_rebuilt_one(
    own_redis: OwnRedis, server_factory: ServerFactory
) -> None:
    server, room, redis = await _one_worker_unchecked(own_redis, server_factory)
    teacher = server.client(room.teacher_token(0))
    await teacher.connect()
    top = seq_of(await teacher.chat("before"))
    await collect_until(teacher, top)
    redis.flush()  # everything in Redis is gone; the connections to it stay up

    ack = seq_of(await teacher.chat("after the loss"))

    assert await teacher.wait_closed(WAIT) == 4009
    welcome = await teacher.reconnect()
    assert welcome.session is not None
    # The ack names the post as the history that lasted has it: its message id, by which a
    # teacher deletes it, is that seq (not 1, its seq in the history that did not last).
    posts = {message["text"]: message["id"] for message in welcome.session["chat"]}
    assert posts == {"before": top, "after the loss": ack}
    assert ack == top + 1
    deleted = await teacher.command({"type": "chat.delete", "message_id": ack})
    assert deleted.seq is not None


async def test_an_answer_that_meets_the_emptied_log_still_gets_its_totals_out(
    own_redis: OwnRedis, server_factory: ServerFactory
) -> None:
    server, room, redis = await _one_worker_unchecked(own_redis, server_factory)
    teacher = server.client(room.teacher_token(0))
    student = server.client(await room.student_token(0, "Amani"))
    for client in (teacher, student):
        await client.connect()
    question = {"type": "poll.create", "question": "Longest river?", "options": ["Nile", "Tejo"]}
    poll = seq_of(await teacher.command(question))
    await collect_until(student, poll)
    redis.flush()  # everything in Redis is gone; the connections to it stay up

    answered = seq_of(await student.command({"type": "poll.answer", "poll": poll, "choices": [0]}))

    # The answer moved into the rebuilt history, and what follows an answer followed it there:
    # the totals counted after it are out (a poll.counts event appended after the recovery).
    state = server.services.hub.session_state(room.session_id)
    assert state.polls[poll].counts() == [1, 0]
    assert state.polls[poll].published_as_of >= answered


async def test_a_post_that_meets_a_log_restored_short_of_its_last_writes_gets_a_fresh_seq(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    """Redis back from a state short of its last writes (``appendfsync everysec`` loses up to
    a second) keeps the epoch but hands out seqs again that the replica already holds. Without
    the periodic check, the next post is what meets it: it must neither reuse a seq (its ack
    would name the lost post) nor be dropped when the log is restored from the replica."""
    redis = RedisServer(redis_executable(), tmp_path, snapshots_only=True)
    try:
        server = await server_factory(
            broker_url=redis.url, **{**SETTINGS, "repair_interval": 300.0}
        )
        room = await open_classroom(server)
        teacher = server.client(room.teacher_token(0))
        await teacher.connect()
        saved = seq_of(await teacher.chat("saved"))
        redis.save()  # what the restart brings back
        lost = seq_of(await teacher.chat("lost with the last second"))
        await collect_until(teacher, lost)
        redis.kill()
        redis.start()
        await _wait_ready([server], 200)

        ack = await _chat_when_back(teacher, "after the restart")

        assert ack == lost + 1  # not saved + 1, the seq the lost post had
        assert await teacher.wait_closed(WAIT) == 4009  # the log was restored from the replica
        welcome = await teacher.reconnect()
        assert welcome.session is not None
        posts = {message["text"]: message["id"] for message in welcome.session["chat"]}
        assert posts == {
            "saved": saved,
            "lost with the last second": lost,
            "after the restart": ack,
        }
    finally:
        redis.stop()


async def _refused_until_reset(client: ClassbridgeClient, text: str) -> int | None:
    """Post until the server resets the client; a post must not be acked meanwhile (it would
    be decided against a history the log no longer has). Returns the close code."""
    for _ in range(40):
        if client.close_code is not None:
            break
        with contextlib.suppress(ClientError, ConnectionError, TimeoutError):
            ack = await client.chat(text)
            raise AssertionError(f"acked at {ack.seq} by a replica that lost the log's history")
        await asyncio.sleep(0.05)
    return await client.wait_closed(WAIT)


async def test_workers_follow_a_log_written_over_after_redis_came_back_short(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    """Redis back from a state short of its last post (``appendfsync everysec``), and a worker
    whose replica never got that post (pub/sub had not brought it) posts over its seq: same
    epoch, same top, another event. The workers that applied the lost post must not keep it
    where every other replica and the log have the new one, nor append on top of it: after a
    lost link each checks its history against the log before appending (by the events'
    timestamps), finds it written over, follows the log and resets its clients."""
    redis = RedisServer(redis_executable(), tmp_path, snapshots_only=True)
    try:
        unchecked = {**SETTINGS, "repair_interval": 300.0}  # only the commands notice
        servers = [await server_factory(broker_url=redis.url, **unchecked) for _ in range(2)]
        room = await open_classroom(servers[0])
        teacher = servers[0].client(room.teacher_token(0))
        student = servers[1].client(await room.student_token(1, "Kofi"))
        await teacher.connect()
        await student.connect()
        saved = seq_of(await teacher.chat("saved"))
        redis.save()  # what the restart brings back
        lost = seq_of(await teacher.chat("lost with the last second"))
        for client in (teacher, student):
            await collect_until(client, lost)
        redis.kill()
        redis.start()
        await _wait_ready(servers, 200)
        # The behind worker's post: the lost one's author and data, another text and time.
        epoch = teacher.epoch
        assert epoch is not None
        behind = RedisBroker(redis.url)
        await behind.start()
        try:
            history = await behind.read_since(room.session_id, LogPosition(0, epoch))
            assert not isinstance(history, HistoryGone)
            assert [seq for seq, _ in history][-1] == saved
            model = Event.from_bytes(history[-1][1])
            over = Event(model.kind, model.ts + 5000, {**model.data, "text": "written over"})
            at = await behind.append(
                room.session_id, over.to_bytes(), after=LogPosition(saved, epoch)
            )
        finally:
            await behind.close()
        assert (at.seq, at.epoch) == (lost, epoch)  # the lost post's seq, in the same epoch

        for client in (teacher, student):
            assert await _refused_until_reset(client, "decided against the lost post") == 4009
            welcome = await client.reconnect()
            # The log's history under a new name: a position in the old one may name the lost
            # post, so it is answered with a snapshot.
            assert (welcome.resume, welcome.seq) == ("snapshot", lost)
            assert welcome.epoch != epoch
            assert welcome.session is not None
            posts = {message["id"]: message["text"] for message in welcome.session["chat"]}
            assert posts[lost] == "written over"
            assert "lost with the last second" not in posts.values()

        ack = await _chat_when_back(teacher, "after the restart")
        assert ack == lost + 1
        events = await collect_until(student, ack)
        assert _texts(events)[-1] == "after the restart"
    finally:
        redis.stop()


async def test_redis_restart_with_persistence_loses_nothing(
    own_redis: OwnRedis, server_factory: ServerFactory
) -> None:
    redis = own_redis(True)
    servers, _, clients, top = await _lesson(server_factory, redis)
    epoch = clients[0].epoch
    away = clients[3]
    await away.drop()  # its network breaks while Redis is down
    redis.kill()  # a crash: with appendfsync always, every acknowledged write is on disk
    await _wait_ready(servers, 503)
    # Longer than worker_timeout: every worker's last heartbeat in Redis is now "old".
    await asyncio.sleep(1.5)
    redis.start()
    began = time.monotonic()
    await _wait_ready(servers, 200)
    ack = await _chat_when_back(clients[0], "after the restart")
    welcome = await away.reconnect()
    print(f"resumed {time.monotonic() - began:.2f}s after Redis answered again")
    assert (welcome.resume, welcome.epoch) == ("events", epoch)
    second = seq_of(await clients[1].chat("and again"))
    for client in clients:
        events = await collect_until(client, second)
        assert [e.seq for e in events] == list(range(top + 1, second + 1))  # gap-free
        assert _texts(events) == ["after the restart", "and again"]
        assert client.close_code is None or client is away
    assert (ack, second) == (top + 1, top + 2)
    # Nobody was swept as the member of a "dead" worker (their beats in Redis were old).
    await asyncio.sleep(1.5)  # more than worker_timeout: a wrong sweep would have run by now
    marker = seq_of(await clients[0].chat("all here?"))
    kinds = [e.kind for e in await collect_until(clients[1], marker)]
    assert kinds == ["chat.posted"]
    assert all(not server.task.done() for server in servers)
