"""The chat transcript the state keeps for the export: bounded, deleted text removed."""

from __future__ import annotations

import msgpack

from server.protocol.messages import ChatDelete, ChatSend
from server.rooms import transcript
from server.rooms.state import CHAT_HISTORY, dump_state, load_state, pack_state
from server.rooms.transcript import Transcript, TranscriptEntry
from tests.rooms.builders import AMANI, HOST, INGRID, full_session, replay


def _entry(n: int, text: str = "hi") -> TranscriptEntry:
    return TranscriptEntry(n, "p", "c1", n, None, text)


def test_it_keeps_more_than_the_recent_chat() -> None:
    session = full_session()
    for n in range(CHAT_HISTORY + 50):
        session.command(AMANI, ChatSend(text=f"post {n}"))
    kept = session.state.transcript
    assert len(kept.entries) == CHAT_HISTORY + 50
    assert kept.entries[0].text == "post 0"
    assert len(session.state.chat) == CHAT_HISTORY


def test_the_oldest_posts_are_dropped_and_counted_past_the_bounds() -> None:
    kept = Transcript()
    for n in range(transcript.MAX_MESSAGES + 3):
        kept.add(_entry(n))
    assert (len(kept.entries), kept.dropped) == (transcript.MAX_MESSAGES, 3)
    assert kept.entries[0].id == 3
    big = Transcript()
    chunk = "x" * 2000
    for n in range(transcript.MAX_CHARS // 2000 + 2):
        big.add(_entry(n, chunk))
    assert big.chars <= transcript.MAX_CHARS
    assert big.dropped == 2


def test_a_deleted_post_keeps_its_place_without_its_text() -> None:
    session = full_session()
    kept = session.command(AMANI, ChatSend(text="my address is 12 Long Road"))
    session.command(INGRID, ChatSend(text="hello"))
    session.command(HOST, ChatDelete(message_id=kept))
    entries = list(session.state.transcript.entries)
    assert [(e.id, e.text) for e in entries] == [(kept, None), (kept + 1, "hello")]
    assert (entries[0].deleted_by, entries[0].deleted_at) == (HOST.participant_id, session.now)
    assert session.state.transcript.chars == len("hello")
    packed = msgpack.packb(dump_state(session.state))
    assert b"12 Long Road" not in packed


def test_a_snapshot_after_a_deletion_drops_the_text_packed_by_an_earlier_one() -> None:
    session = full_session()
    kept = session.command(AMANI, ChatSend(text="my phone is 0123"))
    before = msgpack.packb(dump_state(session.state))  # packs (and keeps) the row with its text
    assert b"my phone is 0123" in before
    session.command(HOST, ChatDelete(message_id=kept))
    after = msgpack.packb(dump_state(session.state))
    assert b"my phone is 0123" not in after
    assert load_state(msgpack.unpackb(after)).transcript.entries[0].deleted_by == (
        HOST.participant_id
    )


def test_a_snapshot_after_a_deletion_drops_the_text_packed_before_it() -> None:
    session = full_session()
    kept = session.command(AMANI, ChatSend(text="my phone is 0123"))
    session.command(INGRID, ChatSend(text="later"))
    before = msgpack.packb(dump_state(session.state))
    assert b"my phone is 0123" in before
    session.command(HOST, ChatDelete(message_id=kept))
    after = msgpack.packb(dump_state(session.state))
    assert b"my phone is 0123" not in after
    loaded = load_state(msgpack.unpackb(after)).transcript
    assert [(e.text, e.deleted_by) for e in loaded.entries] == [
        (None, HOST.participant_id),
        ("later", None),
    ]


def test_the_packed_snapshot_is_the_msgpack_of_the_dumped_state() -> None:
    session = full_session()
    for n in range(30):
        session.command(AMANI, ChatSend(text=f"post {n}"))
    session.command(HOST, ChatDelete(message_id=session.state.chat[3].id))
    assert pack_state(session.state) == msgpack.packb(dump_state(session.state), use_bin_type=True)
    empty = full_session().state
    assert pack_state(empty) == msgpack.packb(dump_state(empty), use_bin_type=True)


def test_snapshots_and_replays_carry_it() -> None:
    session = full_session()
    session.command(AMANI, ChatSend(text="one"))
    session.command(HOST, ChatSend(text="two", to=AMANI.participant_id))
    copy = load_state(msgpack.unpackb(msgpack.packb(dump_state(session.state))))
    assert copy.transcript == session.state.transcript
    assert replay(session.log).transcript == session.state.transcript


def test_an_old_snapshot_loads_with_an_empty_transcript() -> None:
    session = full_session()
    session.command(AMANI, ChatSend(text="before the upgrade"))
    data = dump_state(session.state)
    del data["transcript"]
    state = load_state(data)
    assert list(state.transcript.entries) == []
    assert [m.text for m in state.chat] == ["before the upgrade"]  # the recent chat stays


def test_rows_from_before_breakout_groups_load() -> None:
    row = [7, "p", "c1", 1000, None, "hi", None, None]  # no group column
    loaded = Transcript.load({"dropped": 0, "entries": [row]})
    assert loaded.entries[0].group is None
    assert loaded.chars == 2
