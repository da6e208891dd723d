"""The parent's side of the chat fan-out's generator processes: start them (spawned, so that
nothing of this process's loop is inherited), give each its block of sessions, run each rate
on all of them at once, and collect their tallies (load_tests/generator_process.py is the
other side of the pipes)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import Any

from load_tests.config import FanoutConfig
from load_tests.generator_plan import (
    JoinPlan,
    RatePlan,
    SessionBlock,
    process_seed,
    rate_share,
    session_blocks,
    uniform_phase_ns,
)
from load_tests.generator_process import worker_main
from load_tests.progress import Counts, counts_of, summed_counts
from load_tests.rate_step import SETTLE
from load_tests.tally import Window
from load_tests.tally_merge import PartTally

READY_TIMEOUT = 60.0  # spawn and import, on a machine the server keeps busy
JOIN_DELAY_NS = 200_000_000  # between handing out the join plans and the first join
ANSWER_MARGIN = 30.0  # seconds past what a step should take before a silent process is given up
STOP_TIMEOUT = 10.0  # for a process to close its clients and exit; then it is killed
MAX_MESSAGES = 1_000_000  # per rate and process (ticks, then the tally): only bounds the loop


class GeneratorLink:
    """One generator process and the parent's end of its pipe."""

    def __init__(self, number: int, process: BaseProcess, pipe: Pipe) -> None:
        self.number = number
        self.process = process
        self.pipe = pipe

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, message: object) -> None:
        self.pipe.send(message)

    async def receive(self, timeout: float) -> tuple[str, Any]:
        """The process's next message. Waits on the loop (not in a thread: a pool of threads
        blocked on pipes would starve asyncio.to_thread), raises what the process reported."""
        if not self.pipe.poll():
            await self._readable(timeout)
        try:
            kind, body = self.pipe.recv()
        except EOFError:
            code = self.process.exitcode
            raise RuntimeError(f"generator process {self.number} exited (code {code})") from None
        if kind == "failed":
            raise RuntimeError(f"generator process {self.number}: {body}")
        return kind, body

    async def expect(self, expected: str, timeout: float) -> Any:
        kind, body = await self.receive(timeout)
        if kind != expected:
            raise RuntimeError(f"generator process {self.number} sent {kind!r}, not {expected!r}")
        return body

    async def _readable(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        fd = self.pipe.fileno()
        loop.add_reader(fd, wake)
        try:
            async with asyncio.timeout(timeout):
                await ready
        except TimeoutError:
            what = f"generator process {self.number} sent nothing in {timeout:.0f} s"
            raise TimeoutError(what) from None
        finally:
            loop.remove_reader(fd)
            # The loop made the pipe non-blocking to watch it (uvloop does); recv() must block
            # until a whole message (a rate's tally can be megabytes) is in, and send() too.
            os.set_blocking(fd, True)


class GeneratorPool:
    """The generator processes of one system's run, each holding one block of sessions."""

    def __init__(self, links: Sequence[GeneratorLink], config: FanoutConfig) -> None:
        self.links = list(links)
        self.config = config
        self.blocks = session_blocks(config.sessions, len(self.links))
        self._counts = [Counts(0, 0, 0, 0)] * len(self.links)

    @property
    def pids(self) -> list[int]:
        return [link.pid for link in self.links if link.pid is not None]

    async def join(self, ws_url: str, wire: str, tokens: list[list[str]], timeout: float) -> None:
        """Every process joins its clients; the slots of all of them together spread the joins
        over the ramp as one process would (load_tests/fanout.py's ``join_all``)."""
        config = self.config
        step_ns = config.ramp / config.total_clients * 1e9
        join_at = time.monotonic_ns() + JOIN_DELAY_NS
        for link, block in zip(self.links, self.blocks, strict=True):
            first = block.first * config.clients  # its first client's place in the run
            count = block.count * config.clients
            link.send(
                JoinPlan(
                    ws_url,
                    wire,
                    config.wire_format,
                    config.pad,
                    config.senders,
                    tokens[block.first : block.first + block.count],
                    join_at,
                    [int((first + k) * step_ns) for k in range(count)],
                    timeout,
                )
            )
        answer_within = JOIN_DELAY_NS / 1e9 + config.ramp + timeout + ANSWER_MARGIN
        await asyncio.gather(*(link.expect("joined", answer_within) for link in self.links))

    def counts(self) -> Counts:
        """The current rate's counts over all processes, as of their last reports."""
        return summed_counts(self._counts)

    async def offer(
        self, config: FanoutConfig, index: int, start_ns: int, window: Window
    ) -> list[PartTally]:
        """Rate ``index`` of ``config`` (the step's: a capacity search adds a rate per step) on
        every process at once, from ``start_ns``: each process's tally of its sessions, in
        process (so session) order."""
        self._counts = [Counts(0, 0, 0, 0)] * len(self.links)
        span = config.warmup + config.duration
        for number, (link, block) in enumerate(zip(self.links, self.blocks, strict=True)):
            plan = _rate_plan(config, number, block, index, start_ns, window)
            link.send(("rate", plan))
        late_by = (start_ns - time.monotonic_ns()) / 1e9 + span
        answer_within = late_by + config.drain_timeout + SETTLE + ANSWER_MARGIN
        deadline = time.monotonic() + answer_within
        return list(await asyncio.gather(*(self._collect(link, deadline) for link in self.links)))

    async def _collect(self, link: GeneratorLink, deadline: float) -> PartTally:
        for _ in range(MAX_MESSAGES):
            kind, body = await link.receive(max(0.0, deadline - time.monotonic()))
            if kind == "tick":
                self._counts[link.number] = body
            elif kind == "rate":
                part: PartTally = body
                self._counts[link.number] = counts_of(part.tally)  # its final counts
                return part
            else:
                raise RuntimeError(f"generator process {link.number} sent {kind!r} in a rate")
        raise RuntimeError(f"generator process {link.number} never sent its tally")


def _rate_plan(
    config: FanoutConfig,
    number: int,
    block: SessionBlock,
    index: int,
    start_ns: int,
    window: Window,
) -> RatePlan:
    """What generator process ``number``, holding ``block``, runs of rate ``index``."""
    rate = config.rates[index]
    phase_ns = uniform_phase_ns(rate, config.arrival, number)
    return RatePlan(
        index,
        rate_share(rate, block, config.sessions),
        start_ns + phase_ns,
        window,
        config.warmup + config.duration - phase_ns / 1e9,  # its sends end with everyone's
        config.arrival,
        process_seed(config.seed, index, number),
        config.drain_timeout,
    )


@contextlib.asynccontextmanager
async def generator_processes(count: int) -> AsyncIterator[list[GeneratorLink]]:
    """``count`` generator processes, each ready (imported); stopped on the way out."""
    context = multiprocessing.get_context("spawn")  # nothing of this process's loop inherited
    links: list[GeneratorLink] = []
    try:
        for number in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(target=worker_main, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
            links.append(GeneratorLink(number, process, ours))
        await asyncio.gather(*(link.expect("ready", READY_TIMEOUT) for link in links))
        yield links
    finally:
        for link in links:
            with contextlib.suppress(OSError):  # a process that failed has closed its end
                link.send(("stop", None))
        for link in links:
            await asyncio.to_thread(link.process.join, STOP_TIMEOUT)
            if link.process.is_alive():
                link.process.kill()
            link.pipe.close()
