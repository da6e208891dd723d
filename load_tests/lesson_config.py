"""The parameters of a simulated lesson (``lesson``), validated so that every run stays bounded
and inside the server's own limits (records a board, polls a session, classes a session)."""

from __future__ import annotations

from dataclasses import dataclass

from load_tests.config import MAX_CLIENTS, MAX_SECONDS, MAX_WORKERS, check_loopback

BROKERS = ("memory", "redis")
FAULTS = ("kill-worker", "restart-redis", "pause-redis")  # chaos.py injects them
# The chaos Redis's: appendfsync always, nothing kept, or all but the last second (chaos_redis.py)
PERSISTENCE = ("aof", "none", "last-second")
MAX_FAULTS = 12
MAX_CLASSES = 8  # the HTTP API's limit per session
MAX_POLLS = 90  # the server keeps at most 100 polls a session
MAX_RECORDS = 4500  # the server's limit is 5000 records a board
MAX_MEDIA = 4  # sessions with real aiortc stations: each costs a core's share on its own


@dataclass(frozen=True, slots=True)
class LessonConfig:
    sessions: int = 1
    classes: int = 2  # per session: each has a teacher, a station and its students
    students: int = 10  # per class
    duration: float = 30.0  # seconds of lesson after everyone joined (all of it measured)
    ramp: float = 3.0  # seconds over which the clients join (teachers first)
    lobby: bool = False  # True: lobby "everyone", each class's teacher admits in batches
    admit_every: float = 0.5  # seconds between a teacher's admissions of its waiting class
    chat_rate: float = 1 / 20  # chat messages per student per second (Poisson)
    stroke_rate: float = 1 / 15  # strokes started per student per second (Poisson)
    draw_hz: float = 20.0  # board ops per second during a stroke
    stroke_seconds: tuple[float, float] = (1.0, 3.0)
    cursor_hz: float = 1.0  # idle cursor moves per student per second (and one per append)
    hand_rate: float = 1 / 60  # hand raises per student per second; lowered after 3-10 s
    poll_every: float = 15.0  # seconds between polls, per session (a teacher asks)
    poll_open: float = 8.0  # seconds a poll stays open
    answer_share: float = 0.9  # of the students who answer a poll
    signal_every: float = 5.0  # seconds between negotiations a station starts (mean)
    sdp_bytes: int = 3500  # size of each fake offer and answer
    media: int = 0  # sessions whose stations are real aiortc synthetic stations
    seed: int = 1
    broker: str = "memory"  # "redis": --workers workers over a redis-server started here
    redis_workers: int = 2
    wire_format: str = "msgpack"
    url: str | None = None  # a running Classbridge (loopback only); None: spawn one
    api_key: str | None = None  # its operator key (with url)
    server_pid: int | None = None  # with url: the process to read CPU and memory of
    drain_timeout: float = 5.0
    server_log_level: str = "warning"
    progress: bool = True
    chaos: tuple[str, ...] = ()  # faults injected during the lesson, in order (chaos.py)
    redis_persistence: str = "aof"  # of the Redis a chaos run starts
    pause_seconds: float = 3.0  # how long pause-redis keeps Redis stopped

    @property
    def systems(self) -> tuple[str, ...]:
        return (self.broker,)

    @property
    def clients_per_session(self) -> int:
        return self.classes * (self.students + 2)

    @property
    def total_clients(self) -> int:
        return self.sessions * self.clients_per_session

    def server_limits(self) -> list[str]:
        """The server keeps its own limits: the profile's per-client rates are a lesson's, and
        must fit them (any ``rate_limited`` is reported)."""
        return []

    def time_budget(self) -> float:
        """An upper bound on the run's wall time; the run is cancelled past it."""
        startup = 60.0 + (30.0 if self.broker == "redis" else 0.0) + 20.0 * self.media
        chaos = 60.0 + 10.0 * len(self.chaos) if self.chaos else 0.0  # restarts, comebacks
        return startup + self.ramp + self.total_clients * 0.1 + self.duration * 2 + 30.0 + chaos


def validate(config: LessonConfig) -> None:
    """Raise ValueError for a run that would be unbounded, off limits or meaningless."""
    low_s, high_s = config.stroke_seconds
    strokes = config.classes * config.students * config.duration * config.stroke_rate * 2 + 10
    rates = (config.chat_rate, config.stroke_rate, config.cursor_hz, config.hand_rate)
    checks = [
        (config.sessions >= 1 and config.students >= 1, "need >= 1 session of >= 1 student"),
        (1 <= config.classes <= MAX_CLASSES, f"classes: 1 .. {MAX_CLASSES} per session"),
        (config.total_clients <= MAX_CLIENTS, f"sessions x clients must be <= {MAX_CLIENTS}"),
        (0 < config.duration <= MAX_SECONDS, f"duration must be in (0, {MAX_SECONDS:g}]"),
        (0 <= config.ramp <= 60, "ramp: 0 .. 60 s"),
        (0.05 <= config.admit_every <= 10, "admit-every: 0.05 .. 10 s"),
        (all(0 <= rate <= 10 for rate in rates), "per-student rates: 0 .. 10 per second"),
        (0 < config.draw_hz <= 40, "draw rate: (0, 40] ops/s (the server's board limit)"),
        (0.1 <= low_s <= high_s <= 10, "stroke seconds: 0.1 <= low <= high <= 10"),
        (strokes <= MAX_RECORDS, f"a board would get more than {MAX_RECORDS} strokes"),
        (config.poll_every >= 2 and config.poll_open >= 1, "poll-every >= 2 s, poll-open >= 1"),
        (config.duration / config.poll_every <= MAX_POLLS, f"more than {MAX_POLLS} polls"),
        (0 <= config.answer_share <= 1, "answer share: 0 .. 1"),
        (config.signal_every >= 0.5, "signal-every >= 0.5 s"),
        (200 <= config.sdp_bytes <= 30_000, "sdp bytes: 200 .. 30000"),
        (0 <= config.media <= min(config.sessions, MAX_MEDIA), f"media: 0 .. {MAX_MEDIA}"),
        (config.broker in BROKERS, "broker is memory or redis"),
        (1 <= config.redis_workers <= MAX_WORKERS, f"workers must be 1 .. {MAX_WORKERS}"),
        (config.wire_format in ("msgpack", "json"), "format is msgpack or json"),
        (0 < config.drain_timeout <= 60, "drain timeout must be in (0, 60]"),
    ]
    for ok, problem in checks:
        if not ok:
            raise ValueError(problem)
    _validate_chaos(config)
    if config.url is not None:
        check_loopback(config.url)
        if config.api_key is None or config.broker != "memory":
            raise ValueError("--url needs --api-key, and no --broker (the server has its own)")


def _validate_chaos(config: LessonConfig) -> None:
    if not config.chaos:
        return
    unknown = set(config.chaos) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
    if config.broker != "redis" or config.url is not None:
        raise ValueError("--chaos needs --broker redis (spawned here: it kills and pauses it)")
    if len(config.chaos) > MAX_FAULTS:
        raise ValueError(f"at most {MAX_FAULTS} faults a run")
    if not 0.5 <= config.pause_seconds <= 10:
        raise ValueError("pause seconds: 0.5 .. 10")
    # A fault must be over, and the lesson seen going on, before the next one starts.
    needed = max(4.0, config.pause_seconds + 1 if "pause-redis" in config.chaos else 0)
    if config.duration / (len(config.chaos) + 1) < needed:
        raise ValueError(f"--chaos needs >= {needed:g} s of lesson around each fault")
    if config.redis_persistence not in PERSISTENCE:
        raise ValueError(f"redis persistence is one of {', '.join(PERSISTENCE)}")
