"""Board commands checked against the state, and what the reducer makes of their events."""

from __future__ import annotations

import pytest

from server.protocol.board import BoardClear, BoardCreate, BoardPatch, BoardPut
from server.rooms.board.records import BoardRecord
from server.rooms.board.reducer import LIMITS
from server.rooms.board.rules import OffsetMismatch
from server.rooms.events import Event, EventKind
from tests.rooms.board.drawing import (
    BLUE,
    append,
    board,
    delete,
    move,
    props_of,
    rect,
    refused,
    stroke,
)
from tests.rooms.builders import AMANI, HOST, INGRID, TEACHER, full_session


def test_a_put_record_belongs_to_its_author_and_class_and_goes_on_top() -> None:
    session = full_session()
    first = session.command(AMANI, rect("r1"))
    session.command(INGRID, rect("r2"))
    records = board(session).records
    assert (records["r1"].author, records["r1"].class_id) == ("p_amani", "c1")
    assert (records["r1"].seq, records["r1"].z) == (first, 1)
    assert records["r2"].z == 2
    assert [r.id for r in board(session).ordered()] == ["r1", "r2"]


@pytest.mark.parametrize(
    ("record", "code", "detail"),
    [
        ({"id": "bad id", "kind": "rect", "props": {}}, "invalid_message", "record.id"),
        ({"id": "x" * 41, "kind": "rect", "props": {}}, "invalid_message", "record.id"),
        ({"id": "r", "kind": "circle", "props": {"x": 1}}, "invalid_message", "kind"),
        ({"id": "r", "kind": "rect", "props": {"x": 0}}, "invalid_message", "props.y"),
        ({"id": "r", "kind": "line", "props": {"q": 1}}, "invalid_message", "props"),
        (
            {"id": "r", "kind": "text", "props": {"x": 0, "y": 0, "color": "red", "size": 9}},
            "invalid_message",
            "props.color",
        ),
        (
            {"id": "r", "kind": "text", "props": {"x": 0, "y": 0, "text": "a" * 2001}},
            "too_large",
            "props.text",
        ),
        (
            {"id": "r", "kind": "stroke", "props": {"points": [0, 0, 1], "color": BLUE}},
            "invalid_message",
            "props.points",
        ),
        (
            {"id": "r", "kind": "stroke", "props": {"points": [0, 2_000_000]}},
            "invalid_message",
            "props.points",
        ),
        (
            {"id": "r", "kind": "stroke", "props": {"points": [True, 1]}},
            "invalid_message",
            "props.points",
        ),
    ],
)
def test_bad_records_are_refused(record: dict[str, object], code: str, detail: str) -> None:
    session = full_session()
    error = refused(session, AMANI, BoardPut("main", record))
    assert (error.code, error.detail) == (code, detail)


def test_a_record_id_is_never_reused() -> None:
    session = full_session()
    session.command(AMANI, rect("r1"))
    assert refused(session, INGRID, rect("r1")).code == "record_exists"
    session.command(AMANI, delete("r1"))
    assert refused(session, AMANI, rect("r1")).code == "record_exists"  # tombstoned


def test_unknown_board() -> None:
    session = full_session()
    put = BoardPut("elsewhere", {"id": "r", "kind": "rect", "props": {}})
    assert (refused(session, AMANI, put).code, refused(session, AMANI, put).detail) == (
        "not_found",
        "board",
    )


def test_a_full_board_takes_no_more_records() -> None:
    session = full_session()
    main = board(session)
    for n in range(LIMITS.records_per_board):  # straight into the state: faster than commands
        main.records[f"r{n}"] = BoardRecord(f"r{n}", "rect", "p_amani", "c1", n, 1, {})
    assert refused(session, AMANI, rect("one-more")).code == "board_full"


def test_students_change_only_their_own_records_teachers_all() -> None:
    session = full_session()
    session.command(AMANI, rect("mine"))
    session.command(INGRID, rect("hers"))
    session.command(AMANI, move("mine", 5))
    assert props_of(session, "mine")["x"] == 5
    error = refused(session, AMANI, move("hers", 5))
    assert (error.code, error.detail) == ("forbidden", "record")
    assert refused(session, AMANI, delete("hers")).code == "forbidden"
    session.command(TEACHER, move("hers", 7))
    session.command(HOST, delete("mine"))
    assert list(board(session).records) == ["hers"]


def test_a_patch_moves_a_record_up_or_down() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    session.command(AMANI, rect("b"))
    session.command(AMANI, BoardPatch("main", "b", z=-1))
    assert [r.id for r in board(session).ordered()] == ["b", "a"]
    assert refused(session, AMANI, BoardPatch("main", "a", z=10**10)).detail == "z"
    assert refused(session, AMANI, move("missing", 1)).code == "not_found"


def test_a_live_stroke_grows_by_appends_and_closes() -> None:
    session = full_session()
    session.command(AMANI, stroke("s", 0, 0))
    assert props_of(session, "s")["open"] is True
    session.command(AMANI, append("s", 1, 1, 1, 2, 2))
    session.command(AMANI, append("s", 3, 3, 3, end=True))
    assert props_of(session, "s") == {
        "points": [0, 0, 1, 1, 2, 2, 3, 3],
        "color": BLUE,
        "width": 3,
        "open": False,
    }
    assert refused(session, AMANI, append("s", 4, 4, 4)).detail == "record"  # finished


def test_an_append_at_the_wrong_offset_gets_the_current_record() -> None:
    session = full_session()
    session.command(AMANI, stroke("s", 0, 0, 1, 1))
    error = refused(session, AMANI, append("s", 1, 5, 5))
    assert isinstance(error, OffsetMismatch)
    assert error.current["props"]["points"] == [0, 0, 1, 1]
    assert error.current["id"] == "s"


def test_only_the_author_appends_to_a_stroke() -> None:
    session = full_session()
    session.command(AMANI, stroke("s", 0, 0))
    assert refused(session, TEACHER, append("s", 1, 1, 1)).detail == "record"
    assert refused(session, AMANI, append("r", 1, 1, 1)).code == "not_found"


def test_stroke_points_are_bounded() -> None:
    session = full_session()
    session.command(AMANI, stroke("s", 0, 0))
    too_many = [1] * (2 * LIMITS.points_per_append + 2)
    assert refused(session, AMANI, append("s", 1, *too_many)).code == "too_large"
    chunk = [1] * (2 * LIMITS.points_per_append)
    offset = 1
    while offset + LIMITS.points_per_append <= LIMITS.points_per_stroke:
        session.command(AMANI, append("s", offset, *chunk))
        offset += LIMITS.points_per_append
    rest = LIMITS.points_per_stroke - offset
    session.command(AMANI, append("s", offset, *[1] * (2 * rest)))  # exactly full
    assert refused(session, AMANI, append("s", LIMITS.points_per_stroke, 1, 1)).code == "too_large"


def test_delete_names_each_record_once_and_is_bounded() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    session.command(AMANI, delete("a", "a"))
    assert session.log[-1][1].data["ids"] == ["a"]
    assert refused(session, AMANI, delete()).code == "invalid_message"
    assert refused(session, TEACHER, delete(*[f"r{n}" for n in range(201)])).code == "too_large"
    assert refused(session, AMANI, delete("a")).code == "not_found"


def test_only_teachers_clear_and_a_clear_empties_the_board() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    assert refused(session, AMANI, BoardClear("main")).code == "forbidden"
    session.command(TEACHER, BoardClear("main"))
    assert board(session).records == {}
    assert list(board(session).tombstones) == ["a"]
    assert refused(session, AMANI, rect("a")).code == "record_exists"


def test_teachers_open_more_boards() -> None:
    session = full_session()
    assert refused(session, AMANI, BoardCreate("group-1")).code == "forbidden"
    session.command(TEACHER, BoardCreate("group-1", "Group 1"))
    assert board(session, "group-1").title == "Group 1"
    assert refused(session, TEACHER, BoardCreate("group-1")).code == "record_exists"
    assert refused(session, TEACHER, BoardCreate("bad id")).detail == "board"
    for n in range(2, LIMITS.boards_per_session):
        session.command(TEACHER, BoardCreate(f"group-{n}"))
    assert refused(session, TEACHER, BoardCreate("one-more")).code == "too_large"


def test_events_that_no_longer_apply_are_ignored_by_every_replica() -> None:
    """Two workers decided at once: the teacher's delete came first in the log, so the
    author's append (decided before it) changes nothing anywhere."""
    session = full_session()
    session.command(AMANI, stroke("s", 0, 0))
    late_append = Event(
        EventKind.BOARD_APPENDED,
        session.tick(),
        {"board": "main", "id": "s", "offset": 1, "points": [1, 1], "by": "p_amani"},
    )
    session.command(TEACHER, delete("s"))
    seq = session.append(late_append)
    assert "s" not in board(session).records
    assert session.state.seq == seq
    duplicate_put = session.log[-3][1]  # the stroke's put, applied again: its id is taken
    session.append(duplicate_put)
    assert "s" not in board(session).records


def test_a_logged_delete_naming_an_id_twice_is_applied_once() -> None:
    """Our rules never log that, but a replica must not stop half-way on it."""
    session = full_session()
    session.command(AMANI, rect("a"))
    event = Event(
        EventKind.BOARD_DELETED,
        session.tick(),
        {"board": "main", "ids": ["a", "a"], "by": "p_amani"},
    )
    seq = session.append(event)
    assert session.state.seq == seq
    assert "a" not in board(session).records
    assert list(board(session).tombstones) == ["a"]
