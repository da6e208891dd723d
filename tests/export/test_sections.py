"""The export's files, built from a session's state without a server."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from server.export.archive import build_zip
from server.export.attendance_report import attendance_rows
from server.export.context import OPERATOR, ExportContext
from server.export.sections import SECTIONS, boards_svg
from server.protocol.board import BoardCreate
from server.protocol.messages import ChatSend
from server.rooms.actor import Actor
from server.rooms.presence import joined_event
from server.rooms.roles import Role
from server.rooms.state import SessionSettings, dump_state, load_state
from tests.rooms.builders import AMANI, HOST, INGRID, OLA, T0, TEACHER, Session, full_session

MINUTE = 60_000
FORMULA = Actor("p_formula", '=HYPERLINK("http://x")', Role.STUDENT, "c2")


def _ctx(session: Session, viewer: Actor = OPERATOR, now: int | None = None) -> ExportContext:
    return ExportContext(session.state, now or session.now, viewer, recordings=None)


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _file(ctx: ExportContext, name: str) -> bytes:
    return dict(SECTIONS)[name](ctx)


def test_every_section_and_board_is_in_the_zip() -> None:
    session = full_session()
    session.command(TEACHER, BoardCreate(board="ideas", title="Ideas"))
    archive = zipfile.ZipFile(io.BytesIO(build_zip(_ctx(session))))
    names = set(archive.namelist())
    assert {name for name, _ in SECTIONS} | {"boards/main.svg", "boards/ideas.svg"} == names
    assert archive.testzip() is None


def test_each_board_is_drawn_with_its_title() -> None:
    session = full_session()
    session.command(TEACHER, BoardCreate(board="group-1_b", title="Group <1>"))
    files = dict(boards_svg(_ctx(session)))
    assert list(files) == ["boards/main.svg", "boards/group-1_b.svg"]
    assert (
        b"<title>Water in our towns \xe2\x80\x94 Group &lt;1&gt;</title>"
        in files["boards/group-1_b.svg"]
    )


def test_a_name_that_looks_like_a_formula_is_shown_as_text() -> None:
    session = Session().join(FORMULA)
    [row] = _rows(_file(_ctx(session), "attendance.csv"))
    assert row["name"] == "'" + FORMULA.name


def test_open_visits_count_up_to_the_export_time() -> None:
    session = Session().join(AMANI)  # joined at T0 + 1 s
    later = T0 + 1000 + 30 * MINUTE
    [row] = _rows(_file(_ctx(session, now=later), "attendance.csv"))
    assert (row["minutes_present"], row["intervals"], row["last_leave_utc"]) == ("30.0", "1", "")
    [by_class] = [
        r
        for r in _rows(_file(_ctx(session, now=later), "attendance_by_class.csv"))
        if r["participants"] != "0"
    ]
    assert (by_class["class_id"], by_class["total_minutes"]) == ("c1", "30.0")


def test_participants_from_an_old_snapshot_have_a_row_without_minutes() -> None:
    session = Session().join(AMANI)
    data = dump_state(session.state)
    del data["attendance"]
    session.state = load_state(data)
    [row] = attendance_rows(_ctx(session))
    assert (row.intervals, row.present_ms) == (0, 0)


def test_rows_go_by_class_then_teachers_first() -> None:
    session = full_session()
    names = [r.participant.name for r in attendance_rows(_ctx(session))]
    assert names == [
        "Ms Wanjiru",
        "Form 2 Blue room",
        "Amani",
        "Mr Berg",
        "Ingrid",
        "Ola",
        "Inspector",
    ]


def test_direct_messages_go_to_those_who_may_read_them() -> None:
    session = full_session(SessionSettings(student_private_chat=True))
    session.command(HOST, ChatSend(text="teachers only", to=TEACHER.participant_id))
    session.command(INGRID, ChatSend(text="between pupils", to=OLA.participant_id))
    other_teacher = Actor("p_other", "Ms Other", Role.TEACHER, "c1")
    session.append(joined_event(other_teacher, session.tick()))

    def texts(viewer: Actor) -> list[str]:
        chat = json.loads(_file(_ctx(session, viewer), "chat.json"))
        assert all(m["direct"] for m in chat["messages"])
        return [m["text"] for m in chat["messages"]]

    assert texts(TEACHER) == ["teachers only", "between pupils"]
    # Teachers read pupils' private messages, not other teachers'; nor does the operator.
    assert texts(other_teacher) == ["between pupils"]
    assert texts(OPERATOR) == ["between pupils"]


def test_chat_txt_says_when_older_posts_are_not_kept() -> None:
    session = full_session()
    session.command(AMANI, ChatSend(text="first"))
    session.state.transcript.dropped = 12
    text = _file(_ctx(session), "chat.txt").decode()
    assert "(12 earlier messages are not kept)" in text
    assert text.rstrip().endswith("Amani (Form 2 Blue): first")
