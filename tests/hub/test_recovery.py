"""``Recovery``'s decisions against a broker that changes under it."""

from __future__ import annotations

from server.broker.base import HistoryGone, LogPosition
from server.broker.memory import MemoryBroker
from tests.conftest import ServerFactory
from tests.helpers import unchecked_classroom


class LostAgainBroker(MemoryBroker):
    """memory://, whose log is lost again (another epoch, further on) right after a re-seed
    found it intact: the read that follows finds the history gone."""

    def __init__(self) -> None:
        super().__init__()
        self.lose_after_reseed = False

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone:
        if self.lose_after_reseed:
            self.lose_after_reseed = False
            return HistoryGone(LogPosition(after.seq + 50, "a later epoch"))
        return await super().read_since(session_id, after)


async def test_a_history_lost_again_after_intact_is_decided_anew_not_taken_as_a_floor(
    server_factory: ServerFactory,
) -> None:
    broker = LostAgainBroker()
    server, room = await unchecked_classroom(server_factory, broker)
    await room.teacher(0)
    hub = server.services.hub
    replica = hub._replicas[room.session_id]
    seq, epoch = replica.state.seq, replica.epoch
    broker.lose_after_reseed = True

    settled = await hub.recovery._attempt(replica)

    assert not settled  # tried again: the seq of another epoch says nothing about this one
    assert (replica.state.seq, replica.epoch) == (seq, epoch)
