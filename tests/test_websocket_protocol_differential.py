"""The server's frame reader against websockets' own parser: the same frames, the same outcome.

``ClassbridgeWebSocketProtocol`` reads most frames itself instead of leaving them to websockets'
parser (server/websocket_protocol.py). Hypothesis writes random frame sequences, valid and not
(fragments with control frames between them, unmasked frames, reserved bits and opcodes,
control frames too long, text that is not UTF-8, messages over the size limit, closes), splits
them at random points and sends them to a real uvicorn server with the server's protocol. What
the app receives (every message, then the disconnect and its code) and what the client gets
back (pongs, the close code) must be what uvicorn's own handling makes of websockets' parser
reading the same frames one at a time: websockets' sans-I/O ``ServerProtocol`` in this process,
with uvicorn's rules for messages (fragments joined, text decoded, 1007 when it is not UTF-8).

Why not stock uvicorn on a second server: it parses a whole read before it handles any frame
of it, so a complete message followed in the same read by a broken frame never reaches its app,
and whether it does depends on how the kernel split the bytes (seen here: the same stream gave
its app the message or not as the reads fell). The server's protocol handles frames in order
and delivers what came before the broken frame whatever the reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from server.direct_receive import DIRECT_RECEIVE
from server.protocol.codec import WireFormat
from server.websocket_protocol import ClassbridgeWebSocketProtocol
from tests.helpers import WAIT
from tests.test_websocket_protocol import client_frame, serving

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
MAX_SIZE = 1024  # the server's ws_max_size: messages around it are drawn too
TEXT, BINARY, CONT, CLOSE, PING, PONG, RESERVED = 1, 2, 0, 8, 9, 10, 3

Outcome = tuple[list[tuple[Any, ...]], list[bytes], int | None]


class RecordingApp:
    """Accepts every WebSocket and records what it receives, per connection, in order."""

    def __init__(self) -> None:
        self.received: list[list[tuple[Any, ...]]] = []
        self.reads_itself: list[bool] = []  # whether the protocol's own reader was on
        self.ended = asyncio.Queue[int]()  # a connection's index once its disconnect came

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        index = len(self.received)
        record: list[tuple[Any, ...]] = []
        self.received.append(record)
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept", "subprotocol": WireFormat.JSON.value})
        receiver: ClassbridgeWebSocketProtocol = scope["extensions"][DIRECT_RECEIVE]["receiver"]
        self.reads_itself.append(receiver.reads_frames_itself)
        while (message := await receive())["type"] == "websocket.receive":
            record.append(
                ("text", message["text"]) if "text" in message else ("bytes", message["bytes"])
            )
        record.append(("disconnect", message["code"]))
        self.ended.put_nowait(index)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[tuple[str, RecordingApp]]:
    """uvicorn with the server's protocol, and the app above."""
    app = RecordingApp()
    async with serving(
        app,
        log_level="critical",  # the broken frames are the point: no log lines for them
        ws_max_size=MAX_SIZE,
        ws_ping_interval=None,
    ) as url:
        yield url, app


async def exchange(url: str, app: RecordingApp, stream: bytes, cuts: list[int]) -> Outcome:
    """Send ``stream`` in pieces after the 101; what the app got, the pongs, the close code.

    A plain socket, read by a task of its own while the pieces go out: once the server has
    failed the connection, a piece written after it is answered with a reset, and asyncio's
    streams would then drop what had been received and not yet read (the close frame). The
    kernel still hands a socket's received bytes over before the reset's error."""
    uri = parse_uri(url)
    protocol = ClientProtocol(uri, subprotocols=[Subprotocol(WireFormat.JSON.value)])
    loop = asyncio.get_running_loop()
    frames: list[Frame] = []
    upgraded = asyncio.Event()

    async def read_all(sock: socket.socket) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await loop.sock_recv(sock, 65536):
                protocol.receive_data(data)
                for event in protocol.events_received():
                    if isinstance(event, Frame):
                        frames.append(event)
                    else:
                        upgraded.set()  # the 101: the server's reader is the one that reads

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece sent as written
        await loop.sock_connect(sock, (uri.host, uri.port))
        protocol.send_request(protocol.connect())
        await loop.sock_sendall(sock, b"".join(protocol.data_to_send()))
        reading = asyncio.create_task(read_all(sock))
        async with asyncio.timeout(WAIT):
            await upgraded.wait()
        for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
            try:
                await loop.sock_sendall(sock, stream[start:end])
            except ConnectionError:
                break  # the server is gone: the rest is moot
            await asyncio.sleep(0.001)  # each piece a read of its own, most often
        async with asyncio.timeout(WAIT):
            await reading
            index = await app.ended.get()
    pongs = [bytes(f.data) for f in frames if f.opcode is Opcode.PONG]
    closes = [Close.parse(bytes(f.data)).code for f in frames if f.opcode is Opcode.CLOSE]
    return app.received[index], pongs, closes[0] if closes else None


# A frame a client might write: (opcode, fin, payload, masked, reserved bits).
FrameSpec = tuple[int, bool, bytes, bool, int]

PAYLOADS = st.one_of(
    st.text(max_size=30).map(str.encode),
    st.binary(max_size=30),
    st.binary(min_size=MAX_SIZE - 8, max_size=MAX_SIZE + 8),  # around the limit
    st.sampled_from([b"\xff\xfe", b"ok \xed\xa0\x80", "\u00e9".encode()[:1]]),  # not UTF-8
)
WHOLE = st.builds(
    lambda op, data: (op, True, data, True, 0), st.sampled_from([TEXT, BINARY]), PAYLOADS
)
CONTROL = st.builds(
    lambda op, data: (op, True, data, True, 0),
    st.sampled_from([PING, PONG]),
    st.binary(max_size=20),
)
FRAGMENTED = st.builds(
    lambda op, first, middle, last: [
        (op, False, first, True, 0),
        *middle,
        (CONT, True, last, True, 0),
    ],
    st.sampled_from([TEXT, BINARY]),
    PAYLOADS,
    st.lists(
        st.one_of(st.builds(lambda d: (CONT, False, d, True, 0), PAYLOADS), CONTROL), max_size=3
    ),
    PAYLOADS,
)
# Anything at all, most often a frame that breaks the protocol somewhere.
STRAY = st.tuples(
    st.sampled_from([TEXT, BINARY, CONT, PING, PONG, CLOSE, RESERVED]),
    st.booleans(),
    st.one_of(PAYLOADS, st.binary(max_size=130)),
    st.sampled_from([True] * 6 + [False]),
    st.sampled_from([0] * 6 + [0x40, 0x20, 0x10]),
)
FRAMES = st.lists(
    st.one_of(
        WHOLE.map(lambda f: [f]), FRAGMENTED, CONTROL.map(lambda f: [f]), STRAY.map(lambda f: [f])
    ),
    min_size=1,
    max_size=5,
).map(lambda units: [frame for unit in units for frame in unit])


def written_frames(frames: list[FrameSpec]) -> list[bytes]:
    written = [
        client_frame(payload, opcode=opcode, fin=fin, rsv=rsv, masked=masked)
        for opcode, fin, payload, masked, rsv in frames
    ]
    return [*written, client_frame((1000).to_bytes(2, "big"), opcode=CLOSE)]  # and goodbye


def expected(written: list[bytes]) -> Outcome:
    """uvicorn's handling of websockets' parser fed the frames one at a time."""
    conn = ServerProtocol(state=State.OPEN, max_size=MAX_SIZE)
    app: list[tuple[Any, ...]] = []
    parts: list[bytes] = []
    for frame_bytes in written:
        conn.receive_data(frame_bytes)
        for event in conn.events_received():
            assert isinstance(event, Frame)  # an open connection's events are its frames
            if event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                if event.opcode is not Opcode.CONT:
                    parts, text = [], event.opcode is Opcode.TEXT
                parts.append(bytes(event.data))
                if not event.fin:
                    continue
                data = b"".join(parts)
                if not text:
                    app.append(("bytes", data))
                    continue
                try:
                    app.append(("text", data.decode()))
                except UnicodeDecodeError:
                    conn.send_close(1007)
                    break
        if conn.close_sent is not None or conn.close_rcvd is not None:
            break
    if conn.parser_exc is not None or (conn.close_sent is not None and conn.close_rcvd is None):
        assert conn.close_sent is not None
        app.append(("disconnect", conn.close_sent.code))  # the server failed the connection
    else:
        assert conn.close_rcvd is not None  # the stream always ends with the client's close
        app.append(("disconnect", conn.close_rcvd.code))
    reader = ClientProtocol(parse_uri("ws://localhost/"), state=State.OPEN)
    reader.receive_data(b"".join(conn.data_to_send()))
    frames = [e for e in reader.events_received() if isinstance(e, Frame)]
    pongs = [bytes(f.data) for f in frames if f.opcode is Opcode.PONG]
    closes = [Close.parse(bytes(f.data)).code for f in frames if f.opcode is Opcode.CLOSE]
    return app, pongs, closes[0] if closes else None


@MODULE_LOOP
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames=FRAMES, cuts=st.lists(st.integers(1, 4000), max_size=6))
# The cases the reader's own checks are for, every run (the random ones vary):
@example(frames=[(TEXT, False, b"ab", True, 0), (TEXT, True, b"cd", True, 0)], cuts=[])
@example(
    frames=[(TEXT, False, b"a", True, 0), (PING, True, b"p", True, 0), (CONT, True, b"b", True, 0)],
    cuts=[7],
)
@example(frames=[(TEXT, True, b"ok", True, 0), (TEXT, True, b"bare", False, 0)], cuts=[])
@example(frames=[(TEXT, True, b"ok", True, 0), (RESERVED, True, b"", True, 0)], cuts=[])
@example(frames=[(TEXT, True, b"ok", True, 0x40), (PING, True, b"p", True, 0)], cuts=[])
@example(
    frames=[(BINARY, True, b"x" * (MAX_SIZE + 1), True, 0), (PING, True, b"p", True, 0)], cuts=[3]
)
@example(
    frames=[
        (PING, True, b"1", True, 0),
        (TEXT, True, b"\xff", True, 0),
        (PING, True, b"2", True, 0),
    ],
    cuts=[],
)
@example(
    frames=[(TEXT, False, b"a" * 100, True, 0), (CONT, True, b"b", True, 0)], cuts=[10, 50, 90]
)
async def test_the_servers_reader_does_what_websockets_parser_does(
    server: tuple[str, RecordingApp], frames: list[FrameSpec], cuts: list[int]
) -> None:
    written = written_frames(frames)
    stream = b"".join(written)
    at = sorted({cut % len(stream) for cut in cuts} - {0})
    assert await exchange(*server, stream, at) == expected(written)
    assert server[1].reads_itself[-1]  # the reader under test read these frames
