"""Moderation commands (client to server): teachers' powers over a live session. What follows
is logged as events carrying ``by`` (docs/protocol.md, "Moderation")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage
from server.protocol.fields import optional, request_id, require
from server.protocol.message_base import Message, RequestId


def _one_target(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    participant = optional(data, "participant", str)
    class_id = optional(data, "class", str)
    if (participant is None) == (class_id is None):
        raise InvalidMessage("name exactly one of 'participant' and 'class'", detail="participant")
    return participant, class_id


@dataclass(frozen=True, slots=True)
class ModerationMute(Message):
    """Ask one participant, or a class, to mute (``true``) or lift it (``false``); a kind
    left out is unchanged."""

    TYPE: ClassVar[str] = "moderation.mute"
    WIRE: ClassVar[dict[str, str]] = {"class_id": "class"}
    participant: str | None = None
    class_id: str | None = None
    audio: bool | None = None
    video: bool | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        participant, class_id = _one_target(data)
        audio, video = optional(data, "audio", bool), optional(data, "video", bool)
        if audio is None and video is None:
            raise InvalidMessage("give 'audio', 'video' or both", detail="audio")
        return cls(participant, class_id, audio, video, request_id(data))


@dataclass(frozen=True, slots=True)
class ModerationRemove(Message):
    """Remove a participant from the session; ``bar`` keeps them out until it ends."""

    TYPE: ClassVar[str] = "moderation.remove"
    participant: str
    bar: bool = False
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            participant=require(data, "participant", str),
            bar=optional(data, "bar", bool) or False,
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class ModerationLock(Message):
    """Lock the session (no new participants) or unlock it."""

    TYPE: ClassVar[str] = "moderation.lock"
    locked: bool
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(locked=require(data, "locked", bool), id=request_id(data))


@dataclass(frozen=True, slots=True)
class ModerationClass(Message):
    """Allow (``true``) or disable (``false``) chat and/or drawing for a class's students."""

    TYPE: ClassVar[str] = "moderation.class"
    WIRE: ClassVar[dict[str, str]] = {"class_id": "class"}
    class_id: str
    chat: bool | None = None
    drawing: bool | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        chat, drawing = optional(data, "chat", bool), optional(data, "drawing", bool)
        if chat is None and drawing is None:
            raise InvalidMessage("give 'chat', 'drawing' or both", detail="chat")
        return cls(require(data, "class", str), chat, drawing, request_id(data))


@dataclass(frozen=True, slots=True)
class ModerationScope(Message):
    """A host restricts teachers' moderation to their own class (``true``) or lifts it."""

    TYPE: ClassVar[str] = "moderation.scope"
    teachers_own_class: bool
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        own = require(data, "teachers_own_class", bool)
        return cls(teachers_own_class=own, id=request_id(data))


@dataclass(frozen=True, slots=True)
class SessionEnd(Message):
    """End the session for everyone: every connection closes and no join is accepted."""

    TYPE: ClassVar[str] = "session.end"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


ModerationCommand = (
    ModerationMute
    | ModerationRemove
    | ModerationLock
    | ModerationClass
    | ModerationScope
    | SessionEnd
)

MODERATION_COMMANDS: tuple[type[Message], ...] = (
    ModerationMute,
    ModerationRemove,
    ModerationLock,
    ModerationClass,
    ModerationScope,
    SessionEnd,
)
