"""Hands, reactions and polls over a real server (docs/protocol.md, "Hands, reactions and
polls"): the hand queue, who may lower which hand, what each role learns of a poll, and
reactions that reach the others and never the log."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest

from server.client import ClassbridgeClient, ClientError
from server.protocol.classroom import PeerReaction
from server.protocol.messages import EventMessage
from tests.conftest import ServerFactory
from tests.helpers import (
    JSON,
    Classroom,
    open_classroom,
    participant_of,
    quiet,
    two_servers_on_redis,
    wait_event,
)
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

CLAP, HEART = "\U0001f44f", "\u2764\ufe0f"


async def _refused(client: ClassbridgeClient, message: dict[str, Any]) -> str:
    with pytest.raises(ClientError) as caught:
        await client.request(message)
    return caught.value.code


def _snapshot(client: ClassbridgeClient) -> dict[str, Any]:
    assert client.welcome is not None
    assert client.welcome.session is not None
    return client.welcome.session


def _poll_events(events: list[EventMessage]) -> list[EventMessage]:
    return [e for e in events if e.kind.startswith("poll.")]


async def test_hands_queue_in_order_and_teachers_lower_them(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    rui = await classroom.student(0, "Rui", JSON)
    first = await amani.command({"type": "hand.raise"})
    second = await rui.command({"type": "hand.raise"})
    assert first.seq is not None
    assert second.seq is not None
    assert first.seq < second.seq
    raised = [await wait_event(teacher, "hand.raised") for _ in range(2)]
    assert [e.data for e in raised] == [
        {"participant": participant_of(amani)},
        {"participant": participant_of(rui)},
    ]
    assert await _refused(amani, {"type": "hand.raise"}) == "already_raised"
    assert await _refused(teacher, {"type": "hand.raise"}) == "forbidden"

    late = await classroom.student(1, "Wanjiru")
    hands = _snapshot(late)["hands"]
    assert [h["participant"] for h in hands] == [participant_of(amani), participant_of(rui)]
    assert [h["raised_at"] for h in hands] == [e.ts for e in raised]

    # A student cannot lower someone else's hand; a teacher can.
    lower_amani = {"type": "hand.lower", "participant": participant_of(amani)}
    assert await _refused(rui, lower_amani) == "forbidden"
    await teacher.command(lower_amani)
    lowered = await wait_event(rui, "hand.lowered")
    assert lowered.data == {"participant": participant_of(amani), "by": participant_of(teacher)}
    await rui.command({"type": "hand.lower"})
    assert await _refused(rui, {"type": "hand.lower"}) == "not_found"
    await amani.command({"type": "hand.raise"})
    await teacher.command({"type": "hand.clear"})
    cleared = await wait_event(amani, "hands.cleared")
    assert cleared.data == {"by": participant_of(teacher)}
    assert _snapshot(await classroom.student(0, "Ines"))["hands"] == []


async def test_leaving_lowers_the_hand(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    rui = await classroom.student(0, "Rui")
    await amani.command({"type": "hand.raise"})
    await rui.command({"type": "hand.raise"})
    await amani.send_raw({"type": "leave"})
    await wait_event(teacher, "participant.left")
    hands = _snapshot(await classroom.student(0, "Ines"))["hands"]
    assert [h["participant"] for h in hands] == [participant_of(rui)]


async def test_a_poll_from_question_to_results(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    rui = await classroom.student(0, "Rui", JSON)
    created = await teacher.command(
        {"type": "poll.create", "question": "Longest river?", "options": ["Nile", "Tana", "Tejo"]}
    )
    poll = created.seq
    assert poll is not None
    for client in (teacher, amani, rui):
        event = await wait_event(client, "poll.created")
        assert (event.seq, event.data["options"]) == (poll, ["Nile", "Tana", "Tejo"])

    await amani.command({"type": "poll.answer", "poll": poll, "choices": [0]})
    await rui.command({"type": "poll.answer", "poll": poll, "choices": [1]})
    await amani.command({"type": "poll.answer", "poll": poll, "choices": [2]})  # changed
    assert await _refused(teacher, {"type": "poll.answer", "poll": poll, "choices": [0]}) == (
        "forbidden"
    )
    bad = {"type": "poll.answer", "poll": poll, "choices": [0, 1]}
    assert await _refused(rui, bad) == "invalid_message"
    assert await _refused(rui, {**bad, "poll": poll + 999}) == "not_found"

    # The teacher sees who answered what, and the live totals.
    seen_by_teacher: list[EventMessage] = []
    while not seen_by_teacher or seen_by_teacher[-1].data.get("counts") != [0, 1, 1]:
        seen_by_teacher.append(await teacher.next_event(("poll.answered", "poll.counts")))
    answers = [e for e in seen_by_teacher if e.kind == "poll.answered"]
    assert [(e.data["by"], e.data["choices"]) for e in answers] == [
        (participant_of(amani), [0]),
        (participant_of(rui), [1]),
        (participant_of(amani), [2]),
    ]
    assert seen_by_teacher[-1].data["poll"] == poll

    await teacher.command({"type": "poll.close", "poll": poll})
    closed = await wait_event(rui, "poll.closed")
    assert (closed.data["counts"], closed.data["answers"]) == ([0, 1, 1], 2)
    assert await _refused(amani, {"type": "poll.answer", "poll": poll, "choices": [1]}) == (
        "poll_closed"
    )
    # Rui saw only his own answer before the close: never Amani's, never the live totals.
    seen = _poll_events(await quiet(rui))
    before_close = [e for e in seen if e.seq < closed.seq]
    assert all(e.kind == "poll.answered" for e in before_close)
    assert all(e.data["by"] == participant_of(rui) for e in before_close)
    assert participant_of(amani) not in repr([e.data for e in seen])
    late = _snapshot(await classroom.student(1, "Wanjiru"))["polls"][0]
    assert (late["closed"], late["counts"], late["responses"], late["mine"]) == (
        True,
        [0, 1, 1],
        None,
        None,
    )


async def test_an_anonymous_poll_never_tells_the_teacher_who(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani = await classroom.student(1, "Amani")
    question = {"type": "poll.create", "question": "Did you understand?", "anonymous": True}
    created = await teacher.command({**question, "options": ["Yes", "Not yet"]})
    assert created.seq is not None
    await amani.command({"type": "poll.answer", "poll": created.seq, "choices": [1]})
    own = await wait_event(amani, "poll.answered")
    assert own.data["choices"] == [1]
    await teacher.command({"type": "poll.close", "poll": created.seq})
    # Everything the teacher got from the poll's creation to its close, unfiltered.
    received = [await teacher.next_event()]
    while received[-1].kind != "poll.closed":
        received.append(await teacher.next_event())
    received = [e for e in received if e.seq > created.seq]
    totals = [e for e in received if e.kind == "poll.counts"]
    assert [e.data["counts"] for e in totals] == [[0, 1]]
    assert totals[0].data["answers"] == 1
    student_id = participant_of(amani)
    assert all(e.kind != "poll.answered" for e in received)
    assert student_id.encode() not in msgpack.packb([e.data for e in received])
    # Nor in a snapshot: a teacher's second tab joins fresh.
    polls = _snapshot(await classroom.teacher(0, JSON))["polls"]
    assert (polls[0]["counts"], polls[0]["responses"]) == ([0, 1], None)
    assert student_id not in repr(polls)
    # The student still sees their own answer in a snapshot.
    assert _snapshot(await classroom.join(amani.token))["polls"][0]["mine"] == [1]


async def test_reactions_reach_the_others_and_never_the_log(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    amani_token = await classroom.student_token(1, "Amani")
    amani, amani_tab = await classroom.join(amani_token), await classroom.join(amani_token, JSON)
    rui = await classroom.student(0, "Rui")
    before = await classroom.seq()
    await amani.command({"type": "reaction", "emoji": CLAP})
    for other in (teacher, rui):
        assert await other.next_peer_message() == PeerReaction(participant_of(amani), CLAP)
    await teacher.command({"type": "reaction", "emoji": HEART})  # a fence for Amani's tabs
    for tab in (amani, amani_tab):
        assert await tab.next_peer_message() == PeerReaction(participant_of(teacher), HEART)
    assert await _refused(rui, {"type": "reaction", "emoji": "\U0001f4a9"}) == "invalid_message"
    observer = await classroom.join(await classroom.token("observer", 0, "Inspector"))
    assert await _refused(observer, {"type": "reaction", "emoji": CLAP}) == "forbidden"
    assert await classroom.seq() == before + 1  # the observer's join, nothing else


async def test_reactions_are_rate_limited(classroom: Classroom) -> None:
    rui = await classroom.student(0, "Rui")
    codes = []
    for _ in range(8):
        try:
            await rui.command({"type": "reaction", "emoji": CLAP})
            codes.append("ok")
        except ClientError as error:
            codes.append(error.code)
    assert codes[:5] == ["ok"] * 5
    assert "rate_limited" in codes[5:]
    await rui.chat("chat is not limited by the reaction budget")


async def test_polls_and_reactions_across_two_servers(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    """Students answer on one server, the teacher follows on the other: the totals are counted
    by the server that logged each answer, and the teacher ends with all of them."""
    first, second = await two_servers_on_redis(server_factory, redis_server)
    room = await open_classroom(first)
    teacher = first.client(room.teacher_token(0))
    students = [second.client(await room.student_token(1, name)) for name in ("Amani", "Baraka")]
    students.append(first.client(await room.student_token(0, "Rui")))
    for client in (teacher, *students):
        await client.connect()
    created = await teacher.command(
        {"type": "poll.create", "question": "Ready?", "options": ["Yes", "No"], "anonymous": True}
    )
    await asyncio.gather(
        *(s.command({"type": "poll.answer", "poll": created.seq, "choices": [0]}) for s in students)
    )
    final = await wait_event(teacher, "poll.counts", lambda e: e.data["answers"] == 3)
    assert final.data["counts"] == [3, 0]
    await students[0].command({"type": "reaction", "emoji": CLAP})
    assert await teacher.next_peer_message() == PeerReaction(participant_of(students[0]), CLAP)
    await teacher.command({"type": "poll.close", "poll": created.seq})
    closed = await wait_event(students[1], "poll.closed")
    assert closed.data["counts"] == [3, 0]
