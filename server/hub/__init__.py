"""The per-worker side of sessions: replicas of the log, local connections, fan-out, presence."""

from server.hub.connection import Connection
from server.hub.hub import SessionHub

__all__ = ["Connection", "SessionHub"]
