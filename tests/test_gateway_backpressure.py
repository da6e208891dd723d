"""Fan-out and backpressure: events encoded once, batched, and a slow client closed (4008)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server import gateway, websocket_protocol
from server.client import ClassbridgeClient
from server.hub import encoded as encoded_module
from server.protocol.codec import Frame, WireFormat, decode_frame, encode_message
from tests.conftest import ServerFactory
from tests.helpers import (
    JSON,
    MSGPACK,
    Classroom,
    collect_until,
    open_classroom,
    participant_of,
    raw_socket,
    seq_of,
    wait_event,
)

SLOW_CONSUMER = 4008
TEXT = "a long message to fill the queues quickly " * 35  # ~1.5 kB per event
MAX_POSTS = 8000  # far more than the kernel buffers of a loopback connection hold
# A small send queue, no chat limits, and a short grace: the slow client's participant.left
# soon says that the server closed it.
FLOOD: dict[str, Any] = {
    "send_queue_bytes": 16384,
    "max_frame_bytes": 8192,
    "chat_per_second": 100_000.0,
    "chat_burst": 100_000,
    "messages_per_second": 100_000.0,
    "messages_burst": 100_000,
    "presence_grace": 0.3,
}


async def _flood_until_closed(room: Classroom, poster: ClassbridgeClient, slow_id: str) -> int:
    """Post until the slow client is dropped (its participant.left comes after the grace)."""
    last = 0
    for n in range(MAX_POSTS):
        last = seq_of(await poster.chat(f"{n} {TEXT}"))
        if n % 20 == 19:
            drained = poster.drain_events()
            if any(
                e.kind == "participant.left" and e.data["participant_id"] == slow_id
                for e in drained
            ):
                return last
    raise AssertionError("the slow consumer was never closed")


@pytest.mark.parametrize(
    ("wire_format", "history_size", "resume"),
    # A history of 20 events: however fast the flood goes (the poster's acks wait for the send
    # interval's tick), the slow client misses more than that before it is dropped.
    [(MSGPACK, 10_000, "events"), (JSON, 20, "snapshot")],
)
async def test_slow_consumer_is_closed_others_get_everything_and_it_resumes(
    server_factory: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
    wire_format: WireFormat,
    history_size: int,
    resume: str,
) -> None:
    # The gateway gives a close frame this long to get out. The slow client reads again only
    # after its participant.left (presence_grace, longer): the close code must be waiting.
    monkeypatch.setattr(gateway, "CLOSE_TIMEOUT", 0.1)
    server = await server_factory(
        **FLOOD, history_size=history_size, snapshot_every=min(100, history_size // 2)
    )
    room = await open_classroom(server)
    poster = await room.teacher(0)
    other = await room.student(0, "Inês", JSON)
    # A client that stops reading: a tiny socket buffer and no queue in the WebSocket library.
    slow = server.client(
        await room.student_token(1, "Amani"), wire_format, max_queue=1, receive_buffer=4096
    )
    await slow.connect()
    start = await room.seq()
    slow.pause_reading()

    last = await _flood_until_closed(room, poster, participant_of(slow))

    # Everyone else got every event, in order, without a gap.
    seen_by_other = [e.seq for e in await collect_until(other, last) if e.seq > start]
    assert seen_by_other == list(range(start + 1, last + 1))

    # Once it reads again, the slow client learns why it was dropped.
    slow.resume_reading()
    assert await slow.wait_closed() == SLOW_CONSUMER
    assert slow.close_reason == "slow_consumer"
    before_close = [e.seq for e in slow.drain_events() if e.seq > start]
    assert before_close == list(range(start + 1, start + 1 + len(before_close)))
    assert len(before_close) < last - start  # it did miss something

    welcome = await slow.connect()
    assert welcome.resume == resume
    top = await room.seq()
    assert welcome.seq == top  # it came back: participant.joined follows the flood
    if resume == "events":
        replayed = [e.seq for e in await collect_until(slow, top)]
        assert before_close + replayed == list(range(start + 1, top + 1))
    else:
        assert welcome.session is not None
        chat = welcome.session["chat"]
        assert chat[-1]["id"] == last


async def test_each_event_is_encoded_once_per_wire_format(
    classroom: Classroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    readers = [await classroom.student(n % 2, f"s{n}", (JSON, MSGPACK)[n % 2]) for n in range(8)]
    teacher = await classroom.teacher(0)
    encoded: list[str] = []

    def counting(message: dict[str, Any], wire_format: WireFormat) -> Frame:
        encoded.append(message["kind"])
        return encode_message(message, wire_format)

    monkeypatch.setattr(encoded_module, "encode_message", counting)
    posted = await teacher.chat("one event, ten readers")
    for reader in readers:
        event = await wait_event(reader, "chat.posted")
        assert event.seq == posted.seq
    assert encoded == ["chat.posted", "chat.posted"]  # msgpack and JSON, once each


async def test_waiting_events_share_a_frame(server_factory: ServerFactory) -> None:
    classroom = await open_classroom(await server_factory(chat_burst=100, messages_burst=100))
    teacher = await classroom.teacher(0)
    async with raw_socket(classroom.server, JSON) as ws:
        await ws.join(await classroom.student_token(1, "Amani"))
        for n in range(30):  # sent at once: they reach the server in one read or a few
            await teacher.send_raw({"type": "chat.send", "text": f"quick {n}"})
        frames: list[Any] = []
        seqs: list[int] = []
        while len(seqs) < 30:
            frame = decode_frame(await asyncio.wait_for(ws.ws.recv(), 5), JSON)
            frames.append(frame)
            batch = frame if isinstance(frame, list) else [frame]
            seqs += [m["seq"] for m in batch if m.get("kind") == "chat.posted"]
    assert seqs == sorted(seqs)
    assert len(seqs) == len(set(seqs)) == 30
    assert any(isinstance(frame, list) and len(frame) > 1 for frame in frames)


async def test_a_client_that_never_reads_again_does_not_hold_the_server(
    server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its close, a stuck connection gets close_timeout to drain, then it is aborted."""
    monkeypatch.setattr(websocket_protocol, "CLOSE_TIMEOUT", 0.2)
    server = await server_factory(**FLOOD)
    room = await open_classroom(server)
    poster = await room.teacher(0)
    stuck = ClassbridgeClient(
        server.ws_url, await room.student_token(1, "Amani"), max_queue=1, receive_buffer=4096
    )
    await stuck.connect()
    stuck.pause_reading()
    try:
        await _flood_until_closed(room, poster, participant_of(stuck))
        await asyncio.wait_for(server.stop(), 5)  # it would wait for the stuck client forever
    finally:
        stuck.resume_reading()
        await stuck.close()
    assert stuck.close_code in (1006, SLOW_CONSUMER)
