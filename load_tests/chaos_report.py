"""What each fault of a chaos run did, read from the clients' outages and the delivery series.

Per fault (from the moment it was injected):

- ``closed``: connections lost from then until the next fault; ``resumed_events`` and
  ``resumed_snapshot``: how they came back; ``not_back``: still away at the end.
- ``back_s``: until the last of those clients had its welcome again (None: nobody dropped).
- ``flowing_s``: until the first logged event *sent after the fault* reached a client.
- ``recovered_s``: the later of the two: every client back and events flowing again.
- ``rate_before``: delivered events/s over the 3 s before the fault; ``rate_low``: the lowest
  1 s rate after it; ``rate_back_s``: until the 1 s rate is back to 80 % of ``rate_before``
  after falling below it while the fault was injected or in the 2 s after (0 when it did not
  fall below then: a lesson's load comes in bursts, and a later lull is not the fault's;
  None when it never came back before the next fault).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from load_tests.cells import fmt, line
from load_tests.lesson_resume import Outage
from load_tests.lesson_stats import TICK_NS

BEFORE_TICKS = 30  # 3 s before the fault: the level to come back to
WINDOW_TICKS = 10  # the 1 s rate, trailing, at 100 ms steps
DIP_TICKS = 20  # after the injection, how long a fall in the rate is the fault's
RECOVERED_SHARE = 0.8


@dataclass(slots=True)
class Fault:
    """One fault as it was injected."""

    name: str
    at_ns: int
    done_ns: int = 0  # injection over: SIGCONT sent, Redis answering again, the kill sent
    detail: str = ""
    first_fresh_ns: int | None = None  # first logged event sent at/after at_ns, delivered


@dataclass(frozen=True, slots=True)
class FaultFigures:
    fault: str
    at_s: float  # into the lesson
    detail: str
    injected_s: float
    closed: int
    resumed_events: int
    resumed_snapshot: int
    not_back: int
    back_s: float | None
    flowing_s: float | None
    recovered_s: float | None
    rate_before: float
    rate_low: float
    rate_back_s: float | None


@dataclass(frozen=True, slots=True)
class ChaosFigures:
    persistence: str  # the chaos Redis's: "aof" (appendfsync always) or "none"
    faults: list[FaultFigures]


def _rates(ticks: list[int], start: int, stop: int) -> list[tuple[int, float]]:
    """(tick, trailing 1 s rate in events/s) for ticks start..stop-1."""
    out = []
    for tick in range(max(start, 0), min(stop, len(ticks))):
        low = max(0, tick - WINDOW_TICKS + 1)
        out.append((tick, sum(ticks[low : tick + 1]) * 10 / (tick + 1 - low)))
    return out


def _rate_recovery(
    ticks: list[int], at_tick: int, done_tick: int, stop_tick: int
) -> tuple[float, float, float | None]:
    before = ticks[max(0, at_tick - BEFORE_TICKS) : at_tick]
    level = sum(before) * 10 / len(before) if before else 0.0
    rates = _rates(ticks, at_tick, stop_tick)
    low = min((rate for _, rate in rates), default=level)
    threshold = level * RECOVERED_SHARE
    dip_until = done_tick + DIP_TICKS
    dipped = next((t for t, rate in rates if rate < threshold and t <= dip_until), None)
    if dipped is None:
        return level, low, 0.0
    back = next((t for t, rate in rates if t > dipped and rate >= threshold), None)
    return level, low, None if back is None else round((back + 1 - at_tick) / 10, 1)


def _seconds(t_ns: int | None, from_ns: int) -> float | None:
    return None if t_ns is None else round((t_ns - from_ns) / 1e9, 3)


def fault_figures(
    faults: Sequence[Fault], outages: Sequence[Outage], ticks: list[int], start_ns: int
) -> list[FaultFigures]:
    figures = []
    for index, fault in enumerate(faults):
        until = faults[index + 1].at_ns if index + 1 < len(faults) else None
        mine = [o for o in outages if fault.at_ns <= o.lost_ns < (until or o.lost_ns + 1)]
        back = [o.back_ns for o in mine if o.back_ns is not None]
        back_s = _seconds(max(back), fault.at_ns) if back else None
        flowing_s = _seconds(fault.first_fresh_ns, fault.at_ns)
        all_back = len(back) == len(mine)
        recovered = max(back_s or 0.0, flowing_s) if flowing_s is not None and all_back else None
        at_tick = (fault.at_ns - start_ns) // TICK_NS
        stop_tick = len(ticks) if until is None else (until - start_ns) // TICK_NS
        done_tick = (max(fault.done_ns, fault.at_ns) - start_ns) // TICK_NS
        level, low, rate_back = _rate_recovery(ticks, at_tick, done_tick, stop_tick)
        figures.append(
            FaultFigures(
                fault.name, round((fault.at_ns - start_ns) / 1e9, 2), fault.detail,
                round((fault.done_ns - fault.at_ns) / 1e9, 3), len(mine),
                sum(o.resumed == "events" for o in mine),
                sum(o.resumed == "snapshot" for o in mine),
                len(mine) - len(back), back_s, flowing_s, recovered, round(level, 1),
                round(low, 1), rate_back,
            )
        )  # fmt: skip
    return figures


COLUMNS = (
    ("fault", 14), ("at s", 6), ("closed", 7), ("events", 7), ("snapshot", 9), ("not back", 9),
    ("back s", 7), ("flowing s", 10), ("recovered s", 12), ("ev/s before", 12),
    ("ev/s low", 9), ("rate back s", 12),
)  # fmt: skip


def format_chaos(chaos: ChaosFigures) -> list[str]:
    lines = [
        f"chaos (redis persistence: {chaos.persistence}); closed connections resumed with "
        "events or a snapshot; times from the fault",
        line(COLUMNS, [name for name, _ in COLUMNS]),
    ]
    for f in chaos.faults:
        cells = [
            f.fault, fmt(f.at_s), str(f.closed), str(f.resumed_events), str(f.resumed_snapshot),
            str(f.not_back), fmt(f.back_s, 2), fmt(f.flowing_s, 2), fmt(f.recovered_s, 2),
            fmt(f.rate_before), fmt(f.rate_low), fmt(f.rate_back_s),
        ]  # fmt: skip
        lines.append(line(COLUMNS, cells))
    lines += [f"  {f.fault} at {f.at_s:g} s: {f.detail}" for f in chaos.faults]
    return lines
