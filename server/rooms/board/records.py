"""Board records (stroke, rectangle, ellipse, line, arrow, text, sticky note) and the checks of
their properties. Coordinates are quantised integers: clients round before sending, so every
replica stores exactly the same numbers and the SVG export needs no float formatting rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.errors import InvalidMessage, LimitExceeded
from server.rooms.text import has_forbidden_characters


class RecordKind(StrEnum):
    STROKE = "stroke"
    RECT = "rect"
    ELLIPSE = "ellipse"
    LINE = "line"
    ARROW = "arrow"
    TEXT = "text"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class BoardLimits:
    records_per_board: int = 5000
    points_per_stroke: int = 5000  # x,y pairs
    points_per_append: int = 500
    text_chars: int = 2000
    boards_per_session: int = 20
    tombstones: int = 1000  # deleted ids remembered per board, so they are not reused
    undo_depth: int = 50  # steps per participant per board


COORDINATE_LIMIT = 1_000_000  # |x|, |y|: a board is large but finite
RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_COLOR = re.compile(r"#[0-9a-f]{6}")


@dataclass(slots=True)
class BoardRecord:
    id: str
    kind: str
    author: str  # participant id
    class_id: str
    z: int  # drawing order: higher is on top
    seq: int  # the seq of the event that last changed it
    props: dict[str, Any] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author,
            "class_id": self.class_id,
            "z": self.z,
            "seq": self.seq,
            "props": self.props,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> BoardRecord:
        return cls(
            id=data["id"],
            kind=data["kind"],
            author=data["author"],
            class_id=data["class_id"],
            z=data["z"],
            seq=data["seq"],
            props=dict(data["props"]),
        )


# --- property checks ---------------------------------------------------------------------------

Check = Callable[[str, Any, BoardLimits], Any]


def _int_in(low: int, high: int) -> Check:
    def check(name: str, value: Any, limits: BoardLimits) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidMessage(f"'{name}' must be an integer from {low} to {high}", detail=name)
        return value

    return check


def _color(name: str, value: Any, limits: BoardLimits) -> str:
    if not isinstance(value, str) or not _COLOR.fullmatch(value):
        raise InvalidMessage(f"'{name}' must be a colour like #1a2b3c", detail=name)
    return value


def _fill(name: str, value: Any, limits: BoardLimits) -> str | None:
    return None if value is None else _color(name, value, limits)


def _text(name: str, value: Any, limits: BoardLimits) -> str:
    if not isinstance(value, str):
        raise InvalidMessage(f"'{name}' must be a string", detail=name)
    if len(value) > limits.text_chars:
        raise LimitExceeded(f"'{name}' is longer than {limits.text_chars} characters", detail=name)
    if has_forbidden_characters(value, multiline=True):
        raise InvalidMessage(f"'{name}' contains control characters", detail=name)
    return value


def _points(name: str, value: Any, limits: BoardLimits) -> list[int]:
    check_points(name, value, limits.points_per_stroke)
    return list(value)


def check_points(name: str, value: Any, most: int) -> None:
    """A flat list ``[x0, y0, x1, y1, ...]`` of at most ``most`` pairs."""
    if not isinstance(value, list) or len(value) % 2:
        raise InvalidMessage(f"'{name}' must be a flat list of x, y integers", detail=name)
    if len(value) > 2 * most:
        raise LimitExceeded(f"'{name}' has more than {most} points", detail=name)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise InvalidMessage(f"'{name}' must hold integers only", detail=name)
        if not -COORDINATE_LIMIT <= item <= COORDINATE_LIMIT:
            raise InvalidMessage(f"'{name}' holds a coordinate out of range", detail=name)


_COORD = _int_in(-COORDINATE_LIMIT, COORDINATE_LIMIT)
_SIZE = _int_in(0, 2 * COORDINATE_LIMIT)
_WIDTH = _int_in(1, 64)
_FONT = _int_in(8, 200)
_BOX = {"x": _COORD, "y": _COORD, "w": _SIZE, "h": _SIZE}
_ENDS = {"x1": _COORD, "y1": _COORD, "x2": _COORD, "y2": _COORD}

# Per kind: every property it has and its check. All are required at creation except ``fill``.
SCHEMAS: dict[str, dict[str, Check]] = {
    RecordKind.STROKE: {"points": _points, "color": _color, "width": _WIDTH},
    RecordKind.RECT: {**_BOX, "color": _color, "width": _WIDTH, "fill": _fill},
    RecordKind.ELLIPSE: {**_BOX, "color": _color, "width": _WIDTH, "fill": _fill},
    RecordKind.LINE: {**_ENDS, "color": _color, "width": _WIDTH},
    RecordKind.ARROW: {**_ENDS, "color": _color, "width": _WIDTH},
    RecordKind.TEXT: {"x": _COORD, "y": _COORD, "text": _text, "color": _color, "size": _FONT},
    RecordKind.NOTE: {**_BOX, "text": _text, "color": _color},
}
OPTIONAL = frozenset({"fill"})


def check_kind(kind: Any) -> str:
    if kind not in SCHEMAS:
        raise InvalidMessage(f"unknown record kind; one of {', '.join(SCHEMAS)}", detail="kind")
    return str(kind)


def check_props(kind: str, props: Any, limits: BoardLimits, *, partial: bool) -> dict[str, Any]:
    """The checked properties; ``partial`` for a patch (any subset, at least one)."""
    if not isinstance(props, Mapping) or not props:
        raise InvalidMessage("'props' must be a non-empty map", detail="props")
    schema = SCHEMAS[kind]
    checked: dict[str, Any] = {}
    for name, value in props.items():
        check = schema.get(name)
        if check is None:
            raise InvalidMessage(f"a {kind} has no property '{str(name)[:40]}'", detail="props")
        checked[name] = check(f"props.{name}", value, limits)
    if not partial:
        missing = [name for name in schema if name not in checked and name not in OPTIONAL]
        if missing:
            raise InvalidMessage(f"missing property '{missing[0]}'", detail=f"props.{missing[0]}")
    return checked
