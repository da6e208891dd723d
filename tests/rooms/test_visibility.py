"""Who sees what: direct messages reach their parties (and teachers, between students);
deleted chat reaches no one again, in snapshots or in replays."""

from __future__ import annotations

import pytest

from server.protocol.messages import ChatDelete, ChatSend
from server.rooms.actor import Actor
from server.rooms.events import Event, EventKind
from server.rooms.state import SessionSettings
from server.rooms.visibility import audience_rule, can_see, is_redacted, snapshot_for
from tests.rooms.builders import (
    AMANI,
    EVERYONE,
    HOST,
    INGRID,
    OBSERVER,
    OLA,
    STATION,
    TEACHER,
    Session,
    full_session,
)


def _post(session: Session, sender: Actor, to: Actor | None) -> tuple[int, Event]:
    recipient = None if to is None else to.participant_id
    seq = session.command(sender, ChatSend(text="a message", to=recipient))
    return session.log[seq - 1]


def _viewers(session: Session, seq: int, event: Event) -> set[str]:
    return {a.participant_id for a in EVERYONE if can_see(session.state, a, event)}


def _chat_ids_seen_by(session: Session, viewer: Actor) -> list[int]:
    return [m["id"] for m in snapshot_for(session.state, viewer)["chat"]]


def _ids(*actors: Actor) -> set[str]:
    return {a.participant_id for a in actors}


def test_room_messages_and_other_events_are_seen_by_everyone() -> None:
    session = full_session()
    seq, event = _post(session, AMANI, None)
    assert _viewers(session, seq, event) == _ids(*EVERYONE)
    for seq, event in session.log:
        if event.kind != EventKind.CHAT_POSTED:
            assert _viewers(session, seq, event) == _ids(*EVERYONE)


@pytest.mark.parametrize(
    ("sender", "recipient", "viewers"),
    [
        # teacher <-> student: the two parties only, not the other teacher
        (TEACHER, INGRID, {TEACHER, INGRID}),
        (AMANI, HOST, {AMANI, HOST}),
        # teacher <-> teacher and teacher <-> station: private to them
        (HOST, TEACHER, {HOST, TEACHER}),
        (STATION, TEACHER, {STATION, TEACHER}),
        (TEACHER, OBSERVER, {TEACHER, OBSERVER}),
        # student <-> student: the parties and every teacher; never other students
        (INGRID, OLA, {INGRID, OLA, HOST, TEACHER}),
    ],
)
def test_direct_messages_are_seen_by(sender: Actor, recipient: Actor, viewers: set[Actor]) -> None:
    session = full_session(SessionSettings(student_private_chat=True))
    seq, event = _post(session, sender, recipient)
    assert _viewers(session, seq, event) == _ids(*viewers)
    for viewer in EVERYONE:
        assert (seq in _chat_ids_seen_by(session, viewer)) == (viewer in viewers)


def test_deletion_of_a_room_message_is_seen_by_everyone() -> None:
    session = full_session()
    seq, _ = _post(session, AMANI, None)
    delete_seq = session.command(HOST, ChatDelete(message_id=seq))
    _, delete = session.log[delete_seq - 1]
    assert _viewers(session, delete_seq, delete) == _ids(*EVERYONE)


def test_deletion_of_a_direct_message_is_seen_only_by_those_who_saw_it() -> None:
    session = full_session(SessionSettings(student_private_chat=True))
    seq, post = _post(session, INGRID, OLA)
    saw_it = _viewers(session, seq, post)
    delete_seq = session.command(TEACHER, ChatDelete(message_id=seq))
    _, delete = session.log[delete_seq - 1]
    assert _viewers(session, delete_seq, delete) == saw_it == _ids(INGRID, OLA, HOST, TEACHER)


def test_the_fan_out_rule_agrees_with_can_see_and_skips_room_posts() -> None:
    session = full_session(SessionSettings(student_private_chat=True))
    room_post, _ = _post(session, AMANI, None)
    direct_post, _ = _post(session, INGRID, OLA)
    for message_id in (room_post, direct_post):
        session.command(TEACHER, ChatDelete(message_id=message_id))
    per_viewer = []
    for seq, event in session.log:
        rule = audience_rule(event)
        fan_out = {
            a.participant_id for a in EVERYONE if rule is None or rule(session.state, a, event)
        }
        assert fan_out == _viewers(session, seq, event), (seq, event.kind)
        if rule is not None:
            per_viewer.append(seq)
    # Only the direct post and its deletion need a decision per viewer.
    assert per_viewer == [direct_post, session.state.seq]


def test_deleted_messages_leave_snapshots_and_replays() -> None:
    session = full_session()
    kept, kept_event = _post(session, INGRID, None)
    gone, gone_event = _post(session, AMANI, None)
    dm, dm_event = _post(session, AMANI, TEACHER)
    delete_seq = session.command(TEACHER, ChatDelete(message_id=gone))
    session.command(TEACHER, ChatDelete(message_id=dm))
    for viewer in EVERYONE:
        assert _chat_ids_seen_by(session, viewer) == [kept]
        texts = [m["text"] for m in snapshot_for(session.state, viewer)["chat"]]
        assert texts == ["a message"]
    state = session.state
    assert is_redacted(state, gone, gone_event)
    assert is_redacted(state, dm, dm_event)
    assert not is_redacted(state, kept, kept_event)
    # Only posts are redacted: the deletion itself, and other events, still replay.
    assert not is_redacted(state, delete_seq, session.log[delete_seq - 1][1])
    assert not any(is_redacted(state, s, e) for s, e in session.log[:5])


def test_snapshot_lists_participants_by_class_with_presence() -> None:
    session = full_session(SessionSettings(lobby="everyone"))
    session.leave(OLA)
    snapshot = snapshot_for(session.state, AMANI)
    assert snapshot["id"] == "s_test"
    assert snapshot["title"] == "Water in our towns"
    assert snapshot["settings"] == {"lobby": "everyone", "student_private_chat": False}
    assert snapshot["chat"] == []
    classes = {c["id"]: c for c in snapshot["classes"]}
    assert [c["id"] for c in snapshot["classes"]] == ["c1", "c2"]
    assert classes["c1"]["country"] == "KE"
    assert {p["id"] for p in classes["c1"]["participants"]} == _ids(HOST, STATION, AMANI)
    in_bergen = {p["id"]: p for p in classes["c2"]["participants"]}
    assert set(in_bergen) == _ids(TEACHER, INGRID, OLA, OBSERVER)
    assert in_bergen["p_ola"] == {
        "id": "p_ola",
        "name": "Ola",
        "role": "student",
        "class_id": "c2",
        "present": False,
    }
    assert in_bergen["p_ingrid"]["present"] is True


def test_snapshot_chat_is_in_posting_order_with_wire_fields() -> None:
    session = full_session()
    first, _ = _post(session, AMANI, None)
    second, _ = _post(session, AMANI, HOST)
    chat = snapshot_for(session.state, HOST)["chat"]
    assert chat == [
        {
            "id": first,
            "from": "p_amani",
            "class_id": "c1",
            "text": "a message",
            "ts": chat[0]["ts"],
        },
        {
            "id": second,
            "from": "p_amani",
            "class_id": "c1",
            "text": "a message",
            "ts": chat[1]["ts"],
            "to": "p_host",
        },
    ]
    assert chat[0]["ts"] < chat[1]["ts"]
