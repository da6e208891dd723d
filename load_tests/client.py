"""One simulated participant: joins, posts chat and tallies every message as it arrives.

Lighter than server.client.ClassbridgeClient (no dataclasses, no queues, no reader task), since
the generator shares the machine with the server. A chat text starts with a fixed-width stamp
of ``time.monotonic_ns()`` values (one process, so one clock): 20 digits of when the message was
due by the schedule, 20 of when the sender actually sent it, 3 of the rate index and 1 that is 1
when it was due inside the measured window. Latency from the send time is the server's (and
network's) share; from the due time it also counts a generator that fell behind schedule.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from load_tests.connection import Connection
from load_tests.tally import PhaseTally
from load_tests.transport import LeanSocket
from load_tests.wire import Codec

STAMP_CHARS = 44
Stamp = tuple[int, int, int, bool]  # due_ns, sent_ns, rate index, measured


def make_stamp(due_ns: int, sent_ns: int, rate_index: int, measured: bool) -> str:
    return f"{due_ns:020d}{sent_ns:020d}{rate_index:03d}{int(measured)}"


def parse_stamp(text: object) -> Stamp | None:
    """(due_ns, sent_ns, rate index, measured) from a chat text of ours; None for others."""
    if not isinstance(text, str) or len(text) < STAMP_CHARS:
        return None
    try:
        return int(text[:20]), int(text[20:40]), int(text[40:43]), text[43] == "1"
    except ValueError:
        return None


class BenchClient(Connection):
    def __init__(self, session: int, codec: Codec, tallies: list[PhaseTally], pad: int = 0) -> None:
        super().__init__(codec)
        self.session = session
        self.tallies = tallies  # shared by all clients of a run; the last one is current
        self.pad = " " + "x" * (pad - 1) if pad > 0 else ""
        self.received: dict[int, set[int]] = {}  # rate index -> chat seqs received
        self.pending: dict[int, PhaseTally] = {}  # request id -> the rate it was sent in
        self.stray_errors: Counter[str] = Counter()  # errors before the first rate
        self.last_seq = 0

    async def join(self, url: str, token: str, timeout: float) -> None:
        self._welcome = asyncio.get_running_loop().create_future()
        self._socket = await LeanSocket.connect(
            url, self.codec.subprotocol, self._on_frame, timeout
        )
        self._socket.closed.add_done_callback(self._on_closed)
        self._socket.send(self.codec.encode({"type": "join", "token": token, "id": "join"}))
        await asyncio.wait_for(asyncio.shield(self._welcome), timeout)

    def send_chat(self, tally: PhaseTally, due_ns: int, measured: bool) -> None:
        assert self._socket is not None, "not joined"
        request_id = next(self._ids)
        now = time.monotonic_ns()
        text = make_stamp(due_ns, now, tally.index, measured) + self.pad
        tally.on_sent(measured, max(0, now - due_ns))
        if self._socket.send(
            self.codec.encode({"type": "chat.send", "text": text, "id": request_id})
        ):
            self.pending[request_id] = tally
        else:
            tally.on_error("send on a closed connection")

    # --- receiving: called from the socket's data_received ------------------------------------

    def _on_frame(self, frame: bytes | str) -> None:
        now = time.monotonic_ns()
        messages = self._decode(frame)
        if messages is None:
            return
        for message in messages:
            kind = message.get("type")
            if kind == "event":
                self._on_event(message, now)
            elif kind == "ack":
                tally = self.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
                if tally is not None:
                    tally.on_ack(self.session, message.get("seq"))
            else:
                self._on_other(message)

    def _on_event(self, message: dict[str, Any], now: int) -> None:
        seq = message.get("seq")
        if type(seq) is not int:
            return
        data = message.get("data")
        if message.get("kind") != "chat.posted" or type(data) is not dict:
            data = {}  # an event that is not a chat still moves last_seq on
        self.on_chat(seq, data.get("text"), now)

    def on_chat(self, seq: int, text: object, now: int) -> None:
        """One event of seq ``seq`` (a chat when ``text`` is ours) arrived at ``now``; shared
        by every wire the generator speaks, so that all systems are tallied alike."""
        # Runs once per event per receiver: at a server's capacity, hundreds of thousands of
        # times a second in the generator, which shares the machine with the server. So the
        # stamp's two clock values are parsed only for events sent inside a measured window,
        # and nothing is allocated per event.
        in_order = seq > self.last_seq
        if in_order:
            self.last_seq = seq
        if type(text) is not str or len(text) < STAMP_CHARS:
            return
        try:
            index = int(text[40:43])
        except ValueError:
            return
        tallies = self.tallies
        if index >= len(tallies):
            return
        tally = tallies[index]
        seqs = self.received.get(index)
        if seqs is None:
            seqs = self.received[index] = set()
        if seq in seqs:
            tally.duplicates += 1
            return
        seqs.add(seq)
        tally.unique_deliveries += 1
        if not in_order:
            tally.out_of_order += 1
        if text[43] == "1":  # sent inside a measured window
            try:
                due_ns, sent_ns = int(text[:20]), int(text[20:40])
            except ValueError:
                return
            tally.latencies_ns.append(now - sent_ns)
            tally.due_latencies_ns.append(now - due_ns)
        current = tallies[-1]
        window = current.window
        if window.start_ns <= now < window.end_ns:
            current.window_deliveries += 1

    def _on_other(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "error":
            tally = self.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
            if tally is not None:
                tally.on_error(str(message.get("code")))
            else:
                self._note_error(str(message.get("code")))
        elif kind == "welcome" and self._welcome is not None and not self._welcome.done():
            self._welcome.set_result(None)

    def _note_error(self, code: str) -> None:
        if self.tallies:
            self.tallies[-1].on_error(code, answered=False)
        else:
            self.stray_errors[code] += 1
