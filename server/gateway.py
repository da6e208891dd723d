"""The only code that reads and writes WebSockets.

Per connection: choose the wire format, wait for the join, then decode, rate-limit and route
each client message; a writer task drains the connection's bounded send queue in batches.
Errors become error replies (the connection stays) or, where fatal, a close code.

Once joined, a message is most often handled in the callback that read it rather than by the
connection's task (``_take_now``, server/direct_receive.py): the same handler, in the same
order, one message at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from typing import Any

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import logs, metrics
from server.auth import Grant, TokenService
from server.budgets import ConnectionBudgets
from server.direct_receive import (
    REST_OF_MESSAGE,
    DirectReceiver,
    Finished,
    Waiting,
    direct_receiver,
    finish,
    run_now,
)
from server.direct_send import direct_sink
from server.errors import (
    AlreadyJoined,
    BadMessage,
    ClassbridgeError,
    InvalidMessage,
    UnknownType,
    WrongSession,
)
from server.hub import Connection, SessionHub
from server.hub.cursors import CursorSender
from server.hub.outbox import Flusher, Outbox
from server.protocol.classroom import Reaction
from server.protocol.closecodes import CloseCode
from server.protocol.codec import Frame, WireFormat, decode_frame, pack_batch
from server.protocol.fields import request_id
from server.protocol.ice import IceRefresh, IceServers
from server.protocol.messages import (
    Ack,
    ClientMessage,
    ErrorReply,
    Join,
    Leave,
    Ping,
    Pong,
    parse_client_message,
)
from server.protocol.peer import Cursor, Signal, Typing
from server.settings import Limits
from server.signaling.ice import refresh_ice

log = logging.getLogger(__name__)

_BAD_INPUT = (BadMessage, InvalidMessage, UnknownType)
# How long a closing connection may take to get its close frame out before we give up on it.
CLOSE_TIMEOUT = 5.0

Outcome = tuple[int, str] | None  # a close code and reason, or None when the client went away


class Gateway:
    def __init__(self, hub: SessionHub, tokens: TokenService, limits: Limits) -> None:
        self.hub = hub
        self.tokens = tokens
        self.limits = limits
        self.live: set[ClientSession] = set()  # open connections, for the drain (server/drain.py)
        # Writes every connection's queued messages once per loop turn (server/hub/outbox.py).
        self.flusher = Flusher(limits.send_interval_ms / 1000)

    async def handle(self, websocket: WebSocket) -> None:
        offered = list(websocket.scope.get("subprotocols", []))
        wire_format = WireFormat.choose(offered)
        if wire_format is None:
            await websocket.accept()
            await websocket.close(CloseCode.UNSUPPORTED_SUBPROTOCOL, "unsupported_subprotocol")
            metrics.count_close(CloseCode.UNSUPPORTED_SUBPROTOCOL)
            return
        await websocket.accept(subprotocol=wire_format.value if offered else None)
        session = ClientSession(self, websocket, wire_format)
        self.live.add(session)
        try:
            await session.run()
        finally:
            self.live.discard(session)

    def close_all(self, code: int, reason: str) -> None:
        """End every open connection with ``code`` once what is queued for it is sent."""
        for session in list(self.live):
            session.connection.close(code, reason)


class ClientSession:
    """One WebSocket connection from accept to close."""

    def __init__(self, gateway: Gateway, websocket: WebSocket, wire_format: WireFormat) -> None:
        limits = gateway.limits
        self.gateway = gateway
        self.hub = gateway.hub
        self.limits = limits
        self.websocket = websocket
        self.wire_format = wire_format
        outbox = Outbox(limits.send_queue_bytes, limits.max_frame_bytes, gateway.flusher)
        outbox.sink = direct_sink(websocket.scope, wire_format)  # server/direct_send.py
        self.connection = Connection(wire_format, outbox, self._on_overflow)
        self.budgets = ConnectionBudgets(limits)
        self.cursor = CursorSender(self._publish_cursor)
        self.bad_messages = 0
        self.joined = False
        self._task: asyncio.Task[Any] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._writer_failed = False
        self._in_command = False  # a command is being handled: a stop waits for its reply
        self._grant: Grant | None = None
        # Messages taken in the read callback once joined (server/direct_receive.py): the
        # protocol offering it, the context they run in (this task's: its log ids), one that
        # had to wait and that this task finishes, and the outcome one of them ended with.
        self._receiver: DirectReceiver | None = None
        self._context: contextvars.Context | None = None
        self._waiting: Waiting | None = None
        self._outcome: Outcome = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        self._task = asyncio.current_task()
        logs.bind(connection=self.connection.id)  # on every record this task logs (logs.py)
        self._writer = asyncio.create_task(self._write_loop())
        outcome: Outcome = None
        metrics.CONNECTIONS.inc()
        try:
            outcome = await self._serve_until_done()
        finally:
            if self._receiver is not None:
                self._receiver.take_now = None  # from here on every message goes to ASGI
            if self._waiting is not None:  # never left that way; should it be, cancel it
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await self._finish_waiting(asyncio.CancelledError())
            metrics.CONNECTIONS.dec()
            metrics.count_close(None if outcome is None else outcome[0])
            # Also on the way out of a cancellation: the writer must not outlive the connection.
            self._task = None  # from here on an overflow has nothing left to interrupt
            self.cursor.close()
            if self.joined:
                await self.hub.detach(self.connection)
            await self._close(outcome)

    async def _serve_until_done(self) -> Outcome:
        try:
            return await self._serve()
        except asyncio.CancelledError:
            outcome = self._stopped()
            if outcome is None:
                raise
            assert self._task is not None
            self._task.uncancel()
            return outcome

    def _stopped(self) -> Outcome:
        """Why serving must stop now, if it must: the writer failed, the hub ended the
        connection (see Connection.close), or the client reads too slowly."""
        if self._outcome is not None:
            return self._outcome
        if self._writer_failed:
            return CloseCode.INTERNAL_ERROR, "internal_error"
        if self.connection.closing is not None:
            return self.connection.closing
        if self.connection.slow:
            log.warning("closing slow consumer (%s)", self._who())
            metrics.SLOW_CONSUMERS.inc()
            return CloseCode.SLOW_CONSUMER, "slow_consumer"
        return None

    async def _close(self, outcome: Outcome) -> None:
        writer = self._writer
        assert writer is not None
        if outcome is None or self.connection.slow:
            writer.cancel()  # the client is gone or stuck: queued messages cannot be delivered
        else:
            self.connection.outbox.close()
        try:
            await asyncio.wait_for(asyncio.shield(writer), CLOSE_TIMEOUT)
        except (TimeoutError, asyncio.CancelledError, Exception):
            writer.cancel()
        if outcome is None:
            return
        code, reason = outcome
        # A client that stopped reading or vanished cannot be told more than this.
        with contextlib.suppress(TimeoutError, RuntimeError, OSError, WebSocketDisconnect):
            await asyncio.wait_for(self.websocket.close(code, reason), CLOSE_TIMEOUT)

    async def _write_loop(self) -> None:
        outbox = self.connection.outbox
        binary = self.wire_format.binary
        try:
            while batch := await outbox.take_batch():
                frame = pack_batch(batch, self.wire_format)
                if binary:
                    await self.websocket.send_bytes(frame)  # type: ignore[arg-type]
                else:
                    await self.websocket.send_text(frame)  # type: ignore[arg-type]
        except (OSError, RuntimeError, WebSocketDisconnect):
            return  # the client went away; the reader sees it too
        except Exception:
            # A bug, not the network: end the connection rather than leave it deaf.
            log.exception("writer failed (%s)", self._who())
            self._writer_failed = True
            self._on_overflow(self.connection)

    def _on_overflow(self, connection: Connection) -> None:
        # Called from the fan-out, which must never wait: stop serving this client now.
        # (Also used when the writer fails: either way the reader must stop.) A command being
        # handled finishes first: the serve loop asks ``_stopped`` after each one.
        if self._task is not None and not self._task.done() and not self._in_command:
            self._task.cancel()

    # --- reading -------------------------------------------------------------------------------

    async def _receive(self) -> Frame | None:
        return _frame_of(await self.websocket.receive())

    async def _serve(self) -> Outcome:
        try:
            frame = await asyncio.wait_for(self._receive(), self.limits.join_timeout)
        except TimeoutError:
            return CloseCode.JOIN_TIMEOUT, "join_timeout"
        if frame is None:
            return None
        outcome = await self._join(frame)
        if outcome is not None:
            return outcome
        self._take_messages_now()
        while True:
            cancelled: asyncio.CancelledError | None = None
            try:
                message = await self.websocket.receive()
            except asyncio.CancelledError as error:
                if self._waiting is None:
                    raise
                # Meant for the message taken in the read callback that waits (a timeout it
                # set, a shutdown): its handler gets it, as if this task had been running it.
                cancelled, message = error, {"type": "websocket.receive", REST_OF_MESSAGE: True}
            if REST_OF_MESSAGE in message:
                if self._waiting is None:
                    continue  # its marker, after a cancellation finished it (just above)
                outcome = await self._finish_waiting(cancelled)
                if outcome is not None:
                    return outcome
                task = self._task
                if cancelled is not None and task is not None and task.cancelling():
                    # Not a timeout of the handler's own (that one is taken back): this task is
                    # being stopped, even if the handler went on regardless.
                    raise cancelled
                continue
            frame = _frame_of(message)
            if frame is None:
                return None
            # A stop asked while a command is handled (the sender removed or the session ended
            # by that very command, the client too slow) does not interrupt it: the command was
            # perhaps logged already, and its sender gets the ack first, on every broker,
            # whichever of the append's reply and the event's fan-out comes first.
            self._in_command = True
            try:
                outcome = await self._handle(frame) or self._stopped()
            finally:
                self._in_command = False
            if outcome is not None:
                return outcome

    def _take_messages_now(self) -> None:
        if not self.hub.broker.appends_in_place:
            # Measured over Redis (docs/performance-history.md, "A fifth machine"): no CPU
            # saved, each command waiting for its append anyway, and the deliveries' median
            # latency rose (5 to 9 ms, 2 workers at 400 msg/s). There the connection's task
            # handles every message, as before.
            return
        receiver = direct_receiver(self.websocket.scope)
        if receiver is not None:
            self._context = contextvars.copy_context()  # with the ids _join bound for logs
            self._receiver = receiver
            receiver.take_now = self._take_now

    def _take_now(self, frame: Frame) -> bool:
        """Handle ``frame`` now, in the protocol's read callback (server/direct_receive.py);
        False when it must go to this task: a message before it is still being handled, or
        serving is ending."""
        task, receiver, context = self._task, self._receiver, self._context
        if self._in_command or self._outcome is not None or task is None:
            return False
        if task.done() or task.cancelling():  # it is being stopped (a slow client, the drain)
            return False
        assert receiver is not None  # set with take_now, before this can be called
        assert context is not None
        self._in_command = True
        try:
            handled = run_now(self._handle(frame), context, task)
        except BaseException:
            self._in_command = False
            raise
        if isinstance(handled, Finished):
            context.run(self._settle, handled.value)  # what it logs carries the ids too
        else:
            # It waits (a lock another connection holds): this task runs the rest, before any
            # later message.
            self._waiting = handled
            receiver.wake_for_rest()
        return True

    async def _finish_waiting(self, cancelled: asyncio.CancelledError | None = None) -> Outcome:
        waiting, self._waiting = self._waiting, None
        assert waiting is not None  # called only while a message taken now waits
        assert self._context is not None  # set with it
        try:
            outcome: Outcome = await finish(waiting, self._context, cancelled)
            return outcome or self._stopped()
        finally:
            self._in_command = False

    def _settle(self, outcome: Outcome) -> None:
        """After a message taken now: end serving as the serve loop would have after it."""
        self._in_command = False
        outcome = outcome or self._stopped()
        if outcome is None:
            return
        self._outcome = outcome
        task = self._task
        if task is not None and not task.done():
            task.cancel()  # it waits for the next message: _serve_until_done ends with this

    async def _join(self, frame: Frame) -> Outcome:
        request_id: str | int | None = None
        started = time.perf_counter()
        try:
            data = decode_frame(frame, self.wire_format)
            request_id = _peek_request_id(data)
            message = parse_client_message(data)
            if not isinstance(message, Join):
                raise InvalidMessage("the first message must be a join", detail="type")
            grant = self._grant = self.gateway.tokens.verify(message.token)
            logs.bind(session=grant.session_id, participant=grant.actor.participant_id)
            if message.session is not None and message.session != grant.session_id:
                raise WrongSession("the token is for another session")
            await self.hub.attach(
                self.connection, grant.session_id, grant.actor, message.resume, request_id
            )
        except ClassbridgeError as error:
            self._reply_error(error, request_id)
            log.info("join refused: %s (%s)", error.code, self._who())
            metrics.JOIN_REFUSED.observe(time.perf_counter() - started)
            return error.close_code or CloseCode.JOIN_REQUIRED, error.code
        except Exception as error:
            # Not the client's fault (the broker failed, say): tell it so, and let it retry.
            log.exception("join failed (%s)", self._who())
            metrics.note_failure(error)
            metrics.JOIN_FAILED.observe(time.perf_counter() - started)
            self._reply_error(ClassbridgeError("internal error"), request_id)
            return CloseCode.INTERNAL_ERROR, "internal_error"
        self.joined = True
        metrics.JOIN_OK.observe(time.perf_counter() - started)
        return None

    async def _handle(self, frame: Frame) -> Outcome:
        request_id: str | int | None = None
        try:
            data = decode_frame(frame, self.wire_format)
            request_id = _peek_request_id(data)
            message = parse_client_message(data)
        except _BAD_INPUT as error:
            # Only malformed messages count towards closing: a refused command (empty text, a
            # direct message not allowed) is an ordinary mistake and gets its error reply only.
            self._reply_error(error, request_id)
            self.bad_messages += 1
            log.info("bad input: %s (%s)", error.code, self._who())
            if self.bad_messages > self.limits.max_bad_messages:
                return CloseCode.TOO_MANY_ERRORS, "too_many_errors"
            return None
        try:
            self.budgets.charge(message)
            self.hub.lobby.check_may_act(self.connection, message)  # waiting: ping, leave only
            return await self._route(message)
        except ClassbridgeError as error:
            self._reply_error(error, request_id)
        except Exception as error:
            log.exception("command failed (%s)", self._who())
            metrics.note_failure(error)
            self._reply_error(ClassbridgeError("internal error"), request_id)
        return None

    async def _route(self, message: ClientMessage) -> Outcome:
        match message:
            case Ping(id=request_id):
                self.connection.send_message(Pong(id=request_id).to_wire())
            case Join():
                raise AlreadyJoined("this connection has already joined")
            case Leave():
                await self.hub.leave(self.connection)
                self.joined = False
                return CloseCode.NORMAL, "left"
            case Signal() | Typing() | Reaction():
                await self.hub.peers.relay(self.connection, message)
                if message.id is not None:  # a browser trickling candidates wants no acks
                    self.connection.send_message(Ack(id=message.id).to_wire())
            case Cursor():
                await self._move_cursor(message)
            case IceRefresh(id=request_id):  # the messages budget bounds it: it costs one HMAC
                assert self.connection.actor is not None
                now = self.hub.now_ms() / 1000  # the clock the welcome's servers were stamped by
                state = self.hub.session_state(self.connection.session_id)
                servers, expires_at = refresh_ice(self.hub.ice, state, self.connection.actor, now)
                reply = IceServers(servers=servers, expires_at=expires_at, id=request_id)
                self.connection.send_message(reply.to_wire())
            case _:
                seq = await self.hub.command(self.connection, message)
                self.connection.send_message(Ack(id=message.id, seq=seq).to_wire())
        return None

    # --- helpers -------------------------------------------------------------------------------

    async def _move_cursor(self, cursor: Cursor) -> None:
        """A pointer moves at the screen's rate (60 Hz or more): beyond its own budget a
        position is dropped silently (a newer one follows), never answered with an error,
        and it does not use up the budget of the messages that matter."""
        if not self.budgets.cursor_fits():
            return
        position = self.hub.peers.cursor_position(self.connection, cursor)
        await self.cursor.move(position)

    async def _publish_cursor(self, position: dict[str, Any]) -> None:
        if self.joined:
            await self.hub.peers.publish_cursor(self.connection, position)

    def _reply_error(self, error: ClassbridgeError, request_id: str | int | None) -> None:
        metrics.count_error_reply(error.code)
        retry = getattr(error, "retry_after", None)
        reply = ErrorReply(
            code=error.code,
            message=error.message,
            id=request_id,
            detail=error.detail,
            retry_after_ms=None if retry is None else max(1, int(retry * 1000)),
            current=getattr(error, "current", None),
        )
        self.connection.send_message(reply.to_wire())

    def _who(self) -> str:
        """Ids for log lines: enough to find the connection, never a token or message text."""
        # Before the join completes, the verified token names who is asking.
        grant = self._grant
        actor = self.connection.actor or (grant.actor if grant else None)
        session = self.connection.session_id or (grant.session_id if grant else "-")
        participant = actor.participant_id if actor else "-"
        return f"session={session} participant={participant}"


def _frame_of(message: Message) -> Frame | None:
    """A client's message as the ASGI receive gave it; None once the client went away."""
    if message["type"] == "websocket.disconnect":
        return None
    frame: Frame | None = message.get("bytes")
    if frame is None:
        frame = message.get("text")
    return frame if frame is not None else b""


def _peek_request_id(data: Any) -> str | int | None:
    """The request id of a message that may be invalid otherwise, so its error can echo it."""
    if not isinstance(data, dict):
        return None
    try:
        return request_id(data)
    except InvalidMessage:
        return None
