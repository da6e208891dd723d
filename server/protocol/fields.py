"""Typed field readers for decoded messages: one place that turns a bad field into a clear error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from server.errors import InvalidMessage

T = TypeVar("T")

MAX_ID_LENGTH = 64
# Integers must fit a signed 64-bit int: what msgpack and most client languages carry.
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1


def _type_name(kind: type | tuple[type, ...]) -> str:
    if isinstance(kind, tuple):
        return " or ".join(k.__name__ for k in kind)
    return kind.__name__


def require(data: Mapping[str, Any], name: str, kind: type[T], *, within: str = "") -> T:
    """``data[name]`` of type ``kind``; ``within`` names the enclosing field (``resume``) so
    errors about nested fields say ``resume.seq``, not a bare ``seq``."""
    path = f"{within}.{name}" if within else name
    if name not in data:
        raise InvalidMessage(f"missing field '{path}'", detail=path)
    return check(data[name], path, kind)


def optional(data: Mapping[str, Any], name: str, kind: type[T]) -> T | None:
    value = data.get(name)
    if value is None:
        return None
    return check(value, name, kind)


def check(value: Any, name: str, kind: type[T]) -> T:
    # bool is an int subclass in Python; a JSON `true` must never pass as a number.
    if kind is int and isinstance(value, bool):
        raise InvalidMessage(f"field '{name}' must be int", detail=name)
    if not isinstance(value, kind):
        raise InvalidMessage(f"field '{name}' must be {_type_name(kind)}", detail=name)
    if isinstance(value, int) and not isinstance(value, bool) and not MIN_INT <= value <= MAX_INT:
        raise InvalidMessage(f"field '{name}' is out of range", detail=name)
    return value


def request_id(data: Mapping[str, Any]) -> str | int | None:
    """The client's optional request id, echoed by the reply; a string or an integer."""
    value = data.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidMessage("field 'id' must be a string or an integer", detail="id")
    if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
        raise InvalidMessage(f"field 'id' is longer than {MAX_ID_LENGTH}", detail="id")
    if isinstance(value, int) and not MIN_INT <= value <= MAX_INT:
        raise InvalidMessage("field 'id' is out of range", detail="id")
    return value
