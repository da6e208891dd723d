"""The whiteboard benchmark: S students per session drawing at once (board.put, then
board.append at 20 Hz with 1-3 points, ``end`` after 1-2 s, the next stroke), each moving a
cursor at 30 Hz, and a few watchers (a teacher, a station) that only receive.

For each system in turn (Classbridge on memory://, Classbridge on N workers over a Redis it
starts; never two at once): start the server, join every client over a short ramp, warm up,
measure, end the open strokes, drain (bounded), then check loss by seq, convergence of every
client's boards, and the server's own board (its SVG export) against them.
"""

from __future__ import annotations

import asyncio
import time

from load_tests.board_check import check_convergence
from load_tests.board_client import BoardClient, FrameBudget, SentAt
from load_tests.board_config import BoardConfig
from load_tests.board_load import finish_strokes, make_pens, offer_drawing
from load_tests.board_stats import BoardFigures, BoardResult, board_figures, traffic_edges
from load_tests.fanout import join_all
from load_tests.measure import measure
from load_tests.notes import with_notes
from load_tests.progress import Progress
from load_tests.provision import provision_roles
from load_tests.rate_step import SETTLE, START_DELAY_NS, drain, monitor_sample
from load_tests.redis_stats import RedisProbe, step_figures
from load_tests.scenario import run_classbridge
from load_tests.servers import Target
from load_tests.stats import RateResult, SystemFacts, rate_result
from load_tests.tally import PhaseTally, Window, check_deliveries
from load_tests.wire import Codec

FRAME_BUDGET = 1 << 30  # bytes of received frames kept for the convergence replay, all clients
WATCHER_ROLES = ("teacher", "station")

Clients = list[list[BoardClient]]


async def run_board(
    config: BoardConfig, progress: Progress | None = None
) -> dict[str, BoardResult]:
    """Results per system name. Bounded by ``config.time_budget()``."""
    progress = progress or Progress(enabled=config.progress, unit="board ops/s")
    return await run_classbridge(config, progress, run_system)


def roles(config: BoardConfig) -> list[str]:
    watchers = [WATCHER_ROLES[i % len(WATCHER_ROLES)] for i in range(config.watchers)]
    return ["student"] * config.students + watchers


async def run_system(target: Target, config: BoardConfig, progress: Progress) -> BoardResult:
    progress.note(
        f"{target.name}: {config.sessions} session(s) x {config.students} students drawing "
        f"+ {config.watchers} watchers joining"
    )
    created = await provision_roles(target, config.sessions, roles(config))
    codec = Codec(config.wire_format)
    tallies: list[PhaseTally] = []
    sent_at: SentAt = {}
    budget = FrameBudget(FRAME_BUDGET)
    clients = [
        [BoardClient(s, codec, tallies, sent_at, budget) for _ in range(config.clients)]
        for s in range(config.sessions)
    ]
    probe = RedisProbe(target.redis) if target.redis is not None else None
    try:
        await join_all(target.ws_url, clients, [tokens for _, tokens in created], config.ramp)
        result = await run_drawing(target, clients, tallies, config, progress, probe)
    finally:
        await asyncio.gather(*(c.close() for row in clients for c in row))
        if probe is not None:
            await probe.close()
    assert target.api_key is not None
    exports = [(target.base_url, session_id, target.api_key) for session_id, _ in created]
    fetches = 2 * target.workers if config.check_svg else 0
    convergence = await check_convergence(
        clients, codec, budget.overflowed, exports if fetches else None, fetches
    )
    return BoardResult(*result, convergence)


async def run_drawing(
    target: Target,
    clients: Clients,
    tallies: list[PhaseTally],
    config: BoardConfig,
    progress: Progress,
    probe: RedisProbe | None,
) -> tuple[RateResult, BoardFigures]:
    calls_before = await probe.calls() if probe is not None else {}
    start = time.monotonic_ns() + START_DELAY_NS
    measure_from = start + int(config.warmup * 1e9)
    window = Window(measure_from, measure_from + int(config.duration * 1e9))
    tally = PhaseTally(0, config.offered_ops, config.sessions, window)
    tallies.append(tally)
    pens = make_pens(clients, config)
    span = config.warmup + config.duration
    load = asyncio.create_task(offer_drawing(pens, tally, start, span, config))
    edges = asyncio.create_task(traffic_edges(clients, window))
    monitor = monitor_sample(target, start, config.warmup)
    try:
        async with progress.watching(target.name, tally, 1):
            samples = await measure(target, window)
            await load
            finish_strokes(pens, tally)
            drain_s = await drain(tally, config.clients, config.drain_timeout)
            await asyncio.sleep(SETTLE)
        redis = await step_figures(probe, calls_before, monitor, lambda: tally.acked_count)
        traffic = await edges
    finally:
        for task in (load, edges, monitor):
            if task is not None:
                task.cancel()
    check = check_deliveries(tally, [[c.seqs for c in row] for row in clients])
    facts = SystemFacts(target.workers, target.healthz, target.broker)
    rate = with_notes(rate_result(tally, check, samples, config.clients, drain_s, facts, redis))
    tally.release()
    figures = board_figures(clients, config.students, traffic, window.seconds)
    return rate, figures
