"""POST /api/sessions/{id}/tokens: mint a join token for a role and class.

Operators mint any role; the host mints every role but host; a teacher mints teachers,
stations, students and observers of their own class. Others may not mint.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api import validation
from server.api.credentials import Caller, caller
from server.api.responses import json_body
from server.directory import load_record
from server.errors import Forbidden, InvalidMessage, SessionEnded, SessionNotFound
from server.ids import participant_id
from server.protocol.fields import optional, require
from server.rooms.actor import Actor
from server.rooms.moderation import check_not_barred
from server.rooms.roles import Role, parse_role
from server.services import Services

MAX_TTL = 7 * 24 * 3600


def issue_token(services: Services, session_id: str, actor: Actor, ttl: int) -> str:
    return services.tokens.mint(session_id, actor, ttl)


def check_may_mint(who: Caller, role: Role, class_id: str) -> None:
    if who.operator:
        return
    assert who.grant is not None
    minter = who.grant.actor
    if minter.role is Role.HOST and role is not Role.HOST:
        return
    if minter.role is Role.TEACHER and role is not Role.HOST:
        if class_id != minter.class_id:
            raise Forbidden("teachers mint tokens for their own class only")
        return
    raise Forbidden(f"a {minter.role.value} may not mint {role.value} tokens")


async def _check_not_barred(services: Services, session_id: str, who: Caller) -> None:
    """No tokens for an ended session (every join would be refused). A teacher or host
    removed and barred keeps a valid token: it must not mint a fresh participant id (a new
    teacher or observer token) that the bar does not name."""
    async with services.hub.pinned(session_id) as replica:
        if replica.state.moderation.ended:
            raise SessionEnded("this session has ended")
        if who.grant is not None:
            check_not_barred(replica.state, who.grant.actor.participant_id)


async def mint(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    session_id = request.path_params["session_id"]
    who = caller(request, services)
    who.require_session(session_id)
    body = await json_body(request)
    role = parse_role(require(body, "role", str))
    if role is None:
        raise InvalidMessage(
            "'role' must be one of " + ", ".join(r.value for r in Role), detail="role"
        )
    class_id = require(body, "class_id", str)
    record = await load_record(services.broker, session_id)
    if record is None:
        raise SessionNotFound("no such session")
    if record.class_info(class_id) is None:
        raise InvalidMessage("'class_id' is not a class of this session", detail="class_id")
    check_may_mint(who, role, class_id)
    await _check_not_barred(services, session_id, who)
    name = validation.display_name(body.get("name"))
    given_id = body.get("participant_id")
    pid = participant_id() if given_id is None else validation.participant_id(given_id)
    default_ttl = services.settings.token_ttl
    ttl = optional(body, "ttl_seconds", int)
    ttl = default_ttl if ttl is None else ttl
    if not 60 <= ttl <= MAX_TTL:
        raise InvalidMessage(f"'ttl_seconds' must be 60 to {MAX_TTL}", detail="ttl_seconds")
    actor = Actor(participant_id=pid, name=name, role=role, class_id=class_id)
    token = issue_token(services, session_id, actor, ttl)
    body_out = {"token": token, "participant": actor.to_wire(), "expires_in": ttl}
    return JSONResponse(body_out, status_code=201)
