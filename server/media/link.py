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
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

from server.media.audio import ToneAudioTrack
from server.media.pattern import read_counter
from server.media.received import ReceivedMedia
from server.media.video import CounterVideoTrack, VideoFormat

log = logging.getLogger(__name__)

VIDEO_CODECS = ("video/VP8", "video/rtx")  # the pattern is made to survive VP8


class PeerLink:
    def __init__(self, remote: str, pc_name: str, *, offerer: bool, video: VideoFormat) -> None:
        self.remote, self.pc_name, self.offerer = remote, pc_name, offerer
        self.received = ReceivedMedia()
        self.created_at = asyncio.get_running_loop().time()
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self._tracks: list[MediaStreamTrack] = [CounterVideoTrack(video), ToneAudioTrack()]
        for track in self._tracks:
            self.pc.addTrack(track)
        self._prefer_vp8()
        self._consumers: set[asyncio.Task[None]] = set()
        self.pc.on("track", self._on_track)

    @property
    def state(self) -> str:
        """The peer connection's state: new, connecting, connected, failed or closed."""
        return self.pc.connectionState

    def _prefer_vp8(self) -> None:
        codecs = [
            codec
            for codec in RTCRtpSender.getCapabilities("video").codecs
            if codec.mimeType in VIDEO_CODECS
        ]
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                transceiver.setCodecPreferences(codecs)

    # --- signaling -----------------------------------------------------------------------------

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._local_description()

    async def answer(self, offer: dict[str, Any]) -> dict[str, str]:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self._local_description()

    async def accept_answer(self, answer: dict[str, Any]) -> None:
        if self.pc.signalingState != "have-local-offer":
            log.debug("answer from %s for %s ignored: no offer pending", self.remote, self.pc_name)
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))

    async def add_candidate(self, candidate: dict[str, Any]) -> None:
        """A trickled candidate from a remote that trickles (a browser); "" ends them."""
        line = str(candidate.get("candidate", ""))
        if not line:
            return  # aiortc needs no end-of-candidates mark
        parsed = candidate_from_sdp(line.removeprefix("candidate:"))
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
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
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if isinstance(frame, VideoFrame):
                    self.received.add_video(read_counter(frame))
                else:
                    self.received.add_audio()

    async def close(self) -> None:
        for task in list(self._consumers):
            task.cancel()
        for task in list(self._consumers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.pc.close()
        for track in self._tracks:
            track.stop()
