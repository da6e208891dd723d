"""Who may reach the server from where: CORS for the API, and checks on a WebSocket upgrade
before it is accepted (the Origin and the per-address limit).

A refusal is a plain HTTP answer to the upgrade request (403 or 429, a JSON body with a code):
the cheapest way to say no, with no WebSocket, no task and no join to read. The address is
the client's as the server sees it; behind a trusted proxy (``proxy_headers``) it is the one
the proxy forwarded, and never a forwarded address from anyone else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.websockets import WebSocket

from server.api.responses import error_response
from server.errors import ClassbridgeError, OriginNotAllowed, RateLimited
from server.origins import OriginPolicy
from server.ratelimit import KeyedLimiter
from server.settings import Settings

log = logging.getLogger(__name__)

Endpoint = Callable[[WebSocket], Awaitable[None]]
# Enough of a refused Origin to recognise it in the log, not a way to fill the log.
_LOGGED_ORIGIN_CHARS = 100
# A flood is refused thousands of times a second: one log line per address a minute says it.
_LOG_LINES_PER_MINUTE = 1.0


def client_address(websocket: WebSocket) -> str:
    return websocket.client.host if websocket.client else "unknown"


class WebSocketGuard:
    def __init__(self, settings: Settings) -> None:
        limits = settings.limits
        self.origins = OriginPolicy(settings.allowed_origins, settings.public_url)
        self.connections = KeyedLimiter(
            limits.connections_per_ip_per_minute / 60.0, limits.connections_per_ip_burst
        )
        self.log_lines = KeyedLimiter(_LOG_LINES_PER_MINUTE / 60.0, 1, max_keys=10_000)

    def wrap(self, endpoint: Endpoint) -> Endpoint:
        async def guarded(websocket: WebSocket) -> None:
            refusal = self.refusal(websocket)
            if refusal is None:
                await endpoint(websocket)
                return
            await _deny(websocket, refusal)

        return guarded

    def refusal(self, websocket: WebSocket) -> ClassbridgeError | None:
        address = client_address(websocket)
        # Every attempt is charged, refused origins too: a flood costs the same either way.
        now = time.monotonic()
        wait = self.connections.take(address, now)
        if wait > 0:
            if self.log_lines.take(address, now) == 0:
                log.info("websocket refused: rate_limited (ip=%s; more are not logged)", address)
            return RateLimited("too many new connections from this address", retry_after=wait)
        origin = websocket.headers.get("origin")
        if not self.origins.allows(origin, websocket.headers.get("host")):
            # Cut short and quoted: an operator who forgot to list a school's page sees which
            # one, and a forged header cannot fill the log or forge a line.
            shown = repr((origin or "")[:_LOGGED_ORIGIN_CHARS])
            if self.log_lines.take(address, now) == 0:
                log.info("websocket refused: origin_not_allowed (origin=%s ip=%s)", shown, address)
            return OriginNotAllowed("this page's origin may not connect to this server")
        return None


async def _deny(websocket: WebSocket, error: ClassbridgeError) -> None:
    try:
        await websocket.send_denial_response(error_response(error))
    except RuntimeError:
        # A server without the denial extension: closing before the accept answers 403.
        await websocket.close()


def cors_middleware(settings: Settings) -> list[Middleware]:
    """CORS for the listed origins (or any, with ``*``). The server's own pages need none.

    Credentials are never allowed: the API authenticates with a bearer key or token in a header
    the page sets itself, never with cookies, so a browser never has to send any on its own.
    """
    origins = OriginPolicy(settings.allowed_origins).cors_origins
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
            allow_credentials=False,
            max_age=600,
        )
    ]
