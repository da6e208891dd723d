"""The raw ceiling: a chat broadcast with no framework at all, one write per recipient.

``ceiling.py`` is the barest broadcast on Classbridge's own stack (Starlette and uvicorn's
WebSocket protocol). This one leaves the stack out too: an ``asyncio.Protocol`` on uvloop that
answers the WebSocket handshake itself, reads masked client frames, and writes each chat, framed
once per wire format, to every member's transport with one ``write``. It is about the least
Python a server can run per delivered event while still sending one frame per event and
recipient, as python-socketio and both other ceilings do; what it costs is mostly the kernel's
(a system call per write, loopback TCP) and the event loop's (a wake-up per message read).

It speaks what ``ceiling.py`` speaks (``join`` whose token names the room, ``chat.send`` ->
``event``/``chat.posted`` + ``ack``, a per-room seq), plus ``GET /healthz``. Nothing else: no
auth, no limits, no fragmented frames, no extensions. Loopback benchmarks only.
Run: ``python -m load_tests.baselines.ceiling_raw --port 8002``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import struct
import time
from typing import Any

import msgpack
import uvloop

MSGPACK, JSON = b"classbridge.v1.msgpack", b"classbridge.v1.json"
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
_HEALTHY = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
_TEXT, _BINARY, _CLOSE, _PING, _PONG = 1, 2, 8, 9, 10
_EXTENDED_LENGTH = {126: 2, 127: 8}  # bytes of length after a frame's first two

rooms: dict[str, dict[Member, bool]] = {}  # room -> member -> speaks msgpack
counters: dict[str, int] = {}


def framed(payload: bytes, opcode: int) -> bytes:
    """A server's frame: unmasked, final (RFC 6455 section 5.2)."""
    first = 0x80 | opcode
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def encode(message: dict[str, Any], binary: bool) -> bytes:
    if binary:
        packed: bytes = msgpack.packb(message)
        return framed(packed, _BINARY)
    return framed(json.dumps(message, separators=(",", ":")).encode(), _TEXT)


def unmask(data: bytes, mask: bytes) -> bytes:
    # XOR as one big integer: far cheaper in Python than a loop over the bytes.
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


class Member(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: Any = None  # uvloop's TCPTransport, not an asyncio.Transport subclass
        self.buffer = b""
        self.upgraded = False
        self.binary = True
        self.room: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.room is not None:
            rooms[self.room].pop(self, None)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # after a close or a bad frame: nothing more is read
        self.buffer += data
        if not self.upgraded:
            self._handshake()
        while self.upgraded and self._read_frame():
            pass

    def _handshake(self) -> None:
        head, found, rest = self.buffer.partition(b"\r\n\r\n")
        if not found:
            return
        lines = head.split(b"\r\n")
        if lines[0].startswith(b"GET /healthz"):
            self.transport.write(_HEALTHY)
            self.transport.close()
            return
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get(b"sec-websocket-key", b"")
        offered = [p.strip() for p in headers.get(b"sec-websocket-protocol", b"").split(b",")]
        self.binary = MSGPACK in offered
        accept = base64.b64encode(hashlib.sha1(key + _ACCEPT_GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
            b"sec-websocket-accept: " + accept + b"\r\n"
            b"sec-websocket-protocol: " + (MSGPACK if self.binary else JSON) + b"\r\n\r\n"
        )
        self.buffer = rest
        self.upgraded = True

    def _read_frame(self) -> bool:
        """Handle one whole frame from the buffer; False when none is complete yet."""
        buffer = self.buffer
        if len(buffer) < 2:
            return False
        opcode, size = buffer[0] & 0x0F, buffer[1] & 0x7F
        start = 2 + _EXTENDED_LENGTH.get(size, 0)
        if len(buffer) < start + 4:  # the length and a client's 4 bytes of mask
            return False
        if size == 126:
            size = struct.unpack_from("!H", buffer, 2)[0]
        elif size == 127:
            size = struct.unpack_from("!Q", buffer, 2)[0]
        end = start + 4 + size
        if len(buffer) < end:
            return False
        payload = unmask(buffer[start + 4 : end], buffer[start : start + 4])
        self.buffer = buffer[end:]
        if opcode == _CLOSE:
            self.transport.write(framed(payload[:2], _CLOSE))  # its code back, then the end
            self.transport.close()
            return False
        elif opcode == _PING:
            self.transport.write(framed(payload, _PONG))
        elif opcode in (_TEXT, _BINARY):
            try:
                message = msgpack.unpackb(payload) if self.binary else json.loads(payload)
            except ValueError:
                self.transport.close()  # not a benchmark client: no error frames here
                return False
            if isinstance(message, dict):
                self._handle(message)
        return True

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "join" and self.room is None:
            self.room = room = str(message.get("token"))
            rooms.setdefault(room, {})[self] = self.binary
            self.transport.write(
                encode({"type": "welcome", "seq": counters.get(room, 0)}, self.binary)
            )
        elif kind == "chat.send" and self.room is not None:
            self._broadcast(self.room, message)

    def _broadcast(self, room: str, message: dict[str, Any]) -> None:
        seq = counters[room] = counters.get(room, 0) + 1
        event = {"type": "event", "seq": seq, "kind": "chat.posted", "ts": int(time.time() * 1000)}
        event["data"] = {"from": id(self), "text": message.get("text")}
        members = rooms[room]
        frames = {binary: encode(event, binary) for binary in set(members.values())}
        for member, binary in members.items():
            transport = member.transport
            if transport is not None and not transport.is_closing():
                transport.write(frames[binary])
        self.transport.write(
            encode({"type": "ack", "id": message.get("id"), "seq": seq}, self.binary)
        )


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Member, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="raw chat broadcast server (benchmark ceiling)")
    parser.add_argument("--port", type=int, default=8002)
    with contextlib.suppress(KeyboardInterrupt):  # how the benchmarks stop it
        uvloop.run(serve(parser.parse_args().port))
