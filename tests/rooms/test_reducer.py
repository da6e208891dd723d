"""The pure reducer: every event kind, and the same log giving the same state everywhere."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.errors import ClassbridgeError, StoredDataCorrupt
from server.protocol.board import (
    BoardAccessUpdate,
    BoardClear,
    BoardCreate,
    BoardPatch,
    BoardUndo,
)
from server.protocol.media import MediaGrant, MediaRelay
from server.protocol.messages import ChatDelete, ChatSend, ClientMessage, SettingsUpdate
from server.protocol.recording import RecordingConsent, RecordingStart, RecordingStop
from server.rooms.actor import Actor
from server.rooms.board.history import UndoConflict
from server.rooms.events import Event, EventKind, SequencedEvent
from server.rooms.recording import recording_start
from server.rooms.reducer import apply_event
from server.rooms.state import CHAT_HISTORY, SessionSettings, SessionState, dump_state, load_state
from server.signaling.topology import topology_change
from tests.rooms.agenda_steps import agenda_steps
from tests.rooms.board.drawing import append, delete, rect, stroke
from tests.rooms.breakout_steps import BREAKOUT_STUDENTS, breakout_steps
from tests.rooms.builders import (
    AMANI,
    BERGEN,
    EVERYONE,
    HOST,
    INGRID,
    NAIROBI,
    STATION,
    T0,
    TEACHER,
    Session,
    created_event,
    full_session,
    replay,
)
from tests.rooms.classroom_steps import classroom_steps
from tests.rooms.lobby_steps import lobby_steps
from tests.rooms.moderation_steps import moderation_steps


def test_session_created_sets_identity_classes_and_settings() -> None:
    session = Session(SessionSettings(lobby="everyone"))
    state = session.state
    assert (state.session_id, state.title, state.seq, state.created_at) == (
        "s_test",
        "Water in our towns",
        1,
        T0,
    )
    assert state.classes == {"c1": NAIROBI, "c2": BERGEN}
    assert state.settings == SessionSettings(lobby="everyone", student_private_chat=False)
    assert state.participants == {}
    assert list(state.chat) == []


def test_session_created_skips_settings_of_a_newer_worker() -> None:
    event = created_event()
    event.data["settings"]["whiteboard_locked"] = True
    state = apply_event(SessionState(), 1, event)
    assert state.settings == SessionSettings()


def test_participant_joined_adds_a_present_participant() -> None:
    session = Session().join(AMANI)
    amani = session.state.participants["p_amani"]
    assert (amani.name, amani.role, amani.class_id, amani.present) == (
        "Amani",
        "student",
        "c1",
        True,
    )
    assert amani.first_joined_at == amani.last_change_at == session.now
    assert session.state.is_present("p_amani")
    assert session.state.seq == 2


def test_rejoin_keeps_first_join_time_and_takes_the_new_name() -> None:
    session = Session().join(AMANI)
    first = session.now
    session.leave(AMANI)
    session.append(
        Event(
            EventKind.PARTICIPANT_JOINED,
            session.tick(),
            {"participant": {**AMANI.to_wire(), "name": "Amani K."}},
        )
    )
    amani = session.state.participants["p_amani"]
    assert amani.present
    assert amani.name == "Amani K."
    assert amani.first_joined_at == first
    assert amani.last_change_at == session.now
    assert len(session.state.participants) == 1


def test_participant_left_marks_absent_but_keeps_attendance() -> None:
    session = Session().join(AMANI, INGRID)
    session.leave(AMANI, "disconnected")
    assert not session.state.is_present("p_amani")
    assert session.state.participants["p_amani"].last_change_at == session.now
    assert session.state.is_present("p_ingrid")
    assert set(session.state.participants) == {"p_amani", "p_ingrid"}


def test_left_of_an_unknown_participant_only_advances_seq() -> None:
    session = Session()
    before = dump_state(session.state)
    seq = session.append(Event(EventKind.PARTICIPANT_LEFT, T0 + 5, {"participant_id": "p_x"}))
    assert dump_state(session.state) == {**before, "seq": seq}


def test_chat_posted_appends_a_message_whose_id_is_its_seq() -> None:
    session = full_session()
    room = session.command(AMANI, ChatSend(text="Jambo!"))
    direct = session.command(AMANI, ChatSend(text="Swali", to=HOST.participant_id))
    messages = list(session.state.chat)
    assert [m.id for m in messages] == [room, direct]
    assert (messages[0].sender, messages[0].class_id, messages[0].text, messages[0].to) == (
        "p_amani",
        "c1",
        "Jambo!",
        None,
    )
    assert messages[1].to == "p_host"
    assert messages[1].ts == session.now


def test_chat_deleted_removes_the_text_and_remembers_the_id() -> None:
    session = full_session()
    kept = session.command(AMANI, ChatSend(text="keep me"))
    gone = session.command(INGRID, ChatSend(text="delete me"))
    session.command(TEACHER, ChatDelete(message_id=gone))
    assert [m.id for m in session.state.chat] == [kept]
    assert session.state.deleted_messages == {gone}
    assert session.state.find_message(gone) is None


def test_chat_deleted_for_a_message_no_longer_kept_is_still_remembered() -> None:
    session = Session()
    seq = session.append(Event(EventKind.CHAT_DELETED, T0, {"message_id": 1, "by": "p_host"}))
    assert session.state.deleted_messages == {1}
    assert session.state.seq == seq


def test_settings_changed_applies_known_names_and_skips_others() -> None:
    session = full_session()
    session.command(HOST, SettingsUpdate(settings={"student_private_chat": True}))
    assert session.state.settings == SessionSettings(lobby="open", student_private_chat=True)
    # From a newer worker (or a forged log): unknown names and method names change nothing.
    # An old log's boolean lobby reads as the policy it meant (true: everyone waits).
    changes = {"to_wire": True, "whiteboard_locked": True, "lobby": True}
    session.append(Event(EventKind.SETTINGS_CHANGED, session.tick(), {"changes": changes}))
    assert session.state.settings == SessionSettings(lobby="everyone", student_private_chat=True)
    wire = {"lobby": "everyone", "student_private_chat": True}
    assert session.state.settings.to_wire() == wire


def test_unknown_event_kind_only_advances_seq() -> None:
    session = full_session()
    before = dump_state(session.state)
    seq = session.append(Event("whiteboard.stroke", session.tick(), {"points": [1, 2]}))
    assert dump_state(session.state) == {**before, "seq": seq}


def _without_seq(state: SessionState) -> dict[str, object]:
    return {k: v for k, v in dump_state(state).items() if k != "seq"}


def test_every_event_kind_is_handled() -> None:
    """A kind without a handler would silently only advance seq: each must change the state."""
    session = Session()
    changed = {EventKind.SESSION_CREATED}

    def check(kind: EventKind, seq: int) -> None:
        assert session.log[-1][0] == seq
        assert session.log[-1][1].kind == kind
        assert _without_seq(session.state) != before
        changed.add(kind)

    before = _without_seq(session.state)
    check(EventKind.PARTICIPANT_JOINED, session.join(TEACHER).state.seq)
    before = _without_seq(session.state)
    check(EventKind.PARTICIPANT_LEFT, session.leave(TEACHER))
    before = _without_seq(session.state)
    posted = session.command(TEACHER, ChatSend(text="hi"))
    check(EventKind.CHAT_POSTED, posted)
    before = _without_seq(session.state)
    check(EventKind.CHAT_DELETED, session.command(TEACHER, ChatDelete(message_id=posted)))
    before = _without_seq(session.state)
    lobby = SettingsUpdate(settings={"lobby": "everyone"})
    check(EventKind.SETTINGS_CHANGED, session.command(TEACHER, lobby))
    board_steps: list[tuple[EventKind, ClientMessage]] = [
        (EventKind.BOARD_CREATED, BoardCreate("group-1")),
        (EventKind.BOARD_ACCESS_CHANGED, BoardAccessUpdate("main", locked=False, mode="teachers")),
        (EventKind.BOARD_PUT, stroke("s", 0, 0)),
        (EventKind.BOARD_APPENDED, append("s", 1, 1, 1)),
        (EventKind.BOARD_PATCHED, BoardPatch("main", "s", {"width": 9})),
        (EventKind.BOARD_RESTORED, BoardUndo("main")),
        (EventKind.BOARD_DELETED, delete("s")),
    ]
    for kind, command in board_steps:
        before = _without_seq(session.state)
        check(kind, session.command(TEACHER, command))
    session.command(TEACHER, rect("r"))
    session.command(HOST, BoardPatch("main", "r", {"width": 5}))  # the undo below conflicts
    before = _without_seq(session.state)
    with pytest.raises(UndoConflict) as refused:
        session.command(TEACHER, BoardUndo("main"))
    check(EventKind.BOARD_STEP_DROPPED, session.append(refused.value.log_anyway))
    before = _without_seq(session.state)
    check(EventKind.BOARD_CLEARED, session.command(TEACHER, BoardClear("main")))
    before = _without_seq(session.state)
    check(EventKind.MEDIA_RELAY_REQUESTED, session.command(TEACHER, MediaRelay(on=True)))
    session.join(AMANI)
    before = _without_seq(session.state)
    check(EventKind.MEDIA_GRANTED, session.command(TEACHER, MediaGrant("p_amani", on=True)))
    session.join(HOST, STATION)
    before = _without_seq(session.state)
    decided = topology_change(session.state, session.tick(), settled=False)
    assert decided is not None
    check(EventKind.MEDIA_TOPOLOGY, session.append(decided))
    recording_steps: list[tuple[EventKind, Actor, ClientMessage]] = [
        (EventKind.RECORDING_REQUESTED, HOST, RecordingStart()),
        (EventKind.RECORDING_CONSENTED, TEACHER, RecordingConsent()),
    ]
    for kind, actor, command in recording_steps:
        before = _without_seq(session.state)
        check(kind, session.command(actor, command))
    before = _without_seq(session.state)
    started = recording_start(session.state, session.tick())
    assert started is not None
    check(EventKind.RECORDING_STARTED, session.append(started))
    before = _without_seq(session.state)
    check(EventKind.RECORDING_STOPPED, session.command(TEACHER, RecordingStop()))
    for kind, actor, command in agenda_steps():
        before = _without_seq(session.state)
        check(kind, session.command(actor, command))
    session.join(*BREAKOUT_STUDENTS)
    for kind, actor, command in breakout_steps():
        before = _without_seq(session.state)
        check(kind, session.command(actor, command))
    for kind, step in classroom_steps():
        before = _without_seq(session.state)
        check(kind, step(session))
    for kind, actor, command in moderation_steps():
        before = _without_seq(session.state)
        check(kind, session.command(actor, command))
    for kind, step in lobby_steps():
        before = _without_seq(session.state)
        check(kind, step(session))
    assert changed == set(EventKind)


def test_chat_history_in_the_state_is_bounded() -> None:
    session = full_session()
    for n in range(CHAT_HISTORY + 5):
        session.append(
            Event(EventKind.CHAT_POSTED, T0, {"from": "p_amani", "class_id": "c1", "text": f"{n}"})
        )
    assert len(session.state.chat) == CHAT_HISTORY
    assert session.state.chat[0].text == "5"


def test_events_survive_the_brokers_bytes() -> None:
    event = Event(EventKind.CHAT_POSTED, T0, {"from": "p_a", "class_id": "c1", "text": "Habari 👋"})
    assert Event.from_bytes(event.to_bytes()) == event
    assert SequencedEvent(7, event).to_wire() == {
        "type": "event",
        "seq": 7,
        "kind": "chat.posted",
        "ts": T0,
        "data": event.data,
    }


@pytest.mark.parametrize("payload", [b"", b"\xc1", msgpack.packb([1, 2]), msgpack.packb(5)])
def test_a_corrupt_stored_event_is_a_server_error(payload: bytes) -> None:
    """The client did nothing wrong: it gets internal_error (close 1011), not bad_message."""
    with pytest.raises(StoredDataCorrupt) as caught:
        Event.from_bytes(payload)
    assert (caught.value.code, caught.value.close_code) == ("internal_error", 1011)


# --- determinism -------------------------------------------------------------------------------


def test_same_log_gives_the_same_state_on_two_fresh_replicas() -> None:
    session = full_session()
    first = session.command(AMANI, ChatSend(text="one"))
    session.command(TEACHER, ChatSend(text="two", to=INGRID.participant_id))
    session.command(HOST, ChatDelete(message_id=first))
    session.command(HOST, SettingsUpdate(settings={"lobby": True}))
    session.leave(INGRID)
    one, two = replay(session.log), replay(session.log)
    assert one is not two
    assert dump_state(one) == dump_state(two) == dump_state(session.state)


@dataclass(frozen=True)
class Step:
    action: str
    actor: int
    pick: int = 0
    text: str = ""
    value: bool = False


_TEXTS = st.sampled_from(["", " ", "hi", "Habari 👋", "a\nb", "bell\x07", "x" * 51, "ok\tthen"])
_STEPS = st.one_of(
    st.builds(Step, st.sampled_from(["join", "leave"]), st.integers(0, len(EVERYONE) - 1)),
    st.builds(
        Step,
        st.just("chat"),
        st.integers(0, len(EVERYONE) - 1),
        st.integers(-1, len(EVERYONE) - 1),
        _TEXTS,
    ),
    st.builds(Step, st.just("delete"), st.integers(0, len(EVERYONE) - 1), st.integers(0, 40)),
    st.builds(
        Step,
        st.just("settings"),
        st.integers(0, len(EVERYONE) - 1),
        st.integers(0, 2),
        value=st.booleans(),
    ),
)
_SETTING_CHOICES = ("lobby", "student_private_chat", "no_such_setting")


def _command(step: Step, state: SessionState) -> ClientMessage:
    if step.action == "chat":
        to = None if step.pick < 0 else EVERYONE[step.pick].participant_id
        return ChatSend(text=step.text, to=to)
    if step.action == "delete":
        ids = [m.id for m in state.chat]
        return ChatDelete(message_id=ids[step.pick % len(ids)] if ids else step.pick)
    return SettingsUpdate(settings={_SETTING_CHOICES[step.pick]: step.value})


def _run(steps: list[Step]) -> Session:
    session = Session()
    for step in steps:
        actor = EVERYONE[step.actor]
        if step.action == "join":
            session.join(actor)
        elif step.action == "leave":
            session.leave(actor)
        else:
            # Refused commands append nothing, as in the hub.
            with contextlib.suppress(ClassbridgeError):
                session.command(actor, _command(step, session.state))
    return session


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(_STEPS, max_size=40), cut=st.integers(0, 100))
def test_random_logs_replay_to_the_same_state(steps: list[Step], cut: int) -> None:
    session = _run(steps)
    log = session.log
    expected = dump_state(session.state)
    assert dump_state(replay(log)) == expected
    assert dump_state(replay(log)) == expected
    # As a replica on another worker sees it: events through the broker's bytes.
    assert dump_state(replay([(s, Event.from_bytes(e.to_bytes())) for s, e in log])) == expected
    # As a late replica: a snapshot at some seq, then the events after it.
    cut = cut % (len(log) + 1)
    snapshot = msgpack.unpackb(msgpack.packb(dump_state(replay(log[:cut]))))
    state = load_state(snapshot)
    for seq, event in log[cut:]:
        apply_event(state, seq, event)
    assert dump_state(state) == expected
