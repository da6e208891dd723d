"""How the clients are spread over a server's worker processes.

``classbridge serve --workers N`` shares one listening socket among N processes and the kernel
hands each new connection to whichever accepts first, so an even spread is not a given. Two
views: which worker answers ``/healthz`` (it names the worker; a fresh connection per probe),
and, exactly, which process holds each established WebSocket connection (matching the socket
inodes of /proc/PID/fd against the server port in /proc/net/tcp).
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from collections import Counter
from collections.abc import Iterable

MAX_FDS = 100_000  # per process: bounds the scan
ESTABLISHED = "01"  # TCP state in /proc/net/tcp
POLL = 0.05
MIN_PROBES = 20  # /healthz probes at least, so that the answers show a spread


def connections_per_process(pids: Iterable[int], port: int) -> dict[int, int]:
    """Established TCP connections on local ``port`` held by each of ``pids`` (Linux)."""
    owner = {inode: pid for pid in pids for inode in _socket_inodes(pid)}
    counts: Counter[int] = Counter()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as table_file:
                rows = table_file.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()  # sl local remote state ... uid timeout inode
            if len(fields) < 10 or fields[3] != ESTABLISHED:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and (pid := owner.get(int(fields[9]))) is not None:
                counts[pid] += 1
    return dict(counts)


def process_of_peer(pids: Iterable[int], port: int, peer_port: int) -> int | None:
    """Which of ``pids`` holds the server end of the loopback connection from ``peer_port`` to
    local ``port`` (the worker that accepted a client's connection); None if none does."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as table_file:
                rows = table_file.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 10 or fields[3] != ESTABLISHED:
                continue
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if int(local, 16) == port and int(remote, 16) == peer_port:
                inode = int(fields[9])
    if inode is None:
        return None
    return next((pid for pid in pids if inode in _socket_inodes(pid)), None)


def _socket_inodes(pid: int) -> list[int]:
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    inodes = []
    for name in names[:MAX_FDS]:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:  # closed since the listing
            continue
        if link.startswith("socket:["):
            inodes.append(int(link[8:-1]))
    return inodes


def _worker_id(base_url: str) -> str | None:
    """The worker that answered /healthz on a fresh connection; None if none did."""
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2.0) as response:
            body = json.loads(response.read())
    except (OSError, ValueError):
        return None
    worker = body.get("worker") if isinstance(body, dict) else None
    return str(worker) if worker is not None else None


async def wait_for_workers(base_url: str, workers: int, timeout: float) -> Counter[str]:
    """Probe /healthz until ``workers`` distinct workers have answered (and at least
    MIN_PROBES probes are in) or ``timeout`` passes; worker id -> probes it answered.

    A worker still starting accepts nothing, so clients joining before every worker is up
    would all land on the others; the caller reports what was seen either way.
    """
    seen: Counter[str] = Counter()
    for _ in range(max(MIN_PROBES, int(timeout / POLL))):
        if (worker := await asyncio.to_thread(_worker_id, base_url)) is not None:
            seen[worker] += 1
        if len(seen) >= workers and seen.total() >= MIN_PROBES:
            break
        if len(seen) < workers:
            await asyncio.sleep(POLL)
    return seen
