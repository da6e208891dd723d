"""uvicorn's WebSocket protocol (websockets, sans-I/O flavour), made safe for clients that stall.

Two changes, both about a client that stopped reading (its transport stays paused, its buffer
full):

- uvicorn's ``send`` waits until the transport is writable, for every ASGI message, the close
  frame included. The close frame that tells a slow client why it is dropped (4008
  slow_consumer) was never queued: the gateway gave up after its timeout and the client, once
  it read again, saw the data end without a close frame (1006). A paused transport still
  accepts writes (pausing only asks producers to slow down), and a close frame is a few bytes:
  we queue it behind what is buffered, so the client gets it as soon as it reads again.
- Closing a transport first writes out what is buffered, which never ends for such a client: the
  connection stayed open, and uvicorn's shutdown waited for it forever. A connection that has
  not got its buffer out ``close_timeout`` seconds after its close (or the server's shutdown),
  or that missed its keepalive pong, is aborted instead.

Two for speed: once a connection has joined, each message it sends is offered to the gateway
in the callback that read it (``take_now``, server/direct_receive.py), not queued for its task.
And once the connection is accepted, the frames nearly every message travels in (final, masked,
text or binary, within the size limit) are read here rather than by websockets' parser
(server/frame_head.py); every other frame goes to websockets from its header on, as its bytes
come, so pings, closes, fragments and protocol errors (one its header alone gives away
included) are handled exactly as before.

And two about what clients cause, logged as what they are rather than as server errors: a
text frame that is not UTF-8 still ends the connection with 1007, but is an info line, not an
error with a traceback; and an upgrade refused with an HTTP answer (403, 429) is a finished
handshake, not "returned without completing handshake".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

try:
    from websockets.speedups import apply_mask
except ImportError:  # websockets built without its C extension
    from websockets.utils import apply_mask

from server.direct_receive import DIRECT_RECEIVE, REST_OF_MESSAGE
from server.direct_send import DIRECT_SEND
from server.frame_head import (
    FIN_DATA,
    FIN_TEXT,
    MASK_KEY_BYTES,
    FrameStart,
    frame_head,
    mid_message_after,
)
from server.lean_sync import LeanEvent, LeanQueue
from server.protocol.codec import Frame

CLOSE_TIMEOUT = 10.0  # what uvicorn gives a closing handshake
INVALID_UTF8 = 1007  # RFC 6455: a text frame's payload is not UTF-8
_OPEN = State.OPEN  # looked up once: each State.OPEN goes through the enum's class

log = logging.getLogger(__name__)


class ClassbridgeWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = CLOSE_TIMEOUT
        # The same interface without asyncio's deques: some 4 KB less per idle connection
        # (server/lean_sync.py; docs/performance.md, "Idle connections").
        self.queue = LeanQueue()  # type: ignore[assignment]
        self.writable = LeanEvent()  # type: ignore[assignment]
        self.writable.set()
        # Set by the gateway once the connection has joined (server/direct_receive.py): takes
        # a complete message in this callback, or returns False to have it queued for the app.
        self.take_now: Callable[[Frame], bool] | None = None
        # Reading frames without websockets' parser (see the module): set at the accept, when
        # nothing but the upgrade request has been read, so that its parser waits at a frame
        # boundary; cleared for good once the connection closes.
        self._lean = False
        self._chunks_read = 0  # before the accept: uvicorn hands over the request alone
        self._held = FrameStart()  # the start of a final data frame not all in yet
        self._passing = 0  # bytes of the current frame still to go to websockets as they come
        self._mid_message = False  # websockets holds the first fragments of a message
        self._max_frame: int = self.config.ws_max_size

    async def send(self, message: ASGISendEvent) -> None:
        closing = message["type"] == "websocket.close" and self.handshake_complete
        if closing:
            self.writable.set()
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            self._forget_handshake()
            self._lean = (
                self._chunks_read == 1 and self.conn.state is _OPEN and not self.conn.extensions
            )
        if message["type"] == "websocket.http.response.body" and not message.get("more_body"):
            # An upgrade refused with an HTTP answer (server/access.py) is a finished handshake;
            # uvicorn does not count it as one and would log an error for every refusal.
            self.handshake_complete = True
        if closing and self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self._give_up)

    def _forget_handshake(self) -> None:
        # The upgrade request and our 101 answer are read only during the handshake, yet stay
        # referenced for the connection's life (here, and the request in websockets' parser):
        # their headers were 3-4 KB of every idle connection. The scope keeps its own copy.
        request, response = getattr(self, "request", None), getattr(self, "response", None)
        if request is not None:
            request.headers.clear()
        if response is not None:
            response.headers.clear()

    @property
    def reads_frames_itself(self) -> bool:
        """Whether this connection's frames are read here, not by websockets' parser."""
        return self._lean

    def data_received(self, data: bytes) -> None:
        if not self._lean:
            self._chunks_read += 1
            super().data_received(data)
            return
        if self._passing:  # the rest of a frame websockets reads
            size = self._passing
            self._passing = max(0, size - len(data))
            super().data_received(data[:size])
            data = data[size:]
            if not data:
                return
        whole = self._held.add(data)
        if whole is not None:
            self._read_frames(whole)

    def _read_frames(self, data: bytes) -> None:
        """Hand every final data frame to the app; every other frame goes to websockets."""
        size, at = len(data), 0
        while at < size:
            if self.close_sent or self.conn.state is not _OPEN:
                self._leave_to_websockets(data[at:])
                return
            head = frame_head(data, at)
            if head is None:
                self._held.hold(data[at:], 0)  # a few bytes of header
                return
            first, masked, start, end = head
            if (
                first in FIN_DATA
                and masked
                and end - start <= self._max_frame
                and not self._mid_message
            ):
                if end > size:
                    self._held.hold(data[at:], end - at)
                    return
                # What uvicorn's handle_text and handle_bytes do with a final frame.
                self.curr_msg_data_type = "text" if first == FIN_TEXT else "bytes"
                self.frames = [apply_mask(data[start:end], data[start - MASK_KEY_BYTES : start])]
                self.send_receive_event_to_app()
            else:
                # Any other frame (a control frame, a fragment, a malformed one) is websockets'
                # to read, from its header on as its bytes come: it refuses a bad one as soon as
                # the header tells (1002, 1009), as it always did, and reads a fragmented message
                # to its end, control frames between the fragments included.
                self._mid_message = mid_message_after(first, self._mid_message)
                self._passing = max(0, end - size)
                super().data_received(data[at:end])
            at = end

    def _leave_to_websockets(self, rest: bytes) -> None:
        """Closing: websockets reads the rest (the client's reply to a close), unless the
        connection failed already, in which case what follows is dropped, as the transport is."""
        self._lean = False
        self._held.clear()
        self._passing = 0
        if rest and self.conn.parser_exc is None and not self.transport.is_closing():
            super().data_received(rest)

    def send_receive_event_to_app(self) -> None:
        # uvicorn's, with two changes. A message goes to ``take_now`` first when the gateway
        # set it (server/direct_receive.py). And uvicorn logs a text frame that is not UTF-8
        # as an error, with a traceback: any client could fill the error log (and page whoever
        # watches it) at will. It is the client's fault, so it is an info line here; the
        # connection still ends with 1007.
        if self.close_sent:
            super().send_receive_event_to_app()  # discards it
            return
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        message: Frame = data
        if self.curr_msg_data_type == "text":
            try:
                message = data.decode()
            except UnicodeDecodeError:
                log.info("closing a connection that sent a text frame that is not UTF-8 (1007)")
                self.conn.send_close(INVALID_UTF8)
                self.handle_parser_exception()
                return
        # Only while the app has no message of this connection in hand: it handles them in
        # order, and the queue is empty only once it has taken (and so handles) the last one.
        take_now = self.take_now
        if take_now is not None and self.queue.empty() and take_now(message):
            return
        # What uvicorn does (for text, without decoding it once more).
        if isinstance(message, str):
            self.queue.put_nowait({"type": "websocket.receive", "text": message})
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": message})
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if self.handshake_initiated and not self.close_sent:
            # The app's task has not started yet: it finds the offer in its scope (see
            # server/direct_send.py). Messages then leave without the ASGI send path.
            self.scope["extensions"][DIRECT_SEND] = {"writer": self}
            self.scope["extensions"][DIRECT_RECEIVE] = {"receiver": self}

    def wake_for_rest(self) -> None:
        """Wake the app for the rest of a message ``take_now`` could not finish: a marker in
        its queue, before any later message (server/direct_receive.py)."""
        marker = {"type": "websocket.receive", REST_OF_MESSAGE: True}
        self.queue.put_nowait(marker)  # type: ignore[arg-type]

    def can_write_now(self) -> bool:
        """Whether a message can go straight to the transport (server/direct_send.py): open,
        not closing, not backed up, and no extension (permessage-deflate) to encode it."""
        # Asked for every message written this way: plain attribute reads, no calls.
        return (
            self.writable.flag  # type: ignore[attr-defined]
            and not self.close_sent
            and self.conn.state is _OPEN
            and not self.conn.extensions
            and not self.transport.is_closing()
        )

    def write_bytes(self, data: bytes) -> None:
        self.transport.write(data)

    def shutdown(self) -> None:
        super().shutdown()
        self.loop.call_later(self.close_timeout, self._abort_if_stuck)

    def keepalive_timeout(self) -> None:
        if self.close_sent:
            # Closing already: the close timer decides when to give up, not a ping from before.
            self.pong_timer = None
            return
        super().keepalive_timeout()  # no pong for ping_timeout: it closes the transport...
        self._abort_if_stuck()  # ...which must not then wait for the buffer to drain

    def _give_up(self) -> None:
        # The client did not finish the closing handshake in time.
        self.close_timer = None
        self.transport.close()
        self._abort_if_stuck()

    def _abort_if_stuck(self) -> None:
        if self.transport.get_write_buffer_size() > 0:
            self.transport.abort()
