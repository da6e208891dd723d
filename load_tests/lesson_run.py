"""A simulated lesson: N sessions of K classes (a teacher, a station and S students each) join
over a ramp, teachers first (through the lobby when asked: each class's teacher admits its
waiting students in batches), then behave as in a lesson for ``duration`` seconds
(lesson_profile.py) while every message is timed, then drain (bounded) and check every
receiver's seqs. One system (memory:// or Redis workers), started by the tool.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from load_tests.lesson_client import LessonClient
from load_tests.lesson_config import LessonConfig
from load_tests.lesson_media import MediaFigures, close_stations, media_figures, start_stations
from load_tests.lesson_profile import Lesson, Scheduler, action_limit
from load_tests.lesson_provision import LessonSession, provision_lessons
from load_tests.lesson_result import LessonResult, lesson_result
from load_tests.lesson_stats import LessonTally, check_seqs
from load_tests.lesson_timing import Book
from load_tests.measure import measure
from load_tests.progress import Progress
from load_tests.rate_step import SETTLE, START_DELAY_NS
from load_tests.scenario import run_classbridge
from load_tests.servers import WORKERS_TIMEOUT, Target
from load_tests.spread import wait_for_workers
from load_tests.tally import Window
from load_tests.wire import Codec

if TYPE_CHECKING:
    from server.media.station import SyntheticStation

JOIN_TIMEOUT = 15.0
DRAIN_POLL = 0.02
JOIN_ORDER = {"teacher": 0, "station": 1, "student": 2}


class Disruption(Protocol):
    """Faults injected while the lesson runs (chaos.py), and what they did."""

    def prepare(self, tally: LessonTally) -> None: ...

    async def run(self, window: Window) -> None: ...

    def figures(self, tally: LessonTally, clients: Sequence[LessonClient]) -> Any: ...


async def run_lesson(config: LessonConfig, progress: Progress | None = None) -> LessonResult:
    """The lesson on ``config.broker``. Bounded by ``config.time_budget()``."""
    progress = progress or Progress(enabled=config.progress)
    if config.url is None:
        (result,) = (await run_classbridge(config, progress, run_system)).values()
        return result
    base_url = config.url.rstrip("/").replace("ws://", "http://", 1).removesuffix("/ws")
    seen = await wait_for_workers(base_url, 1, WORKERS_TIMEOUT)
    target = Target("classbridge", base_url, config.server_pid, config.api_key, healthz=dict(seen))
    async with asyncio.timeout(config.time_budget()):
        return await run_system(target, config, progress)


def make_clients(
    lessons: list[LessonSession], config: LessonConfig, tally: LessonTally
) -> tuple[list[tuple[LessonClient, str]], list[str]]:
    """The simulated clients with their tokens; and the tokens of the real stations."""
    codec, book = Codec(config.wire_format), Book()
    clients, media = [], []
    for s, lesson in enumerate(lessons):
        for seat in lesson.seats:
            if seat.role == "station" and s < config.media:
                media.append(seat.token)
            else:
                clients.append(
                    (LessonClient(seat.name, s, seat.role, codec, tally, book), seat.token)
                )
    return clients, media


async def run_system(
    target: Target, config: LessonConfig, progress: Progress, chaos: Disruption | None = None
) -> LessonResult:
    progress.note(
        f"{target.name}: {config.sessions} session(s) x {config.classes} classes x "
        f"({config.students} students + teacher + station) joining over {config.ramp:g} s"
        + (" through the lobby" if config.lobby else "")
    )
    lessons = await provision_lessons(
        target, config.sessions, config.classes, config.students, config.lobby
    )
    tally = LessonTally(config.sessions)
    seated, media_tokens = make_clients(lessons, config, tally)
    clients = [client for client, _ in seated]
    stations: list[SyntheticStation] = []
    try:
        async with admitting(clients, config):
            await join_all(target.ws_url, seated, config)
        media_errors: list[str] = []
        if media_tokens:
            stations, media_errors = await start_stations(target.ws_url, media_tokens)
        return await run_activity(
            target, clients, tally, config, progress, (stations, media_errors), chaos
        )
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        await close_stations(stations)


@contextlib.asynccontextmanager
async def admitting(clients: list[LessonClient], config: LessonConfig) -> AsyncIterator[None]:
    """With the lobby, every teacher admits its class's waiting students every few tenths of
    a second while the others join."""
    teachers = [c for c in clients if c.is_teacher] if config.lobby else []
    limit = int((config.ramp + JOIN_TIMEOUT * 2) / config.admit_every) + 1
    tasks = [asyncio.create_task(_admit(t, config.admit_every, limit)) for t in teachers]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _admit(teacher: LessonClient, every: float, limit: int) -> None:
    for _ in range(limit):
        await asyncio.sleep(every)
        if teacher.joined and teacher.waiting:
            batch = set(teacher.waiting)
            key = ("lobby.admitted", teacher.session, teacher.class_id)
            teacher.request("lobby.admit", {"class": teacher.class_id}, key)
            teacher.waiting -= batch  # the admission's event removes them too


async def join_all(url: str, seated: list[tuple[LessonClient, str]], config: LessonConfig) -> None:
    """Teachers first, then stations, then students, evenly over the ramp."""
    ordered = sorted(seated, key=lambda pair: JOIN_ORDER.get(pair[0].role, 3))
    step = config.ramp / max(1, len(ordered))
    timeout = JOIN_TIMEOUT + (config.ramp + 10.0 if config.lobby else 0.0)

    async def join(position: int, client: LessonClient, token: str) -> None:
        await asyncio.sleep(position * step)
        await client.join(url, token, timeout)

    async with asyncio.TaskGroup() as group:  # one failed join cancels the others
        for position, (client, token) in enumerate(ordered):
            group.create_task(join(position, client, token))


def plan(clients: list[LessonClient], config: LessonConfig, lesson: Lesson, start: int) -> None:
    for session in range(config.sessions):
        mine = [c for c in clients if c.session == session]
        lesson.add_teachers([c for c in mine if c.role == "teacher"], start)
        lesson.add_stations([c for c in mine if c.role == "station"], start)
        for student in (c for c in mine if c.role == "student"):
            lesson.add_student(student, start)


async def run_activity(
    target: Target,
    clients: list[LessonClient],
    tally: LessonTally,
    config: LessonConfig,
    progress: Progress,
    media: tuple[list[SyntheticStation], list[str]],
    chaos: Disruption | None = None,
) -> LessonResult:
    start = time.monotonic_ns() + START_DELAY_NS
    window = Window(start, start + int(config.duration * 1e9))
    tally.start_ns, tally.end_ns = window.start_ns, window.end_ns
    scheduler = Scheduler(window.end_ns, action_limit(config))
    plan(clients, config, Lesson(config, scheduler), start)
    if chaos is not None:
        chaos.prepare(tally)
    async with progress.ticking(lambda: _line(target.name, tally, window)):
        actions = asyncio.create_task(scheduler.run())
        faults = asyncio.create_task(chaos.run(window)) if chaos is not None else None
        try:
            samples = await measure(target, window)
            await actions
            if faults is not None:
                await faults
        finally:
            actions.cancel()
            if faults is not None:
                faults.cancel()
        if scheduler.cut_short:
            tally.on_error(None, "generator: the profile's turn limit ended it early")
        drain_s = await drain(tally, clients, config.drain_timeout)
        await asyncio.sleep(SETTLE)
    figures: MediaFigures | None = media_figures(*media) if media[0] or media[1] else None
    seq = check_seqs(tally, clients)
    names = (target.name, target.broker, target.workers, len(clients))
    result = lesson_result(names, tally, seq, samples, drain_s, scheduler.done, figures)
    if chaos is None:
        return result
    return dataclasses.replace(result, chaos=chaos.figures(tally, clients))


async def drain(tally: LessonTally, clients: list[LessonClient], timeout: float) -> float:
    """Wait (bounded) until every command sent has its ack or error, and every client is
    connected and has reached the newest acked event that everyone sees (on another worker it
    may come later than the sender's ack)."""
    started = time.monotonic()
    for _ in range(int(timeout / DRAIN_POLL) + 1):
        newest = _newest(tally)
        # Clients on their way back count as behind: they resume, then catch up.
        behind = any(
            c.coming_back or c.position < newest[c.session].get(c.epoch, 0) for c in clients
        )
        if tally.pending <= 0 and not behind:
            break
        await asyncio.sleep(DRAIN_POLL)
    return time.monotonic() - started


def _newest(tally: LessonTally) -> list[dict[str, int]]:
    """Per session and epoch, the newest acked seq of an event everyone sees."""
    newest: list[dict[str, int]] = [{} for _ in tally.acks]
    for session, acks in enumerate(tally.acks):
        for seq, epoch, _, by in acks:
            if by is None:
                newest[session][epoch] = max(seq, newest[session].get(epoch, 0))
    return newest


def _line(name: str, tally: LessonTally, window: Window) -> str:
    now = time.monotonic_ns()
    stage = "lesson" if now < window.end_ns else "drain"
    elapsed = max(0.0, (now - window.start_ns) / 1e9)
    latest = tally.per_second[-2] if len(tally.per_second) >= 2 else 0
    return (
        f"{name:<11} {stage:<6} {elapsed:5.1f}/{window.seconds:g}s  sent "
        f"{sum(tally.sent.values())}  acked {sum(tally.acked.values())}  delivered "
        f"{sum(tally.deliveries.values())} ({latest}/s)  errors {sum(tally.errors.values())}"
    )
