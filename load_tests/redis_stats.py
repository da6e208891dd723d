"""Redis's side of one rate: commands per appended chat event, from INFO commandstats.

The probe takes ``INFO commandstats`` before a rate starts and after its drain; the difference
per command, divided by the chat events appended in that step (every acked chat is one append),
is what each event costs in Redis commands, the servers' background work (heartbeats, repair
checks) included. Redis's CPU and memory come from /proc like the servers' (procstat).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from load_tests.redis_server import RedisInstance, client

TOP = 8  # commands shown per rate
# One round trip each that carries a script; what the script runs is counted on its own too.
SCRIPT_COMMANDS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})

Calls = dict[str, int]  # command (lower case, "client|list" for subcommands) -> calls so far


@dataclass(frozen=True, slots=True)
class RedisCommands:
    appended: int  # chat events appended during the step (acked sends, warm-up included)
    calls: int  # commands Redis ran during the step, script-run ones included, ours excluded
    per_event: float | None  # calls / appended
    scripts_per_event: float | None  # EVALSHA & co.: the round trips that carry a script
    # Commands the servers sent (not run by a script) per event, using the MONITOR sample's
    # share of script-run calls per command; None without a sample. Commands the sample did not
    # see (rare ones, or ones that only began later in the step) are left out of it and
    # counted in unsampled_per_event instead: they may be either.
    sent_per_event: float | None
    unsampled_per_event: float | None
    top: dict[str, float]  # the TOP commands by calls per event, largest first
    by_command: Calls = field(default_factory=dict)  # every command's calls over the step
    script_share: dict[str, float] = field(default_factory=dict)  # from the MONITOR sample


class RedisProbe:
    """One connection to the benchmark's Redis, kept open from the first sample on so that
    connecting (HELLO, CLIENT SETINFO) adds no commands inside a step."""

    def __init__(self, instance: RedisInstance) -> None:
        self.instance = instance
        self._client = client(instance.port)

    async def calls(self) -> Calls:
        info = await self._client.info("commandstats")
        return {
            name.removeprefix("cmdstat_"): int(stats["calls"])
            for name, stats in info.items()
            if isinstance(stats, dict) and "calls" in stats
        }

    async def close(self) -> None:
        await self._client.aclose()


async def step_figures(
    probe: RedisProbe | None,
    before: Calls,
    monitor: asyncio.Task[dict[str, float] | None] | None,
    appended: Callable[[], int],
) -> RedisCommands | None:
    """``command_figures`` at the end of a step, None without Redis. ``appended`` is read
    last, after the MONITOR sample and INFO are in, so late acks still count."""
    if probe is None:
        return None
    shares = await monitor if monitor is not None else None
    calls = await probe.calls()
    return command_figures(before, calls, appended(), shares, monitor is not None)


def command_figures(
    before: Calls,
    after: Calls,
    appended: int,
    script_share: dict[str, float] | None,
    monitored: bool,
) -> RedisCommands:
    """Per-event figures of one step. The probe's own commands are taken out: the INFO that
    took ``before`` is counted in ``after`` (INFO counts itself only once done), and MONITOR."""
    own = {"info": 1, "monitor": int(monitored)}
    delta = {name: count - before.get(name, 0) - own.get(name, 0) for name, count in after.items()}
    delta = {name: count for name, count in delta.items() if count > 0}
    ordered = dict(sorted(delta.items(), key=lambda item: (-item[1], item[0])))
    total = sum(ordered.values())

    def per(count: float) -> float | None:
        return round(count / appended, 3) if appended else None

    sent = unsampled = None
    if script_share is not None:
        seen = {name: c for name, c in ordered.items() if name in script_share}
        sent = per(sum(c * (1 - script_share[name]) for name, c in seen.items()))
        unsampled = per(total - sum(seen.values()))
    scripts = sum(c for name, c in ordered.items() if name in SCRIPT_COMMANDS)
    top = {name: per(count) or 0.0 for name, count in list(ordered.items())[:TOP]}
    return RedisCommands(
        appended=appended,
        calls=total,
        per_event=per(total),
        scripts_per_event=per(scripts),
        sent_per_event=sent,
        unsampled_per_event=unsampled,
        top=top,
        by_command=ordered,
        script_share=script_share or {},
    )
