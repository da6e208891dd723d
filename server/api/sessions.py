"""POST /api/sessions (operator) and GET /api/sessions/{id} (operator or a token of it)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api import validation
from server.api.credentials import caller, operator
from server.api.responses import json_body
from server.api.tokens import issue_token
from server.directory import SessionRecord, SessionSpec, create_session, load_record
from server.errors import ApiDisabled, Draining, InvalidMessage, SessionNotFound
from server.ids import format_join_code, participant_id
from server.protocol.fields import optional
from server.rooms.actor import Actor
from server.rooms.roles import Role
from server.rooms.settings_rules import validate_settings
from server.rooms.state import SessionSettings
from server.services import Services


def parse_spec(body: dict[str, Any]) -> SessionSpec:
    title = validation.clean_text(body.get("title"), "title", 200)
    classes = validation.classes(body.get("classes"))
    settings = optional(body, "settings", dict) or {}
    return SessionSpec(title, classes, SessionSettings(**validate_settings(settings)))


async def open_session(
    services: Services, spec: SessionSpec, host_name: str, host_class: int
) -> dict[str, Any]:
    """Create a session; returns its id, the host's token and, per class, codes and links."""
    record = await create_session(services.broker, spec, services.hub.now_ms())
    ttl = services.settings.token_ttl
    host = Actor(participant_id(), host_name, Role.HOST, spec.classes[host_class].id)
    classes = []
    for info in record.classes:
        teacher = Actor(participant_id(), "Teacher", Role.TEACHER, info.id)
        teacher_token = issue_token(services, record.session_id, teacher, ttl)
        code = record.join_codes[info.id]
        classes.append(
            {
                **info.to_wire(),
                "join_code": format_join_code(code),
                "join_url": f"{services.settings.base_url}/?code={code}",
                "teacher_token": teacher_token,
                "teacher_url": f"{services.settings.base_url}/?token={teacher_token}",
            }
        )
    host_token = issue_token(services, record.session_id, host, ttl)
    return {
        "session_id": record.session_id,
        "title": record.title,
        "host_token": host_token,
        "host_url": f"{services.settings.base_url}/?token={host_token}",
        "classes": classes,
    }


async def create(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    if services.settings.api_key is None:
        raise ApiDisabled("no operator API key is configured (set CLASSBRIDGE_API_KEY)")
    operator(request, services)
    if services.draining:  # this worker is stopping: the load balancer retries another one
        raise Draining("this server is shutting down; try again")
    body = await json_body(request)
    spec = parse_spec(body)
    given = body.get("host_name")  # null means absent, as for every optional field
    host_name = validation.clean_text("Host" if given is None else given, "host_name", 40)
    host_class = optional(body, "host_class", int) or 0
    if not 0 <= host_class < len(spec.classes):
        raise InvalidMessage("'host_class' must index one of 'classes'", detail="host_class")
    created = await open_session(services, spec, host_name, host_class)
    return JSONResponse(created, status_code=201)


def _class_summary(
    record: SessionRecord, class_id: str, counts: dict[str, list[int]], teacher: bool
) -> dict[str, Any]:
    info = record.class_info(class_id)
    assert info is not None
    present, total = counts.get(class_id, [0, 0])
    summary: dict[str, Any] = {**info.to_wire(), "present": present, "participants": total}
    if teacher:
        summary["join_code"] = format_join_code(record.join_codes[class_id])
    return summary


async def summary(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    session_id = request.path_params["session_id"]
    who = caller(request, services)
    who.require_session(session_id)
    record = await load_record(services.broker, session_id)
    if record is None:
        raise SessionNotFound("no such session")
    async with services.hub.pinned(session_id) as replica:
        state = replica.state
        counts: dict[str, list[int]] = {}
        for participant in state.participants.values():
            entry = counts.setdefault(participant.class_id, [0, 0])
            entry[0] += participant.present
            entry[1] += 1
        body = {
            "session_id": session_id,
            "title": state.title,
            "created_at": state.created_at,
            "seq": state.seq,
            "epoch": replica.epoch,
            "settings": state.settings.to_wire(),
            # Ended by a teacher (protocol §24): null while the session runs.
            "ended_at": state.moderation.ended_at if state.moderation.ended else None,
            "classes": [
                _class_summary(record, c.id, counts, who.is_teacher) for c in record.classes
            ],
        }
    return JSONResponse(body)
