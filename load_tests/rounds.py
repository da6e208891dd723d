"""A chat fan-out run repeated in rounds, and what the rounds say about each ratio.

On a shared virtual machine one system's figure moves by a quarter from one run to the next with
the same code (docs/performance.md), while the systems of one run follow each other over a few
minutes. A single pass therefore gives a ratio that may be a lucky or an unlucky draw. With
``--rounds N`` every system runs once per round, on the same workload (the same seed, so the
same arrivals), and the report gives each ratio of every round with its median, lowest and
highest: the spread shows how far one pass can be trusted. Every other round runs the systems
in the reverse order, so that a machine growing slower or faster during the run does not always
favour the system that runs first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from load_tests.stats import RateResult

Results = dict[str, list[RateResult]]  # per system name, per rate: one round


def round_order(systems: tuple[str, ...], index: int) -> tuple[str, ...]:
    """The systems in the order round ``index`` (from 0) runs them: reversed every other one."""
    return systems if index % 2 == 0 else tuple(reversed(systems))


async def run_rounds(
    systems: tuple[str, ...],
    rounds: int,
    run_round: Callable[[tuple[str, ...]], Awaitable[Results]],
) -> list[Results]:
    """``rounds`` runs of ``run_round``, each over every system. Each round's results are in
    the order of the first round, which runs the systems as named."""
    done: list[Results] = []
    for index in range(rounds):
        results = await run_round(round_order(systems, index))
        if done:  # row labels ("cb-redis-2w" for "redis") in the first round's order
            results = {name: results[name] for name in done[0]}
        done.append(results)
    return done
