"""The files of the export, as a registry: a feature adds its file with one line.

A section is ``(file name, build)``, where ``build`` takes the export's context and returns the
file's bytes. ``state_json(f)`` turns a function of the state that returns plain data (such as
a feature's ``results(state)``) into a JSON section. Boards, one file each, come from
``FILE_SETS``: functions that give any number of ``(file name, bytes)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from server.export.attendance_report import attendance_by_class_csv, attendance_csv
from server.export.chat_report import chat_json, chat_txt
from server.export.context import ExportContext, to_json
from server.export.summary import summary
from server.rooms.board.svg import render_svg
from server.rooms.polls import poll_results
from server.rooms.reflections import reflections
from server.rooms.state import SessionState

Build = Callable[[ExportContext], bytes]
Section = tuple[str, Build]
FileSet = Callable[[ExportContext], Iterator[tuple[str, bytes]]]

_NOT_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def state_json(function: Callable[[SessionState], Any]) -> Build:
    """A section from a function of the state that returns plain (JSON) data."""

    def build(ctx: ExportContext) -> bytes:
        return to_json(function(ctx.state))

    return build


def _recordings(ctx: ExportContext) -> bytes:
    listed = ctx.recordings
    return to_json({"recording_enabled": listed is not None, "recordings": listed or []})


def _summary(ctx: ExportContext) -> bytes:
    return to_json(summary(ctx))


def boards_svg(ctx: ExportContext) -> Iterator[tuple[str, bytes]]:
    """``boards/<board>.svg`` for every board, its title in the drawing."""
    used: set[str] = set()
    for board in ctx.state.boards.values():
        stem = _NOT_SAFE.sub("-", board.id).strip("-")[:60] or "board"
        name, n = stem, 1
        while name in used:  # two ids that differ only in characters made safe
            n += 1
            name = f"{stem}-{n}"
        used.add(name)
        title = f"{ctx.state.title} — {board.title or board.id}"
        yield f"boards/{name}.svg", render_svg(board, title).encode()


SECTIONS: list[Section] = [
    ("summary.json", _summary),
    ("attendance.csv", attendance_csv),
    ("attendance_by_class.csv", attendance_by_class_csv),
    ("chat.json", chat_json),
    ("chat.txt", chat_txt),
    ("recordings.json", _recordings),
    ("polls.json", state_json(poll_results)),
    ("reflections.json", state_json(reflections)),
]

FILE_SETS: list[FileSet] = [boards_svg]
