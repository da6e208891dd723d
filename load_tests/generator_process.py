"""One generator process of the chat fan-out: the clients of a block of whole sessions.

Spawned by the parent (load_tests/generator_pool.py), which keeps everything about the system
under test (the server, its CPU and memory, Redis, the report) and drives this process over a
pipe, as load_tests/crowd_client.py's processes are driven:

- this process sends ``("ready", None)`` once imported, and gets its ``JoinPlan``;
- it joins its clients at their slots on the shared clock, then sends ``("joined", None)``;
- for each ``("rate", RatePlan)`` it offers its share of the rate, drains, checks its own
  receivers, sends ``("tick", Counts)`` every TICK_S meanwhile for the progress line, and then
  ``("rate", PartTally)``; the parent sends nothing while a rate runs;
- ``("stop", None)`` closes its clients, and it sends ``("done", None)`` and exits.

Anything that goes wrong is sent as ``("failed", text)``, and the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection as Pipe

from load_tests.client import BenchClient
from load_tests.generator_plan import JoinPlan, RatePlan
from load_tests.progress import MAX_TICKS, counts_of
from load_tests.rate_step import SETTLE, drain
from load_tests.scenario import run_async
from load_tests.schedule import interleave, offer_load
from load_tests.sio_client import SocketIOClient
from load_tests.tally import PhaseTally, check_deliveries
from load_tests.tally_merge import PartTally
from load_tests.wire import Codec
from server.cancelling import cancel_and_wait

TICK_S = 1.0  # between the counts a process reports while a rate runs
MAX_COMMANDS = 10_000  # rates a process runs before it stops by itself: only bounds the loop

Clients = list[list[BenchClient]]  # per session of the block, per client


def worker_main(pipe: Pipe) -> None:
    """The entry point of one generator process: "ready" once imported, then the plan."""
    try:
        pipe.send(("ready", None))
        plan = pipe.recv()
        if isinstance(plan, JoinPlan):  # else "stop": the parent gave up before the joins
            run_async(lambda: _serve(plan, pipe))
    except (EOFError, OSError):
        pass  # the parent is gone: so is the run
    finally:
        pipe.close()


async def _serve(plan: JoinPlan, pipe: Pipe) -> None:
    codec = Codec(plan.wire_format)
    tallies: list[PhaseTally] = []  # one per rate, in order: receivers find a chat's by index
    kind = SocketIOClient if plan.wire == "socketio" else BenchClient
    clients = [
        [kind(session, codec, tallies, plan.pad) for _ in row]
        for session, row in enumerate(plan.tokens)
    ]
    try:
        await _join(plan, clients)
        pipe.send(("joined", None))
        await _run_rates(plan, clients, tallies, pipe)
    except Exception as error:  # the parent reports it; a traceback here would go nowhere
        with contextlib.suppress(OSError):
            pipe.send(("failed", f"{error!r}"))
    finally:
        await asyncio.gather(*(c.close() for row in clients for c in row))
    with contextlib.suppress(OSError):
        pipe.send(("done", None))


async def _join(plan: JoinPlan, clients: Clients) -> None:
    """Every client joins at its slot of the run's ramp (the slots of all processes together
    spread the joins as one process would); one failed join cancels the others."""
    flat = [(c, plan.tokens[s][i]) for s, row in enumerate(clients) for i, c in enumerate(row)]

    async def join(client: BenchClient, token: str, due_ns: int) -> None:
        await asyncio.sleep(max(0, due_ns - time.monotonic_ns()) / 1e9)
        await client.join(plan.ws_url, token, plan.join_timeout)

    async with asyncio.TaskGroup() as group:
        for (client, token), offset in zip(flat, plan.join_offsets_ns, strict=True):
            group.create_task(join(client, token, plan.join_at_ns + offset))


async def _run_rates(
    plan: JoinPlan, clients: Clients, tallies: list[PhaseTally], pipe: Pipe
) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(MAX_COMMANDS):
        # Only read between rates: while a rate runs, this process only writes to the pipe.
        command, body = await loop.run_in_executor(None, pipe.recv)
        if command != "rate":
            return  # "stop"
        part = await _run_rate(body, plan.senders, clients, tallies, pipe)
        pipe.send(("rate", part))
        part.tally.release()


async def _run_rate(
    rate: RatePlan,
    senders: int,
    clients: Clients,
    tallies: list[PhaseTally],
    pipe: Pipe,
) -> PartTally:
    """Offer this process's share of one rate, drain, settle, and check its receivers, as
    fanout.run_rate does for the whole run in one process."""
    if rate.index != len(tallies):
        raise RuntimeError(f"rate {rate.index} asked for after {len(tallies)} rates")
    tally = PhaseTally(rate.index, rate.rate, len(clients), rate.window)
    tallies.append(tally)
    posting = interleave([row[:senders] for row in clients])
    rng = random.Random(rate.seed)
    ticks = asyncio.create_task(_tick(tally, pipe))
    try:
        await offer_load(tally, posting, rate.start_ns, rate.span, rate.arrival, rng)
        drain_s = await drain(tally, _clients_per_session(clients), rate.drain_timeout)
        await asyncio.sleep(SETTLE)
    finally:
        await cancel_and_wait(ticks)
    received = [[c.received.pop(rate.index, set()) for c in row] for row in clients]
    return PartTally(tally, check_deliveries(tally, received), drain_s)


def _clients_per_session(clients: Sequence[Sequence[BenchClient]]) -> int:
    return len(clients[0]) if clients else 0


async def _tick(tally: PhaseTally, pipe: Pipe) -> None:
    """The rate's counts so far, every TICK_S: the parent's progress line shows them."""
    for _ in range(MAX_TICKS):  # cancelled when the rate ends; this only bounds it
        await asyncio.sleep(TICK_S)
        pipe.send(("tick", counts_of(tally)))
