"""`kill -9` of one of three workers in the middle of a chat exchange.

Every client that stayed, or reconnected and resumed, must end with the same gap-free run of
events: none lost, none twice. A participant of the dead worker who does not come back is
logged as left exactly once (by the sweep); one who is back before the sweep is never logged
as left (nor joined again): the sweep finds its new connection. uvicorn's supervisor starts a
new worker in place of the dead one; the test holds whether it does or not.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from server.client import ClassbridgeClient, ClientError
from server.protocol.messages import EventMessage
from tests.helpers import collect_until, participant_of, seq_of
from tests.live import API_KEY, SECRET, TWO_CLASSES
from tests.processes import serve, wait_healthy
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

POSTS = 25  # chat posts per client
MAX_CLIENTS = 12
LIMITS = ["--chat-per-second", "1000", "--chat-burst", "1000"]
LIMITS += ["--messages-per-second", "1000", "--messages-burst", "1000"]
LIMITS += ["--joins-per-minute", "100000", "--joins-burst", "1000"]
BEAT = ["--worker-heartbeat", "0.3", "--worker-timeout", "3"]
LOST = (ConnectionError, ConnectionClosed, TimeoutError, OSError, ClientError)


# --- which worker holds which connection: /proc, no dependencies ------------------------------


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _accepted_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of the TCP connection from ``client_port``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if (int(local, 16), int(remote, 16)) == (server_port, client_port):
                return int(fields[9])
    return None


def _worker_of(parent: int, server_port: int, client: ClassbridgeClient) -> int | None:
    assert client._ws is not None  # the test looks under the client's hood, read-only
    inode = _accepted_inode(server_port, client._ws.local_address[1])
    return next((pid for pid in _children(parent) if inode in _socket_inodes(pid)), None)


# --- a chatting participant --------------------------------------------------------------------


@dataclass
class Chatter:
    client: ClassbridgeClient
    name: str
    comes_back: bool = True
    start_seq: int = 0  # the first welcome's seq: events above it are this client's to get
    acked: list[str] = field(default_factory=list)
    unsure: list[str] = field(default_factory=list)  # sent when the connection broke
    gone: bool = False
    events: list[EventMessage] = field(default_factory=list)
    back_after: float | None = None  # seconds from the kill to the resumed welcome

    async def chat(self, posts: int, killed: asyncio.Event, kill_time: list[float]) -> None:
        for n in range(posts):
            text = f"{self.name} #{n}"
            try:
                await self.client.chat(text)
                self.acked.append(text)
            except LOST:
                self.unsure.append(text)
                if not self.comes_back:
                    self.gone = True
                    return
                await killed.wait()
                await self._reconnect()
                self.back_after = time.monotonic() - kill_time[0]
            await asyncio.sleep(0.01)

    async def _reconnect(self) -> None:
        for attempt in range(30):
            try:
                welcome = await self.client.reconnect()
                assert welcome.resume == "events", welcome.resume
                return
            except (*LOST, InvalidHandshake):
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
        raise AssertionError(f"{self.name} never got back")


async def _session(url: str) -> list[str]:
    """A session of two classes; tokens of both teachers, then of students, alternately."""
    async with httpx.AsyncClient(base_url=url) as http:
        await wait_healthy(http)
        headers = {"authorization": f"Bearer {API_KEY}"}
        body = {"title": "Chaos", "classes": TWO_CLASSES}
        created = (await http.post("/api/sessions", json=body, headers=headers)).json()
        tokens = [c["teacher_token"] for c in created["classes"]]
        minting = f"/api/sessions/{created['session_id']}/tokens"
        for n in range(MAX_CLIENTS - 2):
            class_id = created["classes"][n % 2]["id"]
            body = {"role": "student", "class_id": class_id, "name": f"S{n}"}
            minted = await http.post(minting, json=body, headers=headers)
            tokens.append(minted.json()["token"])
        return tokens


async def _spread(running_pid: int, port: int, tokens: list[str]) -> dict[int, list[Chatter]]:
    """Connect clients until one worker holds at least two and another at least one."""
    by_worker: dict[int, list[Chatter]] = {}
    for n, token in enumerate(tokens):
        client = ClassbridgeClient(f"ws://127.0.0.1:{port}/ws", token)
        await client.connect()
        assert client.welcome is not None
        chatter = Chatter(client, f"P{n}", start_seq=client.welcome.seq)
        worker = _worker_of(running_pid, port, client)
        assert worker is not None, "no worker holds the connection"
        by_worker.setdefault(worker, []).append(chatter)
        sizes = sorted(len(c) for c in by_worker.values())
        if n >= 5 and len(sizes) >= 2 and sizes[-1] >= 2:
            break
    return by_worker


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    """Poll ``condition`` (bounded in time)."""
    async with asyncio.timeout(timeout):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


def _received(chatter: Chatter) -> list[EventMessage]:
    chatter.events.extend(chatter.client.drain_events())
    return chatter.events


async def _chat_and_kill(chatters: list[Chatter], victim: int) -> float:
    """Everyone chats; once each has a few posts in, the victim worker gets SIGKILL."""
    killed, kill_time = asyncio.Event(), [0.0]
    tasks = [asyncio.create_task(c.chat(POSTS, killed, kill_time)) for c in chatters]
    await _until(lambda: sum(len(c.acked) for c in chatters) >= 5 * len(chatters), 30)
    os.kill(victim, signal.SIGKILL)  # the worker only: the parent and the others live on
    kill_time[0] = time.monotonic()
    killed.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return kill_time[0]


def _check_one_history(stayers: list[Chatter], marker: int) -> dict[int, EventMessage]:
    """Each client got every event above its first welcome once, in order; all agree."""
    log: dict[int, EventMessage] = {}
    for chatter in stayers:
        seqs = [e.seq for e in chatter.events]
        assert seqs == list(range(chatter.start_seq + 1, marker + 1)), chatter.name
        for event in chatter.events:
            first = log.setdefault(event.seq, event)
            assert (first.kind, first.ts, first.data) == (event.kind, event.ts, event.data)
    return log


async def test_kill_9_of_a_worker_mid_chat_loses_nothing(redis_server: RedisServer) -> None:
    redis_server.flush()
    args = ["--workers", "3", "--broker", redis_server.url, "--secret", SECRET]
    args += ["--api-key", API_KEY, "--no-demo", *BEAT, *LIMITS]
    async with serve(*args) as running:
        tokens = await _session(running.url)
        by_worker = await _spread(running.process.pid, running.port, tokens)
        victim = max(by_worker, key=lambda worker: len(by_worker[worker]))
        gone = by_worker[victim][0]
        gone.comes_back = False
        chatters = [c for held in by_worker.values() for c in held]
        kill_time = await _chat_and_kill(chatters, victim)
        stayers = [c for c in chatters if c is not gone]
        assert gone.gone
        assert all(not c.gone for c in stayers)
        # The sweep: worker_timeout 3 s, heartbeat 0.3 s.
        await _until(lambda: any(e.kind == "participant.left" for e in _received(stayers[0])), 20)
        swept_after = time.monotonic() - kill_time
        await asyncio.sleep(1.0)  # three more sweep rounds: a second "left" would show
        marker = seq_of(await stayers[0].client.chat("the end"))
        for chatter in stayers:
            _received(chatter)
            chatter.events.extend(await collect_until(chatter.client, marker))
        restarted = len(_children(running.process.pid)) >= 3
        # Closed before the workers stop: one still holding connections waits 10 s for them,
        # longer than `serve` waits for the parent, whose orphaned workers would hold its pipes.
        for chatter in stayers:
            await chatter.client.close()
    log = _check_one_history(stayers, marker)
    posted = Counter(e.data["text"] for e in log.values() if e.kind == "chat.posted")
    for chatter in chatters:
        assert all(posted[text] == 1 for text in chatter.acked), chatter.name
        assert all(posted[text] <= 1 for text in chatter.unsure), chatter.name
    left = Counter(e.data["participant_id"] for e in log.values() if e.kind == "participant.left")
    assert left == {participant_of(gone.client): 1}
    joined = Counter(
        e.data["participant"]["id"] for e in log.values() if e.kind == "participant.joined"
    )
    assert all(count == 1 for count in joined.values())  # nobody came back as a new join
    back = [c.back_after for c in by_worker[victim] if c.back_after is not None]
    print(
        f"clients: {len(chatters)} on {len(by_worker)} workers, {len(by_worker[victim])} on "
        f"the killed one; back after {max(back, default=0):.2f}s; left logged after "
        f"{swept_after:.2f}s; worker restarted by uvicorn: {restarted}"
    )
