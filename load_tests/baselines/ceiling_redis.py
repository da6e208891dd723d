"""The ceiling over Redis: the barest N-worker chat broadcast on Classbridge's own stack.

ceiling.py's rooms, spread over N uvicorn workers sharing one port, so the members of a room
sit on different workers. A post is numbered and published once, by one Lua script (INCR on
the room's counter, PUBLISH on the room's channel: one round trip, and the seqs of a room stay
consecutive whichever worker posts); every worker subscribed to the channel encodes the event
once per wire format and sends it to its own members of the room, the sender included. The
posting worker acks with the seq the script returned. The same protocol subset as ceiling.py;
no auth, no log, no history, no limits: a baseline for ``cb-redis-Nw``, not a server.
Run: ``python -m load_tests.baselines.ceiling_redis --port 8003 --workers 2 --redis URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import msgpack
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from load_tests.baselines.ceiling import accept_join, encode, receive, send

REDIS_ENV = "CLASSBRIDGE_CEILING_BENCH_REDIS"  # how the workers learn the Redis URL
COUNTER, CHANNEL = "ceiling-bench:seq:", "ceiling-bench:room:"
SUBSCRIBE_TIMEOUT = 10.0
# KEYS = the room's counter and channel; ARGV[1] = the post, packed once by the posting worker.
# The message is "<seq> <post>": the seq is only known here, and prefixing it as text spares
# Redis any encoding.
POST = """
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], seq .. ' ' .. ARGV[1])
return seq
"""


class Worker:
    """One worker's local rooms, its Redis client for posts and its one subscription."""

    def __init__(self, redis_url: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.post = self.redis.register_script(POST)  # EVALSHA
        self.pubsub = self.redis.pubsub()
        self.rooms: dict[str, dict[WebSocket, bool]] = {}  # room -> local member -> msgpack
        self.subscribed: dict[str, asyncio.Event] = {}  # room -> Redis confirmed SUBSCRIBE
        self.reader: asyncio.Task[None] | None = None

    async def enter(self, room: str, websocket: WebSocket, binary: bool) -> int:
        """Add a local member, subscribed before its welcome; the room's seq so far."""
        if room not in self.subscribed:  # the room's first member here: kept for the run
            self.subscribed[room] = asyncio.Event()
            await self.pubsub.subscribe(CHANNEL + room)
            if self.reader is None:  # listen() ends at once while nothing is subscribed
                self.reader = asyncio.create_task(self.read())
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
            await self.subscribed[room].wait()
        self.rooms.setdefault(room, {})[websocket] = binary
        return int(await self.redis.get(COUNTER + room) or 0)

    async def publish(self, room: str, sender: WebSocket, message: dict[str, Any]) -> int:
        post = msgpack.packb([id(sender), message.get("text")])
        seq = await self.post(keys=[COUNTER + room, CHANNEL + room], args=[post])
        return int(seq)

    async def read(self) -> None:
        """Every worker's one reader: Redis sends a channel's messages in PUBLISH order, so
        each member gets its room's seqs in order."""
        async for message in self.pubsub.listen():
            room = message["channel"].decode().removeprefix(CHANNEL)
            if message["type"] == "subscribe":
                self.subscribed[room].set()
            elif message["type"] == "message":
                await self.deliver(room, message["data"])

    async def deliver(self, room: str, data: bytes) -> None:
        # Awaits each send, as ceiling.py does: no per-member queue (a baseline, not a server).
        seq, _, post = data.partition(b" ")
        sender, text = msgpack.unpackb(post)
        event = {"type": "event", "seq": int(seq), "kind": "chat.posted"}
        event |= {"ts": int(time.time() * 1000), "data": {"from": sender, "text": text}}
        members = self.rooms.get(room, {})
        frames = {fmt: encode(event, fmt) for fmt in set(members.values())}
        for member, fmt in list(members.items()):
            await send(member, frames[fmt])

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        await self.pubsub.aclose()  # type: ignore[no-untyped-call]
        await self.redis.aclose()


async def chat(websocket: WebSocket) -> None:
    worker: Worker = websocket.app.state.worker
    joined = await accept_join(websocket)
    if joined is None:
        return
    room, binary = joined
    seq = await worker.enter(room, websocket, binary)
    await send(websocket, encode({"type": "welcome", "seq": seq}, binary))
    try:
        while (message := await receive(websocket, binary)) is not None:
            if message.get("type") == "chat.send":
                seq = await worker.publish(room, websocket, message)
                ack = {"type": "ack", "id": message.get("id"), "seq": seq}
                await send(websocket, encode(ack, binary))
    finally:
        worker.rooms[room].pop(websocket, None)


async def healthz(request: Request) -> JSONResponse:
    # Names the worker: the generator waits until every worker has answered.
    return JSONResponse({"status": "ok", "worker": os.getpid()})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.worker = worker = Worker(os.environ[REDIS_ENV])  # in the worker's own loop
    await worker.redis.script_load(POST)  # before any client: no NOSCRIPT retry later
    try:
        yield
    finally:
        await worker.close()


def app_from_env() -> Starlette:
    """The app of one worker (uvicorn imports it in each process)."""
    routes = [Route("/healthz", healthz), WebSocketRoute("/ws", chat)]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description="bare N-worker chat broadcast over Redis")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", required=True, help="redis://HOST:PORT/DB")
    args = parser.parse_args()
    os.environ[REDIS_ENV] = args.redis
    # ceiling.py's uvicorn options (those of `classbridge serve`), with the lifespan on: each
    # worker opens its Redis connections there.
    uvicorn.run(
        "load_tests.baselines.ceiling_redis:app_from_env",
        factory=True,
        workers=args.workers,
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws_max_size=64 * 1024,
        ws_per_message_deflate=False,
        proxy_headers=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
