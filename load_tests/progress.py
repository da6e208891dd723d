"""A live progress line on stderr while a rate runs (redrawn in place on a terminal)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, TextIO

from load_tests.tally import PhaseTally, Window
from server.cancelling import cancel_and_wait

MAX_TICKS = 100_000  # the loop is cancelled when its rate ends; this only bounds it


class Counts(NamedTuple):
    """What the progress line shows of a rate so far (a generator process reports its own)."""

    sent: int
    acked: int
    delivered: int
    errors: int


def counts_of(tally: PhaseTally) -> Counts:
    return Counts(
        tally.sent, tally.acked_count, tally.unique_deliveries, sum(tally.errors.values())
    )


def summed_counts(parts: Iterable[Counts]) -> Counts:
    parts = list(parts)
    return Counts(
        sum(part.sent for part in parts),
        sum(part.acked for part in parts),
        sum(part.delivered for part in parts),
        sum(part.errors for part in parts),
    )


@dataclass(frozen=True, slots=True)
class RateStep:
    """Which rate of which system a progress line is about."""

    system: str
    index: int
    rate: float
    window: Window
    rates: int  # how many rates the system runs


class Progress:
    def __init__(
        self, enabled: bool = True, stream: TextIO | None = None, unit: str = "msg/s"
    ) -> None:
        self.unit = unit
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 0.5 if self.tty else 2.0

    def note(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"{text}\n")
            self.stream.flush()

    @contextlib.asynccontextmanager
    async def watching(self, system: str, tally: PhaseTally, rates: int) -> AsyncIterator[None]:
        step = RateStep(system, tally.index, tally.rate, tally.window, rates)
        async with self.watching_counts(step, lambda: counts_of(tally)):
            yield

    @contextlib.asynccontextmanager
    async def watching_counts(
        self, step: RateStep, counts: Callable[[], Counts]
    ) -> AsyncIterator[None]:
        """The rate's line every interval, ``counts()`` read each time, and once at the end."""
        task = asyncio.create_task(self._loop(step, counts)) if self.enabled else None
        try:
            yield
        finally:
            if task is not None:
                await cancel_and_wait(task)
                self._show(step, counts(), final=True)

    async def _loop(self, step: RateStep, counts: Callable[[], Counts]) -> None:
        for _ in range(MAX_TICKS):
            await asyncio.sleep(self.interval)
            self._show(step, counts())

    def _show(self, step: RateStep, counts: Counts, final: bool = False) -> None:
        now = time.monotonic_ns()
        stage = "warm-up" if now < step.window.start_ns else "measure"
        stage = "drain" if now >= step.window.end_ns else stage
        stage = "done" if final else stage
        elapsed = max(0.0, (now - step.window.start_ns) / 1e9)
        line = (
            f"{step.system:<11} rate {step.index + 1}/{step.rates} {step.rate:g} {self.unit} "
            f"{stage:<7} {elapsed:5.1f}s  sent {counts.sent}  acked {counts.acked}  "
            f"delivered {counts.delivered}  errors {counts.errors}"
        )
        if self.tty:
            self.stream.write(f"\r\x1b[2K{line}" + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def show(self, text: str, final: bool = False) -> None:
        """One progress line (redrawn in place on a terminal)."""
        if self.tty:
            self.stream.write(f"\r\x1b[2K{text}" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    @contextlib.asynccontextmanager
    async def ticking(self, render: Callable[[], str]) -> AsyncIterator[None]:
        """``render()``'s line every interval while the body runs, and once more at the end."""

        async def loop() -> None:
            for _ in range(MAX_TICKS):
                await asyncio.sleep(self.interval)
                self.show(render())

        task = asyncio.create_task(loop()) if self.enabled else None
        try:
            yield
        finally:
            if task is not None:
                await cancel_and_wait(task)
                self.show(render(), final=True)
