"""Names of recording files, shared by the recorder and the HTTP API. No aiortc here: the
API lists and serves files on workers that never load it."""

from __future__ import annotations

import re
import time

SUFFIX = ".webm"
MEDIA_TYPE = "video/webm"
SIDECAR_SUFFIX = ".json"  # next to each file: publisher, class, start and stop times
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# What a recording's name may be: the API serves only names of this shape.
RECORDING_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}" + re.escape(SUFFIX))


def safe_part(text: str) -> str:
    """Letters, digits, ``_`` and ``-`` only: a name part that cannot leave its folder."""
    return _UNSAFE.sub("-", text)[:64] or "-"


def recording_name(session_id: str, started_ms: int, publisher: str) -> str:
    """``s_abc-20250301T091500123Z-p_xyz.webm``: session, UTC start, publisher."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started_ms // 1000))
    millis = f"{started_ms % 1000:03d}"
    return f"{safe_part(session_id)}-{stamp}{millis}Z-{safe_part(publisher)}{SUFFIX}"
