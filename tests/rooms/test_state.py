"""Snapshots: ``dump_state`` and ``load_state`` keep everything, through msgpack too."""

from __future__ import annotations

import msgpack

from server.protocol.messages import ChatDelete, ChatSend, SettingsUpdate
from server.rooms.reducer import apply_event
from server.rooms.state import (
    CHAT_HISTORY,
    SessionSettings,
    SessionState,
    dump_state,
    load_state,
)
from server.rooms.visibility import snapshot_for
from tests.rooms.builders import AMANI, HOST, INGRID, OLA, TEACHER, Session, full_session


def _busy_session() -> Session:
    session = full_session()
    kept = session.command(AMANI, ChatSend(text="Jambo 👋\nkutoka Nairobi"))
    gone = session.command(INGRID, ChatSend(text="oops"))
    session.command(INGRID, ChatSend(text="private", to=TEACHER.participant_id))
    session.command(HOST, ChatDelete(message_id=gone))
    session.command(TEACHER, SettingsUpdate(settings={"lobby": True}))
    session.leave(OLA)
    assert session.state.find_message(kept) is not None
    return session


def _through_msgpack(data: dict[str, object]) -> dict[str, object]:
    unpacked: dict[str, object] = msgpack.unpackb(msgpack.packb(data, use_bin_type=True))
    return unpacked


def test_round_trip_keeps_everything() -> None:
    state = _busy_session().state
    dumped = dump_state(state)
    loaded = load_state(_through_msgpack(dumped))
    assert dump_state(loaded) == dumped
    assert loaded.classes == state.classes
    assert loaded.participants == state.participants
    assert list(loaded.chat) == list(state.chat)
    assert loaded.deleted_messages == state.deleted_messages
    assert loaded.settings == state.settings
    assert (loaded.seq, loaded.session_id, loaded.created_at) == (
        state.seq,
        state.session_id,
        state.created_at,
    )
    for viewer in (HOST, TEACHER, AMANI, INGRID):
        assert snapshot_for(loaded, viewer) == snapshot_for(state, viewer)


def test_dump_is_plain_data() -> None:
    dumped = dump_state(_busy_session().state)
    assert _through_msgpack(dumped) == dumped
    assert dumped["settings"] == {"lobby": "everyone", "student_private_chat": False}
    assert dumped["deleted_messages"] == sorted(dumped["deleted_messages"])


def test_snapshot_from_a_newer_worker_with_unknown_settings_loads() -> None:
    dumped = dump_state(_busy_session().state)
    dumped["settings"] = {**dumped["settings"], "whiteboard_locked": True}
    assert load_state(dumped).settings == SessionSettings(lobby="everyone")


def test_settings_from_wire_keeps_known_names_only() -> None:
    data = {"lobby": True, "to_wire": False, "recording": True}
    assert SessionSettings.from_wire(data) == SessionSettings(lobby="everyone")
    assert SessionSettings.from_wire({}) == SessionSettings()


def test_empty_state_round_trips() -> None:
    empty = SessionState()
    assert dump_state(load_state(dump_state(empty))) == dump_state(empty)


def test_loaded_state_keeps_bounding_chat_history() -> None:
    session = full_session()
    for n in range(CHAT_HISTORY):
        session.command(AMANI, ChatSend(text=f"message {n}"))
    loaded = load_state(dump_state(session.state))
    seq = loaded.seq + 1
    event = session.log[-1][1]
    apply_event(loaded, seq, event)
    assert len(loaded.chat) == CHAT_HISTORY
    assert loaded.chat[-1].id == seq


def test_a_loaded_snapshot_continues_like_the_original() -> None:
    session = _busy_session()
    loaded = load_state(_through_msgpack(dump_state(session.state)))
    cut = len(session.log)
    last = session.command(AMANI, ChatSend(text="after the snapshot"))
    session.command(HOST, ChatDelete(message_id=last))
    session.join(OLA)
    for seq, event in session.log[cut:]:
        apply_event(loaded, seq, event)
    assert dump_state(loaded) == dump_state(session.state)


def test_find_message_and_is_present() -> None:
    session = _busy_session()
    state = session.state
    first = state.chat[0]
    assert state.find_message(first.id) is first
    assert state.find_message(10_000) is None
    assert state.is_present("p_amani")
    assert not state.is_present("p_ola")
    assert not state.is_present("p_nobody")
