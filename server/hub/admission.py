"""Who may open one more connection to a session.

Each join of a participant who is not present logs ``participant.joined`` (and each leave
``participant.left``), so a client that joins and leaves in a loop would flood every member's
log and push everyone's resume history out. Joins are rate-limited per participant, and one
participant may hold only a few connections at once (tabs, devices).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.errors import RateLimited, TooManyConnections
from server.ratelimit import TokenBucket
from server.settings import Limits


@dataclass(slots=True)
class Admission:
    limits: Limits
    _joins: dict[str, TokenBucket] = field(default_factory=dict)

    def admit(self, held: int, participant_id: str, now: float) -> None:
        """``held``: the participant's open connections on all workers."""
        if held >= self.limits.connections_per_participant:
            raise TooManyConnections(
                f"at most {self.limits.connections_per_participant} connections per participant"
            )
        bucket = self._joins.get(participant_id)
        if bucket is None:
            per_second = self.limits.joins_per_minute / 60.0
            bucket = self._joins[participant_id] = TokenBucket(per_second, self.limits.joins_burst)
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited("joining too often: wait before reconnecting", retry_after=wait)
