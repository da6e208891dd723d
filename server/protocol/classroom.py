"""Hands, reactions and polls (client to server, and the relayed ``peer.reaction``).

Hands and polls are session commands: what they change is logged as ``hand.*`` and ``poll.*``
events (docs/protocol.md, "Hands, reactions and polls"). A reaction is volatile like ``typing``:
relayed to the others, never logged. The rules (who may, limits) are in server/rooms/hands.py,
polls.py and reactions.py; here only the fields' types are checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage
from server.protocol.fields import check, optional, request_id, require
from server.protocol.message_base import Message, RequestId


def _strings(data: Mapping[str, Any], name: str) -> list[str]:
    values = require(data, name, list)
    return [check(value, f"{name}[{n}]", str) for n, value in enumerate(values)]


def _integers(data: Mapping[str, Any], name: str) -> list[int]:
    values = require(data, name, list)
    return [check(value, f"{name}[{n}]", int) for n, value in enumerate(values)]


def _flag(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise InvalidMessage(f"field '{name}' must be bool", detail=name)
    return value


@dataclass(frozen=True, slots=True)
class HandRaise(Message):
    """A student or a class station raises its hand: it joins the end of the queue."""

    TYPE: ClassVar[str] = "hand.raise"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class HandLower(Message):
    """Lower your own hand, or (teachers and hosts) ``participant``'s."""

    TYPE: ClassVar[str] = "hand.lower"
    participant: str | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(participant=optional(data, "participant", str), id=request_id(data))


@dataclass(frozen=True, slots=True)
class HandClear(Message):
    """A teacher or host lowers every hand at once."""

    TYPE: ClassVar[str] = "hand.clear"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class Reaction(Message):
    """A short reaction (an emoji of a fixed list) shown for a moment to everyone else."""

    TYPE: ClassVar[str] = "reaction"
    emoji: str
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(emoji=require(data, "emoji", str), id=request_id(data))


@dataclass(frozen=True, slots=True)
class PollCreate(Message):
    TYPE: ClassVar[str] = "poll.create"
    question: str
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    anonymous: bool = False
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            question=require(data, "question", str),
            options=_strings(data, "options"),
            multiple=_flag(data, "multiple"),
            anonymous=_flag(data, "anonymous"),
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class PollAnswer(Message):
    """A student's answer (the indexes of the chosen options); a new one replaces it."""

    TYPE: ClassVar[str] = "poll.answer"
    poll: int
    choices: list[int] = field(default_factory=list)
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            poll=require(data, "poll", int), choices=_integers(data, "choices"), id=request_id(data)
        )


@dataclass(frozen=True, slots=True)
class PollClose(Message):
    TYPE: ClassVar[str] = "poll.close"
    poll: int
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(poll=require(data, "poll", int), id=request_id(data))


# --- server to client -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerReaction(Message):
    TYPE: ClassVar[str] = "peer.reaction"
    WIRE: ClassVar[dict[str, str]] = {"sender": "from"}
    sender: str
    emoji: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(sender=require(data, "from", str), emoji=require(data, "emoji", str))


# Logged commands (decided by the session core); ``Reaction`` is relayed like ``typing``.
CLASSROOM_COMMANDS: tuple[type[Message], ...] = (
    HandRaise,
    HandLower,
    HandClear,
    PollCreate,
    PollAnswer,
    PollClose,
)

ClassroomCommand = (
    HandRaise | HandLower | HandClear | Reaction | PollCreate | PollAnswer | PollClose
)
