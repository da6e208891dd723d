"""What the participants of a simulated lesson do, seeded: one heap of due actions, run open
loop (sends never wait for acks) by one task, bounded in count and in time.

- Students chat (Poisson), draw strokes in bursts (``board.put``, then ``board.append`` at
  ``draw_hz`` with 1-3 points and a cursor move each, ``end`` after 1-3 s), move their cursor
  now and then, raise a hand and lower it 3-10 s later, and answer polls 0.5-4 s after they
  see one (at most half the time the poll stays open; ``answer_share`` of them).
- Teachers: one per session asks a poll every ``poll_every`` s (the teachers take turns) and
  closes it ``poll_open`` s later.
- Stations negotiate with the next class's station (a fake offer of ``sdp_bytes`` and two
  candidates; the partner answers with an answer of the same size and two candidates).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from load_tests.lesson_client import LessonClient
from load_tests.lesson_config import LessonConfig
from load_tests.lesson_timing import stamp
from load_tests.signal_client import CANDIDATE, make_sdp

Action = Callable[[int], None]  # called with its due time
IDLE_POLL_NS = 10_000_000  # the loop looks at the heap at least this often (pushes from receivers)
MIN_SLEEP_NS = 1_000_000
YIELD_EVERY = 16
WIDTH, HEIGHT = 1920, 1080
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
CHAT = (
    "I think the river is longer in our country", "how do you say water in Portuguese?",
    "we have a festival for the rain", "can you see our drawing?", "our school has a garden",
    "what time is it there?", "we learned about the water cycle last week",
)  # fmt: skip
QUESTIONS = ("Where does most rain fall?", "Which river is longest?", "Who drinks the most water?")


class Scheduler:
    def __init__(self, end_ns: int, limit: int) -> None:
        self.end_ns, self.limit = end_ns, limit
        self.heap: list[tuple[int, int, Action]] = []
        self._order = itertools.count()
        self.done = 0
        self.cut_short = False  # the turn limit ended the run before end_ns: a bug to report

    def at(self, due_ns: int, action: Action) -> None:
        if due_ns < self.end_ns:
            heapq.heappush(self.heap, (due_ns, next(self._order), action))

    def after(self, due_ns: int, seconds: float, action: Action) -> None:
        self.at(due_ns + int(seconds * 1e9), action)

    async def run(self) -> None:
        """Every due action until ``end_ns``; bounded by ``limit`` turns of the loop."""
        for turn in range(self.limit):
            now = time.monotonic_ns()
            if now >= self.end_ns:
                return
            if self.heap and self.heap[0][0] <= now:
                due, _, action = heapq.heappop(self.heap)
                action(due)
                self.done += 1
                if turn % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let the receivers run when behind schedule
                continue
            next_due = self.heap[0][0] if self.heap else self.end_ns
            # At least a millisecond: a shorter timer fires at once and the loop would spin.
            await asyncio.sleep(max(MIN_SLEEP_NS, min(next_due - now, IDLE_POLL_NS)) / 1e9)
        self.cut_short = time.monotonic_ns() < self.end_ns


@dataclass(slots=True)
class Student:
    client: LessonClient
    rng: random.Random
    x: int = 0
    y: int = 0
    strokes: int = 0
    hand_up: bool = False
    stroke_link: tuple[int, int] = (0, 0)  # the client's connection and board refusals then


class Lesson:
    """Wires the behaviours of every client of a run onto one scheduler."""

    def __init__(self, config: LessonConfig, scheduler: Scheduler) -> None:
        self.config, self.s = config, scheduler
        self.rng = random.Random(config.seed)
        self.sdp = make_sdp(config.sdp_bytes)
        self.negotiations = itertools.count(1)

    def _poisson(self, rng: random.Random, rate: float, due: int, action: Action) -> None:
        if rate > 0:
            self.s.after(due, rng.expovariate(rate), action)

    # --- students ------------------------------------------------------------------------------

    def add_student(self, client: LessonClient, start_ns: int) -> None:
        st = Student(client, random.Random(self.rng.getrandbits(64)))
        st.x, st.y = st.rng.randrange(WIDTH), st.rng.randrange(HEIGHT)
        c = self.config
        client.on_poll = lambda _, poll: self._maybe_answer(st, poll)
        self._poisson(st.rng, c.chat_rate, start_ns, lambda due: self._chat(st, due))
        self._poisson(st.rng, c.stroke_rate, start_ns, lambda due: self._stroke(st, due))
        self._poisson(st.rng, c.cursor_hz, start_ns, lambda due: self._cursor(st, due))
        self._poisson(st.rng, c.hand_rate, start_ns, lambda due: self._hand(st, due))

    def _chat(self, st: Student, due: int) -> None:
        st.client.request("chat.send", {"text": stamp(st.rng.choice(CHAT))})
        self._poisson(st.rng, self.config.chat_rate, due, lambda d: self._chat(st, d))

    def _cursor(self, st: Student, due: int) -> None:
        st.x, st.y = st.rng.randrange(WIDTH), st.rng.randrange(HEIGHT)
        st.client.cursor(st.x, st.y)
        self._poisson(st.rng, self.config.cursor_hz, due, lambda d: self._cursor(st, d))

    def _hand(self, st: Student, due: int) -> None:
        c, s = st.client, st.client.session
        if not st.hand_up:
            st.hand_up = True
            c.request("hand.raise", {}, ("hand.raised", s, c.participant_id))
            self.s.after(due, st.rng.uniform(3, 10), lambda d: self._lower(st, d))
            return
        self._poisson(st.rng, self.config.hand_rate, due, lambda d: self._hand(st, d))

    def _lower(self, st: Student, due: int) -> None:
        c = st.client
        c.request("hand.lower", {}, ("hand.lowered", c.session, c.participant_id))
        st.hand_up = False
        self._poisson(st.rng, self.config.hand_rate, due, lambda d: self._hand(st, d))

    def _points(self, st: Student) -> list[int]:
        flat = []
        for _ in range(st.rng.randint(1, 3)):
            st.x = min(WIDTH, max(0, st.x + st.rng.randint(-12, 12)))
            st.y = min(HEIGHT, max(0, st.y + st.rng.randint(-12, 12)))
            flat += [st.x, st.y]
        return flat

    def _stroke(self, st: Student, due: int) -> None:
        c = st.client
        st.strokes += 1
        st.stroke_link = (c.links, c.board_refusals)
        record = f"{c.name}k{st.strokes}"
        points = self._points(st)
        props = {"points": points, "color": st.rng.choice(COLORS), "width": st.rng.randint(2, 8)}
        message = {"board": "main", "record": {"id": record, "kind": "stroke", "props": props}}
        c.request("board.put", message, ("board", c.session, record, 0))
        ends = due + int(st.rng.uniform(*self.config.stroke_seconds) * 1e9)
        period = 1 / self.config.draw_hz
        self.s.after(due, period, lambda d: self._append(st, record, len(points) // 2, ends, d))

    def _append(self, st: Student, record: str, offset: int, ends: int, due: int) -> None:
        c = st.client
        if (c.links, c.board_refusals) != st.stroke_link or not c.joined:
            # The connection broke or an op was refused (a fault in the broker) meanwhile: the
            # next offset is unknown, so this stroke ends here and the student draws a new one.
            self.s.after(due, 1 / self.config.draw_hz, lambda d: self._stroke(st, d))
            return
        points = self._points(st)
        end = due >= ends or due + int(1e9 / self.config.draw_hz) >= self.s.end_ns
        message = {"board": "main", "record": record, "offset": offset, "points": points}
        if end:
            message["end"] = True
        c.request("board.append", message, ("board", c.session, record, offset))
        c.cursor(st.x, st.y)
        if end:
            self._poisson(st.rng, self.config.stroke_rate, due, lambda d: self._stroke(st, d))
            return
        nxt = offset + len(points) // 2
        self.s.after(due, 1 / self.config.draw_hz, lambda d: self._append(st, record, nxt, ends, d))

    def _maybe_answer(self, st: Student, poll: int) -> None:
        if st.rng.random() >= self.config.answer_share:
            return
        c = st.client
        # Well before the close (poll_open after the teacher's ack): a late answer is refused.
        wait = st.rng.uniform(0.5, max(0.5, min(4.0, self.config.poll_open / 2)))
        message = {"poll": poll, "choices": [st.rng.randrange(3)]}
        key = ("poll.answered", c.session, poll, c.participant_id)
        self.s.after(time.monotonic_ns(), wait, lambda _: c.request("poll.answer", message, key))

    # --- teachers ------------------------------------------------------------------------------

    def add_teachers(self, teachers: list[LessonClient], start_ns: int) -> None:
        """One session's teachers: they take turns asking a poll, the first soon after start."""
        if not teachers:
            return
        turns = itertools.cycle(teachers)
        first = self.rng.uniform(0.5, min(self.config.poll_every, 3.0))
        self.s.after(start_ns, first, lambda due: self._poll(turns, due))
        for teacher in teachers:
            teacher.on_poll_acked = self._close_later

    def _poll(self, turns: itertools.cycle[LessonClient], due: int) -> None:
        teacher = next(turns)
        question = stamp(self.rng.choice(QUESTIONS))
        message = {"question": question, "options": ["Here", "There", "Both"]}
        teacher.request("poll.create", message)
        self.s.after(due, self.config.poll_every, lambda d: self._poll(turns, d))

    def _close_later(self, teacher: LessonClient, poll: int) -> None:
        key = ("poll.closed", teacher.session, poll)
        close = {"poll": poll}
        when = time.monotonic_ns()
        self.s.after(
            when, self.config.poll_open, lambda _: teacher.request("poll.close", close, key)
        )

    # --- stations ------------------------------------------------------------------------------

    def add_stations(self, stations: list[LessonClient], start_ns: int) -> None:
        """One session's stations: each negotiates with the next one (none when alone)."""
        if len(stations) < 2:
            return
        for index, station in enumerate(stations):
            partner = stations[(index + 1) % len(stations)]
            station.answer_signal = self._answer
            rng = random.Random(self.rng.getrandbits(64))
            self._next_offer(station, partner, rng, start_ns)

    def _offer(
        self, station: LessonClient, partner: LessonClient, rng: random.Random, due: int
    ) -> None:
        pc = f"{station.name}n{next(self.negotiations)}"
        self._negotiate(station, partner.participant_id, pc, "offer", (1, 2))
        self._next_offer(station, partner, rng, due)

    def _next_offer(
        self, station: LessonClient, partner: LessonClient, rng: random.Random, due: int
    ) -> None:
        rate = 1 / self.config.signal_every
        self._poisson(rng, rate, due, lambda d: self._offer(station, partner, rng, d))

    def _answer(self, station: LessonClient, to: str, pc: str) -> None:
        self._negotiate(station, to, pc, "answer", (3, 4))

    def _negotiate(
        self, station: LessonClient, to: str, pc: str, kind: str, candidates: tuple[int, int]
    ) -> None:
        description = {"description": {"type": kind, "sdp": self.sdp}}
        self._signal(station, to, pc, f"{pc}/{kind}", description)
        for n in candidates:
            text = f"candidate:{n} " + str(CANDIDATE["candidate"]).partition(" ")[2]
            self._signal(
                station, to, pc, f"{pc}/c{n}", {"candidate": {**CANDIDATE, "candidate": text}}
            )

    def _signal(
        self, station: LessonClient, to: str, pc: str, key: str, payload: dict[str, Any]
    ) -> None:
        station.request("signal", {"to": to, "pc": pc, **payload}, ("signal", key), extra=key)


def action_limit(config: LessonConfig) -> int:
    """Turns of the scheduler's loop a run may take: every action it could schedule (at several
    times the mean rates) plus the idle looks, so the bound never cuts a real run short."""
    per_student = config.chat_rate + config.cursor_hz + 2 * config.hand_rate + 1
    per_student += config.stroke_rate * (config.draw_hz * config.stroke_seconds[1] + 2)
    students = config.sessions * config.classes * config.students
    stations = config.sessions * config.classes * 6 / config.signal_every
    per_second = students * per_student + stations + config.sessions
    idle = config.duration * 1e9 / MIN_SLEEP_NS  # every idle turn sleeps at least this long
    return int((per_second * config.duration) * 5 + idle + 10_000)
