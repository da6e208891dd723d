"""A second, deliberately different generator: driven by ``serve``'s plan file alone.

``python -m load_tests.plan_drive --plan plan.json --systems classbridge,socketio,ceiling-raw
--rate 300 --seconds 12``. The main generator (load_tests/fanout.py) is built for a small
machine: its own WebSocket reader, two senders per session, msgpack by default. This one is
what another team would write: the ``websockets`` library's client with a task per connection,
JSON, and every client of a session posting (one Poisson stream over all clients, each post
from a client drawn at random). It knows nothing of the servers but what the plan says: the
addresses, tokens and message templates (load_tests/serve_plan.py). Only the CPU reading is
shared with the rest of load_tests (load_tests/procstat.py). Each system runs in turn; the
figures are delivered events per CPU-second of the system (its processes and its
redis-server), and each system's ratio to the first. Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from load_tests.crowd_cli import percentile
from load_tests.help_format import DefaultsShownParser
from load_tests.procstat import own_cpu_seconds, sample_system
from load_tests.serve_plan import REQUEST_ID, TEXT, TOKEN

MAX_RATE = 5000.0
MAX_SECONDS = 600.0
CONNECT_TIMEOUT = 20.0
JOIN_BUDGET_PER_CLIENT = 0.5  # seconds: far more than a join takes on loopback
DRAIN_LIMIT = 10.0  # seconds to wait after the window for its posts' deliveries
DRAIN_POLL = 0.02
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
JSON_SUBPROTOCOL = Subprotocol("classbridge.v1.json")


@dataclass(frozen=True, slots=True)
class DriveResult:
    system: str
    posted: int  # chats posted in the measured window
    delivered: int  # their deliveries, each counted once per receiver
    expected: int  # posted x the session's clients (the sender included)
    duplicates: int
    cpu_seconds: float | None  # the system's, over the window and the drain after it
    p50_ms: float | None
    p99_ms: float | None
    # This process's CPU from the window's start to the drain's end, as a share of one core.
    generator_cpu_share: float = 0.0
    failed_clients: int = 0  # clients that stopped reading before the end (a close, an error)
    first_failure: str | None = None

    @property
    def events_per_cpu_second(self) -> float | None:
        return self.delivered / self.cpu_seconds if self.cpu_seconds else None


def fill_template(template: Any, token: str = "", text: str = "", request_id: int = 0) -> str:
    """A join or post message from the plan's template (a map for Classbridge's wire, a
    string for socket.io's), as the text to send. One pass, so a value that happens to hold a
    placeholder is never filled again."""
    if isinstance(template, dict):
        values: dict[str, Any] = {TOKEN: token, TEXT: text, REQUEST_ID: request_id}
        return json.dumps({key: values.get(value, value) for key, value in template.items()})
    escaped = {  # inside a JSON string's quotes in socket.io's packets
        TOKEN: json.dumps(token)[1:-1],
        TEXT: json.dumps(text)[1:-1],
        REQUEST_ID: str(request_id),
    }
    filled: str = _PLACEHOLDERS.sub(lambda found: escaped[found.group(0)], template)
    return filled


_PLACEHOLDERS = re.compile("|".join(re.escape(p) for p in (TOKEN, TEXT, REQUEST_ID)))


class Client:
    """One connection; counts the measured chats it receives (by their number, once each)."""

    def __init__(self, wire: dict[str, Any], socketio: bool) -> None:
        self.wire = wire
        self.socketio = socketio
        self.seen: set[int] = set()
        self.duplicates = 0
        self.latencies: list[float] = []
        self.socket: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None

    async def join(self, url: str, token: str) -> None:
        protocols = None if self.socketio else [JSON_SUBPROTOCOL]
        socket = await connect(url, subprotocols=protocols, open_timeout=CONNECT_TIMEOUT)
        self.socket = socket
        await socket.send(fill_template(self.wire["join"], token=token))
        async with asyncio.timeout(CONNECT_TIMEOUT):
            while not self._joined(await socket.recv()):
                pass
        self.reader = asyncio.create_task(self._read())

    def _joined(self, frame: str | bytes) -> bool:
        """Whether ``frame`` answers the join; RuntimeError when it refuses it."""
        if self.socketio:
            packet = str(frame)
            if packet.startswith("44"):
                raise RuntimeError(f"join refused: {packet}")
            return packet.startswith("40{")
        for message in _messages(frame):
            if message.get("type") == "error":
                raise RuntimeError(f"join refused: {message.get('code')}")
            if message.get("type") == "welcome":
                return True
        return False

    def failure(self) -> str | None:
        """Why this client stopped reading before it was closed, if it did."""
        if self.reader is None or not self.reader.done() or self.reader.cancelled():
            return None
        error = self.reader.exception()
        if error is not None:
            return repr(error)
        close = self.socket.close_code if self.socket is not None else None
        return f"closed by the server (code {close})"

    async def post(self, number: int, measured: bool) -> None:
        assert self.socket is not None
        text = f"{number} {time.monotonic()!r} {'m' if measured else 'w'}"
        await self.socket.send(fill_template(self.wire["post"], text=text, request_id=number))

    async def _read(self) -> None:
        assert self.socket is not None
        async for frame in self.socket:
            now = time.monotonic()
            if self.socketio:
                packet = str(frame)
                if packet == "2":
                    await self.socket.send("3")
                elif packet.startswith('42["chat.posted"'):
                    self._on_chat(json.loads(packet[2:])[1].get("text"), now)
                continue
            for message in _messages(frame):
                if message.get("type") == "event" and message.get("kind") == "chat.posted":
                    data = message.get("data")
                    self._on_chat(data.get("text") if isinstance(data, dict) else None, now)

    def _on_chat(self, text: object, now: float) -> None:
        if not isinstance(text, str) or not text.endswith(" m"):
            return  # not a measured chat of ours
        number, sent, _ = text.split(" ")
        if int(number) in self.seen:
            self.duplicates += 1
            return
        self.seen.add(int(number))
        self.latencies.append(now - float(sent))

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()  # what it may have met is reported by failure() before this
            await asyncio.gather(self.reader, return_exceptions=True)
        if self.socket is not None:
            await self.socket.close()


def _messages(frame: str | bytes) -> list[dict[str, Any]]:
    """The maps in one frame of Classbridge's wire: one, or a batch (an array, in order)."""
    data = json.loads(frame)
    items = data if isinstance(data, list) else [data]
    return [item for item in items if isinstance(item, dict)]


async def drive(
    plan: dict[str, Any], system: str, rate: float, seconds: float, warmup: float, seed: int
) -> DriveResult:
    """Join every client of ``system``'s sessions, post for ``warmup`` then ``seconds``, and
    wait for the measured posts' deliveries. Bounded: TimeoutError past ``time_budget``."""
    entry = next(e for e in plan["systems"] if e["name"] == system)
    wire = plan["wires"][entry["wire"]]
    sessions: list[list[Client]] = []
    clients = sum(len(session["tokens"]) for session in entry["sessions"])
    try:
        async with asyncio.timeout(time_budget(clients, seconds, warmup)):
            for session in entry["sessions"]:
                members = [Client(wire, entry["wire"] == "socketio") for _ in session["tokens"]]
                sessions.append(members)
                for client, token in zip(members, session["tokens"], strict=True):
                    await client.join(entry["ws_url"], token)
            return await _measure(entry, sessions, rate, seconds, warmup, random.Random(seed))
    finally:
        for members in sessions:
            for client in members:
                await client.close()


def time_budget(clients: int, seconds: float, warmup: float) -> float:
    """The most one system's drive may take: joins, posting, the drain, and a margin."""
    return JOIN_BUDGET_PER_CLIENT * clients + warmup + seconds + DRAIN_LIMIT + 30.0


async def _measure(
    entry: dict[str, Any],
    sessions: list[list[Client]],
    rate: float,
    seconds: float,
    warmup: float,
    rng: random.Random,
) -> DriveResult:
    everyone = [(client, len(members)) for members in sessions for client in members]
    clients = [client for client, _ in everyone]
    numbers = itertools.count(1)

    async def post_for(length: float, measured: bool) -> tuple[int, int]:
        """Posts and their expected deliveries, Poisson arrivals over ``length`` seconds."""
        posted = expected = 0
        due = time.monotonic()
        end = due + length
        while (due := due + rng.expovariate(rate)) < end:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            client, session_size = rng.choice(everyone)
            await client.post(next(numbers), measured)
            posted, expected = posted + 1, expected + session_size
        return posted, expected

    await post_for(warmup, False)
    before, own_before, started = _cpu(entry), own_cpu_seconds(), time.monotonic()
    posted, expected = await post_for(seconds, True)
    # The last posts' deliveries: until all are in, a client stopped reading, or the limit.
    drain_end = time.monotonic() + DRAIN_LIMIT
    while time.monotonic() < drain_end and sum(len(c.seen) for c in clients) < expected:
        if any(client.failure() for client in clients):
            break
        await asyncio.sleep(DRAIN_POLL)
    after, own_after, ended = _cpu(entry), own_cpu_seconds(), time.monotonic()
    failures = [failure for client in clients if (failure := client.failure()) is not None]
    latencies = sorted(1000 * latency for client in clients for latency in client.latencies)
    return DriveResult(
        system=entry["name"],
        posted=posted,
        delivered=sum(len(client.seen) for client in clients),
        expected=expected,
        duplicates=sum(client.duplicates for client in clients),
        cpu_seconds=None if before is None or after is None else after - before,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        generator_cpu_share=(own_after - own_before) / (ended - started),
        failed_clients=len(failures),
        first_failure=failures[0] if failures else None,
    )


def _cpu(entry: dict[str, Any]) -> float | None:
    total = sample_system(entry["pid"], entry.get("redis_pid"))
    return None if total is None else total.cpu_seconds


def format_results(results: list[DriveResult]) -> str:
    lines = []
    for r in results:
        per_cpu = r.events_per_cpu_second
        lines.append(
            f"{r.system:<18} posted {r.posted:6d}  delivered {r.delivered:8d} of {r.expected:8d}"
            f"  dup {r.duplicates}  CPU {_fmt(r.cpu_seconds, 2)} s  ev/CPU-s {_fmt(per_cpu, 0)}"
            f"  p50 {_fmt(r.p50_ms, 1)} ms  p99 {_fmt(r.p99_ms, 1)} ms"
            f"  generator {r.generator_cpu_share:.0%} of a core"
        )
        if r.failed_clients:
            lines.append(f"  {r.failed_clients} client(s) stopped reading: {r.first_failure}")
    return "\n".join(lines + ratio_lines(results))


def ratio_lines(results: list[DriveResult]) -> list[str]:
    return [f"{pair}: {ratio:.2f}" for pair, ratio in ratios_to_first(results).items()]


def ratios_to_first(results: list[DriveResult]) -> dict[str, float]:
    """The first system's delivered events per CPU-second over each other system's, keyed
    "first / other"; a system without a CPU reading has none."""
    first = results[0].events_per_cpu_second
    ratios = {}
    for r in results[1:]:
        other = r.events_per_cpu_second
        if first and other:
            ratios[f"{results[0].system} / {r.system}"] = first / other
    return ratios


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


async def drive_all(arguments: argparse.Namespace, plan: dict[str, Any]) -> list[DriveResult]:
    results = []
    for system in arguments.systems.split(","):
        result = await drive(
            plan, system, arguments.rate, arguments.seconds, arguments.warmup, arguments.seed
        )
        print(format_results([result]), flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = DefaultsShownParser(
        prog="python -m load_tests.plan_drive",
        description="Drive the systems `python -m load_tests serve` started, from its plan "
        "alone: websockets clients, JSON, every client posting.",
    )
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--systems", required=True, help="names from the plan, in order")
    parser.add_argument("--rate", type=float, default=300.0, help="posts per second, all clients")
    parser.add_argument("--seconds", type=float, default=12.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    arguments = parser.parse_args(argv)
    if not (0 < arguments.rate <= MAX_RATE and 0 < arguments.seconds <= MAX_SECONDS):
        parser.error(f"rate in (0, {MAX_RATE:g}], seconds in (0, {MAX_SECONDS:g}]")
    if not 0 <= arguments.warmup <= 60:
        parser.error("warmup in [0, 60]")
    try:
        plan = json.loads(arguments.plan.read_text())
    except (OSError, ValueError) as error:
        parser.error(f"cannot read the plan {arguments.plan}: {error}")
    unknown = set(arguments.systems.split(",")) - {entry["name"] for entry in plan["systems"]}
    if unknown:
        parser.error(f"not in the plan: {', '.join(sorted(unknown))}")
    remote = [
        e["ws_url"] for e in plan["systems"] if urlsplit(e["ws_url"]).hostname not in LOOPBACK_HOSTS
    ]
    if remote:
        parser.error(f"loopback only: {', '.join(remote)}")
    results = asyncio.run(drive_all(arguments, plan))
    for line in ratio_lines(results):  # each system's own line is printed already
        print(line)
    if arguments.json is not None:
        figures = {
            "systems": [
                asdict(r) | {"events_per_cpu_second": r.events_per_cpu_second} for r in results
            ],
            "ratios": ratios_to_first(results),
        }
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")
    clean = all(
        r.delivered == r.expected and r.duplicates == 0 and r.failed_clients == 0 for r in results
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
