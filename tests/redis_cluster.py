"""A real 3-master Redis Cluster for the tests, on free loopback ports: three
``redis-server --cluster-enabled yes`` joined by ``redis-cli --cluster create``. Never the
machine's own Redis on 6379."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.tools import required_tool

MASTERS = 3
STARTUP_SECONDS = 20.0
BUS_OFFSET = 10000  # Redis Cluster nodes talk to each other on port + 10000


def _free_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and exists too."""
    for _ in range(100):
        with socket.socket() as sock, socket.socket() as bus:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            if port + BUS_OFFSET > 65535:
                continue
            try:
                bus.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair for a Cluster node")


def command(port: int, *words: str) -> bytes:
    """One command in Redis's inline form; its reply, for a bulk string the string itself."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(" ".join(words).encode() + b"\r\n")
        reply = b""
        while b"\r\n" not in reply:
            reply += sock.recv(65536) or b"\r\n"
        head, _, rest = reply.partition(b"\r\n")
        if not head.startswith(b"$") or head == b"$-1":
            return head
        size = int(head[1:])
        while len(rest) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest[:size]


class RedisCluster:
    def __init__(self, server: str, cli: str) -> None:
        self.ports = [_free_port() for _ in range(MASTERS)]
        self._dir = tempfile.TemporaryDirectory(prefix="cb-cluster-")
        self.processes = [self._start(server, port) for port in self.ports]
        try:
            self._create(cli)
        except BaseException:
            self.stop()
            raise

    def _create(self, cli: str) -> None:
        self._wait(lambda port: command(port, "PING") == b"+PONG")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=STARTUP_SECONDS,
        )
        self._wait(lambda port: b"cluster_state:ok" in command(port, "CLUSTER", "INFO"))

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def _start(self, executable: str, port: int) -> subprocess.Popen[bytes]:
        config = Path(self._dir.name) / f"nodes-{port}.conf"
        options = ["--dir", self._dir.name, "--save", "", "--appendonly", "no"]
        cluster = ["--cluster-enabled", "yes", "--cluster-config-file", str(config)]
        return subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", *cluster, *options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait(self, ready: Callable[[int], bool]) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        pending = list(self.ports)
        while pending and time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # not listening yet
                pending = [p for p in pending if not ready(p)]
            if pending:
                time.sleep(0.05)
        if pending:
            raise RuntimeError(f"Redis Cluster nodes not ready: {pending}")

    def flush(self) -> None:
        for port in self.ports:
            assert command(port, "FLUSHALL") == b"+OK"

    def master_of(self, key: str) -> int:
        """The port of the master that serves ``key``'s slot now."""
        slot = int(command(self.ports[0], "CLUSTER", "KEYSLOT", key)[1:])
        for port in self.ports:
            for line in command(port, "CLUSTER", "NODES").decode().splitlines():
                if "myself" in line and "master" in line and _serves(line, slot):
                    return port
        raise LookupError(f"no master serves slot {slot}")

    def move_slot(self, key: str, to_port: int) -> None:
        """Move ``key``'s slot, with its keys, to the master on ``to_port``: what resharding
        (``redis-cli --cluster reshard``) does, one slot at a time."""
        slot = command(self.ports[0], "CLUSTER", "KEYSLOT", key)[1:].decode()
        source = self.master_of(key)
        ids = {port: command(port, "CLUSTER", "MYID").decode() for port in self.ports}
        with redis.Redis(port=source) as src, redis.Redis(port=to_port) as dst:
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[source])
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[to_port])
            keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, "1000")
            if keys:
                src.execute_command("MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *keys)
        for port in (to_port, source, *self.ports):  # the new owner first, as redis-cli does
            command(port, "CLUSTER", "SETSLOT", slot, "NODE", ids[to_port])

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(10)
        self._dir.cleanup()


def _serves(node_line: str, slot: int) -> bool:
    for item in node_line.split()[8:]:
        if item.startswith("["):
            continue  # a slot being migrated or imported
        low, _, high = item.partition("-")
        if int(low) <= slot <= int(high or low):
            return True
    return False


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    cluster = RedisCluster(required_tool("redis-server", "redis-cli"), required_tool("redis-cli"))
    try:
        yield cluster
    finally:
        cluster.stop()
