"""The server's WebSocket protocol reading frames a client crafts byte by byte, over a real server.

Once a connection is accepted, the server reads final data frames itself and gives every other
frame to websockets (server/websocket_protocol.py, server/frame_head.py). These tests write
frames as a client could: split anywhere, several in one write, control frames between and
inside fragmented messages, and broken ones, and check what the server answers, with
websockets' own client parser reading the answers.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from server.cli import listen
from server.direct_receive import DIRECT_RECEIVE
from server.protocol.codec import WireFormat
from server.websocket_protocol import ClassbridgeWebSocketProtocol
from tests.helpers import WAIT, Classroom, open_classroom
from tests.live import LiveServer

TEXT, BINARY, CONT, CLOSE, PING = 1, 2, 0, 8, 9
RSV1 = 0x40


def client_frame(
    payload: bytes,
    opcode: int = TEXT,
    fin: bool = True,
    rsv: int = 0,
    masked: bool = True,
    length: int | None = None,
) -> bytes:
    """A frame as a client writes it (RFC 6455 section 5.2); ``length`` may lie about the size."""
    size = len(payload) if length is None else length
    head = bytearray([(0x80 if fin else 0) | rsv | opcode])
    mask_bit = 0x80 if masked else 0
    if size < 126:
        head.append(mask_bit | size)
    elif size < 65536:
        head += bytes([mask_bit | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([mask_bit | 127]) + size.to_bytes(8, "big")
    if not masked:
        return bytes(head) + payload
    key = os.urandom(4)
    return bytes(head) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def decoded_messages(frame: Frame) -> list[dict[str, Any]]:
    """The messages of a text frame: one, or a batch of several (a JSON array)."""
    assert frame.opcode is Opcode.TEXT, frame
    decoded = json.loads(bytes(frame.data))
    return decoded if isinstance(decoded, list) else [decoded]


def message_frame(message: dict[str, Any], **options: Any) -> bytes:
    return client_frame(json.dumps(message).encode(), **options)


class CraftedClient:
    """Writes raw bytes; reads what the server sends with websockets' client protocol."""

    def __init__(
        self,
        protocol: ClientProtocol,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.protocol = protocol
        self.reader = reader
        self.writer = writer
        self._frames: list[Frame] = []
        self._messages: deque[dict[str, Any]] = deque()
        self.answers = True  # off: the test writes every byte itself, close replies included

    async def write(self, data: bytes, pieces: int = 1) -> None:
        """Write ``data`` in ``pieces`` writes, each given time to arrive as a read of its own."""
        step = max(1, -(-len(data) // pieces))
        for at in range(0, len(data), step):
            self.writer.write(data[at : at + step])
            await self.writer.drain()
            if pieces > 1:
                await asyncio.sleep(0.002)

    async def frame(self) -> Frame:
        """The next frame the server sent (None-free: raises at the end of the stream)."""
        async with asyncio.timeout(WAIT):
            while not self._frames:
                data = await self.reader.read(65536)
                if not data:
                    self.protocol.receive_eof()
                    raise ConnectionError("the server closed the connection")
                self.protocol.receive_data(data)
                for event in self.protocol.events_received():
                    if isinstance(event, Frame):
                        self._frames.append(event)
                replies = self.protocol.data_to_send()  # pongs, the close reply
                if self.answers:
                    self.writer.write(b"".join(replies))
        return self._frames.pop(0)

    async def message(self) -> dict[str, Any]:
        """The next message (a frame may hold a batch of several)."""
        while not self._messages:
            self._messages.extend(decoded_messages(await self.frame()))
        return self._messages.popleft()

    async def close_code(self) -> int | None:
        """Read until the server's close frame; its code."""
        while (frame := await self.frame()).opcode is not Opcode.CLOSE:
            pass
        return Close.parse(bytes(frame.data)).code


@asynccontextmanager
async def crafted_client(server: LiveServer) -> AsyncIterator[CraftedClient]:
    uri = parse_uri(server.ws_url)
    protocol = ClientProtocol(uri, subprotocols=[Subprotocol(WireFormat.JSON.value)])
    reader, writer = await asyncio.open_connection(uri.host, uri.port)
    try:
        protocol.send_request(protocol.connect())
        writer.write(b"".join(protocol.data_to_send()))
        client = CraftedClient(protocol, reader, writer)
        await read_upgrade_answer(client)
        yield client
    finally:
        writer.close()


async def read_upgrade_answer(client: CraftedClient) -> None:
    """Read up to the server's 101; frames that came with it are kept for ``frame``."""
    async with asyncio.timeout(WAIT):
        while True:
            client.protocol.receive_data(await client.reader.read(65536))
            events = client.protocol.events_received()
            client._frames.extend(e for e in events if isinstance(e, Frame))
            if any(isinstance(e, Response) for e in events):
                return


@asynccontextmanager
async def joined(server: LiveServer) -> AsyncIterator[CraftedClient]:
    room: Classroom = await open_classroom(server)
    async with crafted_client(server) as client:
        await client.write(message_frame({"type": "join", "token": room.teacher_token(0)}))
        assert (await client.message())["type"] == "welcome"
        yield client


def ping(request_id: str) -> dict[str, Any]:
    return {"type": "ping", "id": request_id}


async def replies(client: CraftedClient, count: int) -> list[str]:
    """The ids of the next ``count`` replies, skipping events."""
    ids: list[str] = []
    while len(ids) < count:
        message = await client.message()
        if message["type"] != "event":
            ids.append(message["id"])
    return ids


async def test_messages_split_into_reads_of_one_byte_are_each_handled_once(
    live_server: LiveServer,
) -> None:
    async with joined(live_server) as client:
        data = message_frame(ping("first")) + message_frame(ping("second"))
        await client.write(data, pieces=len(data))
        assert await replies(client, 2) == ["first", "second"]


async def test_a_ping_between_messages_in_one_write_is_answered_in_order(
    live_server: LiveServer,
) -> None:
    async with joined(live_server) as client:
        await client.write(
            message_frame(ping("before"))
            + client_frame(b"are you there", opcode=PING)
            + message_frame(ping("after"))
        )
        # The pong leaves at once; the replies go through the connection's send queue (and may
        # share a frame).
        pongs: list[bytes] = []
        ids: list[str] = []
        while len(ids) < 2 or not pongs:
            frame = await client.frame()
            if frame.opcode is Opcode.PONG:
                pongs.append(bytes(frame.data))
            else:
                ids += [m["id"] for m in decoded_messages(frame)]
        assert pongs == [b"are you there"]
        assert ids == ["before", "after"]


async def test_a_fragmented_message_with_a_ping_inside_is_read_whole_and_reading_goes_on(
    live_server: LiveServer,
) -> None:
    async with joined(live_server) as client:
        text = json.dumps(ping("in pieces")).encode()
        await client.write(
            client_frame(text[:5], fin=False)
            + client_frame(b"!", opcode=PING)
            + client_frame(text[5:9], opcode=CONT, fin=False)
            + client_frame(text[9:], opcode=CONT)
            + message_frame(ping("whole")),
            pieces=7,
        )
        assert (await client.frame()).opcode is Opcode.PONG
        assert await replies(client, 2) == ["in pieces", "whole"]


async def test_a_message_larger_than_a_read_is_read_whole(live_server: LiveServer) -> None:
    async with joined(live_server) as client:
        big = {"type": "ping", "id": "big", "padding": "x" * 40_000}
        await client.write(message_frame(big), pieces=9)
        reply = await client.message()
        assert reply["id"] == "big"  # a pong or an error about the padding: read whole either way


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(message_frame(ping("bare"), masked=False), id="unmasked"),
        pytest.param(message_frame(ping("odd"), rsv=RSV1), id="reserved bit"),
        pytest.param(client_frame(b"?", opcode=3), id="unknown opcode"),
        pytest.param(client_frame(b"lost", opcode=CONT), id="continuation of nothing"),
        pytest.param(client_frame(b"x" * 126, opcode=PING), id="control frame over 125 bytes"),
    ],
)
async def test_a_frame_that_breaks_the_protocol_closes_1002(
    live_server: LiveServer, broken: bytes
) -> None:
    async with joined(live_server) as client:
        await client.write(broken)
        assert await client.close_code() == 1002


async def test_a_frame_announcing_more_than_the_limit_closes_1009_at_once(
    live_server: LiveServer,
) -> None:
    async with joined(live_server) as client:
        # Only the header: the server must not wait for a payload it would refuse.
        await client.write(client_frame(b"", length=2**40)[:14])
        assert await client.close_code() == 1009


async def test_text_that_is_not_utf8_closes_1007(live_server: LiveServer) -> None:
    async with joined(live_server) as client:
        await client.write(client_frame(b'{"type":"ping","id":"\xed\xa0\x80"}'))
        assert await client.close_code() == 1007


async def test_nothing_in_the_read_after_a_failing_frame_is_answered(
    live_server: LiveServer,
) -> None:
    async with joined(live_server) as client:
        await client.write(client_frame(b"\xff\xfe") + client_frame(b"anyone?", opcode=PING))
        written = b""
        async with asyncio.timeout(WAIT):
            while data := await client.reader.read(65536):
                written += data
        # The close frame (1007, no reason) is the last thing the server wrote: no pong after it.
        assert written.endswith(b"\x88\x02\x03\xef"), written


async def test_a_close_frame_is_answered(live_server: LiveServer) -> None:
    async with joined(live_server) as client:
        await client.write(client_frame((1000).to_bytes(2, "big"), opcode=CLOSE))
        assert await client.close_code() == 1000
        assert await client.reader.read() == b""  # and the server ends the connection


async def test_a_final_frame_inside_a_fragmented_message_closes_1002(
    live_server: LiveServer,
) -> None:
    async with joined(live_server) as client:
        await client.write(client_frame(b'{"type":', fin=False) + message_frame(ping("cut in")))
        assert await client.close_code() == 1002


@pytest.mark.parametrize(
    ("header", "code"),
    [
        # A reserved opcode, announcing 100 bytes that never come.
        pytest.param(client_frame(b"", opcode=3, length=100)[:2], 1002, id="reserved opcode"),
        # A continuation that would take the message past the limit (64 KiB here).
        pytest.param(
            client_frame(b"x" * 10, fin=False) + client_frame(b"", opcode=CONT, length=65530)[:8],
            1009,
            id="message over the limit",
        ),
    ],
)
async def test_a_frame_refused_by_its_header_closes_before_its_payload_comes(
    live_server: LiveServer, header: bytes, code: int
) -> None:
    async with joined(live_server) as client:
        await client.write(header)
        assert await client.close_code() == code


class GatedEchoServer:
    """uvicorn with the server's protocol and an app that accepts a connection only once told
    to, echoes every text message, and closes (1000) when it receives "bye"."""

    def __init__(self) -> None:
        self.url = ""  # set once it serves
        self.requested = asyncio.Event()  # the upgrade request has reached the app
        self.accept = asyncio.Event()  # set by the test
        self.protocols: list[ClassbridgeWebSocketProtocol] = []
        self.disconnects: list[int] = []  # the codes the app's connections ended with
        # Whether anything else waited in the connection's queue when its first disconnect
        # reached the app (connection_lost adds one of its own, but only on a later loop turn).
        self.queued_after_disconnect: list[bool] = []
        self.ended = asyncio.Event()  # a connection's app has seen its disconnect

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        self.protocols.append(scope["extensions"][DIRECT_RECEIVE]["receiver"])
        assert (await receive())["type"] == "websocket.connect"
        self.requested.set()
        await self.accept.wait()
        await send({"type": "websocket.accept", "subprotocol": WireFormat.JSON.value})
        while (message := await receive())["type"] == "websocket.receive":
            if message["text"] == "bye":
                await send({"type": "websocket.close", "code": 1000})
            else:
                await send({"type": "websocket.send", "text": message["text"]})
        self.disconnects.append(message["code"])
        self.queued_after_disconnect.append(not self.protocols[-1].queue.empty())
        self.ended.set()

    async def connect(self) -> CraftedClient:
        """A connection whose upgrade request is sent and has reached the app (not accepted)."""
        uri = parse_uri(self.url)
        protocol = ClientProtocol(uri, subprotocols=[Subprotocol(WireFormat.JSON.value)])
        reader, writer = await asyncio.open_connection(uri.host, uri.port)
        protocol.send_request(protocol.connect())
        writer.write(b"".join(protocol.data_to_send()))
        await asyncio.wait_for(self.requested.wait(), WAIT)
        return CraftedClient(protocol, reader, writer)


@asynccontextmanager
async def serving(app: Any, **options: Any) -> AsyncIterator[str]:
    """uvicorn with the server's protocol serving ``app`` on a free port: its ws:// URL."""
    sock = listen("127.0.0.1", 0)
    config = uvicorn.Config(
        app,
        interface="asgi3",  # a bound method or an instance: uvicorn would not tell
        ws=ClassbridgeWebSocketProtocol,
        ws_per_message_deflate=False,
        lifespan="off",
        **{"log_level": "warning", **options},
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT):
            while not server.started:
                if task.done():
                    task.result()  # it failed to start: its error
                await asyncio.sleep(0.005)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT)


@asynccontextmanager
async def gated_echo_server() -> AsyncIterator[GatedEchoServer]:
    gated = GatedEchoServer()
    async with serving(gated.app) as gated.url:
        yield gated


async def test_frames_of_a_client_that_waited_for_the_accept_are_read_by_the_server_itself() -> (
    None
):
    async with gated_echo_server() as gated:
        client = await gated.connect()
        try:
            gated.accept.set()
            await read_upgrade_answer(client)
            await client.write(client_frame(b"one") + client_frame(b"two"), pieces=4)
            assert [(await client.frame()).data for _ in range(2)] == [b"one", b"two"]
            assert gated.protocols[0].reads_frames_itself
        finally:
            client.writer.close()


async def test_frames_that_came_before_the_accept_and_after_it_are_all_read_in_order() -> None:
    """A client that does not wait for the 101: frames read before the app accepts stay with
    websockets' parser, and the server reads every frame after them with it, in order."""
    async with gated_echo_server() as gated:
        client = await gated.connect()
        try:
            early = client_frame(b"early one") + client_frame(b"early two")
            await client.write(early, pieces=3)  # the first piece ends inside a frame
            gated.accept.set()
            await client.write(client_frame(b"late"), pieces=2)
            await read_upgrade_answer(client)
            echoed = [(await client.frame()).data for _ in range(3)]
            assert echoed == [b"early one", b"early two", b"late"]
            assert not gated.protocols[0].reads_frames_itself
        finally:
            client.writer.close()


async def test_after_the_server_closes_it_reads_the_clients_close_and_no_more_messages() -> None:
    async with gated_echo_server() as gated:
        client = await gated.connect()
        try:
            gated.accept.set()
            await read_upgrade_answer(client)
            client.answers = False
            await client.write(client_frame(b"bye"))
            assert await client.close_code() == 1000
            # A message written before the client saw the close, then the client's own close.
            await client.write(
                client_frame(b"too late") + client_frame((1000).to_bytes(2, "big"), opcode=CLOSE),
                pieces=3,
            )
            assert await client.reader.read() == b""  # the closing handshake is done
            assert gated.disconnects == [1000]  # the client's close was read: not 1006
        finally:
            client.writer.close()


@pytest.mark.parametrize(
    ("failing", "code"),
    [
        pytest.param(client_frame(b"\xff\xfe"), 1007, id="text that is not UTF-8"),
        # Refused by websockets' parser, which keeps the error: what it is handed next fails
        # the connection once more unless nothing more is handed to it.
        pytest.param(client_frame(b"bare", masked=False), 1002, id="unmasked"),
    ],
)
async def test_after_a_failing_frame_the_rest_of_the_read_reaches_neither_client_nor_app(
    failing: bytes, code: int
) -> None:
    async with gated_echo_server() as gated:
        client = await gated.connect()
        try:
            gated.accept.set()
            await read_upgrade_answer(client)
            await client.write(
                failing
                + client_frame(b"anyone?", opcode=PING)
                + client_frame(b"echo me")
                + client_frame((1000).to_bytes(2, "big"), opcode=CLOSE)
            )
            written = b""
            async with asyncio.timeout(WAIT):
                while data := await client.reader.read(65536):
                    written += data
                await gated.ended.wait()
            # One close frame (its code, perhaps a reason) and nothing after it.
            assert written[:2] == bytes((0x88, len(written) - 2)), written
            assert written[2:4] == code.to_bytes(2, "big"), written
            assert gated.disconnects == [code]
            assert gated.queued_after_disconnect == [False]  # one disconnect, nothing after it
        finally:
            client.writer.close()
