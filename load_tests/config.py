"""The parameters of a chat fan-out run, validated so that every run stays bounded."""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

MAX_CLIENTS = 2000  # sessions x clients: one generator process on a small machine
MAX_RATE = 50_000.0  # offered chat messages per second
MAX_SECONDS = 600.0
MAX_PAD = 1500  # extra characters per chat text (the server's default limit is 2000)
MAX_ROUNDS = 10  # --rounds: every system this many times (load_tests/rounds.py)
MAX_WORKERS = 8  # classbridge processes for the redis system; more only oversubscribe this box
# Generator processes of a chat run (load_tests/generator_process.py): whole sessions each, so
# never more than there are sessions; past 16 the processes only compete with the server.
MAX_GENERATOR_PROCESSES = 16
GENERATOR_STARTUP_S = 10.0  # the most a run allows for spawning its generator processes ...
GENERATOR_STARTUP_PER_PROCESS_S = 2.0  # ... plus this per process (each imports the tool)
GENERATOR_PROCESSES_HELP = (  # chat-fanout's and chat-capacity's --generator-processes
    f"processes that generate the load (1 .. {MAX_GENERATOR_PROCESSES}, at most --sessions), "
    "each holding whole sessions; more than 1 when one process cannot keep up and the machine "
    "has cores to spare (default: 1, this process)"
)
# The systems a run can compare, in the order they run: Classbridge on one process and
# memory:// (or the server at --url), Classbridge on several workers over a spawned Redis, and
# the bare broadcast baseline.
SYSTEMS = ("memory", "redis", "ceiling")
# The python-socketio baseline (load_tests/baselines/socketio_server.py): one process with
# in-memory rooms, and --redis-workers workers over a spawned Redis (AsyncRedisManager).
SOCKETIO_SYSTEMS = ("socketio", "socketio-redis")
# The ceiling on --redis-workers workers over a spawned Redis (load_tests/baselines/
# ceiling_redis.py): the barest broadcast across workers, the baseline for the redis system.
# And the raw ceiling (load_tests/baselines/ceiling_raw.py): the broadcast with no framework at
# all, about the least Python per delivered event; run when named, or with "all".
ALL_SYSTEMS = (
    "memory",
    "redis",
    "socketio",
    "socketio-redis",
    "ceiling",
    "ceiling-raw",
    "ceiling-redis",
)
# Classbridge from another checkout (--base-root), on memory:// and over Redis: to compare two
# versions of the server in one run. Never part of "all".
BASE_SYSTEMS = ("memory-base", "redis-base")
KNOWN_SYSTEMS = (*ALL_SYSTEMS, *BASE_SYSTEMS)  # every name --systems takes
# Those that start a redis-server.
REDIS_SYSTEMS = ("redis", "socketio-redis", "ceiling-redis", "redis-base")


@dataclass(frozen=True, slots=True)
class FanoutConfig:
    sessions: int = 10
    clients: int = 10  # per session, senders included
    senders: int = 2  # per session: the clients that post chat
    rates: tuple[float, ...] = (1000.0, 4000.0, 8000.0, 12000.0)  # offered msg/s, all sessions
    duration: float = 10.0  # measured seconds per rate
    warmup: float = 2.0  # seconds per rate before measuring
    ramp: float = 2.0  # seconds over which all clients join
    drain_timeout: float = 5.0  # the most to wait after each rate for late deliveries
    arrival: str = "poisson"  # or "uniform"
    wire_format: str = "msgpack"  # or "json"
    pad: int = 0
    seed: int = 1
    url: str | None = None  # an already running Classbridge (loopback only); None: spawn one
    api_key: str | None = None  # needed with url
    server_pid: int | None = None  # with url: the process to read CPU and memory of
    # Which systems run (see SYSTEMS). The command line runs all three by default; this default
    # leaves Redis out so that code (and tests) that only need memory:// never need redis-server.
    systems: tuple[str, ...] = ("memory", "ceiling")
    redis_workers: int = 2  # `classbridge serve --workers N` for the redis system
    server_log_level: str = "warning"
    progress: bool = True
    # Processes that generate the load, each holding whole sessions; 1: this process alone.
    generator_processes: int = 1
    # Another checkout (a directory holding server/) for the memory-base and redis-base systems.
    base_root: str | None = None
    # Times every system runs, on the same workload, for the spread of each ratio
    # (load_tests/rounds.py); 1: one pass.
    rounds: int = 1

    @property
    def total_clients(self) -> int:
        return self.sessions * self.clients

    @property
    def ceiling(self) -> bool:
        return "ceiling" in self.systems

    def generator_startup(self) -> float:
        """Seconds allowed per system for starting the generator processes (none with one)."""
        if self.generator_processes == 1:
            return 0.0
        return GENERATOR_STARTUP_S + GENERATOR_STARTUP_PER_PROCESS_S * self.generator_processes

    def time_budget(self) -> float:
        """An upper bound on the run's wall time; the run is cancelled past it."""
        return self.round_budget() * self.rounds

    def round_budget(self) -> float:
        """An upper bound on one round's wall time: every system once."""
        per_rate = self.warmup + self.duration + self.drain_timeout + 2.0
        per_system = 30.0 + self.ramp + self.total_clients * 0.05 + per_rate * len(self.rates)
        per_system += self.generator_startup()
        # A redis system also starts redis-server and waits until every worker answers.
        redis_systems = sum(1 for name in self.systems if name in REDIS_SYSTEMS)
        return per_system * len(self.systems) + 40.0 * redis_systems


def validate(config: FanoutConfig) -> None:
    """Raise ValueError for a run that would be unbounded, off loopback or meaningless."""
    checks = [
        (config.sessions >= 1 and config.clients >= 2, "need >= 1 session of >= 2 clients"),
        (config.total_clients <= MAX_CLIENTS, f"sessions x clients must be <= {MAX_CLIENTS}"),
        (1 <= config.senders <= config.clients, "senders must be 1 .. clients"),
        (bool(config.rates), "give at least one rate"),
        (all(0 < r <= MAX_RATE for r in config.rates), f"rates must be in (0, {MAX_RATE:g}]"),
        (0 < config.duration <= MAX_SECONDS, f"duration must be in (0, {MAX_SECONDS:g}]"),
        (0 <= config.warmup <= 60 and 0 <= config.ramp <= 60, "warmup and ramp: 0 .. 60 s"),
        (0 < config.drain_timeout <= 60, "drain timeout must be in (0, 60]"),
        (config.arrival in ("poisson", "uniform"), "arrival is poisson or uniform"),
        (config.wire_format in ("msgpack", "json"), "format is msgpack or json"),
        (0 <= config.pad <= MAX_PAD, f"pad must be 0 .. {MAX_PAD}"),
        (bool(config.systems), "give at least one system"),
        (set(config.systems) <= set(KNOWN_SYSTEMS), f"systems are {', '.join(KNOWN_SYSTEMS)}"),
        (
            (config.base_root is not None) == bool(set(config.systems) & set(BASE_SYSTEMS)),
            "memory-base and redis-base need --base-root, and --base-root needs one of them",
        ),
        (len(set(config.systems)) == len(config.systems), "name each system once"),
        (1 <= config.redis_workers <= MAX_WORKERS, f"redis workers must be 1 .. {MAX_WORKERS}"),
        (1 <= config.rounds <= MAX_ROUNDS, f"rounds must be 1 .. {MAX_ROUNDS}"),
        (
            1 <= config.generator_processes <= MAX_GENERATOR_PROCESSES,
            f"generator processes must be 1 .. {MAX_GENERATOR_PROCESSES}",
        ),
        (
            config.generator_processes <= config.sessions,
            "generator processes must be <= sessions (each process holds whole sessions)",
        ),
    ]
    for ok, problem in checks:
        if not ok:
            raise ValueError(problem)
    if config.base_root is not None and not (Path(config.base_root) / "server").is_dir():
        raise ValueError(f"--base-root {config.base_root}: no server/ directory there")
    if config.url is not None:
        check_loopback(config.url)
        if not config.api_key:
            raise ValueError("--url needs --api-key (the server's operator API key)")


def check_socketio_installed(systems: tuple[str, ...]) -> None:
    """The socketio systems need python-socketio (a benchmark dependency: the test extra)."""
    if set(systems) & set(SOCKETIO_SYSTEMS) and importlib.util.find_spec("socketio") is None:
        raise ValueError(
            "python-socketio is not installed: the socketio systems need it "
            "(pip install -e '.[test]'), or leave them out of --systems"
        )


def parse_systems(text: str) -> tuple[str, ...]:
    """``--systems``: names in the order they run ("classbridge" means memory, "all" every one)."""
    if text.strip() == "all":
        return ALL_SYSTEMS
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    names = tuple("memory" if name == "classbridge" else name for name in names)
    unknown = sorted(set(names) - set(KNOWN_SYSTEMS))
    if unknown:
        raise ValueError(f"unknown systems {unknown}: choose from {KNOWN_SYSTEMS} or all")
    return names


def systems_arg(text: str) -> tuple[str, ...]:
    """``parse_systems`` for argparse, which shows an ArgumentTypeError's own message."""
    try:
        return parse_systems(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def check_loopback(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "ws") or not parts.hostname:
        raise ValueError(f"{url!r}: give http://HOST:PORT (or ws://HOST:PORT)")
    if parts.hostname == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{parts.hostname!r} is not a loopback address: load tests stay local")
