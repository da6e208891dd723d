"""The ceiling: the barest chat broadcast we can write on Classbridge's own stack.

Starlette + uvicorn, in-memory rooms, each chat encoded once per wire format and sent to every
member of its room (sender included, as Classbridge does), then acked to the sender. It speaks
just enough of protocol v1 for the load generator: ``join`` (the token names the room),
``chat.send`` -> ``event``/``chat.posted`` + ``ack``. No auth, no log, no rate limits, no
queues, no history; the seq is a per-room counter so the generator can still check for loss.
Run: ``python -m load_tests.baselines.ceiling --port 8001`` (loopback only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from typing import Any

import msgpack
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

MSGPACK, JSON = "classbridge.v1.msgpack", "classbridge.v1.json"
rooms: dict[str, dict[WebSocket, bool]] = {}  # room -> member -> speaks msgpack
counters: dict[str, int] = {}


def encode(message: dict[str, Any], binary: bool) -> bytes | str:
    if binary:
        packed: bytes = msgpack.packb(message)
        return packed
    return json.dumps(message, separators=(",", ":"))


async def send(websocket: WebSocket, frame: bytes | str) -> None:
    with contextlib.suppress(Exception):  # a member that went away is removed by its own task
        if isinstance(frame, bytes):
            await websocket.send_bytes(frame)
        else:
            await websocket.send_text(frame)


async def receive(websocket: WebSocket, binary: bool) -> dict[str, Any] | None:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    decoded = msgpack.unpackb(message["bytes"]) if binary else json.loads(message["text"])
    return decoded if isinstance(decoded, dict) else {}


async def broadcast(room: str, sender: WebSocket, message: dict[str, Any]) -> None:
    seq = counters[room] = counters.get(room, 0) + 1
    event = {"type": "event", "seq": seq, "kind": "chat.posted", "ts": int(time.time() * 1000)}
    event["data"] = {"from": id(sender), "text": message.get("text")}
    frames = {fmt: encode(event, fmt) for fmt in set(rooms[room].values())}
    for member, fmt in list(rooms[room].items()):
        await send(member, frames[fmt])
    ack = {"type": "ack", "id": message.get("id"), "seq": seq}
    await send(sender, encode(ack, rooms[room][sender]))


async def accept_join(websocket: WebSocket) -> tuple[str, bool] | None:
    """Accept in the client's format and read its join: (room, msgpack?); None if it left."""
    binary = MSGPACK in websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=MSGPACK if binary else JSON)
    join = await receive(websocket, binary)
    return None if join is None else (str(join.get("token")), binary)


async def chat(websocket: WebSocket) -> None:
    joined = await accept_join(websocket)
    if joined is None:
        return
    room, binary = joined
    rooms.setdefault(room, {})[websocket] = binary
    await send(websocket, encode({"type": "welcome", "seq": counters.get(room, 0)}, binary))
    try:
        while (message := await receive(websocket, binary)) is not None:
            if message.get("type") == "chat.send":
                await broadcast(room, websocket, message)
    finally:
        rooms[room].pop(websocket, None)


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/ws", chat)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="bare chat broadcast server (benchmark ceiling)")
    parser.add_argument("--port", type=int, default=8001)
    port = parser.parse_args().port
    # The same uvicorn options as `classbridge serve`: no permessage-deflate, 64 KiB frames.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_max_size=64 * 1024,
        ws_per_message_deflate=False,
        proxy_headers=False,
        lifespan="off",
    )
