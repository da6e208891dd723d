"""The session hub of one worker: loads replicas, attaches connections, runs commands, presence.

All I/O with the broker goes through here; the rules live in server/rooms.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
import zlib
from collections.abc import Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgpack

from server import metrics
from server.broker.base import Broker, HistoryGone, LogPosition, StoredSnapshot
from server.errors import ClassbridgeError, Draining, SessionNotFound
from server.hub.connection import Connection
from server.hub.enforcement import enforce
from server.hub.lobby import LobbyKeeper
from server.hub.peers import PeerRelay
from server.hub.presence_keeper import PresenceKeeper
from server.hub.recording import RecordingKeeper
from server.hub.recovery import Recovery
from server.hub.replica import SessionReplica
from server.hub.resume import welcome_fresh, welcome_resumed
from server.hub.topology import TopologyKeeper
from server.hub.watch import heartbeat_and_sweep, watch_replicas
from server.media.relay_service import RelayService
from server.protocol.messages import ClientMessage, ResumePoint
from server.rooms.actor import Actor
from server.rooms.commands import CommandLimits, decide
from server.rooms.events import Event, EventKind, redacted_post
from server.rooms.identity import check_identity
from server.rooms.moderation import check_may_act, check_may_join
from server.rooms.polls import poll_follow_up
from server.rooms.presence import joined_event
from server.rooms.state import SessionState, load_state, pack_state
from server.settings import Limits
from server.signaling.ice import IceConfig, welcome_ice
from server.webhooks import Notices

log = logging.getLogger(__name__)


class SessionHub:
    def __init__(
        self,
        broker: Broker,
        limits: Limits,
        clock: Callable[[], float] = time.time,
        ice: IceConfig | None = None,
        recordings_dir: Path | None = None,
    ) -> None:
        self.broker = broker
        self.limits = limits
        self.ice = ice or IceConfig()
        self.recordings_dir = recordings_dir  # None: this worker does not record
        self.command_limits = CommandLimits(
            chat_max_chars=limits.chat_max_chars, recording=recordings_dir is not None
        )
        self._clock = clock
        self._replicas: dict[str, SessionReplica] = {}
        self._loading: dict[str, asyncio.Task[SessionReplica]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watcher: asyncio.Future[None] | None = None
        self._heart: asyncio.Future[None] | None = None
        # Names this worker's connections in the broker's records (connection ids are local).
        self.worker_id = secrets.token_hex(6)
        self.presence_keeper = PresenceKeeper(self)
        self.peers = PeerRelay(broker, self._replicas, self.worker_id)
        self.media_relay = RelayService(self)
        self.topology = TopologyKeeper(self)
        self.recording = RecordingKeeper(self)
        self.recovery = Recovery(self)
        self.lobby = LobbyKeeper(self)
        self.notices = Notices()  # the operator's webhook (server/webhooks); off by default
        self.draining = False  # set by server/drain.py: new joins are refused (close 1012)

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # --- replicas ------------------------------------------------------------------------------

    @asynccontextmanager
    async def pinned(self, session_id: str) -> Any:
        """A loaded replica that stays loaded while the block runs."""
        replica = await self._open(session_id)
        replica.pins += 1
        try:
            yield replica
        finally:
            replica.pins -= 1
            self._maybe_unload(replica)

    async def _open(self, session_id: str) -> SessionReplica:
        replica = self._replicas.get(session_id)
        if replica is not None:
            return replica
        task = self._loading.get(session_id)
        if task is None:
            task = asyncio.ensure_future(self._load(session_id))
            self._loading[session_id] = task
            task.add_done_callback(lambda _: self._loading.pop(session_id, None))
        return await asyncio.shield(task)

    async def _load(self, session_id: str) -> SessionReplica:
        disruptions = self.broker.disruptions(session_id)
        record = await self.broker.get_session(session_id)
        if record is None:
            raise SessionNotFound("no such session (it may have ended)")
        snapshot = await self.broker.load_snapshot(session_id)
        if snapshot is None:
            state, epoch = SessionState(), (await self.broker.position(session_id)).epoch
        else:
            state, epoch = load_state(msgpack.unpackb(snapshot.payload)), snapshot.epoch
        replica = SessionReplica(state, epoch, self.limits, session_id)
        # Loaded from the log as it is: nothing to check until the link is lost again.
        replica.checked_disruptions = disruptions
        replica.disruptions = functools.partial(self.broker.disruptions, session_id)
        replica.snapshot_offset = zlib.crc32(session_id.encode())
        replica.record = record  # kept to write it back should Redis lose it
        replica.on_applied = self._after_apply
        replica.on_gap = self._schedule_repair
        replica.on_foreign_epoch = self.recovery.schedule
        replica.on_relay_signal = self.media_relay.receive
        replica.on_event = self.notices.watching(enforce)
        replica.subscription = await self.broker.subscribe(
            session_id, replica.receive, replica.receive_volatile
        )
        try:
            await self._catch_up(session_id, replica)
            # The link to Redis lost while it loaded: what it read may be from before a restart,
            # and the events since were kept aside; a join must not be answered from a state
            # without them (it may not even hold the session's classes yet).
            await self.recovery.until_checked(replica)
        except BaseException:
            # Never registered, so never unloaded: it must not go on following the session.
            replica.on_foreign_epoch = replica.on_gap = None
            await replica.subscription.close()
            raise
        self._replicas[session_id] = replica
        metrics.SESSIONS.inc()
        if self._watcher is None:
            self._watcher = asyncio.ensure_future(
                watch_replicas(self._replicas, self.recovery.check, self.limits)
            )
        return replica

    async def _catch_up(self, session_id: str, replica: SessionReplica) -> None:
        missed = await self.broker.read_since(
            session_id, LogPosition(replica.state.seq, replica.epoch)
        )
        if isinstance(missed, HistoryGone):
            # Another epoch, or our seq is past the log's top: the broker lost history.
            await self.recovery.recover(replica)
            return
        for seq, payload in missed:
            replica.receive(seq, replica.epoch, payload)

    def _schedule_repair(self, replica: SessionReplica) -> None:
        self._spawn(self._catch_up(replica.session_id, replica))

    def _after_apply(self, replica: SessionReplica, seq: int) -> None:
        self.lobby.review(replica)  # an admission, a denial, a teacher arriving

    def _snapshot_due(self, replica: SessionReplica, seq: int) -> None:
        """Called by the worker that appended ``seq`` only: every worker that follows the
        session applies each event, and were each to snapshot too, a session spread over N
        workers would be packed N times and its snapshot (up to about 0.7 MB with a full
        transcript) written to the broker N times, all but one refused there as not newer.

        Should that worker stop before saving, the next snapshot comes ``snapshot_every``
        events later; ``history_size`` keeps at least twice that many events, so the
        previous snapshot is still followed by its events in the history meanwhile."""
        if (seq + replica.snapshot_offset) % self.limits.snapshot_every == 0:
            self._spawn(self._save_snapshot(replica))

    async def _save_snapshot(self, replica: SessionReplica) -> None:
        state = replica.state
        if state.seq <= replica.saved_seq or replica.recovering or not replica.checked:
            # An unchecked state may hold events the log lost: as the log's snapshot it would
            # bring them back into a history that has others at their seqs.
            return
        payload: bytes = pack_state(state)
        replica.saved_seq = state.seq
        snapshot = StoredSnapshot(seq=state.seq, epoch=replica.epoch, payload=payload)
        await self.broker.save_snapshot(replica.session_id, snapshot)

    def _maybe_unload(self, replica: SessionReplica) -> None:
        if replica.unused and self._replicas.get(replica.session_id) is replica:
            del self._replicas[replica.session_id]
            metrics.SESSIONS.dec()
            self._spawn(self._unload(replica))

    async def _unload(self, replica: SessionReplica) -> None:
        if replica.subscription is not None:
            await replica.subscription.close()
        await self._save_snapshot(replica)

    # --- connections ---------------------------------------------------------------------------

    async def attach(
        self,
        connection: Connection,
        session_id: str,
        actor: Actor,
        resume: ResumePoint | None,
        request_id: str | int | None,
    ) -> None:
        """Join ``connection`` to its session: presence, then the welcome and missed events.

        A join that fails half-way (the broker fails, or the connection is closed meanwhile)
        detaches again: presence must never keep a connection that is gone.
        """
        if self.draining:  # this worker is stopping: the client joins another one
            raise Draining("this server is shutting down; reconnect")
        async with self.pinned(session_id) as replica:
            check_identity(replica.state, actor)
            check_may_join(replica.state, actor)  # ended, barred, or locked to newcomers
            connection.session_id, connection.actor = session_id, actor
            if await self.lobby.hold(replica, connection, actor, resume, request_id):
                return  # it waits in the lobby; hub/lobby.py completes the join later
            try:
                await self._admit(replica, connection, actor, resume, request_id)
            except BaseException:
                await self.detach(connection)
                raise

    async def _admit(
        self,
        replica: SessionReplica,
        connection: Connection,
        actor: Actor,
        resume: ResumePoint | None,
        request_id: str | int | None,
    ) -> None:
        if resume is not None:  # never answer a resume from a history already lost
            await self.recovery.follow(replica)
        async with replica.presence_lock:
            now = asyncio.get_running_loop().time()
            # The cap counts this participant's connections on every worker, not just here.
            held = await self.broker.count_connections(replica.session_id, actor.participant_id)
            replica.admission.admit(held, actor.participant_id, now)
            replica.presence.connect(actor.participant_id, connection.id)
            await self.broker.add_connection(
                replica.session_id, self.presence_keeper.key(connection), actor.participant_id
            )
            # A removal with a bar, or the end, applied while this join awaited the broker
            # closed only the connections already in: refuse this one (before it logs a join).
            check_may_act(replica.state, actor)
            if not replica.state.is_present(actor.participant_id):
                await self._append(replica, joined_event(actor, self.now_ms()))
        # Again once the join is in the log (either may have come just before it). From here
        # to being listed below nothing awaits: a later one finds it (hub/enforcement.py).
        check_may_act(replica.state, actor)
        ice = welcome_ice(self.ice, replica.state, actor, self._clock())
        if resume is None:
            replica.connections[connection.id] = connection
            welcome_fresh(replica, connection, "none", request_id, ice, self.now_ms())
            return
        connection.hold()
        replica.connections[connection.id] = connection
        position = LogPosition(resume.seq, resume.epoch)
        missed = await self.broker.read_since(replica.session_id, position)
        if isinstance(missed, HistoryGone) or resume.epoch != replica.epoch:
            connection.held = None
            welcome_fresh(replica, connection, "snapshot", request_id, ice, self.now_ms())
        else:
            now = self.now_ms()
            welcome_resumed(replica, connection, resume.seq, missed, request_id, ice, now)

    async def detach(self, connection: Connection) -> None:
        if not await self.lobby.release(connection, "disconnected"):
            await self.presence_keeper.detach(connection)

    async def leave(self, connection: Connection) -> None:
        if not await self.lobby.release(connection, "left"):
            await self.presence_keeper.leave(connection)

    # --- commands ------------------------------------------------------------------------------

    def session_state(self, session_id: str) -> SessionState:
        """The replica's state of a session a connection of this worker has joined."""
        return self._replicas[session_id].state

    async def command(self, connection: Connection, message: ClientMessage) -> int:
        """Validate a command against the replica and append its events; returns the last seq."""
        replica = self._replicas[connection.session_id]
        assert connection.actor is not None
        # A command on its way as the end or the sender's bar was applied: never logged after.
        check_may_act(replica.state, connection.actor)
        try:
            events = decide(
                replica.state, connection.actor, message, self.now_ms(), self.command_limits
            )
        except ClassbridgeError as refusal:
            # Some refusals leave a trace every replica must apply (an undo step that can no
            # longer be undone is dropped): logged, then the sender gets the error anyway.
            follow_up: Event | None = getattr(refusal, "log_anyway", None)
            if follow_up is not None:
                await self._append(replica, follow_up)
            raise
        seq: int | None = 0
        for event in events:
            seq = await self._append(replica, event)
            if event.kind == EventKind.CHAT_DELETED:
                await self._forget_deleted_text(replica, event)
        if seq is None:
            # Logged, but where is unknown: an ack would name another event (or none).
            raise ClassbridgeError("internal error: the log was rebuilt; the outcome is unknown")
        return seq

    async def _forget_deleted_text(self, replica: SessionReplica, deletion: Event) -> None:
        """Done once, by the worker that decided the deletion: the post's text leaves the
        stored history, and a fresh snapshot replaces any that still held it."""
        message_id: int = deletion.data["message_id"]
        placeholder = redacted_post(message_id, deletion.ts)
        at = LogPosition(message_id, replica.epoch)
        await self.broker.replace(replica.session_id, at, placeholder.to_bytes())
        await self._save_snapshot(replica)

    async def _append(self, replica: SessionReplica, event: Event) -> int | None:
        """Append ``event`` and return its seq; None when the log was lost under it and its
        place in the rebuilt history is unknown (it is in it, or lost with the rest). Raises
        when it was not logged (``_append_after_replica``), as when Redis does not answer."""
        started = time.perf_counter()
        position = await self._append_after_replica(replica, event.to_bytes())
        metrics.count_appended(event.kind)
        if position.epoch == replica.epoch:
            seq = position.seq
            metrics.FANOUT_SECONDS.observe(await replica.wait_applied(seq) - started)
        else:
            # The log was lost and restarted under us: the recovery moves this event into the
            # rebuilt history, applies it here and closes this replica's connections. What
            # follows the event (a poll's totals, notices) follows it there.
            await self.recovery.recover(replica)
            moved = _seq_after_recovery(replica, position)
            if moved is None:
                return None
            seq = moved
            await replica.wait_applied(seq)
        self._snapshot_due(replica, seq)
        await self.topology.after(replica, event)
        await self.recording.after(replica, event)
        self.notices.appended(replica.state, seq, event)  # sent once: by this worker
        # A poll's new totals, counted on this replica once it applied the answer (polls.py).
        totals = poll_follow_up(replica.state, event, self.now_ms())
        if totals is not None:
            try:
                await self._append(replica, totals)
            except ClassbridgeError:  # the answer is logged: its ack must not say otherwise
                log.warning("poll totals not logged (session=%s)", replica.session_id)
        return seq

    async def _append_after_replica(self, replica: SessionReplica, payload: bytes) -> LogPosition:
        """The append, refused by the broker when the log is not the history this replica
        follows (``Broker.append``): Redis lost it, or came back short of its last writes.
        The recovery restores the log (from this replica, or adopts another's restore), then
        the event goes into the restored history if that starts at or above this replica's
        seq: no id the command was decided with can name another event there. Otherwise (a
        history restored from a replica that was behind, or refilled by one in the same
        epoch) it fails, logged nowhere, like an append Redis did not answer; its sender is
        reset (4009) with the rest and may send it again.

        After the broker lost its link to Redis (``Broker.disruptions``), the replica's history
        is checked against the log first: Redis may have restarted short of its last writes,
        and a replica that was behind may have appended over the lost seqs, which no append's
        ``after`` can tell. The same rule then says whether the command goes on."""
        if not replica.checked:
            known, state = LogPosition(replica.state.seq, replica.epoch), replica.state
            await self.recovery.until_checked(replica)
            changed = replica.state is not state or replica.epoch != known.epoch
            if changed and not _restored_above(replica, known):
                raise ClassbridgeError("internal error: the session's history was restored")
        for _ in range(2):
            known = LogPosition(replica.state.seq, replica.epoch)
            position = await self.broker.append(replica.session_id, payload, after=known)
            if position.epoch == known.epoch and position.seq > known.seq:
                return position
            log.warning(
                "session %s: the log (%s at %d) is not this replica's history (%s at %d); "
                "recovering",
                replica.session_id,
                position.epoch,
                position.seq,
                known.epoch,
                known.seq,
            )
            await self.recovery.recover(replica)
            if not _restored_above(replica, known):
                break
        raise ClassbridgeError("internal error: the session's history was restored; not done")

    # --- housekeeping --------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            metrics.note_failure(task.exception())
            log.error("hub task failed", exc_info=task.exception())

    def start(self) -> None:
        """Begin this worker's heartbeat (and its share of sweeping dead workers)."""
        self._heart = asyncio.ensure_future(
            heartbeat_and_sweep(
                self.broker, self.worker_id, self.presence_keeper.sweep, self.limits
            )
        )

    async def close(self) -> None:
        self.topology.close()
        await self.media_relay.close()
        if self._heart is not None:
            self._heart.cancel()
            await asyncio.gather(self._heart, return_exceptions=True)
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        for replica in self._replicas.values():
            if replica.presence_timer is not None:
                replica.presence_timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for replica in list(self._replicas.values()):
            try:
                await self._unload(replica)
            except Exception:  # the broker is away: the shutdown goes on without a snapshot
                log.warning("no snapshot saved at shutdown (session=%s)", replica.session_id)
        metrics.SESSIONS.dec(len(self._replicas))
        self._replicas.clear()


def _restored_above(replica: SessionReplica, known: LogPosition) -> bool:
    """Whether the replica now follows a history restored at or above ``known`` (where a
    command decided against ``known`` may still be made): not one refilled in the same epoch
    or written over (same epoch), not one restored from a replica that was behind this one."""
    restored = replica.restored_at
    return (
        restored is not None
        and replica.epoch != known.epoch
        and restored.epoch == replica.epoch
        and restored.seq >= known.seq
    )


def _seq_after_recovery(replica: SessionReplica, position: LogPosition) -> int | None:
    """Where an event appended in another epoch than the replica's stands once the replica
    recovered: the seq a client is told must name the event in the history that lasted (a
    poll's id and a post's message id are its seq). None: this worker cannot say."""
    if position.epoch == replica.epoch:
        return position.seq  # appended to the history the replica now follows
    moved = replica.moved
    # Only what moved into the epoch the replica now follows (a recovery that gave up leaves
    # the replica where it was, with no place to name).
    if moved is not None and moved.to_epoch == replica.epoch:
        seq = moved.moved(position)
        if seq is not None:
            return seq
    log.warning("session %s: an append's place after recovery is unknown", replica.session_id)
    return None
