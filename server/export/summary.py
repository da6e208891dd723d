"""summary.json, also served alone: what the session is, and how much happened in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.export.attendance_report import attendance_rows, class_totals
from server.export.context import ExportContext, minutes, utc
from server.rooms.state import SessionState


def _messages(state: SessionState) -> int:
    return state.transcript.dropped + len(state.transcript.entries)


def _deleted(state: SessionState) -> int:
    return sum(e.text is None for e in state.transcript.entries)


def _direct(state: SessionState) -> int:
    return sum(e.to is not None for e in state.transcript.entries)


# Counts in ``counts``, by name. A feature adds its own with one line (polls, reflections...).
COUNTS: dict[str, Callable[[SessionState], int]] = {
    "participants": lambda state: len(state.participants),
    "messages": _messages,
    "messages_deleted": _deleted,  # of the messages kept
    "direct_messages": _direct,  # of the messages kept
    "messages_not_kept": lambda state: state.transcript.dropped,
    "boards": lambda state: len(state.boards),
    "board_records": lambda state: sum(len(b.records) for b in state.boards.values()),
    "polls": lambda state: len(state.polls),
}


def _classes(ctx: ExportContext) -> list[dict[str, Any]]:
    totals = {t["class_id"]: t for t in class_totals(ctx)}
    classes = []
    for class_id, info in ctx.state.classes.items():
        by_role: dict[str, int] = {}
        for p in ctx.state.participants.values():
            if p.class_id == class_id:
                by_role[p.role] = by_role.get(p.role, 0) + 1
        total = totals[class_id]
        classes.append(
            {
                **info.to_wire(),
                "participants": total["participants"],
                "participants_by_role": dict(sorted(by_role.items())),
                "present_now": total["present_now"],
                "minutes_present": total["total_minutes"],
            }
        )
    return classes


def _attendance(ctx: ExportContext) -> dict[str, Any]:
    rows = attendance_rows(ctx)
    total = sum(r.present_ms for r in rows)
    return {
        "participants": len(rows),
        "present_now": sum(r.participant.present for r in rows),
        "total_minutes": minutes(total),
        "average_minutes": minutes(total // len(rows)) if rows else 0.0,
    }


def summary(ctx: ExportContext) -> dict[str, Any]:
    state = ctx.state
    return {
        "session_id": state.session_id,
        "title": state.title,
        "created_at": state.created_at,
        "created_at_utc": utc(state.created_at),
        "exported_at": ctx.now,
        "exported_at_utc": utc(ctx.now),
        "seq": state.seq,
        "classes": _classes(ctx),
        "counts": {name: count(state) for name, count in COUNTS.items()},
        "attendance": _attendance(ctx),
    }
