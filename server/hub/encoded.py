"""An event encoded at most once per wire format, however many connections receive it."""

from __future__ import annotations

from typing import Any, Protocol

from server.protocol.codec import Frame, WireFormat, encode_message
from server.rooms.events import Event, SequencedEvent


class Encoded(Protocol):
    """Anything sent to many connections, encoded once per wire format."""

    def frame(self, wire_format: WireFormat) -> Frame: ...


class EncodedEvent:
    __slots__ = ("_frames", "event", "seq")

    def __init__(self, seq: int, event: Event) -> None:
        self.seq = seq
        self.event = event
        self._frames: dict[WireFormat, Frame] = {}

    def frame(self, wire_format: WireFormat) -> Frame:
        frame = self._frames.get(wire_format)
        if frame is None:
            wire = SequencedEvent(self.seq, self.event).to_wire()
            frame = self._frames[wire_format] = encode_message(wire, wire_format)
        return frame


class EncodedMessage:
    """Any other message for many connections (a relayed signal or typing hint), likewise."""

    __slots__ = ("_frames", "wire")

    def __init__(self, wire: dict[str, Any]) -> None:
        self.wire = wire
        self._frames: dict[WireFormat, Frame] = {}

    def frame(self, wire_format: WireFormat) -> Frame:
        frame = self._frames.get(wire_format)
        if frame is None:
            frame = self._frames[wire_format] = encode_message(self.wire, wire_format)
        return frame
