"""The ceiling over Redis (load_tests/baselines/ceiling_redis.py) on 2 workers, at a tiny size.

A real redis-server and the real spawned workers: through the benchmark, every acked chat must
reach every client of its session exactly once, each post costing Redis one script, one INCR
and one PUBLISH; and two members of a room held by different workers must get each other's
chats, numbered consecutively whichever worker took the post. Never speed.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from load_tests.config import FanoutConfig, parse_systems
from load_tests.fanout import run_benchmark
from load_tests.procstat import descendants
from load_tests.redis_server import spawn_redis
from load_tests.report import comparison_pairs
from load_tests.servers import Target, spawn_ceiling_redis
from load_tests.spread import process_of_peer
from tests.tools import required_tool

JSON_PROTOCOL = Subprotocol("classbridge.v1.json")
MAX_TRIES = 40  # connections opened, at most, until both workers hold a member of the room
TIMEOUT = 5.0
Member = tuple[int, ClientConnection]  # the worker process holding it, the connection


@pytest.mark.slow
async def test_every_chat_reaches_every_client_once_through_redis() -> None:
    required_tool("redis-server")
    config = FanoutConfig(
        sessions=2, clients=4, senders=2, rates=(40.0,), duration=1.0, warmup=0.6, ramp=0.2,
        systems=("ceiling-redis",), redis_workers=2, progress=False,
    )  # fmt: skip

    results = await run_benchmark(config)

    (result,) = results["ceiling-redis-2w"]
    assert result.acked_total == result.sent_total > 0
    assert result.expected_deliveries == result.acked_total * config.clients
    assert result.deliveries_total == result.expected_deliveries
    assert (result.lost, result.duplicates, result.unexpected, result.unacked) == (0, 0, 0, 0)
    assert result.out_of_order == 0  # one channel per room: Redis keeps the PUBLISH order
    assert result.errors == {}
    assert result.server_workers == 2
    assert len(result.healthz_workers) == 2  # both workers answered before the clients came
    assert sum(result.connections_per_process.values()) == config.total_clients
    assert result.redis_cpu_s is not None
    commands = result.redis_commands
    assert commands is not None
    assert commands.appended == result.acked_total
    # One round trip per post (the script), which numbers it and publishes it once.
    for command in ("evalsha", "incr", "publish"):
        assert commands.by_command[command] == commands.appended, command


async def _member(target: Target, room: str) -> tuple[ClientConnection, int]:
    """A joined member of ``room`` and the worker process holding its connection."""
    socket = await connect(target.ws_url, subprotocols=[JSON_PROTOCOL], open_timeout=TIMEOUT)
    await socket.send(json.dumps({"type": "join", "token": room, "id": "join"}))
    assert (await _frame(socket))["type"] == "welcome"
    assert target.pid is not None
    worker = process_of_peer(descendants(target.pid), target.port, socket.local_address[1])
    assert worker is not None
    return socket, worker


async def _on_two_workers(target: Target, room: str, stack: AsyncExitStack) -> list[Member]:
    """Members of ``room`` joined until two workers hold one each: the first on each worker.
    (The kernel hands each connection to whichever worker accepts first.)"""
    first: dict[int, ClientConnection] = {}
    for _ in range(MAX_TRIES):
        socket, worker = await _member(target, room)
        await stack.enter_async_context(socket)
        first.setdefault(worker, socket)
        if len(first) == 2:
            return list(first.items())
    pytest.fail(f"{MAX_TRIES} connections, all held by one worker")


async def _frame(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        frame: dict[str, Any] = json.loads(await socket.recv())
    return frame


@pytest.mark.slow
async def test_a_chat_reaches_the_member_on_the_other_worker() -> None:
    required_tool("redis-server")
    async with AsyncExitStack() as stack:
        redis = await stack.enter_async_context(spawn_redis())
        target = await stack.enter_async_context(spawn_ceiling_redis(2, redis))
        (worker_a, a), (worker_b, b) = await _on_two_workers(target, "room-x", stack)
        assert worker_a != worker_b

        # Each worker takes one post; the seqs follow on across them.
        for seq, (poster, other) in enumerate([(a, b), (b, a)], start=1):
            await poster.send(json.dumps({"type": "chat.send", "text": f"hi {seq}", "id": seq}))
            own = {frame["type"]: frame for frame in [await _frame(poster), await _frame(poster)]}
            assert own["ack"] == {"type": "ack", "id": seq, "seq": seq}
            event = await _frame(other)
            assert (event["type"], event["kind"], event["seq"]) == ("event", "chat.posted", seq)
            assert event["data"]["text"] == f"hi {seq}"
            assert event["data"] == own["event"]["data"]  # the same post, delivered on both


def test_the_report_sets_the_ceiling_over_redis_against_both_multi_worker_systems() -> None:
    pairs = comparison_pairs(["cb-redis-2w", "sio-redis-2w", "ceiling", "ceiling-redis-2w"])

    assert ("cb-redis-2w", "ceiling-redis-2w") in pairs
    assert ("ceiling-redis-2w", "sio-redis-2w") in pairs
    assert ("cb-redis-2w", "ceiling") in pairs  # the one-process ceiling stays
    # Only systems on as many workers are compared.
    assert comparison_pairs(["cb-redis-2w", "ceiling-redis-3w", "sio-redis-2w"]) == [
        ("cb-redis-2w", "sio-redis-2w")
    ]
    assert "ceiling-redis" in parse_systems("all")
