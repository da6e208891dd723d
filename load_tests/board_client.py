"""One simulated participant of the whiteboard benchmark: draws (board commands, open loop),
moves its cursor, and tallies every board event and cursor message as it arrives.

Board events carry no free field for a timestamp, so the sender records, per (record id,
offset), when it sent the command (``SentAt``, shared by the run's clients: one process, one
clock); a ``board.put`` is (id, 0), a ``board.appended`` (id, its offset, always >= 1). Every
receiver looks its event up there: exact, and one dict lookup per event. Frames are kept as
received (bounded in bytes) and replayed through the board reducer after the run, so the
convergence check costs the generator nothing while it measures.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from load_tests.client import BenchClient
from load_tests.frames import split_frame
from load_tests.tally import PhaseTally
from load_tests.wire import Codec

SentAt = dict[tuple[str, int], tuple[int, int, bool]]  # key -> sent_ns, due_ns, measured
BOARD_KINDS = ("board.put", "board.appended")


@dataclass(slots=True)
class FrameBudget:
    """Bytes of frames the run may keep for the convergence replay; past it, none are kept."""

    remaining: int
    overflowed: bool = False

    def take(self, size: int) -> bool:
        if self.overflowed or size > self.remaining:
            self.overflowed = True
            return False
        self.remaining -= size
        return True


@dataclass(slots=True)
class Traffic:
    """What a client received, by category: messages and their encoded bytes (totals)."""

    messages: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)
    cursor_messages: int = 0  # peer.cursors inside the measured window
    cursor_entries: int = 0  # positions in them (own ones included)


def category(message: dict[str, Any]) -> str:
    kind = message.get("type")
    if kind == "event":
        return "board" if str(message.get("kind", "")).startswith("board.") else "other_events"
    if kind == "peer.cursors":
        return "cursors"
    if kind in ("ack", "error"):
        return str(kind)
    if kind in ("welcome", "board.records"):
        return "snapshot"
    return "other"


class BoardClient(BenchClient):
    def __init__(
        self,
        session: int,
        codec: Codec,
        tallies: list[PhaseTally],
        sent_at: SentAt,
        budget: FrameBudget,
    ) -> None:
        super().__init__(session, codec, tallies)
        self.sent_at = sent_at
        self.budget = budget
        self.seqs: set[int] = set()  # board seqs of ours received
        self.traffic = Traffic()
        self.frames: list[bytes | str] = []  # every frame from the welcome on, for the replay
        self.ops_sent = 0
        self.op_bytes_sent = 0  # encoded board commands (WebSocket headers not included)
        self.cursor_bytes_sent = 0
        self.cursors_sent = 0

    @property
    def bytes_received(self) -> int:
        return self._socket.bytes_received if self._socket is not None else 0

    @property
    def bytes_sent(self) -> int:
        return self._socket.bytes_sent if self._socket is not None else 0

    def send_op(
        self, tally: PhaseTally, message: dict[str, Any], key: tuple[str, int], due_ns: int
    ) -> None:
        """A board command; ``key`` is what its event will be matched by."""
        assert self._socket is not None, "not joined"
        request_id = next(self._ids)
        message["id"] = request_id
        now = time.monotonic_ns()
        measured = due_ns in tally.window
        self.sent_at[key] = (now, due_ns, measured)
        tally.on_sent(measured, max(0, now - due_ns))
        encoded = self.codec.encode(message)
        self.ops_sent += 1
        self.op_bytes_sent += len(encoded)
        if self._socket.send(encoded):
            self.pending[request_id] = tally
        else:
            tally.on_error("send on a closed connection")

    def send_cursor(self, x: int, y: int) -> None:
        assert self._socket is not None, "not joined"
        encoded = self.codec.encode({"type": "cursor", "board": "main", "x": x, "y": y})
        self.cursors_sent += 1
        self.cursor_bytes_sent += len(encoded)
        self._socket.send(encoded)

    # --- receiving: called from the socket's data_received ------------------------------------

    def _on_frame(self, frame: bytes | str) -> None:
        now = time.monotonic_ns()
        if self.budget.take(len(frame)):
            self.frames.append(frame)
        try:
            messages = split_frame(frame)
        except ValueError:  # msgpack's and json's decode errors both derive from it
            self._note_error("undecodable frame")
            return
        traffic = self.traffic
        for message, size in messages:
            if type(message) is not dict:
                self._note_error("frame item is not a map")
                continue
            what = category(message)
            traffic.messages[what] += 1
            traffic.bytes[what] += size
            if what == "board":
                self._on_board(message, now)
            elif what == "cursors":
                self._on_cursors(message, now)
            elif what == "ack":
                tally = self.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
                if tally is not None:
                    tally.on_ack(self.session, message.get("seq"))
            else:
                self._on_other(message)

    def _on_board(self, message: dict[str, Any], now: int) -> None:
        seq, kind, data = message.get("seq"), message.get("kind"), message.get("data")
        if type(seq) is not int or type(data) is not dict or not self.tallies:
            return
        in_order = seq > self.last_seq
        self.last_seq = max(self.last_seq, seq)
        if kind == "board.appended":
            key = (data.get("id"), data.get("offset"))
        elif kind == "board.put":
            record = data.get("record")
            key = (record.get("id") if type(record) is dict else None, 0)
        else:
            return
        sent = self.sent_at.get(key)  # type: ignore[arg-type]
        if sent is None:
            return
        tally = self.tallies[-1]
        if seq in self.seqs:
            tally.duplicates += 1
            return
        self.seqs.add(seq)
        tally.unique_deliveries += 1
        tally.out_of_order += not in_order
        sent_ns, due_ns, measured = sent
        if measured:
            tally.latencies_ns.append(now - sent_ns)
            tally.due_latencies_ns.append(now - due_ns)
        if now in tally.window:
            tally.window_deliveries += 1

    def _on_cursors(self, message: dict[str, Any], now: int) -> None:
        if self.tallies and now in self.tallies[-1].window:
            cursors = message.get("cursors")
            self.traffic.cursor_messages += 1
            self.traffic.cursor_entries += len(cursors) if type(cursors) is list else 0
