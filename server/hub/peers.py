"""Messages between participants that skip the log: checked against the replica like
commands, then published through the broker for whichever workers hold the recipients
(``volatile.py`` delivers them there, ``cursors.py`` coalesces cursors)."""

from __future__ import annotations

from typing import Any

from server.broker.base import Broker
from server.hub.connection import Connection
from server.hub.replica import SessionReplica
from server.hub.volatile import CURSOR_ENVELOPE, VolatileEnvelope
from server.ids import RELAY_ID
from server.protocol.classroom import Reaction
from server.protocol.peer import Cursor, Signal, Typing
from server.rooms.board.access import check_may_point
from server.rooms.chat import typing_notice
from server.rooms.reactions import reaction_notice
from server.signaling.relay import relay_signal

# How long a worker keeps running a session's relay without refreshing its claim (it refreshes
# every third of it); after a worker died, the next signal to the relay elects another.
RELAY_CLAIM_MS = 6_000


class PeerRelay:
    def __init__(
        self, broker: Broker, replicas: dict[str, SessionReplica], worker_id: str = ""
    ) -> None:
        self._broker = broker
        self._replicas = replicas  # the hub's: a joined connection's replica is loaded
        self._worker_id = worker_id

    async def relay(self, connection: Connection, message: Signal | Typing | Reaction) -> None:
        """A signal to one participant, or a typing hint or a reaction to the session (not
        logged)."""
        replica = self._replicas[connection.session_id]
        actor = connection.actor
        assert actor is not None
        if isinstance(message, Signal):
            to, relayed = relay_signal(replica.state, actor, message)
            envelope = VolatileEnvelope(actor.participant_id, to, relayed.to_wire())
            if to == RELAY_ID:  # only the worker elected to run the session's relay takes it
                owner = await self._broker.claim_relay(
                    replica.session_id, self._worker_id, RELAY_CLAIM_MS
                )
                envelope = VolatileEnvelope(actor.participant_id, to, relayed.to_wire(), owner)
        else:
            notice = (
                reaction_notice(actor, message.emoji)
                if isinstance(message, Reaction)
                else typing_notice(actor)
            )
            envelope = VolatileEnvelope(actor.participant_id, None, notice.to_wire())
        await self._broker.publish(replica.session_id, envelope.to_bytes())

    def cursor_position(self, connection: Connection, cursor: Cursor) -> dict[str, Any]:
        """A checked cursor position, ready for ``publish_cursor`` (which may come later)."""
        replica = self._replicas[connection.session_id]
        assert connection.actor is not None
        board = replica.state.boards.get(cursor.board)
        check_may_point(board, connection.actor, cursor.x, cursor.y)
        return {"board": cursor.board, "x": cursor.x, "y": cursor.y}

    async def publish_cursor(self, connection: Connection, position: dict[str, Any]) -> None:
        assert connection.actor is not None
        message = {"type": CURSOR_ENVELOPE, **position}
        envelope = VolatileEnvelope(connection.actor.participant_id, None, message)
        await self._broker.publish(connection.session_id, envelope.to_bytes())
