"""The relay's two kinds of peer connection with one participant (see ``relay_session``).

- ``RelayPublisher``: the participant's ``pub`` connection. The participant offers with its
  tracks, the relay answers and keeps the tracks it receives. Each received track is drained
  through the session's ``MediaRelay`` at once, so frames never pile up in aiortc's unbounded
  receive queue while nobody subscribes.
- ``RelaySubscriber``: a ``sub-N`` connection the relay offers, sending a ``MediaRelay``
  proxy of every other publisher's tracks. Each proxy is encoded on its own (aiortc decodes
  every received stream once and encodes it once per subscriber). The stream id of each track
  in the SDP (``a=msid``) is the publisher's participant id and the track id is
  ``<publisher>-<kind>``, so a browser finds the publisher in ``event.streams[0].id``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiortc import RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from server.cancelling import cancel_and_wait
from server.media.link import (
    close_peer_connection,
    new_peer_connection,
    parse_candidate,
    prefer_vp8,
)

RECEIVING = ("recvonly", "sendrecv")  # the relay's side of a transceiver that brings media


class _RelayPeer:
    def __init__(self, participant: str, name: str) -> None:
        self.participant, self.name = participant, name
        self.pc = new_peer_connection()
        self.created_at = asyncio.get_running_loop().time()

    @property
    def state(self) -> str:
        return self.pc.connectionState

    def _local_description(self) -> dict[str, str]:
        description = self.pc.localDescription
        return {"type": description.type, "sdp": description.sdp}

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        parsed = parse_candidate(candidate)
        if parsed is not None:
            await self.pc.addIceCandidate(parsed)

    async def close(self) -> None:
        await close_peer_connection(self.pc)


class RelayPublisher(_RelayPeer):
    def __init__(self, participant: str, name: str, media: MediaRelay) -> None:
        super().__init__(participant, name)
        self.tracks: list[MediaStreamTrack] = []
        self._media = media
        self._drains: list[asyncio.Task[None]] = []
        self._drain_proxies: list[MediaStreamTrack] = []

    async def answer(self, offer: dict[str, Any]) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        for transceiver in self.pc.getTransceivers():
            track = transceiver.receiver.track
            if transceiver.currentDirection in RECEIVING and track is not None:
                self.tracks.append(track)
                proxy = self._media.subscribe(track, buffered=False)
                self._drain_proxies.append(proxy)
                self._drains.append(asyncio.create_task(_drain(proxy)))
        return self._local_description()

    async def close(self) -> None:
        await cancel_and_wait(*self._drains)
        for proxy in self._drain_proxies:
            proxy.stop()
        await close_peer_connection(self.pc)  # ends the received tracks, and so every proxy of them


async def _drain(proxy: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await proxy.recv()


class RelaySubscriber(_RelayPeer):
    def __init__(
        self,
        participant: str,
        name: str,
        media: MediaRelay,
        sources: list[tuple[str, MediaStreamTrack]],
    ) -> None:
        super().__init__(participant, name)
        self.sources = source_key(sources)
        self._proxies: list[MediaStreamTrack] = []
        for publisher, track in sources:
            proxy = media.subscribe(track, buffered=False)
            self._proxies.append(proxy)
            sender = self.pc.addTransceiver(proxy, direction="sendonly").sender
            # aiortc names the msid after one random stream per connection; name it instead.
            sender._stream_id = publisher
            sender._track_id = f"{publisher}-{track.kind}"
        prefer_vp8(self.pc)

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._local_description()

    async def accept(self, answer: dict[str, Any]) -> None:
        if self.pc.signalingState == "have-local-offer":
            await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def close(self) -> None:
        await close_peer_connection(self.pc)
        for proxy in self._proxies:
            proxy.stop()


def source_key(sources: list[tuple[str, MediaStreamTrack]]) -> tuple[tuple[str, str], ...]:
    """What a subscriber connection carries, to tell when it needs a new offer."""
    return tuple(sorted((publisher, track.id) for publisher, track in sources))
