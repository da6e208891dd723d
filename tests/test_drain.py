"""SIGTERM drains a real `classbridge serve` process (server/drain.py): its clients get every
event already sent, then close 1012 "draining"; new work is refused meanwhile; the process
exits; and a client that resumes on another server over the same Redis loses nothing and is
never logged as having left."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.client import ClassbridgeClient
from server.drain import drain
from tests.conftest import ServerFactory
from tests.helpers import collect_until, open_classroom, participant_of, seq_of
from tests.live import API_KEY, SECRET, TWO_CLASSES
from tests.processes import Running, serve, wait_healthy
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

pytestmark = pytest.mark.slow

OPERATOR = {"authorization": f"Bearer {API_KEY}"}
EXIT = 20.0  # the drain's bound (10 s by default) plus the ordinary shutdown, with room to spare
COMMON = ("--secret", SECRET, "--api-key", API_KEY, "--no-demo", "--chat-burst", "100")


def ws_url(running: Running) -> str:
    return f"ws://127.0.0.1:{running.port}/ws"


async def create_session(http: httpx.AsyncClient) -> dict[str, Any]:
    body = {"title": "Rivers", "classes": TWO_CLASSES}
    response = await http.post("/api/sessions", json=body, headers=OPERATOR)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def student_token(http: httpx.AsyncClient, created: dict[str, Any], name: str) -> str:
    code = created["classes"][1]["join_code"]
    response = await http.post("/api/join", json={"code": code, "name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def chat_seqs(events: list[Any]) -> list[int]:
    return [event.seq for event in events if event.kind == "chat.posted"]


async def test_sigterm_closes_with_1012_after_every_queued_event_and_refuses_new_work() -> None:
    # A grace long enough that the drain is still waiting for it while the refusals are checked.
    async with serve(*COMMON, "--presence-grace", "3") as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            await wait_healthy(http)
            created = await create_session(http)
            token = await student_token(http, created, "Inês")
            teacher = ClassbridgeClient(ws_url(running), created["classes"][0]["teacher_token"])
            student = ClassbridgeClient(ws_url(running), token)
            await teacher.connect()
            await student.connect()
            # Acked means applied and queued for the student, who has not read them all yet.
            acks = [await teacher.chat(f"line {n}") for n in range(40)]

            running.process.send_signal(signal.SIGTERM)
            assert await student.wait_closed(EXIT) == 1012
            assert student.close_reason == "draining"
            assert chat_seqs(student.drain_events()) == [ack.seq for ack in acks]

            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json() == {"status": "not_ready", "reason": "draining"}
            refused = await http.post(
                "/api/sessions", json={"title": "Late", "classes": TWO_CLASSES}, headers=OPERATOR
            )
            assert refused.status_code == 503
            assert refused.json()["code"] == "draining"
            late = ClassbridgeClient(ws_url(running), token)
            # Refused at its join (error `draining`), or closed even before it if it came
            # while the drain was still closing connections: 1012 "draining" either way.
            with pytest.raises((ConnectionError, ConnectionClosed)):
                await late.connect()
            assert await late.wait_closed(EXIT) == 1012
            assert late.close_reason == "draining"

        assert await asyncio.wait_for(running.process.wait(), EXIT) in (0, -signal.SIGTERM)
        assert any("drained" in line for line in running.stderr)


async def test_a_drained_client_resumes_on_the_other_server_and_never_leaves(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    args = (*COMMON, "--broker", redis_server.url, "--presence-grace", "2")
    async with serve(*args) as stopping, serve(*args) as staying:
        async with httpx.AsyncClient(base_url=staying.url) as http:
            await wait_healthy(http)
            created = await create_session(http)
            token = await student_token(http, created, "Amani")
            gone_token = await student_token(http, created, "Baraka")
        async with httpx.AsyncClient(base_url=stopping.url) as http:
            await wait_healthy(http)
        teacher = ClassbridgeClient(ws_url(staying), created["classes"][0]["teacher_token"])
        student = ClassbridgeClient(ws_url(stopping), token)
        gone = ClassbridgeClient(ws_url(stopping), gone_token)  # never comes back
        await teacher.connect()
        await student.connect()
        await gone.connect()
        amani, baraka = participant_of(student), participant_of(gone)
        before = [await teacher.chat(f"before {n}") for n in range(20)]

        stopping.process.send_signal(signal.SIGTERM)
        assert await student.wait_closed(EXIT) == 1012
        assert student.close_reason == "draining"
        seen = chat_seqs(student.drain_events())
        assert seen == [ack.seq for ack in before]
        during = [await teacher.chat(f"while away {n}") for n in range(5)]

        # What a load balancer does with the reconnect: another worker takes it.
        student.url = ws_url(staying)
        welcome = await student.connect(resume=True)
        assert welcome.resume == "events"
        seen += chat_seqs(await collect_until(student, seq_of(during[-1])))
        assert seen == [ack.seq for ack in before + during]  # nothing lost, nothing twice

        # The drained server waits for its participants' grace periods, or sees them back.
        assert await asyncio.wait_for(stopping.process.wait(), EXIT) in (0, -signal.SIGTERM)
        marker = await teacher.chat("still here?")
        kinds = [
            (event.kind, event.data.get("participant_id"))
            for event in await collect_until(teacher, seq_of(marker))
        ]
        assert ("participant.left", amani) not in kinds
        # The one who did not come back within the grace period has left, logged once.
        assert kinds.count(("participant.left", baraka)) == 1
        await student.close()
        await teacher.close()


async def test_sigterm_to_the_supervisor_drains_every_worker(redis_server: RedisServer) -> None:
    redis_server.flush()
    async with serve(*COMMON, "--broker", redis_server.url, "--workers", "2") as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            await wait_healthy(http)
            created = await create_session(http)
            tokens = [await student_token(http, created, f"S{n}") for n in range(4)]
        clients = [ClassbridgeClient(ws_url(running), token) for token in tokens]
        for client in clients:
            await client.connect()
        running.process.send_signal(signal.SIGTERM)
        for client in clients:
            assert await client.wait_closed(EXIT) == 1012
            assert client.close_reason == "draining"
        assert await asyncio.wait_for(running.process.wait(), EXIT) == 0


async def _worker_ids(url: str, samples: int = 20) -> set[str]:
    seen = set()
    for _ in range(samples):
        async with httpx.AsyncClient(base_url=url) as http:  # a new connection each time
            try:
                seen.add((await http.get("/healthz")).json()["worker"])
            except httpx.TransportError:  # a worker that was just exiting took it
                continue
    return seen


async def _stay_connected(client: ClassbridgeClient, done: asyncio.Event) -> int:
    """Follow the client through its worker's drains (resuming each time) until ``done``."""
    drains = 0
    while True:
        closed = asyncio.ensure_future(client.wait_closed(EXIT * 3))
        finished = asyncio.ensure_future(done.wait())
        await asyncio.wait([closed, finished], return_when=asyncio.FIRST_COMPLETED)
        if not closed.done():
            closed.cancel()
            return drains
        finished.cancel()
        assert (closed.result(), client.close_reason) == (1012, "draining")
        drains += 1
        for _ in range(40):  # the port may give the reconnect to the draining worker again
            try:
                welcome = await client.connect(resume=True)
                break
            except (OSError, ConnectionClosed):  # refused: that worker is draining too
                await asyncio.sleep(0.25)
        assert welcome.resume == "events"


async def test_sighup_replaces_the_workers_one_by_one_and_clients_resume(
    redis_server: RedisServer,
) -> None:
    """uvicorn's supervisor restarts its workers on SIGHUP, starting each replacement before
    it stops the old one with SIGTERM: with the drain, a rolling restart on one host."""
    redis_server.flush()
    # The default grace: a client may need several tries to reach a worker that is not draining,
    # and it must be back before its grace ends to count as never having left.
    args = (*COMMON, "--broker", redis_server.url, "--workers", "2", "--presence-grace", "5")
    async with serve(*args) as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            await wait_healthy(http)
            created = await create_session(http)
            tokens = [await student_token(http, created, f"S{n}") for n in range(4)]
        old = await _worker_ids(running.url)
        clients = [ClassbridgeClient(ws_url(running), token) for token in tokens]
        for client in clients:
            await client.connect()
        done = asyncio.Event()
        staying = [asyncio.create_task(_stay_connected(c, done)) for c in clients]

        running.process.send_signal(signal.SIGHUP)
        async with asyncio.timeout(EXIT * 4):
            while True:  # until no old worker answers any more
                if not (await _worker_ids(running.url)) & old:
                    break
                await asyncio.sleep(0.2)
        done.set()
        assert all(drains >= 1 for drains in await asyncio.gather(*staying))

        marker = await clients[0].chat("after the restart")
        events = await collect_until(clients[0], seq_of(marker))
        seqs = [event.seq for event in events]
        assert seqs == sorted(set(seqs))  # no event twice, none out of order
        assert "participant.left" not in [event.kind for event in events]
        for client in clients:
            await client.close()


async def test_after_a_drain_a_join_gets_the_error_draining_then_1012(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(presence_grace=0.1)
    room = await open_classroom(server)
    await drain(server.services)  # what SIGTERM runs first
    client = server.client(room.teacher_token(0))
    with pytest.raises(ConnectionError, match=r"close 1012 draining \(draining\)"):
        await client.connect()  # the join's error reply, then the close
    refused = await server.http.post(
        "/api/sessions", json={"title": "Late", "classes": TWO_CLASSES}, headers=OPERATOR
    )
    assert (refused.status_code, refused.json()["code"]) == (503, "draining")
