"""A replica that missed the last event of a quiet session catches up by itself."""

from __future__ import annotations

import asyncio

from server.broker.base import EventListener, HistoryGone, LogPosition, VolatileListener
from server.broker.memory import MemoryBroker, _MemorySubscription
from tests.conftest import ServerFactory
from tests.helpers import LossyBroker, open_classroom, unchecked_classroom, wait_event


async def test_a_lost_last_event_is_read_from_the_log(server_factory: ServerFactory) -> None:
    broker = LossyBroker()
    server = await server_factory(broker=broker, repair_interval=0.1)
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    broker.lose_next = 1  # the next event never reaches the replica through delivery...
    ack = await student.chat("is anyone there?")  # ...yet its sender gets the ack,
    posted = await wait_event(teacher, "chat.posted")  # and everyone the event
    assert (posted.seq, posted.data["text"]) == (ack.seq, "is anyone there?")


async def test_a_lost_event_of_ones_own_is_read_from_the_log_without_the_periodic_check(
    server_factory: ServerFactory,
) -> None:
    """The worker that appended an event knows it is logged: when delivery loses it (pub/sub
    during a resubscription) and nothing follows to show the gap, it reads the log itself
    rather than fail the command after ``APPLY_TIMEOUT``."""
    broker = LossyBroker()
    _, room = await unchecked_classroom(server_factory, broker)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    broker.lose_next = 1
    ack = await student.chat("is anyone there?")  # not an internal_error after 10 s
    posted = await wait_event(teacher, "chat.posted")
    assert (posted.seq, posted.data["text"]) == (ack.seq, "is anyone there?")


class LateBroker(MemoryBroker):
    """memory://, whose delivery comes late once ``late`` is set (a busy pub/sub); counts
    the reads of the log meanwhile."""

    appends_in_place = False  # the gateway's path over Redis: appends wait for delivery

    def __init__(self) -> None:
        super().__init__()
        self.late = False
        self.reads = 0

    async def subscribe(
        self, session_id: str, listener: EventListener, volatile: VolatileListener | None = None
    ) -> _MemorySubscription:
        def deliver(seq: int, epoch: str, payload: bytes) -> None:
            if self.late:
                asyncio.get_running_loop().call_later(1.5, listener, seq, epoch, payload)
            else:
                listener(seq, epoch, payload)

        return await super().subscribe(session_id, deliver, volatile)

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone:
        self.reads += self.late
        return await super().read_since(session_id, after)


async def test_appends_waiting_for_late_delivery_share_one_read_of_the_log(
    server_factory: ServerFactory,
) -> None:
    broker = LateBroker()
    _, room = await unchecked_classroom(server_factory, broker)
    students = [await room.student(0, f"S{n}") for n in range(10)]
    broker.late = True

    acks = await asyncio.gather(*(s.chat(f"hello {n}") for n, s in enumerate(students)))

    assert len({ack.seq for ack in acks}) == 10
    assert broker.reads == 1  # not one per waiting command
