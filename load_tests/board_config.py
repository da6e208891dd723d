"""The parameters of a whiteboard run (``board-draw``), validated so that every run stays
bounded and stays inside the board's own limits (5000 records a board)."""

from __future__ import annotations

from dataclasses import dataclass

from load_tests.config import MAX_CLIENTS, MAX_SECONDS, MAX_WORKERS, SYSTEMS

BOARD_SYSTEMS = tuple(name for name in SYSTEMS if name != "ceiling")  # the ceiling is chat only
MAX_RECORDS = 4500  # strokes a board may get in a run: the server's limit is 5000 records
MAX_HZ = 100.0


@dataclass(frozen=True, slots=True)
class BoardConfig:
    sessions: int = 1
    students: int = 30  # per session: each draws and moves a cursor
    watchers: int = 2  # per session: a teacher, a station, then alternating; they only receive
    draw_hz: float = 20.0  # board ops per student per second: a put, appends, the end
    cursor_hz: float = 30.0  # cursor positions per student per second (the server keeps <= 20)
    stroke_seconds: tuple[float, float] = (1.0, 2.0)  # how long one stroke is drawn
    points_per_append: tuple[int, int] = (1, 3)
    duration: float = 20.0  # measured seconds
    warmup: float = 2.0
    ramp: float = 2.0  # seconds over which the clients join
    drain_timeout: float = 10.0
    wire_format: str = "msgpack"  # or "json"
    seed: int = 1
    systems: tuple[str, ...] = ("memory",)  # the command line adds "redis" by default
    redis_workers: int = 2
    # None: the server's own limits (board 40/s, messages 60/s): drawing at 20 Hz must fit.
    board_ops_per_second: int | None = None
    messages_per_second: int | None = None
    server_log_level: str = "warning"
    check_svg: bool = True  # also compare each client's board with the server's SVG export
    progress: bool = True

    @property
    def clients(self) -> int:
        """Per session: students and watchers."""
        return self.students + self.watchers

    @property
    def total_clients(self) -> int:
        return self.sessions * self.clients

    @property
    def offered_ops(self) -> float:
        """Board ops per second offered, summed over every student of every session."""
        return self.sessions * self.students * self.draw_hz

    def server_limits(self) -> list[str]:
        """The rate-limit options of ``classbridge serve``; empty keeps its defaults."""
        limits = []
        if self.board_ops_per_second is not None:
            rate = str(self.board_ops_per_second)
            limits += ["--board-ops-per-second", rate, "--board-ops-burst", str(2 * int(rate))]
        if self.messages_per_second is not None:
            rate = str(self.messages_per_second)
            limits += ["--messages-per-second", rate, "--messages-burst", str(2 * int(rate))]
        return limits

    def time_budget(self) -> float:
        """An upper bound on the run's wall time; the run is cancelled past it."""
        per_system = 45.0 + self.ramp + self.total_clients * 0.05 + self.warmup + self.duration
        per_system += self.drain_timeout + self.total_clients * 0.5  # replay and convergence
        return per_system * len(self.systems) + (40.0 if "redis" in self.systems else 0.0)


def validate(config: BoardConfig) -> None:
    """Raise ValueError for a run that would be unbounded, off limits or meaningless."""
    low_s, high_s = config.stroke_seconds
    low_p, high_p = config.points_per_append
    strokes = config.students * (config.warmup + config.duration) / low_s * 1.2 + config.students
    checks = [
        (config.sessions >= 1 and config.students >= 1, "need >= 1 session of >= 1 student"),
        (0 <= config.watchers <= 20, "watchers: 0 .. 20"),
        (config.total_clients <= MAX_CLIENTS, f"sessions x clients must be <= {MAX_CLIENTS}"),
        (0 < config.draw_hz <= MAX_HZ, f"draw rate must be in (0, {MAX_HZ:g}] per student"),
        (0 <= config.cursor_hz <= MAX_HZ, f"cursor rate must be in [0, {MAX_HZ:g}] per student"),
        (0.1 <= low_s <= high_s <= 60, "stroke seconds: 0.1 <= low <= high <= 60"),
        (1 <= low_p <= high_p <= 50, "points per append: 1 <= low <= high <= 50"),
        (high_s * config.draw_hz * high_p <= 4000, "strokes would pass 5000 points"),
        (strokes <= MAX_RECORDS, f"a board would get more than {MAX_RECORDS} strokes: shorten"),
        (0 < config.duration <= MAX_SECONDS, f"duration must be in (0, {MAX_SECONDS:g}]"),
        (0 <= config.warmup <= 60 and 0 <= config.ramp <= 60, "warmup and ramp: 0 .. 60 s"),
        (0 < config.drain_timeout <= 60, "drain timeout must be in (0, 60]"),
        (config.wire_format in ("msgpack", "json"), "format is msgpack or json"),
        (bool(config.systems), "give at least one system"),
        (set(config.systems) <= set(BOARD_SYSTEMS), f"systems are {', '.join(BOARD_SYSTEMS)}"),
        (len(set(config.systems)) == len(config.systems), "name each system once"),
        (1 <= config.redis_workers <= MAX_WORKERS, f"redis workers must be 1 .. {MAX_WORKERS}"),
    ]
    for ok, problem in checks:
        if not ok:
            raise ValueError(problem)
    for limit in (config.board_ops_per_second, config.messages_per_second):
        if limit is not None and not 1 <= limit <= 1_000_000:
            raise ValueError("server limits must be 1 .. 1000000 per second")
