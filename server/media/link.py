"""One WebRTC peer connection from the synthetic station to one remote participant.

The link publishes its own tracks (the counter video, the tone) and consumes whatever the
remote sends, counting it in ``received``. It speaks in plain description and candidate maps,
the shapes of the protocol's ``signal``; who offers, and when, is the station's business.

No ICE servers are configured: aiortc would otherwise use a public STUN server and gather for
seconds. Host candidates do for peers that can reach each other directly (tests, load tests on
one network). aiortc does not trickle: after ``setLocalDescription`` its candidates are in the
SDP, so a link never has candidates of its own to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

from server.cancelling import cancel_and_wait
from server.ids import RELAY_ID
from server.media.audio import ToneAudioTrack
from server.media.pattern import read_counter
from server.media.received import ReceivedMedia
from server.media.video import CounterVideoTrack, VideoFormat

log = logging.getLogger(__name__)

VIDEO_CODECS = ("video/VP8", "video/rtx")  # the pattern is made to survive VP8


def new_peer_connection() -> RTCPeerConnection:
    """No ICE servers (see above), one transport for everything."""
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


async def close_peer_connection(pc: RTCPeerConnection) -> None:
    """``pc.close()``, which a cancellation of the caller does not break.

    aiortc closes a connection itself once the remote end is gone, in a task of its own; a
    second ``close()`` then waits on that first one's future. Cancelling the second (a station
    or a session shutting down) would cancel that shared future, and aiortc's own task then
    fails with InvalidStateError, logged as a task exception nobody retrieved. Shielded, only
    this wait is cancelled and the close finishes.
    """
    await asyncio.shield(pc.close())


def prefer_vp8(pc: RTCPeerConnection) -> None:
    codecs = [
        codec
        for codec in RTCRtpSender.getCapabilities("video").codecs
        if codec.mimeType in VIDEO_CODECS
    ]
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            transceiver.setCodecPreferences(codecs)


def parse_candidate(candidate: dict[str, Any]) -> RTCIceCandidate | None:
    """A trickled candidate from a remote that trickles (a browser); None for the "" that
    ends them (aiortc needs no end-of-candidates mark)."""
    line = str(candidate.get("candidate", ""))
    if not line:
        return None
    parsed = candidate_from_sdp(line.removeprefix("candidate:"))
    parsed.sdpMid = candidate.get("sdpMid")
    parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
    return parsed


def relayed_source(track: MediaStreamTrack) -> str:
    """The publisher of a track the relay forwards: its track id is ``<publisher>-<kind>``."""
    return track.id.rpartition("-")[0]


class PeerLink:
    """``publish=False`` sends nothing: with the relay (``remote == RELAY_ID``) a ``pub``
    link of a station that only watches offers receive-only transceivers, and a ``sub-N``
    link answers the relay's offer; what arrives there is counted per publisher."""

    def __init__(
        self,
        remote: str,
        pc_name: str,
        *,
        offerer: bool,
        video: VideoFormat,
        publish: bool = True,
    ) -> None:
        self.remote, self.pc_name, self.offerer = remote, pc_name, offerer
        self.received = ReceivedMedia()
        self.by_source: dict[str, ReceivedMedia] = {}  # relayed media, by publisher
        self.created_at = asyncio.get_running_loop().time()
        self.pc = new_peer_connection()
        self._tracks: list[MediaStreamTrack] = []
        if publish:
            self._tracks = [CounterVideoTrack(video), ToneAudioTrack()]
        self._attached = False
        if offerer:
            self._attach()
            if not publish:
                for kind in ("video", "audio"):
                    self.pc.addTransceiver(kind, direction="recvonly")
            prefer_vp8(self.pc)
        self._consumers: set[asyncio.Task[None]] = set()
        self.pc.on("track", self._on_track)

    @property
    def state(self) -> str:
        """The peer connection's state: new, connecting, connected, failed or closed."""
        return self.pc.connectionState

    # --- signaling -----------------------------------------------------------------------------

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._local_description()

    def _attach(self) -> None:
        if not self._attached:
            self._attached = True
            for track in self._tracks:
                self.pc.addTrack(track)

    async def answer(self, offer: dict[str, Any]) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        # Tracks only now, onto the offer's own m-lines: added before, aiortc 1.16 gathers no
        # candidates when the offer's order differs from ours (a browser offering audio first),
        # and neither side ever connects.
        if not self._attached:
            self._attach()
            prefer_vp8(self.pc)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self._local_description()

    async def accept_answer(self, answer: dict[str, Any]) -> None:
        if self.pc.signalingState != "have-local-offer":
            log.debug("answer from %s for %s ignored: no offer pending", self.remote, self.pc_name)
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        parsed = parse_candidate(candidate)
        if parsed is not None:
            await self.pc.addIceCandidate(parsed)

    def _local_description(self) -> dict[str, str]:
        description = self.pc.localDescription
        return {"type": description.type, "sdp": description.sdp}

    # --- media ---------------------------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        task = asyncio.create_task(self._consume(track))
        self._consumers.add(task)
        task.add_done_callback(self._consumers.discard)

    async def _consume(self, track: MediaStreamTrack) -> None:
        received = self.received
        if self.remote == RELAY_ID:
            received = self.by_source.setdefault(relayed_source(track), ReceivedMedia())
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    received.add_video(read_counter(frame))
                else:
                    received.add_audio()

    async def close(self) -> None:
        await cancel_and_wait(*self._consumers)
        await close_peer_connection(self.pc)
        for track in self._tracks:
            track.stop()
