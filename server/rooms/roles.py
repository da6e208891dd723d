"""Participant roles and what each may do. The role always comes from the join token."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    HOST = "host"
    TEACHER = "teacher"
    STATION = "station"
    STUDENT = "student"
    OBSERVER = "observer"

    @property
    def is_teacher(self) -> bool:
        """Hosts and teachers run the session together."""
        return self in (Role.HOST, Role.TEACHER)

    @property
    def may_chat(self) -> bool:
        return self is not Role.OBSERVER


def parse_role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None
