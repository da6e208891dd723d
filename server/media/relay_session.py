"""The media relay of one session on the worker elected to run it (``relay_service``).

Per participant, at most one publish and one subscribe peer connection:

- ``pub``: the participant offers (with its camera and microphone, or receive-only to just
  watch); the relay answers. A new offer on ``pub`` replaces the connection.
- ``sub-N``: the relay offers the tracks of every other publisher; the participant answers.
  When the publishers change, the relay offers a new ``sub-N`` (N counts up) carrying the new
  set and closes the old one: aiortc has no rollback and cannot take tracks out of a
  connection, so a fresh connection is the renegotiation that always works. Only
  participants with a ``pub`` connection are subscribed.

Offers therefore never collide: the client offers on ``pub``, the relay on ``sub-N``.

Messages are handled one at a time from an inbox; every ``WATCH_INTERVAL`` a watchdog
refreshes the claim, drops the connections of participants who left (or whose connection
failed or never connected), offers subscriptions where the publishers changed, and stops
the relay when the topology is no longer ``relay``, the claim went to another worker, or
nobody has used the relay for ``IDLE_STOP`` seconds.

The watchdog also keeps the session's recorder (server/media/recorder.py) in step with the
recording state, when this worker has a recordings folder: the relay is where the media is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from server.broker.base import Broker
from server.cancelling import cancel_and_wait
from server.hub.peers import RELAY_CLAIM_MS
from server.hub.replica import SessionReplica
from server.hub.volatile import VolatileEnvelope
from server.ids import RELAY_ID
from server.media.recorder import SessionRecorder
from server.media.relay_peers import RelayPublisher, RelaySubscriber, source_key
from server.protocol.peer import PeerSignal
from server.rooms.moderation import muted_kinds
from server.rooms.state import present_publishers
from server.signaling.relay import RELAY_PUBLISH_PC, RELAY_SUBSCRIBE_PREFIX

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5  # seconds
NEGOTIATION_TIMEOUT = 10.0  # a connection not up by then is dropped (pub) or offered again (sub)
IDLE_STOP = 10.0  # seconds without any peer connection before the relay stops
INBOX_LIMIT = 256  # signals waiting to be handled; beyond that they are dropped (not stored)
GONE = ("failed", "closed")


class SessionRelay:
    def __init__(
        self,
        replica: SessionReplica,
        broker: Broker,
        worker_id: str,
        on_done: Callable[[SessionRelay], None],
        recordings: tuple[Path, Callable[[], int]] | None = None,
    ) -> None:
        self.replica, self._broker, self._worker_id = replica, broker, worker_id
        self.session_id = replica.session_id
        self.media = MediaRelay()
        self.recorder = None
        if recordings is not None:
            folder, now_ms = recordings
            self.recorder = SessionRecorder(folder, self.session_id, self.media, now_ms)
        self.publishers: dict[str, RelayPublisher] = {}
        self.subscribers: dict[str, RelaySubscriber] = {}
        self._on_done = on_done
        self._inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(INBOX_LIMIT)
        self._sub_numbers = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()
        self._idle_since = self._loop.time()
        self._claimed_at = self._loop.time()  # the signal that started us claimed it just now
        self._done = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def receive(self, sender: str, message: dict[str, Any]) -> None:
        try:
            self._inbox.put_nowait((sender, message))
        except asyncio.QueueFull:
            log.warning("relay inbox full; signal dropped (session=%s)", self.session_id)

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)

    # --- the loop ------------------------------------------------------------------------------

    async def _run(self) -> None:
        next_watch = self._loop.time() + WATCH_INTERVAL
        try:
            while True:
                wait = max(0.0, next_watch - self._loop.time())
                try:
                    sender, message = await asyncio.wait_for(self._inbox.get(), wait)
                except TimeoutError:
                    pass
                else:
                    await self._handle_safely(sender, message)
                if self._loop.time() >= next_watch:
                    next_watch = self._loop.time() + WATCH_INTERVAL
                    if not await self._watch():
                        return
        finally:
            await self._shut_down()

    async def _handle_safely(self, sender: str, message: dict[str, Any]) -> None:
        try:
            await self._handle(sender, PeerSignal.parse(message))
        except Exception:  # one bad offer must not stop the session's relay
            log.exception("relay: signal from %s failed (session=%s)", sender, self.session_id)

    async def _shut_down(self) -> None:
        if self._done:
            return
        self._done = True
        if self.recorder is not None:
            await self.recorder.close()  # before the tracks end, so each file is finished
        for peer in [*self.subscribers.values(), *self.publishers.values()]:
            with contextlib.suppress(Exception):
                await peer.close()
        self.subscribers.clear()
        self.publishers.clear()
        self._on_done(self)

    # --- signals -------------------------------------------------------------------------------

    async def _handle(self, sender: str, signal: PeerSignal) -> None:
        description, candidate = signal.description, signal.candidate
        if signal.pc == RELAY_PUBLISH_PC:
            publisher = self.publishers.get(sender)
            if description is not None and description["type"] == "offer":
                await self._publish(sender, description)
            elif candidate is not None and publisher is not None:
                await publisher.add_candidate(candidate)
        elif signal.pc.startswith(RELAY_SUBSCRIBE_PREFIX):
            subscriber = self.subscribers.get(sender)
            if subscriber is None or subscriber.name != signal.pc:
                return  # an answer to an offer replaced since
            if description is not None and description["type"] == "answer":
                await subscriber.accept(description)
            elif candidate is not None:
                await subscriber.add_candidate(candidate)

    async def _publish(self, sender: str, offer: dict[str, Any]) -> None:
        await self._drop(sender)  # a new offer on pub replaces the connection
        publisher = RelayPublisher(sender, RELAY_PUBLISH_PC, self.media)
        self.publishers[sender] = publisher
        await self._send(sender, RELAY_PUBLISH_PC, await publisher.answer(offer))

    async def _send(self, to: str, pc: str, description: dict[str, str]) -> None:
        message = PeerSignal(sender=RELAY_ID, pc=pc, description=description).to_wire()
        envelope = VolatileEnvelope(RELAY_ID, to, message)
        await self._broker.publish(self.session_id, envelope.to_bytes())

    async def _drop(self, participant: str) -> None:
        """Close the participant's connections (its tracks leave the others' next offers)."""
        if self.recorder is not None:
            await self.recorder.stop(participant)
        for peers in (self.subscribers, self.publishers):
            peer = peers.pop(participant, None)
            if peer is not None:
                await peer.close()

    # --- the watchdog --------------------------------------------------------------------------

    async def _watch(self) -> bool:
        """One round of housekeeping; False when the relay should stop."""
        if not await self._still_ours() or self.replica.state.media.topology != "relay":
            return False
        now = self._loop.time()
        present = set(present_publishers(self.replica.state))
        for participant, publisher in list(self.publishers.items()):
            if participant not in present or _stale(publisher.state, publisher.created_at, now):
                await self._drop(participant)  # the client offers again if it is still here
        await self._update_subscriptions(now)
        if self.recorder is not None:
            await self.recorder.update(self.replica.state, self.publishers)
        if self.publishers:
            self._idle_since = now
        return now - self._idle_since < IDLE_STOP

    async def _still_ours(self) -> bool:
        now = self._loop.time()
        if now - self._claimed_at < RELAY_CLAIM_MS / 3000:
            return True
        try:
            holder = await self._broker.claim_relay(
                self.session_id, self._worker_id, RELAY_CLAIM_MS
            )
        except Exception:  # the broker is away: keep relaying what is connected, ask again later
            log.warning("relay claim not refreshed (session=%s)", self.session_id)
            return True
        self._claimed_at = now
        if holder != self._worker_id:
            log.warning("relay of session %s moved to worker %s", self.session_id, holder)
        return holder == self._worker_id

    async def _update_subscriptions(self, now: float) -> None:
        for participant in sorted(self.publishers):
            sources = self._sources_for(participant)
            current = self.subscribers.get(participant)
            stale = current is not None and _stale(current.state, current.created_at, now)
            if current is not None and current.sources == source_key(sources) and not stale:
                continue
            if current is not None:
                del self.subscribers[participant]
                await current.close()
            if sources:
                await self._subscribe(participant, sources)
        for participant in [p for p in self.subscribers if p not in self.publishers]:
            await self.subscribers.pop(participant).close()

    def _sources_for(self, participant: str) -> list[tuple[str, MediaStreamTrack]]:
        return [
            (publisher, track)
            for publisher, peer in sorted(self.publishers.items())
            if publisher != participant
            for track in peer.tracks
            # A publisher asked to mute a kind: the relay stops forwarding it (protocol §24).
            if track.readyState == "live"
            and track.kind not in muted_kinds(self.replica.state, publisher)
        ]

    async def _subscribe(
        self, participant: str, sources: list[tuple[str, MediaStreamTrack]]
    ) -> None:
        name = f"{RELAY_SUBSCRIBE_PREFIX}{next(self._sub_numbers)}"
        subscriber = RelaySubscriber(participant, name, self.media, sources)
        self.subscribers[participant] = subscriber
        await self._send(participant, name, await subscriber.offer())


def _stale(state: str, created_at: float, now: float) -> bool:
    """Failed, closed, or still not connected after ``NEGOTIATION_TIMEOUT``."""
    return state in GONE or (state != "connected" and now - created_at > NEGOTIATION_TIMEOUT)
