"""One rate's tallies from several generator processes, merged into the one the report reads.

Each process holds whole sessions and checks its own receivers, so merging is adding up:
counts are summed, latency and lag samples concatenated, errors summed, and the acked seqs of
each session kept as they are, in session order (the processes hold consecutive sessions and
are merged in process order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from load_tests.tally import DeliveryCheck, PhaseTally


@dataclass(frozen=True, slots=True)
class PartTally:
    """What one generator process reports of one rate: its tally (its sessions only), its
    receivers' check, and how long its drain took."""

    tally: PhaseTally
    check: DeliveryCheck
    drain_s: float


def merge_tallies(rate: float, parts: Sequence[PhaseTally]) -> PhaseTally:
    """One tally of the whole run at the offered ``rate``, from the processes' in session
    order. Every part has the same rate index and window."""
    if not parts:
        raise ValueError("nothing to merge")
    first = parts[0]
    merged = PhaseTally(first.index, rate, sum(part.sessions for part in parts), first.window)
    merged.acked = [seqs for part in parts for seqs in part.acked]
    for part in parts:
        merged.sent += part.sent
        merged.sent_measured += part.sent_measured
        merged.pending_acks += part.pending_acks
        merged.unique_deliveries += part.unique_deliveries
        merged.window_deliveries += part.window_deliveries
        merged.duplicates += part.duplicates
        merged.out_of_order += part.out_of_order
        merged.latencies_ns.extend(part.latencies_ns)
        merged.due_latencies_ns.extend(part.due_latencies_ns)
        merged.lag_ns.extend(part.lag_ns)
        merged.errors.update(part.errors)
    return merged


def merge_checks(checks: Sequence[DeliveryCheck]) -> DeliveryCheck:
    return DeliveryCheck(
        lost=sum(check.lost for check in checks),
        unexpected=sum(check.unexpected for check in checks),
        receivers_short=sum(check.receivers_short for check in checks),
    )


def merge_parts(rate: float, parts: Sequence[PartTally]) -> tuple[PhaseTally, DeliveryCheck, float]:
    """The merged tally and check, and the longest drain (the step waited for all of them)."""
    tally = merge_tallies(rate, [part.tally for part in parts])
    check = merge_checks([part.check for part in parts])
    return tally, check, max(part.drain_s for part in parts)
