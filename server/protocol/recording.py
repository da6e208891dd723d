"""Recording commands (client to server): teachers start, consent to and stop a recording.
What follows is logged as ``recording.*`` events (docs/protocol.md, "Recording")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.protocol.fields import request_id
from server.protocol.message_base import Message, RequestId


@dataclass(frozen=True, slots=True)
class RecordingStart(Message):
    """A teacher asks to record the session (and so consents for their own class)."""

    TYPE: ClassVar[str] = "recording.start"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class RecordingConsent(Message):
    """A teacher consents, for their own class, to the recording asked for."""

    TYPE: ClassVar[str] = "recording.consent"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class RecordingStop(Message):
    """A teacher stops the recording, or withdraws the request before it started."""

    TYPE: ClassVar[str] = "recording.stop"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


RECORDING_COMMANDS: tuple[type[Message], ...] = (RecordingStart, RecordingConsent, RecordingStop)
