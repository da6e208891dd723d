"""JSON bodies and errors of the HTTP API. Every error has a stable ``code``."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.errors import ClassbridgeError, InvalidMessage, LimitExceeded, RateLimited

MAX_BODY_BYTES = 64 * 1024


def error_response(error: ClassbridgeError) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.detail is not None:
        body["detail"] = error.detail
    headers = {}
    if isinstance(error, RateLimited):
        # Rounded up: a client that waits exactly this long must then be let through.
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    return JSONResponse(body, status_code=error.http_status, headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    # Read in chunks and stop at the limit: a huge body is refused without being held in memory.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise LimitExceeded(f"request body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as error:
        raise InvalidMessage("request body is not valid JSON") from error
    if not isinstance(body, dict):
        raise InvalidMessage("request body must be a JSON object")
    return body
