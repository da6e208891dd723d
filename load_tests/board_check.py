"""After a whiteboard run: did every client end with the same boards, and the server too?

Each client's frames were kept as received; here they are replayed through the board replica
that server/client.py's ClassbridgeClient keeps (server/rooms/board/replica.py: the welcome's
summaries, ``board.records``, then every board event through the server's own reducer), and
the canonical form of every board (``replica.canonical``) is compared across the clients of a
session. The server's view is checked too: its SVG export of ``main`` (fetched several times
on fresh connections, so that every worker answers) must equal the SVG drawn from the
clients' replica by the same renderer.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from load_tests.board_client import BoardClient
from load_tests.provision import session_title
from load_tests.wire import Codec
from server.rooms.board.model import Board
from server.rooms.board.replica import (
    add_records,
    apply_board_event,
    boards_from_summaries,
    canonical,
)
from server.rooms.board.svg import render_svg

HTTP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Convergence:
    checked: bool  # False when the frames did not fit the budget (nothing was compared)
    converged: bool  # every client of every session has the same boards
    distinct: list[int] = field(default_factory=list)  # per session: distinct board states
    records: list[int] = field(default_factory=list)  # per session: records on main
    points: list[int] = field(default_factory=list)  # per session: points on main
    open_strokes: list[int] = field(default_factory=list)  # per session, at the end
    svg_fetched: int = 0  # SVG exports fetched from the server
    svg_matching: int = 0  # of them, equal to the clients' board drawn the same way
    svg_error: str | None = None


def replay(frames: Sequence[bytes | str], codec: Codec) -> dict[str, Board]:
    """One client's boards, rebuilt from the frames it received, in order."""
    boards: dict[str, Board] = {}
    for frame in frames:
        for message in codec.messages(frame):
            kind = message.get("type")
            if kind == "event":
                apply_board_event(boards, message["seq"], message["kind"], message["data"])
            elif kind == "board.records":
                add_records(boards, message["board"], message["records"])
            elif kind == "welcome" and message.get("session") is not None:
                boards = boards_from_summaries(message["session"].get("boards", []))
    return boards


def _canonical_text(boards: dict[str, Board]) -> str:
    forms = {board_id: canonical(board) for board_id, board in sorted(boards.items())}
    return json.dumps(forms, sort_keys=True)


async def check_convergence(
    clients: list[list[BoardClient]],
    codec: Codec,
    overflowed: bool,
    exports: list[tuple[str, str, str]] | None = None,  # per session: base url, id, api key
    fetches: int = 4,
) -> Convergence:
    if overflowed:
        return Convergence(checked=False, converged=False)
    distinct, records, points, still_open, mains = [], [], [], [], []
    for row in clients:
        replicas = [await asyncio.to_thread(replay, c.frames, codec) for c in row]
        distinct.append(len({_canonical_text(boards) for boards in replicas}))
        main = replicas[0].get("main") or Board(id="main")
        mains.append(main)
        strokes = list(main.records.values())
        records.append(len(strokes))
        points.append(sum(len(r.props.get("points", ())) // 2 for r in strokes))
        still_open.append(sum(1 for r in strokes if r.props.get("open")))
        for client in row:
            client.frames = []  # the memory goes now, not at the end of the run
    result = Convergence(True, all(n == 1 for n in distinct), distinct, records, points, still_open)
    if exports is None:
        return result
    return await _compare_svg(result, mains, exports, fetches)


async def _compare_svg(
    result: Convergence, mains: list[Board], exports: list[tuple[str, str, str]], fetches: int
) -> Convergence:
    fetched = matching = 0
    error = None
    for index, (main, export) in enumerate(zip(mains, exports, strict=True)):
        base_url, session_id, api_key = export
        expected = render_svg(main, f"{session_title(index)} — {main.title or main.id}")
        url = f"{base_url}/api/sessions/{session_id}/boards/main.svg"
        for _ in range(fetches):
            try:
                body = await asyncio.to_thread(_get, url, api_key)
            except OSError as failure:
                error = repr(failure)
                continue
            fetched += 1
            matching += body == expected
    return replace(result, svg_fetched=fetched, svg_matching=matching, svg_error=error)


def _get(url: str, api_key: str) -> str:
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {api_key}"})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        return str(response.read().decode())
