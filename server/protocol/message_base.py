"""The base of every protocol message: a frozen dataclass whose wire map is its fields.

Field names on the wire are the attribute names, in order, after ``type``; ``None`` fields are
left out. A message whose wire name cannot be an attribute (``from``) renames it in ``WIRE``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

RequestId = str | int


@dataclass(frozen=True, slots=True)
class Message:
    TYPE: ClassVar[str]
    WIRE: ClassVar[dict[str, str]] = {}  # attribute name -> wire name, where they differ

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": self.TYPE}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                to_wire = getattr(value, "to_wire", None)
                wire[self.WIRE.get(f.name, f.name)] = value if to_wire is None else to_wire()
        return wire
