"""Capacity search: for each system, step the offered chat rate up until a step fails.

The workload is chat fan-out's (load_tests/fanout.py: the same clients, sessions, arrivals and
checks). Each system is started once and its clients join once; then offered rates go up by
``factor`` per step from ``start_rate`` (bounded in steps and in seconds per system). A step
passes when the p99 latency is under ``p99_limit_ms``, nothing was lost, duplicated, refused
or left unacked, and the delivered events/s reach ``min_delivered_share`` of the ideal (sent/s
x clients per session). The search stops at the first step that fails: the system's capacity is
the highest delivered events/s of the steps before it. A step whose generator used a full
core also ends the search: the generator, not the system, was the limit, and the capacity is a
lower bound that says so. (Late sends alone do not count: with every core busy the generator
is late because the machine is full, which is the system's load.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from load_tests.config import FanoutConfig, validate
from load_tests.fanout import generating, system_under_test
from load_tests.notes import GENERATOR_BUSY
from load_tests.progress import Progress
from load_tests.scenario import run_systems
from load_tests.servers import Target
from load_tests.stats import RateResult

MAX_STEPS = 20
STEP_OVERHEAD_S = 1.0  # per step beyond warm-up, window and drain: start delay, settle, probes


@dataclass(frozen=True, slots=True)
class CapacityConfig:
    workload: FanoutConfig  # everything but its rates, which the search sets step by step
    # 250 msg/s x 1.5 per step: 250 .. 9,610 msg/s (x10 clients a session: 2,500 .. 96,100
    # events/s) in 10 steps, from below python-socketio's capacity to above a 2-core box's.
    start_rate: float = 250.0  # offered chat messages/s of the first step, all sessions
    factor: float = 1.5  # each step offers this times the previous one
    max_steps: int = 10
    system_seconds: float = 120.0  # no step starts past this many seconds of one system's search
    p99_limit_ms: float = 100.0
    min_delivered_share: float = 0.95

    def ladder(self) -> tuple[float, ...]:
        """The offered rates, the same for every system (so a common one can be compared)."""
        return tuple(round(self.start_rate * self.factor**i, 1) for i in range(self.max_steps))

    def step_seconds(self) -> float:
        w = self.workload
        return w.warmup + w.duration + w.drain_timeout + STEP_OVERHEAD_S

    def time_budget(self) -> float:
        per_system = 30.0 + self.workload.ramp + self.workload.total_clients * 0.05
        per_system += self.workload.generator_startup()
        per_system += self.system_seconds + self.step_seconds()  # the last step may overrun
        redis = sum(1 for name in self.workload.systems if "redis" in name)
        return per_system * len(self.workload.systems) + 40.0 * redis


def validate_capacity(config: CapacityConfig) -> None:
    checks = [
        (config.start_rate > 0, "start rate must be > 0"),
        (1.05 <= config.factor <= 10, "factor must be in [1.05, 10]"),
        (1 <= config.max_steps <= MAX_STEPS, f"steps must be 1 .. {MAX_STEPS}"),
        (0 < config.system_seconds <= 1800, "seconds per system must be in (0, 1800]"),
        (0 < config.p99_limit_ms <= 10_000, "p99 limit must be in (0, 10000] ms"),
        (0 < config.min_delivered_share <= 1, "delivered share must be in (0, 1]"),
    ]
    for ok, problem in checks:
        if not ok:
            raise ValueError(problem)
    validate(replace(config.workload, rates=config.ladder()))  # every step's rate too


@dataclass(frozen=True, slots=True)
class Step:
    result: RateResult
    failures: list[str]  # why the step failed; empty: it passed
    generator_bound: bool  # the generator could not offer the rate: what passed is a floor

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class SystemCapacity:
    steps: list[Step] = field(default_factory=list)
    stopped_by: str = ""  # the first failing step's reasons, or why the search ended

    @property
    def passed(self) -> list[Step]:
        """The steps that passed: a prefix of ``steps``, since the search stops at a failure."""
        return [step for step in self.steps if step.passed]

    @property
    def capacity_per_s(self) -> float | None:
        return max((s.result.delivered_per_s for s in self.passed), default=None)

    @property
    def capacity_offered(self) -> float | None:
        best = max(self.passed, key=lambda s: s.result.delivered_per_s, default=None)
        return None if best is None else best.result.offered_rate

    @property
    def lower_bound(self) -> bool:
        """True when the search ended on the generator, not on the system."""
        return bool(self.steps) and self.steps[-1].generator_bound

    @property
    def limit_found(self) -> bool:
        """The search ended on a failing step (not on its step or time bounds)."""
        return bool(self.steps) and not self.steps[-1].passed


def step_failures(result: RateResult, config: CapacityConfig) -> list[str]:
    """Why a step fails the criteria (empty: it passes)."""
    failures = []
    p99 = result.latency.p99_ms
    if p99 is None:
        failures.append("no latency measured")
    elif p99 >= config.p99_limit_ms:
        failures.append(f"p99 {p99:.1f} ms >= {config.p99_limit_ms:g} ms")
    if result.lost or result.unacked:
        failures.append(f"{result.lost} lost, {result.unacked} unacked")
    if result.duplicates or result.unexpected:
        failures.append(f"{result.duplicates} duplicates, {result.unexpected} unexpected")
    if result.error_count:
        failures.append(f"{result.error_count} errors")
    ideal = result.ideal_delivered_per_s
    if ideal and result.delivered_per_s < config.min_delivered_share * ideal:
        share = result.delivered_per_s / ideal
        failures.append(f"delivered {share:.0%} of ideal < {config.min_delivered_share:.0%}")
    return failures


def generator_bound(result: RateResult) -> bool:
    """The generator, not the system, limited the step: it (or one of its processes, each of
    which runs on one core) used nearly a full core."""
    return result.generator_busiest_share >= GENERATOR_BUSY


async def search_system(
    target: Target, config: CapacityConfig, progress: Progress
) -> SystemCapacity:
    ladder, workload = config.ladder(), config.workload
    steps: list[Step] = []
    stopped_by = f"every one of the {len(ladder)} steps passed (no limit found)"
    async with generating(target, workload, progress) as run_step:
        started = time.monotonic()
        for index, rate in enumerate(ladder):
            if index and time.monotonic() - started + config.step_seconds() > config.system_seconds:
                stopped_by = f"time: {config.system_seconds:g} s per system before {rate:g}/s"
                break
            step_config = replace(workload, rates=ladder[: index + 1])
            result = await run_step(index, step_config)
            step = Step(result, step_failures(result, config), generator_bound(result))
            steps.append(step)
            if not step.passed:
                stopped_by = f"at {rate:g}/s: " + "; ".join(step.failures)
                break
            if step.generator_bound:
                stopped_by = f"at {rate:g}/s: the generator could not offer more (a lower bound)"
                break
    return SystemCapacity(steps, stopped_by)


async def run_capacity(config: CapacityConfig) -> dict[str, SystemCapacity]:
    """Per system (row label), its search; one system at a time, bounded in all."""
    progress = Progress(enabled=config.workload.progress)
    return await run_systems(
        config.workload.systems,
        config.time_budget(),
        lambda system: system_under_test(system, config.workload),
        lambda target: search_system(target, config, progress),
    )
