"""Whiteboard commands (client to server). Shapes only: what a record may hold, who may do what
and the limits are server/rooms/board's business. The resulting events are in
docs/protocol.md, "Whiteboard"; a cursor position is a volatile ``cursor`` (see ``peer``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeGuard

from server.errors import InvalidMessage
from server.protocol.fields import check, optional, request_id, require
from server.protocol.message_base import Message, RequestId


def _board(data: Mapping[str, Any]) -> str:
    return require(data, "board", str)


@dataclass(frozen=True, slots=True)
class BoardPut(Message):
    """Add a record: ``record`` is ``{"id", "kind", "props"}``; the id is chosen by the client
    (so it can append to a stroke before the ack) and must be new on the board."""

    TYPE: ClassVar[str] = "board.put"
    board: str
    record: dict[str, Any]
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        record = require(data, "record", dict)
        for name, kind in (("id", str), ("kind", str), ("props", dict)):
            require(record, name, kind, within="record")
        return cls(board=_board(data), record=record, id=request_id(data))


@dataclass(frozen=True, slots=True)
class BoardPatch(Message):
    TYPE: ClassVar[str] = "board.patch"
    board: str
    record: str
    props: dict[str, Any] = field(default_factory=dict)
    z: int | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        props = optional(data, "props", dict) or {}
        z = optional(data, "z", int)
        if not props and z is None:
            raise InvalidMessage("a patch changes 'props' or 'z'", detail="props")
        return cls(_board(data), require(data, "record", str), props, z, request_id(data))


@dataclass(frozen=True, slots=True)
class BoardAppend(Message):
    """More points for an open stroke of one's own, at ``offset`` (the number of points the
    sender believes the stroke has); ``end`` closes the stroke."""

    TYPE: ClassVar[str] = "board.append"
    board: str
    record: str
    offset: int
    points: list[int]
    end: bool | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            board=_board(data),
            record=require(data, "record", str),
            offset=require(data, "offset", int),
            points=require(data, "points", list),
            end=optional(data, "end", bool),
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class BoardDelete(Message):
    TYPE: ClassVar[str] = "board.delete"
    board: str
    records: list[str]
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        records = require(data, "records", list)
        for index, record_id in enumerate(records):
            check(record_id, f"records.{index}", str)
        return cls(board=_board(data), records=records, id=request_id(data))


@dataclass(frozen=True, slots=True)
class BoardAction(Message):
    """The commands that name only a board: clear, undo, redo."""

    TYPE: ClassVar[str] = ""
    board: str
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(board=_board(data), id=request_id(data))


@dataclass(frozen=True, slots=True)
class BoardClear(BoardAction):
    TYPE: ClassVar[str] = "board.clear"


@dataclass(frozen=True, slots=True)
class BoardUndo(BoardAction):
    TYPE: ClassVar[str] = "board.undo"


@dataclass(frozen=True, slots=True)
class BoardRedo(BoardAction):
    TYPE: ClassVar[str] = "board.redo"


@dataclass(frozen=True, slots=True)
class BoardAccessUpdate(Message):
    """Who may draw: ``mode`` (everyone, teachers, selected), the selected ``classes`` and
    ``participants``, and ``locked``. Fields left out keep their value."""

    TYPE: ClassVar[str] = "board.access"
    board: str
    mode: str | None = None
    classes: list[str] | None = None
    participants: list[str] | None = None
    locked: bool | None = None
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        lists = {}
        for name in ("classes", "participants"):
            value = optional(data, name, list)
            for index, item in enumerate(value or []):
                check(item, f"{name}.{index}", str)
            lists[name] = value
        return cls(
            board=_board(data),
            mode=optional(data, "mode", str),
            classes=lists["classes"],
            participants=lists["participants"],
            locked=optional(data, "locked", bool),
            id=request_id(data),
        )


@dataclass(frozen=True, slots=True)
class BoardCreate(Message):
    TYPE: ClassVar[str] = "board.create"
    board: str
    title: str = ""
    id: RequestId | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        title = optional(data, "title", str) or ""
        return cls(board=_board(data), title=title, id=request_id(data))


# --- server to client -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardRecords(Message):
    """Records of a board after a welcome with a snapshot, bottom to top; ``last`` marks the
    board's final chunk. Later events follow only after every board's records."""

    TYPE: ClassVar[str] = "board.records"
    board: str
    records: list[dict[str, Any]]
    last: bool

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            board=_board(data),
            records=require(data, "records", list),
            last=require(data, "last", bool),
        )


BoardCommand = (
    BoardPut
    | BoardPatch
    | BoardAppend
    | BoardDelete
    | BoardClear
    | BoardUndo
    | BoardRedo
    | BoardAccessUpdate
    | BoardCreate
)
BOARD_COMMANDS: tuple[type[Message], ...] = (
    BoardPut,
    BoardPatch,
    BoardAppend,
    BoardDelete,
    BoardClear,
    BoardUndo,
    BoardRedo,
    BoardAccessUpdate,
    BoardCreate,
)


def is_board_command(message: object) -> TypeGuard[BoardCommand]:
    return isinstance(message, BOARD_COMMANDS)
