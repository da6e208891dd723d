"""The welcome a joining connection gets: a snapshot, or exactly the events it missed."""

from __future__ import annotations

from server.hub.connection import Connection
from server.hub.encoded import EncodedEvent, EncodedMessage
from server.hub.replica import SessionReplica
from server.protocol.board import BoardRecords
from server.protocol.messages import Welcome
from server.rooms.board.snapshot import record_chunks
from server.rooms.events import Event
from server.rooms.visibility import can_see, is_redacted, snapshot_for
from server.signaling.ice import IceGrant


def welcome_fresh(
    replica: SessionReplica,
    connection: Connection,
    resume: str,
    request_id: str | int | None,
    ice: IceGrant | None = None,
    now: int | None = None,
) -> None:
    """A snapshot at the replica's seq; live events after it follow through the connection.
    ``now``: the server's clock (ms), for the client's countdowns."""
    assert connection.actor is not None
    state = replica.state
    welcome = Welcome(
        participant=connection.actor.to_wire(),
        seq=state.seq,
        epoch=replica.epoch,
        resume=resume,
        session=snapshot_for(state, connection.actor),
        ice_servers=None if ice is None else ice.servers,
        ice_expires_at=None if ice is None else ice.expires_at,
        id=request_id,
        server_time=now,
    )
    chunks = [
        EncodedMessage(BoardRecords(board.id, records, last=n == len(parts) - 1).to_wire())
        for board in state.boards.values()
        if (parts := record_chunks(board, connection.outbox.batch_bytes))
        for n, records in enumerate(parts)
    ]
    if chunks:
        # Paced like a resume's replay (a big board may pass the send queue's bound), with
        # the live events held meanwhile, so they follow the records they build on.
        connection.hold()
    connection.send_welcome(welcome.to_wire())
    if chunks:
        connection.replay(chunks)


def welcome_resumed(
    replica: SessionReplica,
    connection: Connection,
    after_seq: int,
    missed: list[tuple[int, bytes]],
    request_id: str | int | None,
    ice: IceGrant | None = None,
    now: int | None = None,
) -> None:
    """Replay every event after ``after_seq`` up to the replica's seq, each once, in order.

    The events come from two places: the broker's history (read while live events kept
    arriving) and the live events held back meanwhile. Their union, deduplicated by seq, is
    the exact gap; anything later is held until the replay is out, then sent live.
    """
    assert connection.actor is not None
    state = replica.state
    by_seq = _union_by_seq(connection.take_held(), missed)
    welcome = Welcome(
        participant=connection.actor.to_wire(),
        seq=state.seq,
        epoch=replica.epoch,
        resume="events",
        ice_servers=None if ice is None else ice.servers,
        ice_expires_at=None if ice is None else ice.expires_at,
        id=request_id,
        server_time=now,
    )
    connection.send_welcome(welcome.to_wire())
    replay = [
        by_seq[seq]
        for seq in sorted(s for s in by_seq if after_seq < s <= state.seq)
        if not is_redacted(state, seq, by_seq[seq].event)
        and can_see(state, connection.actor, by_seq[seq].event)
    ]
    connection.replay(replay)


def _union_by_seq(
    held: list[EncodedEvent], missed: list[tuple[int, bytes]]
) -> dict[int, EncodedEvent]:
    """Held live events (already decoded) plus the history read, each seq once."""
    by_seq = {e.seq: e for e in held}
    for seq, payload in missed:
        if seq not in by_seq:
            by_seq[seq] = EncodedEvent(seq, Event.from_bytes(payload))
    return by_seq
