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
