"""One frozen ``Settings``, read from the environment and the command line.

Every option has an environment variable ``CLASSBRIDGE_<NAME>`` (docs/operations.md lists them);
the command line wins over the environment. ``None`` turns an optional feature off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from server.auth import MIN_SECRET_BYTES
from server.origins import check_allowed_origin
from server.rooms.reducer import DELETED_MEMORY
from server.signaling.ice import (
    DEFAULT_TURN_TTL,
    MIN_TURN_TTL,
    STUN_SCHEMES,
    TURN_SCHEMES,
    IceConfig,
    check_ice_url,
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_frame_bytes: int = 64 * 1024
    send_queue_bytes: int = 1024 * 1024
    # At most about one write per connection per this many ms (0: every loop turn). Only a
    # busy connection (more than one message per interval) waits: its messages leave together
    # in one frame, one system call, for at most that much latency. 20 ms is a 50 Hz tick, below
    # what a class notices in chat or on a whiteboard; measured in docs/performance.md.
    send_interval_ms: float = 20.0
    chat_max_chars: int = 2000
    chat_per_second: float = 2.0
    chat_burst: int = 10
    # A student drawing appends 20-30 times a second; cursors are not counted here.
    messages_per_second: float = 60.0
    messages_burst: int = 120
    signals_per_second: float = 20.0  # WebRTC signals one connection may relay
    signals_burst: int = 60
    typing_per_second: float = 1.0
    typing_burst: int = 3
    board_ops_per_second: float = 40.0  # whiteboard commands per connection
    board_ops_burst: int = 80
    # Seconds the publishers' count must stay low before video falls back from the relay.
    topology_settle: float = 30.0
    max_bad_messages: int = 20
    join_timeout: float = 10.0
    presence_grace: float = 5.0
    history_size: int = 1000
    repair_interval: float = 5.0  # seconds between checks of each replica against its log
    worker_heartbeat: float = 3.0  # seconds between a worker's "I am alive"
    worker_timeout: float = 9.0  # silence after which a worker's connections are swept
    snapshot_every: int = 100
    joins_per_minute: float = 30.0  # per participant: reconnects, new tabs
    joins_burst: int = 10
    connections_per_participant: int = 5
    self_joins_per_minute: float = 20.0
    self_joins_burst: int = 10
    # New WebSocket connections per client address (a school's NAT puts classes behind one).
    connections_per_ip_per_minute: float = 120.0
    connections_per_ip_burst: int = 60


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    secret: str | None = None
    api_key: str | None = None
    broker_url: str = "memory://"
    log_level: str = "info"
    demo: bool | None = None  # None: on when no API key is configured
    public_url: str | None = None  # the address printed in links; derived from host:port if None
    token_ttl: int = 12 * 3600
    student_token_ttl: int = 4 * 3600
    permessage_deflate: bool = False
    workers: int = 1  # processes sharing the port; more than one needs a shared broker (redis://)
    # ICE servers for browsers' peer connections (server/signaling/ice.py). The TURN secret is
    # shared with the TURN server (coturn's static-auth-secret): kept out of repr, so of logs.
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl: int = DEFAULT_TURN_TTL
    # Where the relay writes recordings (one folder per session); None: recording is off.
    recordings_dir: str | None = None
    # Log records as text lines (default) or one JSON object per line (server/logs.py).
    log_format: str = "text"
    # Bearer token for GET /metrics; None: served to clients on this host only
    # (server/metrics_http.py). A secret: kept out of repr, so of logs.
    metrics_token: str | None = field(default=None, repr=False)
    # Browser pages that may open a WebSocket or call the API (server/origins.py); empty: the
    # server's own pages only; "*": any page.
    allowed_origins: tuple[str, ...] = ()
    # Behind a reverse proxy: take the client address from X-Forwarded-For / X-Forwarded-Proto,
    # but only from these proxy addresses (uvicorn's --proxy-headers --forwarded-allow-ips).
    proxy_headers: bool = False
    forwarded_allow_ips: tuple[str, ...] = ("127.0.0.1",)
    # Seconds a SIGTERM'd worker may spend handing its clients to the others (server/drain.py).
    drain_timeout: float = 10.0
    # Where session and participant notices are POSTed (server/webhooks); None: none are sent.
    # The secret signs them (HMAC-SHA256), so it is kept out of repr, so of logs.
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_queue: int = 1000  # notices waiting to be sent; beyond that the oldest is dropped
    webhook_attempts: int = 6  # tries per notice, with exponential backoff between them
    webhook_timeout: float = 5.0  # seconds one try may take
    limits: Limits = field(default_factory=Limits)

    @property
    def demo_enabled(self) -> bool:
        return self.api_key is None if self.demo is None else self.demo

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("0.0.0.0", "::", "127.0.0.1") else self.host
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address needs brackets in a URL
        return f"http://{host}:{self.port}"

    @property
    def recordings_path(self) -> Path | None:
        return None if self.recordings_dir is None else Path(self.recordings_dir).expanduser()

    @property
    def ice(self) -> IceConfig:
        return IceConfig(
            stun_urls=tuple(self.stun_urls),
            turn_urls=tuple(self.turn_urls),
            turn_secret=self.turn_secret,
            turn_ttl=self.turn_ttl,
        )


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _to_bool(name: str, raw: str) -> bool:
    # A typo must not silently turn a feature off: refuse what is neither yes nor no.
    value = raw.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError(f"CLASSBRIDGE_{name.upper()} must be one of {', '.join(_TRUE + _FALSE)}")
    return value in _TRUE


def split_list(raw: str) -> tuple[str, ...]:
    """A comma-separated list (``stun:a,stun:b``); spaces around items and empty items go."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _convert(name: str, raw: str, kind: Any) -> Any:
    # Field types are strings here (postponed annotations): "int", "bool | None", ...
    type_name = str(kind)
    if type_name.startswith("tuple"):
        return split_list(raw)
    if type_name.startswith("bool"):
        return _to_bool(name, raw)
    if type_name.startswith("int"):
        return int(raw)
    if type_name.startswith("float"):
        return float(raw)
    return raw


def _from_env(cls: Any, env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(cls):
        raw = env.get(f"CLASSBRIDGE_{f.name.upper()}")
        # An empty variable (`CLASSBRIDGE_API_KEY=` in an env file) means "not set", not "".
        if raw and raw.strip() and f.name != "limits":
            values[f.name] = _convert(f.name, raw, f.type)
    return values


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``CLASSBRIDGE_*`` variables, then ``overrides`` (None means not given)."""
    env = os.environ if env is None else env
    limits = Limits(**_from_env(Limits, env))
    limit_names = {f.name for f in fields(Limits)}
    limit_overrides = {k: v for k, v in overrides.items() if k in limit_names and v is not None}
    base = {k: v for k, v in overrides.items() if k not in limit_names and v is not None}
    # Lists (from the command line, or a test) become tuples: Settings is frozen all the way.
    base = {k: tuple(v) if isinstance(v, list) else v for k, v in base.items()}
    values = {**_from_env(Settings, env), **base}
    settings = Settings(limits=replace(limits, **limit_overrides), **values)
    validate(settings)
    return settings


MAX_HISTORY_SIZE = DELETED_MEMORY
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
# memory:// for one process, redis:// for many workers and hosts, redis+cluster:// for the same
# on a Redis Cluster (a scheme of its own: it names several seed nodes, see
# server/broker/redis_cluster.py); anything else is refused up front with a clear message
# rather than a traceback on the first request.
BROKER_SCHEMES = ("memory", "redis", "redis+cluster")


def validate(settings: Settings) -> None:
    limits = settings.limits
    scheme = settings.broker_url.partition("://")[0]
    if settings.secret is not None and len(settings.secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"the secret must be at least {MIN_SECRET_BYTES} bytes long")
    # Rates and intervals: 0 would divide by zero or spin.
    positive = (
        "chat_per_second",
        "messages_per_second",
        "signals_per_second",
        "typing_per_second",
        "board_ops_per_second",
        "joins_per_minute",
    )
    intervals = ("repair_interval", "worker_heartbeat")
    for name in (*positive, "self_joins_per_minute", "connections_per_ip_per_minute", *intervals):
        if getattr(limits, name) <= 0:
            raise ValueError(f"{name} must be more than 0")  # a rate of 0 divides by zero
    bursts = (
        "chat_burst",
        "messages_burst",
        "signals_burst",
        "typing_burst",
        "board_ops_burst",
        "joins_burst",
        "self_joins_burst",
        "connections_per_ip_burst",
    )
    for name in (*bursts, "connections_per_participant"):
        if getattr(limits, name) < 1:
            raise ValueError(f"{name} must be at least 1")
    if limits.snapshot_every < 1:
        raise ValueError("snapshot_every must be at least 1")  # the hub takes seq % snapshot_every
    if limits.snapshot_every * 2 > limits.history_size:
        # A replica loads the last snapshot plus the events after it: those must still be kept.
        raise ValueError("snapshot_every must be at most half of history_size")
    if settings.workers < 1:
        raise ValueError("workers must be at least 1")
    if settings.workers > 1 and scheme == "memory":
        raise ValueError("several workers need a shared broker: use --broker redis://...")
    if settings.log_level.lower() not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}")
    if settings.log_format not in LOG_FORMATS:
        raise ValueError(f"log_format must be one of {', '.join(LOG_FORMATS)}")
    if settings.metrics_token is not None and len(settings.metrics_token.encode()) < 16:
        raise ValueError("metrics_token must be at least 16 bytes long")
    if scheme not in BROKER_SCHEMES:
        raise ValueError(
            f"broker URL '{settings.broker_url}' is not supported (use {', '.join(BROKER_SCHEMES)})"
        )
    if scheme == "redis+cluster":
        from server.broker.redis_cluster import parse_cluster_url

        parse_cluster_url(settings.broker_url)  # a malformed seed list fails here, not at start
    if limits.topology_settle < 0:
        raise ValueError("topology_settle must not be negative")
    if limits.worker_timeout < 2 * limits.worker_heartbeat:
        raise ValueError("worker_timeout must be at least twice worker_heartbeat")
    if limits.history_size > MAX_HISTORY_SIZE:
        # Replicas remember this many deleted chat ids to keep deleted text out of replays;
        # a longer history could replay a post whose deletion was forgotten.
        raise ValueError(f"history_size must be at most {MAX_HISTORY_SIZE}")
    if limits.max_frame_bytes < 1024:
        raise ValueError("max_frame_bytes must be at least 1024")
    if not 0 <= limits.send_interval_ms <= 1000:
        raise ValueError("send_interval_ms must be between 0 and 1000")
    if limits.send_queue_bytes < limits.max_frame_bytes:
        raise ValueError("send_queue_bytes must be at least max_frame_bytes")
    _validate_ice(settings)
    for origin in settings.allowed_origins:
        check_allowed_origin(origin)
    if settings.recordings_dir is not None and not settings.recordings_dir.strip():
        raise ValueError("recordings_dir must name a folder")
    if settings.drain_timeout < 0:
        raise ValueError("drain_timeout must not be negative")
    _validate_webhooks(settings)


def _validate_webhooks(settings: Settings) -> None:
    url = settings.webhook_url
    if url is None:
        if settings.webhook_secret:
            raise ValueError("webhook_secret is set but webhook_url is not")
        return
    if not url.startswith(("http://", "https://")) or url.endswith("://"):
        raise ValueError("webhook_url must be an http:// or https:// URL")
    if not settings.webhook_secret or len(settings.webhook_secret.encode()) < 16:
        # Unsigned notices could be forged by anyone who can reach the receiver.
        raise ValueError("webhook_url needs webhook_secret (at least 16 bytes)")
    if settings.webhook_queue < 1 or settings.webhook_attempts < 1:
        raise ValueError("webhook_queue and webhook_attempts must be at least 1")
    if settings.webhook_timeout <= 0:
        raise ValueError("webhook_timeout must be more than 0")


def _validate_ice(settings: Settings) -> None:
    for url in settings.stun_urls:
        check_ice_url("stun_urls", url, STUN_SCHEMES)
    for url in settings.turn_urls:
        check_ice_url("turn_urls", url, TURN_SCHEMES)
    if settings.turn_urls and not settings.turn_secret:
        raise ValueError("turn_urls need turn_secret (the TURN server's static-auth-secret)")
    if settings.turn_secret and not settings.turn_urls:
        # Most likely a misspelt CLASSBRIDGE_TURN_URLS: say so rather than run without TURN.
        raise ValueError("turn_secret is set but turn_urls is not")
    if settings.turn_ttl < MIN_TURN_TTL:
        raise ValueError(f"turn_ttl must be at least {MIN_TURN_TTL} seconds")
