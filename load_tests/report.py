"""The report of a run: a JSON document with every figure (the table is in load_tests/table.py)."""

from __future__ import annotations

import dataclasses
import os
import statistics
from typing import Any

from load_tests.config import FanoutConfig
from load_tests.scenario import report_head
from load_tests.servers import BASE_PREFIX
from load_tests.stats import RateResult

OURS, CEILING = "classbridge", "ceiling"
CEILING_RAW = (
    "ceiling-raw"  # the broadcast without a framework (load_tests/baselines/ceiling_raw.py)
)
REDIS_PREFIX = "cb-redis-"
SOCKETIO, SIO_REDIS_PREFIX = "socketio", "sio-redis-"  # the python-socketio baseline
CEILING_REDIS_PREFIX = "ceiling-redis-"  # the ceiling on N workers over Redis pub/sub


def machine_note(config: FanoutConfig) -> str:
    cpus = os.cpu_count() or 0
    return (
        f"The load generator ({_generator_processes(config)}, "
        f"{config.sessions * config.clients} WebSocket clients) shares this {cpus}-core "
        "machine with the server under test. "
        "'classbridge', 'socketio', 'ceiling' and 'ceiling-raw' are one Python process each "
        f"(at most one core); '{REDIS_PREFIX}Nw', '{SIO_REDIS_PREFIX}Nw' and "
        f"'{CEILING_REDIS_PREFIX}Nw' are a supervisor and N worker processes plus a "
        "redis-server, all on the same cores. "
        "'socketio' systems speak socket.io's JSON packets whatever --format says. 'srv CPU' is "
        "the server's CPU summed over its processes, as a share of one core (above 100 % with "
        "several workers); 'rds CPU' is redis-server's; 'ev/CPU-s' "
        f"divides delivered events by the CPU-seconds of both. {_generator_cpu(config)} "
        "Latencies run from the actual send; 'p99 sch' runs from when the schedule said to send "
        "(it also counts a generator that fell behind: the open-loop figure). "
        f"'box CPU' is the whole machine's busy share over all {cpus} cores (servers, Redis, "
        "generator, loopback TCP in the kernel, and anything else running): near 100 % the "
        "machine is saturated and latency climbs for that reason."
    )


def _generator_processes(config: FanoutConfig) -> str:
    if config.generator_processes == 1:
        return "one Python process"
    return (
        f"{config.generator_processes} Python processes, each holding whole sessions, driven "
        "by the tool's own process"
    )


def _generator_cpu(config: FanoutConfig) -> str:
    if config.generator_processes == 1:
        return (
            "'gen CPU' is the generator's share of one core: near 100 % the generator, not the "
            "server, limits what is delivered."
        )
    return (
        "'gen CPU' is the generator's CPU summed over its processes (and the tool's own), as a "
        "share of one core (above 100 % with several): when one process nears 100 % (a note "
        "says so), the generator, not the server, limits what is delivered."
    )


def _ratio(ours: float | None, baseline: float | None) -> float | None:
    if ours is None or not baseline:
        return None
    return round(ours / baseline, 3)


def ratio_rows(ours: list[RateResult], baseline: list[RateResult]) -> list[dict[str, Any]]:
    """Per rate: ours / baseline for delivered events per CPU-second (the server's and Redis's),
    p99 latency and delivered events/s."""
    return [
        {
            "offered_rate": a.offered_rate,
            "delivered_per_cpu_s_ratio": _ratio(a.delivered_per_cpu_s, b.delivered_per_cpu_s),
            "p99_ratio": _ratio(a.latency.p99_ms, b.latency.p99_ms),
            "delivered_per_s_ratio": _ratio(a.delivered_per_s, b.delivered_per_s),
        }
        for a, b in zip(ours, baseline, strict=True)
    ]


def comparison(results: dict[str, list[RateResult]]) -> list[dict[str, Any]]:
    """Classbridge on memory:// against the ceiling (the figure earlier runs reported)."""
    if OURS not in results or CEILING not in results:
        return []
    return ratio_rows(results[OURS], results[CEILING])


def comparison_pairs(names: list[str]) -> list[tuple[str, str]]:
    """Every pair worth a ratio: each Classbridge against the ceiling and against
    python-socketio on as many workers, Redis against memory and against the ceiling on as many
    workers; python-socketio against the ceiling, and the ceiling over Redis against
    python-socketio on as many workers; Classbridge against the raw ceiling, and the raw
    ceiling against python-socketio (what Python can do at best, one frame per delivery).
    Only pairs of systems that ran."""
    redis = [name for name in names if name.startswith(REDIS_PREFIX)]
    sio_redis = [n.replace(REDIS_PREFIX, SIO_REDIS_PREFIX, 1) for n in redis]
    ceiling_redis = [n.replace(REDIS_PREFIX, CEILING_REDIS_PREFIX, 1) for n in redis]
    pairs = [(OURS, CEILING), (OURS, SOCKETIO), *((name, OURS) for name in redis)]
    pairs += [(n, CEILING) for n in redis] + list(zip(redis, sio_redis, strict=True))
    pairs += list(zip(redis, ceiling_redis, strict=True))
    pairs.append((SOCKETIO, CEILING))
    pairs += [(OURS, CEILING_RAW), (CEILING_RAW, SOCKETIO)]
    # How far python-socketio's way across workers is from the barest one.
    ceilings = [name for name in names if name.startswith(CEILING_REDIS_PREFIX)]
    pairs += [(n, n.replace(CEILING_REDIS_PREFIX, SIO_REDIS_PREFIX, 1)) for n in ceilings]
    # This checkout's server against another's (--base-root), on memory:// and over Redis.
    pairs.append((OURS, BASE_PREFIX))
    pairs += [(n, n.replace("cb-", f"{BASE_PREFIX}-", 1)) for n in redis]
    return [(a, b) for a, b in pairs if a in names and b in names]


def comparisons(results: dict[str, list[RateResult]]) -> list[dict[str, Any]]:
    """Ratios per rate of every pair of ``comparison_pairs``."""
    pairs = comparison_pairs(list(results))
    return [
        {"system": a, "baseline": b, "rows": ratio_rows(results[a], results[b])}
        for a, b in pairs
        if a in results and b in results
    ]


def build_report(
    config: FanoutConfig,
    results: dict[str, list[RateResult]],
    command: str,
    elapsed_s: float,
    busy_before: float | None = None,
    rounds: list[dict[str, list[RateResult]]] | None = None,
) -> dict[str, Any]:
    """Every figure of ``results``; with several ``rounds`` (``results`` is the first), each
    round's too and the spread of each ratio over them (``rounds_summary``)."""
    parameters = dataclasses.asdict(config)
    parameters["api_key"] = "<redacted>" if config.api_key else None
    head = report_head(
        "chat-fanout", command, elapsed_s, parameters, busy_before, machine_note(config)
    )
    report = {**head, **_figures(results), "comparison": comparison(results)}
    if rounds is not None and len(rounds) > 1:
        report["rounds"] = [_figures(one) for one in rounds]
        report["round_summary"] = rounds_summary(rounds)
    return report


def _figures(results: dict[str, list[RateResult]]) -> dict[str, Any]:
    return {
        "systems": {name: [dataclasses.asdict(r) for r in rs] for name, rs in results.items()},
        "comparisons": comparisons(results),
    }


def spread(values: list[float | None]) -> dict[str, Any]:
    """Each round's value, and the median, lowest and highest of those there are."""
    present = [value for value in values if value is not None]
    return {
        "rounds": values,
        "median": round(statistics.median(present), 3) if present else None,
        "min": min(present, default=None),
        "max": max(present, default=None),
    }


def rounds_summary(rounds: list[dict[str, list[RateResult]]]) -> dict[str, Any]:
    """Per system and rate, delivered events per CPU-second over the rounds; per pair of
    ``comparison_pairs`` and rate, the ratio of those figures over the rounds."""
    first = rounds[0]
    systems = [
        {
            "system": name,
            "rows": [
                {
                    "offered_rate": result.offered_rate,
                    **spread([one[name][i].delivered_per_cpu_s for one in rounds]),
                }
                for i, result in enumerate(first[name])
            ],
        }
        for name in first
    ]
    per_round = [
        {(a, b): ratio_rows(one[a], one[b]) for a, b in comparison_pairs(list(one))}
        for one in rounds
    ]
    ratios = [
        {
            "system": a,
            "baseline": b,
            "rows": [
                {
                    "offered_rate": row["offered_rate"],
                    **spread([one[a, b][i]["delivered_per_cpu_s_ratio"] for one in per_round]),
                }
                for i, row in enumerate(rows)
            ],
        }
        for (a, b), rows in per_round[0].items()
    ]
    return {"rounds": len(rounds), "delivered_per_cpu_s": systems, "ratios": ratios}
