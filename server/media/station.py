"""The synthetic class station: a class's computer with a camera, played by the server side.

It joins a session with a station token through the normal protocol (``ClassbridgeClient``),
and holds one WebRTC peer connection (a ``PeerLink``) with every other present participant
whose role uses media (hosts, teachers, stations), publishing a counter video and a tone and
counting what comes back. Tests and load tests use it as "a class on the call".

Who offers: of two participants, the one with the lower participant id. Both sides know both
ids, so exactly one of them offers and offers never collide; that matters because aiortc has no
rollback. The offerer names the connection (``pc``), the answerer answers with the same name;
a new offer under a new name from the same remote replaces the old connection.

When: at start for everyone present, on ``participant.joined`` for a newcomer, on its own
``participant.joined`` after a reconnect that came too late (the others dropped their side when
it was logged as left), and from a watchdog for a connection that failed or did not connect in
``negotiation_timeout`` (a signal can be lost: they are not stored). ``participant.left`` closes
the connection. A WebSocket that breaks is reconnected with a resume; peer connections do not
depend on the WebSocket and are kept.

Relay mode: while the session's topology (the snapshot's ``session.media.topology``, then
``media.topology`` events) is ``relay``, the station has no peer links. It offers one ``pub``
connection to the server's relay (participant id ``relay``) with its tracks, or receive-only
when ``publish`` is False (a station that only watches), and answers the relay's ``sub-N``
offers, each replacing the one before; what arrives there is counted per publisher. When
the topology falls back, the relay connections close and the peer links are built again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.exceptions import WebSocketException

from server.cancelling import cancel_and_wait
from server.client import ClassbridgeClient, ClientError
from server.ids import RELAY_ID
from server.media.link import PeerLink
from server.media.received import ReceivedMedia
from server.media.roster import MediaRoster, uses_media
from server.media.video import DEFAULT_VIDEO, VideoFormat
from server.protocol.codec import WireFormat
from server.protocol.messages import EventMessage, Welcome
from server.protocol.peer import PeerSignal

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.5  # seconds between checks of the WebSocket and of the peer connections
SEND_ATTEMPTS = 5  # a newcomer may not be reachable for signals the instant its join is logged
RETRY_DELAY = 0.2
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


class SyntheticStation:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        video: VideoFormat = DEFAULT_VIDEO,
        wire_format: WireFormat = WireFormat.MSGPACK,
        timeout: float = 10.0,
        negotiation_timeout: float = 10.0,
        publish: bool = True,
    ) -> None:
        self.client = ClassbridgeClient(url, token, wire_format, timeout=timeout)
        self.video = video
        self.publish = publish  # False: send nothing to the relay, only watch
        self.topology = "none"
        self.relay_pub: PeerLink | None = None
        self.relay_sub: PeerLink | None = None
        self.negotiation_timeout = negotiation_timeout
        self.links: dict[str, PeerLink] = {}  # by remote participant id
        self.roster = MediaRoster("")
        self.reconnects = 0
        self._joined_at = 0.0  # when the current WebSocket joined, on the loop's clock
        self._pc_numbers = itertools.count(1)
        self._lock = asyncio.Lock()  # one change to the links at a time
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def participant_id(self) -> str:
        return self.roster.me

    def received(self) -> dict[str, ReceivedMedia]:
        """By remote publisher: from its peer link, or through the relay."""
        received = {remote: link.received for remote, link in self.links.items()}
        if self.relay_sub is not None:
            received.update(self.relay_sub.by_source)
        return received

    def states(self) -> dict[str, str]:
        return {remote: link.state for remote, link in self.links.items()}

    def relay_states(self) -> dict[str, str]:
        """The relay connections' states, by ``pc`` name."""
        links = (self.relay_pub, self.relay_sub)
        return {link.pc_name: link.state for link in links if link is not None}

    # --- lifetime ------------------------------------------------------------------------------

    async def start(self) -> None:
        welcome = await self.client.connect(resume=False)
        if not uses_media(welcome.participant["role"]):
            await self.client.close()
            raise ValueError(f"a {welcome.participant['role']} token does not take part in video")
        self.roster = MediaRoster(welcome.participant["id"])
        async with self._lock:
            await self._take_snapshot(welcome)
        self._tasks = [
            asyncio.create_task(self._follow(self._next_event, self._on_event)),
            asyncio.create_task(self._follow(self._next_signal, self._on_signal)),
            asyncio.create_task(self._watch()),
        ]

    async def close(self) -> None:
        """Leave the session and close every peer connection."""
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        async with self._lock:
            for remote in list(self.links):
                await self._drop_link(remote)
            await self._drop_relay()
        with contextlib.suppress(ConnectionError, WebSocketException, AssertionError):
            await self.client.send_raw({"type": "leave"})  # the others drop their side now
        await self.client.close()

    async def _follow(
        self, receive: Callable[[], Awaitable[Any]], handle: Callable[[Any], Awaitable[None]]
    ) -> None:
        while True:
            item = await receive()
            async with self._lock:
                try:
                    await handle(item)
                except Exception:  # one bad message must not stop the station
                    log.exception("synthetic station %s: handling %r failed", self.roster.me, item)

    async def _next_event(self) -> EventMessage:
        return await self.client.events.get()

    async def _next_signal(self) -> Any:
        return await self.client.peer_messages.get()

    # --- the session ---------------------------------------------------------------------------

    async def _take_snapshot(self, welcome: Welcome) -> None:
        if welcome.session is not None:
            self.roster.reset(welcome.session)
            self.topology = welcome.session.get("media", {}).get("topology", "none")
        await self._check_links()

    async def _on_event(self, event: EventMessage) -> None:
        if event.kind == "media.topology":
            await self._on_topology(event.data)
        elif event.kind == "participant.joined":
            participant = event.data["participant"]
            if participant["id"] == self.roster.me:
                await self._rejoined()
            elif self.roster.joined(participant) and not self.relayed:
                remote = participant["id"]
                if self._offers_to(remote) and not self._connected(remote):
                    await self._offer_to(remote)
        elif event.kind == "participant.left":
            remote = event.data["participant_id"]
            if self.roster.left(remote):
                await self._drop_link(remote)
        elif event.kind == "media.granted" and self.roster.granted(
            event.data["participant_id"], bool(event.data["on"])
        ):
            await self._check_links()

    async def _rejoined(self) -> None:
        """Logged as joined again: the others closed their side when we were logged as left."""
        if self.relayed:
            pub = self.relay_pub
            if pub is None or pub.created_at < self._joined_at:
                await self._offer_relay()
            return
        for remote in sorted(self.roster.present):
            link = self.links.get(remote)
            if self._offers_to(remote) and (link is None or link.created_at < self._joined_at):
                await self._offer_to(remote)

    # --- signaling -----------------------------------------------------------------------------

    def _offers_to(self, remote: str) -> bool:
        return self.roster.me < remote

    def _connected(self, remote: str) -> bool:
        link = self.links.get(remote)
        return link is not None and link.state == "connected"

    async def _offer_to(self, remote: str) -> None:
        await self._drop_link(remote)
        link = PeerLink(remote, f"syn-{next(self._pc_numbers)}", offerer=True, video=self.video)
        self.links[remote] = link
        await self._send(remote, link.pc_name, await link.offer())

    async def _on_signal(self, message: Any) -> None:
        if not isinstance(message, PeerSignal):
            return  # typing hints, cursors
        if message.sender == RELAY_ID:
            await self._on_relay_signal(message)
            return
        if self.relayed:
            return  # a late offer from the mesh: the relay carries the video now
        link = self.links.get(message.sender)
        ours = link is not None and link.pc_name == message.pc
        if message.description is not None and message.description["type"] == "offer":
            await self._answer(message)
        elif message.description is not None and ours and link is not None:
            if message.description["type"] == "answer":
                await link.accept_answer(message.description)
        elif message.candidate is not None and ours and link is not None:
            await link.add_candidate(message.candidate)

    async def _answer(self, offer: PeerSignal) -> None:
        assert offer.description is not None
        await self._drop_link(offer.sender)
        self.roster.heard_from(offer.sender)
        link = PeerLink(offer.sender, offer.pc, offerer=False, video=self.video)
        self.links[offer.sender] = link
        await self._send(offer.sender, offer.pc, await link.answer(offer.description))

    async def _send(self, remote: str, pc: str, description: dict[str, str]) -> None:
        for attempt in range(SEND_ATTEMPTS):
            try:
                await self.client.signal(remote, pc, description=description)
                return
            except ClientError as error:
                if error.code != "participant_absent" or attempt == SEND_ATTEMPTS - 1:
                    log.warning("signal to %s refused: %s", remote, error)
                    return
            except (ConnectionError, TimeoutError, WebSocketException, AssertionError) as error:
                log.info("signal to %s not sent (%r); the watchdog will retry", remote, error)
                return
            await asyncio.sleep(RETRY_DELAY)

    async def _drop_link(self, remote: str) -> None:
        link = self.links.pop(remote, None)
        if link is not None:
            await link.close()

    # --- watchdog ------------------------------------------------------------------------------

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if self.client.close_code is not None:
                await self._reconnect()
            async with self._lock:
                await self._check_links()

    async def _check_links(self) -> None:
        """Close connections to those who left; (re)offer where this side offers and the
        connection is missing, failed, or still not up after ``negotiation_timeout``."""
        now = asyncio.get_running_loop().time()
        if self.relayed:
            for remote in list(self.links):
                await self._drop_link(remote)
            await self._check_relay(now)
            return
        await self._drop_relay()
        for remote in [r for r in self.links if r not in self.roster.present]:
            await self._drop_link(remote)
        for remote in sorted(self.roster.present):
            link = self.links.get(remote)
            stale = link is not None and (
                link.state in ("failed", "closed")
                or (link.state != "connected" and now - link.created_at > self.negotiation_timeout)
            )
            if stale and not self._offers_to(remote):
                await self._drop_link(remote)  # the other side will offer again
            elif self._offers_to(remote) and (link is None or stale):
                await self._offer_to(remote)

    async def _reconnect(self) -> None:
        """Join again with a resume; the peer connections stay as they are."""
        for delay in itertools.chain(RECONNECT_DELAYS, itertools.repeat(RECONNECT_DELAYS[-1])):
            try:
                welcome = await self.client.connect(resume=True)
            except (OSError, ConnectionError, TimeoutError, WebSocketException) as error:
                log.info("synthetic station %s: reconnect failed (%r)", self.roster.me, error)
                await asyncio.sleep(delay)
                continue
            self.reconnects += 1
            self._joined_at = asyncio.get_running_loop().time()
            if welcome.resume != "events":
                async with self._lock:
                    await self._take_snapshot(welcome)
            return

    # --- relay mode ----------------------------------------------------------------------------

    @property
    def relayed(self) -> bool:
        return self.topology == "relay"

    async def _on_topology(self, data: dict[str, Any]) -> None:
        """Apply a ``media.topology`` only if it was decided for the publishers present now
        (protocol.md, section 21); a raced one is followed by the right one."""
        present = sorted(self.roster.present | {self.roster.me})
        if sorted(data.get("publishers", [])) != present:
            log.debug("station %s: topology for other publishers ignored", self.roster.me)
            return
        self.topology = str(data.get("topology", "none"))
        await self._check_links()

    async def _check_relay(self, now: float) -> None:
        """(Re)offer ``pub`` when missing, failed or not up in time; drop a dead ``sub``
        (the relay offers a new one)."""
        pub = self.relay_pub
        if (
            pub is None
            or pub.state in ("failed", "closed")
            or (pub.state != "connected" and now - pub.created_at > self.negotiation_timeout)
        ):
            await self._offer_relay()
        sub = self.relay_sub
        if sub is not None and sub.state in ("failed", "closed"):
            self.relay_sub = None
            await sub.close()

    async def _offer_relay(self) -> None:
        if self.relay_pub is not None:
            await self.relay_pub.close()
        link = PeerLink(RELAY_ID, "pub", offerer=True, video=self.video, publish=self.publish)
        self.relay_pub = link
        await self._send(RELAY_ID, link.pc_name, await link.offer())

    async def _on_relay_signal(self, message: PeerSignal) -> None:
        description = message.description
        if description is None:
            return  # aiortc puts its candidates in the SDP
        pub = self.relay_pub
        if message.pc == "pub" and description["type"] == "answer" and pub is not None:
            await pub.accept_answer(description)
        elif description["type"] == "offer" and self.relayed:
            if self.relay_sub is not None:  # replaced by the relay's newer offer
                await self.relay_sub.close()
            link = PeerLink(RELAY_ID, message.pc, offerer=False, video=self.video, publish=False)
            self.relay_sub = link
            await self._send(RELAY_ID, message.pc, await link.answer(description))

    async def _drop_relay(self) -> None:
        for link in (self.relay_pub, self.relay_sub):
            if link is not None:
                await link.close()
        self.relay_pub = self.relay_sub = None
