"""`classbridge serve` as a real subprocess on a free port, for tests that need a whole
process (the CLI itself, several workers, a worker killed with -9)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLASSBRIDGE = Path(sys.executable).with_name("classbridge")
STARTUP = 20.0


@dataclass
class Running:
    process: asyncio.subprocess.Process
    port: int = 0  # as printed by the server: it is started with --port 0
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def read_until(self, pattern: str, count: int = 1) -> list[re.Match[str]]:
        """Read stdout until ``pattern`` has matched ``count`` lines."""
        found: list[re.Match[str]] = [m for line in self.stdout if (m := re.search(pattern, line))]
        assert self.process.stdout is not None
        async with asyncio.timeout(STARTUP):
            while len(found) < count:
                raw = await self.process.stdout.readline()
                assert raw, f"the server exited: {self.stdout} {self.stderr}"
                line = raw.decode()
                self.stdout.append(line)
                if match := re.search(pattern, line):
                    found.append(match)
        return found


async def _collect(stream: asyncio.StreamReader | None, into: list[str]) -> None:
    assert stream is not None
    while raw := await stream.readline():
        into.append(raw.decode())


TEST_PRESENCE_GRACE = "0.5"  # seconds


@asynccontextmanager
async def serve(*args: str) -> AsyncIterator[Running]:
    """Run `classbridge serve` with a clean environment: no secret, no API key. The presence
    grace is short unless ``args`` set one: on SIGTERM the drain waits out the grace of every
    participant whose connection just closed (server/drain.py), which at the default 5 s was
    most of the time such a test took."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLASSBRIDGE_")}
    env["PYTHONUNBUFFERED"] = "1"
    process = await asyncio.create_subprocess_exec(
        str(CLASSBRIDGE),
        "serve",
        "--port",
        "0",
        "--presence-grace",
        TEST_PRESENCE_GRACE,
        *args,  # later options win: a test's own grace replaces the short one
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    running = Running(process)
    stderr = asyncio.create_task(_collect(process.stderr, running.stderr))
    try:
        # The first line names the address, with the port the system chose.
        [address] = await running.read_until(r"^Classbridge on http://localhost:(\d+) ")
        running.port = int(address[1])
        yield running
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        await stderr


async def wait_healthy(http: httpx.AsyncClient) -> httpx.Response:
    async with asyncio.timeout(STARTUP):
        while True:
            try:
                return await http.get("/healthz")
            except httpx.TransportError:
                await asyncio.sleep(0.05)
