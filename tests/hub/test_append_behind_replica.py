"""An append refused because the log went back below the replica (``Broker.append``'s
``after``): the hub restores the log, then appends again only into a history that continues
its own replica's state."""

from __future__ import annotations

import pytest

from server.broker.base import LogPosition
from server.broker.memory import MemoryBroker
from server.client import ClientError
from server.rooms.events import Event
from server.rooms.state import pack_state
from tests.conftest import ServerFactory
from tests.helpers import open_classroom, seq_of


class RolledBackBroker(MemoryBroker):
    """memory:// whose log can be cut back (as Redis restored short of its last second), and
    where, at the first refused append, another worker's replica (``behind``) restores the
    log before this one does and one of its clients posts there."""

    def __init__(self) -> None:
        super().__init__()
        self.behind: tuple[int, bytes, bytes] | None = None  # its seq, its state, its post

    def cut_back(self, session_id: str, top: int) -> None:
        session_log = self._log(session_id)
        session_log.top = top
        while session_log.history and session_log.history[-1][0] > top:
            session_log.history.pop()

    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        position = await super().append(session_id, payload, after=after)
        refused = after is not None and position.seq < after.seq
        if refused and self.behind is not None:
            seq, state, post = self.behind
            self.behind = None
            await super().reseed(session_id, LogPosition(seq, position.epoch), state)
            await super().append(session_id, post)
        return position


async def test_a_refused_command_is_not_retried_in_a_history_restored_from_another_replica(
    server_factory: ServerFactory,
) -> None:
    broker = RolledBackBroker()
    server = await server_factory(broker=broker, repair_interval=300.0)
    room = await open_classroom(server)
    teacher = await room.teacher(0)
    student = await room.student(0, "Amani")
    hub = server.services.hub
    await teacher.chat("first")
    other_state = hub.session_state(room.session_id)
    other_seq, other_packed = other_state.seq, pack_state(other_state)
    mine = seq_of(await student.chat("mine, to be deleted"))
    posted = Event.from_bytes(dict(broker._log(room.session_id).history)[mine])
    someone_else = Event(posted.kind, posted.ts, {**posted.data, "text": "someone else's"})
    broker.cut_back(room.session_id, other_seq - 1)  # below both replicas, same epoch
    broker.behind = (other_seq, other_packed, someone_else.to_bytes())

    with pytest.raises(ClientError) as refused:
        await teacher.command({"type": "chat.delete", "message_id": mine})
    assert refused.value.code == "internal_error"

    # The restored history is the other replica's, where ``mine`` is that other post now:
    # the deletion, decided against a post it no longer names, was not made there.
    state = hub.session_state(room.session_id)
    kept = state.find_message(mine)
    assert kept is not None
    assert kept.text == "someone else's"
    history = [Event.from_bytes(p).kind for _, p in broker._log(room.session_id).history]
    assert "chat.deleted" not in history
    assert "chat.redacted" not in history
