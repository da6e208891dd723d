"""``GET /api/sessions/{id}/export.zip`` and ``GET /api/sessions/{id}/summary.json``: what
happened in a session, for the operator and the session's teachers and hosts (it holds what
pupils wrote and when they were there, so taking it out is the teachers' call, as for boards).

The state is copied on the event loop (one snapshot's worth of work, as the hub does every
``snapshot_every`` events); everything else (CSV, JSON, SVG, deflate, the recordings folder)
runs in a thread on that copy, so the worker's sessions keep flowing meanwhile.
"""

from __future__ import annotations

from typing import Any

import msgpack
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api.boards import file_name
from server.api.credentials import Caller, caller
from server.api.recordings import session_recordings
from server.errors import Forbidden
from server.export.archive import build_zip
from server.export.context import OPERATOR, ExportContext
from server.export.summary import summary as summary_of
from server.rooms.actor import Actor
from server.rooms.moderation import check_not_barred
from server.rooms.state import load_state, pack_state
from server.services import Services

# A session's export changes all the time and holds pupils' names: never keep a copy.
NO_STORE = {"Cache-Control": "no-store"}


def _teacher(request: Request, services: Services) -> Actor:
    session_id = request.path_params["session_id"]
    who: Caller = caller(request, services)
    who.require_session(session_id)
    if not who.is_teacher:
        raise Forbidden("only the operator and teachers may export a session")
    return OPERATOR if who.grant is None else who.grant.actor


async def summary(request: Request) -> Response:
    services: Services = request.app.state.services
    viewer = _teacher(request, services)
    # Through the hub, as for boards: a worker with nobody of the session on it loads a
    # replica for the request. The summary is small: read on the loop, no copy.
    async with services.hub.pinned(request.path_params["session_id"]) as replica:
        check_not_barred(replica.state, viewer.participant_id)
        ctx = ExportContext(replica.state, services.hub.now_ms(), viewer, recordings=None)
        body = summary_of(ctx)
    return JSONResponse(body, headers=NO_STORE)


def _build(packed: bytes, now: int, viewer: Actor, services: Services) -> tuple[str, bytes]:
    state = load_state(msgpack.unpackb(packed, raw=False))
    recordings = session_recordings(services.settings.recordings_path, state.session_id)
    archive = build_zip(ExportContext(state, now, viewer, recordings))
    # ``water-in-our-towns-export.zip``: the boards' naming, so files of one session sort together.
    return file_name(state.title, "export").removesuffix(".svg") + ".zip", archive


async def export_zip(request: Request) -> Response:
    services: Services = request.app.state.services
    viewer = _teacher(request, services)
    async with services.hub.pinned(request.path_params["session_id"]) as replica:
        check_not_barred(replica.state, viewer.participant_id)
        packed: bytes = pack_state(replica.state)
    name, archive = await run_in_threadpool(_build, packed, services.hub.now_ms(), viewer, services)
    headers: dict[str, Any] = {**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(archive, media_type="application/zip", headers=headers)
