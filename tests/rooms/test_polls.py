"""Polls in the session core (server/rooms/polls.py), without sockets: the rules, who sees
which event and which part of the snapshot, and the results kept for the export."""

from __future__ import annotations

import msgpack
import pytest

from server.errors import Forbidden, InvalidMessage, LimitExceeded, NotFound
from server.protocol.classroom import PollAnswer, PollClose, PollCreate
from server.rooms.actor import Actor
from server.rooms.commands import decide
from server.rooms.events import Event, EventKind
from server.rooms.polls import MAX_POLLS, PollClosed, close_poll, poll_follow_up, poll_results
from server.rooms.state import dump_state, load_state
from server.rooms.visibility import can_see, snapshot_for
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
    Session,
    full_session,
    replay,
)

RIVERS = ["Nile", "Tana", "Glomma"]


def create(session: Session, *, multiple: bool = False, anonymous: bool = False) -> int:
    return session.command(TEACHER, PollCreate("Longest river?", RIVERS, multiple, anonymous))


def answer(session: Session, actor: Actor, poll: int, *choices: int) -> int:
    """An answer and the totals its worker logs after it, as the hub does."""
    seq = session.command(actor, PollAnswer(poll, list(choices)))
    follow_up = poll_follow_up(session.state, session.log[seq - 1][1], session.tick())
    if follow_up is not None:
        session.append(follow_up)
    return seq


def event_at(session: Session, seq: int) -> Event:
    return session.log[seq - 1][1]


def who_sees(session: Session, seq: int) -> set[str]:
    return {a.participant_id for a in EVERYONE if can_see(session.state, a, event_at(session, seq))}


def test_a_poll_is_created_by_a_teacher_with_its_seq_as_id() -> None:
    session = full_session()
    poll = create(session)
    assert event_at(session, poll).data == {
        "by": "p_teacher",
        "question": "Longest river?",
        "options": RIVERS,
        "multiple": False,
        "anonymous": False,
    }
    assert session.state.polls[poll].options == RIVERS
    assert who_sees(session, poll) == {a.participant_id for a in EVERYONE}


@pytest.mark.parametrize("actor", [AMANI, STATION, OBSERVER])
def test_only_teachers_create_and_close(actor: Actor) -> None:
    session = full_session()
    with pytest.raises(Forbidden):
        session.command(actor, PollCreate("Q?", ["a", "b"]))
    poll = create(session)
    with pytest.raises(Forbidden):
        session.command(actor, PollClose(poll))


@pytest.mark.parametrize(
    ("question", "options", "error", "detail"),
    [
        ("  ", ["a", "b"], InvalidMessage, "question"),
        ("Q?", ["only one"], InvalidMessage, "options"),
        ("Q?", [str(n) for n in range(11)], InvalidMessage, "options"),
        ("Q?", ["a", " "], InvalidMessage, "options"),
        ("Q?", ["a", "a"], InvalidMessage, "options"),
        ("Q?", ["a", "b\u202e"], InvalidMessage, "options"),
        ("Q?", ["a", "b\nc"], InvalidMessage, "options"),
        ("x" * 301, ["a", "b"], LimitExceeded, "question"),
        ("Q?", ["a", "b" * 101], LimitExceeded, "options"),
    ],
)
def test_bad_polls_are_refused(
    question: str, options: list[str], error: type[Exception], detail: str
) -> None:
    session = full_session()
    with pytest.raises(error) as refused:
        session.command(HOST, PollCreate(question, options))
    assert getattr(refused.value, "detail", None) == detail
    assert session.state.polls == {}


def test_a_session_holds_a_bounded_number_of_polls() -> None:
    session = full_session()
    for _ in range(MAX_POLLS):
        create(session)
    with pytest.raises(LimitExceeded):
        create(session)


@pytest.mark.parametrize("actor", [HOST, TEACHER, STATION, OBSERVER])
def test_only_students_answer(actor: Actor) -> None:
    session = full_session()
    poll = create(session)
    with pytest.raises(Forbidden):
        session.command(actor, PollAnswer(poll, [0]))


@pytest.mark.parametrize(
    ("multiple", "choices"),
    [(False, []), (False, [0, 1]), (False, [3]), (False, [-1]), (True, [0, 0]), (True, [0, 5])],
)
def test_bad_choices_are_refused(multiple: bool, choices: list[int]) -> None:
    session = full_session()
    poll = create(session, multiple=multiple)
    with pytest.raises(InvalidMessage) as refused:
        session.command(AMANI, PollAnswer(poll, choices))
    assert refused.value.detail == "choices"
    assert session.state.polls[poll].answers == {}


def test_an_unknown_poll_is_not_found_and_a_closed_one_refuses_answers() -> None:
    session = full_session()
    with pytest.raises(NotFound):
        session.command(AMANI, PollAnswer(99, [0]))
    with pytest.raises(NotFound):
        session.command(TEACHER, PollClose(99))
    poll = create(session)
    session.command(HOST, PollClose(poll))
    with pytest.raises(PollClosed) as refused:
        session.command(AMANI, PollAnswer(poll, [0]))
    assert refused.value.code == "poll_closed"
    with pytest.raises(PollClosed):
        session.command(TEACHER, PollClose(poll))


def test_one_answer_per_student_changeable_until_the_close() -> None:
    session = full_session()
    poll = create(session, multiple=True)
    answer(session, AMANI, poll, 0)
    answer(session, INGRID, poll, 1)
    answer(session, AMANI, poll, 2, 1)
    state_poll = session.state.polls[poll]
    assert state_poll.answers == {"p_amani": [1, 2], "p_ingrid": [1]}
    assert state_poll.counts() == [0, 2, 1]
    closed = session.command(TEACHER, PollClose(poll))
    assert event_at(session, closed).data == {
        "poll": poll,
        "by": "p_teacher",
        "counts": [0, 2, 1],
        "answers": 2,
        "as_of": closed - 1,
    }
    assert who_sees(session, closed) == {a.participant_id for a in EVERYONE}


def test_named_answers_reach_the_student_and_teachers_only() -> None:
    session = full_session()
    poll = create(session)
    seq = answer(session, AMANI, poll, 1)
    assert event_at(session, seq).data == {
        "poll": poll,
        "by": "p_amani",
        "choices": [1],
        "anonymous": False,
    }
    assert who_sees(session, seq) == {"p_amani", "p_host", "p_teacher"}


def test_anonymous_answers_reach_only_their_student() -> None:
    session = full_session()
    poll = create(session, anonymous=True)
    seq = answer(session, AMANI, poll, 1)
    assert who_sees(session, seq) == {"p_amani"}
    totals = event_at(session, seq + 1)
    assert totals.kind == EventKind.POLL_COUNTS
    # The totals teachers get say how many, never who.
    assert totals.data == {"poll": poll, "counts": [0, 1, 0], "answers": 1, "as_of": seq}
    assert who_sees(session, seq + 1) == {"p_host", "p_teacher"}
    teacher_view = snapshot_for(session.state, TEACHER)["polls"][0]
    assert (teacher_view["counts"], teacher_view["responses"]) == ([0, 1, 0], None)
    assert "p_amani" not in repr(teacher_view)


def test_live_totals_reach_students_only_once_final() -> None:
    session = full_session()
    poll = create(session)
    answer(session, AMANI, poll, 0)
    live_totals = len(session.log)
    assert event_at(session, live_totals).kind == EventKind.POLL_COUNTS
    assert who_sees(session, live_totals) == {"p_host", "p_teacher"}
    session.command(TEACHER, PollClose(poll))
    # After the close, the totals counted before it still do not reach students (a replay).
    assert who_sees(session, live_totals) == {"p_host", "p_teacher"}


def test_an_answer_that_raced_the_close_is_not_counted() -> None:
    session = full_session()
    poll = create(session)
    answer(session, AMANI, poll, 0)
    late = PollAnswer(poll, [1])
    decided = session.state  # the answer was decided before the close reached this replica
    events = decide(decided, INGRID, late, session.tick(), LIMITS)
    session.command(HOST, PollClose(poll))
    seq = session.append(events[0])
    assert session.state.polls[poll].answers == {"p_amani": [0]}
    assert poll_follow_up(session.state, event_at(session, seq), session.tick()) is None


def test_a_close_that_missed_an_answer_is_followed_by_the_totals() -> None:
    """Decided on a replica that had not seen the last answer yet: the worker that logged the
    close logs the totals that count it, and students see those (they are final)."""
    session = full_session()
    poll = create(session)
    answer(session, AMANI, poll, 0)
    close = close_poll(session.state, TEACHER, poll, session.tick())
    session.command(INGRID, PollAnswer(poll, [2]))  # logged between decision and close
    seq = session.append(close)
    follow_up = poll_follow_up(session.state, event_at(session, seq), session.tick())
    assert follow_up is not None
    assert follow_up.data["counts"] == [1, 0, 1]
    totals = session.append(follow_up)
    assert who_sees(session, totals) == {a.participant_id for a in EVERYONE}
    # Once published, nothing more to publish.
    assert poll_follow_up(session.state, follow_up, session.tick()) is None


def test_totals_already_logged_by_another_worker_are_not_repeated() -> None:
    session = full_session()
    poll = create(session)
    first = session.command(AMANI, PollAnswer(poll, [0]))
    second = session.command(INGRID, PollAnswer(poll, [1]))
    totals = poll_follow_up(session.state, event_at(session, first), session.tick())
    assert totals is not None
    assert totals.data["as_of"] == second
    session.append(totals)
    assert poll_follow_up(session.state, event_at(session, second), session.tick()) is None


def test_the_snapshot_shows_each_viewer_what_it_may_see() -> None:
    session = full_session()
    poll = create(session)
    answer(session, AMANI, poll, 1)
    answer(session, INGRID, poll, 0)
    amani = snapshot_for(session.state, AMANI)["polls"][0]
    assert (amani["mine"], amani["counts"], amani["answers"], amani["responses"]) == (
        [1],
        None,
        None,
        None,
    )
    assert "p_ingrid" not in repr(amani)
    ola = snapshot_for(session.state, OLA)["polls"][0]
    assert (ola["mine"], ola["counts"]) == (None, None)
    teacher = snapshot_for(session.state, TEACHER)["polls"][0]
    assert teacher["counts"] == [1, 1, 0]
    assert teacher["responses"] == {"p_amani": [1], "p_ingrid": [0]}
    session.command(TEACHER, PollClose(poll))
    ola = snapshot_for(session.state, OLA)["polls"][0]
    assert (ola["closed"], ola["counts"], ola["answers"], ola["responses"]) == (
        True,
        [1, 1, 0],
        2,
        None,
    )


def test_results_for_the_export_leave_out_who_for_anonymous_polls() -> None:
    session = full_session()
    named = create(session)
    anonymous = create(session, anonymous=True)
    answer(session, AMANI, named, 2)
    answer(session, AMANI, anonymous, 0)
    answer(session, OLA, anonymous, 0)
    session.command(TEACHER, PollClose(anonymous))
    results = poll_results(session.state)
    assert [r["id"] for r in results] == [named, anonymous]
    assert results[0]["responses"] == {"p_amani": [2]}
    assert results[0]["closed"] is False
    assert (results[1]["counts"], results[1]["answers"], results[1]["responses"]) == (
        [2, 0, 0],
        2,
        None,
    )
    assert results[1]["closed_by"] == "p_teacher"


def test_polls_survive_a_snapshot_and_a_replay() -> None:
    session = full_session()
    poll = create(session, multiple=True, anonymous=True)
    answer(session, AMANI, poll, 0, 2)
    session.command(HOST, PollClose(poll))
    stored = msgpack.unpackb(msgpack.packb(dump_state(session.state)), strict_map_key=False)
    assert dump_state(load_state(stored)) == dump_state(session.state)
    assert dump_state(replay(session.log)) == dump_state(session.state)
    assert load_state(stored).polls[poll].answers == {"p_amani": [0, 2]}
