"""One client connection as the hub sees it: who it is, its format and its send queue.

The hub only enqueues encoded messages here; the gateway owns the socket and runs the writer.
A connection whose queue overflows is marked slow and closed by the gateway: it never makes the
session or the other clients wait.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from server.hub.encoded import EncodedEvent
from server.hub.outbox import Outbox
from server.protocol.codec import WireFormat, encode_message
from server.rooms.actor import Actor

_ids = itertools.count(1)


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
        # While a resume is replayed, live events wait here so none is sent twice or out of order.
        self.held: list[EncodedEvent] | None = None
        self._on_overflow = on_overflow

    def send_message(self, message: dict[str, Any]) -> None:
        self._put(encode_message(message, self.wire_format))

    def send_event(self, encoded: EncodedEvent) -> None:
        if self.held is not None:
            self.held.append(encoded)
        else:
            self._put(encoded.frame(self.wire_format))

    def send_replayed(self, encoded: EncodedEvent) -> None:
        self._put(encoded.frame(self.wire_format))

    def _put(self, frame: bytes | str) -> None:
        if self.slow:
            return
        if not self.outbox.put(frame):
            self.slow = True
            self._on_overflow(self)
