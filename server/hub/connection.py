"""One client connection as the hub sees it: who it is, its format and its send queue.

The hub only enqueues encoded messages here; the gateway owns the socket and runs the writer.
A connection whose queue overflows is marked slow and closed by the gateway: it never makes the
session or the other clients wait.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from server.hub.encoded import Encoded, EncodedEvent, EncodedMessage
from server.hub.outbox import Outbox
from server.protocol.codec import WireFormat, encode_message
from server.rooms.actor import Actor

_ids = itertools.count(1)

# A replay fills at most this share of the send queue: replies (acks, pongs, errors) still fit
# while it runs, so asking something during a long replay does not look like a slow client.
REPLAY_SHARE = 0.5
# Volatile messages that arrive for a connection still waiting for its welcome are kept until
# it is sent (at most this many; more is a flood the client could not use anyway).
EARLY_VOLATILE_LIMIT = 100


class Connection:
    def __init__(
        self,
        wire_format: WireFormat,
        outbox: Outbox,
        on_overflow: Callable[[Connection], None],
    ) -> None:
        self.id = next(_ids)
        self.wire_format = wire_format
        self.outbox = outbox
        self.session_id = ""
        self.actor: Actor | None = None
        self.slow = False
        # Set by ``close``: the code and reason the gateway ends this connection with.
        self.closing: tuple[int, str] | None = None
        # While a resume is read and replayed, live events wait here so none is sent twice or
        # out of order. They count against the send queue's limit like queued messages do.
        self.held: list[EncodedEvent] | None = None
        self._held_bytes = 0
        self._replay: deque[Encoded] | None = None
        self._on_overflow = on_overflow
        self._early_volatile: list[EncodedMessage] | None = []  # None once welcomed

    def close(self, code: int, reason: str) -> None:
        """Have the gateway end this connection with ``code`` (after what is queued)."""
        if self.closing is None and not self.slow:
            self.closing = (code, reason)
            self._on_overflow(self)  # the gateway's "stop serving now"

    def send_message(self, message: dict[str, Any]) -> None:
        """A message for this client alone (a reply, a welcome, an error): never held for the
        send interval's tick (see ``Flusher``)."""
        self._put(encode_message(message, self.wire_format), urgent=True)

    def send_event(self, encoded: EncodedEvent) -> None:
        if self.closing is not None:
            # Closed by what the session decided (removed, the session ended, the server
            # draining): nothing of the session after that point, even while a command of
            # this connection finishes and is answered before the close (gateway._serve).
            return
        if self.held is None:
            # ``_put`` written out: this runs once per connection for every event.
            if not self.slow and not self.outbox.put(encoded.frame(self.wire_format)):
                self._overflow()
            return
        self.held.append(encoded)
        self._held_bytes += len(encoded.frame(self.wire_format))
        if self._held_bytes > self.outbox.limit_bytes and not self.slow:
            self._overflow()

    def send_welcome(self, welcome: dict[str, Any]) -> None:
        """The welcome opens the session for the client: volatile messages that came before
        it (a peer's offer sent while this connection was resuming) follow it now."""
        self.send_message(welcome)
        early, self._early_volatile = self._early_volatile or [], None
        for encoded in early:
            self._put(encoded.frame(self.wire_format))

    def send_volatile(self, encoded: EncodedMessage, urgent: bool = False) -> None:
        """Not logged, so neither held nor replayed: only kept back until the welcome.

        ``urgent``: not held for the send interval's tick (see ``Flusher``), like a reply."""
        if self.closing is not None:
            return  # as for events (send_event)
        if self._early_volatile is None:
            self._put(encoded.frame(self.wire_format), urgent)
        elif len(self._early_volatile) < EARLY_VOLATILE_LIMIT:
            self._early_volatile.append(encoded)

    def hold(self) -> None:
        """Keep live events back until ``replay`` has sent what came before them."""
        self.held, self._held_bytes = [], 0

    def take_held(self) -> list[EncodedEvent]:
        """The events held so far (they are part of the replay); later ones are held anew."""
        held = self.held or []
        self.hold()
        return held

    def replay(self, events: Sequence[Encoded]) -> None:
        """Send ``events`` as fast as the client reads them, then the live events held meanwhile.

        However many events a client missed, they enter the send queue only as it drains, so a
        client resuming after a long absence (or after being too slow) is not closed for it.
        """
        self._replay = deque(events)
        self.outbox.refill = self._refill
        self._refill()

    def _refill(self) -> None:
        replay = self._replay
        while replay and not self.slow:
            frame = replay[0].frame(self.wire_format)
            if not self.outbox.has_room(len(frame), REPLAY_SHARE):
                return
            replay.popleft()
            self._put(frame)
        self._replay = self.outbox.refill = None
        held, self.held = self.held or [], None
        for encoded in held:
            self._put(encoded.frame(self.wire_format))

    def _put(self, frame: bytes | str, urgent: bool = False) -> None:
        if self.slow:
            return
        if not self.outbox.put(frame, urgent):
            self._overflow()

    def _overflow(self) -> None:
        self.slow = True
        self._on_overflow(self)
