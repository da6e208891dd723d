"""Boards in snapshots (stored by the broker, sent in welcomes) and in chunks under a frame."""

from __future__ import annotations

import msgpack

from server.protocol.board import BoardCreate, BoardRecords
from server.protocol.codec import WireFormat, encode_message
from server.rooms.board.replica import add_records, boards_from_summaries, canonical
from server.rooms.board.snapshot import board_summaries, record_chunks
from server.rooms.state import dump_state, load_state
from server.rooms.visibility import snapshot_for
from tests.rooms.board.drawing import append, board, delete, rect, stroke
from tests.rooms.builders import AMANI, INGRID, TEACHER, Session, full_session


def _drawn_session() -> Session:
    session = full_session()
    session.command(TEACHER, BoardCreate("group-1", "Group 1"))
    for n in range(30):
        session.command(AMANI, stroke(f"s{n}", *range(0, 400)))  # 200 points each
    session.command(AMANI, delete("s3"))
    session.command(INGRID, rect("top"))
    session.command(INGRID, delete("top"))  # top_z stays above every record left
    session.command(AMANI, append("s4", 200, 1, 1))
    return session


def test_a_stored_snapshot_keeps_boards_and_history() -> None:
    session = _drawn_session()
    packed = msgpack.packb(dump_state(session.state), use_bin_type=True)  # as the hub stores it
    loaded = load_state(msgpack.unpackb(packed))
    for board_id, original in session.state.boards.items():
        assert canonical(loaded.boards[board_id]) == canonical(original)
        assert loaded.boards[board_id].history == original.history
        assert list(loaded.boards[board_id].tombstones) == list(original.tombstones)


def test_chunks_fit_the_frame_and_rebuild_the_board() -> None:
    session = _drawn_session()
    main = board(session)
    chunks = record_chunks(main, 4096)
    assert len(chunks) > 1
    for n, chunk in enumerate(chunks):
        message = BoardRecords("main", chunk, last=n == len(chunks) - 1).to_wire()
        for wire_format in WireFormat:  # as the server encodes it
            frame = encode_message(message, wire_format)
            assert len(frame.encode() if isinstance(frame, str) else frame) <= 4096
    summaries = snapshot_for(session.state, AMANI)["boards"]
    assert summaries == board_summaries(session.state)
    assert [s["id"] for s in summaries] == ["main", "group-1"]
    client = boards_from_summaries(summaries)
    for chunk in chunks:
        add_records(client, "main", chunk)
    assert canonical(client["main"]) == canonical(main)


def test_a_record_larger_than_the_budget_goes_alone() -> None:
    session = _drawn_session()
    chunks = record_chunks(board(session), 300)
    assert all(len(chunk) == 1 for chunk in chunks)
    assert sum(len(chunk) for chunk in chunks) == len(board(session).records)


def test_an_empty_board_has_no_chunks() -> None:
    assert record_chunks(board(full_session()), 4096) == []
