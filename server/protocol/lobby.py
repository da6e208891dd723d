"""Lobby messages (docs/protocol.md, "Lobby"): teachers admit or deny one person or a whole
class; a participant who must wait gets ``lobby`` instead of a welcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage
from server.protocol.fields import optional, request_id, require
from server.protocol.message_base import Message, RequestId


def _target(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Exactly one of ``participant`` and ``class``."""
    participant = optional(data, "participant", str)
    class_id = optional(data, "class", str)
    if (participant is None) == (class_id is None):
        raise InvalidMessage("give either 'participant' or 'class'", detail="participant")
    return participant, class_id


@dataclass(frozen=True, slots=True)
class _LobbyDecision(Message):
    """A teacher's decision on one waiting participant, or on everyone waiting from a class."""

    WIRE: ClassVar[dict[str, str]] = {"class_id": "class"}
    participant: str | None = None
    class_id: str | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        participant, class_id = _target(data)
        return cls(participant=participant, class_id=class_id, id=request_id(data))


@dataclass(frozen=True, slots=True)
class LobbyAdmit(_LobbyDecision):
    """Let them in."""

    TYPE: ClassVar[str] = "lobby.admit"


@dataclass(frozen=True, slots=True)
class LobbyDeny(_LobbyDecision):
    """Turn them away (their waiting connections close with 4014)."""

    TYPE: ClassVar[str] = "lobby.deny"


@dataclass(frozen=True, slots=True)
class LobbyWait(Message):
    """Server to client, in place of ``welcome``: the join is accepted, but the participant
    waits in the lobby. Nothing else of the session reaches them until a ``welcome`` (with
    the same ``id``) says they were admitted, or the connection closes with 4014."""

    TYPE: ClassVar[str] = "lobby"
    participant: dict[str, Any]
    policy: str
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            participant=require(data, "participant", dict),
            policy=require(data, "policy", str),
            id=request_id(data),
        )


LOBBY_COMMANDS: tuple[type[Message], ...] = (LobbyAdmit, LobbyDeny)
