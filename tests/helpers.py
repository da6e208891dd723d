"""Shared set-up for the tests over a real server: a session of two classes, raw sockets, waits."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.broker.base import Broker, HistoryGone, LogPosition
from server.broker.memory import MemoryBroker
from server.client import ClassbridgeClient
from server.protocol.codec import WireFormat, decode_frame, encode_message
from server.protocol.messages import Ack, EventMessage
from server.protocol.peer import PeerSignal
from tests.live import API_KEY, LiveServer
from tests.redis_server import RedisServer

MSGPACK, JSON = WireFormat.MSGPACK, WireFormat.JSON
WAIT = 5.0  # the longest any single wait in these tests may take


@dataclass
class Classroom:
    """One session of two classes (c1 Lisbon, c2 Nairobi) on a live server."""

    server: LiveServer
    created: dict[str, Any]

    @property
    def session_id(self) -> str:
        session_id: str = self.created["session_id"]
        return session_id

    def klass(self, index: int) -> dict[str, Any]:
        info: dict[str, Any] = self.created["classes"][index]
        return info

    def class_id(self, index: int) -> str:
        return str(self.klass(index)["id"])

    def teacher_token(self, index: int) -> str:
        return str(self.klass(index)["teacher_token"])

    def join_code(self, index: int) -> str:
        return str(self.klass(index)["join_code"])

    async def student_token(self, index: int, name: str) -> str:
        joined = await self.server.self_join(self.join_code(index), name)
        return str(joined["token"])

    async def token(self, role: str, index: int, name: str, **extra: Any) -> str:
        return await self.server.mint(self.session_id, role, self.class_id(index), name, **extra)

    async def join(self, token: str, wire_format: WireFormat = MSGPACK) -> ClassbridgeClient:
        client = self.server.client(token, wire_format)
        await client.connect()
        return client

    async def teacher(self, index: int, wire_format: WireFormat = MSGPACK) -> ClassbridgeClient:
        return await self.join(self.teacher_token(index), wire_format)

    async def student(
        self, index: int, name: str, wire_format: WireFormat = MSGPACK
    ) -> ClassbridgeClient:
        return await self.join(await self.student_token(index, name), wire_format)

    async def summary(self) -> dict[str, Any]:
        response = await self.server.http.get(
            f"/api/sessions/{self.session_id}", headers={"authorization": f"Bearer {API_KEY}"}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def seq(self) -> int:
        return int((await self.summary())["seq"])

    async def assert_unaffected(
        self, before: int, poster: ClassbridgeClient, *watchers: ClassbridgeClient
    ) -> None:
        """Nothing was appended after ``before``, and a new chat reaches every watcher."""
        assert await self.seq() == before, "something was appended to the log"
        ack = await poster.chat("still here?")
        assert ack.seq == before + 1
        for watcher in watchers:
            event = await next_after(watcher, before)
            assert (event.seq, event.kind) == (before + 1, "chat.posted")
            assert event.data["text"] == "still here?"


@dataclass
class Scene:
    """A session where a teacher (poster) and a student (bystander) stay connected throughout."""

    room: Classroom
    poster: ClassbridgeClient
    bystander: ClassbridgeClient

    async def check_unaffected(self, before: int) -> None:
        await self.room.assert_unaffected(before, self.poster, self.bystander)


async def open_classroom(server: LiveServer, **body: Any) -> Classroom:
    return Classroom(server, await server.create_session(**body))


async def unchecked_classroom(
    server_factory: Callable[..., Awaitable[LiveServer]], broker: Broker
) -> tuple[LiveServer, Classroom]:
    """A server on ``broker`` whose periodic replica check does not run during a test, and a
    classroom on it: only the path under test can notice what the broker does."""
    server = await server_factory(broker=broker, repair_interval=300.0)
    return server, await open_classroom(server)


def seq_of(ack: Ack) -> int:
    """The seq of the event a request appended (acks of requests that append nothing have none)."""
    assert ack.seq is not None, ack
    return ack.seq


async def next_after(client: ClassbridgeClient, seq: int) -> EventMessage:
    """The next event with a seq above ``seq`` (earlier ones are already accounted for)."""
    while True:
        event = await client.next_event(timeout=WAIT)
        if event.seq > seq:
            return event


async def wait_event(
    client: ClassbridgeClient,
    kind: str,
    match: Callable[[EventMessage], bool] = lambda event: True,
    timeout: float = WAIT,
) -> EventMessage:
    """The next event of ``kind`` that matches; others are skipped."""
    async with asyncio.timeout(timeout):
        while True:
            event = await client.next_event(kind)
            if match(event):
                return event


async def collect_until(
    client: ClassbridgeClient, last_seq: int, timeout: float = WAIT
) -> list[EventMessage]:
    """The events this client has yet to hand out, up to and including ``last_seq``."""
    events: list[EventMessage] = []
    async with asyncio.timeout(timeout):
        while not events or events[-1].seq < last_seq:
            if client.events.empty() and (client.last_seq or 0) >= last_seq:
                break  # it is past ``last_seq`` and everything it got was handed out
            events.append(await client.next_event())
    return events


async def quiet(client: ClassbridgeClient, seconds: float = 0.2) -> list[EventMessage]:
    """Give in-flight events a moment to arrive; return everything received so far."""
    await asyncio.sleep(seconds)
    return client.drain_events()


async def next_signal(client: ClassbridgeClient) -> PeerSignal:
    message = await client.next_peer_message()
    assert isinstance(message, PeerSignal), message
    return message


def participant_of(client: ClassbridgeClient) -> str:
    assert client.welcome is not None
    return str(client.welcome.participant["id"])


def left_event_of(participant_id: str) -> Callable[[EventMessage], bool]:
    return lambda event: event.data["participant_id"] == participant_id


def joined_event_of(participant_id: str) -> Callable[[EventMessage], bool]:
    return lambda event: event.data["participant"]["id"] == participant_id


def event_at(seq: int) -> Callable[[EventMessage], bool]:
    return lambda event: event.seq == seq


class FlakyBroker(MemoryBroker):
    """The memory broker, with chosen operations failing as those of a broken backend would."""

    def __init__(self, history_size: int = 1000) -> None:
        super().__init__(history_size)
        self.failing: set[str] = set()

    def _check(self, operation: str) -> None:
        if operation in self.failing:
            raise OSError(f"{operation}: the broker is unavailable")

    async def read_since(
        self, session_id: str, after: LogPosition
    ) -> list[tuple[int, bytes]] | HistoryGone:
        self._check("read_since")
        return await super().read_since(session_id, after)

    async def get_session(self, session_id: str) -> bytes | None:
        self._check("get_session")
        return await super().get_session(session_id)


# --- raw WebSockets, for what the client would never send ------------------------------------


class RawSocket:
    """A bare WebSocket speaking one wire format: send anything, read decoded messages."""

    def __init__(self, ws: ClientConnection, wire_format: WireFormat) -> None:
        self.ws = ws
        self.wire_format = wire_format
        self._batch: deque[dict[str, Any]] = deque()  # the rest of a frame that held a batch

    async def send(self, message: dict[str, Any] | bytes | str) -> None:
        if isinstance(message, dict):
            message = encode_message(message, self.wire_format)
        await self.ws.send(message)

    async def join(self, token: str, **fields: Any) -> dict[str, Any]:
        await self.send({"type": "join", "token": token, "id": "j", **fields})
        return await self.receive()

    async def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next message (batches are unpacked); raises ConnectionClosed at the close."""
        if not self._batch:
            frame = await asyncio.wait_for(self.ws.recv(), timeout)
            decoded = decode_frame(frame, self.wire_format)
            self._batch.extend(decoded if isinstance(decoded, list) else [decoded])
        return self._batch.popleft()

    async def error(self, timeout: float = WAIT) -> dict[str, Any]:
        """The next error reply, skipping events."""
        while True:
            message = await self.receive(timeout)
            if message["type"] == "error":
                return message

    async def ping(self) -> None:
        """A ping answered by its pong: the connection still works."""
        await self.send({"type": "ping", "id": "still-there"})
        while (message := await self.receive())["type"] != "pong":
            assert message["type"] == "event", message
        assert message["id"] == "still-there"

    async def close_code(self, timeout: float = WAIT) -> int | None:
        """Read until the server closes; the close code it sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except ConnectionClosed:
            pass
        return self.ws.close_code


@asynccontextmanager
async def raw_socket(
    server: LiveServer,
    wire_format: WireFormat = MSGPACK,
    subprotocols: Sequence[str] | None = None,
    **options: Any,
) -> AsyncIterator[RawSocket]:
    offered = [wire_format.value] if subprotocols is None else list(subprotocols)
    ws = await connect(
        server.ws_url,
        subprotocols=offered or None,  # type: ignore[arg-type]
        compression=None,
        open_timeout=WAIT,
        close_timeout=1,
        **options,
    )
    try:
        yield RawSocket(ws, wire_format)
    finally:
        await ws.close()


class LossyBroker(MemoryBroker):
    """The memory broker whose delivery to subscribers loses chosen events, as a pub/sub
    subscription that drops and comes back would; the history keeps them."""

    def __init__(self, history_size: int = 1000) -> None:
        super().__init__(history_size)
        self.lose_next = 0

    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        if self.lose_next <= 0:
            return await super().append(session_id, payload, after=after)
        self.lose_next -= 1
        subscribers = self._log(session_id).subscribers
        saved = list(subscribers)
        subscribers.clear()  # nobody hears this one
        try:
            return await super().append(session_id, payload, after=after)
        finally:
            subscribers.extend(saved)


async def chat_across(first: LiveServer, second: LiveServer, room: Classroom) -> None:
    """A teacher on ``first`` and a student who joined by code on ``second`` chat: both see
    every post, in the log's order."""
    teacher = first.client(room.teacher_token(0))
    joined = await second.self_join(room.join_code(1), "Amani")  # the code, on the other
    student = second.client(joined["token"])
    await teacher.connect()
    await student.connect()
    seen = await wait_event(teacher, "participant.joined")
    assert seen.data["participant"]["id"] == participant_of(student)
    posts = []
    for n in range(3):
        posts.append(seq_of(await teacher.chat(f"from Lisbon {n}")))
        posts.append(seq_of(await student.chat(f"from Nairobi {n}")))
    for client in (teacher, student):
        got = [(await wait_event(client, "chat.posted")).seq for _ in range(len(posts))]
        assert got == sorted(posts)  # the same order everywhere: the log's
    assert sorted(posts) == list(range(posts[0], posts[0] + len(posts)))


async def two_servers_on_redis(
    server_factory: Callable[..., Any], redis: RedisServer, **overrides: Any
) -> tuple[LiveServer, LiveServer]:
    """Two servers (two workers, as on two hosts) sharing one emptied Redis."""
    redis.flush()
    first = await server_factory(broker_url=redis.url, **overrides)
    second = await server_factory(broker_url=redis.url, **overrides)
    return first, second
