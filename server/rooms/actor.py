"""Who is acting: the identity a join token carries, never anything a client message says."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.rooms.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    participant_id: str
    name: str
    role: Role
    class_id: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.participant_id,
            "name": self.name,
            "role": self.role.value,
            "class_id": self.class_id,
        }
