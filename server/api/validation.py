"""Checks for what people type: names, titles, classes. Clear errors, never silent fixes."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import available_timezones

from server.errors import InvalidMessage
from server.ids import RELAY_ID
from server.protocol.fields import check
from server.rooms.state import ClassInfo
from server.rooms.text import has_forbidden_characters

MAX_CLASSES = 8
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PARTICIPANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Area/Location names only (plus UTC): the system's list also holds entries such as
# "localtime" or "Factory" that name no place. tzdata makes the list the same on every host.
_TIMEZONES = frozenset(name for name in available_timezones() if "/" in name) | {"UTC"}


def clean_text(value: Any, name: str, max_chars: int) -> str:
    """Trim, fold runs of white space, refuse control characters and empty or long text."""
    raw = check(value, name, str)
    # Checked before folding: Python counts some control characters as white space, and
    # folding them into spaces would be the silent fix this module refuses to make.
    if has_forbidden_characters(raw, multiline=False):
        raise InvalidMessage(f"'{name}' contains control characters", detail=name)
    text = " ".join(raw.split())
    if not text:
        raise InvalidMessage(f"'{name}' must not be empty", detail=name)
    if len(text) > max_chars:
        raise InvalidMessage(f"'{name}' is longer than {max_chars} characters", detail=name)
    return text


def display_name(value: Any) -> str:
    return clean_text(value, "name", 40)


def participant_id(value: Any) -> str:
    text = check(value, "participant_id", str)
    if not _PARTICIPANT_ID.match(text):
        raise InvalidMessage(
            "'participant_id' must be 1-64 of A-Z a-z 0-9 _ -", detail="participant_id"
        )
    if text == RELAY_ID:
        raise InvalidMessage("'relay' is reserved for the server's relay", detail="participant_id")
    return text


def _class_field(data: dict[str, Any], where: str, name: str, rule: re.Pattern[str] | None) -> str:
    detail = f"{where}.{name}"
    value = data.get(name)
    if not isinstance(value, str):
        raise InvalidMessage(f"'{detail}' must be a string", detail=detail)
    if rule is not None and not rule.match(value):
        raise InvalidMessage(f"'{detail}' is not valid: {_RULES[name]}", detail=detail)
    return value


_RULES = {
    "country": "an ISO 3166 alpha-2 code",
    "language": "a BCP 47 tag",
    "timezone": "an IANA time zone",
}


def class_info(data: Any, index: int) -> ClassInfo:
    where = f"classes[{index}]"
    if not isinstance(data, dict):
        raise InvalidMessage(f"'{where}' must be an object", detail=where)
    country = _class_field(
        {**data, "country": _upper(data.get("country"))}, where, "country", _COUNTRY
    )
    timezone = _class_field(data, where, "timezone", None)
    if timezone not in _TIMEZONES:
        detail = f"{where}.timezone"
        raise InvalidMessage(f"'{detail}' is not valid: {_RULES['timezone']}", detail=detail)
    return ClassInfo(
        id=f"c{index + 1}",
        name=clean_text(data.get("name"), f"{where}.name", 80),
        country=country,
        timezone=timezone,
        language=_class_field(data, where, "language", _LANGUAGE),
    )


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def classes(value: Any) -> list[ClassInfo]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CLASSES:
        raise InvalidMessage(f"'classes' must list 1 to {MAX_CLASSES} classes", detail="classes")
    return [class_info(item, index) for index, item in enumerate(value)]
