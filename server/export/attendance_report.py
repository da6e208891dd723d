"""attendance.csv (one row per participant) and attendance_by_class.csv.

The intervals come merged from the state (server/rooms/attendance.py): reconnects, several
tabs and several devices of one participant give one row, counted once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from server.export.context import ExportContext, minutes, utc
from server.rooms.attendance import interval_count, last_left_at, present_ms
from server.rooms.roles import Role
from server.rooms.state import Participant

PARTICIPANT_COLUMNS = (
    "participant_id",
    "name",
    "role",
    "class_id",
    "class_name",
    "first_join_utc",
    "last_leave_utc",
    "present_now",
    "intervals",
    "minutes_present",
)
CLASS_COLUMNS = (
    "class_id",
    "class_name",
    "country",
    "participants",
    "students",
    "present_now",
    "total_minutes",
    "average_minutes",
)
# Teachers first, then the class's station, its pupils and observers.
_ROLE_ORDER = {role.value: index for index, role in enumerate(Role)}
# A cell starting with one of these is a formula to a spreadsheet; names are typed by pupils.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    participant: Participant
    first_joined_at: int
    last_left_at: int | None
    intervals: int
    present_ms: int


def attendance_rows(ctx: ExportContext) -> list[AttendanceRow]:
    """Everyone who ever joined, class by class (in the session's order), then by role
    (hosts and teachers first), then by name."""
    order = {class_id: index for index, class_id in enumerate(ctx.state.classes)}
    rows = []
    for participant in ctx.state.participants.values():
        entry = ctx.state.attendance.get(participant.id)
        if entry is None:  # joined before attendance was kept (an older snapshot)
            row = AttendanceRow(participant, participant.first_joined_at, None, 0, 0)
        else:
            row = AttendanceRow(
                participant,
                entry.first_joined_at,
                last_left_at(entry),
                interval_count(entry),
                present_ms(entry, ctx.now),
            )
        rows.append(row)
    return sorted(
        rows,
        key=lambda r: (
            order.get(r.participant.class_id, len(order)),
            _ROLE_ORDER.get(r.participant.role, len(_ROLE_ORDER)),
            r.participant.name.casefold(),
            r.participant.id,
        ),
    )


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    # With a byte order mark, spreadsheets read the names (any script) as UTF-8.
    return out.getvalue().encode("utf-8-sig")


def attendance_csv(ctx: ExportContext) -> bytes:
    rows = (
        (
            r.participant.id,
            r.participant.name,
            r.participant.role,
            r.participant.class_id,
            ctx.class_name(r.participant.class_id),
            utc(r.first_joined_at),
            utc(r.last_left_at),
            "yes" if r.participant.present else "no",
            r.intervals,
            minutes(r.present_ms),
        )
        for r in attendance_rows(ctx)
    )
    return _csv(PARTICIPANT_COLUMNS, rows)


def class_totals(ctx: ExportContext) -> list[dict[str, object]]:
    """Per class: who took part, how many are present now, and minutes present in all."""
    totals = {
        class_id: {"participants": 0, "students": 0, "present_now": 0, "ms": 0}
        for class_id in ctx.state.classes
    }
    for row in attendance_rows(ctx):
        entry = totals.setdefault(
            row.participant.class_id, {"participants": 0, "students": 0, "present_now": 0, "ms": 0}
        )
        entry["participants"] += 1
        entry["students"] += row.participant.role == "student"
        entry["present_now"] += row.participant.present
        entry["ms"] += row.present_ms
    result: list[dict[str, object]] = []
    for class_id, entry in totals.items():
        info = ctx.state.classes.get(class_id)
        count = entry["participants"]
        result.append(
            {
                "class_id": class_id,
                "class_name": ctx.class_name(class_id),
                "country": info.country if info is not None else "",
                "participants": count,
                "students": entry["students"],
                "present_now": entry["present_now"],
                "total_minutes": minutes(entry["ms"]),
                "average_minutes": minutes(entry["ms"] // count) if count else 0.0,
            }
        )
    return result


def attendance_by_class_csv(ctx: ExportContext) -> bytes:
    rows = ([totals[c] for c in CLASS_COLUMNS] for totals in class_totals(ctx))
    return _csv(CLASS_COLUMNS, rows)
