"""Breakout commands (client to server): teachers open, change and close mixed-class groups;
students call a teacher. What follows is logged as ``breakout.*`` events (docs/protocol.md,
section 27 "Breakout groups"). Group chat is ``chat.send`` with a ``group``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage
from server.protocol.fields import optional, request_id, require
from server.protocol.message_base import Message, RequestId


def _names(data: Mapping[str, Any]) -> list[str] | None:
    names = optional(data, "names", list)
    if names is None:
        return None
    if not all(isinstance(name, str) for name in names):
        raise InvalidMessage("field 'names' must be a list of strings", detail="names")
    return list(names)


@dataclass(frozen=True, slots=True)
class BreakoutOpen(Message):
    """Split the present students into groups of about ``size``, mixing the classes."""

    TYPE: ClassVar[str] = "breakout.open"
    size: int
    seed: int | None = None
    minutes: int | None = None
    names: list[str] | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            size=require(data, "size", int),
            seed=optional(data, "seed", int),
            minutes=optional(data, "minutes", int),
            names=_names(data),
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class BreakoutMove(Message):
    """Put a student in another group, or back in the main room (``group`` null)."""

    TYPE: ClassVar[str] = "breakout.move"
    participant: str
    group: str | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            participant=require(data, "participant", str),
            group=optional(data, "group", str),
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class BreakoutBroadcast(Message):
    """A teacher's message to every group at once."""

    TYPE: ClassVar[str] = "breakout.broadcast"
    text: str
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(text=require(data, "text", str), id=request_id(data))


@dataclass(frozen=True, slots=True)
class BreakoutClose(Message):
    """Everyone back in the main room."""

    TYPE: ClassVar[str] = "breakout.close"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class BreakoutCallTeacher(Message):
    """A student asks for a teacher to come to their group."""

    TYPE: ClassVar[str] = "breakout.call_teacher"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class BreakoutAnswer(Message):
    """A teacher answers (clears) a group's call."""

    TYPE: ClassVar[str] = "breakout.answer"
    group: str
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(group=require(data, "group", str), id=request_id(data))


@dataclass(frozen=True, slots=True)
class BreakoutVisit(Message):
    """A teacher shows they are with a group (``group`` null: with none)."""

    TYPE: ClassVar[str] = "breakout.visit"
    group: str | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(group=optional(data, "group", str), id=request_id(data))


BreakoutCommand = (
    BreakoutOpen
    | BreakoutMove
    | BreakoutBroadcast
    | BreakoutClose
    | BreakoutCallTeacher
    | BreakoutAnswer
    | BreakoutVisit
)

BREAKOUT_COMMANDS: tuple[type[Message], ...] = (
    *(BreakoutOpen, BreakoutMove, BreakoutBroadcast, BreakoutClose),
    *(BreakoutCallTeacher, BreakoutAnswer, BreakoutVisit),
)
