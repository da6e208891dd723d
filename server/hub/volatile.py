"""Volatile messages between participants (WebRTC signals, typing hints) across workers.

The sending worker publishes one envelope on the session's channel; every worker hosting the
session decodes it once and hands the encoded message to its own connections of the recipient
(or of everyone but the sender). Nothing is stored: a recipient not connected right now
misses it, and the sender is not told (at most once, like Centrifugo's publications without
history).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Self

import msgpack

from server.hub.connection import Connection
from server.hub.encoded import EncodedMessage

log = logging.getLogger(__name__)

# The type of a cursor position between workers; each worker coalesces them into
# ``peer.cursors`` for its clients (hub/cursors.py), so clients never see this one.
CURSOR_ENVELOPE = "peer.cursor"


@dataclass(frozen=True, slots=True)
class VolatileEnvelope:
    sender: str  # participant id
    to: str | None  # one participant, or None for everyone in the session but the sender
    message: dict[str, Any]  # the server message as each recipient gets it
    # For ``to == RELAY_ID``: the worker that runs the session's relay (``Broker.claim_relay``)
    worker: str | None = None

    def to_bytes(self) -> bytes:
        fields = [self.sender, self.to, self.message]
        if self.worker is not None:
            fields.append(self.worker)
        packed: bytes = msgpack.packb(fields, use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, payload: bytes) -> Self | None:
        try:
            sender, to, message, *rest = msgpack.unpackb(payload, raw=False)
            worker = rest[0] if len(rest) == 1 else None
            fine = isinstance(sender, str) and isinstance(to, str | None) and len(rest) < 2
            if fine and isinstance(message, dict) and isinstance(worker, str | None):
                return cls(sender, to, message, worker)
        except Exception:  # from another worker or from anyone who can PUBLISH; never fatal
            pass
        log.error("undecodable volatile message; dropped")
        return None


def deliver_volatile(connections: Iterable[Connection], envelope: VolatileEnvelope) -> int:
    """Hand a published envelope to the local connections it is for; returns how many."""
    encoded = EncodedMessage(envelope.message)
    # A message for one participant is a step of a WebRTC negotiation, which its recipient
    # answers at once: held for the send interval's tick, each step of an offer, its answer
    # and the ICE candidates would wait up to one interval. There are a few per negotiation
    # (and a participant's signals are rate-limited), so writing them at once costs nothing
    # the tick would save. Hints for everyone (typing) wait for the tick like events.
    urgent = envelope.to is not None
    delivered = 0
    for connection in connections:
        if connection.actor is None:
            continue
        participant = connection.actor.participant_id
        if envelope.to is None:
            wanted = participant != envelope.sender  # the sender's other tabs know already
        else:
            wanted = participant == envelope.to
        if wanted:
            connection.send_volatile(encoded, urgent)
            delivered += 1
    return delivered
