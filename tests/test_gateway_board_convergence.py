"""Random concurrent drawing from several clients through a real server, with dropped
connections, resumes and duplicated commands: every client must end with the same board, equal
to a late joiner's snapshot and to a replay of the whole log.

Runs on one server (memory://) and on two servers sharing a real Redis, the clients spread
over both. Hypothesis picks the scripts; each example is a fresh session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.client import ClassbridgeClient, ClientError
from server.rooms.board.replica import canonical
from server.rooms.events import Event
from server.rooms.reducer import apply_event
from server.rooms.state import SessionState
from tests.helpers import JSON, MSGPACK, collect_until, open_classroom
from tests.live import LiveServer, start_server
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
LIMITS: dict[str, Any] = {"board_ops_per_second": 10_000.0, "board_ops_burst": 10_000}
PEN = {"color": "#1a2b3c", "width": 2}

# One action of one client: what it does in a round (all clients act at once each round).
ACTIONS = st.one_of(
    st.tuples(st.just("stroke"), st.integers(1, 6)),
    st.tuples(st.just("rect"), st.integers(-50, 50)),
    st.tuples(st.just("move"), st.integers(0, 20)),  # one of the records it knows of
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("undo"), st.just(0)),
    st.tuples(st.just("redo"), st.just(0)),
    st.tuples(st.just("duplicate"), st.just(0)),  # its last command again
    st.tuples(st.just("drop"), st.just(0)),  # lose the connection, then resume
    st.tuples(st.just("clear"), st.just(0)),
)
SCRIPTS = st.lists(st.lists(ACTIONS, min_size=4, max_size=4), min_size=3, max_size=8)


@dataclass
class Drawer:
    client: ClassbridgeClient
    name: str
    made: int = 0
    last: dict[str, Any] = field(default_factory=dict)

    async def send(self, message: dict[str, Any]) -> None:
        self.last = message
        with contextlib.suppress(ClientError, ConnectionError, TimeoutError):
            await self.client.command(message)  # refusals are part of the game

    def new_id(self) -> str:
        self.made += 1
        return f"{self.name}-{self.made}"

    def known(self, index: int) -> str | None:
        records = sorted(self.client.boards["main"].records) if self.client.boards else []
        return records[index % len(records)] if records else None


async def _act(drawer: Drawer, action: tuple[str, int]) -> None:
    kind, n = action
    board = {"board": "main"}
    if kind == "stroke":
        record_id = drawer.new_id()
        props = {"points": [0, 0], **PEN}
        await drawer.send(
            {
                "type": "board.put",
                **board,
                "record": {"id": record_id, "kind": "stroke", "props": props},
            }
        )
        for offset in range(1, n + 1):
            append = {"record": record_id, "offset": offset, "points": [offset, n]}
            await drawer.send({"type": "board.append", **board, **append, "end": offset == n})
    elif kind == "rect":
        props = {"x": n, "y": n, "w": 5, "h": 5, **PEN}
        await drawer.send(
            {
                "type": "board.put",
                **board,
                "record": {"id": drawer.new_id(), "kind": "rect", "props": props},
            }
        )
    elif kind in ("move", "delete"):
        target = drawer.known(n)
        if target is not None and kind == "move":
            await drawer.send({"type": "board.patch", **board, "record": target, "z": n})
        elif target is not None:
            await drawer.send({"type": "board.delete", **board, "records": [target]})
    elif kind in ("undo", "redo", "clear"):
        await drawer.send({"type": f"board.{kind}", **board})
    elif kind == "duplicate" and drawer.last:
        await drawer.send(drawer.last)
    elif kind == "drop":
        await drawer.client.drop()
        await drawer.client.connect()  # resumes from the last event it saw


async def _converged(room: Any, drawers: list[Drawer], late_server: LiveServer) -> None:
    top = await room.seq()
    for drawer in drawers:
        await collect_until(drawer.client, top)
    boards = [canonical(d.client.boards["main"]) for d in drawers]
    late = late_server.client(await room.token("student", 1, "Late"))
    await late.connect()
    replay = await _replay(late_server, room.teacher_token(0), top)
    assert canonical(late.boards["main"]) == boards[0]
    assert replay == boards[0]
    for board in boards[1:]:
        assert board == boards[0]
    await late.close()


async def _replay(server: LiveServer, token: str, top: int) -> dict[str, Any]:
    """The board as the server's reducer makes it from the whole log, read by resuming at 0."""
    reader = server.client(token)
    welcome = await reader.connect()
    reader.last_seq, reader.epoch = 0, welcome.epoch
    await reader.drop()
    resumed = await reader.connect()
    assert resumed.resume == "events"
    state = SessionState()
    for message in await collect_until(reader, top):
        apply_event(state, message.seq, Event(message.kind, message.ts, message.data))
    await reader.close()
    return canonical(state.boards["main"])


async def _play(servers: list[LiveServer], script: list[list[tuple[str, int]]]) -> None:
    room = await open_classroom(servers[0])
    clients = [
        servers[0].client(room.teacher_token(0)),
        servers[-1].client(await room.token("student", 0, "A"), JSON),
        servers[0].client(await room.token("student", 1, "B")),
        servers[-1].client(await room.token("student", 1, "C"), MSGPACK),
    ]
    drawers = [Drawer(c, f"d{n}") for n, c in enumerate(clients)]
    for client in clients:
        await client.connect()
    for round_actions in script:
        await asyncio.gather(*(_act(d, a) for d, a in zip(drawers, round_actions, strict=True)))
    await _converged(room, drawers, servers[-1])
    for client in clients:
        await client.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def one_server() -> AsyncIterator[list[LiveServer]]:
    server = await start_server(**LIMITS)
    yield [server]
    await server.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def two_servers_on_redis(redis_server: RedisServer) -> AsyncIterator[list[LiveServer]]:
    redis_server.flush()
    servers = [await start_server(broker_url=redis_server.url, **LIMITS) for _ in range(2)]
    yield servers
    for server in servers:
        await server.stop()


SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@MODULE_LOOP
@SETTINGS
@given(script=SCRIPTS)
async def test_boards_converge_on_one_server(one_server: list[LiveServer], script: Any) -> None:
    await _play(one_server, script)


@MODULE_LOOP
@SETTINGS
@given(script=SCRIPTS)
async def test_boards_converge_on_two_servers_over_redis(
    two_servers_on_redis: list[LiveServer], script: Any
) -> None:
    await _play(two_servers_on_redis, script)
