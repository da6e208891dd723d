"""Fuzzing a live gateway: `classbridge serve` in a subprocess, a victim and a teacher in a
session, and a fuzzing student sending hostile frames (both subprotocols, text and binary).

After each round: the server still answers /healthz; each fuzz connection ended open and
answering ``ping`` or closed with a documented close code (every wait bounded); no error or
traceback reached the server's log; the victim still gets a teacher's chat and its seqs only
ever went up, ending at the session's seq; and the server's memory did not keep growing from one
round to the next (the server is a process of its own, so its RSS can be read).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.client import ClassbridgeClient
from server.protocol.codec import Frame, WireFormat, decode_frame, encode_message
from tests.live import API_KEY, SECRET, TWO_CLASSES
from tests.processes import Running, serve, wait_healthy
from tests.protocol.fuzz_corpus import FrameMaker

pytestmark = pytest.mark.slow

FRAMES_PER_ROUND = 300
MAX_FRAME_BYTES = 4096
WAIT = 5.0  # the longest any single wait may take
# Close codes a hostile client may earn (docs/protocol.md, section 17). 1011 (a server failure)
# and 1006 (no close frame) are not among them.
DOCUMENTED_CLOSES = {
    1000: "left",  # a fuzzed frame that happens to be a valid leave
    1007: "a text frame that is not UTF-8",
    1009: "a frame over max_frame_bytes",
    4002: "the first frame was not a valid join",
    4003: "too_many_errors",
    4010: "a mutated token in a first-frame join",
    4012: "a mutated session in a first-frame join",
    4029: "rate_limited at the join",
}
# Growth of the server's resident memory allowed between the end of round 1 and of round 2.
RSS_GROWTH_BOUND = 24 * 2**20


@dataclass
class Lesson:
    running: Running
    http: httpx.AsyncClient
    session_id: str
    teacher: ClassbridgeClient
    victim: ClassbridgeClient
    fuzzer_tokens: list[str]
    victim_seqs: list[int] = field(default_factory=list)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.running.port}/ws"

    async def session_seq(self) -> int:
        headers = {"authorization": f"Bearer {API_KEY}"}
        response = await self.http.get(f"/api/sessions/{self.session_id}", headers=headers)
        assert response.status_code == 200, response.text
        return int(response.json()["seq"])


@pytest.fixture
async def lesson() -> AsyncIterator[Lesson]:
    limits = ("--joins-per-minute", "100000", "--joins-burst", "100000")
    per_ip = ("--connections-per-ip-per-minute", "100000", "--connections-per-ip-burst", "1000")
    options = ("--api-key", API_KEY, "--secret", SECRET, "--log-level", "warning")
    frames = ("--max-frame-bytes", str(MAX_FRAME_BYTES))
    async with (
        serve(*options, *limits, *per_ip, *frames) as running,
        httpx.AsyncClient(base_url=running.url, timeout=WAIT) as http,
    ):
        await wait_healthy(http)
        created = await _create_session(http)
        url = f"ws://127.0.0.1:{running.port}/ws"
        klass = created["classes"][0]
        teacher = ClassbridgeClient(url, klass["teacher_token"], WireFormat.MSGPACK)
        # The fuzzer speaks both formats; the victim reads JSON.
        victim = ClassbridgeClient(
            url, await _student(http, klass["join_code"], "Amani"), WireFormat.JSON
        )
        await teacher.connect()
        await victim.connect()
        tokens = [await _student(http, klass["join_code"], f"Fuzz {n}") for n in range(2)]
        yield Lesson(running, http, str(created["session_id"]), teacher, victim, tokens)
        await victim.close()
        await teacher.close()


async def _create_session(http: httpx.AsyncClient) -> dict[str, Any]:
    body = {"title": "Fuzzed lesson", "classes": TWO_CLASSES}
    headers = {"authorization": f"Bearer {API_KEY}"}
    response = await http.post("/api/sessions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _student(http: httpx.AsyncClient, code: str, name: str) -> str:
    response = await http.post("/api/join", json={"code": code, "name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


# --- one fuzzing connection ----------------------------------------------------------------------


class FuzzConnection:
    """A raw WebSocket that sends what it is given and reads (and drops) everything back."""

    def __init__(self, ws: ClientConnection, wire_format: WireFormat) -> None:
        self.ws = ws
        self.wire_format = wire_format
        self.pongs: asyncio.Queue[object] = asyncio.Queue()
        self.sent: list[Frame] = []  # the last few, shown when the ending is wrong
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                document = decode_frame(frame, self.wire_format)
                for message in document if isinstance(document, list) else [document]:
                    if message.get("type") == "pong":
                        self.pongs.put_nowait(message.get("id"))
        except ConnectionClosed:
            pass

    async def send(self, frame: Frame) -> bool:
        """Send one frame; False once the server has closed the connection."""
        self.sent = [*self.sent[-2:], frame]
        try:
            if isinstance(frame, str):
                # As bytes, so that a lone surrogate goes out as the invalid UTF-8 a broken
                # client would send (the library refuses to encode it from a str).
                await self.ws.send(frame.encode("utf-8", "surrogatepass"), text=True)
            else:
                await self.ws.send(frame)
        except ConnectionClosed:
            return False
        return True

    async def ends_well(self, ping: bool) -> int | None:
        """Open and answering a ping (None), or closed with a documented code (that code)."""
        message = encode_message({"type": "ping", "id": "still-there"}, self.wire_format)
        if ping and await self.send(message):
            pong = asyncio.create_task(self.pongs.get())
            waiting: list[asyncio.Future[Any]] = [pong, self.reader]
            done, _ = await asyncio.wait(waiting, timeout=WAIT, return_when="FIRST_COMPLETED")
            pong.cancel()
            if pong in done:
                await self.ws.close()
                return None
            assert done, "the connection neither answered a ping nor closed"
        await asyncio.wait_for(self.reader, WAIT)
        code = self.ws.close_code
        assert code in DOCUMENTED_CLOSES, (
            f"undocumented close {code} {self.ws.close_reason}; last frames {self.sent!r:.600}"
        )
        return code


async def _open(
    lesson: Lesson, token: str, wire_format: WireFormat, maker: FrameMaker
) -> FuzzConnection:
    ws = await connect(
        lesson.ws_url,
        subprotocols=[wire_format.value],  # type: ignore[list-item]
        open_timeout=WAIT,
        max_size=None,
    )
    connection = FuzzConnection(ws, wire_format)
    if maker.random.random() < 0.1:
        await connection.send(maker.frame(wire_format))  # a hostile first frame instead of a join
    else:
        await connection.send(encode_message({"type": "join", "token": token}, wire_format))
    return connection


async def _fuzz_connection(connection: FuzzConnection, maker: FrameMaker, budget: int) -> int:
    """Send up to ``budget`` frames; returns how many were sent."""
    for sent in range(1, budget + 1):
        # Mostly the connection's own kind of frame, sometimes the other kind.
        own = connection.wire_format
        frame = maker.frame(own if maker.random.random() < 0.85 else _other(own))
        if not await connection.send(frame) or _breaks_protocol(frame):
            # After a frame that breaks the WebSocket protocol the server's WebSocket layer
            # sends its close and drops the TCP connection (RFC 6455): frames sent after it
            # would meet a reset that can destroy the close frame on its way (1006).
            return sent
    return budget


async def fuzz_round(lesson: Lesson, seed: int) -> dict[int | None, int]:
    """Send FRAMES_PER_ROUND hostile frames, reconnecting whenever the server closes."""
    maker = FrameMaker(seed, MAX_FRAME_BYTES)
    endings: dict[int | None, int] = {}
    sent = 0
    while sent < FRAMES_PER_ROUND:
        wire_format = maker.random.choice(list(WireFormat))
        token = maker.random.choice(lesson.fuzzer_tokens)
        connection = await _open(lesson, token, wire_format, maker)
        sent += 1
        # A hostile first frame may itself break the protocol: then nothing more is sent, for
        # the reason given in _fuzz_connection.
        if not _breaks_protocol(connection.sent[-1]):
            sent += await _fuzz_connection(connection, maker, FRAMES_PER_ROUND - sent)
        code = await connection.ends_well(ping=not _breaks_protocol(connection.sent[-1]))
        endings[code] = endings.get(code, 0) + 1
    return endings


def _breaks_protocol(frame: Frame) -> bool:
    data = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
    if len(data) > MAX_FRAME_BYTES:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return isinstance(frame, str)  # only a text frame must be UTF-8
    return False


def _other(wire_format: WireFormat) -> WireFormat:
    return WireFormat.JSON if wire_format is WireFormat.MSGPACK else WireFormat.MSGPACK


# --- the checks after a round --------------------------------------------------------------------


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def _no_errors_logged(running: Running) -> None:
    log = "".join(running.stderr)
    for marker in ("Traceback", " ERROR ", "ERROR:", "Exception in ASGI"):
        assert marker not in log, log[-4000:]


async def _victim_is_fine(lesson: Lesson, round_number: int) -> None:
    text = f"after round {round_number}"
    ack = await lesson.teacher.chat(text)
    async with asyncio.timeout(WAIT):
        while True:
            event = await lesson.victim.next_event()
            lesson.victim_seqs.append(event.seq)
            if event.kind == "chat.posted" and event.data.get("text") == text:
                break
    assert event.seq == ack.seq
    # Seqs only go up (gaps are allowed: events the victim may not see), and the victim's
    # position is the session's.
    assert lesson.victim_seqs == sorted(set(lesson.victim_seqs))
    assert lesson.victim.last_seq == await lesson.session_seq() == ack.seq
    assert lesson.victim.close_code is None


async def _check_round(lesson: Lesson, round_number: int, endings: dict[int | None, int]) -> None:
    health = await lesson.http.get("/healthz")
    assert health.status_code == 200
    assert sum(endings.values()) >= 1
    _no_errors_logged(lesson.running)
    await _victim_is_fine(lesson, round_number)


async def test_a_fuzzing_client_harms_neither_the_server_nor_the_session(lesson: Lesson) -> None:
    seed = random.SystemRandom().randrange(2**32)
    print(f"fuzz seed {seed}")  # shown by pytest when the test fails: the run can be repeated
    pid = lesson.running.process.pid
    rss: list[int] = []
    for round_number in (1, 2):
        endings = await fuzz_round(lesson, seed + round_number)
        print(f"round {round_number}: endings {endings}")
        await _check_round(lesson, round_number, endings)
        rss.append(_rss_bytes(pid))
        print(f"round {round_number}: server RSS {rss[-1] // 1024} KiB")
    assert rss[1] - rss[0] < RSS_GROWTH_BOUND, f"RSS grew from {rss[0]} to {rss[1]}"


@pytest.mark.parametrize("seed", [1, 2])
async def test_fixed_seeds_stay_harmless(lesson: Lesson, seed: int) -> None:
    """The same check with seeds that never change, so a regression shows on every run."""
    endings = await fuzz_round(lesson, seed)
    print(f"seed {seed}: endings {endings}")
    await _check_round(lesson, 1, endings)
