"""A lean WebSocket client for the generator, on websockets' sans-I/O ``ClientProtocol``.

The generator shares the machine with the server, so every microsecond it spends per frame is
taken from what it can measure. websockets' asyncio client queues each frame and wakes a
reader task for it; here an ``asyncio.Protocol`` hands each message to a callback straight
from ``data_received``, and sends are plain writes (the benchmark stays open loop).

Once the handshake is done, the frames every benchmark message arrives in (unmasked, final,
text or binary, within ``MAX_MESSAGE``) are read here (server/frame_head.py, as the server
reads its clients' frames), not by websockets' parser: at a server's capacity the generator
reads a hundred thousand frames a second, and the parser's generators and event objects were a
fifth of its CPU (docs/performance-history.md, "A tenth machine"). Every other frame (a ping, a
close, a fragment, anything malformed) goes to websockets whole, at a frame boundary, so it
answers pings, closes and fails the connection exactly as before.
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

from server.frame_head import FIN_DATA, FIN_TEXT, FrameStart, frame_head, mid_message_after

MAX_MESSAGE = 2**20
CLOSE_TIMEOUT = 2.0
MAX_RESPONSE_HEAD = 64 * 1024  # an upgrade answer is a few hundred bytes
INVALID_UTF8 = 1007  # RFC 6455 section 7.4.1


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
        self._head = b""  # the upgrade answer, until its end is in
        self._head_read = False  # once given to websockets, a refusal's body follows it there
        self._lean = False  # set once open: frames are read by _read_frames
        self._unread = FrameStart()  # the start of a frame not complete yet
        self._parser_mid_message = False  # websockets holds the first fragments of a message
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
            try:
                await socket.opened
            except BaseException:
                socket.abort()  # refused, or timed out: the caller never gets it to close
                raise
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
        if self._lean:
            whole = self._unread.add(data)
            if whole is not None:
                self._read_frames(whole)
        elif self.protocol.state is State.CONNECTING and not self._head_read:
            self._read_head(data)
        else:
            self._parse(data)

    def _read_head(self, data: bytes) -> None:
        """Give websockets the upgrade answer alone, so that what follows it is read here."""
        head = self._head + data
        end = head.find(b"\r\n\r\n")
        if end < 0 and len(head) <= MAX_RESPONSE_HEAD:
            self._head = head
            return
        self._head = b""
        self._head_read = True  # from here on, websockets reads whatever is not a frame
        if end < 0:  # not an HTTP answer we can use: websockets refuses it
            self._parse(head)
            return
        rest = head[end + 4 :]
        self._parse(head[: end + 4])
        if self.protocol.state is State.OPEN:
            self._lean = True
            self._read_frames(rest)
        elif rest:
            self._parse(rest)  # a refusal's body, or whatever follows: websockets' business

    def _read_frames(self, data: bytes) -> None:
        """Hand every complete data frame to ``on_message``; the rest goes to websockets."""
        size, at = len(data), 0
        while at < size:
            head = frame_head(data, at)
            if head is None:
                self._unread.hold(data[at:], 0)  # a few bytes of header
                return
            first, masked, start, end = head
            if masked or end - start > MAX_MESSAGE:
                # A server must not mask; too big is 1009: websockets fails the connection.
                self._leave_to_websockets(data[at:])
                return
            if end > size:
                self._unread.hold(data[at:], end - at)
                return
            if first in FIN_DATA and not self._parser_mid_message:
                self._deliver(data[start:end], first == FIN_TEXT)
            else:
                # A control frame, or part of a fragmented message, which websockets then reads
                # to its end (control frames between the fragments included).
                self._parser_mid_message = mid_message_after(first, self._parser_mid_message)
                self._parse(data[at:end])
            at = end
            if self.protocol.state is not State.OPEN:
                # Closing (a close frame, or a frame websockets refused): it reads the rest.
                self._leave_to_websockets(data[at:])
                return

    def _leave_to_websockets(self, rest: bytes) -> None:
        self._lean = False
        self._unread.clear()
        if rest:
            self._parse(rest)

    def _deliver(self, payload: bytes, text: bool) -> None:
        """One whole message to ``on_message``: text decoded, or the connection failed."""
        if not text:
            self.on_message(payload)
            return
        try:
            decoded = payload.decode()
        except UnicodeDecodeError:
            # websockets' sans-I/O layer leaves this check to its user (RFC 6455 section 8.1).
            self.protocol.fail(INVALID_UTF8, "invalid UTF-8")
            self._flush()
            return
        self.on_message(decoded)

    def _parse(self, data: bytes) -> None:
        """What websockets reads: the handshake, and every frame ``_read_frames`` passes on."""
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
                self._deliver(bytes(frame.data), frame.opcode is Opcode.TEXT)
                return
            self._fragments = [bytes(frame.data)]
            self._fragmented_text = frame.opcode is Opcode.TEXT
        elif frame.opcode is Opcode.CONT and self._fragments:
            self._fragments.append(bytes(frame.data))
            if frame.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(data, self._fragmented_text)

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
