"""The whiteboard run's own figures: cursor messages per client, wire bytes per board op.

Byte and message counters run for the whole connection; they are read at the two edges of the
measured window (``traffic_edges``) and the figures are the differences, like the CPU samples.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from load_tests.board_check import Convergence
from load_tests.board_client import BoardClient
from load_tests.measure import sleep_until
from load_tests.stats import RateResult
from load_tests.tally import Window


@dataclass(frozen=True, slots=True)
class TrafficSample:
    received: int = 0  # TCP payload received by every client (WebSocket headers included)
    sent: int = 0  # the same, sent
    ops_sent: int = 0
    op_bytes_sent: int = 0  # encoded board commands
    cursor_bytes_sent: int = 0
    cursors_sent: int = 0
    messages: Counter[str] | None = None  # received, by category (board_client.category)
    bytes: Counter[str] | None = None  # their encoded bytes


def sample_traffic(clients: Sequence[Sequence[BoardClient]]) -> TrafficSample:
    flat = [client for row in clients for client in row]
    messages: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for client in flat:
        messages.update(client.traffic.messages)
        sizes.update(client.traffic.bytes)
    return TrafficSample(
        sum(c.bytes_received for c in flat),
        sum(c.bytes_sent for c in flat),
        sum(c.ops_sent for c in flat),
        sum(c.op_bytes_sent for c in flat),
        sum(c.cursor_bytes_sent for c in flat),
        sum(c.cursors_sent for c in flat),
        messages,
        sizes,
    )


async def traffic_edges(
    clients: Sequence[Sequence[BoardClient]], window: Window
) -> tuple[TrafficSample, TrafficSample]:
    await sleep_until(window.start_ns)
    before = sample_traffic(clients)
    await sleep_until(window.end_ns)
    return before, sample_traffic(clients)


@dataclass(frozen=True, slots=True)
class BoardFigures:
    students: int  # drawing clients, all sessions
    receivers: int  # every client (students and watchers), all sessions
    cursors_sent_per_student_s: float
    cursor_msgs_per_client_s: float  # peer.cursors received, mean over clients
    cursor_msgs_per_client_s_max: float  # the busiest client: the server keeps it <= 20
    cursor_positions_per_msg: float | None
    board_bytes_per_op: float | None  # encoded board event, as received (framing apart)
    received_bytes_per_op: float | None  # all TCP bytes received / board events received
    sent_bytes_per_op: float | None  # encoded board command, as sent
    cursor_bytes_per_msg: float | None  # encoded peer.cursors, as received
    received_mb_per_s: float  # all clients together
    messages: dict[str, int]  # received inside the window, by category
    bytes: dict[str, int]  # their encoded bytes; "framing": the rest of the TCP bytes


@dataclass(frozen=True, slots=True)
class BoardResult:
    rate: RateResult  # deliveries, latency, loss, errors, CPU, RSS, Redis: as for chat
    board: BoardFigures
    convergence: Convergence


def board_figures(
    clients: Sequence[Sequence[BoardClient]],
    students_per_session: int,
    edges: tuple[TrafficSample, TrafficSample],
    window_s: float,
) -> BoardFigures:
    before, after = edges
    messages = _delta(before.messages, after.messages)
    sizes = _delta(before.bytes, after.bytes)
    received = after.received - before.received
    sizes["framing"] = max(0, received - sum(sizes.values()))
    per_client = [
        c.traffic.cursor_messages / window_s for row in clients for c in row
    ]  # inside the window only: _on_cursors counts nothing else
    entries = sum(c.traffic.cursor_entries for row in clients for c in row)
    cursor_msgs = sum(c.traffic.cursor_messages for row in clients for c in row)
    students = students_per_session * len(clients)
    board_ops = messages.get("board", 0)
    return BoardFigures(
        students=students,
        receivers=len(per_client),
        cursors_sent_per_student_s=_div(
            after.cursors_sent - before.cursors_sent, students * window_s
        )
        or 0.0,
        cursor_msgs_per_client_s=round(statistics.fmean(per_client), 2) if per_client else 0.0,
        cursor_msgs_per_client_s_max=round(max(per_client, default=0.0), 2),
        cursor_positions_per_msg=_div(entries, cursor_msgs),
        board_bytes_per_op=_div(sizes.get("board", 0), board_ops),
        received_bytes_per_op=_div(received, board_ops),
        sent_bytes_per_op=_div(
            after.op_bytes_sent - before.op_bytes_sent, after.ops_sent - before.ops_sent
        ),
        cursor_bytes_per_msg=_div(sizes.get("cursors", 0), messages.get("cursors", 0)),
        received_mb_per_s=round(received / window_s / 1e6, 3),
        messages=messages,
        bytes=sizes,
    )


def _delta(before: Counter[str] | None, after: Counter[str] | None) -> dict[str, int]:
    old, new = before or Counter(), after or Counter()
    return {key: new[key] - old[key] for key in sorted(new) if new[key] - old[key] > 0}


def _div(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None
