"""JSON bodies and errors of the HTTP API. Every error has a stable ``code``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.errors import ClassbridgeError, InvalidMessage, RateLimited

MAX_BODY_BYTES = 64 * 1024


def error_response(error: ClassbridgeError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.detail is not None:
        body["detail"] = error.detail
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return JSONResponse(body, status_code=error.http_status, headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidMessage(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as error:
        raise InvalidMessage("request body is not valid JSON") from error
    if not isinstance(body, dict):
        raise InvalidMessage("request body must be a JSON object")
    return body
