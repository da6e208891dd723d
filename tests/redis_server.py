"""A real redis-server for the tests, on a free loopback port, that a test may stop, kill and
restart. Never the machine's own Redis on 6379. By default it keeps nothing across a restart;
given a ``data_dir`` it persists every write (AOF, fsync always), so a restart keeps all."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import required_tool

STARTUP_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(port: int, *words: str) -> bytes:
    """Send one command in Redis's inline form and return the first reply line."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(" ".join(words).encode() + b"\r\n")
        return sock.recv(1024).split(b"\r\n")[0]


class RedisServer:
    def __init__(
        self, executable: str, data_dir: Path | None = None, *, snapshots_only: bool = False
    ) -> None:
        self.executable = executable
        self.data_dir = data_dir
        # With a data_dir: only what ``save`` wrote comes back after a restart (as with
        # ``appendfsync everysec``, Redis then returns short of its last writes).
        self.snapshots_only = snapshots_only
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        options = ["--save", "", "--daemonize", "no", "--loglevel", "warning"]
        if self.data_dir is None:
            # No persistence: a restart loses everything, as a cache-only Redis would.
            options += ["--appendonly", "no"]
        elif self.snapshots_only:
            options += ["--appendonly", "no", "--dir", str(self.data_dir)]
        else:
            options += ["--appendonly", "yes", "--appendfsync", "always"]
            options += ["--dir", str(self.data_dir)]
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                if _command(self.port, "PING") == b"+PONG":
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def flush(self) -> None:
        assert _command(self.port, "FLUSHALL") == b"+OK"

    def save(self) -> None:
        """Write what a restart of a ``snapshots_only`` server brings back."""
        assert _command(self.port, "SAVE") == b"+OK"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def redis_executable() -> str:
    return required_tool("redis-server")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(redis_executable())
    try:
        yield server
    finally:
        server.stop()
