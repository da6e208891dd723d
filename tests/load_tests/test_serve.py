"""``python -m load_tests serve``: the systems started for another load generator, and its plan.

The client here is the ``websockets`` library, not the generator's own: what an independent
generator would use. It reads nothing but the plan file: it builds its join and post messages
from the plan's wire templates, joins clients with the plan's tokens on each system, posts a
chat and checks that it reaches the session and is acked. Then the process is asked for a CPU
mark and stopped, and must take every server it started with it, however it is stopped.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from load_tests.plan_drive import fill_template
from load_tests.procstat import descendants
from load_tests.serve_cli import ServeConfig, validate
from tests.load_tests.serving import (
    START_TIMEOUT,
    STOP_TIMEOUT,
    TIMEOUT,
    serving,
    start_serve,
    stop_serve,
)
from tests.tools import required_tool

CPU_ROW = r"^  {name} +\d+\.\d\d s   peak RSS +\d+\.\d MB$"


async def test_another_client_drives_every_served_system_from_the_plan_alone(
    tmp_path: Path,
) -> None:
    plan_path = tmp_path / "plan.json"
    args = ("--systems", "memory,socketio,ceiling-raw", "--sessions", "2", "--clients", "2")
    async with serving(plan_path, *args) as (running, plan):
        # At once: a generator may ask for a mark the moment the plan is there.
        running.process.send_signal(signal.SIGUSR1)
        await running.read_until("over the last")
        systems = {entry["name"]: entry for entry in plan["systems"]}
        assert list(systems) == ["classbridge", "socketio", "ceiling-raw"]
        assert set(plan["wires"]) == {"classbridge", "socketio"}
        for entry in plan["systems"]:
            assert len(entry["sessions"]) == 2
            assert all(len(session["tokens"]) == 2 for session in entry["sessions"])
            assert _alive(entry["pid"])

        wires = plan["wires"]
        await _chat_on_classbridge_wire(wires["classbridge"], systems["classbridge"], True)
        await _chat_on_classbridge_wire(wires["classbridge"], systems["ceiling-raw"], False)
        await _chat_on_socketio_wire(wires["socketio"], systems["socketio"])
        # Two tokens of one Classbridge session are two participants of it; a token of the
        # other session is refused when the join names this one.
        await _wrong_session_refused(wires["classbridge"], systems["classbridge"])

        running.process.send_signal(signal.SIGINT)
        status, output = await running.exit_status_and_output()

    assert status == 0, output
    assert not await asyncio.to_thread(plan_path.exists)  # its servers are gone
    final = output[output.index("from the plan to the stop") :]
    for name in systems:  # a figure for each, not "unreadable"
        assert re.search(CPU_ROW.format(name=re.escape(name)), final, re.MULTILINE), final
    for entry in plan["systems"]:
        assert not _alive(entry["pid"]), f"{entry['name']} still runs after serve stopped"


@pytest.mark.slow
async def test_redis_systems_get_a_redis_server_each(tmp_path: Path) -> None:
    required_tool("redis-server")
    plan_path = tmp_path / "plan.json"
    args = ("--systems", "redis,ceiling-redis", "--sessions", "1", "--clients", "2")
    async with serving(plan_path, *args, "--redis-workers", "2") as (running, plan):
        entries = plan["systems"]
        assert [entry["name"] for entry in entries] == ["cb-redis-2w", "ceiling-redis-2w"]
        redis_pids = [entry["redis_pid"] for entry in entries]
        assert None not in redis_pids
        assert len(set(redis_pids)) == 2
        assert all(entry["workers"] == 2 for entry in entries)
        for entry in entries:
            await _chat_on_classbridge_wire(plan["wires"]["classbridge"], entry, False)
        running.process.send_signal(signal.SIGTERM)
        status, output = await running.exit_status_and_output()
    assert status == 0, output
    assert not [pid for pid in redis_pids if _alive(pid)]


@pytest.mark.slow
async def test_servers_stop_when_serve_is_killed_outright(tmp_path: Path) -> None:
    required_tool("redis-server")
    plan_path = tmp_path / "plan.json"
    args = ("--systems", "memory,redis,ceiling-raw", "--sessions", "1", "--clients", "1")
    async with serving(plan_path, *args, "--redis-workers", "2") as (running, plan):
        started = [entry["pid"] for entry in plan["systems"]]
        started += [entry["redis_pid"] for entry in plan["systems"] if entry["redis_pid"]]
        # The workers of `serve --workers 2` too: stopped by their supervisor, not the kernel.
        pids = [pid for root in started for pid in descendants(root)]
        assert len(pids) >= 6  # 3 servers, a supervisor's 2 workers, a redis-server
        assert all(_alive(pid) for pid in pids)
        running.process.kill()  # no chance to stop anything itself
        await running.process.wait()
    assert await _all_gone(pids) == []


async def test_a_stop_while_starting_stops_what_had_started(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.json"
    plan_path.write_text('{"left": "by an earlier run"}')  # names servers long gone
    args = ("--systems", "memory,socketio,ceiling-raw", "--sessions", "1", "--clients", "1")
    running = await start_serve(plan_path, *args)
    try:
        children: list[int] = []
        async with asyncio.timeout(START_TIMEOUT):
            # Its first server is forked before anything is provisioned or written.
            while not children:
                assert running.process.returncode is None, "serve exited on its own"
                children = descendants(running.process.pid)[1:]
                await asyncio.sleep(0.05)
        running.process.send_signal(signal.SIGTERM)
        running.process.send_signal(signal.SIGTERM)  # a second one changes nothing
        status, output = await running.exit_status_and_output()
    finally:
        await stop_serve(running)
    assert status == 1, output
    assert "stopped while starting: no plan was written" in output
    assert not await asyncio.to_thread(plan_path.exists)  # neither the old plan nor a new one
    assert await _all_gone(children) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"systems": ("memory-base",)}, "systems are"),
        ({"systems": ("memory", "memory")}, "name each system once"),
        ({"seconds": 0.0}, "seconds must be"),
        ({"seconds": 13 * 3600.0}, "seconds must be"),  # past the tokens' lifetime
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


class Reader:
    """A Classbridge-wire socket's messages, taken by type in any order. A frame may hold a
    batch (an array, in order), and an ack may come before or after its event (the ceiling
    over Redis acks as its script returns, the event comes through pub/sub): what a call does
    not take stays for later calls."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.unread: list[dict[str, Any]] = []

    async def next_of(self, kind: str, event_kind: str | None = None) -> dict[str, Any]:
        """The first message not yet taken of type ``kind`` (and of ``event_kind``, for
        events); others (participants joining) stay."""
        async with asyncio.timeout(TIMEOUT):
            while True:
                for index, message in enumerate(self.unread):
                    if message.get("type") == kind and event_kind in (None, message.get("kind")):
                        return self.unread.pop(index)
                data = json.loads(await self.socket.recv())
                self.unread.extend(data if isinstance(data, list) else [data])


async def _join(wire: dict[str, Any], entry: dict[str, Any], token: str, session: str) -> Reader:
    protocol = Subprotocol("classbridge.v1.json")
    assert protocol in entry["subprotocols"]
    socket = await connect(entry["ws_url"], subprotocols=[protocol], open_timeout=TIMEOUT)
    join = json.loads(fill_template(wire["join"], token=token))
    if session:
        join["session"] = session  # the plan's join_session
    await socket.send(json.dumps(join))
    return Reader(socket)


async def _chat_on_classbridge_wire(
    wire: dict[str, Any], entry: dict[str, Any], check_session: bool
) -> None:
    session = entry["sessions"][0]
    readers = []
    for token in session["tokens"]:
        reader = await _join(wire, entry, token, session["id"] if check_session else "")
        welcome = await reader.next_of("welcome")
        assert type(welcome["seq"]) is int  # the session's position: events follow it
        readers.append(reader)
    sender = readers[0]
    text = f"hello from another generator on {entry['name']}"
    await sender.socket.send(fill_template(wire["post"], text=text, request_id=7))
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


async def _wrong_session_refused(wire: dict[str, Any], entry: dict[str, Any]) -> None:
    first, second = entry["sessions"]
    reader = await _join(wire, entry, second["tokens"][0], first["id"])
    error = await reader.next_of("error")
    assert error["code"] == "wrong_session"
    await reader.socket.close()


async def _chat_on_socketio_wire(wire: dict[str, Any], entry: dict[str, Any]) -> None:
    room = entry["sessions"][0]
    assert entry["subprotocols"] == []
    sockets = []
    for token in room["tokens"]:
        socket = await connect(entry["ws_url"], open_timeout=TIMEOUT)
        assert (await _next_packet(socket, "0")).startswith("0{")  # Engine.IO open
        await socket.send(fill_template(wire["join"], token=token))
        assert (await _next_packet(socket, "40")).startswith("40{")
        sockets.append(socket)
    sender = sockets[0]
    text = 'hello from another generator on socketio, "quoted" {id}'
    await sender.send(fill_template(wire["post"], text=text, request_id=3))
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


async def _all_gone(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running after up to STOP_TIMEOUT (a server drains first)."""
    alive = pids
    for _ in range(int(STOP_TIMEOUT / 0.2)):
        alive = [pid for pid in alive if _alive(pid)]
        if not alive:
            break
        await asyncio.sleep(0.2)
    return alive


def _alive(pid: int) -> bool:
    """Running: neither gone nor a zombie (an orphan's exit status waits for whoever reaps it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False
