"""The send queue's two ways out: the flusher's direct writes, and the writer task's fallback."""

from __future__ import annotations

import asyncio

from server.hub.outbox import Flusher, Outbox
from server.protocol.codec import Frame
from tests.hub.sinks import RecordingSink, idle_writer, turn


async def test_messages_queued_in_one_turn_leave_in_one_write_without_the_writer() -> None:
    outbox = Outbox(10_000, batch_bytes=1000, flusher=Flusher())
    writer, sink = await idle_writer(outbox)
    for n in range(3):
        assert outbox.put(f"m{n}")
    assert sink.batches == []  # nothing is written before the turn ends
    await turn()
    assert sink.batches == [["m0", "m1", "m2"]]
    assert len(outbox) == 0
    assert outbox.queued_bytes == 0
    assert not writer.done()  # the writer task was never woken
    outbox.put("m3")
    await turn()
    assert sink.batches[-1] == ["m3"]
    writer.cancel()


async def test_a_socket_that_cannot_take_more_hands_the_queue_to_the_writer_in_order() -> None:
    outbox = Outbox(10_000, batch_bytes=1000, flusher=Flusher())
    writer, sink = await idle_writer(outbox)
    sink.open = False  # a slow reader: the transport is paused
    outbox.put("a")
    outbox.put("b")
    await turn()
    assert await asyncio.wait_for(writer, 1) == ["a", "b"]  # the writer sends them, waiting
    # While the writer holds a batch, newer messages are not written around it.
    sink.open = True
    outbox.put("c")
    await turn()
    assert sink.batches == []
    assert await outbox.take_batch() == ["c"]  # the writer takes them next, in order
    writer = asyncio.ensure_future(outbox.take_batch())
    await turn()
    outbox.put("d")  # the writer is idle again: the flusher writes
    await turn()
    assert sink.batches == [["d"]]
    writer.cancel()


async def test_batches_respect_the_frame_size_and_the_queue_limit() -> None:
    outbox = Outbox(25, batch_bytes=10, flusher=Flusher())
    writer, sink = await idle_writer(outbox)
    assert outbox.put("x" * 6)
    assert outbox.put("y" * 6)
    assert outbox.put("z" * 6)
    assert not outbox.put("w" * 10)  # 28 bytes would pass the limit: a slow client
    await turn()
    assert sink.batches == [["x" * 6], ["y" * 6], ["z" * 6]]  # 12 bytes exceed one frame
    writer.cancel()


async def test_a_closed_queue_is_left_to_the_writer_to_drain() -> None:
    outbox = Outbox(10_000, batch_bytes=1000, flusher=Flusher())
    writer, sink = await idle_writer(outbox)
    outbox.put("last words")
    outbox.close()
    await turn()
    assert sink.batches == []
    assert await asyncio.wait_for(writer, 1) == ["last words"]
    assert await outbox.take_batch() == []


async def test_with_an_interval_a_busy_connection_is_written_once_per_tick() -> None:
    outbox = Outbox(10_000, batch_bytes=1000, flusher=Flusher(interval=0.05))
    writer, sink = await idle_writer(outbox)
    outbox.put("first")
    await turn()
    assert sink.batches == [["first"]]  # after a quiet spell: at once
    outbox.put("second")
    await turn()
    outbox.put("third")
    await turn()
    assert sink.batches == [["first"]]  # written just now: the next ones wait for the tick
    sink.wrote.clear()
    await asyncio.wait_for(sink.wrote.wait(), 2)
    assert sink.batches == [["first"], ["second", "third"]]  # together, in order
    writer.cancel()


async def test_a_reply_is_not_held_for_the_tick_and_takes_what_waits_before_it() -> None:
    outbox = Outbox(10_000, batch_bytes=1000, flusher=Flusher(interval=5.0))
    writer, sink = await idle_writer(outbox)
    outbox.put("first")
    await turn()
    outbox.put("held event")
    await turn()
    assert sink.batches == [["first"]]  # held: the tick is seconds away
    outbox.put("ack", urgent=True)
    await turn()
    assert sink.batches == [["first"], ["held event", "ack"]]  # at once, in order
    outbox.put("next event")
    await turn()
    assert sink.batches == [["first"], ["held event", "ack"]]  # events wait for the tick again
    outbox.put("second ack", urgent=True)
    await turn()
    assert sink.batches[-1] == ["next event", "second ack"]
    writer.cancel()


async def test_a_full_frame_is_not_held_for_the_tick() -> None:
    outbox = Outbox(100, batch_bytes=10, flusher=Flusher(interval=5.0))
    writer, sink = await idle_writer(outbox)
    outbox.put("first")
    await turn()
    outbox.put("12345")
    await turn()
    assert sink.batches == [["first"]]  # 5 bytes queued: held for the tick
    outbox.put("67890")  # 10 bytes: a frame's worth
    await turn()
    assert sink.batches == [["first"], ["12345", "67890"]]
    writer.cancel()


class BrokenSink(RecordingSink):
    def write(self, batch: list[Frame]) -> None:
        raise OSError("the socket broke")


async def test_a_failed_direct_write_hands_the_connection_to_the_writer() -> None:
    flusher = Flusher()
    broken, healthy = Outbox(10_000, 1000, flusher), Outbox(10_000, 1000, flusher)
    broken_writer, _ = await idle_writer(broken)
    broken.sink = BrokenSink()
    healthy_writer, sink = await idle_writer(healthy)
    broken.put("lost with the socket")
    healthy.put("still delivered")
    await turn()
    assert sink.batches == [["still delivered"]]  # one broken socket does not stall the rest
    assert broken.sink is None
    broken.put("next")  # now through the writer, whose ASGI send meets the failure itself
    assert await asyncio.wait_for(broken_writer, 1) == ["next"]
    healthy_writer.cancel()
