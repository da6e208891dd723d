"""An append refused because the log is not the history its replica follows
(``Broker.append``'s ``after``): the hub restores the log, then appends again only into a
history that starts at or above its replica's seq, where no id the command was decided with
can name another event."""

from __future__ import annotations

import pytest

from server.broker.base import LogPosition
from server.broker.memory import MemoryBroker
from server.client import ClassbridgeClient, ClientError
from server.rooms.events import Event
from server.rooms.state import pack_state
from tests.conftest import ServerFactory
from tests.helpers import seq_of, unchecked_classroom


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
    server, room = await unchecked_classroom(server_factory, broker)
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


class RefilledBroker(RolledBackBroker):
    """At the first refused append, a writer whose replica was at the cut (so never refused)
    appends first, filling the lost seq with another post in the same epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.refill: bytes | None = None

    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        position = await super().append(session_id, payload, after=after)
        if after is not None and position.seq < after.seq and self.refill is not None:
            post, self.refill = self.refill, None
            await super().append(session_id, post)
        return position


async def _a_post_to_delete(
    broker: RolledBackBroker, server_factory: ServerFactory
) -> tuple[ClassbridgeClient, str, int, bytes, bytes]:
    """A teacher, a student's post ``mine``, the state of a replica one event behind it and
    another post with ``mine``'s content but another text."""
    server, room = await unchecked_classroom(server_factory, broker)
    teacher = await room.teacher(0)
    student = await room.student(0, "Amani")
    await teacher.chat("first")
    behind = pack_state(server.services.hub.session_state(room.session_id))
    mine = seq_of(await student.chat("mine, to be deleted"))
    posted = Event.from_bytes(dict(broker._log(room.session_id).history)[mine])
    other = Event(posted.kind, posted.ts, {**posted.data, "text": "someone else's"})
    return teacher, room.session_id, mine, behind, other.to_bytes()


def _post_at(broker: MemoryBroker, session_id: str, seq: int) -> object:
    return Event.from_bytes(dict(broker._log(session_id).history)[seq]).data.get("text")


async def test_a_refused_command_is_not_retried_after_the_lost_seqs_were_refilled(
    server_factory: ServerFactory,
) -> None:
    broker = RefilledBroker()
    teacher, session_id, mine, _, other = await _a_post_to_delete(broker, server_factory)
    broker.cut_back(session_id, mine - 1)  # ``mine`` lost; the epoch kept
    broker.refill = other

    with pytest.raises(ClientError):
        await teacher.command({"type": "chat.delete", "message_id": mine})

    assert _post_at(broker, session_id, mine) == "someone else's"  # neither deleted nor redacted


async def test_a_command_decided_before_another_replica_restored_the_log_is_not_made_there(
    server_factory: ServerFactory,
) -> None:
    """The log was restored from a replica that was behind (a new epoch at its seq), and a post
    took ``mine``'s id there before this replica heard of it: its append, in the old epoch,
    must not land in the new one."""
    broker = RolledBackBroker()
    teacher, session_id, mine, behind, other = await _a_post_to_delete(broker, server_factory)
    session_log = broker._log(session_id)
    broker.cut_back(session_id, mine - 2)
    heard, session_log.subscribers = session_log.subscribers, []  # this replica hears nothing
    await broker.reseed(session_id, LogPosition(mine - 1, session_log.epoch), behind)
    await broker.append(session_id, other)  # the other replica's post: seq ``mine``
    session_log.subscribers = heard

    with pytest.raises(ClientError):
        await teacher.command({"type": "chat.delete", "message_id": mine})

    assert _post_at(broker, session_id, mine) == "someone else's"
    kinds = [Event.from_bytes(payload).kind for _, payload in session_log.history]
    assert "chat.deleted" not in kinds
