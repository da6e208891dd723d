"""The lobby on one worker: the connections of this worker that wait to enter a session.

A waiting connection is joined to nothing: it is kept here, not among the replica's
connections, so no event, chat or volatile message of the session reaches it. The rules of
who waits are in server/rooms/lobby.py; what changes a waiter's fate is always an event in the
log (a teacher's admission or denial on any worker, a teacher of their class arriving, the
policy changing), so after every event applied here the waiters of that session are reviewed:

- denied after they started waiting: closed with 4014 ``lobby_denied``;
- no longer required to wait: the join completes here (``participant.joined``, a welcome with
  the snapshot), as if it had just arrived; an admission by the policy is logged first;
- missing from the state's lobby (a tab of theirs on another worker left): announced again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from server.errors import ClassbridgeError, WaitingInLobby
from server.hub.connection import Connection
from server.hub.replica import SessionReplica
from server.protocol.closecodes import CloseCode
from server.protocol.lobby import LobbyWait
from server.protocol.messages import ClientMessage, Join, Leave, Ping, ResumePoint
from server.rooms.actor import Actor
from server.rooms.lobby import (
    admitted_by_policy_event,
    left_lobby_event,
    must_wait,
    waiting_event,
)

if TYPE_CHECKING:
    from server.hub.hub import SessionHub

log = logging.getLogger(__name__)

# What a waiting connection may still send: everything else is refused with ``in_lobby``.
_ALLOWED_WHILE_WAITING = (Ping, Leave, Join)


class Status(Enum):
    ANNOUNCING = "announcing"  # its lobby.waiting is on its way to the log
    WAITING = "waiting"
    ENTERING = "entering"  # the join completes
    CLOSED = "closed"  # denied, or the session ended: the gateway closes it


@dataclass(slots=True, eq=False)
class Waiter:
    replica: SessionReplica
    connection: Connection
    actor: Actor
    resume: ResumePoint | None
    request_id: str | int | None
    status: Status = Status.ANNOUNCING
    since: int = 0  # the seq of its lobby.waiting: denials after it concern it
    gone: bool = False  # the connection closed while a task worked on it


class LobbyKeeper:
    def __init__(self, hub: SessionHub) -> None:
        self.hub = hub
        self._waiters: dict[str, dict[int, Waiter]] = {}  # session id -> connection id -> waiter

    def is_waiting(self, connection: Connection) -> bool:
        return connection.id in self._waiters.get(connection.session_id, {})

    def check_may_act(self, connection: Connection, message: ClientMessage) -> None:
        if not isinstance(message, _ALLOWED_WHILE_WAITING) and self.is_waiting(connection):
            raise WaitingInLobby("you are waiting in the lobby for a teacher to let you in")

    # --- joining and leaving -------------------------------------------------------------------

    async def hold(
        self,
        replica: SessionReplica,
        connection: Connection,
        actor: Actor,
        resume: ResumePoint | None,
        request_id: str | int | None,
    ) -> bool:
        """Put a joining connection in the lobby if it must wait; False when it may enter."""
        if not must_wait(replica.state, actor):
            return False
        await self._check_admission(replica, actor)
        waiter = Waiter(replica, connection, actor, resume, request_id)
        self._waiters.setdefault(replica.session_id, {})[connection.id] = waiter
        replica.pins += 1  # the replica stays loaded while someone waits for it
        try:
            seq = await self.hub._append(replica, waiting_event(actor, self.hub.now_ms()))
            waiter.since = _since(seq, replica)
        except BaseException:
            self._forget(waiter)
            raise
        policy = replica.state.settings.lobby
        connection.send_message(LobbyWait(actor.to_wire(), policy, request_id).to_wire())
        waiter.status = Status.WAITING
        self.review(replica)  # a teacher may have arrived meanwhile
        return True

    async def _check_admission(self, replica: SessionReplica, actor: Actor) -> None:
        """The join rate and connection cap count waiting connections too: joining and
        leaving the lobby in a loop would otherwise flood the teachers' log."""
        pid = actor.participant_id
        held = await self.hub.broker.count_connections(replica.session_id, pid)
        held += sum(1 for w in self._of(replica) if w.actor.participant_id == pid)
        replica.admission.admit(held, pid, asyncio.get_running_loop().time())

    async def release(self, connection: Connection, reason: str) -> bool:
        """A connection closes or leaves: True when it was in the lobby (then nothing else of
        the session knows it). Its participant leaves the lobby when it was their last."""
        waiter = self._waiters.get(connection.session_id, {}).get(connection.id)
        if waiter is None:
            return False
        if waiter.status in (Status.ANNOUNCING, Status.ENTERING):
            waiter.gone = True  # the task at work on it finishes the release
            return True
        self._forget(waiter)
        if waiter.status is Status.WAITING:
            await self._log_left(waiter, reason)
        return True

    async def _log_left(self, waiter: Waiter, reason: str) -> None:
        replica, pid = waiter.replica, waiter.actor.participant_id
        if any(w.actor.participant_id == pid for w in self._of(replica)):
            return  # another tab of theirs still waits here
        if pid not in replica.state.lobby.waiting:
            return
        try:
            await self.hub._append(replica, left_lobby_event(pid, reason, self.hub.now_ms()))
        except Exception:  # the broker is away: the entry stays until they come back
            log.warning("lobby leave not logged (session=%s)", replica.session_id)

    # --- after each event ----------------------------------------------------------------------

    def review(self, replica: SessionReplica) -> None:
        """Called after every event this replica applies: act on what changed for its waiters."""
        for waiter in list(self._of(replica)):
            if waiter.status is Status.WAITING:
                self._decide(waiter)

    def _decide(self, waiter: Waiter) -> None:
        state, pid = waiter.replica.state, waiter.actor.participant_id
        if state.moderation.ended:
            self._close(waiter, CloseCode.SESSION_ENDED, "session_ended")
        elif state.lobby.denied.get(pid, 0) > waiter.since:
            self._close(waiter, CloseCode.LOBBY_DENIED, "lobby_denied")
        elif not must_wait(state, waiter.actor):
            waiter.status = Status.ENTERING
            self.hub._spawn(self._enter(waiter))
        elif pid not in state.lobby.waiting:
            waiter.status = Status.ANNOUNCING
            self.hub._spawn(self._announce(waiter))

    def _close(self, waiter: Waiter, code: int, reason: str) -> None:
        waiter.status = Status.CLOSED  # forgotten when the gateway releases it
        waiter.connection.close(code, reason)

    async def _announce(self, waiter: Waiter) -> None:
        try:
            event = waiting_event(waiter.actor, self.hub.now_ms())
            waiter.since = _since(await self.hub._append(waiter.replica, event), waiter.replica)
        except Exception:
            # The broker is away: the client reconnects (with backoff) and waits again, rather
            # than this worker retrying in a loop.
            log.warning("lobby wait not logged (session=%s)", waiter.replica.session_id)
            self._close(waiter, CloseCode.INTERNAL_ERROR, "internal_error")
            if waiter.gone:
                self._forget(waiter)
            return
        waiter.status = Status.WAITING
        if waiter.gone:
            self._forget(waiter)
            await self._log_left(waiter, "disconnected")
        else:
            self.review(waiter.replica)

    async def _enter(self, waiter: Waiter) -> None:
        replica, actor, connection = waiter.replica, waiter.actor, waiter.connection
        pid = actor.participant_id
        stays = False
        try:
            if pid not in replica.state.lobby.admitted and not waiter.gone:
                # Let in by the policy (a teacher of their class arrived, the lobby opened):
                # logged, so they never wait again and teachers see why they entered.
                await self.hub._append(replica, admitted_by_policy_event(pid, self.hub.now_ms()))
                stays = not waiter.gone and self._turned_back(waiter)
            if not (waiter.gone or stays):
                await self.hub._admit(replica, connection, actor, waiter.resume, waiter.request_id)
        except ClassbridgeError as error:
            await self._fail(waiter, error.close_code or CloseCode.INTERNAL_ERROR, error.code)
        except Exception:
            log.exception("lobby entry failed (session=%s)", replica.session_id)
            await self._fail(waiter, CloseCode.INTERNAL_ERROR, "internal_error")
        finally:
            await self._after_entry(waiter, stays)

    async def _after_entry(self, waiter: Waiter, stays: bool) -> None:
        if stays and not waiter.gone:  # a denial reached the log first, or the policy changed
            waiter.status = Status.WAITING
            self._decide(waiter)
            return
        self._forget(waiter)
        if not waiter.gone:
            return
        if stays:
            await self._log_left(waiter, "disconnected")
        else:  # closed while the join completed: undo any presence it recorded
            await self.hub.presence_keeper.detach(waiter.connection)

    def _turned_back(self, waiter: Waiter) -> bool:
        state = waiter.replica.state
        denied = state.lobby.denied.get(waiter.actor.participant_id, 0) > waiter.since
        return denied or must_wait(state, waiter.actor)

    async def _fail(self, waiter: Waiter, code: int, reason: str) -> None:
        await self.hub.presence_keeper.detach(waiter.connection)
        waiter.connection.close(code, reason)

    # --- bookkeeping ---------------------------------------------------------------------------

    def _of(self, replica: SessionReplica) -> list[Waiter]:
        return list(self._waiters.get(replica.session_id, {}).values())

    def _forget(self, waiter: Waiter) -> None:
        replica = waiter.replica
        waiters = self._waiters.get(replica.session_id, {})
        if waiters.pop(waiter.connection.id, None) is None:
            return
        if not waiters:
            self._waiters.pop(replica.session_id, None)
        replica.pins -= 1
        self.hub._maybe_unload(replica)


def _since(seq: int | None, replica: SessionReplica) -> int:
    # Unknown only when the log was rebuilt under the append: the event is at or below the
    # replica's seq then, and the recovery closes the waiter's connection anyway (4009).
    return replica.state.seq if seq is None else seq
