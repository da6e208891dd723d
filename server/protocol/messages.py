"""Protocol v1 messages as plain dataclasses.

Each message has ``parse(mapping)`` (validating every field) and ``to_wire()`` (the mapping that
the codecs turn into msgpack or JSON, see ``message_base``). Messages relayed between
participants without entering the log are in ``peer``. docs/protocol.md is the reference for
every type and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from server.errors import InvalidMessage, UnknownType
from server.protocol.agenda import AGENDA_COMMANDS, AgendaCommand
from server.protocol.board import BOARD_COMMANDS, BoardCommand, BoardRecords
from server.protocol.breakouts import BREAKOUT_COMMANDS, BreakoutCommand
from server.protocol.classroom import (
    CLASSROOM_COMMANDS,
    ClassroomCommand,
    PeerReaction,
    Reaction,
)
from server.protocol.fields import optional, request_id, require
from server.protocol.ice import IceRefresh, IceServers, parse_ice_servers
from server.protocol.lobby import LOBBY_COMMANDS, LobbyAdmit, LobbyDeny, LobbyWait
from server.protocol.media import MediaGrant, MediaRelay
from server.protocol.message_base import Message as _Message
from server.protocol.message_base import RequestId
from server.protocol.moderation import MODERATION_COMMANDS, ModerationCommand
from server.protocol.peer import Cursor, PeerCursors, PeerSignal, PeerTyping, Signal, Typing
from server.protocol.recording import (
    RECORDING_COMMANDS,
    RecordingConsent,
    RecordingStart,
    RecordingStop,
)

# --- client to server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """The last event a reconnecting client saw: its seq and the epoch it belonged to."""

    seq: int
    epoch: str

    @classmethod
    def parse(cls, data: Any) -> Self:
        if not isinstance(data, Mapping):
            raise InvalidMessage("field 'resume' must be a map", detail="resume")
        seq = require(data, "seq", int, within="resume")
        if seq < 0:
            raise InvalidMessage("field 'resume.seq' must not be negative", detail="resume.seq")
        return cls(seq=seq, epoch=require(data, "epoch", str, within="resume"))

    def to_wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "epoch": self.epoch}


@dataclass(frozen=True, slots=True)
class Join(_Message):
    TYPE: ClassVar[str] = "join"
    token: str
    resume: ResumePoint | None = None
    session: str | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        resume = data.get("resume")
        return cls(
            token=require(data, "token", str),
            resume=None if resume is None else ResumePoint.parse(resume),
            session=optional(data, "session", str),
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class ChatSend(_Message):
    TYPE: ClassVar[str] = "chat.send"
    text: str
    to: str | None = None
    id: RequestId | None = None
    group: str | None = None  # a breakout group's chat (section 27)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            text=require(data, "text", str),
            to=optional(data, "to", str),
            id=request_id(data),
            group=optional(data, "group", str),
        )


@dataclass(frozen=True, slots=True)
class ChatDelete(_Message):
    TYPE: ClassVar[str] = "chat.delete"
    message_id: int
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(message_id=require(data, "message_id", int), id=request_id(data))


@dataclass(frozen=True, slots=True)
class SettingsUpdate(_Message):
    TYPE: ClassVar[str] = "settings.update"
    settings: dict[str, Any] = field(default_factory=dict)
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        settings = require(data, "settings", dict)
        if not all(isinstance(key, str) for key in settings):
            raise InvalidMessage("field 'settings' must map names to values", detail="settings")
        return cls(settings=settings, id=request_id(data))


@dataclass(frozen=True, slots=True)
class Ping(_Message):
    TYPE: ClassVar[str] = "ping"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


@dataclass(frozen=True, slots=True)
class Leave(_Message):
    """Leave the session now, without the reconnect grace period."""

    TYPE: ClassVar[str] = "leave"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


ClientMessage = (
    Join
    | ChatSend
    | ChatDelete
    | SettingsUpdate
    | Ping
    | Leave
    | Signal
    | Typing
    | Cursor
    | MediaRelay
    | MediaGrant
    | IceRefresh
    | RecordingStart
    | RecordingConsent
    | RecordingStop
    | ModerationCommand
    | AgendaCommand
    | BreakoutCommand
    | ClassroomCommand
    | LobbyAdmit
    | LobbyDeny
    | BoardCommand
)

_CLIENT_CLASSES: tuple[type[_Message], ...] = (
    *(Join, ChatSend, ChatDelete, SettingsUpdate, Ping, Leave, Signal, Typing, Cursor),
    *(MediaRelay, MediaGrant, IceRefresh),
    *RECORDING_COMMANDS,
    *MODERATION_COMMANDS,
    *AGENDA_COMMANDS,
    *BREAKOUT_COMMANDS,
    *CLASSROOM_COMMANDS,
    Reaction,
    *LOBBY_COMMANDS,
    *BOARD_COMMANDS,
)
CLIENT_TYPES: dict[str, Any] = {m.TYPE: m for m in _CLIENT_CLASSES}


# --- server to client -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome(_Message):
    """The reply to join. ``resume`` says what follows:

    - ``"none"``: no resume was asked; ``session`` holds a full snapshot at ``seq``;
    - ``"events"``: the missed events follow this message, in order, up to ``seq``;
    - ``"snapshot"``: the missed events are gone; ``session`` holds a fresh snapshot at ``seq``.

    ``ice_servers`` and ``ice_expires_at`` (Unix ms): for roles with video, when the server
    has ICE servers configured (see ``server.protocol.ice``).
    """

    TYPE: ClassVar[str] = "welcome"
    participant: dict[str, Any]
    seq: int
    epoch: str
    resume: str
    session: dict[str, Any] | None = None
    ice_servers: list[dict[str, Any]] | None = None
    ice_expires_at: int | None = None
    id: RequestId | None = None
    # The server's clock (Unix ms) as it sent the welcome: clients count the agenda's
    # countdown on it (docs/protocol.md, "Agenda and reflections").
    server_time: int | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        servers = optional(data, "ice_servers", list)
        return cls(
            participant=require(data, "participant", dict),
            seq=require(data, "seq", int),
            epoch=require(data, "epoch", str),
            resume=require(data, "resume", str),
            session=optional(data, "session", dict),
            ice_servers=None if servers is None else parse_ice_servers(servers, "ice_servers"),
            ice_expires_at=optional(data, "ice_expires_at", int),
            id=request_id(data),
            server_time=optional(data, "server_time", int),
        )


@dataclass(frozen=True, slots=True)
class EventMessage(_Message):
    """One event of the session log, with its position ``seq``."""

    TYPE: ClassVar[str] = "event"
    seq: int
    kind: str
    ts: int
    data: dict[str, Any]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            seq=require(data, "seq", int),
            kind=require(data, "kind", str),
            ts=require(data, "ts", int),
            data=require(data, "data", dict),
        )


@dataclass(frozen=True, slots=True)
class Ack(_Message):
    TYPE: ClassVar[str] = "ack"
    id: RequestId | None = None
    seq: int | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data), seq=optional(data, "seq", int))


@dataclass(frozen=True, slots=True)
class ErrorReply(_Message):
    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    id: RequestId | None = None
    detail: str | None = None
    retry_after_ms: int | None = None
    current: dict[str, Any] | None = None  # offset_mismatch: the record as the server has it

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            code=require(data, "code", str),
            message=require(data, "message", str),
            id=request_id(data),
            detail=optional(data, "detail", str),
            retry_after_ms=optional(data, "retry_after_ms", int),
            current=optional(data, "current", dict),
        )


@dataclass(frozen=True, slots=True)
class Pong(_Message):
    TYPE: ClassVar[str] = "pong"
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(id=request_id(data))


ServerMessage = (
    Welcome
    | EventMessage
    | Ack
    | ErrorReply
    | Pong
    | PeerSignal
    | PeerTyping
    | PeerReaction
    | PeerCursors
    | BoardRecords
    | IceServers
    | LobbyWait
)

_SERVER_CLASSES: tuple[type[_Message], ...] = (
    *(Welcome, EventMessage, Ack, ErrorReply, Pong),
    *(PeerSignal, PeerTyping, PeerCursors, BoardRecords, IceServers),
    PeerReaction,
    LobbyWait,
)
SERVER_TYPES: dict[str, Any] = {m.TYPE: m for m in _SERVER_CLASSES}


def _parse(data: Any, registry: dict[str, Any]) -> Any:
    if not isinstance(data, Mapping):
        raise InvalidMessage("a message must be a map with a 'type' field")
    kind = require(data, "type", str)
    message_class = registry.get(kind)
    if message_class is None:
        raise UnknownType(f"unknown message type '{kind[:40]}'", detail=kind[:40])
    return message_class.parse(data)


def parse_client_message(data: Any) -> ClientMessage:
    message: ClientMessage = _parse(data, CLIENT_TYPES)
    return message


def parse_server_message(data: Any) -> ServerMessage:
    message: ServerMessage = _parse(data, SERVER_TYPES)
    return message
