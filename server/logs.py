"""Log records: the ids of the connection they concern, and ``--log-format json``.

The gateway binds the connection's ids once (``bind``); every record logged while that
connection's task runs, from any module, then carries them without each call naming them. In
JSON every record is one object on one line of stderr: ``ts``, ``level``, ``logger``,
``message``, and ``session``, ``participant``, ``connection`` when known (``exc`` holds a
traceback). Tokens and join codes are redacted from every record (server/redaction.py); the
settings that hold secrets are kept out of their repr, so they never reach a record at all.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_session: ContextVar[str | None] = ContextVar("log_session", default=None)
_participant: ContextVar[str | None] = ContextVar("log_participant", default=None)
_connection: ContextVar[int | None] = ContextVar("log_connection", default=None)


def bind(
    *, connection: int | None = None, session: str | None = None, participant: str | None = None
) -> None:
    """Attach ids to what the current task logs from here on (and tasks it starts later)."""
    if connection is not None:
        _connection.set(connection)
    if session is not None:
        _session.set(session)
    if participant is not None:
        _participant.set(participant)


class ContextFilter(logging.Filter):
    """Copies the bound ids onto each record (``record.session`` etc., None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.session = _session.get()
        record.participant = _participant.get()
        record.connection = _connection.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker, with --workers N
        }
        for key in ("session", "participant", "connection"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the root and uvicorn's loggers (uvicorn applies it in
    each worker process too): one stderr handler, ids attached, tokens redacted."""
    formatter: dict[str, Any] = (
        {"()": "server.logs.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    uvicorn_logger = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "server.logs.ContextFilter"},
            "redact": {"()": "server.redaction.RedactTokens"},
            "no_wire_dumps": {"()": "server.redaction.DropWireDumps"},
        },
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["no_wire_dumps", "context", "redact"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            name: dict(uvicorn_logger) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
    }
