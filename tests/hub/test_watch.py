"""A replica that missed the last event of a quiet session catches up by itself."""

from __future__ import annotations

from tests.conftest import ServerFactory
from tests.helpers import LossyBroker, open_classroom, wait_event


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
    server = await server_factory(broker=broker, repair_interval=300.0)
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    student = await room.student(1, "Amani")
    broker.lose_next = 1
    ack = await student.chat("is anyone there?")  # not an internal_error after 10 s
    posted = await wait_event(teacher, "chat.posted")
    assert (posted.seq, posted.data["text"]) == (ack.seq, "is anyone there?")
