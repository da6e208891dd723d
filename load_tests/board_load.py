"""Offered load of the whiteboard benchmark: every student draws strokes and moves a cursor.

A student puts a stroke with its first points, appends 1-3 quantised points every 1/draw_hz s
(20 Hz: every 50 ms), ends it with the last append after 1-2 s and starts the next one at the
next tick; independently, it sends a cursor position cursor_hz times a second. One task runs
every student's schedule from a heap of due times (open loop: it never waits for acks). A send
that comes due while the generator is busy goes out at once, late, and the lateness is
recorded. Every random choice comes from a seeded generator: each system gets the same load.
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass
from typing import Any

from load_tests.board_client import BoardClient
from load_tests.board_config import BoardConfig
from load_tests.schedule import wait_until
from load_tests.tally import PhaseTally

DRAW, CURSOR = 0, 1
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
WIDTH, HEIGHT = 1920, 1080


@dataclass(slots=True)
class Pen:
    """One student's drawing: where the pen is and the stroke it is drawing, if any."""

    client: BoardClient
    name: str  # unique in the run, part of every record id
    rng: random.Random
    x: int
    y: int
    per_append: tuple[int, int]  # points per append, low and high
    stroke_seconds: tuple[float, float]
    strokes: int = 0
    record: str | None = None  # the open stroke
    points: int = 0  # how many points it has (the next append's offset)
    ends_ns: int = 0  # when the open stroke gets its last points

    def step(self) -> list[int]:
        """1-3 points further along, quantised to integers (a flat [x0, y0, x1, y1, ...])."""
        flat = []
        for _ in range(self.rng.randint(*self.per_append)):
            self.x = min(WIDTH, max(0, self.x + self.rng.randint(-12, 12)))
            self.y = min(HEIGHT, max(0, self.y + self.rng.randint(-12, 12)))
            flat += [self.x, self.y]
        return flat


def draw_tick(pen: Pen, tally: PhaseTally, due_ns: int) -> None:
    """One board op: put a new stroke, append to the open one, or end it."""
    points = pen.step()
    if pen.record is None:
        pen.strokes += 1
        pen.record = f"{pen.name}k{pen.strokes}"
        low, high = pen.stroke_seconds
        pen.ends_ns = due_ns + int(pen.rng.uniform(low, high) * 1e9)
        props: dict[str, Any] = {
            "points": points,
            "color": pen.rng.choice(COLORS),
            "width": pen.rng.randint(2, 8),
        }
        record = {"id": pen.record, "kind": "stroke", "props": props}
        message: dict[str, Any] = {"type": "board.put", "board": "main", "record": record}
        pen.client.send_op(tally, message, (pen.record, 0), due_ns)
        pen.points = len(points) // 2
        return
    end = due_ns >= pen.ends_ns
    append: dict[str, Any] = {"type": "board.append", "board": "main", "record": pen.record}
    append |= {"offset": pen.points, "points": points}
    if end:
        append["end"] = True
    pen.client.send_op(tally, append, (pen.record, pen.points), due_ns)
    pen.points += len(points) // 2
    if end:
        pen.record = None


def finish_strokes(pens: list[Pen], tally: PhaseTally) -> None:
    """End every open stroke, so the boards compared at the end hold only finished strokes."""
    for pen in pens:
        if pen.record is not None:
            pen.ends_ns = 0
            draw_tick(pen, tally, time.monotonic_ns())


def make_pens(clients: list[list[BoardClient]], config: BoardConfig) -> list[Pen]:
    """The first ``config.students`` clients of each session draw."""
    rng = random.Random(config.seed)
    pens = []
    for session, row in enumerate(clients):
        for student, client in enumerate(row[: config.students]):
            own = random.Random(rng.getrandbits(64))
            x, y = own.randrange(WIDTH), own.randrange(HEIGHT)
            name = f"s{session}p{student}"
            shape = (config.points_per_append, config.stroke_seconds)
            pens.append(Pen(client, name, own, x, y, *shape))
    return pens


async def offer_drawing(
    pens: list[Pen], tally: PhaseTally, start_ns: int, span: float, config: BoardConfig
) -> None:
    """Every pen's draw ticks and cursor moves from ``start_ns`` for ``span`` seconds."""
    end_ns = start_ns + int(span * 1e9)
    periods = {DRAW: int(1e9 / config.draw_hz)}
    if config.cursor_hz > 0:
        periods[CURSOR] = int(1e9 / config.cursor_hz)
    phase = random.Random(config.seed)
    heap = [
        (start_ns + phase.randrange(period), kind, index)
        for index in range(len(pens))
        for kind, period in periods.items()
    ]
    heapq.heapify(heap)
    limit = int(len(heap) * (span * max(config.draw_hz, config.cursor_hz) + 2))
    for count in range(limit):  # bounded in count as well as in time
        due, kind, index = heap[0]
        if due >= end_ns:
            break
        await wait_until(due, count)
        pen = pens[index]
        if kind == DRAW:
            draw_tick(pen, tally, due)
        else:
            pen.client.send_cursor(pen.x, pen.y)
        heapq.heapreplace(heap, (due + periods[kind], kind, index))
