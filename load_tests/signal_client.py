"""One class station of ``signal-rtt``: sends WebRTC signals to its partner station and
answers every signal it gets from it at once, as a browser answers an offer.

The WebSocket is opened first and joined separately, so that the run can look at which worker
accepted it (and open another) before the station joins. Each request is booked under its
``pc`` in the run's ``Book`` (signal_stats.py): the partner finds it there when it arrives,
the sender when the reply comes back. Every signal asks for an ack, so that an error reply
names the signal it refuses.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from typing import Any

from load_tests.connection import Connection
from load_tests.signal_stats import Book, RoundTrip, SignalTally
from load_tests.transport import LeanSocket
from load_tests.wire import Codec

# A candidate as browsers trickle them (~110 characters).
CANDIDATE = {
    "candidate": "candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr "
    "192.168.1.20 rport 61234 generation 0 ufrag EsAw",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "EsAw",
}
SDP_HEAD = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS stream\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\na=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 DA:52:67:C5:2A:2E:91:13:A2:7D:3A:E1:EA:9D:4B:3D:F2:A1:DE:6C:"
    "2A:6B:E3:52:5E:49:5F:3E:D5:C1:4B:18\r\na=setup:actpass\r\na=mid:0\r\n"
    "a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;"
    "useinbandfec=1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107\r\n"
    "c=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
)
SDP_LINE = "a=rtpmap:{0} VP8/90000\r\na=rtcp-fb:{0} goog-remb\r\na=rtcp-fb:{0} nack pli\r\n"


def make_sdp(size: int) -> str:
    """SDP-shaped text of exactly ``size`` characters (codec lines repeated, then padded)."""
    lines = [SDP_HEAD]
    for payload in itertools.count(96):  # bounded by the size check below
        if sum(map(len, lines)) >= size:
            break
        lines.append(SDP_LINE.format(payload))
    return "".join(lines)[:size]


class SignalClient(Connection):
    def __init__(self, name: str, codec: Codec, book: Book) -> None:
        super().__init__(codec)
        self.name = name
        self.book = book  # shared by every client of the run
        self.participant_id: str | None = None
        self.partner: str | None = None  # the partner station's participant id
        self.sdp = ""  # set by the run (one text shared by every client)
        self.pending: dict[int, SignalTally] = {}  # request id -> the rate it was sent in
        self.stray_errors: Counter[str] = Counter()  # before the first rate, or unmatched
        self.tally: SignalTally | None = None  # the current rate

    @property
    def local_port(self) -> int | None:
        return self._socket.local_port if self._socket is not None else None

    async def open(self, url: str, timeout: float) -> None:
        """The WebSocket only; see ``join``. Closes a socket opened before."""
        await self.close()
        self._socket = await LeanSocket.connect(
            url, self.codec.subprotocol, self._on_frame, timeout
        )

    async def join(self, token: str, timeout: float) -> None:
        assert self._socket is not None, "not open"
        self._welcome = asyncio.get_running_loop().create_future()
        self._socket.closed.add_done_callback(self._on_closed)
        self._socket.send(self.codec.encode({"type": "join", "token": token, "id": 0}))
        await asyncio.wait_for(asyncio.shield(self._welcome), timeout)

    def send_request(self, tally: SignalTally, pc: str, kind: str, due_ns: int) -> None:
        now = time.monotonic_ns()
        measured = due_ns in tally.window
        self.book[pc] = RoundTrip(tally, self, kind, now, due_ns, measured)
        tally.sent += 1
        tally.sent_measured += measured
        tally.lag_ns.append(max(0, now - due_ns))
        offer = {"type": "offer", "sdp": self.sdp}
        self._signal(tally, pc, {"description": offer} if kind == "description" else {})

    def _signal(self, tally: SignalTally, pc: str, payload: dict[str, Any]) -> None:
        assert self._socket is not None, "not open"
        assert self.partner is not None, "not joined"
        request_id = next(self._ids)
        message = {"type": "signal", "to": self.partner, "pc": pc, "id": request_id}
        message |= payload or {"candidate": CANDIDATE}
        if self._socket.send(self.codec.encode(message)):
            self.pending[request_id] = tally
        else:
            tally.errors["send on a closed connection"] += 1

    # --- receiving: called from the socket's data_received ------------------------------------

    def _on_frame(self, frame: bytes | str) -> None:
        now = time.monotonic_ns()
        messages = self._decode(frame)
        if messages is None:
            return
        for message in messages:
            kind = message.get("type")
            if kind == "peer.signal":
                self._on_signal(message, now)
            elif kind == "ack":
                if (tally := self.pending.pop(message.get("id"), None)) is not None:  # type: ignore[arg-type]
                    tally.acks += 1
            elif kind == "error":
                tally = self.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
                code = str(message.get("code"))
                if tally is not None:
                    tally.errors[code] += 1
                else:
                    self._note_error(code)
            elif kind == "welcome":
                self._on_welcome(message)

    def _on_signal(self, message: dict[str, Any], now: int) -> None:
        trip = self.book.get(message.get("pc"))  # type: ignore[arg-type]
        if trip is None:
            if self.tally is not None:
                self.tally.strays += 1
            return
        tally = trip.tally
        if trip.origin is self:  # the partner's reply
            if trip.answered:
                tally.duplicates += 1
                return
            trip.answered = True
            tally.on_answer(trip, now)
            return
        if trip.reply_ns:  # a request answered already
            tally.duplicates += 1
            return
        tally.on_request(trip, now)
        trip.reply_ns = time.monotonic_ns()
        tally.replies += 1
        answer = {"type": "answer", "sdp": self.sdp}
        pc = str(message.get("pc"))
        self._signal(tally, pc, {"description": answer} if trip.kind == "description" else {})

    def _on_welcome(self, message: dict[str, Any]) -> None:
        participant = message.get("participant")
        if isinstance(participant, dict):
            self.participant_id = str(participant.get("id"))
        if self._welcome is not None and not self._welcome.done():
            self._welcome.set_result(None)

    def _note_error(self, code: str) -> None:
        if self.tally is not None:
            self.tally.errors[code] += 1
        else:
            self.stray_errors[code] += 1
