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

    def write_frame(self, header: bytes, payload: bytes) -> None: ...


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
        frame = pack_batch(batch, self._wire_format)
        payload = frame if isinstance(frame, bytes) else frame.encode()
        self._writer.write_frame(frame_header(len(payload), self._binary), payload)


def direct_sink(scope: Mapping[str, Any], wire_format: WireFormat) -> DirectSink | None:
    """The sink for a connection whose server offers direct writes; None otherwise."""
    offered = (scope.get("extensions") or {}).get(DIRECT_SEND)
    writer = offered.get("writer") if isinstance(offered, dict) else None
    return None if writer is None else DirectSink(writer, wire_format)
