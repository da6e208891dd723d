"""The recordings of a session (server/media/recorder.py): list and download them.

``GET /api/sessions/{id}/recordings`` and ``GET /api/sessions/{id}/recordings/{name}``, for
the operator and the session's teachers and hosts: recordings show the pupils of every class,
so taking them out of the session is the teachers' call, as for boards.

A name is looked up, never joined to a path as given: it must be a plain recording name
(letters, digits, ``_``, ``-`` and ``.webm``) of a file that is in the session's folder.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from server.api.credentials import caller
from server.errors import Forbidden, NotFound, SessionNotFound
from server.media.recording_files import MEDIA_TYPE, RECORDING_NAME, SIDECAR_SUFFIX, safe_part
from server.rooms.moderation import check_not_barred
from server.rooms.recording import RecordingDisabled
from server.services import Services


async def _session_folder(request: Request) -> Path:
    """The session's recordings folder, after checking who asks."""
    services: Services = request.app.state.services
    session_id = request.path_params["session_id"]
    who = caller(request, services)
    who.require_session(session_id)
    if not who.is_teacher:
        raise Forbidden("only the operator and teachers may take recordings out")
    root = services.settings.recordings_path
    if root is None:
        raise RecordingDisabled("this server does not record (no recordings folder configured)")
    if await services.broker.get_session(session_id) is None:
        raise SessionNotFound("no such session (it may have ended)")
    if who.grant is not None:  # a barred teacher's token still verifies
        async with services.hub.pinned(session_id) as replica:
            check_not_barred(replica.state, who.grant.actor.participant_id)
    return root / safe_part(session_id)


def _describe(media: Path) -> dict[str, Any] | None:
    try:
        size = media.stat().st_size
    except OSError:
        return None  # removed meanwhile
    about: dict[str, Any] = {}
    # A file from a worker that died before its sidecar is listed with what is known.
    with contextlib.suppress(OSError, ValueError):
        about = json.loads(media.with_suffix(SIDECAR_SUFFIX).read_text(encoding="utf-8"))
    return {
        "name": media.name,
        "size": size,
        "media_type": MEDIA_TYPE,
        "publisher": about.get("publisher"),
        "class_id": about.get("class_id"),
        "recording_started_at": about.get("recording_started_at"),
        "started_at": about.get("started_at"),
        "stopped_at": about.get("stopped_at"),  # None: still being written
    }


def _list(folder: Path) -> list[dict[str, Any]]:
    if not folder.is_dir():
        return []
    files = sorted(p for p in folder.iterdir() if RECORDING_NAME.fullmatch(p.name) and p.is_file())
    described = (_describe(p) for p in files)
    return sorted((d for d in described if d is not None), key=lambda d: d["name"])


async def listing(request: Request) -> Response:
    folder = await _session_folder(request)
    recordings = await run_in_threadpool(_list, folder)  # the disk may be slow: off the loop
    return JSONResponse({"recordings": recordings}, headers={"Cache-Control": "no-store"})


async def download(request: Request) -> Response:
    folder = await _session_folder(request)
    name = request.path_params["name"]
    if not RECORDING_NAME.fullmatch(name):
        raise NotFound("no such recording in this session")
    path = folder / name
    if not await run_in_threadpool(path.is_file):
        raise NotFound("no such recording in this session")
    # Recordings show pupils: never kept by a proxy or the browser's cache.
    headers = {"Cache-Control": "no-store"}
    return FileResponse(path, media_type=MEDIA_TYPE, filename=name, headers=headers)


def session_recordings(root: Path | None, session_id: str) -> list[dict[str, Any]] | None:
    """The session's recordings as the listing gives them (for the export); ``None`` when this
    server does not record. It reads the disk: call it off the event loop."""
    if root is None:
        return None
    return _list(root / safe_part(session_id))
