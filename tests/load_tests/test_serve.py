"""``python -m load_tests serve``: the systems started for another load generator, and its plan.

The client here is the ``websockets`` library, not the generator's own: what an independent
generator would use. It reads nothing but the plan file, joins clients with the plan's tokens
on each system, posts a chat as the plan's wire says, and checks that it reaches the session
and is acked. Then the process is asked for a CPU mark and stopped, and must take every server
it started with it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from load_tests.serve_cli import ServeConfig, validate

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # three or four servers, one after the other, on a busy CI machine
TIMEOUT = 10.0


class Serving:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output: list[str] = []

    async def read_until(self, text: str) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(TIMEOUT):
            while not any(text in line for line in self.output):
                line = await self.process.stdout.readline()
                if not line:
                    raise AssertionError(f"exited before {text!r}: {self.output}")
                self.output.append(line.decode())


@asynccontextmanager
async def serving(plan: Path, *args: str) -> AsyncIterator[tuple[Serving, dict[str, Any]]]:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "load_tests", "serve", "--plan", str(plan), *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    running = Serving(process)
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not await asyncio.to_thread(plan.exists):
                assert process.returncode is None, "serve exited before writing its plan"
                await asyncio.sleep(0.2)
        yield running, json.loads(await asyncio.to_thread(plan.read_text))
    finally:
        if process.returncode is None:  # a failed test: stop it as an operator would
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_another_client_drives_every_served_system_from_the_plan_alone(
    tmp_path: Path,
) -> None:
    plan_path = tmp_path / "plan.json"
    args = ("--systems", "memory,socketio,ceiling-raw", "--sessions", "2", "--clients", "2")
    async with serving(plan_path, *args, "--seconds", "300") as (running, plan):
        systems = {entry["name"]: entry for entry in plan["systems"]}
        assert list(systems) == ["classbridge", "socketio", "ceiling-raw"]
        assert set(plan["wires"]) == {"classbridge", "socketio"}
        for entry in plan["systems"]:
            assert len(entry["sessions"]) == 2
            assert all(len(session["tokens"]) == 2 for session in entry["sessions"])
            assert entry["pid"] is not None
            assert _alive(entry["pid"])

        await _chat_on_classbridge_wire(systems["classbridge"], check_session=True)
        await _chat_on_classbridge_wire(systems["ceiling-raw"], check_session=False)
        await _chat_on_socketio_wire(systems["socketio"])
        # Two tokens of one Classbridge session are two participants of it; a token of the
        # other session is refused when the join names this one.
        await _wrong_session_refused(systems["classbridge"])

        running.process.send_signal(signal.SIGUSR1)
        await running.read_until("over the last")
        running.process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            assert await running.process.wait() == 0
        rest = await running.process.stdout.read() if running.process.stdout else b""
        output = "".join(running.output) + rest.decode()

    final = output[output.index("from the plan to the stop") :]
    for name in systems:
        assert name in final
    for entry in plan["systems"]:
        assert not _alive(entry["pid"]), f"{entry['name']} still runs after serve stopped"


async def test_redis_systems_get_a_redis_server_each(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    args = ("--systems", "redis,ceiling-redis", "--sessions", "1", "--clients", "2")
    async with serving(plan_path, *args, "--redis-workers", "2", "--seconds", "300") as (
        running,
        plan,
    ):
        entries = plan["systems"]
        assert [entry["name"] for entry in entries] == ["cb-redis-2w", "ceiling-redis-2w"]
        redis_pids = [entry["redis_pid"] for entry in entries]
        assert None not in redis_pids
        assert len(set(redis_pids)) == 2
        assert all(entry["workers"] == 2 for entry in entries)
        await _chat_on_classbridge_wire(entries[0], check_session=True)
        running.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await running.process.wait() == 0
    for pid in redis_pids:
        assert not _alive(pid)


async def test_servers_stop_when_serve_is_killed_outright(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    args = ("--systems", "memory,redis,ceiling-raw", "--sessions", "1", "--clients", "1")
    async with serving(plan_path, *args, "--redis-workers", "1", "--seconds", "300") as (
        running,
        plan,
    ):
        pids = [entry["pid"] for entry in plan["systems"]]
        pids += [entry["redis_pid"] for entry in plan["systems"] if entry["redis_pid"]]
        assert len(pids) == 4
        assert all(_alive(pid) for pid in pids)
        running.process.kill()  # no chance to stop anything itself
        await running.process.wait()
    alive = pids
    for _ in range(150):  # up to 30 s: the Classbridge server drains before it exits
        alive = [pid for pid in alive if _alive(pid)]
        if not alive:
            break
        await asyncio.sleep(0.2)
    assert alive == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"systems": ("memory-base",)}, "systems are"),
        ({"systems": ("memory", "memory")}, "name each system once"),
        ({"seconds": 0.0}, "seconds must be"),
        ({"sessions": 100, "clients": 100}, "sessions x clients"),
        ({"redis_workers": 0}, "redis workers"),
    ],
)
def test_unbounded_or_meaningless_requests_are_refused(
    change: dict[str, Any], message: str
) -> None:
    config = ServeConfig(**change)
    with pytest.raises(ValueError, match=message):
        validate(config)


# --- an independent client: the websockets library and the plan's wires -------------------------


async def _chat_on_classbridge_wire(entry: dict[str, Any], check_session: bool) -> None:
    session = entry["sessions"][0]
    protocol = Subprotocol("classbridge.v1.json")
    assert protocol in entry["subprotocols"]
    readers = []
    for token in session["tokens"]:
        socket = await connect(entry["ws_url"], subprotocols=[protocol], open_timeout=TIMEOUT)
        join: dict[str, Any] = {"type": "join", "token": token, "id": "join"}
        if check_session:
            join["session"] = session["id"]
        await socket.send(json.dumps(join))
        reader = Reader(socket)
        assert (await reader.next_of("welcome"))["type"] == "welcome"
        readers.append(reader)
    sender = readers[0]
    text = f"hello from another generator on {entry['name']}"
    await sender.socket.send(json.dumps({"type": "chat.send", "text": text, "id": 7}))
    seqs = []
    for reader in readers:
        event = await reader.next_of("event", "chat.posted")
        assert event["data"]["text"] == text
        seqs.append(event["seq"])
    ack = await sender.next_of("ack")
    assert ack["id"] == 7
    assert ack["seq"] == seqs[0] == seqs[1]
    for reader in readers:
        await reader.socket.close()


async def _wrong_session_refused(entry: dict[str, Any]) -> None:
    first, second = entry["sessions"]
    protocol = Subprotocol("classbridge.v1.json")
    socket = await connect(entry["ws_url"], subprotocols=[protocol], open_timeout=TIMEOUT)
    join = {"type": "join", "token": second["tokens"][0], "session": first["id"], "id": "join"}
    await socket.send(json.dumps(join))
    error = await Reader(socket).next_of("error")
    assert error["code"] == "wrong_session"
    await socket.close()


class Reader:
    """A Classbridge-wire socket's messages one at a time. A frame may hold a batch (an array,
    in order): what follows the message a call wanted stays for the next call."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.unread: list[dict[str, Any]] = []

    async def next_of(self, kind: str, event_kind: str | None = None) -> dict[str, Any]:
        """The next message of type ``kind`` (and of ``event_kind``, for events), passing
        over others (participants joining)."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                while self.unread:
                    message = self.unread.pop(0)
                    if message.get("type") == kind and event_kind in (None, message.get("kind")):
                        return message
                data = json.loads(await self.socket.recv())
                self.unread.extend(data if isinstance(data, list) else [data])


async def _chat_on_socketio_wire(entry: dict[str, Any]) -> None:
    room = entry["sessions"][0]
    assert entry["subprotocols"] == []
    sockets = []
    for token in room["tokens"]:
        socket = await connect(entry["ws_url"], open_timeout=TIMEOUT)
        assert (await _next_packet(socket, "0")).startswith("0{")  # Engine.IO open
        await socket.send("40" + json.dumps({"room": token}))
        assert (await _next_packet(socket, "40")).startswith("40{")
        sockets.append(socket)
    sender = sockets[0]
    text = "hello from another generator on socketio"
    await sender.send(f'423["chat",{{"text":{json.dumps(text)}}}]')
    seqs = []
    for socket in sockets:
        name, posted = json.loads((await _next_packet(socket, "42"))[2:])
        assert name == "chat.posted"
        assert posted["text"] == text
        seqs.append(posted["seq"])
    (ack,) = json.loads((await _next_packet(sender, "433"))[3:])
    assert ack["seq"] == seqs[0] == seqs[1]
    for socket in sockets:
        await socket.close()


async def _next_packet(socket: ClientConnection, prefix: str) -> str:
    """The next packet starting with ``prefix``, answering the server's pings meanwhile."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            packet = str(await socket.recv())
            if packet == "2":
                await socket.send("3")
            elif packet.startswith(prefix):
                return packet


def _alive(pid: int) -> bool:
    """Running: neither gone nor a zombie (an orphan's exit status waits for whoever reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
