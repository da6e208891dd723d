"""`classbridge serve --workers 3` over Redis: one port, three processes, one session log."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from load_tests.procstat import descendants
from server.client import ClassbridgeClient
from server.workers import SINGLE_ACCEPT_ENV
from tests.helpers import collect_until
from tests.live import API_KEY, SECRET, TWO_CLASSES
from tests.processes import serve, wait_healthy
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]


async def _workers_seen(url: str, samples: int = 30) -> set[str]:
    seen = set()
    for _ in range(samples):
        async with httpx.AsyncClient(base_url=url) as http:  # a new connection each time
            seen.add((await http.get("/healthz")).json()["worker"])
    return seen


def _worker_environments(supervisor: int) -> list[dict[str, str]]:
    """The environment of each worker process below ``supervisor`` (from /proc)."""
    found = []
    for pid in descendants(supervisor):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"spawn_main" not in cmdline.read():
                    continue  # the supervisor itself, or multiprocessing's resource tracker
            with open(f"/proc/{pid}/environ", "rb") as environ:
                pairs = environ.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        found.append(dict(pair.split("=", 1) for pair in pairs if "=" in pair))
    return found


async def test_three_workers_serve_one_session_log(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.flush()
    monkeypatch.delenv(SINGLE_ACCEPT_ENV, raising=False)  # what serve sets, not what we had
    args = ["--workers", "3", "--broker", redis_server.url, "--secret", SECRET]
    async with serve(*args, "--api-key", API_KEY, "--no-demo") as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            await wait_healthy(http)
            assert len(await _workers_seen(running.url)) >= 2  # connections are spread
            # Each worker yields after every accept, so a class joining at once is shared
            # out rather than taken by whichever worker woke first (server/workers.py).
            workers = _worker_environments(running.process.pid)
            assert len(workers) == 3
            assert all(env.get(SINGLE_ACCEPT_ENV) == "1" for env in workers)
            headers = {"authorization": f"Bearer {API_KEY}"}
            sessions = [
                (await http.post("/api/sessions", json=body, headers=headers)).json()
                for body in ({"title": "A", "classes": TWO_CLASSES},) * 2
            ]
            tokens = []
            for created in sessions:
                code = created["classes"][1]["join_code"]
                students = [
                    (await http.post("/api/join", json={"code": code, "name": f"S{n}"})).json()
                    for n in range(3)
                ]
                tokens.append(
                    [created["classes"][0]["teacher_token"]] + [s["token"] for s in students]
                )
        ws_url = f"ws://127.0.0.1:{running.port}/ws"
        for session_tokens in tokens:
            clients = [ClassbridgeClient(ws_url, token) for token in session_tokens]
            for client in clients:
                await client.connect()
            acks = await asyncio.gather(*(c.chat(f"hello {n}") for n, c in enumerate(clients)))
            top = max(ack.seq for ack in acks)
            orders = []
            for client in clients:
                events = await collect_until(client, top)
                orders.append([e.seq for e in events if e.kind == "chat.posted"])
            assert orders[0] == sorted(ack.seq for ack in acks)
            assert all(order == orders[0] for order in orders)  # one log, one order
            # Presence agrees: a second tab (on whichever worker) sees all four present.
            second_tab = ClassbridgeClient(ws_url, session_tokens[1])
            welcome = await second_tab.connect()
            assert welcome.session is not None
            present = [
                p["id"]
                for c in welcome.session["classes"]
                for p in c["participants"]
                if p["present"]
            ]
            assert len(present) == 4
            await second_tab.close()
            for client in clients:
                await client.close()
        running.process.terminate()  # SIGTERM: a graceful stop of all workers
        assert await asyncio.wait_for(running.process.wait(), 15) == 0


async def test_several_workers_need_a_shared_broker() -> None:
    with pytest.raises(AssertionError, match="exited"):
        async with serve("--workers", "2"):
            pass
