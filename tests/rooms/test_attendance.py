"""Attendance kept by the reducer: intervals merged across reconnects, tabs and devices."""

from __future__ import annotations

import msgpack
from hypothesis import given
from hypothesis import strategies as st

from server.rooms.attendance import (
    MAX_INTERVALS,
    Attendance,
    interval_count,
    last_left_at,
    present_ms,
    record_join,
    record_leave,
)
from server.rooms.presence import joined_event, left_event
from server.rooms.reducer import apply_event
from server.rooms.state import dump_state, load_state
from tests.rooms.builders import AMANI, INGRID, T0, Session, replay

MINUTE = 60_000


def _book(*steps: tuple[str, int]) -> dict[str, Attendance]:
    """Joins (``+``) and leaves (``-``) of one participant ``p`` at the given times."""
    book: dict[str, Attendance] = {}
    for step, ts in steps:
        (record_join if step == "+" else record_leave)(book, "p", ts)
    return book


def test_one_visit_is_one_interval() -> None:
    entry = _book(("+", T0), ("-", T0 + 10 * MINUTE))["p"]
    assert entry.intervals == [[T0, T0 + 10 * MINUTE]]
    assert present_ms(entry, now=T0 + 60 * MINUTE) == 10 * MINUTE
    assert (interval_count(entry), last_left_at(entry)) == (1, T0 + 10 * MINUTE)


def test_flapping_connections_keep_separate_visits_and_add_up() -> None:
    steps = []
    for n in range(5):  # five short visits, a minute each, a minute apart
        steps += [("+", T0 + 2 * n * MINUTE), ("-", T0 + (2 * n + 1) * MINUTE)]
    entry = _book(*steps)["p"]
    assert interval_count(entry) == 5
    assert present_ms(entry, now=T0 + 100 * MINUTE) == 5 * MINUTE


def test_a_second_tab_or_device_adds_nothing() -> None:
    """Two workers each logged a join before seeing the other's: one interval, counted once."""
    entry = _book(("+", T0), ("+", T0 + MINUTE), ("-", T0 + 5 * MINUTE), ("-", T0 + 6 * MINUTE))
    assert entry["p"].intervals == [[T0, T0 + 5 * MINUTE]]
    assert present_ms(entry["p"], now=T0 + 60 * MINUTE) == 5 * MINUTE


def test_back_to_back_intervals_merge() -> None:
    entry = _book(("+", T0), ("-", T0 + MINUTE), ("+", T0 + MINUTE), ("-", T0 + 3 * MINUTE))["p"]
    assert entry.intervals == [[T0, T0 + 3 * MINUTE]]
    assert interval_count(entry) == 1


def test_a_join_stamped_before_the_last_leave_merges() -> None:
    """Workers' clocks differ a little: a rejoin may carry an earlier time than the leave."""
    steps = [("+", T0), ("-", T0 + 2 * MINUTE), ("+", T0 + MINUTE), ("-", T0 + 4 * MINUTE)]
    entry = _book(*steps)["p"]
    assert entry.intervals == [[T0, T0 + 4 * MINUTE]]


def test_a_rejoin_stamped_inside_the_last_visit_reopens_it() -> None:
    steps = [("+", T0), ("-", T0 + MINUTE), ("+", T0 + 2 * MINUTE), ("-", T0 + 5 * MINUTE)]
    book = _book(*steps, ("+", T0 + 3 * MINUTE))  # a clock a little behind
    assert present_ms(book["p"], now=T0 + 4 * MINUTE) == 4 * MINUTE  # up to 5 at least
    record_leave(book, "p", T0 + 4 * MINUTE)
    assert book["p"].intervals == [[T0, T0 + MINUTE], [T0 + 2 * MINUTE, T0 + 5 * MINUTE]]


def test_an_open_interval_counts_up_to_the_export() -> None:
    entry = _book(("+", T0), ("-", T0 + MINUTE), ("+", T0 + 10 * MINUTE))["p"]
    assert present_ms(entry, now=T0 + 15 * MINUTE) == 6 * MINUTE
    assert interval_count(entry) == 2
    assert last_left_at(entry) is None  # present now
    # An export stamped before the open interval (another worker's clock) counts none of it.
    assert present_ms(entry, now=T0 + 9 * MINUTE) == MINUTE


def test_a_leave_without_a_join_is_ignored() -> None:
    assert _book(("-", T0)) == {}
    entry = _book(("+", T0), ("-", T0 + MINUTE), ("-", T0 + 2 * MINUTE))["p"]
    assert entry.intervals == [[T0, T0 + MINUTE]]


def test_a_participant_who_flaps_for_hours_keeps_exact_totals_in_bounded_space() -> None:
    steps = []
    visits = MAX_INTERVALS * 3
    for n in range(visits):
        steps += [("+", T0 + 3 * n * MINUTE), ("-", T0 + (3 * n + 1) * MINUTE)]
    entry = _book(*steps)["p"]
    assert len(entry.intervals) == MAX_INTERVALS
    assert interval_count(entry) == visits
    assert present_ms(entry, now=T0 + 10_000 * MINUTE) == visits * MINUTE
    # A rejoin stamped far back (a clock behind) goes on with the last visit only: no gap
    # and no folded time is counted twice.
    last_visit = entry.intervals[-1]
    record_join({"p": entry}, "p", T0)
    assert [entry.open_since, entry.open_until] == last_visit
    assert present_ms(entry, now=0) == visits * MINUTE


def test_the_reducer_keeps_attendance_and_snapshots_carry_it() -> None:
    session = Session().join(AMANI, INGRID)
    session.leave(AMANI, "disconnected")
    session.append(joined_event(AMANI, session.now))  # back at once: the same interval
    session.leave(AMANI)
    state = session.state
    assert state.attendance["p_amani"].intervals == [[T0 + 1000, session.now]]
    assert state.attendance["p_ingrid"].open_since == T0 + 2000
    copy = load_state(msgpack.unpackb(msgpack.packb(dump_state(state))))
    assert copy.attendance == state.attendance
    assert replay(session.log).attendance == state.attendance


def test_an_old_snapshot_loads_with_empty_attendance() -> None:
    session = Session().join(AMANI)
    data = dump_state(session.state)
    del data["attendance"], data["transcript"]
    state = load_state(data)
    assert state.attendance == {}
    # Attendance counts from the next join; a leave of someone present before is ignored.
    apply_event(state, 99, left_event("p_amani", "left", T0 + 5 * MINUTE))
    assert state.attendance == {}
    apply_event(state, 100, joined_event(AMANI, T0 + 6 * MINUTE))
    assert state.attendance["p_amani"].open_since == T0 + 6 * MINUTE


STEP = st.tuples(st.booleans(), st.integers(min_value=0, max_value=10 * MINUTE))


@given(st.lists(STEP, max_size=3 * MAX_INTERVALS))
def test_intervals_stay_sorted_disjoint_and_within_wall_time(steps: list[tuple[bool, int]]) -> None:
    """Any order of joins and leaves, times going back and forth (workers' clocks)."""
    book: dict[str, Attendance] = {}
    stamps = []
    for joins, offset in steps:
        ts = T0 + offset
        stamps.append(ts)
        (record_join if joins else record_leave)(book, "p", ts)
    if not book:
        return
    entry = book["p"]
    flat = [t for interval in entry.intervals for t in interval]
    assert flat == sorted(flat)  # sorted, disjoint (touching ends are merged by a rejoin)
    assert all(start <= end for start, end in entry.intervals)
    if entry.intervals:
        assert entry.folded_until <= entry.intervals[0][0]
    now = max(stamps) + MINUTE
    wall = now - min(stamps)
    assert 0 <= present_ms(entry, now) <= wall
    assert interval_count(entry) <= sum(joins for joins, _ in steps)
