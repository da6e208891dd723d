"""The one exception root of Classbridge.

Every error the server reports to a client is a ``ClassbridgeError``: it carries a stable wire
``code`` (documented in docs/protocol.md and docs/api.md), a human ``message`` that never holds
internal details, the HTTP status used by the JSON API and, when the error ends a WebSocket, the
close code to use.
"""

from __future__ import annotations


class ClassbridgeError(Exception):
    code = "internal_error"
    http_status = 500
    close_code: int | None = None

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class BadMessage(ClassbridgeError):
    """The frame is not one valid msgpack/JSON document (a valid non-map is ``InvalidMessage``)."""

    code = "bad_message"
    http_status = 400


class InvalidMessage(ClassbridgeError):
    """The message decodes but a field is missing or has the wrong type."""

    code = "invalid_message"
    http_status = 400


class UnknownType(ClassbridgeError):
    code = "unknown_type"
    http_status = 400


class Forbidden(ClassbridgeError):
    """The role of the sender does not allow this command."""

    code = "forbidden"
    http_status = 403


class NotFound(ClassbridgeError):
    code = "not_found"
    http_status = 404


class LimitExceeded(ClassbridgeError):
    """A size limit (text length, field length) was passed."""

    code = "too_large"
    http_status = 413


class RateLimited(ClassbridgeError):
    code = "rate_limited"
    http_status = 429
    close_code = 4029  # used only when a join is refused; in a session it is just a reply

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DirectMessageNotAllowed(ClassbridgeError):
    code = "dm_not_allowed"
    http_status = 403


class ParticipantAbsent(ClassbridgeError):
    """The participant exists but is not connected: a volatile message would be lost."""

    code = "participant_absent"
    http_status = 409


class AlreadyJoined(ClassbridgeError):
    code = "already_joined"
    http_status = 400


class Unauthorized(ClassbridgeError):
    """Missing or unusable credentials on the HTTP API."""

    code = "unauthorized"
    http_status = 401


class TokenInvalid(ClassbridgeError):
    """Forged, malformed, or not meant for Classbridge joins."""

    code = "token_invalid"
    http_status = 401
    close_code = 4010


class TokenExpired(ClassbridgeError):
    code = "token_expired"
    http_status = 401
    close_code = 4011


class WrongSession(ClassbridgeError):
    """The token belongs to another session than the one addressed."""

    code = "wrong_session"
    http_status = 403
    close_code = 4012


class SessionNotFound(ClassbridgeError):
    code = "session_not_found"
    http_status = 404
    close_code = 4004


class UnknownJoinCode(ClassbridgeError):
    code = "unknown_code"
    http_status = 404


class ApiDisabled(ClassbridgeError):
    """Session creation needs an operator API key and none is configured."""

    code = "api_disabled"
    http_status = 403


class StoredDataCorrupt(ClassbridgeError):
    """Something the broker returned cannot be decoded: the server's fault, not the client's."""

    code = "internal_error"
    http_status = 500
    close_code = 1011


class TooManyConnections(ClassbridgeError):
    """One participant has more open connections (tabs, devices) than allowed."""

    code = "too_many_connections"
    http_status = 429
    close_code = 4013


class SessionEnded(ClassbridgeError):
    """A teacher ended the session: no join is accepted any more (moderation)."""

    code = "session_ended"
    http_status = 410
    close_code = 4007


class SessionLocked(ClassbridgeError):
    """The session is locked: participants it has not seen yet are refused (moderation)."""

    code = "session_locked"
    http_status = 403
    close_code = 4015


class Barred(ClassbridgeError):
    """A teacher removed this participant and barred them for the rest of the session."""

    code = "barred"
    http_status = 403
    close_code = 4016


class ChatDisabled(ClassbridgeError):
    """A teacher turned chat off for the sender's class."""

    code = "chat_disabled"
    http_status = 403


class DrawingDisabled(ClassbridgeError):
    """A teacher turned drawing off for the sender's class."""

    code = "drawing_disabled"
    http_status = 403


class WaitingInLobby(ClassbridgeError):
    """The connection waits in the lobby: only ``ping`` and ``leave`` are answered (§23)."""

    code = "in_lobby"
    http_status = 409


class OriginNotAllowed(ClassbridgeError):
    """A browser page of an origin not in ``allowed_origins`` asked for a WebSocket."""

    code = "origin_not_allowed"
    http_status = 403


class Draining(ClassbridgeError):
    """This worker is shutting down: new joins and new sessions go to another worker."""

    code = "draining"
    http_status = 503
    close_code = 1012  # "service restart": reconnect (at once, elsewhere) and resume
