"""POST /api/join: a student trades a class join code and a name for a student token."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api import validation
from server.api.responses import json_body
from server.api.tokens import issue_token
from server.directory import load_record
from server.errors import RateLimited, UnknownJoinCode
from server.ids import normalize_join_code, participant_id
from server.protocol.fields import require
from server.rooms.actor import Actor
from server.rooms.moderation import check_self_join
from server.rooms.roles import Role
from server.services import Services


async def self_join(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    # Every attempt counts, failed ones too: join codes must not be guessable by trying.
    client_ip = request.client.host if request.client else "unknown"
    wait = services.self_joins.take(client_ip, time.monotonic())
    if wait > 0:
        raise RateLimited("too many join attempts from this address", retry_after=wait)
    body = await json_body(request)
    code = normalize_join_code(require(body, "code", str))
    name = validation.display_name(body.get("name"))
    target = await services.broker.find_join_code(code)
    record = None if target is None else await load_record(services.broker, target.session_id)
    if target is None or record is None:
        raise UnknownJoinCode("no class has this join code")
    async with services.hub.pinned(target.session_id) as replica:
        check_self_join(replica.state)
    info = record.class_info(target.class_id)
    assert info is not None
    actor = Actor(participant_id(), name, Role.STUDENT, target.class_id)
    token = issue_token(services, target.session_id, actor, services.settings.student_token_ttl)
    body_out = {
        "token": token,
        "session_id": target.session_id,
        "title": record.title,
        "participant": actor.to_wire(),
        "class": info.to_wire(),
        "expires_in": services.settings.student_token_ttl,
    }
    return JSONResponse(body_out, status_code=201)
