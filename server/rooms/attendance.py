"""Attendance: when each participant was present, as merged intervals, kept in the state.

The log's history is trimmed (``history_size``), so attendance cannot be read back from it at
export time: the reducer keeps it as it goes, from ``participant.joined`` and
``participant.left`` and their timestamps only (pure, the same on every replica).

Presence is per participant, not per connection: a second tab or device adds no interval,
and a reconnect within the grace period logs nothing at all. What still reaches the log is
merged here: a join at or before the end of the previous interval (back to back, or a worker
whose clock is a little behind) reopens that interval instead of starting a new one, so the
intervals stay sorted and disjoint, and a gap is never counted. A participant who flaps for
hours keeps at most ``MAX_INTERVALS`` intervals in detail; older ones are folded into totals,
which stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_INTERVALS = 50


@dataclass(slots=True)
class Attendance:
    first_joined_at: int
    intervals: list[list[int]] = field(default_factory=list)  # closed [start, end], sorted
    open_since: int | None = None  # present now, since then
    open_until: int = 0  # the open interval reaches at least here (a reopened one: its end)
    folded_count: int = 0  # intervals folded out of ``intervals``
    folded_ms: int = 0
    folded_until: int = 0  # the end of the last folded interval

    def to_row(self) -> list[Any]:
        return [
            self.first_joined_at,
            [list(i) for i in self.intervals],
            self.open_since,
            self.open_until,
            self.folded_count,
            self.folded_ms,
            self.folded_until,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> Attendance:
        first, intervals, open_since, open_until, count, folded_ms, until = row
        copied = [list(i) for i in intervals]
        return cls(first, copied, open_since, open_until, count, folded_ms, until)


def record_join(book: dict[str, Attendance], participant_id: str, ts: int) -> None:
    entry = book.get(participant_id)
    if entry is None:
        book[participant_id] = Attendance(first_joined_at=ts, open_since=ts, open_until=ts)
        return
    entry.first_joined_at = min(entry.first_joined_at, ts)
    if entry.open_since is not None:
        return  # joined again from another worker before its replica saw the first join
    if entry.intervals and ts <= entry.intervals[-1][1]:
        # Back to back, or stamped by a clock a little behind: the last visit goes on. Only
        # the last one: the log's order says this visit came after every earlier one.
        entry.open_since, entry.open_until = entry.intervals.pop()
        return
    # Folded intervals are gone in detail: never count their time twice.
    entry.open_since = entry.open_until = max(ts, entry.folded_until)


def record_leave(book: dict[str, Attendance], participant_id: str, ts: int) -> None:
    entry = book.get(participant_id)
    if entry is None or entry.open_since is None:
        return  # not present (a snapshot from before attendance, or a repeated leave)
    entry.intervals.append([entry.open_since, max(ts, entry.open_until)])
    entry.open_since = None
    if len(entry.intervals) > MAX_INTERVALS:
        start, end = entry.intervals.pop(0)
        entry.folded_count += 1
        entry.folded_ms += end - start
        entry.folded_until = end


def present_ms(entry: Attendance, now: int) -> int:
    """Time present up to ``now``; an interval still open counts up to ``now``."""
    closed = entry.folded_ms + sum(end - start for start, end in entry.intervals)
    if entry.open_since is None:
        return closed
    return closed + max(0, now - entry.open_since, entry.open_until - entry.open_since)


def interval_count(entry: Attendance) -> int:
    return entry.folded_count + len(entry.intervals) + (entry.open_since is not None)


def last_left_at(entry: Attendance) -> int | None:
    """When they last left; ``None`` while present."""
    if entry.open_since is not None:
        return None
    if entry.intervals:
        return entry.intervals[-1][1]
    return entry.folded_until or None


def dump_attendance(book: dict[str, Attendance]) -> list[list[Any]]:
    return [[participant_id, *entry.to_row()] for participant_id, entry in book.items()]


def load_attendance(rows: list[list[Any]]) -> dict[str, Attendance]:
    return {row[0]: Attendance.from_row(row[1:]) for row in rows}
