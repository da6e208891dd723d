"""Creating sessions: the directory record, join codes, and the first event of the log."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import msgpack

from server import ids
from server.broker.base import Broker
from server.rooms.events import Event, EventKind
from server.rooms.settings_rules import validate_settings
from server.rooms.state import ClassInfo, SessionSettings


@dataclass(frozen=True, slots=True)
class SessionSpec:
    title: str
    classes: list[ClassInfo]
    settings: SessionSettings


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What the directory keeps of a session: enough to answer joins without the log."""

    session_id: str
    title: str
    classes: list[ClassInfo]
    join_codes: dict[str, str]  # class id -> join code
    created_at: int

    def to_bytes(self) -> bytes:
        data = asdict(self)
        packed: bytes = msgpack.packb(data, use_bin_type=True)
        return packed

    @classmethod
    def from_bytes(cls, payload: bytes) -> SessionRecord:
        data: dict[str, Any] = msgpack.unpackb(payload, raw=False)
        data["classes"] = [ClassInfo(**c) for c in data["classes"]]
        return cls(**data)

    def class_info(self, class_id: str) -> ClassInfo | None:
        return next((c for c in self.classes if c.id == class_id), None)


async def create_session(broker: Broker, spec: SessionSpec, now_ms: int) -> SessionRecord:
    """Log ``session.created`` first, then publish the directory record: a session becomes
    reachable (by id or join code) only once its log exists."""
    validate_settings(asdict(spec.settings))
    session_id = ids.session_id()
    codes = {c.id: ids.join_code() for c in spec.classes}
    record = SessionRecord(session_id, spec.title, spec.classes, codes, now_ms)
    created = Event(
        kind=EventKind.SESSION_CREATED,
        ts=now_ms,
        data={
            "session_id": session_id,
            "title": spec.title,
            "classes": [asdict(c) for c in spec.classes],
            "settings": asdict(spec.settings),
        },
    )
    await broker.append(session_id, created.to_bytes())
    await broker.create_session(
        session_id, record.to_bytes(), {code: cid for cid, code in codes.items()}
    )
    return record


async def load_record(broker: Broker, session_id: str) -> SessionRecord | None:
    payload = await broker.get_session(session_id)
    return None if payload is None else SessionRecord.from_bytes(payload)
