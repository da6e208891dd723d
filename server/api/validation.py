"""Checks for what people type: names, titles, classes. Clear errors, never silent fixes."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import available_timezones

from server.errors import InvalidMessage
from server.protocol.fields import check, require
from server.rooms.state import ClassInfo
from server.rooms.text import has_forbidden_characters

MAX_CLASSES = 8
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PARTICIPANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TIMEZONES = frozenset(available_timezones()) | {"UTC"}


def clean_text(value: Any, name: str, max_chars: int) -> str:
    """Trim, fold runs of white space, refuse control characters and empty or long text."""
    text = " ".join(check(value, name, str).split())
    if not text:
        raise InvalidMessage(f"'{name}' must not be empty", detail=name)
    if len(text) > max_chars:
        raise InvalidMessage(f"'{name}' is longer than {max_chars} characters", detail=name)
    if has_forbidden_characters(text, multiline=False):
        raise InvalidMessage(f"'{name}' contains control characters", detail=name)
    return text


def display_name(value: Any) -> str:
    return clean_text(value, "name", 40)


def participant_id(value: Any) -> str:
    text = check(value, "participant_id", str)
    if not _PARTICIPANT_ID.match(text):
        raise InvalidMessage("'participant_id' must be 1-64 of A-Z a-z 0-9 _ -", detail="id")
    return text


def class_info(data: Any, index: int) -> ClassInfo:
    where = f"classes[{index}]"
    if not isinstance(data, dict):
        raise InvalidMessage(f"'{where}' must be an object", detail=where)
    country = require(data, "country", str).upper()
    if not _COUNTRY.match(country):
        raise InvalidMessage(f"'{where}.country' must be an ISO 3166 code", detail=where)
    timezone = require(data, "timezone", str)
    if timezone not in _TIMEZONES:
        raise InvalidMessage(f"'{where}.timezone' is not an IANA time zone", detail=where)
    language = require(data, "language", str)
    if not _LANGUAGE.match(language):
        raise InvalidMessage(f"'{where}.language' must be a BCP 47 tag", detail=where)
    return ClassInfo(
        id=f"c{index + 1}",
        name=clean_text(data.get("name"), f"{where}.name", 80),
        country=country,
        timezone=timezone,
        language=language,
    )


def classes(value: Any) -> list[ClassInfo]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CLASSES:
        raise InvalidMessage(f"'classes' must list 1 to {MAX_CLASSES} classes", detail="classes")
    return [class_info(item, index) for index, item in enumerate(value)]
