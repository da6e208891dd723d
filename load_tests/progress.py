"""A live progress line on stderr while a rate runs (redrawn in place on a terminal)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from load_tests.tally import PhaseTally

MAX_TICKS = 100_000  # the loop is cancelled when its rate ends; this only bounds it


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
        task = asyncio.create_task(self._loop(system, tally, rates)) if self.enabled else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                self._show(system, tally, rates, final=True)

    async def _loop(self, system: str, tally: PhaseTally, rates: int) -> None:
        for _ in range(MAX_TICKS):
            await asyncio.sleep(self.interval)
            self._show(system, tally, rates)

    def _show(self, system: str, tally: PhaseTally, rates: int, final: bool = False) -> None:
        now = time.monotonic_ns()
        stage = "warm-up" if now < tally.window.start_ns else "measure"
        stage = "drain" if now >= tally.window.end_ns else stage
        stage = "done" if final else stage
        elapsed = max(0.0, (now - tally.window.start_ns) / 1e9)
        line = (
            f"{system:<11} rate {tally.index + 1}/{rates} {tally.rate:g} {self.unit} {stage:<7} "
            f"{elapsed:5.1f}s  sent {tally.sent}  acked {tally.acked_count}  "
            f"delivered {tally.unique_deliveries}  errors {sum(tally.errors.values())}"
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
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                self.show(render(), final=True)
