"""A join that is half-way through when a teacher removes and bars its participant (or ends the
session) must not complete: the connection would otherwise stay in a session it was barred
from, since the removal closed only the connections that were already in (protocol §24)."""

from __future__ import annotations

import asyncio

import pytest

from server.broker.memory import MemoryBroker
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, participant_of, quiet, seq_of


class GatedBroker(MemoryBroker):
    """The memory broker; a join of ``held`` stops at its connection count until ``gate`` opens,
    the moment a removal can be logged while the join is on its way."""

    def __init__(self) -> None:
        super().__init__()
        self.held = ""
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def count_connections(self, session_id: str, participant_id: str) -> int:
        if participant_id == self.held:
            self.entered.set()
            await self.gate.wait()
        return await super().count_connections(session_id, participant_id)


@pytest.mark.parametrize(
    ("command", "code", "reason"),
    [
        ({"type": "moderation.remove", "bar": True}, 4016, "barred"),
        ({"type": "session.end"}, 4007, "session_ended"),
    ],
)
async def test_a_join_on_its_way_does_not_outlive_a_bar_or_the_end(
    server_factory: ServerFactory, command: dict[str, object], code: int, reason: str
) -> None:
    broker = GatedBroker()
    room = await open_classroom(await server_factory(broker=broker))
    teacher = await room.teacher(0)
    token = await room.student_token(1, "Amani")
    first_tab = await room.join(token)
    amani = participant_of(first_tab)

    broker.held = amani
    second_tab = room.server.client(token)
    joining = asyncio.ensure_future(second_tab.connect())
    await asyncio.wait_for(broker.entered.wait(), 5)
    if command["type"] == "moderation.remove":
        command = {**command, "participant": amani}
    ack = await teacher.command(command)
    assert await first_tab.wait_closed() in (4006, 4007)
    broker.gate.set()

    with pytest.raises(ConnectionError):
        await asyncio.wait_for(joining, 5)
    assert (second_tab.close_code, second_tab.close_reason) == (code, reason)
    if code == 4016:  # the teacher is still there: no join of Amani was logged after the bar
        later = [e for e in await quiet(teacher, 0.2) if e.seq > seq_of(ack)]
        assert [e for e in later if e.kind == "participant.joined"] == []
