"""The server's settings that session rules depend on, passed into ``decide``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CommandLimits:
    chat_max_chars: int = 2000
    recording: bool = False  # the server has a recordings folder (settings.recordings_dir)
