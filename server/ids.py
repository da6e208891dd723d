"""Random identifiers and join codes."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L: join codes are read aloud and typed by children.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 8
# The server's media relay takes part in signaling under this id (server/media/relay_*.py);
# no participant may have it, so a token naming it is refused (auth.py, api/validation.py).
RELAY_ID = "relay"


def session_id() -> str:
    return "s_" + secrets.token_urlsafe(9)


def participant_id() -> str:
    return "p_" + secrets.token_urlsafe(9)


def join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalize_join_code(raw: str) -> str:
    """Accept codes as people type them: any case, with dashes or spaces."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def format_join_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"
