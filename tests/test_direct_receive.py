"""Messages handled in the read callback: the driver on its own, then through a real server.

The driver's tests play the gateway's part: a task parks (the connection's task waiting for the
next message), a loop callback (the protocol's ``data_received``) runs a coroutine as that task
with ``run_now``, and the task runs the rest with ``finish`` when it had to wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import pytest

from server import direct_receive, gateway, logs
from server.broker.base import LogPosition
from server.broker.memory import MemoryBroker
from server.broker.redis import RedisBroker
from server.direct_receive import Finished, Waiting, direct_receiver, finish, run_now
from server.protocol.codec import Frame, WireFormat, encode_message
from tests.conftest import ServerFactory
from tests.helpers import Classroom, RawSocket, open_classroom, raw_socket
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

WHO = contextvars.ContextVar[str]("who", default="nobody")


class Host:
    """The connection's task: parked until handed a ``Waiting``, whose rest it then runs."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.inbox: asyncio.Future[Waiting] = loop.create_future()
        self.context = contextvars.copy_context()
        self.task = asyncio.ensure_future(self._serve())

    async def _serve(self) -> Any:
        return await finish(await self.inbox, self.context)

    async def run_now(
        self, coroutine: Coroutine[Any, Any, Any], context: contextvars.Context
    ) -> Finished | Waiting:
        """``run_now`` from a loop callback, as the protocol calls it (no task is running)."""
        self.context = context
        await asyncio.sleep(0)  # the host is parked
        done: asyncio.Future[Finished | Waiting] = asyncio.get_running_loop().create_future()

        def callback() -> None:
            assert asyncio.current_task() is None
            try:
                done.set_result(run_now(coroutine, context, self.task))
            except BaseException as error:
                done.set_exception(error)
            assert asyncio.current_task() is None  # left as it was found

        asyncio.get_running_loop().call_soon(callback)
        return await done


def _context(who: str) -> contextvars.Context:
    context = contextvars.copy_context()
    context.run(WHO.set, who)
    return context


async def test_a_coroutine_that_never_waits_finishes_in_the_call_as_the_task() -> None:
    host = Host()
    seen: dict[str, Any] = {}

    async def handler() -> str:
        seen["task"] = asyncio.current_task()
        seen["who"] = WHO.get()
        return "handled"

    result = await host.run_now(handler(), _context("amani"))
    assert isinstance(result, Finished)
    assert result.value == "handled"
    assert seen == {"task": host.task, "who": "amani"}
    assert not host.task.done()  # still parked: nothing woke it
    host.task.cancel()


async def test_the_rest_of_a_coroutine_that_waits_runs_in_its_task_with_each_result() -> None:
    host = Host()
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    steps: list[Any] = []

    async def handler() -> list[Any]:
        steps.append(await first)
        try:
            await second
        except LookupError as error:
            steps.append(repr(error))
        await asyncio.sleep(0)  # a bare yield
        steps.append((asyncio.current_task(), WHO.get()))
        return steps

    waiting = await host.run_now(handler(), _context("rui"))
    assert isinstance(waiting, Waiting)
    assert steps == []
    host.inbox.set_result(waiting)
    loop.call_later(0.01, first.set_result, "the broker's reply")
    loop.call_later(0.02, second.set_exception, LookupError("gone"))
    result = await asyncio.wait_for(host.task, 2)
    # The rest ran in the host task, in the same context as the first step.
    assert result == ["the broker's reply", "LookupError('gone')", (host.task, "rui")]


async def test_a_timeout_set_before_the_first_wait_still_fires_in_the_rest() -> None:
    host = Host()
    never = asyncio.get_running_loop().create_future()

    async def handler() -> str:
        try:
            async with asyncio.timeout(0.05):  # it takes the current task: the host
                await never
        except TimeoutError:
            return "timed out"
        return "not reached"

    waiting = await host.run_now(handler(), _context("wanjiru"))
    assert isinstance(waiting, Waiting)
    host.inbox.set_result(waiting)
    assert await asyncio.wait_for(host.task, 2) == "timed out"
    assert never.cancelled()  # what it waited on was cancelled, as a task would have done
    assert host.task.cancelling() == 0  # the timeout took its cancellation back


async def test_cancelling_the_task_cancels_the_rest_and_what_it_waits_on() -> None:
    host = Host()
    never = asyncio.get_running_loop().create_future()
    cleaned_up: list[bool] = []

    async def handler() -> None:
        try:
            await never
        finally:
            cleaned_up.append(True)

    waiting = await host.run_now(handler(), _context("baraka"))
    assert isinstance(waiting, Waiting)
    host.inbox.set_result(waiting)
    await asyncio.sleep(0.01)
    host.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await host.task
    assert never.cancelled()
    assert cleaned_up == [True]


async def test_a_cancellation_the_task_got_before_finishing_goes_into_the_handler() -> None:
    """The task was cancelled (a deadline already past, a shutdown) before it could run the
    rest: the handler gets CancelledError and cleans up as under a task, so a lock handed to
    it meanwhile is passed on to whoever waits next, not lost."""
    host = Host()
    lock = asyncio.Lock()
    await lock.acquire()
    seen: list[str] = []

    async def handler() -> None:
        try:
            async with lock:
                seen.append("got the lock")
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    context = _context("baraka")
    waiting = await host.run_now(handler(), context)
    assert isinstance(waiting, Waiting)
    other = asyncio.ensure_future(lock.acquire())  # another participant's, behind it
    await asyncio.sleep(0)
    lock.release()  # handed to the handler, which has not resumed yet
    rest = asyncio.ensure_future(finish(waiting, context, asyncio.CancelledError()))
    with pytest.raises(asyncio.CancelledError):
        await rest
    assert seen == ["cancelled"]
    assert await asyncio.wait_for(other, 2)
    host.task.cancel()


async def test_an_error_before_the_first_wait_is_raised_by_the_call() -> None:
    host = Host()

    async def handler() -> None:
        raise ValueError("broken before waiting")

    with pytest.raises(ValueError, match="broken before waiting"):
        await host.run_now(handler(), _context("amani"))
    assert not host.task.done()
    host.task.cancel()


def test_no_receiver_without_the_offer() -> None:
    assert direct_receiver({"type": "websocket", "extensions": {}}) is None
    assert direct_receiver({"type": "websocket"}) is None
    assert direct_receiver({"extensions": {"classbridge.direct_receive": "nonsense"}}) is None


def test_no_receiver_on_a_python_without_asyncios_task_hooks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Offered:
        take_now = None

        def wake_for_rest(self) -> None:
            raise AssertionError("not called here")

    scope = {"extensions": {"classbridge.direct_receive": {"receiver": Offered()}}}
    assert direct_receiver(scope) is not None
    monkeypatch.setattr(direct_receive, "_enter_task", None)
    assert direct_receiver(scope) is None  # every message then goes to the connection's task


# --- through a real server ------------------------------------------------------------------


Sender = Callable[[list[dict[str, Any]]], None]


def _one_write(socket: Any) -> Sender:
    """Send several messages in a single TCP write: they reach the server in one read (most
    often), so later ones arrive while the first is being handled."""

    def send(messages: list[dict[str, Any]]) -> None:
        ws = socket.ws
        for message in messages:
            ws.protocol.send_binary(encode_message(message, WireFormat.MSGPACK))
        ws.transport.write(b"".join(ws.protocol.data_to_send()))

    return send


@asynccontextmanager
async def _student_and_teacher(
    kind: str, server_factory: ServerFactory, redis: RedisServer
) -> AsyncIterator[tuple[Classroom, RawSocket, RawSocket]]:
    """A student and a teacher joined to a new session, on memory:// or on Redis."""
    budgets = {"chat_burst": 100}  # the posts here are far more than a burst
    if kind == "redis":  # every append waits for Redis: the connection's task handles them
        redis.flush()
        server = await server_factory(broker_url=redis.url, **budgets)
    else:
        server = await server_factory(**budgets)
    room = await open_classroom(server)
    async with raw_socket(server) as student, raw_socket(server) as teacher:
        assert (await teacher.join(room.teacher_token(0)))["type"] == "welcome"
        assert (await student.join(await room.student_token(1, "Amani")))["type"] == "welcome"
        yield room, student, teacher


@pytest.mark.parametrize("broker", ["memory", "redis"])
async def test_messages_in_one_write_are_answered_and_logged_in_order(
    broker: str, server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    async with _student_and_teacher(broker, server_factory, redis_server) as (_, student, teacher):
        messages: list[dict[str, Any]] = []
        for n in range(20):
            messages.append({"type": "chat.send", "text": f"line {n}", "id": n})
            if n % 5 == 2:  # refused ones in between: answered in their place
                messages.append({"type": "chat.send", "text": "", "id": f"empty {n}"})
            if n == 10:
                messages.append({"type": "ping", "id": "ping"})
        _one_write(student)(messages)
        answers: list[Any] = []
        seqs: list[int] = []
        texts: list[str] = []
        while len(answers) < len(messages):
            reply = await student.receive()
            if reply["type"] == "event":
                if reply["kind"] == "chat.posted":
                    texts.append(reply["data"]["text"])
                continue
            answers.append(reply["id"])
            if reply["type"] == "ack":
                seqs.append(reply["seq"])
            if reply["type"] == "error":
                assert reply["code"] == "invalid_message"
        assert answers == [m["id"] for m in messages]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 20
        expected = [f"line {n}" for n in range(20)]
        while len(texts) < 20:
            reply = await student.receive()
            if reply["type"] == "event" and reply["kind"] == "chat.posted":
                texts.append(reply["data"]["text"])
        assert texts == expected
        seen: list[str] = []
        while len(seen) < 20:  # the other side gets them in the same order
            reply = await teacher.receive()
            if reply["type"] == "event" and reply["kind"] == "chat.posted":
                seen.append(reply["data"]["text"])
        assert seen == expected


@pytest.mark.parametrize("broker", ["memory", "redis"])
async def test_nothing_after_a_leave_in_the_same_write_is_handled(
    broker: str, server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    async with _student_and_teacher(broker, server_factory, redis_server) as parties:
        room, student, teacher = parties
        _one_write(student)(
            [
                {"type": "chat.send", "text": "before", "id": 1},
                {"type": "leave", "id": 2},
                {"type": "chat.send", "text": "after", "id": 3},
            ]
        )
        assert await student.close_code() == 1000
        kinds: list[str] = []
        while "participant.left" not in kinds:
            reply = await teacher.receive()
            if reply["type"] == "event":
                kinds.append(reply["kind"])
                if reply["kind"] == "chat.posted":
                    assert reply["data"]["text"] == "before"
        await teacher.ping()  # anything logged after the leave would have come before this
        assert kinds.count("chat.posted") == 1
    late = await room.student(0, "Wanjiru")  # what the session holds
    assert late.welcome is not None
    assert late.welcome.session is not None
    assert [m["text"] for m in late.welcome.session["chat"]] == ["before"]


def _in_read_callback() -> bool:
    """Whether the caller runs inside the protocol's handling of what it read."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "send_receive_event_to_app":
            return True
        frame = frame.f_back
    return False


@asynccontextmanager
async def _student_on(
    broker: MemoryBroker | RedisBroker, factory: ServerFactory
) -> AsyncIterator[RawSocket]:
    """A student joined to a new session, on a server that uses ``broker``."""
    server = await factory(broker=broker)
    room = await open_classroom(server)
    async with raw_socket(server) as student:
        await student.join(await room.student_token(1, "Amani"))
        yield student


class GatedBroker(MemoryBroker):
    """memory://, whose appends wait for the test's gate once it is set up."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Event | None = None
        self.held = 0  # appends waiting at the gate
        self.arrived = asyncio.Event()  # one came to the gate
        self.from_read_callback: list[bool] = []  # for each append at the gate

    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        if self.gate is not None:
            self.held += 1
            self.from_read_callback.append(_in_read_callback())
            self.arrived.set()
            await self.gate.wait()
        return await super().append(session_id, payload, after=after)


async def test_messages_read_while_one_waits_are_handled_after_it(
    server_factory: ServerFactory,
) -> None:
    broker = GatedBroker()
    async with _student_on(broker, server_factory) as student:
        broker.gate = gate = asyncio.Event()
        await student.send({"type": "chat.send", "text": "first", "id": 1})
        await asyncio.wait_for(broker.arrived.wait(), 5)  # it waits; its task runs the rest
        assert broker.held == 1
        await student.send({"type": "chat.send", "text": "second", "id": 2})
        await student.send({"type": "ping", "id": 3})
        await asyncio.sleep(0.05)
        assert broker.held == 1  # the later ones wait their turn, however they were read
        gate.set()
        answers: list[tuple[str, int]] = []
        while len(answers) < 3:
            reply = await student.receive()
            if reply["type"] != "event":
                answers.append((reply["type"], reply["id"]))
        assert answers == [("ack", 1), ("ack", 2), ("pong", 3)]
        # The first was taken in the read callback; the second, read while it waited, by the
        # connection's task.
        assert broker.from_read_callback == [True, False]


class RecordingRedisBroker(RedisBroker):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.from_read_callback: list[bool] = []  # for each append

    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        self.from_read_callback.append(_in_read_callback())
        return await super().append(session_id, payload, after=after)


async def test_over_redis_the_connections_task_handles_every_message(
    server_factory: ServerFactory, redis_server: RedisServer
) -> None:
    """Where every append waits for Redis, handling in the read callback saves nothing."""
    redis_server.flush()
    broker = RecordingRedisBroker(redis_server.url)
    async with _student_on(broker, server_factory) as student:
        await student.send({"type": "chat.send", "text": "hello", "id": 1})
        while (await student.receive())["type"] != "ack":
            pass
    assert len(broker.from_read_callback) >= 2  # the join's and the chat's
    assert not any(broker.from_read_callback)


class DeadlineBroker(MemoryBroker):
    """memory://, whose appends, once armed, wait under a deadline already past."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.seen: list[str] = []

    async def append(
        self, session_id: str, payload: bytes, *, after: LogPosition | None = None
    ) -> LogPosition:
        if self.armed:
            try:
                async with asyncio.timeout(0):  # the cancellation comes on the next loop turn
                    await asyncio.Event().wait()
            except BaseException as error:
                self.seen.append(type(error).__name__)
                raise
        return await super().append(session_id, payload, after=after)


async def test_a_deadline_in_a_message_taken_now_times_out_that_message_only(
    server_factory: ServerFactory,
) -> None:
    broker = DeadlineBroker()
    async with _student_on(broker, server_factory) as student:
        broker.armed = True
        await student.send({"type": "chat.send", "text": "hello", "id": 1})
        reply = await student.error()
        assert (reply["code"], reply["id"]) == ("internal_error", 1)
        assert broker.seen == ["TimeoutError"]  # the handler's own timeout, not the connection's
        broker.armed = False
        await student.ping()  # the connection goes on


@pytest.mark.parametrize("broker", ["memory", "redis"])
async def test_a_slow_client_found_after_a_message_is_logged_with_its_ids(
    broker: str,
    server_factory: ServerFactory,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The check after each message (here: the reply did not fit, so the client reads too
    slowly) logs with the connection's ids wherever the message was handled."""
    handle = gateway.ClientSession._handle

    async def handle_then_overflow(session: gateway.ClientSession, frame: Frame) -> Any:
        outcome = await handle(session, frame)
        session.connection._overflow()  # what the fan-out does when a queue is full
        return outcome

    monkeypatch.setattr(gateway.ClientSession, "_handle", handle_then_overflow)
    caplog.handler.addFilter(logs.ContextFilter())
    async with _student_and_teacher(broker, server_factory, redis_server) as parties:
        room, student, _ = parties
        await student.send({"type": "ping", "id": 1})
        assert await student.close_code() == 4008
    [record] = [r for r in caplog.records if "slow consumer" in r.getMessage()]
    assert record.__dict__["session"] == room.session_id
    assert record.__dict__["participant"].startswith("p")
