"""How a chat run's load is split over several generator processes, and what each is told.

Whole sessions go to each process (a session's clients all live in one), so every receiver's
loss, duplicate and order checks stay in the process that holds it. Every session has the same
number of senders, so a process's share of each offered rate is its share of the sessions. Each
process draws its own arrivals at its share of the rate, from a seed derived from the run's
seed, the rate and the process: the same arrivals for every system of a run. Independent
Poisson streams add up to one Poisson stream at the summed rate, so the offered load keeps its
model; with uniform arrivals each process's sends are evenly spaced and the processes start
staggered, so that their sends interleave (evenly, when their shares are equal).

Times are ``time.monotonic_ns()``: CLOCK_MONOTONIC is the same clock in every process of the
machine, so a chat's stamp (sent in one process, received in another) is still one clock.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from load_tests.config import MAX_GENERATOR_PROCESSES
from load_tests.tally import Window


@dataclass(frozen=True, slots=True)
class SessionBlock:
    """The sessions one generator process holds: consecutive, so that their tallies, merged in
    process order, are in the run's session order."""

    first: int  # the run's index of its first session
    count: int


def session_blocks(sessions: int, processes: int) -> list[SessionBlock]:
    """As even as can be: process g holds sessions g*S//N up to (g+1)*S//N."""
    bounds = [g * sessions // processes for g in range(processes + 1)]
    return [SessionBlock(a, b - a) for a, b in itertools.pairwise(bounds)]


def rate_share(rate: float, block: SessionBlock, sessions: int) -> float:
    """The messages/s a process offers: proportional to its senders, i.e. to its sessions."""
    return rate * block.count / sessions


def rate_seed(seed: int, rate_index: int) -> int:
    """The arrivals' seed of one rate when one process generates everything."""
    return seed * 1009 + rate_index


def process_seed(seed: int, rate_index: int, process: int) -> int:
    """The arrivals' seed of one rate in generator process ``process``: distinct per process
    and per rate, and the same in every system of the run."""
    return rate_seed(seed, rate_index) * MAX_GENERATOR_PROCESSES + process


def uniform_phase_ns(rate: float, arrival: str, process: int) -> int:
    """How much later process ``process`` starts its evenly spaced sends (of a run offering
    ``rate`` in all): one gap of the whole run's per process before it, so that the processes
    do not all send at the same instants. Poisson arrivals need no phase."""
    return int(process / rate * 1e9) if arrival == "uniform" else 0


@dataclass(frozen=True, slots=True)
class JoinPlan:
    """What a generator process needs to join its clients (sent once, over its pipe)."""

    ws_url: str
    wire: str  # what it speaks: "classbridge" or "socketio" (Target.wire)
    wire_format: str  # "msgpack" or "json"
    pad: int
    senders: int  # per session: the first clients post chat
    tokens: list[list[str]]  # per session of its block, per client
    join_at_ns: int  # when the first join of the run is due (the shared clock)
    join_offsets_ns: list[int]  # per client, session by session: its slot after join_at_ns
    join_timeout: float  # per join: connect -> welcome


@dataclass(frozen=True, slots=True)
class RatePlan:
    """One rate step, as one generator process runs it."""

    index: int  # the rate's index: chat stamps carry it, receivers tally by it
    rate: float  # this process's share of the offered messages/s
    start_ns: int  # the first send may be due from here (warm-up, then the window)
    window: Window
    span: float  # seconds of sends: warm-up and window
    arrival: str  # "poisson" or "uniform"
    seed: int
    drain_timeout: float
