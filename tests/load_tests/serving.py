"""``python -m load_tests serve`` run as a child process for a test, and its plan read."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0  # three servers, one after the other, on a busy CI machine
STOP_TIMEOUT = 20.0
TIMEOUT = 10.0
SERVE_SECONDS = "100"  # should a test die without stopping it, serve stops by itself


class Serving:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.output: list[str] = []

    async def read_until(self, text: str) -> None:
        assert self.process.stdout is not None
        async with asyncio.timeout(TIMEOUT):
            while not any(text in line for line in self.output):
                line = await self.process.stdout.readline()
                if not line:
                    raise AssertionError(f"exited before {text!r}: {self.output}")
                self.output.append(line.decode())

    async def exit_status_and_output(self) -> tuple[int, str]:
        assert self.process.stdout is not None
        async with asyncio.timeout(STOP_TIMEOUT):
            rest = await self.process.stdout.read()
            status = await self.process.wait()
        return status, "".join(self.output) + rest.decode()


async def start_serve(plan: Path, *args: str) -> Serving:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "load_tests", "serve", "--plan", str(plan), *args),
        *("--seconds", SERVE_SECONDS),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=REPO_ROOT,
    )
    return Serving(process)


@asynccontextmanager
async def serving(plan: Path, *args: str) -> AsyncIterator[tuple[Serving, dict[str, Any]]]:
    running = await start_serve(plan, *args)
    process = running.process
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not await asyncio.to_thread(plan.exists):
                if process.returncode is not None:
                    _, output = await running.exit_status_and_output()
                    raise AssertionError(f"serve exited before writing its plan:\n{output}")
                await asyncio.sleep(0.2)
        yield running, json.loads(await asyncio.to_thread(plan.read_text))
    finally:
        await stop_serve(running)


async def stop_serve(running: Serving) -> None:
    """After a failed test: stop it as an operator would, then for good."""
    process = running.process
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
