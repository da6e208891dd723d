"""The signaling benchmark: P pairs of class stations, each pair alone in its session, relay
WebRTC signals; every signal is answered by the partner on receipt, and the round trip timed.

For each system in turn (Classbridge on memory://, Classbridge on N workers over a Redis it
starts; never two at once): start the server, open the stations (on several workers, the two
of a pair on different ones: signal_place.py), join, then for each offered rate: warm-up, a
measured window, and a drain that waits (bounded by the loss timeout) for the last answers.
Requests go out open loop (never waiting for answers), from every station in turn or, with
Poisson arrivals, from one drawn at random (load_tests/schedule.py: ``deal``).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

from load_tests.measure import measure
from load_tests.progress import Progress
from load_tests.provision import provision_roles
from load_tests.rate_step import SETTLE, START_DELAY_NS, monitor_sample
from load_tests.redis_stats import RedisProbe, step_figures
from load_tests.scenario import run_classbridge
from load_tests.schedule import arrival_offsets, deal, wait_until
from load_tests.servers import Target
from load_tests.signal_client import SignalClient, make_sdp
from load_tests.signal_config import SignalConfig
from load_tests.signal_place import Placement, join_pairs, place_pairs
from load_tests.signal_stats import Book, SignalRateResult, SignalTally, signal_rate_result
from load_tests.tally import Window
from load_tests.wire import Codec

DRAIN_POLL = 0.02

Pairs = list[tuple[SignalClient, SignalClient]]


@dataclass(frozen=True, slots=True)
class SignalSystemResult:
    workers: int
    broker: str | None
    placement: Placement
    rates: list[SignalRateResult]


async def run_signal(
    config: SignalConfig, progress: Progress | None = None
) -> dict[str, SignalSystemResult]:
    """Results per system name. Bounded by ``config.time_budget()``."""
    progress = progress or Progress(enabled=config.progress, unit="round trips/s")
    return await run_classbridge(config, progress, run_system)


async def run_system(
    target: Target, config: SignalConfig, progress: Progress
) -> SignalSystemResult:
    created = await provision_roles(target, config.pairs, ["station", "station"])
    codec, book, sdp = Codec(config.wire_format), Book(), make_sdp(config.sdp_bytes)
    pairs = [
        (SignalClient(f"p{i}a", codec, book), SignalClient(f"p{i}b", codec, book))
        for i in range(config.pairs)
    ]
    probe = RedisProbe(target.redis) if target.redis is not None else None
    try:
        placement = await place_pairs(target, pairs, config.split_attempts)
        split = "" if placement.split is None else f", {placement.split} split over workers"
        progress.note(
            f"{target.name}: {config.pairs} pairs of stations{split} "
            f"({placement.connections} connections opened); joining"
        )
        await join_pairs(pairs, [tokens for _, tokens in created])
        stations = [station for pair in pairs for station in pair]
        for station in stations:
            station.sdp = sdp
        rates = []
        for index in range(len(config.rates)):
            result = await run_rate(target, stations, book, index, config, probe)
            progress.note(_progress_line(target.name, result))
            rates.append(result)
    finally:
        await asyncio.gather(*(c.close() for pair in pairs for c in pair))
        if probe is not None:
            await probe.close()
    return SignalSystemResult(target.workers, target.broker, placement, rates)


def _progress_line(name: str, r: SignalRateResult) -> str:
    return (
        f"{name}: {r.offered_rate:g} round trips/s: {r.sent_total} sent, {r.answered_total} "
        f"answered, {r.lost} lost, {r.error_count} errors, p99 {r.rtt.p99_ms} ms"
    )


async def run_rate(
    target: Target,
    stations: list[SignalClient],
    book: Book,
    index: int,
    config: SignalConfig,
    probe: RedisProbe | None,
) -> SignalRateResult:
    calls_before = await probe.calls() if probe is not None else {}
    start = time.monotonic_ns() + START_DELAY_NS
    measure_from = start + int(config.warmup * 1e9)
    window = Window(measure_from, measure_from + int(config.duration * 1e9))
    tally = SignalTally(index, config.rates[index], window, int(config.loss_timeout * 1e9))
    for station in stations:
        station.tally = tally
    span = config.warmup + config.duration
    load = asyncio.create_task(offer_signals(tally, stations, start, span, config))
    monitor = monitor_sample(target, start, config.warmup)
    try:
        samples = await measure(target, window)
        await load
        drain_s = await drain(tally, config.loss_timeout)
        await asyncio.sleep(SETTLE)
        redis = await step_figures(probe, calls_before, monitor, lambda: tally.acks)
    finally:
        load.cancel()
        if monitor is not None:
            monitor.cancel()
    for pc in [pc for pc, trip in book.items() if trip.tally is tally]:
        del book[pc]  # late answers of this rate now count as strays
    return signal_rate_result(tally, samples, drain_s, redis)


async def offer_signals(
    tally: SignalTally,
    stations: list[SignalClient],
    start_ns: int,
    span: float,
    config: SignalConfig,
) -> None:
    """Requests at ``tally.rate`` from ``start_ns`` for ``span`` s (``deal`` says which station
    sends each: Poisson arrivals give each station a Poisson stream of its own).

    A request that comes due while the generator is busy goes out at once, late, and the
    lateness is recorded. The arrivals and kinds come from a seeded generator per rate: every
    system gets the same ones."""
    rng = random.Random(config.seed * 1009 + tally.index)
    offsets = arrival_offsets(tally.rate, span, config.arrival, rng)
    for count, (offset, station) in enumerate(deal(offsets, stations, config.arrival, rng)):
        due = start_ns + int(offset * 1e9)
        await wait_until(due, count)
        kind = "description" if rng.random() < config.description_share else "candidate"
        station.send_request(tally, f"r{tally.index}.{count}", kind, due)


async def drain(tally: SignalTally, timeout: float) -> float:
    """Wait until every request of the rate is answered, or the loss timeout has passed."""
    started = time.monotonic()
    for _ in range(int(timeout / DRAIN_POLL) + 2):
        if tally.answered + tally.late >= tally.sent:
            break
        await asyncio.sleep(DRAIN_POLL)
    return time.monotonic() - started
