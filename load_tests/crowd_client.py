"""One generator process of the idle-connections and join-storm benchmarks.

It opens one lean WebSocket per token at the time the schedule gives it (a shared monotonic
clock: CLOCK_MONOTONIC is the same in every process of the machine), joins, times connect ->
welcome, and then holds the connection without decoding anything more (an idle classroom tab
costs the generator nothing but the kernel's buffers). The parent drives it over a pipe:
"joined" once every connection has its welcome or failed, "stop" to close them all.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

from load_tests.transport import LeanSocket
from load_tests.wire import Codec


@dataclass(frozen=True, slots=True)
class WorkerPlan:
    ws_url: str
    wire_format: str
    tokens: list[str]
    offsets: list[float]  # seconds after the start at which each token connects
    start_at: float  # time.monotonic() of the start, shared by every process
    timeout: float  # per join: connect -> welcome


@dataclass(slots=True)
class WorkerResult:
    welcomed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    dropped: int = 0  # welcomed, then closed by the server while held
    cpu_seconds: float = 0.0
    late_starts: int = 0  # joins that started > 50 ms after their slot: the generator lagged

    def as_dict(self) -> dict[str, Any]:
        return {
            "welcomed": self.welcomed,
            "latencies_ms": self.latencies_ms,
            "errors": dict(self.errors),
            "dropped": self.dropped,
            "cpu_seconds": self.cpu_seconds,
            "late_starts": self.late_starts,
        }


def raise_fd_limit() -> int:
    """The soft limit on open files raised to the hard one (10k sockets need more than 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


class HeldClient:
    """One joining, then idle, participant."""

    __slots__ = ("closing", "codec", "result", "socket", "started", "welcome", "welcomed")

    def __init__(self, codec: Codec, result: WorkerResult) -> None:
        self.codec = codec
        self.result = result
        self.socket: LeanSocket | None = None
        self.welcome: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.started = 0.0
        self.welcomed = False
        self.closing = False

    async def join(self, url: str, token: str, timeout: float) -> None:
        self.started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                self.socket = await LeanSocket.connect(
                    url, self.codec.subprotocol, self._on_frame, timeout
                )
                self.socket.closed.add_done_callback(self._on_closed)
                self.socket.send(self.codec.encode({"type": "join", "token": token, "id": "j"}))
                refused = await self.welcome
        except (OSError, TimeoutError) as error:
            self.result.errors[type(error).__name__] += 1
            return
        if refused is not None:
            self.result.errors[refused] += 1
            return
        self.welcomed = True
        self.result.welcomed += 1
        self.result.latencies_ms.append((time.monotonic() - self.started) * 1000)

    def _on_frame(self, frame: bytes | str) -> None:
        if self.welcome.done():
            return  # held: presence of the others joining, never decoded
        try:
            messages = self.codec.messages(frame)
        except ValueError:
            self.welcome.set_result("undecodable frame")
            return
        for message in messages:
            if message.get("type") == "welcome":
                self.welcome.set_result(None)
                return
            if message.get("type") == "error":
                self.welcome.set_result(f"error {message.get('code')}")
                return

    def _on_closed(self, _: object) -> None:
        if not self.welcome.done():
            socket = self.socket
            code = socket.close_code if socket is not None else None
            self.welcome.set_result(f"closed {code}")
        elif self.welcomed and not self.closing:
            self.result.dropped += 1

    def abort(self) -> None:
        self.closing = True
        if self.socket is not None:
            self.socket.abort()


async def _run(plan: WorkerPlan, pipe: Pipe) -> None:
    result = WorkerResult()
    codec = Codec(plan.wire_format)
    clients = [HeldClient(codec, result) for _ in plan.tokens]
    joins = []
    for client, token, offset in zip(clients, plan.tokens, plan.offsets, strict=True):
        delay = plan.start_at + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            result.late_starts += 1
        joins.append(asyncio.create_task(client.join(plan.ws_url, token, plan.timeout)))
    await asyncio.gather(*joins)
    pipe.send(("joined", result.as_dict()))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    for client in clients:
        client.abort()
    await asyncio.sleep(0.2)  # let the aborts reach the kernel before the process exits
    times = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_seconds = times.ru_utime + times.ru_stime
    pipe.send(("done", result.as_dict()))


def worker_main(pipe: Pipe) -> None:
    """The entry point of one generator process: "ready" once imported, then the plan."""
    raise_fd_limit()
    pipe.send(("ready", {}))
    plan: WorkerPlan = pipe.recv()
    try:
        import uvloop

        uvloop.run(_run(plan, pipe))
    except ImportError:
        asyncio.run(_run(plan, pipe))
    finally:
        pipe.close()
