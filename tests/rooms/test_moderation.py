"""Moderation in the session core: who may moderate whom, what each event changes, and the
checks that enforce it on joins, chat and drawing (protocol §24)."""

from __future__ import annotations

import msgpack
import pytest

from server.errors import (
    Barred,
    ChatDisabled,
    ClassbridgeError,
    DrawingDisabled,
    Forbidden,
    InvalidMessage,
    NotFound,
    SessionEnded,
    SessionLocked,
)
from server.protocol.messages import ChatSend, ClientMessage, parse_client_message
from server.protocol.moderation import (
    ModerationClass,
    ModerationLock,
    ModerationMute,
    ModerationRemove,
    ModerationScope,
    SessionEnd,
)
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.moderation import check_may_join, muted_kinds
from server.rooms.roles import Role
from server.rooms.state import dump_state, load_state
from server.rooms.visibility import snapshot_for
from tests.rooms.board.drawing import rect
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
    replay,
)

NEWCOMER = Actor("p_new", "Zawadi", Role.STUDENT, "c1")
NEW_TEACHER = Actor("p_new_teacher", "Mr Otieno", Role.TEACHER, "c1")

MODERATION_COMMANDS: list[ClientMessage] = [
    ModerationMute(participant=OLA.participant_id, audio=True),
    ModerationMute(class_id="c2", video=True),
    ModerationRemove(OLA.participant_id),
    ModerationLock(locked=True),
    ModerationClass("c2", chat=False),
    SessionEnd(),
]


def _last(session: Session) -> Event:
    return session.log[-1][1]


@pytest.mark.parametrize("actor", [STATION, AMANI, INGRID, OBSERVER])
@pytest.mark.parametrize("command", MODERATION_COMMANDS, ids=lambda c: c.TYPE)
def test_students_stations_and_observers_cannot_moderate(
    actor: Actor, command: ClientMessage
) -> None:
    session = full_session()
    before = session.state.seq
    with pytest.raises(Forbidden):
        session.command(actor, command)
    assert session.state.seq == before


def test_a_teacher_asks_a_student_to_mute_and_lifts_it() -> None:
    session = full_session()
    session.command(TEACHER, ModerationMute(participant=OLA.participant_id, audio=True, video=True))
    assert _last(session).data == {
        "participant": OLA.participant_id,
        "audio": True,
        "video": True,
        "by": TEACHER.participant_id,
    }
    assert muted_kinds(session.state, OLA.participant_id) == {"audio", "video"}
    session.command(TEACHER, ModerationMute(participant=OLA.participant_id, audio=False))
    assert muted_kinds(session.state, OLA.participant_id) == {"video"}
    assert muted_kinds(session.state, INGRID.participant_id) == set()


def test_a_class_request_reaches_its_members_and_later_joiners_but_not_its_teachers() -> None:
    session = Session().join(HOST, TEACHER, AMANI, STATION, INGRID)
    session.command(TEACHER, ModerationMute(class_id="c1", audio=True))
    assert _last(session).data == {"class": "c1", "audio": True, "by": TEACHER.participant_id}
    for member in (AMANI, STATION):
        assert muted_kinds(session.state, member.participant_id) == {"audio"}
    assert muted_kinds(session.state, HOST.participant_id) == set()  # a teacher of c1
    assert muted_kinds(session.state, INGRID.participant_id) == set()  # another class
    session.join(NEWCOMER)
    assert muted_kinds(session.state, NEWCOMER.participant_id) == {"audio"}
    # Lifting the class request lifts it for every member, their own requests included.
    session.command(HOST, ModerationMute(participant=AMANI.participant_id, audio=True))
    session.command(HOST, ModerationMute(class_id="c1", audio=False))
    for member in (AMANI, STATION, NEWCOMER):
        assert muted_kinds(session.state, member.participant_id) == set()


def test_who_may_be_moderated() -> None:
    session = full_session()
    with pytest.raises(Forbidden):  # a teacher does not moderate the host
        session.command(TEACHER, ModerationMute(participant=HOST.participant_id, audio=True))
    with pytest.raises(InvalidMessage):
        session.command(HOST, ModerationRemove(HOST.participant_id))
    with pytest.raises(NotFound):
        session.command(HOST, ModerationRemove("p_nobody"))
    with pytest.raises(NotFound):
        session.command(HOST, ModerationMute(class_id="c9", audio=True))
    session.command(HOST, ModerationMute(participant=TEACHER.participant_id, video=True))
    assert muted_kinds(session.state, TEACHER.participant_id) == {"video"}


def test_removal_makes_the_participant_leave_and_a_bar_keeps_them_out() -> None:
    session = full_session()
    session.command(HOST, ModerationRemove(AMANI.participant_id))
    assert _last(session).data == {
        "participant_id": AMANI.participant_id,
        "barred": False,
        "by": HOST.participant_id,
    }
    assert not session.state.is_present(AMANI.participant_id)
    check_may_join(session.state, AMANI)  # removed, not barred: may come back
    session.join(AMANI)
    session.command(TEACHER, ModerationRemove(INGRID.participant_id, bar=True))
    assert not session.state.is_present(INGRID.participant_id)
    with pytest.raises(Barred) as caught:
        check_may_join(session.state, INGRID)
    assert (caught.value.code, caught.value.close_code) == ("barred", 4016)
    check_may_join(session.state, OLA)


def test_a_locked_session_refuses_newcomers_only() -> None:
    session = full_session()
    session.command(TEACHER, ModerationLock(locked=True))
    assert _last(session).data == {"locked": True, "by": TEACHER.participant_id}
    with pytest.raises(SessionLocked) as caught:
        check_may_join(session.state, NEWCOMER)
    assert (caught.value.code, caught.value.close_code) == ("session_locked", 4015)
    session.leave(AMANI)
    check_may_join(session.state, AMANI)  # known: may reconnect
    check_may_join(session.state, NEW_TEACHER)  # teachers are never locked out
    session.command(HOST, ModerationLock(locked=False))
    check_may_join(session.state, NEWCOMER)


def test_an_ended_session_refuses_every_join() -> None:
    session = full_session()
    session.command(TEACHER, SessionEnd())
    assert _last(session).data == {"by": TEACHER.participant_id}
    assert session.state.moderation.ended_by == TEACHER.participant_id
    assert not any(p.present for p in session.state.participants.values())
    for actor in (HOST, AMANI, NEWCOMER):
        with pytest.raises(SessionEnded) as caught:
            check_may_join(session.state, actor)
        assert caught.value.close_code == 4007
    with pytest.raises(SessionEnded):
        session.command(HOST, SessionEnd())


def test_two_ends_in_the_log_the_first_counts() -> None:
    session = full_session()
    first = Event(EventKind.SESSION_ENDED, session.tick(), {"by": TEACHER.participant_id})
    second = Event(EventKind.SESSION_ENDED, session.tick(), {"by": HOST.participant_id})
    session.append(first)
    session.append(second)
    assert session.state.moderation.ended_by == TEACHER.participant_id
    assert session.state.moderation.ended_at == first.ts


def test_chat_off_for_a_class_refuses_its_students_only() -> None:
    session = full_session()
    session.command(TEACHER, ModerationClass("c2", chat=False))
    assert _last(session).data == {"class": "c2", "chat": False, "by": TEACHER.participant_id}
    with pytest.raises(ChatDisabled):
        session.command(INGRID, ChatSend(text="hello"))
    with pytest.raises(ChatDisabled):  # nor privately to a classmate
        session.command(INGRID, ChatSend(text="psst", to=OLA.participant_id))
    session.command(INGRID, ChatSend(text="I need help", to=TEACHER.participant_id))
    session.command(AMANI, ChatSend(text="hello from c1"))
    session.command(TEACHER, ChatSend(text="teachers still write"))
    session.command(HOST, ModerationClass("c2", chat=True))
    session.command(INGRID, ChatSend(text="back"))


def test_drawing_off_for_a_class_refuses_its_students_only() -> None:
    session = full_session()
    session.command(HOST, ModerationClass("c1", drawing=False))
    with pytest.raises(DrawingDisabled) as caught:
        session.command(AMANI, rect("r1"))
    assert caught.value.code == "drawing_disabled"
    session.command(INGRID, rect("r2"))
    session.command(HOST, rect("r3"))
    session.command(HOST, ModerationClass("c1", drawing=True, chat=True))
    session.command(AMANI, rect("r1"))


def test_a_host_restricts_teachers_to_their_own_class() -> None:
    session = full_session()
    with pytest.raises(Forbidden):
        session.command(TEACHER, ModerationScope(teachers_own_class=True))
    session.command(HOST, ModerationScope(teachers_own_class=True))
    assert _last(session).data == {"teachers_own_class": True, "by": HOST.participant_id}
    refused: list[ClientMessage] = [
        ModerationMute(participant=AMANI.participant_id, audio=True),
        ModerationMute(class_id="c1", audio=True),
        ModerationRemove(AMANI.participant_id),
        ModerationClass("c1", chat=False),
    ]
    for command in refused:  # TEACHER is of c2; AMANI of c1
        with pytest.raises(Forbidden):
            session.command(TEACHER, command)
    session.command(TEACHER, ModerationMute(participant=INGRID.participant_id, audio=True))
    session.command(TEACHER, ModerationClass("c2", drawing=False))
    session.command(HOST, ModerationMute(participant=INGRID.participant_id, audio=False))
    session.command(HOST, ModerationScope(teachers_own_class=False))
    session.command(TEACHER, ModerationMute(participant=AMANI.participant_id, audio=True))


def test_snapshots_show_moderation_and_keep_barred_ids_for_teachers() -> None:
    session = full_session()
    session.command(HOST, ModerationMute(participant=AMANI.participant_id, video=True))
    session.command(HOST, ModerationRemove(OLA.participant_id, bar=True))
    session.command(HOST, ModerationLock(locked=True))
    for_teacher = snapshot_for(session.state, TEACHER)["moderation"]
    assert for_teacher["muted"] == {AMANI.participant_id: ["video"]}
    assert for_teacher["barred"] == [OLA.participant_id]
    assert for_teacher["locked"] is True
    assert "barred" not in snapshot_for(session.state, INGRID)["moderation"]


def test_moderation_survives_a_snapshot_and_old_snapshots_load() -> None:
    session = full_session()
    session.command(HOST, ModerationMute(class_id="c2", audio=True))
    session.command(HOST, ModerationRemove(OLA.participant_id, bar=True))
    session.command(HOST, ModerationClass("c1", chat=False, drawing=False))
    session.command(HOST, ModerationScope(teachers_own_class=True))
    session.command(HOST, SessionEnd())
    stored = msgpack.unpackb(msgpack.packb(dump_state(session.state)))
    assert load_state(stored).moderation == session.state.moderation
    assert replay(session.log).moderation == session.state.moderation
    del stored["moderation"]
    assert not load_state(stored).moderation.ended


@pytest.mark.parametrize(
    "message",
    [
        {"type": "moderation.mute", "audio": True},
        {"type": "moderation.mute", "participant": "p", "class": "c1", "audio": True},
        {"type": "moderation.mute", "participant": "p"},
        {"type": "moderation.mute", "participant": "p", "audio": "yes"},
        {"type": "moderation.class", "class": "c1"},
        {"type": "moderation.remove"},
        {"type": "moderation.lock"},
        {"type": "moderation.scope"},
    ],
)
def test_malformed_moderation_commands_are_refused(message: dict[str, object]) -> None:
    with pytest.raises(ClassbridgeError) as caught:
        parse_client_message(message)
    assert caught.value.code == "invalid_message"


def test_the_class_field_is_named_class_on_the_wire() -> None:
    mute = ModerationMute(class_id="c1", audio=True, id=3)
    assert mute.to_wire() == {"type": "moderation.mute", "class": "c1", "audio": True, "id": 3}
    assert parse_client_message(mute.to_wire()) == mute
    change = ModerationClass("c2", chat=False)
    assert parse_client_message(change.to_wire()) == change
