"""The capacity search's report: every step's figures, each system's capacity, the efficiency
at a common offered rate, and the ratios against the issue's targets (JSON and a table)."""

from __future__ import annotations

import dataclasses
from typing import Any

from load_tests.capacity import CapacityConfig, SystemCapacity
from load_tests.cells import fmt, line
from load_tests.notes import MACHINE_FULL
from load_tests.report import CEILING, CEILING_RAW, OURS, SOCKETIO, comparison_pairs, machine_note
from load_tests.scenario import report_head
from load_tests.table import COLUMNS, _row, generator_processes

# (system, baseline, figure, at least): the ratios the product aims for.
TARGETS = (
    (OURS, SOCKETIO, "efficiency", 3.5),
    (OURS, CEILING, "efficiency", 0.70),
    (OURS, CEILING_RAW, "efficiency", 0.70),  # the same target against the barer ceiling
    (OURS, SOCKETIO, "capacity", 4.0),
)


def common_step(searches: dict[str, SystemCapacity]) -> int | None:
    """The index of the highest step every system passed (the ladders are the same)."""
    passed = [len(search.passed) for search in searches.values()]
    return min(passed) - 1 if passed and min(passed) > 0 else None


def efficiency(searches: dict[str, SystemCapacity], step: int | None) -> dict[str, float | None]:
    """Delivered events per CPU-second of server and Redis, at step ``step`` of each system."""
    if step is None:
        return {}
    return {name: s.steps[step].result.delivered_per_cpu_s for name, s in searches.items()}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def ratios(
    searches: dict[str, SystemCapacity], efficiencies: dict[str, float | None]
) -> list[dict[str, Any]]:
    return [
        {
            "system": a,
            "baseline": b,
            "capacity_ratio": _ratio(searches[a].capacity_per_s, searches[b].capacity_per_s),
            "efficiency_ratio": _ratio(efficiencies.get(a), efficiencies.get(b)),
            **_pair_efficiency(searches[a], searches[b]),
        }
        for a, b in comparison_pairs(list(searches))
    ]


def _pair_efficiency(system: SystemCapacity, baseline: SystemCapacity) -> dict[str, Any]:
    """The efficiency ratio at the highest step both of the pair passed. The common step is
    held down by the weakest system of the run (one socketio worker over Redis, say), far below
    where the pair's own comparison can still be made at a load both carry."""
    pair = {"system": system, "baseline": baseline}
    step = common_step(pair)
    if step is None:
        return {"pair_rate": None, "pair_efficiency_ratio": None}
    values = efficiency(pair, step)
    return {
        "pair_rate": system.steps[step].result.offered_rate,
        "pair_efficiency_ratio": _ratio(values["system"], values["baseline"]),
    }


def targets(rows: list[dict[str, Any]], systems: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target's ratio and whether it is met: True, False, or None with ``why`` (no
    figure, or a capacity ratio whose bounds cannot decide it)."""
    found = {(row["system"], row["baseline"]): row for row in rows}
    out = []
    for system, baseline, figure, least in TARGETS:
        row = found.get((system, baseline))
        value = None if row is None else row[f"{figure}_ratio"]
        met, why = (None, "not measured") if value is None else (value >= least, "")
        if value is not None and figure == "capacity":
            met, why = _capacity_verdict(value, least, systems[system], systems[baseline])
        out.append({"system": system, "baseline": baseline, "figure": figure, "at_least": least,
                    "ratio": value, "met": met, "why": why})  # fmt: skip
    return out


def _capacity_verdict(
    ratio: float, least: float, system: dict[str, Any], baseline: dict[str, Any]
) -> tuple[bool | None, str]:
    """A search that found no limit gives only a floor of its capacity: a floor over the
    baseline's exact capacity bounds the ratio from below, the system's exact capacity over
    the baseline's floor bounds it from above, and two floors bound nothing."""
    system_exact = system["limit_found"] and not system["lower_bound"]
    baseline_exact = baseline["limit_found"] and not baseline["lower_bound"]
    if system_exact and baseline_exact:
        return ratio >= least, ""
    if baseline_exact and ratio >= least:
        return True, "at least this: the system's capacity is a lower bound"
    if system_exact and ratio < least:
        return False, "at most this: the baseline's capacity is a lower bound"
    return None, "undecided: a capacity is only a lower bound (the search found no limit)"


def _system_json(search: SystemCapacity) -> dict[str, Any]:
    return {
        "capacity_per_s": search.capacity_per_s,
        "capacity_offered_rate": search.capacity_offered,
        "lower_bound": search.lower_bound,
        "limit_found": search.limit_found,
        "stopped_by": search.stopped_by,
        "steps": [
            {
                "offered_rate": step.result.offered_rate,
                "passed": step.passed,
                "failures": step.failures,
                "generator_bound": step.generator_bound,
                "result": dataclasses.asdict(step.result),
            }
            for step in search.steps
        ],
    }


def build_capacity_report(
    config: CapacityConfig,
    searches: dict[str, SystemCapacity],
    command: str,
    elapsed_s: float,
    busy_before: float | None = None,
) -> dict[str, Any]:
    parameters = dataclasses.asdict(config.workload)
    parameters.pop("rates")
    parameters.update(start_rate=config.start_rate, factor=config.factor)
    parameters.update(max_steps=config.max_steps, system_seconds=config.system_seconds)
    note = machine_note(config.workload)
    head = report_head("chat-capacity", command, elapsed_s, parameters, busy_before, note)
    step = common_step(searches)
    efficiencies = efficiency(searches, step)
    rows = ratios(searches, efficiencies)
    systems = {name: _system_json(search) for name, search in searches.items()}
    criteria = {
        "p99_below_ms": config.p99_limit_ms,
        "delivered_share_at_least": config.min_delivered_share,
        "lost_duplicates_errors_unacked": 0,
    }
    return {
        **head,
        "criteria": criteria,
        "ladder": list(config.ladder()),
        "systems": systems,
        "common_rate": None if step is None else config.ladder()[step],
        "efficiency": efficiencies,
        "ratios": rows,
        "targets": targets(rows, systems),
    }


def format_capacity_table(report: dict[str, Any], searches: dict[str, SystemCapacity]) -> str:
    p, c = report["parameters"], report["criteria"]
    lines = [
        f"chat capacity: {p['sessions']} sessions x {p['clients']} clients ({p['senders']} "
        f"senders each), {p['arrival']} arrivals; offered x{p['factor']:g} per step from "
        f"{p['start_rate']:g}/s, {p['duration']:g} s measured after {p['warmup']:g} s warm-up; "
        f"a step passes with p99 < {c['p99_below_ms']:g} ms, nothing lost, duplicated or "
        f"refused, delivered >= {c['delivered_share_at_least']:.0%} of ideal"
        + generator_processes(p),
        "",
        line(COLUMNS, [name for name, _ in COLUMNS]) + "  step",
    ]
    for name, search in searches.items():
        for step in search.steps:
            verdict = "pass" if step.passed else "FAIL"
            verdict += " (generator-bound)" if step.generator_bound else ""
            busy = step.result.machine_busy_share
            verdict += " (machine full)" if busy is not None and busy >= MACHINE_FULL else ""
            lines.append(line(COLUMNS, _row(name, step.result)) + f"  {verdict}")
    return "\n".join(lines + _summary(report))


def _summary(report: dict[str, Any]) -> list[str]:
    lines = ["", "capacity (the highest delivered events/s of a step that passed):"]
    for name, system in report["systems"].items():
        bound = " (a lower bound: the generator)" if system["lower_bound"] else ""
        bound = bound or ("" if system["limit_found"] else " (a lower bound)")
        lines.append(
            f"  {name:<16} {fmt(system['capacity_per_s'], 0):>9} ev/s at "
            f"{fmt(system['capacity_offered_rate'], 0)}/s offered{bound}; "
            f"ended: {system['stopped_by']}"
        )
    rate = report["common_rate"]
    if rate is None:
        lines += ["", "efficiency: some system passed no step (try a lower --start-rate)"]
    else:
        lines += ["", f"efficiency at {rate:g}/s offered (the highest step every system passed):"]
        for name, value in report["efficiency"].items():
            lines.append(f"  {name:<16} {fmt(value, 0):>9} delivered events per CPU-second")
    lines += ["", f"{'ratio':<32} {'capacity':>9}   {'efficiency':>10}   at the pair's top step"]
    for row in report["ratios"]:
        label = f"{row['system']} / {row['baseline']}"
        cap, eff = fmt(row["capacity_ratio"], 2), fmt(row["efficiency_ratio"], 2)
        pair = fmt(row["pair_efficiency_ratio"], 2)
        at = "" if row["pair_rate"] is None else f" (at {row['pair_rate']:g}/s offered)"
        lines.append(f"{label:<32} {cap:>9}   {eff:>10}   {pair}{at}")
    lines += ["", "targets:"]
    for t in report["targets"]:
        met = {True: "met", False: "NOT met", None: ""}[t["met"]]
        verdict = "; ".join(part for part in (met, t["why"]) if part)
        lines.append(
            f"  {t['figure']} {t['system']} / {t['baseline']} >= {t['at_least']:g}: "
            f"{fmt(t['ratio'], 2)} ({verdict})"
        )
    return [*lines, "", "Note: " + report["machine"]["note"]]
