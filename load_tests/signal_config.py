"""The parameters of a signaling run (``signal-rtt``), validated so that every run stays
bounded: P pairs of class stations, one pair per session, relaying WebRTC signals."""

from __future__ import annotations

from dataclasses import dataclass

from load_tests.config import MAX_SECONDS, MAX_WORKERS, SYSTEMS

SIGNAL_SYSTEMS = tuple(name for name in SYSTEMS if name != "ceiling")  # the ceiling is chat only
MAX_PAIRS = 500
MAX_RATE = 20_000.0  # round trips per second, all pairs
MAX_SDP = 32_000  # the server's limit for description.sdp
SERVER_SIGNALS = (20.0, 60)  # the server's own limit per connection: signals/s and burst


@dataclass(frozen=True, slots=True)
class SignalConfig:
    pairs: int = 20  # each pair: two stations (one per class) in a session of its own
    rates: tuple[float, ...] = (50.0, 200.0, 500.0)  # round trips offered per second, all pairs
    description_share: float = 0.2  # of round trips: offer -> answer; the rest candidates
    sdp_bytes: int = 3500  # size of each description's sdp
    duration: float = 10.0  # measured seconds per rate
    warmup: float = 2.0  # seconds per rate before measuring
    loss_timeout: float = 2.0  # a round trip not answered within it counts as lost
    arrival: str = "poisson"  # or "uniform"
    wire_format: str = "msgpack"  # or "json"
    seed: int = 1
    systems: tuple[str, ...] = ("memory",)  # the command line adds "redis" by default
    redis_workers: int = 2
    split_attempts: int = 40  # connections a station may open to land on another worker
    # The spawned servers' limit per connection. Each station sends rate / pairs signals a
    # second (its own requests and its replies), more in Poisson bursts: the server's default
    # (20/s, burst 60) would shape 500 round trips/s over 20 pairs, so the default raises it.
    signals_per_second: float = 1000.0
    signals_burst: int = 2000
    server_log_level: str = "warning"
    progress: bool = True

    @property
    def stations(self) -> int:
        return 2 * self.pairs

    def server_limits(self) -> list[str]:
        """Signals at the asked limit; the messages limit (which every signal also takes from)
        raised to at least the same, so that it never binds first."""
        messages = max(60.0, self.signals_per_second)
        burst = max(120, self.signals_burst)
        return [
            *("--signals-per-second", f"{self.signals_per_second:g}"),
            *("--signals-burst", str(self.signals_burst)),
            *("--messages-per-second", f"{messages:g}", "--messages-burst", str(burst)),
        ]

    def time_budget(self) -> float:
        """An upper bound on the run's wall time; the run is cancelled past it."""
        per_rate = self.warmup + self.duration + self.loss_timeout + 3.0
        placing = self.stations * (0.5 + 0.05 * self.split_attempts)
        per_system = 40.0 + placing + per_rate * len(self.rates)
        return per_system * len(self.systems) + (40.0 if "redis" in self.systems else 0.0)


def validate(config: SignalConfig) -> None:
    """Raise ValueError for a run that would be unbounded, off limits or meaningless."""
    checks = [
        (1 <= config.pairs <= MAX_PAIRS, f"pairs must be 1 .. {MAX_PAIRS}"),
        (bool(config.rates), "give at least one rate"),
        (all(0 < r <= MAX_RATE for r in config.rates), f"rates must be in (0, {MAX_RATE:g}]"),
        (0 <= config.description_share <= 1, "description share must be in [0, 1]"),
        (200 <= config.sdp_bytes <= MAX_SDP, f"sdp bytes must be 200 .. {MAX_SDP}"),
        (0 < config.duration <= MAX_SECONDS, f"duration must be in (0, {MAX_SECONDS:g}]"),
        (0 <= config.warmup <= 60, "warmup: 0 .. 60 s"),
        (0 < config.loss_timeout <= 30, "loss timeout must be in (0, 30] s"),
        (config.arrival in ("poisson", "uniform"), "arrival is poisson or uniform"),
        (config.wire_format in ("msgpack", "json"), "format is msgpack or json"),
        (bool(config.systems), "give at least one system"),
        (set(config.systems) <= set(SIGNAL_SYSTEMS), f"systems are {', '.join(SIGNAL_SYSTEMS)}"),
        (len(set(config.systems)) == len(config.systems), "name each system once"),
        (1 <= config.redis_workers <= MAX_WORKERS, f"redis workers must be 1 .. {MAX_WORKERS}"),
        (1 <= config.split_attempts <= 200, "split attempts must be 1 .. 200"),
        (0 < config.signals_per_second <= 1_000_000, "signals per second: (0, 1000000]"),
        (1 <= config.signals_burst <= 1_000_000, "signals burst: 1 .. 1000000"),
    ]
    for ok, problem in checks:
        if not ok:
            raise ValueError(problem)
