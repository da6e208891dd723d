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
        for name, wire_name in _wire_names(type(self)):
            value = getattr(self, name)
            if value is not None:
                to_wire = getattr(value, "to_wire", None)
                wire[wire_name] = value if to_wire is None else to_wire()
        return wire


_WIRE_NAMES: dict[type[Message], tuple[tuple[str, str], ...]] = {}


def _wire_names(cls: type[Message]) -> tuple[tuple[str, str], ...]:
    """Each field's attribute and wire name, in order; worked out once per class, since every
    reply (an ack per command) is built this way and ``fields()`` rebuilds its list each call."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = _WIRE_NAMES[cls] = tuple(
            (f.name, cls.WIRE.get(f.name, f.name)) for f in fields(cls)
        )
    return names
