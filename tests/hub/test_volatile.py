"""Volatile messages handed to a worker's connections: who gets them, and which wait for the
send interval's tick."""

from __future__ import annotations

import asyncio

from server.hub.connection import Connection
from server.hub.outbox import Flusher, Outbox
from server.hub.volatile import VolatileEnvelope, deliver_volatile
from server.protocol.codec import Frame, WireFormat, decode_frame
from server.rooms.actor import Actor
from server.rooms.roles import Role
from tests.hub.sinks import RecordingSink, idle_writer, turn


async def _welcomed(
    participant: str, flusher: Flusher
) -> tuple[Connection, RecordingSink, asyncio.Task[list[Frame]]]:
    outbox = Outbox(10_000, batch_bytes=1000, flusher=flusher)
    connection = Connection(WireFormat.JSON, outbox, lambda _: None)
    connection.actor = Actor(participant, participant, Role.STUDENT, "class-a")
    writer, sink = await idle_writer(outbox)
    connection.send_welcome({"type": "welcome"})
    await turn()
    return connection, sink, writer


def _types(sink: RecordingSink) -> list[list[str]]:
    return [[decode_frame(f, WireFormat.JSON)["type"] for f in batch] for batch in sink.batches]


async def test_a_message_for_one_participant_is_not_held_for_the_tick() -> None:
    flusher = Flusher(interval=5.0)  # the tick is seconds away: whatever it holds stays held
    station, station_sink, station_writer = await _welcomed("station-a", flusher)
    student, student_sink, student_writer = await _welcomed("student-b", flusher)
    # Both were written to just now (the welcome), so a hint for everyone waits for the tick.
    typing = VolatileEnvelope("student-c", None, {"type": "peer.typing", "from": "student-c"})
    assert deliver_volatile([station, student], typing) == 2
    await turn()
    assert _types(station_sink) == [["welcome"]]
    assert _types(student_sink) == [["welcome"]]

    signal = {"type": "peer.signal", "from": "station-z", "signal": {"kind": "answer"}}
    assert (
        deliver_volatile([station, student], VolatileEnvelope("station-z", "station-a", signal))
        == 1
    )
    await turn()
    # The signal leaves at once, with the hint queued before it, in order; the others' wait.
    assert _types(station_sink) == [["welcome"], ["peer.typing", "peer.signal"]]
    assert _types(student_sink) == [["welcome"]]
    station_writer.cancel()
    student_writer.cancel()


async def test_nothing_goes_to_the_sender_or_to_a_connection_not_joined_yet() -> None:
    flusher = Flusher()
    sender, sender_sink, sender_writer = await _welcomed("student-c", flusher)
    overflowed: list[Connection] = []
    outbox = Outbox(10_000, batch_bytes=1000, flusher=flusher)
    joining = Connection(WireFormat.JSON, outbox, overflowed.append)
    typing = VolatileEnvelope("student-c", None, {"type": "peer.typing", "from": "student-c"})
    assert deliver_volatile([sender, joining], typing) == 0
    await turn()
    assert _types(sender_sink) == [["welcome"]]
    assert len(joining.outbox) == 0
    assert not overflowed
    sender_writer.cancel()
