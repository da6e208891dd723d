"""Messages between participants that skip the log: WebRTC signaling, typing hints, cursors.

A client sends ``signal`` (to one participant), ``typing`` or ``cursor`` (to the session); the
others get ``peer.signal`` / ``peer.typing`` naming the sender, or ``peer.cursors``. They carry
no seq, are never stored and are not replayed on resume: a recipient that is not connected at
that moment misses them.

Only the fields named here are relayed: a description or candidate is rebuilt from its known
fields, so a client cannot smuggle arbitrary data to another participant through them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage
from server.protocol.fields import check, request_id, require
from server.protocol.message_base import Message, RequestId

SessionDescription = dict[str, str]  # {"type": "offer" | ..., "sdp": "..."}
IceCandidate = dict[str, Any]  # {"candidate": "...", "sdpMid": ..., "sdpMLineIndex": ...}

_CANDIDATE_OPTIONAL = (("sdpMid", str), ("sdpMLineIndex", int), ("usernameFragment", str))


def parse_description(data: Any) -> SessionDescription:
    if not isinstance(data, Mapping):
        raise InvalidMessage("field 'description' must be a map", detail="description")
    return {
        "type": require(data, "type", str, within="description"),
        "sdp": require(data, "sdp", str, within="description"),
    }


def parse_candidate(data: Any) -> IceCandidate:
    if not isinstance(data, Mapping):
        raise InvalidMessage("field 'candidate' must be a map", detail="candidate")
    candidate: IceCandidate = {"candidate": require(data, "candidate", str, within="candidate")}
    for name, kind in _CANDIDATE_OPTIONAL:
        if data.get(name) is not None:
            candidate[name] = check(data[name], f"candidate.{name}", kind)
    return candidate


def _signal_payload(
    data: Mapping[str, Any],
) -> tuple[SessionDescription | None, IceCandidate | None]:
    description, candidate = data.get("description"), data.get("candidate")
    if (description is None) == (candidate is None):
        raise InvalidMessage(
            "a signal carries exactly one of 'description' and 'candidate'", detail="description"
        )
    if description is not None:
        return parse_description(description), None
    return None, parse_candidate(candidate)


# --- client to server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signal(Message):
    """WebRTC signaling for the peer connection ``pc``, relayed to participant ``to``."""

    TYPE: ClassVar[str] = "signal"
    to: str
    pc: str
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        description, candidate = _signal_payload(data)
        return cls(
            to=require(data, "to", str),
            pc=require(data, "pc", str),
            description=description,
            candidate=candidate,
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class Typing(Message):
    """The sender is writing a chat message (clients send it at most about once a second)."""

    TYPE: ClassVar[str] = "typing"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class Cursor(Message):
    """Where the sender points on a board. Sent as often as the pointer moves: the server
    passes on at most about 20 a second, the newest winning, and never acks them."""

    TYPE: ClassVar[str] = "cursor"
    board: str
    x: int
    y: int

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            board=require(data, "board", str), x=require(data, "x", int), y=require(data, "y", int)
        )


# --- server to client -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerSignal(Message):
    TYPE: ClassVar[str] = "peer.signal"
    WIRE: ClassVar[dict[str, str]] = {"sender": "from"}
    sender: str
    pc: str
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        description, candidate = _signal_payload(data)
        return cls(
            sender=require(data, "from", str),
            pc=require(data, "pc", str),
            description=description,
            candidate=candidate,
        )


@dataclass(frozen=True, slots=True)
class PeerTyping(Message):
    TYPE: ClassVar[str] = "peer.typing"
    WIRE: ClassVar[dict[str, str]] = {"sender": "from"}
    sender: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(sender=require(data, "from", str))


@dataclass(frozen=True, slots=True)
class PeerCursors(Message):
    """The newest cursor position of each participant that moved since the last one:
    ``cursors`` is a list of ``{"from", "board", "x", "y"}``; yours may be among them."""

    TYPE: ClassVar[str] = "peer.cursors"
    cursors: list[dict[str, Any]]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(cursors=require(data, "cursors", list))
