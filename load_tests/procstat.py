"""CPU time and memory of a process (or a process and its children) from /proc (Linux only)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
MAX_PROCESSES = 100_000  # /proc entries read per scan: bounds the loop on any machine


@dataclass(frozen=True, slots=True)
class ProcessSample:
    cpu_seconds: float  # user + system since the process started
    rss_bytes: int
    peak_rss_bytes: int  # VmHWM: the largest RSS so far
    processes: int = 1  # how many processes the figures are summed over


def sample_process(pid: int | None) -> ProcessSample | None:
    """A sample of ``pid``, or None when there is no pid or the process cannot be read."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat_file:
            stat = stat_file.read()
        with open(f"/proc/{pid}/status", encoding="utf-8") as status_file:
            status = status_file.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: the fields we need follow its closing ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime and stime (fields 14 and 15)
    return ProcessSample(
        cpu, _status_kib(status, "VmRSS") * 1024, _status_kib(status, "VmHWM") * 1024
    )


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (``classbridge serve --workers N`` runs its workers as
    children of a supervisor): the server's cost is the sum over all of them."""
    children: dict[int, list[int]] = {}
    for _, name in zip(range(MAX_PROCESSES), os.listdir("/proc"), strict=False):
        if name.isdigit() and (parent := _parent(int(name))) is not None:
            children.setdefault(parent, []).append(int(name))
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < MAX_PROCESSES:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat_file:
            stat = stat_file.read()
    except OSError:  # gone since the listing
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])  # field 4, after the state


def summed(samples: Iterable[ProcessSample | None]) -> ProcessSample | None:
    """CPU and memory summed over processes (peak RSS is the sum of each one's own peak: an
    upper bound, since the peaks need not coincide). None when none could be read."""
    present = [s for s in samples if s is not None]
    if not present:
        return None
    return ProcessSample(
        sum(s.cpu_seconds for s in present),
        sum(s.rss_bytes for s in present),
        sum(s.peak_rss_bytes for s in present),
        len(present),
    )


def sample_tree(pid: int | None) -> ProcessSample | None:
    """``pid`` and its descendants, summed; None when there is no pid or it cannot be read."""
    return None if pid is None else summed(map(sample_process, descendants(pid)))


def sample_system(pid: int | None, redis_pid: int | None) -> ProcessSample | None:
    """A system under test: its server's process tree plus the redis-server it alone uses."""
    return summed([sample_tree(pid), sample_process(redis_pid)])


def _status_kib(status: str, key: str) -> int:
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass(frozen=True, slots=True)
class MachineSample:
    busy_seconds: float  # summed over all cores
    total_seconds: float


def sample_machine() -> MachineSample | None:
    """Busy and total CPU time of the whole machine (all processes, the kernel's too)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat_file:
            first = stat_file.readline().split()
    except OSError:
        return None
    ticks = [int(value) for value in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + ticks[4]
    return MachineSample((sum(ticks) - idle) / _TICKS, sum(ticks) / _TICKS)


def busy_share(before: MachineSample | None, after: MachineSample | None) -> float | None:
    """The fraction of the machine's CPU capacity (all cores) in use between two samples."""
    if before is None or after is None or after.total_seconds <= before.total_seconds:
        return None
    busy = after.busy_seconds - before.busy_seconds
    return busy / (after.total_seconds - before.total_seconds)


def own_cpu_seconds() -> float:
    """CPU seconds used by this process (all threads): the load generator's own cost."""
    times = os.times()
    return times.user + times.system
