"""GET /api/sessions/{id}/boards/{board}.svg: a board as an SVG file (operator or a teacher)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from server.api.credentials import caller
from server.errors import Forbidden, NotFound
from server.rooms.board.model import Board
from server.rooms.board.svg import render_svg
from server.rooms.moderation import check_not_barred
from server.services import Services

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def file_name(session_title: str, board_id: str) -> str:
    """``water-in-our-towns-main.svg``: ASCII letters, digits and dashes only, so the name
    needs no quoting rules in the header and is valid on every file system."""
    ascii_title = unicodedata.normalize("NFKD", session_title).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    board = _NOT_SLUG.sub("-", board_id.lower()).strip("-") or "board"
    return f"{slug}-{board}.svg" if slug else f"{board}.svg"


def _detached(board: Board) -> Board:
    """A copy of the records that later events cannot change (a stroke's points grow in
    place), so it can be drawn in another thread while the replica moves on."""

    def props(values: dict[str, Any]) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, list) else v for k, v in values.items()}

    records = {r.id: replace(r, props=props(r.props)) for r in board.records.values()}
    return Board(id=board.id, title=board.title, records=records)


async def export_svg(request: Request) -> Response:
    services: Services = request.app.state.services
    session_id = request.path_params["session_id"]
    board_id = request.path_params["board_id"]
    who = caller(request, services)
    who.require_session(session_id)
    if not who.is_teacher:
        # Boards hold what students wrote; taking it out of the session is the teachers' call.
        raise Forbidden("only the operator and teachers may export a board")
    # Through the hub, not the broker: a worker with nobody of this session on it loads a
    # replica (snapshot plus log) for the duration, as for the session summary.
    async with services.hub.pinned(session_id) as replica:
        state = replica.state
        if who.grant is not None:  # a barred teacher's token still verifies
            check_not_barred(state, who.grant.actor.participant_id)
        board = state.boards.get(board_id)
        if board is None:
            raise NotFound("no such board in this session")
        title = f"{state.title} — {board.title or board.id}"
        name = file_name(state.title, board.id)
        copy = _detached(board)
    # A full board (thousands of long strokes) takes seconds to draw: off the event loop, so
    # the worker's sessions keep flowing meanwhile.
    svg = await run_in_threadpool(render_svg, copy, title)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        # A board changes all the time and may hold students' names: never keep a copy.
        "Cache-Control": "no-store",
    }
    return Response(svg, media_type="image/svg+xml", headers=headers)
