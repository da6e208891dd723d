"""Resume over a real server: a client that reconnects with its last seq misses nothing."""

from __future__ import annotations

import asyncio

import pytest

from server.client import ClassbridgeClient
from server.protocol.messages import EventMessage
from tests.conftest import ServerFactory
from tests.helpers import (
    JSON,
    Classroom,
    FlakyBroker,
    collect_until,
    left_event_of,
    open_classroom,
    participant_of,
    quiet,
    seq_of,
    wait_event,
)

# Posting fast is the point of these tests: lift the chat limits.
FAST_CHAT = {
    "chat_per_second": 1000.0,
    "chat_burst": 1000,
    "messages_per_second": 1000.0,
    "messages_burst": 1000,
}


async def _fast_room(server_factory: ServerFactory, **overrides: object) -> Classroom:
    return await open_classroom(await server_factory(**FAST_CHAT, **overrides))


async def _dropped(client: ClassbridgeClient) -> list[EventMessage]:
    """Drop the connection; return what the client had received until then."""
    await client.ping()  # everything sent before the ping has been read
    await client.drop()
    return client.drain_events()


def _seqs(events: list[EventMessage]) -> list[int]:
    return [e.seq for e in events]


async def test_resume_replays_exactly_the_missed_events(server_factory: ServerFactory) -> None:
    room = await _fast_room(server_factory)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani", JSON)
    await teacher.chat("before the drop")
    await wait_event(student, "chat.posted")
    seen = await _dropped(student)
    last_seen = student.last_seq
    assert last_seen is not None
    assert all(e.seq <= last_seen for e in seen)

    acks = [await teacher.chat(f"missed {n}") for n in range(8)]
    welcome = await student.reconnect()
    assert welcome.resume == "events"
    assert welcome.session is None
    assert welcome.seq == acks[-1].seq
    replayed = await collect_until(student, welcome.seq)
    assert _seqs(replayed) == list(range(last_seen + 1, welcome.seq + 1))
    assert [e.data["text"] for e in replayed] == [f"missed {n}" for n in range(8)]
    # Live events follow on, with nothing repeated.
    live = await teacher.chat("after the resume")
    assert _seqs(await collect_until(student, seq_of(live))) == [live.seq]
    assert await quiet(student, 0.1) == []


SMALL_QUEUE = {"send_queue_bytes": 16384, "max_frame_bytes": 8192}


@pytest.mark.parametrize(
    ("limits", "padding"),
    [pytest.param({}, "", id="replays-fit"), pytest.param(SMALL_QUEUE, "." * 700, id="paced")],
)
async def test_resume_while_events_keep_coming(
    server_factory: ServerFactory, limits: dict[str, int], padding: str
) -> None:
    room = await _fast_room(server_factory, **limits)
    poster = await room.teacher(0)
    observer = await room.teacher(1)
    student = await room.student(1, "Amani")
    start = await room.seq()
    received = [e for e in await _dropped(student) if e.seq > start]

    stop = asyncio.Event()
    posted: list[int] = []
    progress = asyncio.Condition()

    async def keep_posting() -> None:
        while not stop.is_set():
            posted.append(seq_of(await poster.chat(f"live {len(posted)} {padding}")))
            async with progress:
                progress.notify_all()

    async def some_posted(count: int) -> None:
        async with progress:
            await progress.wait_for(lambda: len(posted) >= count)

    posting = asyncio.create_task(keep_posting())
    for round_ in range(1, 6):  # drop and come back again and again while the poster goes on
        await some_posted(10 * round_)
        welcome = await student.reconnect()
        assert welcome.resume == "events"
        received += await _dropped(student)
    await student.connect()
    await some_posted(60)
    stop.set()
    await posting
    last = posted[-1]
    received += await collect_until(student, last)

    expected = [e.seq for e in await collect_until(observer, last) if e.seq > start]
    assert _seqs(received) == expected == posted == list(range(start + 1, last + 1))


async def test_a_long_replay_goes_out_as_fast_as_the_client_reads(
    server_factory: ServerFactory,
) -> None:
    """The missed events far exceed the send queue: they are paced, not a reason to close."""
    room = await _fast_room(server_factory, **SMALL_QUEUE)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani", JSON)
    await _dropped(student)
    acks = [await teacher.chat(f"{n} " + "." * 1000) for n in range(100)]
    welcome = await student.reconnect()
    assert welcome.resume == "events"
    await student.ping()  # a reply during the replay does not overflow the queue
    live = await teacher.chat("live, after the replay")
    replayed = await collect_until(student, seq_of(live))
    assert _seqs(replayed) == [a.seq for a in acks] + [live.seq]
    assert student.close_code is None


async def test_snapshot_when_the_missed_events_are_gone(server_factory: ServerFactory) -> None:
    room = await _fast_room(server_factory, history_size=10, snapshot_every=5)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    await _dropped(student)
    for n in range(12):
        await teacher.chat(f"while you were away {n}")
    top = await room.seq()

    welcome = await student.reconnect()
    assert welcome.resume == "snapshot"
    assert welcome.seq == top
    assert welcome.session is not None
    texts = [m["text"] for m in welcome.session["chat"]]
    assert texts == [f"while you were away {n}" for n in range(12)]
    assert student.last_seq == top
    live = await teacher.chat("and now live")
    assert _seqs(await collect_until(student, seq_of(live))) == [live.seq]


async def test_snapshot_when_the_epoch_is_not_this_history(classroom: Classroom) -> None:
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani")
    await _dropped(student)
    await teacher.chat("missed")
    student.epoch = "not-the-epoch"
    welcome = await student.reconnect()
    assert welcome.resume == "snapshot"
    assert welcome.session is not None
    assert [m["text"] for m in welcome.session["chat"]] == ["missed"]
    assert welcome.epoch == teacher.epoch


async def test_snapshot_when_the_seq_is_ahead_of_the_log(classroom: Classroom) -> None:
    student = await classroom.student(1, "Amani")
    await _dropped(student)
    student.last_seq = 10_000
    welcome = await student.reconnect()
    assert welcome.resume == "snapshot"
    assert welcome.seq == await classroom.seq()


async def test_replay_leaves_out_deleted_posts_and_other_peoples_messages(
    classroom: Classroom,
) -> None:
    teacher = await classroom.teacher(0)
    student = await classroom.student(1, "Amani")
    friend = await classroom.student(0, "Inês")
    await _dropped(student)
    oops = await friend.chat("a secret phone number")
    deleted = await teacher.command({"type": "chat.delete", "message_id": oops.seq})
    private = await teacher.chat("see me after class", to=participant_of(friend))
    last = await teacher.chat("back to work")

    welcome = await student.reconnect()
    assert welcome.resume == "events"
    replayed = await collect_until(student, seq_of(last))
    assert [(e.seq, e.kind) for e in replayed] == [
        (deleted.seq, "chat.deleted"),
        (last.seq, "chat.posted"),
    ]
    assert private.seq not in _seqs(replayed)
    assert all("secret" not in str(e.data) for e in replayed)


async def test_resume_after_the_grace_period_replays_leaving_and_coming_back(
    server_factory: ServerFactory,
) -> None:
    room = await open_classroom(await server_factory(presence_grace=0.2))
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    amani = participant_of(student)
    await _dropped(student)
    await wait_event(teacher, "participant.left", left_event_of(amani))
    welcome = await student.reconnect()
    assert welcome.resume == "events"
    replayed = await collect_until(student, welcome.seq)
    assert [e.kind for e in replayed] == ["participant.left", "participant.joined"]
    assert replayed[1].data["participant"]["id"] == amani


async def test_a_resume_that_fails_on_the_server_side(server_factory: ServerFactory) -> None:
    """Close 1011 (retry later), and no ghost connection is left in presence."""
    broker = FlakyBroker()
    room = await open_classroom(await server_factory(broker=broker, presence_grace=0.2))
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    amani = participant_of(student)
    await _dropped(student)
    broker.failing.add("read_since")
    with pytest.raises(ConnectionError, match="internal_error"):
        await student.connect()
    assert (student.close_code, student.close_reason) == (1011, "internal_error")
    await wait_event(teacher, "participant.left", left_event_of(amani))

    broker.failing.clear()
    welcome = await student.connect()
    assert welcome.resume == "events"
    replayed = await collect_until(student, welcome.seq)
    assert [e.kind for e in replayed] == ["participant.left", "participant.joined"]
