"""``create_app(settings)``: routes and lifespan. Thin: the work happens elsewhere."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server import metrics, metrics_http
from server.access import WebSocketGuard, cors_middleware
from server.api import boards, export, join, recordings, sessions, tokens
from server.api.responses import error_response
from server.auth import TokenService
from server.broker import Broker, broker_from_url
from server.demo import create_demo, describe_demo
from server.drain import drain_on_signals
from server.errors import ClassbridgeError
from server.gateway import Gateway
from server.hub import SessionHub
from server.ratelimit import KeyedLimiter
from server.services import Services
from server.settings import Settings
from server.webhooks.sender import WebhookSender
from server.ws_shortcut import ClassbridgeApp

log = logging.getLogger(__name__)

CLIENT_DEMO_DIR = Path(__file__).resolve().parent.parent / "client_demo"
WEBHOOK_FLUSH_AT_EXIT = 2.0  # seconds for notices logged by the shutdown itself (after a drain)


async def healthz(request: Request) -> JSONResponse:
    # The worker's id tells an operator (and a test) which of several processes answered.
    services: Services = request.app.state.services
    return JSONResponse({"status": "ok", "worker": services.hub.worker_id})


async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the broker answers. A load balancer sends no one here while it is not."""
    services: Services = request.app.state.services
    if services.draining:  # stopping (server/drain.py): the clients it had are moving away
        return JSONResponse({"status": "not_ready", "reason": "draining"}, status_code=503)
    if await services.broker.ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not_ready", "reason": "broker unreachable"}, status_code=503)


async def _classbridge_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ClassbridgeError)
    return error_response(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    body = {"code": codes.get(error.status_code, "http_error"), "message": str(error.detail)}
    # Keep the headers the router set: a 405 must say which methods are allowed.
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _internal_error(request: Request, error: Exception) -> Response:
    # Every API error is JSON with a code, this one too; the details go to the log only
    # (Starlette logs the exception after this answer is sent).
    metrics.note_failure(error)
    body = {"code": "internal_error", "message": "internal error"}
    return JSONResponse(body, status_code=500)


def build_services(settings: Settings, broker: Broker | None = None) -> Services:
    secret = settings.secret
    if secret is None:
        secret = secrets.token_urlsafe(32)
        log.warning(
            "no secret configured: generated one for this run; tokens stop working when the "
            "server restarts (set CLASSBRIDGE_SECRET or --secret to keep them)"
        )
    limits = settings.limits
    broker = broker or broker_from_url(settings.broker_url, history_size=limits.history_size)
    services = Services(
        settings=settings,
        broker=broker,
        hub=SessionHub(broker, limits, ice=settings.ice, recordings_dir=settings.recordings_path),
        tokens=TokenService(secret),
        self_joins=KeyedLimiter(limits.self_joins_per_minute / 60.0, limits.self_joins_burst),
    )
    if settings.webhook_url is not None:
        services.webhooks = WebhookSender(settings)
        services.hub.notices.deliver = services.webhooks.put
    return services


def _routes(services: Services) -> list[Route | WebSocketRoute | Mount]:
    api = [
        Route("/sessions", sessions.create, methods=["POST"]),
        Route("/sessions/{session_id}", sessions.summary, methods=["GET"]),
        Route("/sessions/{session_id}/tokens", tokens.mint, methods=["POST"]),
        Route("/sessions/{session_id}/boards/{board_id}.svg", boards.export_svg, methods=["GET"]),
        Route("/sessions/{session_id}/export.zip", export.export_zip, methods=["GET"]),
        Route("/sessions/{session_id}/summary.json", export.summary, methods=["GET"]),
        Route("/sessions/{session_id}/recordings", recordings.listing, methods=["GET"]),
        Route("/sessions/{session_id}/recordings/{name}", recordings.download, methods=["GET"]),
        Route("/join", join.self_join, methods=["POST"]),
    ]
    gateway = services.gateway = Gateway(services.hub, services.tokens, services.settings.limits)
    guard = WebSocketGuard(services.settings)  # Origin and per-address limit, before the accept
    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_http.metrics),  # Prometheus; who may read it: metrics_http.py
        # A mount of its own, so that the pages mounted at "/" do not answer a wrong method on
        # an API path with 404: it gets 405 (and an unknown API path 404) from the API's router.
        Mount("/api", routes=api),
        WebSocketRoute("/ws", guard.wrap(gateway.handle)),
        Mount("/", StaticFiles(directory=CLIENT_DEMO_DIR, html=True), name="client_demo"),
    ]


def _lifespan(
    services: Services, announce: Callable[[str], None] | None, drain_signals: bool
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await services.broker.start()
        services.hub.start()
        if services.webhooks is not None:
            services.webhooks.start()
        undo_signals = drain_on_signals(services) if drain_signals else None
        if services.settings.demo_enabled:
            services.demo = await create_demo(services)
            if announce is not None:
                announce(describe_demo(services.demo))
        try:
            yield
        finally:
            if undo_signals is not None:
                undo_signals()
            await services.hub.close()
            await services.broker.close()
            if services.webhooks is not None:
                await services.webhooks.flush(WEBHOOK_FLUSH_AT_EXIT)
                await services.webhooks.close()
            metrics_http.worker_exiting()

    return lifespan


_HANDLERS: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
    ClassbridgeError: _classbridge_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}


def create_app(
    settings: Settings,
    broker: Broker | None = None,
    announce: Callable[[str], None] | None = None,
    drain_on_signal: bool = False,
) -> Starlette:
    """The ASGI app. ``announce`` receives the demo session's description (the CLI prints it).
    With ``drain_on_signal``, SIGTERM drains the worker before uvicorn stops (server/drain.py)."""
    services = build_services(settings, broker)
    app = ClassbridgeApp(  # /ws skips the middleware: server/ws_shortcut.py
        routes=_routes(services),
        lifespan=_lifespan(services, announce, drain_on_signal),
        exception_handlers=_HANDLERS,
        middleware=cors_middleware(settings),
    )
    app.state.services = services
    return app
