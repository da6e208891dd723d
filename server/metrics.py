"""The server's Prometheus metrics (docs/operations.md, "Metrics", describes each one).

Defined once per process at import. With ``--workers N`` the supervisor sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start (server/workers.py): every worker then
writes its figures to files there, and a scrape of any worker adds them all up
(server/metrics_http.py).

The hot path (every event delivered, every reply) uses label children bound once and cached
here: incrementing one is a lookup and an add, never a label parse. Labels take values from
small fixed sets only (event families, close codes, documented error codes): never a session or
participant id, which would grow the series without bound.
"""

from __future__ import annotations

import os

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics, values

from server.errors import ClassbridgeError

if values.ValueClass is not values.MutexValue:  # multiprocess mode: PROMETHEUS_MULTIPROC_DIR set
    # Each multiprocess value asks for the process id on every increment, to notice a fork
    # that would share its file: a system call per increment, several per event delivered
    # (2 % of a Redis worker's samples). Workers are spawned, never forked (server/workers.py),
    # so this module and the id it reads here are new in each worker.
    _WORKER_PID = os.getpid()
    values.ValueClass = values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=lambda: _WORKER_PID
    )

# No ``*_created`` series: with several workers they are not reported anyway, and one process
# should answer like many.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Gauges are summed over the live workers (a dead worker's share is dropped: metrics_http.py).
CONNECTIONS = Gauge(
    "classbridge_connections_open",
    "WebSocket connections open on the server",
    multiprocess_mode="livesum",
)
SESSIONS = Gauge(
    "classbridge_sessions_loaded",
    "Sessions with a replica loaded (each worker counts the sessions it serves)",
    multiprocess_mode="livesum",
)
EVENTS_APPENDED = Counter(
    "classbridge_events_appended",
    "Events this server appended to session logs, by family of event kind",
    ["family"],
)
EVENTS_DELIVERED = Counter(
    "classbridge_events_delivered",
    "Events queued to connections (one event sent to 30 connections counts 30)",
)
FANOUT_SECONDS = Histogram(
    "classbridge_fanout_seconds",
    "From asking the broker to append an event to its frames being queued to every local "
    "connection allowed to see it (events appended by this server)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
JOIN_SECONDS = Histogram(
    "classbridge_join_seconds",
    "From a join message read to the welcome queued (or the refusal), by outcome",
    ["outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SLOW_CONSUMERS = Counter(
    "classbridge_slow_consumer_closes",
    "Connections closed because their send queue overflowed (close code 4008)",
)
CLOSES = Counter(
    "classbridge_closes",
    "Connections ended, by close code ('none': the client went away first)",
    ["code"],
)
ERROR_REPLIES = Counter(
    "classbridge_error_replies",
    "Error replies sent to WebSocket clients, by error code",
    ["code"],
)
REDIS_ERRORS = Counter(
    "classbridge_redis_errors",
    "Redis failures: the pub/sub link lost ('pubsub'), or a request failed on one ('command')",
    ["where"],
)
REDIS_RECONNECTS = Counter(
    "classbridge_redis_reconnects",
    "Times the pub/sub link to Redis was established again after it was lost",
)

# --- label children, bound once --------------------------------------------------------------

JOIN_OK = JOIN_SECONDS.labels(outcome="ok")
JOIN_REFUSED = JOIN_SECONDS.labels(outcome="refused")
JOIN_FAILED = JOIN_SECONDS.labels(outcome="error")
REDIS_PUBSUB_ERRORS = REDIS_ERRORS.labels(where="pubsub")
REDIS_COMMAND_ERRORS = REDIS_ERRORS.labels(where="command")

FAMILIES = ("chat", "board", "presence", "moderation", "other")
_PRESENCE = ("participant.joined", "participant.left")
_MODERATION = (
    "participant.removed",
    "session.locked",
    "session.ended",
    "class.permissions_changed",
)
_APPENDED = {family: EVENTS_APPENDED.labels(family=family) for family in FAMILIES}
_appended_by_kind: dict[str, Counter] = {}


def family_of(kind: str) -> str:
    """The family an event kind counts under: its prefix, for the families listed."""
    prefix = kind.partition(".")[0]
    if kind in _PRESENCE or prefix == "lobby":
        return "presence"
    if kind in _MODERATION or prefix == "moderation":
        return "moderation"
    return prefix if prefix in ("chat", "board") else "other"


def count_appended(kind: str) -> None:
    child = _appended_by_kind.get(kind)
    if child is None:
        child = _appended_by_kind[kind] = _APPENDED[family_of(kind)]
    child.inc()


# Close codes: the ones in server/protocol/closecodes.py (bound lazily, as they are used).
_closes: dict[int | None, Counter] = {}
_KNOWN_CLOSE_CODES: frozenset[int] | None = None


def count_close(code: int | None) -> None:
    child = _closes.get(code)
    if child is None:
        child = _closes[code] = CLOSES.labels(code=_close_label(code))
    child.inc()


def _close_label(code: int | None) -> str:
    global _KNOWN_CLOSE_CODES
    if code is None:
        return "none"
    if _KNOWN_CLOSE_CODES is None:
        from server.protocol.closecodes import CloseCode

        _KNOWN_CLOSE_CODES = frozenset(int(c) for c in CloseCode)
    return str(int(code)) if int(code) in _KNOWN_CLOSE_CODES else "other"


_errors: dict[str, Counter] = {}


def count_error_reply(code: str) -> None:
    child = _errors.get(code)
    if child is None:
        # Only the codes of the server's own errors name a series; a miss is rare (once per
        # code per process), so walking the classes then costs nothing that matters.
        label = code if code in known_error_codes() else "other"
        child = _errors[code] = ERROR_REPLIES.labels(code=label)
    child.inc()


def known_error_codes() -> set[str]:
    """Every ``code`` a ClassbridgeError subclass declares (the documented wire codes)."""
    codes: set[str] = set()
    pending: list[type[ClassbridgeError]] = [ClassbridgeError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes


def note_failure(error: BaseException | None) -> None:
    """Count an unexpected failure as a Redis error when Redis raised it (redis-py wraps the
    socket's errors in its own, so the module tells)."""
    if error is not None and type(error).__module__.startswith("redis"):
        REDIS_COMMAND_ERRORS.inc()
