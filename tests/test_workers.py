"""`classbridge serve --workers 3` over Redis: one port, three processes, one session log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

import httpx
import pytest
from uvicorn.config import STARTUP_FAILURE

from load_tests.procstat import descendants
from server.client import ClassbridgeClient
from server.workers import own_listener
from tests.helpers import collect_until, seq_of
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


def _worker_pids(supervisor: int) -> list[int]:
    """The worker processes below ``supervisor`` (from /proc)."""
    found = []
    for pid in descendants(supervisor):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if b"spawn_main" in cmdline.read():  # not multiprocessing's resource tracker
                    found.append(pid)
        except OSError:
            continue
    return found


def _listening_sockets(port: int) -> set[str]:
    """The inodes of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    found.add(inode)
    return found


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                found.add(target[len("socket:[") : -1])
    return found


async def test_three_workers_serve_one_session_log(redis_server: RedisServer) -> None:
    redis_server.flush()
    args = ["--workers", "3", "--broker", redis_server.url, "--secret", SECRET]
    async with serve(*args, "--api-key", API_KEY, "--no-demo") as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            await wait_healthy(http)
            assert len(await _workers_seen(running.url)) >= 2  # connections are spread
            # Each worker listens on a socket of its own (SO_REUSEPORT), so the kernel shares
            # a class joining at once out among them rather than to whichever worker woke
            # first from one shared queue (server/workers.py).
            workers = _worker_pids(running.process.pid)
            assert len(workers) == 3
            listening = _listening_sockets(running.port)
            assert len(listening) == 3
            assert all(len(_socket_inodes(pid) & listening) == 1 for pid in workers)
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
            top = max(seq_of(ack) for ack in acks)
            orders = []
            for client in clients:
                events = await collect_until(client, top)
                orders.append([e.seq for e in events if e.kind == "chat.posted"])
            assert orders[0] == sorted(seq_of(ack) for ack in acks)
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


def test_a_worker_that_cannot_listen_ends_as_a_failed_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn's supervisor stops on that exit status rather than restarting the worker."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as exited:
            own_listener(socket.AF_INET, taken.getsockname())
    assert exited.value.code == STARTUP_FAILURE
    assert "a worker cannot listen on" in capsys.readouterr().err
