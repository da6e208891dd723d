"""CPU time and memory of a process on this machine, read from /proc (Linux only)."""

from __future__ import annotations

import os
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class ProcessSample:
    cpu_seconds: float  # user + system since the process started
    rss_bytes: int
    peak_rss_bytes: int  # VmHWM: the largest RSS so far


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
