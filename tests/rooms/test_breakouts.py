"""Breakout groups in the session core (server/rooms/breakouts/), without sockets: who may do
what, the groups' chat and boards, the calls for a teacher, and races settled by the reducer."""

from __future__ import annotations

import pytest

from server.errors import ClassbridgeError
from server.protocol.board import BoardPut
from server.protocol.breakouts import (
    BreakoutAnswer,
    BreakoutBroadcast,
    BreakoutCallTeacher,
    BreakoutClose,
    BreakoutMove,
    BreakoutOpen,
    BreakoutVisit,
)
from server.protocol.messages import ChatDelete, ChatSend, ClientMessage
from server.rooms.actor import Actor
from server.rooms.commands import decide
from server.rooms.events import EventKind
from server.rooms.roles import Role
from server.rooms.state import dump_state, load_state
from server.rooms.visibility import can_see, snapshot_for
from tests.rooms.builders import (
    AMANI,
    HOST,
    INGRID,
    LIMITS,
    OBSERVER,
    OLA,
    STATION,
    TEACHER,
    Session,
    replay,
)

JABALI = Actor("p_jabali", "Jabali", Role.STUDENT, "c1")
STUDENTS = (AMANI, JABALI, INGRID, OLA)  # two of each class
RECT_PROPS = {"x": 0, "y": 0, "w": 5, "h": 5, "color": "#dd2222", "width": 2}


def opened(seed: int = 7, size: int = 2) -> Session:
    session = Session().join(HOST, TEACHER, STATION, OBSERVER, *STUDENTS)
    session.command(TEACHER, BreakoutOpen(size=size, seed=seed, minutes=15))
    return session


def group_of(session: Session, actor: Actor) -> str:
    group = session.state.breakouts.group_of(actor.participant_id)
    assert group is not None
    return group.id


def other_group(session: Session, actor: Actor) -> str:
    mine = group_of(session, actor)
    return next(g.id for g in session.state.breakouts.groups if g.id != mine)


def refused(session: Session, actor: Actor, command: ClientMessage) -> str:
    before = len(session.log)
    with pytest.raises(ClassbridgeError) as caught:
        session.command(actor, command)
    assert len(session.log) == before  # nothing logged
    return caught.value.code


def test_open_mixes_two_classes_of_two_into_two_groups_of_one_each() -> None:
    session = opened()
    breakouts = session.state.breakouts
    assert breakouts.open
    assert breakouts.round == 1
    assert [g.id for g in breakouts.groups] == ["r1-g1", "r1-g2"]
    for group in breakouts.groups:
        classes = sorted(session.state.participants[m].class_id for m in group.members)
        assert classes == ["c1", "c2"]
    event = session.log[-1][1]
    assert event.kind == EventKind.BREAKOUT_OPENED
    assert event.data["ends_at"] == event.ts + 15 * 60_000
    assert event.data["by"] == TEACHER.participant_id


def test_only_present_students_are_placed() -> None:
    session = Session().join(HOST, TEACHER, STATION, *STUDENTS)
    session.leave(OLA)
    session.command(HOST, BreakoutOpen(size=3, seed=1))
    placed = {m for g in session.state.breakouts.groups for m in g.members}
    assert placed == {AMANI.participant_id, JABALI.participant_id, INGRID.participant_id}


def test_the_seed_decides_the_groups() -> None:
    first = [g.members for g in opened(seed=3).state.breakouts.groups]
    assert [g.members for g in opened(seed=3).state.breakouts.groups] == first


@pytest.mark.parametrize("actor", [AMANI, STATION, OBSERVER])
def test_only_teachers_open_move_broadcast_and_close(actor: Actor) -> None:
    session = Session().join(HOST, TEACHER, STATION, OBSERVER, *STUDENTS)
    assert refused(session, actor, BreakoutOpen(size=2)) == "forbidden"
    session.command(TEACHER, BreakoutOpen(size=2, seed=1))
    assert refused(session, actor, BreakoutMove(AMANI.participant_id, None)) == "forbidden"
    assert refused(session, actor, BreakoutBroadcast("hi")) == "forbidden"
    assert refused(session, actor, BreakoutClose()) == "forbidden"
    assert refused(session, actor, BreakoutAnswer("r1-g1")) == "forbidden"


def test_open_twice_and_act_when_none() -> None:
    session = Session().join(TEACHER, *STUDENTS)
    for command in (BreakoutClose(), BreakoutBroadcast("hi"), BreakoutVisit("r1-g1")):
        assert refused(session, TEACHER, command) == "no_breakout"
    assert refused(session, AMANI, BreakoutCallTeacher()) == "no_breakout"
    assert refused(session, AMANI, ChatSend("hi", group="r1-g1")) == "no_breakout"
    session.command(TEACHER, BreakoutOpen(size=2))
    assert refused(session, TEACHER, BreakoutOpen(size=2)) == "breakout_open"


@pytest.mark.parametrize(
    ("command", "detail"),
    [
        (BreakoutOpen(size=1), "size"),
        (BreakoutOpen(size=51), "size"),
        (BreakoutOpen(size=2, minutes=0), "minutes"),
        (BreakoutOpen(size=2, names=[""]), "names"),
        (BreakoutOpen(size=2, names=["a\u202eb"]), "names"),
    ],
)
def test_bad_options_are_invalid(command: BreakoutOpen, detail: str) -> None:
    session = Session().join(TEACHER, *STUDENTS)
    with pytest.raises(ClassbridgeError) as caught:
        decide(session.state, TEACHER, command, session.now, LIMITS)
    assert (caught.value.code, caught.value.detail) == ("invalid_message", detail)


def test_open_needs_two_students() -> None:
    session = Session().join(TEACHER, AMANI)
    assert refused(session, TEACHER, BreakoutOpen(size=2)) == "invalid_message"


def test_names_name_the_groups() -> None:
    session = Session().join(TEACHER, *STUDENTS)
    session.command(TEACHER, BreakoutOpen(size=2, names=["Rivers"]))
    assert [g.name for g in session.state.breakouts.groups] == ["Rivers", "Group 2"]


def test_group_chat_reaches_the_group_and_teachers_only() -> None:
    session = opened()
    group = group_of(session, AMANI)
    seq = session.command(AMANI, ChatSend("our idea", group=group))
    event = session.log[seq - 1][1]
    assert event.data["group"] == group
    members = set(session.state.breakouts.group_of(AMANI.participant_id).members)  # type: ignore[union-attr]
    everyone = (HOST, TEACHER, STATION, OBSERVER, *STUDENTS)
    seen = {a.participant_id for a in everyone if can_see(session.state, a, event)}
    assert seen == members | {HOST.participant_id, TEACHER.participant_id}
    outsider = next(s for s in STUDENTS if s.participant_id not in members)
    assert seq not in [m["id"] for m in snapshot_for(session.state, outsider)["chat"]]
    assert seq in [m["id"] for m in snapshot_for(session.state, HOST)["chat"]]


def test_students_cannot_post_to_another_group_nor_to_unknown_ones() -> None:
    session = opened()
    assert refused(session, AMANI, ChatSend("hi", group=other_group(session, AMANI))) == "forbidden"
    assert refused(session, AMANI, ChatSend("hi", group="r9-g9")) == "not_found"
    assert refused(session, OBSERVER, ChatSend("hi", group="r1-g1")) == "forbidden"
    mine = group_of(session, AMANI)
    both = ChatSend("hi", to=TEACHER.participant_id, group=mine)
    assert refused(session, AMANI, both) == "invalid_message"
    session.command(TEACHER, ChatSend("teachers post anywhere", group=mine))


def test_deleting_a_group_post_is_told_to_the_group_only() -> None:
    session = opened()
    group = group_of(session, AMANI)
    posted = session.command(AMANI, ChatSend("oops", group=group))
    deleted = session.log[session.command(TEACHER, ChatDelete(posted)) - 1][1]
    assert deleted.data["group"] == group
    outsider = next(s for s in STUDENTS if s.participant_id not in deleted_members(session, group))
    assert not can_see(session.state, outsider, deleted)
    assert can_see(session.state, AMANI, deleted)
    assert posted in session.state.deleted_messages


def deleted_members(session: Session, group_id: str) -> list[str]:
    group = session.state.breakouts.group(group_id)
    assert group is not None
    return group.members


def test_group_boards_let_members_and_teachers_draw() -> None:
    session = opened()
    group = session.state.breakouts.group(group_of(session, AMANI))
    assert group is not None
    board = session.state.boards[group.board]
    assert (board.access.mode, board.access.participants) == ("selected", sorted(group.members))
    record = {"id": "s1", "kind": "rect", "props": RECT_PROPS}
    session.command(AMANI, BoardPut(board=group.board, record=record))
    session.command(TEACHER, BoardPut(board=group.board, record={**record, "id": "s2"}))
    outsider = next(s for s in STUDENTS if s.participant_id not in group.members)
    put = BoardPut(board=group.board, record={**record, "id": "s3"})
    assert refused(session, outsider, put) == "forbidden"


def test_close_brings_everyone_back_and_keeps_the_boards_for_teachers() -> None:
    session = opened()
    group = group_of(session, AMANI)
    posted = session.command(AMANI, ChatSend("ours", group=group))
    session.command(HOST, BreakoutClose())
    breakouts = session.state.breakouts
    assert not breakouts.open
    assert breakouts.groups == []
    assert session.state.boards["group-1"].access.mode == "teachers"
    assert posted not in [m["id"] for m in snapshot_for(session.state, AMANI)["chat"]]
    assert posted in [m["id"] for m in snapshot_for(session.state, TEACHER)["chat"]]
    session.command(TEACHER, BreakoutOpen(size=2, seed=1))
    assert [g.id for g in session.state.breakouts.groups] == ["r2-g1", "r2-g2"]


def test_a_new_round_empties_the_group_boards() -> None:
    session = opened()
    board = session.state.breakouts.groups[0].board
    record = {"id": "s1", "kind": "rect", "props": RECT_PROPS}
    session.command(TEACHER, BoardPut(board=board, record=record))
    session.command(TEACHER, BreakoutClose())
    assert "s1" in session.state.boards[board].records
    session.command(TEACHER, BreakoutOpen(size=2, seed=1))
    assert session.state.boards[board].records == {}


def test_move_between_groups_and_to_the_main_room() -> None:
    session = opened()
    target = other_group(session, AMANI)
    session.command(TEACHER, BreakoutMove(AMANI.participant_id, target))
    assert group_of(session, AMANI) == target
    moved = session.state.breakouts.group(target)
    assert moved is not None
    assert AMANI.participant_id in session.state.boards[moved.board].access.participants
    session.command(TEACHER, BreakoutMove(AMANI.participant_id, None))
    assert session.state.breakouts.group_of(AMANI.participant_id) is None
    assert refused(session, TEACHER, BreakoutMove("p_nobody", target)) == "not_found"
    assert refused(session, TEACHER, BreakoutMove(AMANI.participant_id, "r1-g9")) == "not_found"
    assert refused(session, TEACHER, BreakoutMove(HOST.participant_id, target)) == "invalid_message"


def test_broadcasts_reach_everyone_and_stay_for_late_joiners() -> None:
    session = opened()
    seq = session.command(TEACHER, BreakoutBroadcast("Five minutes left"))
    event = session.log[seq - 1][1]
    assert all(can_see(session.state, a, event) for a in (AMANI, OLA, STATION))
    wire = snapshot_for(session.state, OLA)["breakouts"]
    assert [b["text"] for b in wire["broadcasts"]] == ["Five minutes left"]


def test_call_a_teacher_is_seen_by_the_group_and_teachers_and_answered() -> None:
    session = opened()
    group = group_of(session, AMANI)
    seq = session.command(AMANI, BreakoutCallTeacher())
    event = session.log[seq - 1][1]
    assert event.data["group"] == group
    outsider = next(s for s in STUDENTS if s.participant_id not in deleted_members(session, group))
    assert can_see(session.state, TEACHER, event)
    assert can_see(session.state, AMANI, event)
    assert not can_see(session.state, outsider, event)
    calls = {
        g["id"]: g["call"] for g in snapshot_for(session.state, outsider)["breakouts"]["groups"]
    }
    assert calls[group] is None
    assert refused(session, AMANI, BreakoutCallTeacher()) == "invalid_message"
    assert refused(session, TEACHER, BreakoutCallTeacher()) == "forbidden"
    session.command(HOST, BreakoutAnswer(group))
    assert session.state.breakouts.group(group).call is None  # type: ignore[union-attr]
    assert refused(session, HOST, BreakoutAnswer(group)) == "invalid_message"
    assert refused(session, HOST, BreakoutAnswer("r1-g9")) == "not_found"


def test_a_late_student_is_in_no_group_and_cannot_call() -> None:
    session = opened()
    late = Actor("p_late", "Late", Role.STUDENT, "c2")
    session.join(late)
    assert session.state.breakouts.group_of("p_late") is None
    assert refused(session, late, BreakoutCallTeacher()) == "forbidden"


def test_teachers_visit_one_group_at_a_time() -> None:
    session = opened()
    session.command(TEACHER, BreakoutVisit("r1-g1"))
    session.command(TEACHER, BreakoutVisit("r1-g2"))
    visitors = {g.id: g.visitors for g in session.state.breakouts.groups}
    assert visitors == {"r1-g1": [], "r1-g2": [TEACHER.participant_id]}
    session.command(TEACHER, BreakoutVisit(None))
    assert all(g.visitors == [] for g in session.state.breakouts.groups)


def test_a_second_open_in_the_log_is_ignored_and_old_rounds_do_not_count() -> None:
    session = opened()
    first = [g.members for g in session.state.breakouts.groups]
    again = decide(session.state, TEACHER, BreakoutClose(), session.tick(), LIMITS)
    # Two teachers open at once on two workers: both decided with no round open.
    racing = Session().join(HOST, TEACHER, STATION, OBSERVER, *STUDENTS)
    one = decide(racing.state, TEACHER, BreakoutOpen(size=2, seed=7), racing.tick(), LIMITS)
    two = decide(racing.state, HOST, BreakoutOpen(size=4, seed=9), racing.tick(), LIMITS)
    for event in one + two:
        racing.append(event)
    assert [g.members for g in racing.state.breakouts.groups] == first
    assert racing.state.breakouts.opened_by == TEACHER.participant_id
    # A close decided for round 1, logged after round 2 opened, changes nothing.
    session.append(again[0])
    session.command(TEACHER, BreakoutOpen(size=2, seed=1))
    session.append(again[0])
    assert session.state.breakouts.open
    assert session.state.breakouts.round == 2


def test_snapshots_keep_the_breakouts_and_older_ones_load() -> None:
    session = opened()
    session.command(AMANI, BreakoutCallTeacher())
    session.command(TEACHER, BreakoutBroadcast("hello"))
    session.command(AMANI, ChatSend("ours", group=group_of(session, AMANI)))
    dumped = dump_state(session.state)
    assert dump_state(load_state(dumped)) == dumped
    assert dump_state(replay(session.log)) == dumped
    del dumped["breakouts"]
    assert not load_state(dumped).breakouts.open
