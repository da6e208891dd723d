"""``decide``: client commands become events, or errors, against the replica's state."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import Forbidden, InvalidMessage, LimitExceeded, UnknownType
from server.protocol.messages import (
    ChatDelete,
    ChatSend,
    ClientMessage,
    Join,
    Leave,
    Ping,
    SettingsUpdate,
)
from server.rooms.actor import Actor
from server.rooms.commands import CommandLimits, decide
from server.rooms.events import EventKind
from server.rooms.settings_rules import SETTING_TYPES, change_settings, validate_settings
from server.rooms.state import SessionSettings
from tests.rooms.builders import (
    AMANI,
    HOST,
    INGRID,
    LIMITS,
    OBSERVER,
    STATION,
    TEACHER,
    full_session,
)


def test_chat_send_becomes_one_chat_posted_event() -> None:
    session = full_session()
    events = decide(session.state, AMANI, ChatSend(text="hi", id="r1"), 777, LIMITS)
    assert [(e.kind, e.ts) for e in events] == [(EventKind.CHAT_POSTED, 777)]
    assert events[0].data == {"from": "p_amani", "class_id": "c1", "text": "hi"}


def test_chat_send_uses_the_configured_length_limit() -> None:
    state = full_session().state
    text = "x" * 60
    assert decide(state, AMANI, ChatSend(text=text), 1, CommandLimits(chat_max_chars=60))
    with pytest.raises(LimitExceeded):
        decide(state, AMANI, ChatSend(text=text), 1, CommandLimits(chat_max_chars=59))


def test_chat_delete_becomes_one_chat_deleted_event() -> None:
    session = full_session()
    seq = session.command(AMANI, ChatSend(text="oops"))
    events = decide(session.state, HOST, ChatDelete(message_id=seq), 5, LIMITS)
    assert [(e.kind, e.data) for e in events] == [
        (EventKind.CHAT_DELETED, {"message_id": seq, "by": "p_host"})
    ]


def test_decide_changes_nothing_by_itself() -> None:
    session = full_session()
    before = session.state.seq
    decide(session.state, AMANI, ChatSend(text="hi"), 1, LIMITS)
    assert session.state.seq == before
    assert not session.state.chat


@pytest.mark.parametrize(
    "command", [Join(token="t"), Ping(id=1), Leave()], ids=["join", "ping", "leave"]
)
def test_connection_messages_are_not_session_commands(command: ClientMessage) -> None:
    with pytest.raises(UnknownType) as caught:
        decide(full_session().state, HOST, command, 1, LIMITS)
    assert caught.value.code == "unknown_type"
    assert caught.value.detail == command.TYPE


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("teacher", [HOST, TEACHER])
def test_teachers_change_settings(teacher: Actor) -> None:
    session = full_session()
    changes = {"lobby": "everyone", "student_private_chat": True}
    events = decide(session.state, teacher, SettingsUpdate(settings=changes), 9, LIMITS)
    assert [(e.kind, e.ts, e.data) for e in events] == [
        (EventKind.SETTINGS_CHANGED, 9, {"changes": changes, "by": teacher.participant_id})
    ]
    session.command(teacher, SettingsUpdate(settings=changes))
    assert session.state.settings == SessionSettings(lobby="everyone", student_private_chat=True)


@pytest.mark.parametrize("actor", [AMANI, INGRID, STATION, OBSERVER])
def test_only_teachers_change_settings(actor: Actor) -> None:
    session = full_session()
    with pytest.raises(Forbidden):
        session.command(actor, SettingsUpdate(settings={"student_private_chat": True}))
    assert session.state.settings == SessionSettings()


def test_role_is_checked_before_the_content() -> None:
    with pytest.raises(Forbidden):
        change_settings(AMANI, {"no_such_setting": 1}, 1)


def test_unknown_setting_is_refused_with_its_name() -> None:
    session = full_session()
    with pytest.raises(InvalidMessage) as caught:
        session.command(HOST, SettingsUpdate(settings={"lobby": True, "recording": True}))
    assert caught.value.detail == "recording"
    assert session.state.settings == SessionSettings()  # nothing applied, not even lobby


def test_long_unknown_setting_name_is_cut_in_the_error() -> None:
    with pytest.raises(InvalidMessage) as caught:
        validate_settings({"x" * 1000: True})
    assert caught.value.detail == "x" * 40
    assert len(caught.value.message) < 100


@pytest.mark.parametrize("value", [1, 0, "true", None, 1.0, [True], {"on": True}])
def test_setting_of_the_wrong_type_is_refused(value: Any) -> None:
    with pytest.raises(InvalidMessage) as caught:
        change_settings(HOST, {"student_private_chat": value}, 1)
    assert caught.value.detail == "student_private_chat"
    assert "bool" in caught.value.message


def test_empty_settings_change_is_refused() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decide(full_session().state, HOST, SettingsUpdate(settings={}), 1, LIMITS)
    assert caught.value.detail == "settings"


def test_every_setting_is_a_known_bool() -> None:
    assert {"student_private_chat": bool} == SETTING_TYPES
    assert validate_settings({"student_private_chat": False}) == {"student_private_chat": False}


def test_event_keeps_its_own_copy_of_the_changes() -> None:
    changes: dict[str, Any] = {"student_private_chat": True}
    event = change_settings(HOST, changes, 1)
    changes["student_private_chat"] = False
    assert event.data["changes"] == {"student_private_chat": True}
