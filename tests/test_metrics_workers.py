"""With several worker processes, one scrape of any of them reports the whole server.

``--workers N`` gives its workers one metrics folder (server/workers.py); two ``serve``
processes given the same ``PROMETHEUS_MULTIPROC_DIR`` add up the same way, which lets a test
choose which process each client reaches.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.client import ClassbridgeClient
from tests.live import API_KEY, SECRET, TWO_CLASSES
from tests.processes import Running, serve, wait_healthy
from tests.redis_server import RedisServer, redis_server
from tests.test_metrics import Figures, parse, value

__all__ = ["redis_server"]

HEADERS = {"authorization": f"Bearer {API_KEY}"}


async def _scrape(url: str) -> Figures:
    async with httpx.AsyncClient(base_url=url) as http:  # a new connection: any worker answers
        response = await http.get("/metrics")
        assert response.status_code == 200, response.text
        return parse(response.text)


async def _session_tokens(url: str, students: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url) as http:
        await wait_healthy(http)
        body: dict[str, Any] = {"title": "Metrics", "classes": TWO_CLASSES}
        created = (await http.post("/api/sessions", json=body, headers=HEADERS)).json()
        code = created["classes"][1]["join_code"]
        tokens = [created["classes"][0]["teacher_token"]]
        for n in range(students):
            joined = await http.post("/api/join", json={"code": code, "name": f"S{n}"})
            tokens.append(joined.json()["token"])
        return tokens


async def _connect(running: Running, tokens: list[str]) -> list[ClassbridgeClient]:
    clients = [ClassbridgeClient(f"ws://127.0.0.1:{running.port}/ws", t) for t in tokens]
    for client in clients:
        await client.connect()
    return clients


@pytest.mark.slow
async def test_any_worker_reports_every_workers_figures(redis_server: RedisServer) -> None:
    redis_server.flush()
    args = ["--workers", "2", "--broker", redis_server.url, "--secret", SECRET]
    async with serve(*args, "--api-key", API_KEY, "--no-demo") as running:
        clients = await _connect(running, await _session_tokens(running.url, students=5))
        await clients[0].chat("hello")
        for _ in range(8):
            figures = await _scrape(running.url)
            assert value(figures, "classbridge_connections_open") == 6
            assert value(figures, "classbridge_join_seconds_count", outcome="ok") == 6
            chat = value(figures, "classbridge_events_appended_total", family="chat")
            assert chat == 1
        for client in clients:
            await client.close()


@pytest.mark.slow
async def test_two_processes_sharing_a_folder_add_up(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.flush()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    args = ["--broker", redis_server.url, "--secret", SECRET, "--api-key", API_KEY, "--no-demo"]
    async with serve(*args) as first, serve(*args) as second:
        tokens = await _session_tokens(first.url, students=4)
        async with httpx.AsyncClient(base_url=second.url) as http:
            await wait_healthy(http)
        on_first = await _connect(first, tokens[:2])
        on_second = await _connect(second, tokens[2:])
        for running in (first, second):
            figures = await _scrape(running.url)
            assert value(figures, "classbridge_connections_open") == 5
            assert value(figures, "classbridge_sessions_loaded") == 2  # one replica each
        # A process that dies without a word: its connections no longer count.
        os.kill(second.process.pid, signal.SIGKILL)
        await second.process.wait()
        figures = await _scrape(first.url)
        assert value(figures, "classbridge_connections_open") == 2
        assert value(figures, "classbridge_sessions_loaded") == 1
        # Its counters stay: 5 joins were made, whoever made them.
        assert value(figures, "classbridge_join_seconds_count", outcome="ok") == 5
        for client in on_first + on_second:
            await client.close()
