"""Webhooks: session and participant notices POSTed, signed, to the operator's URL.

``notices`` decides what is worth a notice (no I/O), ``signing`` signs and verifies,
``sender`` delivers from a bounded queue with retries.
"""

from server.webhooks.notices import Notices

__all__ = ["Notices"]
