"""Writing queued messages straight to a WebSocket's transport, without the ASGI send path.

A chat posted in a class of 30 goes out 30 times. Through ASGI each copy costs Starlette's and
uvicorn's ``send`` coroutines, a state check per layer, and websockets' general frame builder;
that per-recipient cost was most of the server's CPU in the chat fan-out benchmark
(docs/performance.md). ``ClassbridgeWebSocketProtocol`` (server/websocket_protocol.py) offers
itself in the scope's extensions under ``DIRECT_SEND``; the gateway then gives the connection's
send queue a ``DirectSink``, and the queue's ``Flusher`` (server/hub/outbox.py) writes whole
batches here once per event-loop turn. Whenever the connection is not plainly open and
writable (closing, closed, its transport paused by a slow reader), ``ready`` says no and the
connection's writer task sends through ASGI as before, waiting for the transport to drain.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any, Protocol

from server.protocol.codec import Frame, WireFormat, pack_batch

DIRECT_SEND = "classbridge.direct_send"  # the scope extension naming the protocol object

_FIN_BINARY = 0x82  # FIN, opcode 2 (RFC 6455 section 5.2)
_FIN_TEXT = 0x81  # FIN, opcode 1


class DirectWriter(Protocol):
    """What the WebSocket protocol object offers (server/websocket_protocol.py)."""

    def can_write_now(self) -> bool: ...

    def write_bytes(self, data: bytes) -> None: ...


def framed(frame: Frame, binary: bool) -> bytes:
    """``frame`` as it goes on the wire: header, then payload."""
    payload = frame if isinstance(frame, bytes) else frame.encode()
    return frame_header(len(payload), binary) + payload


# The last single message framed, per kind of frame (binary or text). A fan-out hands one
# event's encoded frame to every member in turn, so it is framed (and, as text, encoded to
# bytes) for the first member and the same bytes are written to the rest: no copy per
# recipient. The frame object itself is kept, so a later frame can never pass for it; one event
# loop per process runs every sink, so nothing else touches this between two writes.
_last_framed: dict[bool, tuple[Frame, bytes]] = {}


def framed_once(frame: Frame, binary: bool) -> bytes:
    last = _last_framed.get(binary)
    if last is not None and last[0] is frame:
        return last[1]
    data = framed(frame, binary)
    _last_framed[binary] = (frame, data)
    return data


def frame_header(length: int, binary: bool) -> bytes:
    """An unmasked, unfragmented, uncompressed frame's header (a server never masks)."""
    first = _FIN_BINARY if binary else _FIN_TEXT
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


class DirectSink:
    """A connection's send queue's way out straight to its transport (see the module)."""

    __slots__ = ("_binary", "_wire_format", "_writer")

    def __init__(self, writer: DirectWriter, wire_format: WireFormat) -> None:
        self._writer = writer
        self._wire_format = wire_format
        self._binary = wire_format.binary

    def ready(self) -> bool:
        return self._writer.can_write_now()

    def write(self, batch: list[Frame]) -> None:
        if len(batch) == 1:  # one event, most often on its way to every member of a session
            data = framed_once(batch[0], self._binary)
        else:  # several, packed for this connection alone
            data = framed(pack_batch(batch, self._wire_format), self._binary)
        self._writer.write_bytes(data)


def direct_sink(scope: Mapping[str, Any], wire_format: WireFormat) -> DirectSink | None:
    """The sink for a connection whose server offers direct writes; None otherwise."""
    offered = (scope.get("extensions") or {}).get(DIRECT_SEND)
    writer = offered.get("writer") if isinstance(offered, dict) else None
    return None if writer is None else DirectSink(writer, wire_format)
