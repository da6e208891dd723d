"""A client reset by one worker (4009: Redis lost the session's history) that resumes on another
worker which has not noticed the loss yet.

The second worker must not answer from its replica of the lost history: it would hand out a
snapshot in the dead epoch, then reset the same client a second time once it notices. It
catches up with the new epoch first, so the client gets the new history's snapshot at once.
(Seen in the chaos run of load_tests: a few clients were reset twice by one Redis restart.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from server.client import ClassbridgeClient
from tests.conftest import ServerFactory
from tests.helpers import collect_until, open_classroom
from tests.redis_server import RedisServer, redis_executable

WAIT = 20.0
COMMON: dict[str, Any] = {
    "presence_grace": 30.0,
    "chat_per_second": 1000.0,
    "chat_burst": 1000,
    "worker_heartbeat": 0.2,
    "worker_timeout": 1.0,
}


@pytest.fixture
def volatile_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own that keeps nothing across a restart."""
    server = RedisServer(redis_executable())
    yield server
    server.stop()


async def _texts_until_delivered(
    sender: ClassbridgeClient, receiver: ClassbridgeClient
) -> list[str]:
    """The slow worker's pub/sub may still be reconnecting (with backoff) after the restart,
    and it would notice a missed last event only at its next check, a minute away: chat until
    one gets through (a gap is then read from the history), and return what arrived."""
    texts: list[str] = []
    ack = (await sender.chat("after")).seq or 0
    for n in range(100):
        with contextlib.suppress(TimeoutError):
            while (receiver.last_seq or 0) < ack or not receiver.events.empty():
                event = await receiver.next_event("chat.posted", timeout=0.3)
                texts.append(event.data["text"])
            return texts
        ack = (await sender.chat(f"nudge {n}")).seq or 0
    raise AssertionError("no event reached the resumed client")


async def test_a_resume_on_a_worker_behind_gets_the_new_epoch_at_once(
    volatile_redis: RedisServer, server_factory: ServerFactory
) -> None:
    # The first worker checks its replicas often; the second would not look for a minute.
    quick = await server_factory(broker_url=volatile_redis.url, repair_interval=0.2, **COMMON)
    slow = await server_factory(broker_url=volatile_redis.url, repair_interval=60.0, **COMMON)
    room = await open_classroom(quick)
    teacher = quick.client(room.teacher_token(0))
    moving_token = await room.student_token(0, "Moving")
    moving = quick.client(moving_token)
    staying = slow.client(await room.student_token(1, "Staying"))  # the slow worker's replica
    clients = [teacher, moving, staying]
    for client in clients:
        await client.connect()
    top = (await teacher.chat("before")).seq or 0
    for client in clients:
        await collect_until(client, top)
    old_epoch = teacher.epoch

    volatile_redis.stop()  # everything in Redis is gone
    volatile_redis.start()
    # The quick worker re-seeds the log in a new epoch and resets its clients.
    assert await teacher.wait_closed(WAIT) == 4009
    assert await moving.wait_closed(WAIT) == 4009
    new_epoch = (await teacher.reconnect()).epoch
    assert new_epoch != old_epoch

    # The moving student's resume lands on the slow worker, as a balancer may send it.
    elsewhere = slow.client(moving_token)
    elsewhere.last_seq, elsewhere.epoch = moving.last_seq, moving.epoch
    welcome = await elsewhere.connect()

    assert (welcome.resume, welcome.epoch) == ("snapshot", new_epoch)
    assert welcome.session is not None
    assert [m["text"] for m in welcome.session["chat"]] == ["before"]
    # It stays: no second reset. (Its worker's older connections were reset on the way.)
    assert await staying.wait_closed(WAIT) == 4009
    texts = await _texts_until_delivered(teacher, elsewhere)
    assert texts[0] == "after"  # in order, each once, after the snapshot
    assert len(texts) == len(set(texts))
    await asyncio.sleep(0.5)
    assert elsewhere.close_code is None
    for client in (teacher, elsewhere):
        await client.close()
