"""WebSocket close codes used by Classbridge (docs/protocol.md lists each one)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012  # reason "draining": this worker stops; reconnect elsewhere, resume
    JOIN_TIMEOUT = 4001
    JOIN_REQUIRED = 4002
    TOO_MANY_ERRORS = 4003
    SESSION_NOT_FOUND = 4004
    UNSUPPORTED_SUBPROTOCOL = 4005
    REMOVED = 4006  # a teacher removed the participant (moderation)
    SESSION_ENDED = 4007  # a teacher ended the session (moderation)
    SLOW_CONSUMER = 4008
    HISTORY_RESET = 4009
    TOKEN_INVALID = 4010
    TOKEN_EXPIRED = 4011
    WRONG_SESSION = 4012
    TOO_MANY_CONNECTIONS = 4013
    LOBBY_DENIED = 4014  # a teacher turned a waiting participant away (lobby)
    SESSION_LOCKED = 4015  # moderation
    BARRED = 4016  # moderation
    RATE_LIMITED = 4029
