"""A lean WebSocket client for the generator, on websockets' sans-I/O ``ClientProtocol``.

The generator shares the machine with the server, so every microsecond it spends per frame is
taken from what it can measure. websockets' asyncio client queues each frame and wakes a
reader task for it; here an ``asyncio.Protocol`` hands each message to a callback straight
from ``data_received``, and sends are plain writes (the benchmark stays open loop).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import cast

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

MAX_MESSAGE = 2**20
CLOSE_TIMEOUT = 2.0

OnMessage = Callable[[bytes | str], None]


class LeanSocket(asyncio.Protocol):
    def __init__(self, url: str, subprotocol: str | None, on_message: OnMessage) -> None:
        offered = [Subprotocol(subprotocol)] if subprotocol else None  # socket.io asks for none
        self.protocol = ClientProtocol(parse_uri(url), subprotocols=offered, max_size=MAX_MESSAGE)
        self.on_message = on_message
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._transport: asyncio.Transport | None = None
        self._fragments: list[bytes] = []
        self._fragmented_text = False
        # TCP payload in each direction (WebSocket headers and the handshake included).
        self.bytes_received = 0
        self.bytes_sent = 0

    @classmethod
    async def connect(
        cls, url: str, subprotocol: str | None, on_message: OnMessage, timeout: float
    ) -> LeanSocket:
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            _, socket = await loop.create_connection(
                lambda: cls(url, subprotocol, on_message), uri.host, uri.port
            )
            await socket.opened
        return socket

    @property
    def local_port(self) -> int | None:
        """This end's TCP port: the server sees it as the peer port of the connection."""
        if self._transport is None:
            return None
        name = self._transport.get_extra_info("sockname")
        return int(name[1]) if isinstance(name, tuple) and len(name) >= 2 else None

    @property
    def close_code(self) -> int | None:
        return self.protocol.close_code

    @property
    def close_reason(self) -> str | None:
        return self.protocol.close_reason

    def send(self, message: bytes | str) -> bool:
        """Queue one message for sending; False when the connection is no longer open."""
        if self.protocol.state is not State.OPEN:
            return False
        if isinstance(message, str):
            self.protocol.send_text(message.encode())
        else:
            self.protocol.send_binary(message)
        self._flush()
        return True

    def abort(self) -> None:
        """Drop the TCP connection at once (no closing handshake)."""
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        """Closing handshake, bounded; the TCP connection is dropped if it takes too long."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(1000)
            self._flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), CLOSE_TIMEOUT)
        if self._transport is not None and not self.closed.done():
            self._transport.abort()

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)
            elif isinstance(event, Response):
                self._on_handshake()
        self._flush()  # pongs and close replies

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.protocol.state is not State.CLOSED:
            self.protocol.receive_eof()  # moves the protocol to CLOSED (abnormal closure)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    # --- helpers -------------------------------------------------------------------------------

    def _on_handshake(self) -> None:
        if self.opened.done():
            return
        if self.protocol.state is State.OPEN:
            self.opened.set_result(None)
        else:
            error = self.protocol.handshake_exc or ConnectionError("handshake failed")
            self.opened.set_exception(error)

    def _on_frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            if frame.fin:
                data = bytes(frame.data)
                self.on_message(data.decode() if frame.opcode is Opcode.TEXT else data)
                return
            self._fragments = [bytes(frame.data)]
            self._fragmented_text = frame.opcode is Opcode.TEXT
        elif frame.opcode is Opcode.CONT and self._fragments:
            self._fragments.append(bytes(frame.data))
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), []
                self.on_message(data.decode() if self._fragmented_text else data)

    def _flush(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        for data in self.protocol.data_to_send():
            if data:
                self.bytes_sent += len(data)
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()
        if self.protocol.close_expected():
            loop = asyncio.get_running_loop()
            loop.call_later(CLOSE_TIMEOUT, transport.abort)
