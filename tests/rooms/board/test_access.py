"""Who may draw: board modes, the lock, ownership, and cursors. Enforced on the server."""

from __future__ import annotations

import pytest

from server.errors import ClassbridgeError
from server.protocol.board import BoardAccessUpdate, BoardClear
from server.rooms.actor import Actor
from server.rooms.board.access import check_may_point
from tests.rooms.board.drawing import board, move, rect, refused
from tests.rooms.builders import (
    AMANI,
    HOST,
    INGRID,
    OBSERVER,
    OLA,
    STATION,
    TEACHER,
    Session,
    full_session,
)


def _access(session: Session, update: BoardAccessUpdate) -> None:
    session.command(TEACHER, update)


def _draws(session: Session, actor: Actor, record_id: str) -> bool:
    try:
        session.command(actor, rect(record_id))
    except ClassbridgeError as error:
        code = error.code
    else:
        return True
    assert code in ("forbidden", "board_locked")
    return False


def test_by_default_everyone_but_observers_draws() -> None:
    session = full_session()
    assert [_draws(session, a, f"r{n}") for n, a in enumerate((AMANI, STATION, TEACHER))] == [
        True
    ] * 3
    assert refused(session, OBSERVER, rect("o")).code == "forbidden"


def test_teachers_only_mode() -> None:
    session = full_session()
    _access(session, BoardAccessUpdate("main", mode="teachers"))
    assert not _draws(session, AMANI, "a")
    assert not _draws(session, STATION, "s")
    assert _draws(session, HOST, "h")
    assert board(session).access.mode == "teachers"


def test_selected_classes_and_participants() -> None:
    session = full_session()
    _access(
        session,
        BoardAccessUpdate("main", mode="selected", classes=["c2"], participants=["p_amani"]),
    )
    assert _draws(session, INGRID, "i")  # class c2
    assert _draws(session, AMANI, "a")  # named, although of c1
    assert not _draws(session, STATION, "s")  # c1, not named
    assert _draws(session, TEACHER, "t")


def test_a_locked_board_takes_nothing_until_unlocked() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    _access(session, BoardAccessUpdate("main", locked=True))
    for actor, command in ((AMANI, move("a", 3)), (TEACHER, rect("t")), (HOST, BoardClear("main"))):
        assert refused(session, actor, command).code == "board_locked"
    _access(session, BoardAccessUpdate("main", locked=False))
    session.command(AMANI, move("a", 3))


def test_fields_left_out_keep_their_value() -> None:
    session = full_session()
    _access(session, BoardAccessUpdate("main", mode="selected", classes=["c1"]))
    _access(session, BoardAccessUpdate("main", locked=True))
    access = board(session).access
    assert (access.mode, access.classes, access.locked) == ("selected", ["c1"], True)


@pytest.mark.parametrize(
    ("update", "code", "detail"),
    [
        (BoardAccessUpdate("main", mode="anyone"), "invalid_message", "mode"),
        (BoardAccessUpdate("main", classes=["c9"]), "not_found", "classes"),
        (BoardAccessUpdate("main", participants=["p_nobody"]), "not_found", "participants"),
    ],
)
def test_bad_access_changes(update: BoardAccessUpdate, code: str, detail: str) -> None:
    error = refused(full_session(), TEACHER, update)
    assert (error.code, error.detail) == (code, detail)


@pytest.mark.parametrize("actor", [AMANI, STATION, OBSERVER], ids=lambda a: a.role.value)
def test_only_teachers_change_access(actor: Actor) -> None:
    session = full_session()
    assert refused(session, actor, BoardAccessUpdate("main", locked=True)).code == "forbidden"


def test_ownership_holds_in_every_mode() -> None:
    session = full_session()
    session.command(OLA, rect("ola"))
    _access(session, BoardAccessUpdate("main", mode="selected", participants=["p_amani"]))
    assert refused(session, AMANI, move("ola", 1)).code == "forbidden"  # may draw, not hers
    assert refused(session, OLA, move("ola", 1)).code == "forbidden"  # hers, may not draw


def test_cursors() -> None:
    session = full_session()
    main = board(session)
    check_may_point(main, AMANI, 10, -10)
    for args, code in (
        ((None, AMANI, 0, 0), "not_found"),
        ((main, OBSERVER, 0, 0), "forbidden"),
        ((main, AMANI, 0, 10**7), "invalid_message"),
    ):
        with pytest.raises(ClassbridgeError) as raised:
            check_may_point(*args)
        assert raised.value.code == code
