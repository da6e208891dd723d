"""Chat rules: text validation, who may write to whom, and who may delete."""

from __future__ import annotations

import pytest

from server.errors import (
    DirectMessageNotAllowed,
    Forbidden,
    InvalidMessage,
    LimitExceeded,
    NotFound,
)
from server.protocol.messages import ChatDelete, ChatSend, SettingsUpdate
from server.rooms.actor import Actor
from server.rooms.chat import check_direct_message, delete_message, post_message
from server.rooms.events import EventKind
from server.rooms.roles import Role
from server.rooms.state import SessionSettings
from tests.rooms.builders import (
    AMANI,
    EVERYONE,
    HOST,
    INGRID,
    LIMITS,
    OBSERVER,
    OLA,
    STATION,
    TEACHER,
    full_session,
)

MAX = LIMITS.chat_max_chars


def test_room_message_event_carries_sender_class_and_text() -> None:
    session = full_session()
    event = post_message(session.state, INGRID, "Hei fra Bergen", None, 1234, MAX)
    assert event.kind == EventKind.CHAT_POSTED
    assert event.ts == 1234
    assert event.data == {"from": "p_ingrid", "class_id": "c2", "text": "Hei fra Bergen"}


def test_direct_message_event_names_the_recipient() -> None:
    session = full_session()
    event = post_message(session.state, AMANI, "Swali", TEACHER.participant_id, 1, MAX)
    assert event.data == {"from": "p_amani", "class_id": "c1", "to": "p_teacher", "text": "Swali"}


@pytest.mark.parametrize("text", ["", " ", "   \n\t  ", "\u3000"])
def test_empty_or_blank_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        post_message(full_session().state, AMANI, text, None, 1, MAX)
    assert caught.value.code == "invalid_message"
    assert caught.value.detail == "text"


def test_text_at_the_limit_passes_and_one_more_is_too_large() -> None:
    state = full_session().state
    assert post_message(state, AMANI, "x" * MAX, None, 1, MAX).data["text"] == "x" * MAX
    with pytest.raises(LimitExceeded) as caught:
        post_message(state, AMANI, "x" * (MAX + 1), None, 1, MAX)
    assert caught.value.code == "too_large"
    assert caught.value.detail == "text"


def test_limit_counts_characters_not_bytes() -> None:
    text = "ß" * MAX  # two UTF-8 bytes each
    assert post_message(full_session().state, AMANI, text, None, 1, MAX).data["text"] == text


@pytest.mark.parametrize(
    "char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\u2066"]
)
def test_control_characters_are_refused(char: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        post_message(full_session().state, AMANI, f"before{char}after", None, 1, MAX)
    assert caught.value.detail == "text"


def test_line_breaks_tabs_and_joined_emoji_are_allowed() -> None:
    text = "line one\r\nline two\tindented \U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert post_message(full_session().state, AMANI, text, None, 1, MAX).data["text"] == text


def test_observer_cannot_post_even_valid_text() -> None:
    state = full_session().state
    for to in (None, HOST.participant_id):
        with pytest.raises(Forbidden) as caught:
            post_message(state, OBSERVER, "hello", to, 1, MAX)
        assert caught.value.code == "forbidden"


def test_blank_text_to_an_unknown_recipient_reports_the_text_first() -> None:
    with pytest.raises(InvalidMessage) as caught:
        post_message(full_session().state, AMANI, " ", "p_nobody", 1, MAX)
    assert caught.value.detail == "text"


# --- direct messages ---------------------------------------------------------------------------

ALLOWED = [
    (HOST, AMANI),
    (HOST, TEACHER),
    (TEACHER, INGRID),
    (TEACHER, AMANI),
    (TEACHER, STATION),
    (TEACHER, OBSERVER),
    (AMANI, HOST),
    (INGRID, TEACHER),
    (AMANI, TEACHER),
    (STATION, HOST),
    (STATION, TEACHER),
]
REFUSED = [
    (INGRID, OLA),
    (AMANI, INGRID),
    (AMANI, STATION),
    (STATION, AMANI),
    (AMANI, OBSERVER),
    (STATION, OBSERVER),
]


@pytest.mark.parametrize(("sender", "recipient"), ALLOWED)
def test_direct_message_allowed(sender: Actor, recipient: Actor) -> None:
    check_direct_message(full_session().state, sender, recipient.participant_id)


@pytest.mark.parametrize(("sender", "recipient"), REFUSED)
def test_direct_message_refused_by_default(sender: Actor, recipient: Actor) -> None:
    session = full_session()
    with pytest.raises(DirectMessageNotAllowed) as caught:
        session.command(sender, ChatSend(text="psst", to=recipient.participant_id))
    assert caught.value.code == "dm_not_allowed"
    assert not session.state.chat


def test_student_to_student_needs_the_session_setting() -> None:
    session = full_session()
    with pytest.raises(DirectMessageNotAllowed):
        session.command(INGRID, ChatSend(text="psst", to=OLA.participant_id))
    session.command(TEACHER, SettingsUpdate(settings={"student_private_chat": True}))
    seq = session.command(INGRID, ChatSend(text="psst", to=OLA.participant_id))
    assert session.state.find_message(seq) is not None
    # Never across classes (safeguarding), and the setting opens nothing for stations.
    with pytest.raises(DirectMessageNotAllowed):
        session.command(AMANI, ChatSend(text="hi", to=INGRID.participant_id))
    with pytest.raises(DirectMessageNotAllowed):
        session.command(STATION, ChatSend(text="hi", to=AMANI.participant_id))


def test_setting_on_from_the_start_allows_student_direct_messages() -> None:
    session = full_session(SessionSettings(student_private_chat=True))
    check_direct_message(session.state, INGRID, OLA.participant_id)
    with pytest.raises(DirectMessageNotAllowed):
        check_direct_message(session.state, AMANI, OLA.participant_id)


@pytest.mark.parametrize("sender", [a for a in EVERYONE if a.role is not Role.OBSERVER])
def test_direct_message_to_yourself_is_refused(sender: Actor) -> None:
    with pytest.raises(InvalidMessage) as caught:
        check_direct_message(full_session().state, sender, sender.participant_id)
    assert caught.value.detail == "to"


def test_direct_message_to_an_unknown_participant_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        post_message(full_session().state, HOST, "hello", "p_nobody", 1, MAX)
    assert caught.value.code == "not_found"
    assert caught.value.detail == "to"


def test_direct_message_to_someone_who_left_is_allowed() -> None:
    session = full_session()
    session.leave(AMANI)
    check_direct_message(session.state, TEACHER, AMANI.participant_id)


# --- deleting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("teacher", [HOST, TEACHER])
def test_teachers_delete_any_message(teacher: Actor) -> None:
    session = full_session()
    seq = session.command(AMANI, ChatSend(text="oops"))
    event = delete_message(session.state, teacher, seq, 99)
    assert event.kind == EventKind.CHAT_DELETED
    assert event.ts == 99
    assert event.data == {"message_id": seq, "by": teacher.participant_id}


@pytest.mark.parametrize("actor", [AMANI, INGRID, STATION, OBSERVER])
def test_only_teachers_delete(actor: Actor) -> None:
    session = full_session()
    seq = session.command(actor if actor.role.may_chat else AMANI, ChatSend(text="mine"))
    with pytest.raises(Forbidden):
        session.command(actor, ChatDelete(message_id=seq))
    assert session.state.find_message(seq) is not None


def test_deleting_an_unknown_or_deleted_message_is_not_found() -> None:
    session = full_session()
    seq = session.command(AMANI, ChatSend(text="oops"))
    for message_id in (seq + 100, 0, -1):
        with pytest.raises(NotFound) as caught:
            session.command(HOST, ChatDelete(message_id=message_id))
        assert caught.value.detail == "message_id"
    session.command(HOST, ChatDelete(message_id=seq))
    with pytest.raises(NotFound):
        session.command(TEACHER, ChatDelete(message_id=seq))


def test_deleting_a_non_chat_seq_is_not_found() -> None:
    session = full_session()
    join_seq = session.join(OLA).state.seq
    with pytest.raises(NotFound):
        session.command(HOST, ChatDelete(message_id=join_seq))


def test_teachers_delete_the_private_messages_they_can_read() -> None:
    session = full_session(SessionSettings(student_private_chat=True))
    theirs = session.command(AMANI, ChatSend(text="to my teacher", to=HOST.participant_id))
    students = session.command(INGRID, ChatSend(text="to a friend", to=OLA.participant_id))
    session.command(HOST, ChatDelete(message_id=theirs))
    session.command(TEACHER, ChatDelete(message_id=students))
    assert session.state.deleted_messages == {theirs, students}


def test_a_teacher_cannot_delete_another_teachers_private_conversation() -> None:
    """It is not theirs to read, so it is not theirs to delete (nor to learn it exists)."""
    session = full_session()
    private = session.command(AMANI, ChatSend(text="to my teacher", to=HOST.participant_id))
    with pytest.raises(NotFound):
        session.command(TEACHER, ChatDelete(message_id=private))
    assert session.state.find_message(private) is not None


def test_deleting_a_direct_message_names_its_parties() -> None:
    session = full_session()
    private = session.command(AMANI, ChatSend(text="to my teacher", to=HOST.participant_id))
    event = delete_message(session.state, HOST, private, 99)
    assert event.data == {
        "message_id": private,
        "by": HOST.participant_id,
        "from": AMANI.participant_id,
        "to": HOST.participant_id,
    }
