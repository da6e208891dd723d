"""A worker killed with -9 closes nothing. Its connections must be swept by the surviving
workers, and each of its participants logged as left exactly once."""

from __future__ import annotations

import asyncio
import signal

import httpx

from server.client import ClassbridgeClient
from tests.conftest import ServerFactory
from tests.helpers import collect_until, open_classroom, participant_of, seq_of, wait_event
from tests.live import API_KEY, SECRET
from tests.processes import serve, wait_healthy
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

BEAT = {"worker_heartbeat": 0.2, "worker_timeout": 1.0}


async def test_a_killed_workers_participants_are_logged_as_left_once(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    redis_server.flush()
    survivor = await server_factory(broker_url=redis_server.url, presence_grace=0.2, **BEAT)
    room = await open_classroom(survivor)
    teacher = survivor.client(room.teacher_token(0))
    await teacher.connect()
    doomed_args = ["--broker", redis_server.url, "--secret", SECRET, "--api-key", API_KEY]
    doomed_args += ["--no-demo", "--worker-heartbeat", "0.2", "--worker-timeout", "1.0"]
    async with serve(*doomed_args) as doomed:
        async with httpx.AsyncClient(base_url=doomed.url) as http:
            await wait_healthy(http)
        students = []
        for name in ("Amani", "Baraka"):
            token = await room.student_token(1, name)
            client = ClassbridgeClient(f"ws://127.0.0.1:{doomed.port}/ws", token)
            await client.connect()
            students.append(participant_of(client))
        for _ in students:
            await wait_event(teacher, "participant.joined")
        doomed.process.send_signal(signal.SIGKILL)  # no goodbye, no cleanup
        await doomed.process.wait()
        left: set[str] = set()
        async with asyncio.timeout(15):  # the bound for the sweep
            while left != set(students):
                event = await wait_event(teacher, "participant.left", timeout=15)
                left.add(event.data["participant_id"])
    await asyncio.sleep(1.5)  # more sweep rounds: nobody may log them again
    marker = await teacher.chat("who is still here?")
    later = [
        e for e in await collect_until(teacher, seq_of(marker)) if e.kind == "participant.left"
    ]
    assert later == []
