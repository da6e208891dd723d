"""Undo and redo: per participant, as inverse operations in the log, refused when someone else
changed the record since (and then dropped, so the next undo goes further back)."""

from __future__ import annotations

from server.protocol.board import BoardClear, BoardRedo, BoardUndo
from server.rooms.actor import Actor
from server.rooms.board.history import UndoConflict
from server.rooms.board.records import BoardRecord
from server.rooms.board.reducer import LIMITS
from server.rooms.board.replica import canonical
from tests.rooms.board.drawing import append, board, delete, move, props_of, rect, refused, stroke
from tests.rooms.builders import AMANI, INGRID, TEACHER, Session, full_session, replay

UNDO, REDO = BoardUndo("main"), BoardRedo("main")


def _undo(session: Session, actor: Actor) -> None:
    session.command(actor, UNDO)


def test_undo_and_redo_a_new_record() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    _undo(session, AMANI)
    assert "a" not in board(session).records
    assert session.log[-1][1].data["deleted"] == ["a"]
    session.command(AMANI, REDO)
    assert props_of(session, "a")["x"] == 0
    assert board(session).records["a"].z == 1  # back where it was


def test_undo_a_move_and_a_delete() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    session.command(AMANI, move("a", 40))
    session.command(AMANI, delete("a"))
    _undo(session, AMANI)
    assert props_of(session, "a")["x"] == 40
    _undo(session, AMANI)
    assert props_of(session, "a")["x"] == 0
    session.command(AMANI, REDO)
    assert props_of(session, "a")["x"] == 40


def test_a_whole_stroke_is_one_step() -> None:
    session = full_session()
    session.command(AMANI, stroke("s", 0, 0))
    session.command(AMANI, append("s", 1, 1, 1))
    session.command(AMANI, append("s", 2, 2, 2, end=True))
    _undo(session, AMANI)
    assert "s" not in board(session).records
    session.command(AMANI, REDO)
    assert props_of(session, "s")["points"] == [0, 0, 1, 1, 2, 2]


def test_each_participant_undoes_only_their_own_changes() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    session.command(INGRID, rect("i"))
    _undo(session, AMANI)
    assert set(board(session).records) == {"i"}
    assert refused(session, AMANI, UNDO).code == "nothing_to_undo"


def test_an_undo_of_a_record_changed_since_is_refused_then_dropped() -> None:
    session = full_session()
    session.command(AMANI, rect("first"))
    session.command(AMANI, rect("second"))
    session.command(TEACHER, move("second", 99))  # the teacher moved Amani's record
    error = refused(session, AMANI, UNDO)
    assert isinstance(error, UndoConflict)
    assert error.code == "undo_conflict"
    session.append(error.log_anyway)  # what the hub logs with the refusal
    assert props_of(session, "second")["x"] == 99  # the teacher's change stands
    _undo(session, AMANI)  # the next undo goes further back
    assert set(board(session).records) == {"second"}


def test_a_new_change_ends_the_redo_chain() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    _undo(session, AMANI)
    session.command(AMANI, rect("b"))
    assert refused(session, AMANI, REDO).code == "nothing_to_undo"


def test_a_clear_is_not_undone_and_forgets_the_history() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    session.command(TEACHER, BoardClear("main"))
    assert refused(session, AMANI, UNDO).code == "nothing_to_undo"
    assert refused(session, TEACHER, UNDO).code == "nothing_to_undo"


def test_history_is_bounded() -> None:
    session = full_session()
    for n in range(60):
        session.command(AMANI, rect(f"r{n}"))
    for _ in range(50):
        _undo(session, AMANI)
    assert len(board(session).records) == 10
    assert refused(session, AMANI, UNDO).code == "nothing_to_undo"


def test_a_replay_of_the_log_gives_the_same_board_and_history() -> None:
    session = full_session()
    session.command(AMANI, stroke("s", 0, 0))
    session.command(AMANI, append("s", 1, 5, 5, end=True))
    session.command(INGRID, rect("i"))
    _undo(session, AMANI)
    session.command(AMANI, REDO)
    session.command(TEACHER, move("i", 3))
    again = replay(session.log)
    assert canonical(again.boards["main"]) == canonical(board(session))
    assert again.boards["main"].history == board(session).history


def test_an_undo_that_would_overfill_the_board_is_refused() -> None:
    session = full_session()
    session.command(AMANI, rect("a"))
    session.command(AMANI, delete("a"))
    main = board(session)
    for n in range(LIMITS.records_per_board):  # straight into the state: faster than commands
        main.records[f"r{n}"] = BoardRecord(f"r{n}", "rect", "p_host", "c1", n, 1, {})
    error = refused(session, AMANI, UNDO)
    assert (error.code, error.detail) == ("too_large", "board")
