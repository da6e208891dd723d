"""WebSocket close codes used by Classbridge (docs/protocol.md lists each one)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    JOIN_TIMEOUT = 4001
    JOIN_REQUIRED = 4002
    TOO_MANY_ERRORS = 4003
    SESSION_NOT_FOUND = 4004
    UNSUPPORTED_SUBPROTOCOL = 4005
    SLOW_CONSUMER = 4008
    HISTORY_RESET = 4009
    TOKEN_INVALID = 4010
    TOKEN_EXPIRED = 4011
    WRONG_SESSION = 4012
    TOO_MANY_CONNECTIONS = 4013
    RATE_LIMITED = 4029
