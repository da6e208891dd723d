"""The app, with WebSocket connections to ``/ws`` handed straight to their endpoint.

Starlette reaches an endpoint through its middleware and router: some ten coroutines
(application, error and exception middleware, their exception wrappers, the router, the route,
the WebSocket session), each a suspended frame for as long as the connection lasts. For a
request that is nothing; for an idle classroom connection held for an hour it was some 4 KB of
its memory (docs/performance.md, "Idle connections"). The shortcut skips them for ``/ws``
only, and does what they would have done for a WebSocket: set ``scope["app"]``, and let an
error the app's handlers would have taken end the connection quietly. Every other request,
and a WebSocket to any other path, takes the usual way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException, WebSocketException
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from server.errors import ClassbridgeError

SHORTCUT_PATH = "/ws"
Endpoint = Callable[[WebSocket], Awaitable[None]]
# What Starlette's exception middleware catches for a WebSocket (the app registers handlers
# for ClassbridgeError and HTTPException; WebSocketException closes with its code).
_HANDLED = (ClassbridgeError, HTTPException)


def route_path(scope: Scope) -> str:
    """The path the router matches: without the root path the app is mounted at."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path != root and path[len(root)] == "/":
        return path[len(root) :]
    return path


class ClassbridgeApp(Starlette):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.websocket_endpoint: Endpoint | None = None
        for route in self.router.routes:
            if isinstance(route, WebSocketRoute) and route.path == SHORTCUT_PATH:
                self.websocket_endpoint = route.endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.websocket_endpoint
        if scope["type"] != "websocket" or endpoint is None or route_path(scope) != SHORTCUT_PATH:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        websocket = WebSocket(scope, receive, send)
        try:
            await endpoint(websocket)
        except WebSocketException as error:
            await websocket.close(code=error.code, reason=error.reason)
        except _HANDLED:
            # Starlette gives these to the app's handlers, whose HTTP answer a WebSocket
            # cannot carry: the connection just ends (uvicorn answers 500 before the accept).
            return
