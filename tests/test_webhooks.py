"""Webhooks over real servers: a receiving HTTP server checks each notice's signature, fails the
first tries to exercise the retries, and sees each notice accepted exactly once, also when the
session's members are on two servers sharing one Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.cli import listen
from server.webhooks.signing import SIGNATURE_HEADER, verify
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, participant_of, two_servers_on_redis
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

WEBHOOK_SECRET = "whsec-test-0123456789abcdef"
FAILURES = 2  # each notice is answered 500 this many times before it is accepted
WAIT = 15.0


@dataclass
class Receiver:
    """An operator's endpoint: verifies, fails the first tries, records what it accepted."""

    url: str = ""
    tries: Counter[str] = field(default_factory=Counter)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def hook(self, request: Request) -> Response:
        try:
            return await self._answer(request)
        finally:
            self.arrived.set()  # once recorded: a waiter looks at the outcome

    async def _answer(self, request: Request) -> Response:
        body = await request.body()
        if not verify(WEBHOOK_SECRET, body, request.headers.get(SIGNATURE_HEADER, ""), time.time()):
            self.bad_signatures += 1
            return JSONResponse({"error": "bad signature"}, status_code=400)
        notice = json.loads(body)
        self.tries[notice["id"]] += 1
        if self.tries[notice["id"]] <= FAILURES:
            return JSONResponse({"error": "try later"}, status_code=500)
        self.accepted.append(notice)
        return JSONResponse({"ok": True})

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [notice for notice in self.accepted if notice["type"] == kind]

    async def wait_for(self, count: int, kind: str) -> list[dict[str, Any]]:
        async with asyncio.timeout(WAIT):
            while len(self.of_type(kind)) < count:
                await self.next_arrival()
        return self.of_type(kind)

    async def next_arrival(self) -> None:
        self.arrived.clear()
        await self.arrived.wait()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = Starlette(routes=[Route("/hooks", found.hook, methods=["POST"])])
    sock = listen("127.0.0.1", 0)  # Nagle off, as for the server (see its docstring)
    found.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield found
    server.should_exit = True
    await task


async def test_each_notice_arrives_once_signed_after_retries_from_two_servers(
    server_factory: ServerFactory, redis_server: RedisServer, receiver: Receiver
) -> None:
    hooks = {"webhook_url": receiver.url, "webhook_secret": WEBHOOK_SECRET}
    first, second = await two_servers_on_redis(
        server_factory, redis_server, presence_grace=0.2, **hooks
    )
    room = await open_classroom(first)
    teacher = first.client(room.teacher_token(0))
    await teacher.connect()
    student = second.client(await room.student_token(1, "Amani"))
    await student.connect()
    amani = participant_of(student)
    await student.close()  # on the second server: its grace ends there, "left" is sent there

    [left] = await receiver.wait_for(1, "participant.left")
    assert left["data"] == {"participant_id": amani, "reason": "disconnected"}
    await teacher.command({"type": "session.end"})
    [ended] = await receiver.wait_for(1, "session.ended")
    assert ended["data"] == {"by": participant_of(teacher)}
    await asyncio.sleep(1.5)  # a duplicate from either server would have come by now

    ids = [notice["id"] for notice in receiver.accepted]
    assert len(ids) == len(set(ids))  # each accepted once
    assert all(tries == FAILURES + 1 for tries in receiver.tries.values())  # retried, then done
    assert receiver.bad_signatures == 0
    kinds = Counter(notice["type"] for notice in receiver.accepted)
    assert kinds == {
        "session.started": 1,
        "participant.joined": 2,
        "participant.left": 1,
        "session.ended": 1,
    }
    [started] = receiver.of_type("session.started")
    assert started["session_id"] == room.session_id
    assert started["data"]["first_participant"] == participant_of(teacher)
    joined = [
        notice["data"]["participant"]["id"] for notice in receiver.of_type("participant.joined")
    ]
    assert sorted(joined) == sorted([participant_of(teacher), amani])


async def test_a_receiver_that_refuses_the_signature_is_not_retried(
    server_factory: ServerFactory, receiver: Receiver
) -> None:
    server = await server_factory(
        webhook_url=receiver.url, webhook_secret="another-secret-0123456789"
    )
    room = await open_classroom(server)
    await server.client(room.teacher_token(0)).connect()
    async with asyncio.timeout(WAIT):
        while receiver.bad_signatures < 2:  # session.started and participant.joined
            await receiver.next_arrival()
    await asyncio.sleep(1.0)  # a retry (the first comes after 0.25-0.5 s) would show here
    assert receiver.bad_signatures == 2
    assert receiver.accepted == []
