"""One participant of a simulated lesson (teacher, station or student): joins (through the
lobby when there is one), sends what the profile tells it to, and tallies every message as it
arrives.

Latency needs the send time of what arrives. Chat texts and poll questions start with the
sender's ``time.monotonic_ns()``; every other event is matched by a key its data carries, under
which the sender booked the send in the run's ``Book`` (one process, one clock): a board
record and offset, a hand's participant, a poll answer's poll and student, a signal's ``pc``
and part, a cursor's sender and position. ``poll.counts`` carries ``as_of``, the seq of the
newest answer it counts: its latency runs from that answer's send.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from load_tests.connection import Connection
from load_tests.lesson_resume import Outage, Segment, come_back, resumable
from load_tests.lesson_stats import LessonTally
from load_tests.lesson_timing import (
    Book,
    Identity,
    command_identity,
    event_identity,
    sent_at,
    snapshot_identities,
)
from load_tests.transport import LeanSocket
from load_tests.wire import Codec

# Commands whose event reaches every member of the session: each acked seq must reach all.
PUBLIC = frozenset(
    ("chat.send", "board.put", "board.append", "hand.raise", "hand.lower", "poll.create",
     "poll.close")
)  # fmt: skip


class Request(NamedTuple):
    """A command sent and not answered yet."""

    command: str
    sent_ns: int
    extra: Any
    identity: Identity | None  # of the event it makes (lesson_timing.event_identity)


def _ignore(_: bytes | str) -> None:
    pass


def signal_key(pc: object, message: dict[str, Any]) -> str:
    """The part of a negotiation a signal is: ``pc/offer``, ``pc/answer``, ``pc/c<n>``."""
    description = message.get("description")
    if isinstance(description, dict):
        return f"{pc}/{description.get('type')}"
    candidate = message.get("candidate")
    text = candidate.get("candidate", "") if isinstance(candidate, dict) else ""
    return f"{pc}/c{str(text).partition(' ')[0].removeprefix('candidate:')}"


class LessonClient(Connection):
    def __init__(
        self, name: str, session: int, role: str, codec: Codec, tally: LessonTally, book: Book
    ) -> None:
        super().__init__(codec)
        self.name, self.session, self.role = name, session, role
        self.tally, self.book = tally, book
        self.participant_id = ""
        self.class_id = ""
        self.welcome_seq = 0
        self.joined = False
        self.seqs: list[int] = []  # every event seq received, in arrival order
        self.segments: list[Segment] = []  # the same, cut at each snapshot (lesson_resume)
        self.epoch = ""
        self.position = 0  # what a resume sends (docs/protocol.md section 8)
        self.outages: list[Outage] = []  # every lost connection and its way back
        self.links = 0  # connections that had their welcome (a resume is a new one)
        self.board_refusals = 0  # board ops answered with an error
        self._url = self._token = self._resumed = ""
        self._rng = random.Random(name)
        self._coming_back: asyncio.Task[None] | None = None
        self.signal_keys: Counter[str] = Counter()  # signals received, by key
        self.waiting: set[str] = set()  # teachers: students of their class in the lobby
        self.pending: dict[int, Request] = {}  # by request id
        self.on_poll: Callable[[LessonClient, int], None] | None = None  # poll id (students)
        self.on_poll_acked: Callable[[LessonClient, int], None] | None = None  # (teachers)
        self.answer_signal: Callable[[LessonClient, str, str], None] | None = None  # stations
        self._connect_ns = 0
        self._lobby_ns = 0

    @property
    def is_teacher(self) -> bool:
        return self.role == "teacher"

    async def join(self, url: str, token: str, timeout: float) -> None:
        """Connect and wait for the welcome (through the lobby: as long as ``timeout``)."""
        self._url, self._token = url, token
        self._connect_ns = time.monotonic_ns()
        await self._open({"type": "join", "token": token, "id": "join"}, timeout)

    async def resume(self, timeout: float) -> str:
        """A new connection that resumes from ``position``; the welcome's ``resume``."""
        resume = {"seq": self.position, "epoch": self.epoch}
        message = {"type": "join", "token": self._token, "resume": resume, "id": "join"}
        self._resumed = ""
        await self._open(message, timeout)
        return self._resumed

    async def _open(self, join: dict[str, Any], timeout: float) -> None:
        self._welcome = asyncio.get_running_loop().create_future()
        socket = None
        try:
            async with asyncio.timeout(timeout):
                socket = await LeanSocket.connect(
                    self._url, self.codec.subprotocol, self._on_frame, timeout
                )
                self._socket = socket
                socket.closed.add_done_callback(self._on_closed)
                socket.send(self.codec.encode(join))
                await asyncio.shield(self._welcome)
        except BaseException:
            if socket is not None and not socket.closed.done():
                # No welcome in time: drop it, so that a late welcome (and its events) on
                # it can never mix with the next attempt's.
                socket.on_message = _ignore
                self._socket = None
                socket.abort()
            raise

    async def close(self) -> None:
        self.closing = True
        if self._coming_back is not None:
            self._coming_back.cancel()
        await super().close()

    @property
    def coming_back(self) -> bool:
        """Lost its connection and not back yet."""
        return self._coming_back is not None and not self._coming_back.done()

    def request(
        self, command: str, message: dict[str, Any], key: tuple[Any, ...] | None = None,
        extra: Any = None,
    ) -> None:  # fmt: skip
        """Send a command that is acked; ``key``: what its event will be matched by."""
        if self._socket is None or not self.joined:
            return
        request_id = next(self._ids)
        now = time.monotonic_ns()
        if key is not None:
            self.book[key] = now
        identity = key if key is not None else command_identity(self.session, command, message)
        self.pending[request_id] = Request(command, now, extra, identity)
        self.tally.on_sent(command)
        if not self._socket.send(self.codec.encode({**message, "type": command, "id": request_id})):
            self.pending.pop(request_id)
            self.tally.on_interrupted(command)  # the connection broke: its close is counted

    def cursor(self, x: int, y: int) -> None:
        if self._socket is None or not self.joined:
            return
        self.book[("cursor", self.session, self.participant_id, x, y)] = time.monotonic_ns()
        self._socket.send(self.codec.encode({"type": "cursor", "board": "main", "x": x, "y": y}))

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
            elif kind == "peer.cursors":
                self._on_cursors(message, now)
            elif kind == "peer.signal":
                self._on_signal(message, now)
            elif kind == "ack":
                self._on_ack(message, now)
            elif kind == "error":
                self._on_error(message)
            elif kind == "welcome":
                self._on_welcome(message, now)
            elif kind == "lobby":
                self._lobby_ns = now
                self.tally.joins_ns.append(now - self._connect_ns)

    def _on_event(self, message: dict[str, Any], now: int) -> None:
        seq, kind, data = message.get("seq"), str(message.get("kind")), message.get("data")
        if type(seq) is not int or not isinstance(data, dict):
            return
        self.seqs.append(seq)
        if self.segments:
            self.segments[-1].seqs.append(seq)
        self.position = seq
        self.tally.delivered(kind, now, sent_at(self.book, self.session, seq, kind, data))
        identity = event_identity(self.session, kind, data)
        if identity is not None:
            self.tally.received_identities[self.session].add((seq, identity))
        if kind == "poll.created" and self.on_poll is not None:
            self.on_poll(self, seq)
        elif kind == "lobby.waiting" and self.is_teacher:
            who = data.get("participant") or {}
            if who.get("class_id") == self.class_id:
                self.waiting.add(str(who.get("id")))
        elif kind in ("lobby.admitted", "lobby.denied", "lobby.left") and self.is_teacher:
            self.waiting -= set(data.get("participants") or [data.get("participant_id")])

    def _on_cursors(self, message: dict[str, Any], now: int) -> None:
        for entry in message.get("cursors") or ():
            sender = entry.get("from")
            if sender == self.participant_id:
                continue
            key = ("cursor", self.session, sender, entry.get("x"), entry.get("y"))
            self.tally.delivered("peer.cursors", now, self.book.get(key))

    def _on_signal(self, message: dict[str, Any], now: int) -> None:
        key = signal_key(message.get("pc"), message)
        self.signal_keys[key] += 1
        self.tally.delivered("peer.signal", now, self.book.get(("signal", key)))
        if key.endswith("/offer") and self.answer_signal is not None:
            self.answer_signal(self, str(message.get("from")), str(message.get("pc")))

    def _on_ack(self, message: dict[str, Any], now: int) -> None:
        entry = self.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        if entry is None:
            return
        command, sent_ns, extra, identity = entry
        self.tally.on_ack(command, now - sent_ns)
        if command == "signal":
            self.tally.signals_acked.add(str(extra))
        seq = message.get("seq")
        if type(seq) is not int:
            return
        if command in PUBLIC:
            self.tally.ack(self.session, seq, self.epoch, identity)
        elif command == "poll.answer":
            self.tally.ack(self.session, seq, self.epoch, identity, by=self.name)
        else:
            return
        if command == "poll.create" and self.on_poll_acked is not None:
            self.on_poll_acked(self, seq)

    def _on_error(self, message: dict[str, Any]) -> None:
        entry = self.pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        code = str(message.get("code"))
        if entry is not None:
            self.tally.on_error(entry[0], code)
            self.board_refusals += entry[0].startswith("board.")
        elif message.get("id") != "join":
            self.tally.on_error(None, code)

    def _on_welcome(self, message: dict[str, Any], now: int) -> None:
        participant = message.get("participant") or {}
        self.participant_id = str(participant.get("id"))
        self.class_id = str(participant.get("class_id"))
        self._resumed = str(message.get("resume") or "none")
        self.joined = True
        self.links += 1
        self.epoch = str(message.get("epoch") or "")
        if self._resumed != "events":  # a snapshot at welcome.seq: a new segment starts
            if self.segments:
                self.segments[-1].end = self.position
            self.position = int(message.get("seq") or 0)
            self.segments.append(Segment(self.epoch, self.position))
            session = message.get("session")
            if isinstance(session, dict):  # what it holds of acked events is checked too
                self.tally.snapshot_identities[self.session].update(
                    snapshot_identities(self.session, session)
                )
        if self.outages:  # a resume: its figures are the outage's, not the join's
            self._welcome_done()
            return
        self.welcome_seq = int(message.get("seq") or 0)
        if self.is_teacher:  # who waits already: later ones come as lobby.waiting events
            lobby = (message.get("session") or {}).get("lobby") or {}
            waiting = (lobby.get("waiting") or {}).get(self.class_id) or []
            self.waiting |= {str(entry.get("id")) for entry in waiting}
        if self._lobby_ns:
            self.tally.lobby_waits_ns.append(now - self._lobby_ns)
        else:
            self.tally.joins_ns.append(now - self._connect_ns)
        self._welcome_done()

    def _welcome_done(self) -> None:
        if self._welcome is not None and not self._welcome.done():
            self._welcome.set_result(None)

    # --- a lost connection -----------------------------------------------------------------

    def _on_closed(self, done: asyncio.Future[None]) -> None:
        socket = self._socket
        if socket is None or socket.closed is not done:
            return  # an attempt given up on (see _open)
        super()._on_closed(done)  # fails a welcome in wait; notes a close we did not ask for
        if self.closing or not self.joined:
            return  # ours, or an attempt to come back that failed (come_back tries again)
        self.joined = False
        for command, *_ in self.pending.values():  # their outcome is unknown: not waited for
            self.tally.on_interrupted(command)
        self.pending.clear()
        if not self.tally.reconnect:
            return
        outage = Outage(self.name, socket.close_code, time.monotonic_ns())
        self.outages.append(outage)
        self.tally.outages.append(outage)  # a final code: never back, and reported so
        if resumable(socket.close_code):
            self._coming_back = asyncio.get_running_loop().create_task(
                come_back(self, outage, self._rng)
            )

    def _note_error(self, code: str) -> None:
        if code.startswith("closed by server"):
            self.tally.closes += 1
            self.tally.close_codes[code.removeprefix("closed by server: ")] += 1
            if self.tally.closes_expected:  # chaos: counted per fault, not as an error
                return
        self.tally.on_error(None, code)
