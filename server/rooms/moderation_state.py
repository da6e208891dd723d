"""What teachers decided about a live session (rules: server/rooms/moderation.py): who is
asked to mute, who is barred, whether the session is locked or ended, which classes may chat
or draw, and whether partner teachers act only on their own class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MEDIA_KINDS = ("audio", "video")


@dataclass(slots=True)
class ModerationState:
    # Participant id -> the kinds ("audio", "video") they are asked to mute.
    muted: dict[str, set[str]] = field(default_factory=dict)
    # Class id -> the kinds its students and station are asked to mute, later joiners too.
    class_muted: dict[str, set[str]] = field(default_factory=dict)
    barred: set[str] = field(default_factory=set)  # removed for the rest of the session
    locked: bool = False  # no participant the session has not seen may join
    ended_by: str | None = None
    ended_at: int = 0
    chat_disabled: set[str] = field(default_factory=set)  # class ids
    drawing_disabled: set[str] = field(default_factory=set)  # class ids
    # Set by a host: teachers act only on their own class (hosts are never restricted).
    teachers_own_class: bool = False

    @property
    def ended(self) -> bool:
        return self.ended_by is not None

    def to_wire(self, *, with_barred: bool = True) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "muted": {pid: sorted(kinds) for pid, kinds in sorted(self.muted.items()) if kinds},
            "class_muted": {
                cid: sorted(kinds) for cid, kinds in sorted(self.class_muted.items()) if kinds
            },
            "locked": self.locked,
            "ended_by": self.ended_by,
            "ended_at": self.ended_at,
            "chat_disabled": sorted(self.chat_disabled),
            "drawing_disabled": sorted(self.drawing_disabled),
            "teachers_own_class": self.teachers_own_class,
        }
        if with_barred:
            wire["barred"] = sorted(self.barred)
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ModerationState:
        return cls(
            muted={pid: set(kinds) for pid, kinds in data.get("muted", {}).items()},
            class_muted={cid: set(kinds) for cid, kinds in data.get("class_muted", {}).items()},
            barred=set(data.get("barred", ())),
            locked=bool(data.get("locked", False)),
            ended_by=data.get("ended_by"),
            ended_at=int(data.get("ended_at", 0)),
            chat_disabled=set(data.get("chat_disabled", ())),
            drawing_disabled=set(data.get("drawing_disabled", ())),
            teachers_own_class=bool(data.get("teachers_own_class", False)),
        )
