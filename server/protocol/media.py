"""Media commands (client to server). The topology itself is announced by the server as a
``media.topology`` event (docs/protocol.md, "Video")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.protocol.fields import request_id, require
from server.protocol.message_base import Message, RequestId


@dataclass(frozen=True, slots=True)
class MediaRelay(Message):
    """A teacher asks for the server's relay (``on``) or gives it back to the policy."""

    TYPE: ClassVar[str] = "media.relay"
    on: bool
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(on=require(data, "on", bool), id=request_id(data))


@dataclass(frozen=True, slots=True)
class MediaGrant(Message):
    """A teacher lets a student take part in video (``on``), or stops it."""

    TYPE: ClassVar[str] = "media.grant"
    participant: str
    on: bool
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            participant=require(data, "participant", str),
            on=require(data, "on", bool),
            id=request_id(data),
        )
