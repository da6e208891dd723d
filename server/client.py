"""A small asyncio client for Classbridge: connect, join, send, receive events, resume.

Used by the tests and the load tests; written only against docs/protocol.md. It keeps the last
seq and epoch it saw, so ``reconnect()`` resumes exactly where the connection broke.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.cancelling import cancel_and_wait
from server.protocol.board import BoardRecords
from server.protocol.classroom import PeerReaction
from server.protocol.codec import WireFormat, decode_frame, encode_message
from server.protocol.lobby import LobbyWait
from server.protocol.messages import (
    Ack,
    ErrorReply,
    EventMessage,
    Pong,
    ServerMessage,
    Welcome,
    parse_server_message,
)
from server.protocol.peer import PeerCursors, PeerSignal, PeerTyping
from server.rooms.board.model import Board
from server.rooms.board.replica import add_records, apply_board_event, boards_from_summaries

PeerMessage = PeerSignal | PeerTyping | PeerCursors | PeerReaction

MAX_MESSAGE_BYTES = 64 * 2**20


class ClientError(Exception):
    """The server answered a request with an error reply."""

    def __init__(self, reply: ErrorReply) -> None:
        super().__init__(f"{reply.code}: {reply.message}")
        self.reply = reply
        self.code = reply.code


class ClassbridgeClient:
    def __init__(
        self,
        url: str,
        token: str,
        wire_format: WireFormat = WireFormat.MSGPACK,
        *,
        max_queue: int | None = 64,
        timeout: float = 10.0,
        receive_buffer: int | None = None,
    ) -> None:
        self.url = url
        self.token = token
        self.wire_format = wire_format
        self.max_queue = max_queue
        self.timeout = timeout
        # A small socket receive buffer (bytes) makes a client that stops reading fill up fast:
        # the load tests and the tests use it to play a slow consumer.
        self.receive_buffer = receive_buffer
        self.last_seq: int | None = None
        self.epoch: str | None = None
        self.welcome: Welcome | None = None
        self.events: asyncio.Queue[EventMessage] = asyncio.Queue()
        self.errors: asyncio.Queue[ErrorReply] = asyncio.Queue()
        self.peer_messages: asyncio.Queue[PeerMessage] = asyncio.Queue()  # not logged, no seq
        # This client's copy of the boards, kept up to date from the snapshot and the events.
        self.boards: dict[str, Board] = {}
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str | int, asyncio.Future[ServerMessage]] = {}
        self._welcome_waiter: asyncio.Future[Welcome] | None = None
        self._lobby_waiter: asyncio.Future[LobbyWait] | None = None
        self.lobby: LobbyWait | None = None  # the join waits in the lobby (until a welcome)
        self._ids = itertools.count(1)
        self._reading = asyncio.Event()
        self._reading.set()

    # --- connecting ----------------------------------------------------------------------------

    async def connect(self, *, resume: bool = True, session: str | None = None) -> Welcome:
        """Open a connection and join; resumes from the last seen event when there is one."""
        answer = await self.connect_or_wait(resume=resume, session=session)
        if isinstance(answer, LobbyWait):
            raise ConnectionError("join accepted, but waiting in the lobby")
        return answer

    async def connect_or_wait(
        self, *, resume: bool = True, session: str | None = None
    ) -> Welcome | LobbyWait:
        """Like ``connect``, but a join that waits in the lobby returns its ``lobby`` message;
        ``admitted()`` then waits for the welcome (docs/protocol.md, "Lobby")."""
        self.close_code = self.close_reason = None
        self.lobby = None
        self._reading.set()
        self._ws = await connect(
            self.url,
            subprotocols=[self.wire_format.value],  # type: ignore[list-item]
            compression=None,
            max_queue=self.max_queue,
            # A welcome holds the recent chat: 200 posts of up to 2000 characters can pass the
            # library's 1 MiB default. The server is trusted; this only bounds a broken one.
            max_size=MAX_MESSAGE_BYTES,
            open_timeout=self.timeout,
            sock=await self._open_socket(),
        )
        self._welcome_waiter = asyncio.get_running_loop().create_future()
        self._lobby_waiter = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read_loop(self._ws))
        await self.send_raw(self._join_message(resume, session))
        waiting: list[asyncio.Future[Any]] = [self._welcome_waiter, self._lobby_waiter]
        done, _ = await asyncio.wait(
            [*waiting, self._reader], timeout=self.timeout, return_when="FIRST_COMPLETED"
        )
        for answer in waiting:
            if answer in done:
                result: Welcome | LobbyWait = answer.result()
                return result
        error = self.errors.get_nowait() if not self.errors.empty() else None
        raise ConnectionError(
            f"join failed: close {self.close_code} {self.close_reason}"
            + (f" ({error.code})" if error else "")
        )

    def _join_message(self, resume: bool, session: str | None) -> dict[str, Any]:
        join: dict[str, Any] = {"type": "join", "token": self.token, "id": "join"}
        if session is not None:
            join["session"] = session
        if resume and self.last_seq is not None and self.epoch is not None:
            join["resume"] = {"seq": self.last_seq, "epoch": self.epoch}
        return join

    async def _open_socket(self) -> socket.socket | None:
        """A connected TCP socket with the chosen receive buffer, or None for the default."""
        if self.receive_buffer is None:
            return None
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named, so that asyncio's loop turns Nagle off on it (see cli.listen).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        # Set before connecting: the TCP window is agreed on at the handshake.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (host, port))
        except BaseException:
            sock.close()
            raise
        return sock

    async def admitted(self, timeout: float | None = None) -> Welcome:
        """The welcome that ends a wait in the lobby; ConnectionError if the server closes
        the connection first (4014 ``lobby_denied``, say)."""
        assert self._welcome_waiter is not None, "not connected"
        assert self._reader is not None, "not connected"
        waiting: list[asyncio.Future[Any]] = [self._welcome_waiter, self._reader]
        done, _ = await asyncio.wait(
            waiting, timeout=timeout or self.timeout, return_when="FIRST_COMPLETED"
        )
        if self._welcome_waiter in done:
            return self._welcome_waiter.result()
        raise ConnectionError(f"not admitted: close {self.close_code} {self.close_reason}")

    async def reconnect(self) -> Welcome:
        await self.drop()
        return await self.connect(resume=True)

    async def drop(self) -> None:
        """Break the connection without a closing handshake, as a lost network would."""
        if self._ws is not None and self._ws.transport is not None:
            self._ws.transport.abort()
        await self._stop_reader()

    async def close(self) -> None:
        self._reading.set()  # the closing handshake needs the reader
        if self._ws is not None:
            await self._ws.close()
        await self._stop_reader()

    def pause_reading(self) -> None:
        """Stop taking messages off the connection, as a stuck client would (see max_queue)."""
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    async def wait_closed(self, timeout: float | None = None) -> int | None:
        """Wait for the server to close the connection; returns the close code."""
        if self._reader is not None:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout or self.timeout)
        return self.close_code

    async def _stop_reader(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(Exception):  # how the reader ended is not this call's business
                await cancel_and_wait(self._reader)
        self._reader = None

    # --- sending -------------------------------------------------------------------------------

    async def send_raw(self, message: dict[str, Any] | bytes | str) -> None:
        """Send a message map (encoded in this connection's format) or a raw frame as is."""
        assert self._ws is not None, "not connected"
        if isinstance(message, bytes | str):
            await self._ws.send(message)
            return
        await self._ws.send(encode_message(message, self.wire_format))

    async def request(self, message: dict[str, Any]) -> ServerMessage:
        """Send with a fresh id and wait for the ack (or pong); raise ``ClientError`` on error."""
        request_id = f"r{next(self._ids)}"
        future: asyncio.Future[ServerMessage] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self.send_raw({**message, "id": request_id})
            reply = await asyncio.wait_for(future, self.timeout)
        finally:
            self._pending.pop(request_id, None)
        if isinstance(reply, ErrorReply):
            raise ClientError(reply)
        return reply

    async def command(self, message: dict[str, Any]) -> Ack:
        """Send a command (a board operation, say) and return its ack."""
        reply = await self.request(message)
        assert isinstance(reply, Ack)
        return reply

    async def chat(self, text: str, to: str | None = None) -> Ack:
        message: dict[str, Any] = {"type": "chat.send", "text": text}
        if to is not None:
            message["to"] = to
        reply = await self.request(message)
        assert isinstance(reply, Ack)
        return reply

    async def ping(self) -> Pong:
        reply = await self.request({"type": "ping"})
        assert isinstance(reply, Pong)
        return reply

    # --- receiving -----------------------------------------------------------------------------

    async def next_event(
        self, kinds: Sequence[str] | str | None = None, timeout: float | None = None
    ) -> EventMessage:
        """The next event (of one of ``kinds``, skipping others)."""
        wanted = (kinds,) if isinstance(kinds, str) else kinds
        async with asyncio.timeout(timeout or self.timeout):
            while True:
                event = await self.events.get()
                if wanted is None or event.kind in wanted:
                    return event

    async def next_peer_message(self, timeout: float | None = None) -> PeerMessage:
        async with asyncio.timeout(timeout or self.timeout):
            return await self.peer_messages.get()

    def drain_events(self) -> list[EventMessage]:
        drained = []
        while not self.events.empty():
            drained.append(self.events.get_nowait())
        return drained

    async def _read_loop(self, ws: ClientConnection) -> None:
        try:
            while True:
                await self._reading.wait()
                frame = await ws.recv()
                decoded = decode_frame(frame, self.wire_format)
                for item in decoded if isinstance(decoded, list) else [decoded]:
                    self._dispatch(parse_server_message(item))
        except ConnectionClosed:
            pass
        finally:
            if ws.close_code is not None:
                self.close_code, self.close_reason = ws.close_code, ws.close_reason
            elif self.close_code is None:
                self.close_code = 1006
            # No answer can come any more: requests in flight fail now, not at their timeout.
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"connection closed: {self.close_code}"))

    def _dispatch(self, message: ServerMessage) -> None:
        if isinstance(message, PeerSignal | PeerTyping | PeerCursors | PeerReaction):
            self.peer_messages.put_nowait(message)
            return
        if isinstance(message, BoardRecords):
            add_records(self.boards, message.board, message.records)
            return
        if isinstance(message, EventMessage):
            self.last_seq = message.seq
            apply_board_event(self.boards, message.seq, message.kind, message.data)
            self.events.put_nowait(message)
            return
        if isinstance(message, LobbyWait):
            self.lobby = message
            if self._lobby_waiter is not None and not self._lobby_waiter.done():
                self._lobby_waiter.set_result(message)
            return
        if isinstance(message, Welcome):
            self.lobby = None
            self.welcome, self.epoch = message, message.epoch
            if message.session is not None:  # a snapshot: the boards start again from it
                self.boards = boards_from_summaries(message.session.get("boards", []))
            self.last_seq = message.seq if message.resume != "events" else self.last_seq
            if self._welcome_waiter is not None and not self._welcome_waiter.done():
                self._welcome_waiter.set_result(message)
            return
        future = self._pending.get(message.id) if message.id is not None else None
        if future is not None and not future.done():
            future.set_result(message)
        elif isinstance(message, ErrorReply):
            self.errors.put_nowait(message)

    async def signal(
        self,
        to: str,
        pc: str,
        description: dict[str, Any] | None = None,
        candidate: dict[str, Any] | None = None,
    ) -> Ack:
        """Relay WebRTC signaling to participant ``to``; acked once published (not delivered)."""
        message: dict[str, Any] = {"type": "signal", "to": to, "pc": pc}
        if description is not None:
            message["description"] = description
        if candidate is not None:
            message["candidate"] = candidate
        reply = await self.request(message)
        assert isinstance(reply, Ack)
        return reply

    async def typing(self) -> Ack:
        reply = await self.request({"type": "typing"})
        assert isinstance(reply, Ack)
        return reply
