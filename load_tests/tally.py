"""What happened during one offered rate: sends, acks, deliveries, latencies, errors.

Times are ``time.monotonic_ns()`` of this one process, so the sender's clock (in the chat text)
and the receiver's clock are the same clock.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Window:
    start_ns: int
    end_ns: int

    def __contains__(self, t_ns: int) -> bool:
        return self.start_ns <= t_ns < self.end_ns

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


@dataclass(slots=True)
class PhaseTally:
    index: int
    rate: float
    sessions: int
    window: Window
    sent: int = 0  # all sends of this rate, warm-up included
    sent_measured: int = 0  # sends scheduled inside the window
    pending_acks: int = 0
    acked: list[set[int]] = field(default_factory=list)  # per session: seqs acked to senders
    unique_deliveries: int = 0  # chat.posted of this rate received, first copies only
    window_deliveries: int = 0  # chat.posted of any rate received inside the window
    duplicates: int = 0
    out_of_order: int = 0
    latencies_ns: array[int] = field(default_factory=lambda: array("q"))  # from send, in window
    due_latencies_ns: array[int] = field(default_factory=lambda: array("q"))  # from schedule
    errors: Counter[str] = field(default_factory=Counter)
    lag_ns: array[int] = field(default_factory=lambda: array("q"))  # how late each send went out

    def __post_init__(self) -> None:
        self.acked = [set() for _ in range(self.sessions)]

    def on_sent(self, measured: bool, lag_ns: int) -> None:
        self.sent += 1
        self.sent_measured += measured
        self.pending_acks += 1
        self.lag_ns.append(lag_ns)

    def on_ack(self, session: int, seq: object) -> None:
        self.pending_acks -= 1
        if isinstance(seq, int):
            self.acked[session].add(seq)
        else:
            self.errors["ack without seq"] += 1

    def on_error(self, code: str, answered: bool = True) -> None:
        self.pending_acks -= answered
        self.errors[code] += 1

    def release(self) -> None:
        """Forget the per-message samples once the figures are computed."""
        self.latencies_ns, self.due_latencies_ns, self.lag_ns = array("q"), array("q"), array("q")

    @property
    def acked_count(self) -> int:
        return sum(len(seqs) for seqs in self.acked)

    def expected_deliveries(self, clients_per_session: int) -> int:
        """Every acked message reaches every client of its session, its sender included."""
        return self.acked_count * clients_per_session


@dataclass(slots=True)
class DeliveryCheck:
    """Loss and strays of one rate, from each receiver's seqs against its session's acks."""

    lost: int = 0  # acked seqs a receiver never got
    unexpected: int = 0  # seqs a receiver got that no sender had acked
    receivers_short: int = 0  # receivers that missed at least one message


def check_deliveries(tally: PhaseTally, received: list[list[set[int]]]) -> DeliveryCheck:
    """``received[session][client]``: the chat seqs of this rate that client got."""
    check = DeliveryCheck()
    for session, clients in enumerate(received):
        acked = tally.acked[session]
        for seqs in clients:
            missing = len(acked - seqs)
            check.lost += missing
            check.unexpected += len(seqs - acked)
            check.receivers_short += missing > 0
    return check
