"""The export as one zip, built in memory from a detached copy of the state.

In memory, not streamed: every part is bounded by the state's own limits (the transcript's
characters, the boards' records), so a zip is a few MB at most, and a worker builds it in a
thread while its event loop goes on (server/api/export.py).
"""

from __future__ import annotations

import io
import time
import zipfile

from server.export.context import ExportContext
from server.export.sections import FILE_SETS, SECTIONS


def build_zip(ctx: ExportContext) -> bytes:
    buffer = io.BytesIO()
    stamp = time.gmtime(ctx.now // 1000)[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in _files(ctx):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def _files(ctx: ExportContext) -> list[tuple[str, bytes]]:
    files = [(name, build(ctx)) for name, build in SECTIONS]
    for file_set in FILE_SETS:
        files.extend(file_set(ctx))
    return files
