"""The signature of a webhook: HMAC-SHA256 over ``<unix seconds>.<raw body>``.

The header reads ``X-Classbridge-Signature: t=<unix seconds>,v1=<hex digest>``. The timestamp
is part of what is signed, so a receiver that refuses old timestamps cannot be fed a captured
notice again later (docs/operations.md shows a receiver's check).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Classbridge-Signature"
TOLERANCE = 300  # seconds a receiver should accept between the timestamp and its own clock


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, body: bytes, header: str, now: float, tolerance: int = TOLERANCE) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is recent (what receivers do)."""
    parts = dict(item.partition("=")[::2] for item in header.split(","))
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    return hmac.compare_digest(expected, parts.get("v1", ""))
