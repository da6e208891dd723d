"""The generator's WebSocket client (load_tests/transport.py) against a real socket.

A small server on a loopback port answers the upgrade, then writes frames byte for byte as a
test gives them, split across writes as it likes, and keeps what the client sends back, so
that both the frames the client reads itself and those it hands to websockets are checked.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from load_tests.transport import MAX_MESSAGE, LeanSocket

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(payload: bytes, opcode: int = 2, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A frame as a server would write it (or, with ``mask``, as only a client may)."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if mask is not None else 0
    size = len(payload)
    if size < 126:
        head = bytes((first, mask_bit | size))
    elif size < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, size)
    if mask is None:
        return head + payload
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return head + mask + masked


def client_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, unmasked payload) of each whole frame the client sent."""
    frames, at = [], 0
    while len(data) - at >= 2:
        opcode, size = data[at] & 0x0F, data[at + 1] & 0x7F
        start = at + 2
        if size == 126:
            size, start = int.from_bytes(data[at + 2 : at + 4]), at + 4
        elif size == 127:
            size, start = int.from_bytes(data[at + 2 : at + 10]), at + 10
        mask, start = data[start : start + 4], start + 4
        payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(data[start : start + size]))
        frames.append((opcode, payload))
        at = start + size
    return frames


class Peer:
    """The server's side of one connection, for a test to write to and read from."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = b""

    async def write(self, *chunks: bytes) -> None:
        """Each chunk in a write of its own, with a pause between, so the client reads them
        in separate ``data_received`` calls."""
        for chunk in chunks:
            self.writer.write(chunk)
            await self.writer.drain()
            await asyncio.sleep(0.01)

    async def read_frames(self, count: int) -> list[tuple[int, bytes]]:
        async with asyncio.timeout(5):
            while len(frames := client_frames(self.received)) < count:
                chunk = await self.reader.read(65536)
                if not chunk:
                    break
                self.received += chunk
        return frames


Scenario = Callable[[Peer], Coroutine[Any, Any, None]]


def switching(accept: bytes, extra_headers: bytes = b"") -> bytes:
    """A 101 answer's head, up to and including its empty line."""
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n" + extra_headers + b"\r\n"
    )


Answer = Callable[[bytes], list[bytes]]  # the accept value -> the answer, write by write


async def read_until_gone(peer: Peer) -> None:
    """A scenario that writes nothing more: it reads until the client closes or goes."""
    await peer.read_frames(1)


@asynccontextmanager
async def serving(
    scenario: Scenario, first_frames: bytes = b"", answer: Answer | None = None
) -> AsyncIterator[str]:
    """A server whose upgrade answer is followed, in the same write, by ``first_frames``; or
    that writes ``answer`` instead, in the writes it gives."""

    handlers: list[asyncio.Task[Any]] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        handlers.append(handler)
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        peer = Peer(reader, writer)
        if answer is None:
            writer.write(switching(accept) + first_frames)
        else:
            await peer.write(*answer(accept))
        try:
            await scenario(peer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.close()
        await server.wait_closed()
        # Each handler ends once its client has gone (it reads until then): let them finish,
        # so that every socket is closed before the test's loop is.
        if handlers:
            await asyncio.wait(handlers, timeout=5)


class Inbox:
    """The messages a client was handed, in order."""

    def __init__(self) -> None:
        self.messages: list[bytes | str] = []
        self._arrived = asyncio.Event()

    def add(self, message: bytes | str) -> None:
        self.messages.append(message)
        self._arrived.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()


async def connect(url: str, inbox: Inbox) -> LeanSocket:
    return await LeanSocket.connect(url, None, inbox.add, timeout=5)


async def test_frames_are_read_whole_however_they_are_split() -> None:
    big = bytes(range(256)) * 300  # 76,800 bytes: a 64-bit length
    medium = "é" * 200  # 400 bytes of UTF-8: a 16-bit length
    stream = frame(b"one") + frame(medium.encode(), opcode=1) + frame(big) + frame(b"")
    sent = asyncio.Event()

    async def scenario(peer: Peer) -> None:
        # Two frames in one write, then the rest a few bytes at a time, cut mid-header too.
        first_two = len(frame(b"one")) + len(frame(medium.encode(), opcode=1))
        await peer.write(stream[:first_two], stream[first_two : first_two + 1])
        rest = stream[first_two + 1 :]
        await peer.write(rest[:3], rest[3:9], rest[9:40000], rest[40000:])
        sent.set()
        await peer.read_frames(1)

    inbox = Inbox()
    async with serving(scenario, first_frames=frame(b"welcome")) as url:
        socket = await connect(url, inbox)
        await sent.wait()
        await inbox.wait_for(5)
        await socket.close()
    assert inbox.messages == [b"welcome", b"one", medium, big, b""]
    assert socket.bytes_received > len(stream)


async def test_a_ping_is_answered_and_a_fragmented_message_is_put_together() -> None:
    async def scenario(peer: Peer) -> None:
        await peer.write(
            frame(b"before"),
            frame(b"hel", opcode=1, fin=False),
            frame(b"are you there", opcode=9),  # a ping between two fragments
            frame(b"lo", opcode=0, fin=True),
            frame(b"after"),
        )
        replies = await peer.read_frames(1)
        peer.received = b""
        assert replies[0] == (10, b"are you there")  # the pong, with the ping's payload
        await peer.read_frames(1)

    inbox = Inbox()
    async with serving(scenario) as url:
        socket = await connect(url, inbox)
        await inbox.wait_for(3)
        await socket.close()
    assert inbox.messages == [b"before", "hello", b"after"]


async def written_until_closed(written: bytes) -> tuple[LeanSocket, Inbox, int]:
    """Write ``written`` in one go and wait for the connection to end: the client, what it
    was handed, and the code of the closing handshake it answered with."""
    replies: list[tuple[int, bytes]] = []

    async def scenario(peer: Peer) -> None:
        await peer.write(written)
        replies.extend(await peer.read_frames(1))

    inbox = Inbox()
    async with serving(scenario) as url:
        socket = await connect(url, inbox)
        await asyncio.wait_for(asyncio.shield(socket.closed), 5)
    assert replies, "the client answered nothing"
    assert replies[0][0] == 8  # its closing handshake
    return socket, inbox, int.from_bytes(replies[0][1][:2])


async def test_a_close_from_the_server_is_answered_and_ends_the_reading() -> None:
    close = frame(struct.pack("!H", 4009) + b"history_reset", opcode=8)
    # The close and a frame a broken server sends after it, in one write.
    socket, inbox, answered = await written_until_closed(
        frame(b"last") + close + frame(b"too late")
    )
    assert inbox.messages == [b"last"]
    assert (socket.close_code, socket.close_reason) == (4009, "history_reset")
    assert answered == 4009
    assert not socket.send(b"anything")  # no longer open


@pytest.mark.parametrize(
    ("bad_frame", "code"),
    [
        (frame(b"masked", mask=b"\x01\x02\x03\x04"), 1002),  # a server must not mask
        (frame(b"\xff\xfe", opcode=1), 1007),  # text that is not UTF-8
        (bytes((0xC2, 3)) + b"abc", 1002),  # RSV1 set with no extension agreed
        (struct.pack("!BBQ", 0x82, 127, MAX_MESSAGE + 1), 1009),  # too big: refused from its head
    ],
    ids=["masked", "invalid-utf8", "rsv1", "too-big"],
)
async def test_a_bad_frame_fails_the_connection_as_websockets_would(
    bad_frame: bytes, code: int
) -> None:
    socket, inbox, answered = await written_until_closed(
        frame(b"fine") + bad_frame + frame(b"not read")
    )
    assert inbox.messages == [b"fine"]
    assert answered == code
    assert not socket.send(b"anything")


async def test_messages_sent_by_the_client_reach_the_server_masked() -> None:
    async def scenario(peer: Peer) -> None:
        received = await peer.read_frames(2)
        await peer.write(frame(b"".join(payload for _, payload in received)))
        await peer.read_frames(3)

    inbox = Inbox()
    async with serving(scenario) as url:
        socket = await connect(url, inbox)
        assert socket.send(b"ab")
        assert socket.send("cd")
        await inbox.wait_for(1)
        await socket.close()
    assert inbox.messages == [b"abcd"]


async def test_a_refusal_whose_body_comes_later_is_reported_as_refused() -> None:
    def forbidden(accept: bytes) -> list[bytes]:
        head = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\n"
        return [head + b"for", b"bidden!"]

    async with serving(read_until_gone, answer=forbidden) as url:
        with pytest.raises(InvalidStatus) as refused:
            await connect(url, Inbox())
    assert refused.value.response.status_code == 403
    assert refused.value.response.body == b"forbidden!"


async def test_an_answer_head_too_long_to_hold_is_left_to_websockets() -> None:
    padding = b"".join(b"X-Padding-%d: %s\r\n" % (i, b"p" * 7000) for i in range(10))

    def long_head(accept: bytes) -> list[bytes]:
        head = switching(accept, padding)  # over 64 KB: never held whole
        return [head[:-2], head[-2:] + frame(b"first")]  # the empty line cut in two

    inbox = Inbox()
    async with serving(read_until_gone, answer=long_head) as url:
        socket = await connect(url, inbox)
        await inbox.wait_for(1)
        await socket.close()
    assert inbox.messages == [b"first"]
