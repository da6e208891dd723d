"""The baseline a Python team would otherwise pick: python-socketio on uvicorn.

``socketio.AsyncServer(async_mode="asgi")`` behind uvicorn, websocket transport only (no
long-polling), socket.io's default JSON packets, one room per session. The chat workload is
the same as Classbridge's: a client connects with ``{"room": NAME}`` as its auth payload and
is put in that room; it emits ``chat`` with ``{"text": ...}`` and an ack id, the server
broadcasts ``chat.posted`` ``{"seq", "text", "from"}`` to the whole room (the sender
included) and acks ``{"seq": n}``.

socket.io has no ordered log, so the handler numbers each room's chats itself (a dict on one
worker; ``INCR`` on the shared Redis across workers): the generator's loss and duplicate check
needs a seq, and Classbridge does that work too (and more: it keeps the log).

One worker: the in-memory ``AsyncManager``. ``--workers N --redis URL``: N uvicorn workers
sharing the port, each with an ``AsyncRedisManager`` on URL, python-socketio's own way of
fanning out across processes (every emit is published to one Redis channel that every worker
reads). Run: ``python -m load_tests.baselines.socketio_server --port 8002`` (loopback only).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import redis.asyncio as aioredis
import socketio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REDIS_ENV = "CLASSBRIDGE_SIO_BENCH_REDIS"  # how the workers learn the Redis URL
SEQ_KEY = "sio-bench:seq:"


class RoomCounters:
    """The next seq of each room: in this process, or in Redis when the workers share it."""

    def __init__(self, redis_url: str | None) -> None:
        self._local: dict[str, int] = {}
        self._redis = aioredis.Redis.from_url(redis_url) if redis_url else None

    async def next(self, room: str) -> int:
        if self._redis is None:
            seq = self._local[room] = self._local.get(room, 0) + 1
            return seq
        return int(await self._redis.incr(SEQ_KEY + room))


def build_server(redis_url: str | None) -> socketio.AsyncServer:
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    sio = socketio.AsyncServer(
        async_mode="asgi",
        transports=["websocket"],
        client_manager=manager,
        cors_allowed_origins=[],  # no browser origins: the generator sends none
    )
    counters = RoomCounters(redis_url)
    rooms: dict[str, str] = {}  # sid -> its room

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> bool:
        room = auth.get("room") if isinstance(auth, dict) else None
        if not isinstance(room, str):
            return False  # refused: the client gets a CONNECT_ERROR packet
        rooms[sid] = room
        await sio.enter_room(sid, room)
        return True

    @sio.event
    async def disconnect(sid: str, *_: Any) -> None:
        rooms.pop(sid, None)

    @sio.on("chat")
    async def chat(sid: str, data: Any) -> dict[str, int] | None:
        room = rooms.get(sid)
        if room is None or not isinstance(data, dict):
            return None
        seq = await counters.next(room)
        posted = {"seq": seq, "text": data.get("text"), "from": sid}
        await sio.emit("chat.posted", posted, room=room)
        return {"seq": seq}  # the ack

    return sio


async def healthz(request: Request) -> JSONResponse:
    # Names the worker, as Classbridge's does: the generator waits until every worker answered.
    return JSONResponse({"status": "ok", "worker": os.getpid()})


def build_app(redis_url: str | None = None) -> socketio.ASGIApp:
    other = Starlette(routes=[Route("/healthz", healthz)])
    return socketio.ASGIApp(build_server(redis_url), other_asgi_app=other)


def app_from_env() -> socketio.ASGIApp:
    """The app of one worker of ``--workers N`` (uvicorn imports it in each process)."""
    return build_app(os.environ.get(REDIS_ENV) or None)


def main() -> None:
    parser = argparse.ArgumentParser(description="python-socketio chat broadcast (baseline)")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis", help="redis://HOST:PORT/DB: AsyncRedisManager (any workers)")
    args = parser.parse_args()
    if args.workers > 1 and not args.redis:
        parser.error("--workers > 1 needs --redis (each worker has its own rooms otherwise)")
    # uvicorn's defaults, but the options every system of the benchmark shares: no
    # permessage-deflate (the generator never asks for it anyway), no proxy headers.
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "log_level": "warning",
        "ws_per_message_deflate": False,
        "proxy_headers": False,
    }
    if args.redis:
        os.environ[REDIS_ENV] = args.redis
        target = "load_tests.baselines.socketio_server:app_from_env"
        uvicorn.run(target, factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(build_app(), **options)


if __name__ == "__main__":
    main()
