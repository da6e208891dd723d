"""Keep secrets out of logs: join tokens and class join codes travel in links (``/?token=...``,
``/?code=...``) that access logs would otherwise record in full."""

from __future__ import annotations

import logging
import re

# Tokens, and join codes (anyone holding one can join a class as a student).
_TOKEN_IN_QUERY = re.compile(r"((?:token|code)=)[^&\s\"]+")


def redact(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Rewrites a record's arguments so that formatted lines carry no token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


class DropWireDumps(logging.Filter):
    """At the debug level the WebSocket library logs each frame and handshake header
    (``< TEXT '{"type": "join", "token": ...'``): tokens, cookies, and what children write.
    None of it is worth that: those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        dump = isinstance(record.msg, str) and record.msg[:2] in ("< ", "> ", "= ")
        return not (record.levelno <= logging.DEBUG and dump)


def install_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).addFilter(RedactTokens())
    logging.getLogger("uvicorn.error").addFilter(DropWireDumps())
