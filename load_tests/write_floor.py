"""``python -m load_tests write-floor``: what one small socket write costs on this machine.

Every delivered event ends in a ``send()`` on its recipient's socket, alone or sharing a frame
with others. On loopback that call also runs the receiving side's TCP work and wakes the reader,
all charged to the sender, and its price differs between machines more than Python's does: on
two 2-core machines of the same kind the chat benchmark's servers used about twice as much CPU
for the same deliveries on one as on the other (docs/performance-history.md, "A second
machine"). How far batching can carry a server against one that writes once per event and
recipient depends on that price, so it is measured here, with no server at all: this process
writes a small payload to N loopback connections, ``burst`` connections per event-loop turn,
while a spawned process reads them all. The figure is this process's own CPU per write.
Loopback only; bounded in time and count.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection as Pipe

from load_tests.scenario import run_async

READY_TIMEOUT = 30.0  # the reader's spawn, import and connections
MAX_CONNECTIONS = 5_000
MAX_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class WriteFloorConfig:
    connections: int = 300
    bursts: tuple[int, ...] = (1, 30, 300)  # connections written per loop turn
    turn_ms: float = 10.0  # pause between turns
    seconds: float = 5.0  # measured per burst size
    payload: int = 100  # bytes per write (a chat event's frame is about this size)


@dataclass(frozen=True, slots=True)
class FloorResult:
    burst: int
    writes: int
    elapsed_s: float
    user_s: float
    system_s: float

    @property
    def writes_per_second(self) -> float:
        return self.writes / self.elapsed_s

    @property
    def user_us(self) -> float:
        return self.user_s / self.writes * 1e6

    @property
    def system_us(self) -> float:
        return self.system_s / self.writes * 1e6


def validate(config: WriteFloorConfig) -> None:
    if not 1 <= config.connections <= MAX_CONNECTIONS:
        raise ValueError(f"connections must be between 1 and {MAX_CONNECTIONS}")
    if not config.bursts or any(not 1 <= b <= config.connections for b in config.bursts):
        raise ValueError("every burst must be between 1 and the number of connections")
    if not 0 < config.seconds <= MAX_SECONDS:
        raise ValueError(f"seconds must be above 0 and at most {MAX_SECONDS:.0f}")
    if not 1 <= config.turn_ms <= 1000:
        raise ValueError("turn_ms must be between 1 and 1000")
    if not 1 <= config.payload <= 65_536:
        raise ValueError("payload must be between 1 and 65536 bytes")


def run_write_floor(config: WriteFloorConfig) -> tuple[list[FloorResult], int, int]:
    """Each burst size's result, the bytes written and the bytes the reader received."""
    validate(config)
    return run_async(lambda: _measure(config))


async def _measure(config: WriteFloorConfig) -> tuple[list[FloorResult], int, int]:
    accepted: list[asyncio.WriteTransport] = []
    all_joined = asyncio.Event()

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.transport)
        if len(accepted) == config.connections:
            all_joined.set()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with _reader_process(port, config.connections) as pipe:
        await asyncio.wait_for(all_joined.wait(), READY_TIMEOUT)
        payload = b"x" * config.payload
        results = [await _one_burst(accepted, payload, burst, config) for burst in config.bursts]
        for transport in accepted:
            transport.close()  # the reader sees every connection end, then reports
        server.close()
        if not await asyncio.to_thread(pipe.poll, READY_TIMEOUT):
            raise TimeoutError("the reader process did not report what it received")
        received: int = pipe.recv()
    written = sum(r.writes for r in results) * config.payload
    return results, written, received


async def _one_burst(
    transports: Sequence[asyncio.WriteTransport],
    payload: bytes,
    burst: int,
    config: WriteFloorConfig,
) -> FloorResult:
    pause = config.turn_ms / 1000
    await asyncio.sleep(pause)  # the previous burst's writes are read before this one starts
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    writes, next_index = 0, 0
    while time.monotonic() - started < config.seconds:
        for _ in range(burst):
            transports[next_index].write(payload)
            next_index = (next_index + 1) % len(transports)
        writes += burst
        await asyncio.sleep(pause)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return FloorResult(burst, writes, elapsed, user, system)


@contextlib.asynccontextmanager
async def _reader_process(port: int, connections: int) -> AsyncIterator[Pipe]:
    context = multiprocessing.get_context("spawn")  # nothing of this process's loop inherited
    ours, theirs = context.Pipe()
    process = context.Process(target=reader_main, args=(port, connections, theirs), daemon=True)
    process.start()
    theirs.close()
    try:
        yield ours
    finally:
        await asyncio.to_thread(process.join, 10.0)
        if process.is_alive():
            process.kill()


def reader_main(port: int, connections: int, pipe: Pipe) -> None:
    """The reading process: N connections read to their end; the total goes up the pipe."""
    pipe.send(run_async(lambda: _read_all(port, connections)))


async def _read_all(port: int, connections: int) -> int:
    async def read_one() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        total = 0
        while chunk := await reader.read(65_536):
            total += len(chunk)
        writer.close()
        return total

    totals = await asyncio.wait_for(
        asyncio.gather(*(read_one() for _ in range(connections))),
        READY_TIMEOUT + MAX_SECONDS * 10,
    )
    return sum(totals)


def format_floor(results: Sequence[FloorResult], written: int, received: int) -> str:
    lines = [
        f"{'burst':>6} {'writes/s':>10} {'user us':>8} {'sys us':>8} {'total us':>9}",
    ]
    for r in results:
        total = r.user_us + r.system_us
        lines.append(
            f"{r.burst:>6} {r.writes_per_second:>10,.0f} {r.user_us:>8.2f} {r.system_us:>8.2f}"
            f" {total:>9.2f}"
        )
    lines.append(f"\nbytes written {written:,}, read by the other process {received:,}")
    lines.append(
        "Note: CPU of the writing process per write of the payload (user + system, from "
        "getrusage), writing 'burst' connections per event-loop turn; on loopback the system "
        f"time includes the receiver's TCP work. {os.cpu_count()} CPUs."
    )
    return "\n".join(lines)
